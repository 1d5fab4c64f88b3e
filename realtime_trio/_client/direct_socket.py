"""Reading and writing a plain TCP socket without trio's stream wrappers.

Two costs of trio's `trio.SocketStream` that a round trip pays (issue 16):

* ``send_all`` is always a checkpoint, so a message can only leave from a
  task that may yield; the user's task hands it to the send task instead,
  and a round trip takes one more scheduler batch than it needs. A socket
  takes a small message at once almost always: `DirectSocket.write` tries
  that, without waiting (``os.write`` on the non-blocking descriptor), and
  says how much went.
* ``receive_some`` tries to read before it waits; when messages come one at
  a time (answers), every second read fails. `DirectSocket.read` waits
  first when the last read emptied the socket.

Only for a plain `trio.SocketStream` on a POSIX system (`for_stream`): trio's
TLS stream has no write that cannot wait, and a socket on Windows is not a
file descriptor. Whoever uses it keeps the stream's other users in order
(`WebSocketClient` does: its write lock and its *tail*).
"""

from __future__ import annotations

import os
from typing import Final, final

import trio


@final
class DirectSocket:
    """The descriptor-level side door of one `trio.SocketStream` (see the module docstring)."""

    __slots__ = ("_drained", "_size", "_socket", "_stream")

    def __init__(self, stream: trio.SocketStream, receive_buffer_size: int) -> None:
        self._stream = stream
        self._socket = stream.socket
        self._size = receive_buffer_size
        # The last read took all the socket had: wait before the next.
        self._drained = True

    @staticmethod
    def for_stream(
        stream: trio.abc.Stream, receive_buffer_size: int
    ) -> DirectSocket | None:
        """A `DirectSocket` for ``stream`` if it is a plain socket here, else None."""
        if _POSIX and type(stream) is trio.SocketStream:
            return DirectSocket(stream, receive_buffer_size)
        return None

    def write(self, data: bytes) -> int:
        """Write what the socket takes now, without waiting; how many bytes went.

        0 when it takes nothing, or when the socket is closed or broken: the
        next write through the stream waits for room or reports the error.
        """
        # A closed trio socket says -1 (its descriptor may have been reused).
        fd = self._socket.fileno()
        if fd < 0:
            return 0
        try:
            return os.write(fd, data)
        except OSError:  # would block, or broken: see above
            return 0

    async def read(self) -> bytes | bytearray | None:
        """Read what the socket has: b"" at its end, None if woken for nothing.

        A checkpoint, as ``receive_some`` is.
        """
        try:
            if not self._drained or self._socket.fileno() < 0:
                # (Closed: trio's read says so, after a checkpoint.)
                data = await self._stream.receive_some(self._size)
            else:
                await trio.lowlevel.wait_readable(self._socket)
                fd = self._socket.fileno()
                if fd < 0:
                    return b""
                try:
                    data = os.read(fd, self._size)
                except BlockingIOError:
                    return None
                except OSError:
                    return b""
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return b""
        self._drained = len(data) < self._size
        return data


_POSIX: Final = os.name == "posix"
