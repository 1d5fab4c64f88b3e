"""A WebSocket client connection driven by wsproto from the caller's task.

Why not trio-websocket's client here: trio-websocket runs a reader task that
parses frames and hands every message to the application through a memory
channel, one scheduler trip per message. Our receive task already is a
reader; with this class it reads the socket and parses frames itself, so a
streamed event costs one task hand-over instead of two (measured in
``benchmarks/``: about 72 → 52 µs of CPU per 100 ms audio delta). The
simulator still serves with trio-websocket, and the tests check this client
against it.

`get_message` must be called by one task at a time (the receive task);
`send_message` and `aclose` may be called from any task (a lock orders the
writes, including the pongs `get_message` sends).
"""

from __future__ import annotations

import collections
from typing import cast

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError as WsLocalProtocolError
from wsproto.utilities import RemoteProtocolError as WsRemoteProtocolError

from ._exceptions import CloseReason


class WebSocketClosed(Exception):
    """The WebSocket is closed; ``reason`` says how."""

    def __init__(self, reason: CloseReason) -> None:
        super().__init__(str(reason))
        self.reason = reason


class WebSocketRejected(Exception):
    """The server answered the upgrade with an HTTP error."""

    def __init__(
        self, status_code: int, headers: tuple[tuple[str, str], ...], body: bytes
    ) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.headers = headers
        self.body = body


class WebSocketClient:
    """One client WebSocket over a trio stream (see the module docstring)."""

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
        self._max_message_size = max_message_size
        self._receive_buffer_size = receive_buffer_size
        self._pending: collections.deque[str | bytes] = collections.deque()
        self._parts: list[str | bytes] = []
        self._size = 0
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
            WebSocketRejected: the server answered with an HTTP error.
            WebSocketClosed: the stream ended or the handshake was malformed.
        """
        ws = WSConnection(ConnectionType.CLIENT)
        await stream.send_all(
            ws.send(Request(host=host, target=resource, extra_headers=headers))
        )
        client: WebSocketClient | None = None
        status = 0
        reject_headers: tuple[tuple[str, str], ...] = ()
        body = bytearray()
        while client is None:
            data = await stream.receive_some(receive_buffer_size)
            if not data:
                raise WebSocketClosed(
                    CloseReason(
                        1006, "the server closed the connection during the handshake"
                    )
                )
            try:
                ws.receive_data(bytes(data))
                handshake_events = list(ws.events())
            except WsRemoteProtocolError as exc:
                raise WebSocketClosed(
                    CloseReason(1002, f"malformed handshake: {exc}")
                ) from exc
            for index, event in enumerate(handshake_events):
                if isinstance(event, AcceptConnection):
                    client = cls(
                        stream,
                        ws,
                        max_message_size=max_message_size,
                        receive_buffer_size=receive_buffer_size,
                    )
                    # Frames that came with the upgrade answer are ours already.
                    for later in handshake_events[index + 1 :]:
                        await client._handle(later)
                    break
                if isinstance(event, RejectConnection):
                    status = event.status_code
                    reject_headers = tuple(
                        (k.decode("latin-1"), v.decode("latin-1"))
                        for k, v in event.headers
                    )
                    if not event.has_body:
                        raise WebSocketRejected(status, reject_headers, b"")
                elif isinstance(event, RejectData):
                    body += event.data
                    if event.body_finished:
                        raise WebSocketRejected(status, reject_headers, bytes(body))
        return client

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
            try:
                self._ws.receive_data(bytes(data))
                for event in self._ws.events():
                    await self._handle(event)
                    if self._closed_event.is_set():
                        break  # nothing after a close (or a refused message) counts
            except WsRemoteProtocolError as exc:
                await self._fail(1002, f"protocol error: {exc}")
        return self._pending.popleft()

    async def _handle(self, event: Event) -> None:
        if isinstance(event, TextMessage | BytesMessage):
            self._size += len(event.data)
            if self._size > self._max_message_size:
                await self._fail(
                    1009, f"message larger than {self._max_message_size} bytes"
                )
                return
            self._parts.append(event.data)  # type: ignore[arg-type]
            if event.message_finished:
                parts, self._parts, self._size = self._parts, [], 0
                if isinstance(event, TextMessage):
                    texts = cast("list[str]", parts)
                    self._pending.append(
                        texts[0] if len(texts) == 1 else "".join(texts)
                    )
                else:
                    self._pending.append(b"".join(cast("list[bytes]", parts)))
        elif isinstance(event, Ping):
            await self._write(self._ws.send(event.response()))
        elif isinstance(event, CloseConnection):
            reason = CloseReason(event.code, event.reason or None)
            if self._ws.state.name == "REMOTE_CLOSING":
                # Answer the close; the server may already have gone, which is fine.
                try:
                    await self._write(self._ws.send(event.response()), reason=reason)
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
        async with self._write_lock:
            try:
                await self._stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                lost = reason or CloseReason(1006, None)
                await self._finish(lost)
                raise WebSocketClosed(lost) from exc

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
        await self._finish(CloseReason(code, reason))

    async def _finish(self, reason: CloseReason) -> None:
        if self.closed is None:
            self.closed = reason
            self._closed_event.set()
        await trio.aclose_forcefully(self._stream)
