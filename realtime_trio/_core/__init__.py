"""The sans-IO protocol core: records, events, the converter, the protocol state and the WebSocket frame reader. Imports no I/O library."""
