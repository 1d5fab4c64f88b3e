"""Base64 for audio payloads.

The Realtime API carries audio as base64 (standard alphabet, with padding)
inside JSON strings: ``input_audio_buffer.append.audio`` and
``response.output_audio.delta.delta``.
These helpers call `pybase64`, whose SIMD code decodes a 100 ms delta (6.4 kB
of text) in well under a microsecond where `binascii` takes about 8
(``benchmarks/README.md``): decoding was the largest single cost of a
streamed event. Decoding is strict, so corrupt payloads fail loudly.
"""

from __future__ import annotations

import binascii

import pybase64

from .formats import AudioFormatError

__all__ = ["decode_audio", "encode_audio"]

_b64encode_as_string = pybase64.b64encode_as_string
_b64decode = pybase64.b64decode


def encode_audio(data: bytes | bytearray | memoryview) -> str:
    """Encode raw audio bytes as base64 text for an ``audio`` field.

    Uses the standard alphabet with ``=`` padding and no line breaks.
    """
    return _b64encode_as_string(data)


def decode_audio(text: str) -> bytes:
    """Decode a base64 audio payload (such as a ``delta``) to raw bytes.

    Decoding is strict: whitespace, characters outside the standard alphabet,
    missing or excess padding and data after the padding are all errors.

    Raises:
        AudioFormatError: *text* is not valid base64.
    """
    try:
        return _b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        # ValueError: a str holding non-ASCII characters.
        raise AudioFormatError(f"invalid base64 audio payload: {exc}") from exc
