"""Reading the frames a WebSocket server sends (RFC 6455 section 5), sans I/O.

A client reads only one kind of traffic: unmasked frames from a server, with
no extension negotiated (we offer none). wsproto's reader serves both roles
and every extension and builds an event object per frame; on the streaming
hot path (a 6.6 kB ``response.output_audio.delta`` per frame) it cost about
19 µs per frame where this reader costs about 2 µs (benchmarks/README.md).
wsproto still runs the opening handshake and frames what we send.

`FrameReader` checks what RFC 6455 requires of a client and what wsproto
checks: reserved bits, masking, opcodes, control frame rules, fragmentation
order, minimal length encodings, close codes, UTF-8 of text and close
reasons, and the message size limit (checked against the announced length,
before the payload is buffered). tests/core/test_ws_frames.py holds it to
wsproto's verdicts on generated frame streams.
"""

from __future__ import annotations

import codecs
from typing import Final

import attrs

__all__ = ["Close", "FrameError", "FrameReader", "Ping"]

_CONTINUATION: Final = 0x0
_TEXT: Final = 0x1
_BINARY: Final = 0x2
_CLOSE: Final = 0x8
_PING: Final = 0x9
_PONG: Final = 0xA
_MAX_CONTROL_PAYLOAD: Final = 125

#: Close codes a peer may not send (RFC 6455 section 7.4.1): 1005, 1006 and
#: 1015 are for local use only.
_LOCAL_ONLY_CODES: Final = frozenset({1005, 1006, 1015})
#: Below 3000 only the codes in IANA's registry are valid (wsproto, whose
#: list stops at 1013, would refuse 1014 "bad gateway").
_REGISTERED_CODES: Final = frozenset(
    {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}
)
_utf8_decoder = codecs.getincrementaldecoder("utf-8")


class FrameError(Exception):
    """The server broke the protocol; fail the connection with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{reason} (close code {code})")
        self.code = code
        self.reason = reason


@attrs.frozen
class Ping:
    """A ping from the server: answer with a pong carrying ``payload``."""

    payload: bytes


@attrs.frozen
class Close:
    """The server's close frame (``code`` 1005 when it carried none)."""

    code: int
    reason: str


class FrameReader:
    """Turn the bytes a server sends into messages and control frames.

    `feed` the bytes of each read, then call `process` until it returns None.
    Complete messages (``str`` for text, ``bytes`` for binary) are appended to
    `messages` in order; `process` returns each ping and close as it reaches
    it, so the caller can answer in order. After a `Close` (or a
    `FrameError`) the connection is over and the reader must not be used.
    """

    def __init__(self, max_message_size: int) -> None:
        #: Complete messages not yet taken by the caller, oldest first (the
        #: caller may take the list and put an empty one in its place).
        self.messages: list[str | bytes] = []
        self._max_message_size = max_message_size
        self._data: bytes | bytearray = b""
        self._pos = 0
        # An incomplete frame's bytes, gathered until there are `_need` of them.
        self._held: list[bytes | bytearray] = []
        self._held_size = 0
        self._need = 0
        # A fragmented message in progress (opcode 0 when there is none).
        self._opcode = 0
        self._binary_parts: list[bytes | bytearray] = []
        self._text_parts: list[str] = []
        self._fragments_size = 0
        self._decoder = _utf8_decoder()

    def feed(self, data: bytes | bytearray) -> None:
        """Add the bytes of one read (call `process` until None first)."""
        if self._pos < len(self._data):
            raise RuntimeError("feed() before process() consumed the previous data")
        if self._held:
            self._held.append(data)
            self._held_size += len(data)
            if self._held_size < self._need:
                self._data, self._pos = b"", 0
                return
            data = b"".join(self._held)
            self._held, self._held_size = [], 0
        self._data, self._pos = data, 0

    def process(self) -> Ping | Close | None:
        """Parse what has been fed; return the next control frame, or None for more data.

        Raises:
            FrameError: the server broke the protocol (``code`` 1002), sent
                invalid UTF-8 (1007) or a message over the size limit (1009).
        """
        data = self._data
        pos = self._pos
        end = len(data)
        messages = self.messages
        while end - pos >= 2:
            b0 = data[pos]
            b1 = data[pos + 1]
            if b0 & 0x70 or b1 & 0x80:
                _refuse_header(b0)
            length = b1 & 0x7F
            head = 2
            if length == 126:
                head = 4
                if end - pos < 4:
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
                if length < 126:
                    raise FrameError(1002, "payload length not minimally encoded")
            elif length == 127:
                head = 10
                if end - pos < 10:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                if length >> 63 or length < 2**16:
                    raise FrameError(1002, "64-bit payload length out of range")
            opcode = b0 & 0x0F
            fin = b0 & 0x80
            if opcode == _TEXT and fin and not self._opcode:
                if length > self._max_message_size:
                    raise self._too_large()
                stop = pos + head + length
                if stop > end:
                    break
                try:
                    messages.append(data[pos + head : stop].decode())
                except UnicodeDecodeError as exc:
                    raise FrameError(
                        1007, f"invalid UTF-8 in a text message: {exc}"
                    ) from None
                pos = stop
                continue
            self._check_frame(opcode, fin, length)
            stop = pos + head + length
            if stop > end:
                break
            payload = data[pos + head : stop]
            pos = stop
            if opcode >= _CLOSE:
                if opcode == _PONG:
                    continue  # we send no pings; an unsolicited pong needs nothing
                self._pos = pos
                if opcode == _PING:
                    return Ping(bytes(payload))
                return _close(payload)
            self._data_frame(opcode, fin, payload)
        # Keep the incomplete frame until enough bytes have come.
        if pos < end:
            rest = data[pos:]
            self._held, self._held_size = [rest], len(rest)
            self._need = self._frame_size(rest)
        self._data, self._pos = b"", 0
        return None

    # --- the slow paths -----------------------------------------------------------

    def _frame_size(self, rest: bytes | bytearray) -> int:
        """Bytes needed before `process` can make progress on the frame at ``rest``."""
        if len(rest) < 2:
            return 2
        length = rest[1] & 0x7F
        head = {126: 4, 127: 10}.get(length, 2)
        if len(rest) < head:
            return head
        if head != 2:
            length = int.from_bytes(rest[2:head], "big")
        return head + length

    def _check_frame(self, opcode: int, fin: int, length: int) -> None:
        if opcode >= _CLOSE:
            if opcode not in (_CLOSE, _PING, _PONG):
                raise FrameError(1002, f"unknown opcode {opcode:#x}")
            if not fin:
                raise FrameError(1002, "fragmented control frame")
            if length > _MAX_CONTROL_PAYLOAD:
                raise FrameError(1002, "control frame payload over 125 bytes")
        elif opcode == _CONTINUATION:
            if not self._opcode:
                raise FrameError(1002, "continuation frame with no message to continue")
            if self._fragments_size + length > self._max_message_size:
                raise self._too_large()
        elif opcode in (_TEXT, _BINARY):
            if self._opcode:
                raise FrameError(1002, "new message before the fragmented one ended")
            if length > self._max_message_size:
                raise self._too_large()
        else:
            raise FrameError(1002, f"unknown opcode {opcode:#x}")

    def _data_frame(self, opcode: int, fin: int, payload: bytes | bytearray) -> None:
        """A binary frame, or a fragment of a text or binary message."""
        if opcode != _CONTINUATION:
            self._opcode = opcode
            if opcode == _TEXT:
                self._decoder = _utf8_decoder()
        self._fragments_size += len(payload)
        if self._opcode == _BINARY:
            self._binary_parts.append(payload)
            if fin:
                self.messages.append(b"".join(self._binary_parts))
                self._binary_parts = []
        else:
            # Text is checked fragment by fragment, as wsproto does.
            try:
                self._text_parts.append(self._decoder.decode(payload, final=bool(fin)))
            except UnicodeDecodeError as exc:
                raise FrameError(
                    1007, f"invalid UTF-8 in a text message: {exc}"
                ) from None
            if fin:
                self.messages.append("".join(self._text_parts))
                self._text_parts = []
        if fin:
            self._opcode, self._fragments_size = 0, 0

    def _too_large(self) -> FrameError:
        return FrameError(1009, f"message larger than {self._max_message_size} bytes")


def _refuse_header(b0: int) -> None:
    if b0 & 0x70:
        raise FrameError(1002, "reserved bits set but no extension was negotiated")
    raise FrameError(1002, "the server masked a frame")


def _close(payload: bytes | bytearray) -> Close:
    if not payload:
        return Close(1005, "")
    if len(payload) == 1:
        raise FrameError(1002, "close frame payload of one byte")
    code = (payload[0] << 8) | payload[1]
    if (
        code < 1000
        or code > 4999
        or code in _LOCAL_ONLY_CODES
        or (code < 3000 and code not in _REGISTERED_CODES)
    ):
        raise FrameError(1002, f"invalid close code {code}")
    try:
        reason = bytes(payload[2:]).decode()
    except UnicodeDecodeError as exc:
        raise FrameError(1007, f"invalid UTF-8 in the close reason: {exc}") from None
    return Close(code, reason)
