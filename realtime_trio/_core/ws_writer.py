"""Writing the frames a WebSocket client sends (RFC 6455 section 5), sans I/O.

A client masks every frame it sends with a fresh 4-byte key (section 5.3).
wsproto masks in pure Python, about 11 µs for the 6.4 kB frame of a 100 ms
audio chunk (``benchmarks/README.md``); here numpy XORs eight bytes at a
time, in C: `client_frame` builds the frame in one buffer padded to whole
words and masks it in place (about 3.4 µs for that frame, most of it
numpy's call overhead); `mask` alone, for other callers, leaves the last
few bytes to Python. tests/core/test_ws_writer.py holds the frames to
wsproto's, byte for byte, on random payloads.

No extension is negotiated (we offer none), so the reserved bits are 0; every
frame is final (we do not fragment what we send).
"""

from __future__ import annotations

import os
from typing import Final

import numpy as np

__all__ = [
    "BINARY",
    "CLOSE",
    "PING",
    "PONG",
    "TEXT",
    "MaskKeys",
    "client_frame",
    "close_payload",
    "mask",
    "mask_keys",
]

TEXT: Final = 0x1
BINARY: Final = 0x2
CLOSE: Final = 0x8
PING: Final = 0x9
PONG: Final = 0xA

#: Below this many bytes, masking with Python integers beats numpy's call overhead.
_SMALL: Final = 64
_U64: Final = np.dtype(np.uint64)


def mask(data: bytes | bytearray | memoryview, key: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``key`` repeated (masking and unmasking alike)."""
    n = len(data)
    if n < _SMALL:
        return _mask_small(data, key, n)
    words = n >> 3
    # Native byte order on both sides: the key word lines up with the data.
    key64 = np.frombuffer(key * 2, _U64)
    head = np.bitwise_xor(np.frombuffer(data, _U64, count=words), key64).tobytes()
    rest = n - (words << 3)
    if not rest:
        return head
    # The tail starts at a multiple of 8, so at the key's first byte.
    return head + _mask_small(memoryview(data)[words << 3 :], key, rest)


def _mask_small(data: bytes | bytearray | memoryview, key: bytes, n: int) -> bytes:
    if not n:
        return b""
    repeated = (key * ((n >> 2) + 1))[:n]
    value = int.from_bytes(data, "little") ^ int.from_bytes(repeated, "little")
    return value.to_bytes(n, "little")


def client_frame(
    opcode: int, payload: bytes | bytearray | memoryview, key: bytes
) -> bytes:
    """One final, masked frame: the header, ``key``, and ``payload`` masked with it.

    Args:
        opcode: `TEXT`, `BINARY`, `CLOSE`, `PING` or `PONG`.
        payload: The payload (UTF-8 for text; at most 125 bytes for a control frame).
        key: The 4-byte masking key (``os.urandom(4)``: RFC 6455 asks for an
            unpredictable one).
    """
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        header = bytes((0x80 | opcode, 0xFE)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0xFF)) + n.to_bytes(8, "big")
    if n < _SMALL:
        return header + key + _mask_small(payload, key, n)
    # One buffer for the whole frame, masked in place: the payload starts at a
    # multiple of 8 (``lead`` spare bytes before the header) and the buffer
    # ends on one, so numpy XORs whole words, the tail included (the bytes
    # past the payload are cut off). One copy in, one out: about 3.4 µs for
    # the frame of a 100 ms audio append, against 4.9 through `mask` and two
    # concatenations (numpy's call overhead is most of either).
    start = len(header) + 4
    lead = -start & 7
    offset = lead + start
    end = offset + n
    frame = bytearray(end + (-end & 7))
    frame[lead:offset] = header + key
    frame[offset:end] = payload
    words = np.frombuffer(frame, _U64, offset=offset)
    np.bitwise_xor(words, np.frombuffer(key * 2, _U64), out=words)
    return bytes(memoryview(frame)[lead:end])


#: Close codes an endpoint may not send (RFC 6455 section 7.4.1); wsproto
#: sends 1000 in their place, and so do we.
_LOCAL_ONLY_CODES: Final = frozenset({1005, 1006, 1015})
#: A close frame's payload: the code (2 bytes) and at most 123 bytes of reason.
_MAX_REASON: Final = 123


def close_payload(code: int | None, reason: str | None) -> bytes:
    """The payload of a close frame, as wsproto builds it.

    No code gives an empty payload; a local-only code (1005, 1006, 1015)
    becomes 1000; the reason is cut to 123 bytes at a character boundary.
    """
    if code is None:
        if reason:
            raise TypeError("a close reason needs a close code")
        return b""
    if code in _LOCAL_ONLY_CODES:
        code = 1000
    data = code.to_bytes(2, "big")
    if reason:
        encoded = reason.encode()
        if len(encoded) > _MAX_REASON:
            encoded = encoded[:_MAX_REASON].decode("utf-8", "ignore").encode()
        data += encoded
    return data


class MaskKeys:
    """Masking keys from the operating system's CSPRNG, drawn 1 KiB at a time.

    RFC 6455 asks for an unpredictable key per frame; `os.urandom` gives one,
    and drawing 256 keys per call spares a system call per frame.
    """

    __slots__ = ("_pool", "_pos")

    def __init__(self) -> None:
        self._pool = b""
        self._pos = 0

    def next(self) -> bytes:
        """A fresh 4-byte key."""
        pos = self._pos
        if pos >= len(self._pool):
            self._pool, pos = os.urandom(1024), 0
        self._pos = pos + 4
        return self._pool[pos : pos + 4]


#: The keys of every connection in this process.
mask_keys = MaskKeys()
