"""Sans-IO audio helpers: formats, base64, G.711, resampling, framing and WAV.

Everything here is synchronous, pure computation: no I/O, no trio.

* Formats: `AudioFormat` and the API's `PCM16_24K`, `PCMU` and `PCMA`;
  `bytes_for_duration`, `duration_ms` and `frame_bytes` for sizes.
* Payloads: `encode_audio` / `decode_audio` (strict base64).
* G.711: `pcm16_to_ulaw`, `ulaw_to_pcm16`, `pcm16_to_alaw` and
  `alaw_to_pcm16`, bit-exact with the classic Sun coder (``audioop``).
* Resampling: `Resampler`, streaming and chunking-invariant.
* Streams: `AudioChunker`, `InputAudioPipeline` (local audio to the session's
  input frames) and `OutputAudioDecoder` (output deltas to playable PCM16).
* Files: `read_wav`, `write_wav` and `WavWriter`.
"""

from __future__ import annotations

from ._audio.b64 import decode_audio as decode_audio
from ._audio.b64 import encode_audio as encode_audio
from ._audio.formats import BYTES_PER_SAMPLE as BYTES_PER_SAMPLE
from ._audio.formats import PCM16_24K as PCM16_24K
from ._audio.formats import PCMA as PCMA
from ._audio.formats import PCMU as PCMU
from ._audio.formats import SAMPLE_RATE as SAMPLE_RATE
from ._audio.formats import SUPPORTED_PCM_RATES as SUPPORTED_PCM_RATES
from ._audio.formats import AudioFormat as AudioFormat
from ._audio.formats import AudioFormatError as AudioFormatError
from ._audio.formats import bytes_for_duration as bytes_for_duration
from ._audio.formats import duration_ms as duration_ms
from ._audio.formats import frame_bytes as frame_bytes
from ._audio.g711 import alaw_to_pcm16 as alaw_to_pcm16
from ._audio.g711 import pcm16_to_alaw as pcm16_to_alaw
from ._audio.g711 import pcm16_to_ulaw as pcm16_to_ulaw
from ._audio.g711 import ulaw_to_pcm16 as ulaw_to_pcm16
from ._audio.pipeline import AudioChunker as AudioChunker
from ._audio.pipeline import InputAudioPipeline as InputAudioPipeline
from ._audio.pipeline import OutputAudioDecoder as OutputAudioDecoder
from ._audio.resample import Resampler as Resampler
from ._audio.wav import WavAudio as WavAudio
from ._audio.wav import WavWriter as WavWriter
from ._audio.wav import read_wav as read_wav
from ._audio.wav import write_wav as write_wav
from ._core.util import fixup_module_metadata as _fixup_module_metadata

__all__ = [
    "AudioChunker",
    "AudioFormat",
    "AudioFormatError",
    "BYTES_PER_SAMPLE",
    "InputAudioPipeline",
    "OutputAudioDecoder",
    "PCM16_24K",
    "PCMA",
    "PCMU",
    "Resampler",
    "SAMPLE_RATE",
    "SUPPORTED_PCM_RATES",
    "WavAudio",
    "WavWriter",
    "alaw_to_pcm16",
    "bytes_for_duration",
    "decode_audio",
    "duration_ms",
    "encode_audio",
    "frame_bytes",
    "pcm16_to_alaw",
    "pcm16_to_ulaw",
    "read_wav",
    "ulaw_to_pcm16",
    "write_wav",
]

_fixup_module_metadata(__name__, globals(), __all__)
del _fixup_module_metadata
