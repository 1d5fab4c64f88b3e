"""Builders of raw server WebSocket frames, for the frame reader and client tests."""

from __future__ import annotations

import struct
from typing import Any


def frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    length_form: int | None = None,
) -> bytes:
    """Serialize one frame; ``length_form`` forces a 7, 16 or 64 bit length."""
    n = len(payload)
    minimal = 7 if n < 126 else 16 if n < 2**16 else 64
    form = max(length_form or minimal, minimal)
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mask_bit = 0x80 if mask is not None else 0
    if form == 7:
        head = bytes([b0, mask_bit | n])
    elif form == 16:
        head = bytes([b0, mask_bit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, mask_bit | 127]) + struct.pack("!Q", n)
    if mask is not None:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def text(s: str, **kw: Any) -> bytes:
    return frame(0x1, s.encode(), **kw)


def close_frame(code: int | None, reason: bytes = b"") -> bytes:
    return frame(0x8, b"" if code is None else struct.pack("!H", code) + reason)
