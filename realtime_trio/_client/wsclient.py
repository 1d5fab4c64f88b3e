"""A WebSocket client connection read from the caller's task.

Why not trio-websocket's client here: trio-websocket runs a reader task that
parses frames and hands every message to the application through a memory
channel, one scheduler trip per message. Our receive task already is a
reader; with this class it reads the socket and parses frames itself, so a
streamed event costs one task hand-over instead of two (measured in
``benchmarks/``: about 72 → 52 µs of CPU per 100 ms audio delta). wsproto
runs the opening handshake and frames what we send; `FrameReader` parses
what the server sends (about 19 → 2 µs per streamed frame). The simulator
still serves with trio-websocket, and the tests check this client against it.

`get_message` must be called by one task at a time (the receive task);
`send_message` and `aclose` may be called from any task (a lock orders the
writes, including the pongs `get_message` sends).
"""

from __future__ import annotations

import re

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Message,
    Pong,
    RejectConnection,
    RejectData,
    Request,
)
from wsproto.utilities import LocalProtocolError as WsLocalProtocolError
from wsproto.utilities import RemoteProtocolError as WsRemoteProtocolError

from .._core.closing import CloseReason
from .._core.ws_frames import Close, FrameError, FrameReader, Ping

#: The end of an HTTP response head (h11 accepts bare line feeds too).
_HEAD_END = re.compile(rb"\n\r?\n")
_MAX_HEAD_SIZE = 64 * 2**10
#: How much of a rejection's body is kept: an error answer is a few hundred
#: bytes of JSON; a hostile or broken server may send gigabytes, which are
#: never read.
MAX_REJECTION_BODY = 64 * 2**10


class WebSocketClosed(Exception):
    """The WebSocket is closed; ``reason`` says how."""

    def __init__(self, reason: CloseReason) -> None:
        super().__init__(str(reason))
        self.reason = reason


class WebSocketRejected(Exception):
    """The server answered the upgrade with an HTTP error.

    ``body`` is at most `MAX_REJECTION_BODY` bytes; ``body_truncated`` says
    the server had more to send.
    """

    def __init__(
        self,
        status_code: int,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        *,
        body_truncated: bool = False,
    ) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.headers = headers
        self.body = body
        self.body_truncated = body_truncated


class WebSocketClient:
    """One client WebSocket over a trio stream (see the module docstring)."""

    __slots__ = (
        "_closed_event",
        "_pending",
        "_reader",
        "_receive_buffer_size",
        "_stream",
        "_write_lock",
        "_ws",
        "closed",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        ws: WSConnection,
        *,
        max_message_size: int,
        receive_buffer_size: int,
    ) -> None:
        self._stream = stream
        self._ws = ws
        self._receive_buffer_size = receive_buffer_size
        self._reader = FrameReader(max_message_size)
        self._pending = self._reader.messages
        self._write_lock = trio.Lock()
        self._closed_event = trio.Event()
        #: How the connection closed (None while it is open).
        self.closed: CloseReason | None = None

    # --- opening ------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        stream: trio.abc.Stream,
        *,
        host: str,
        resource: str,
        headers: list[tuple[bytes, bytes]],
        max_message_size: int,
        receive_buffer_size: int,
    ) -> WebSocketClient:
        """Run the opening handshake over ``stream``.

        Raises:
            WebSocketRejected: the server answered with an HTTP error (with
                at most `MAX_REJECTION_BODY` bytes of its body: the rest is
                not read).
            WebSocketClosed: the stream ended or the handshake was malformed.
        """
        ws = WSConnection(ConnectionType.CLIENT)
        await stream.send_all(
            ws.send(Request(host=host, target=resource, extra_headers=headers))
        )
        # wsproto gets the response head only: the bytes after it are frames,
        # which the FrameReader parses (or, for a rejection, the body).
        received = bytearray()
        searched = 0
        while (head_end := _HEAD_END.search(received, max(0, searched))) is None:
            if len(received) > _MAX_HEAD_SIZE:
                raise WebSocketClosed(
                    CloseReason(1002, "malformed handshake: response head too large")
                )
            # Search only the new bytes (and the two before them) next time:
            # a head arriving byte by byte stays linear.
            searched = len(received) - 2
            chunk = await stream.receive_some(receive_buffer_size)
            if not chunk:
                raise _closed_during_handshake()
            received += chunk
        rest = bytes(received[head_end.end() :])
        status = 0
        reject_headers: tuple[tuple[str, str], ...] = ()
        body = bytearray()
        data = bytes(received[: head_end.end()])
        while True:
            try:
                ws.receive_data(data)
                handshake_events = list(ws.events())
            except WsRemoteProtocolError as exc:
                raise WebSocketClosed(
                    CloseReason(1002, f"malformed handshake: {exc}")
                ) from exc
            for event in handshake_events:
                if isinstance(event, AcceptConnection):
                    client = cls(
                        stream,
                        ws,
                        max_message_size=max_message_size,
                        receive_buffer_size=receive_buffer_size,
                    )
                    if rest:  # frames that came with the upgrade answer
                        await client._process(rest)
                    return client
                if isinstance(event, RejectConnection):
                    status = event.status_code
                    reject_headers = tuple(
                        (k.decode("latin-1"), v.decode("latin-1"))
                        for k, v in event.headers
                    )
                    if not event.has_body:
                        raise WebSocketRejected(status, reject_headers, b"")
                elif isinstance(event, RejectData):
                    room = MAX_REJECTION_BODY - len(body)
                    if len(event.data) > room:
                        # Stop reading: the caller closes the stream.
                        body += event.data[:room]
                        raise WebSocketRejected(
                            status, reject_headers, bytes(body), body_truncated=True
                        )
                    body += event.data
                    if event.body_finished:
                        raise WebSocketRejected(status, reject_headers, bytes(body))
            if rest:
                data, rest = rest, b""
                continue
            data = bytes(await stream.receive_some(receive_buffer_size))
            if not data and status:
                # A rejection whose body ends with the connection.
                raise WebSocketRejected(status, reject_headers, bytes(body))
            if not data:
                raise _closed_during_handshake()

    # --- receiving ----------------------------------------------------------------

    async def get_message(self) -> str | bytes:
        """Return the next message, reading the socket when none is buffered.

        Messages received before a close are all returned first; then this
        raises `WebSocketClosed`. When a message is already buffered it
        returns at once (the read that buffered it was the checkpoint).
        """
        while not self._pending:
            if self.closed is not None:
                raise WebSocketClosed(self.closed)
            try:
                data = await self._stream.receive_some(self._receive_buffer_size)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                await self._finish(CloseReason(1006, None))
                continue
            await self._process(data)
        return self._pending.popleft()

    async def _process(self, data: bytes | bytearray) -> None:
        """Parse ``data``, answering pings and a close; messages go to ``_pending``."""
        reader = self._reader
        try:
            reader.feed(data)
            while (control := reader.process()) is not None:
                if isinstance(control, Ping):
                    if self._ws.state.name == "OPEN":
                        await self._write(self._ws.send(Pong(payload=control.payload)))
                else:
                    await self._on_close(control)
                if self._closed_event.is_set():
                    return  # nothing after a close counts
        except FrameError as exc:
            await self._fail(exc.code, exc.reason)

    async def _on_close(self, frame: Close) -> None:
        reason = CloseReason(frame.code, frame.reason or None)
        if self._ws.state.name == "OPEN":
            # The server closes first: answer its close (1005 is echoed as a
            # close without a code). The server may already have gone.
            code = None if frame.code == 1005 else frame.code
            try:
                await self._write(
                    self._ws.send(CloseConnection(code=code, reason=frame.reason)),  # type: ignore[arg-type]
                    reason=reason,
                )
            except WebSocketClosed:
                pass
        await self._finish(reason)

    # --- sending ------------------------------------------------------------------

    async def send_message(self, message: str | bytes) -> None:
        """Send one message (a text frame for ``str``).

        Raises:
            WebSocketClosed: the connection is closed or closing.
        """
        if self.closed is not None:
            raise WebSocketClosed(self.closed)
        try:
            data = self._ws.send(Message(data=message))  # type: ignore[type-var]
        except WsLocalProtocolError:
            raise WebSocketClosed(self.closed or CloseReason(1000, "closing")) from None
        await self._write(data)

    async def _write(self, data: bytes, *, reason: CloseReason | None = None) -> None:
        """Write ``data``; a dead socket closes the connection (with ``reason``, or 1006)."""
        lock = self._write_lock
        try:
            # send_all is the checkpoint; the lock need not be another one.
            lock.acquire_nowait()
        except trio.WouldBlock:
            await lock.acquire()
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            lost = reason or CloseReason(1006, None)
            await self._finish(lost)
            raise WebSocketClosed(lost) from exc
        finally:
            lock.release()

    # --- closing ------------------------------------------------------------------

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        """Send a close frame and wait for the server's, which `get_message` reads.

        Bound it with a cancel scope; `abort` closes the socket at once.
        """
        if self.closed is None and self._ws.state.name == "OPEN":
            try:
                await self._write(
                    self._ws.send(CloseConnection(code=code, reason=reason))
                )
            except WebSocketClosed:
                return
        await self._closed_event.wait()

    async def abort(self) -> None:
        """Close the socket now, without a closing handshake."""
        if self.closed is None:
            self.closed = CloseReason(1006, None)
            self._closed_event.set()
        await trio.aclose_forcefully(self._stream)

    async def _fail(self, code: int, reason: str) -> None:
        """We end the connection because of what the server sent."""
        if self.closed is None and self._ws.state.name == "OPEN":
            try:
                await self._write(
                    self._ws.send(CloseConnection(code=code, reason=reason))
                )
            except WebSocketClosed:
                pass
        await self._finish(CloseReason(code, reason, closed_by="client"))

    async def _finish(self, reason: CloseReason) -> None:
        if self.closed is None:
            self.closed = reason
            self._closed_event.set()
        await trio.aclose_forcefully(self._stream)


def _closed_during_handshake() -> WebSocketClosed:
    return WebSocketClosed(
        CloseReason(1006, "the server closed the connection during the handshake")
    )
