"""Sans-IO audio: formats, base64, G.711, resampling, the input pipeline and WAV files. Imports no I/O library."""
