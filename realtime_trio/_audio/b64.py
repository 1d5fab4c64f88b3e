"""Base64 for audio payloads.

The Realtime API carries audio as base64 (standard alphabet, with padding)
inside JSON strings: ``input_audio_buffer.append.audio`` and
``response.output_audio.delta.delta``.
These helpers call `binascii` directly, which is faster than the `base64`
module's wrappers, and decode strictly so corrupt payloads fail loudly.
"""

from __future__ import annotations

import binascii

from .formats import AudioFormatError

__all__ = ["decode_audio", "encode_audio"]


def encode_audio(data: bytes | bytearray | memoryview) -> str:
    """Encode raw audio bytes as base64 text for an ``audio`` field.

    Uses the standard alphabet with ``=`` padding and no line breaks.
    """
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def decode_audio(text: str) -> bytes:
    """Decode a base64 audio payload (such as a ``delta``) to raw bytes.

    Decoding is strict: whitespace, characters outside the standard alphabet,
    missing padding and data after the padding are all errors.

    Raises:
        AudioFormatError: *text* is not valid base64.
    """
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        # ValueError: a str holding non-ASCII characters.
        raise AudioFormatError(f"invalid base64 audio payload: {exc}") from exc
