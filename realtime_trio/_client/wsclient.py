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
`send_message`, `ping`, `fail` and `aclose` may be called from any task (a
lock orders the writes, including the pongs `get_message` sends), and so may
`write_now`, which writes only when it need not wait (a plain socket, no
write in progress: `DirectSocket`) and leaves what the socket did not take
for the next write to send first.
"""

from __future__ import annotations

import contextlib
import os
import re

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    RejectConnection,
    RejectData,
    Request,
)
from wsproto.utilities import RemoteProtocolError as WsRemoteProtocolError

from .._core.closing import CloseReason
from .._core.ws_frames import Close, FrameError, FrameReader, Ping
from .._core.ws_writer import (
    BINARY,
    CLOSE,
    PING,
    PONG,
    TEXT,
    client_frame,
    close_payload,
    mask_keys,
)
from .direct_socket import DirectSocket

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
        "_close_sent",
        "_closed_event",
        "_direct",
        "_heard",
        "_pending",
        "_reader",
        "_receive_buffer_size",
        "_stream",
        "_tail",
        "_write_lock",
        "closed",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        *,
        max_message_size: int,
        receive_buffer_size: int,
    ) -> None:
        self._stream = stream
        # A close frame was sent: nothing more may be (wsproto's state, which
        # we no longer keep after the handshake).
        self._close_sent = False
        self._receive_buffer_size = receive_buffer_size
        self._reader = FrameReader(max_message_size)
        # The messages parsed and not yet returned, newest first (`pop` takes
        # the oldest): the reader's list, taken after each read.
        self._pending: list[str | bytes] = []
        self._write_lock = trio.Lock()
        # A plain TCP socket can be written without waiting (`write_now`)
        # and read without a failed try (`DirectSocket`); a TLS stream cannot.
        self._direct = DirectSocket.for_stream(stream, receive_buffer_size)
        # What `write_now` could not write: the next write sends it first.
        self._tail = b""
        self._closed_event = trio.Event()
        # Set by the next read after a `ping` (see there).
        self._heard: trio.Event | None = None
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
        direct = self._direct
        while not self._pending:
            if self.closed is not None:
                raise WebSocketClosed(self.closed)
            # (Inline, not a helper: one coroutine fewer per read.)
            data: bytes | bytearray | None
            if direct is not None:
                data = await direct.read()
                if data is None:
                    continue  # woken for nothing
            else:
                try:
                    data = await self._stream.receive_some(self._receive_buffer_size)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    data = b""
            if not data:
                await self._finish(CloseReason(1006, None))
                continue
            if self._heard is not None:  # once per read, not per message
                self._heard.set()
                self._heard = None
            await self._process(data)
        return self._pending.pop()

    async def _process(self, data: bytes | bytearray) -> None:
        """Parse ``data``, answering pings and a close; messages go to ``_pending``."""
        reader = self._reader
        try:
            reader.feed(data)
            while (control := reader.process()) is not None:
                if isinstance(control, Ping):
                    if not self._close_sent:
                        await self._write(
                            client_frame(PONG, control.payload, mask_keys.next())
                        )
                else:
                    await self._on_close(control)
                if self._closed_event.is_set():
                    return  # nothing after a close counts
        except FrameError as exc:
            await self._fail(exc.code, exc.reason)
        finally:
            # Take the messages (before a close too: they are all returned).
            new = reader.messages
            if new:
                reader.messages = []
                new.reverse()
                new += self._pending  # older ones, if any, are taken first
                self._pending = new

    async def _on_close(self, frame: Close) -> None:
        reason = CloseReason(frame.code, frame.reason or None)
        if not self._close_sent:
            # The server closes first: answer its close (1005 is echoed as a
            # close without a code). The server may already have gone.
            code = None if frame.code == 1005 else frame.code
            try:
                await self._write(
                    self._close_frame(code, frame.reason),
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
        await self._write(self._frame(message))

    async def send_messages(self, messages: list[str]) -> None:
        """Send text messages in one write (what the send task found queued).

        Raises:
            WebSocketClosed: the connection is closed or closing.
        """
        if len(messages) == 1 and messages[0]:
            await self._write(self._frame(messages[0]))
            return
        # An empty string is not a message: a nudge to write the tail
        # `write_now` left (see there).
        frame = self._frame
        await self._write(b"".join([frame(m) for m in messages if m]))

    def write_now(self, message: str) -> bool:
        """Write ``message`` at once, without a checkpoint, if the transport
        allows it and no other write is in progress; False if not (queue it).

        Only a plain TCP socket can be written this way (`DirectSocket`). What the
        kernel does not take at once is kept as the *tail*: `tail_pending`
        says so, and the caller must then have some task call
        `send_messages` (an empty string will do), which writes it before
        anything else. Nothing is lost or reordered: every other write sends
        the tail first.

        Raises:
            WebSocketClosed: the connection is closed or closing.
        """
        direct = self._direct
        if direct is None or self._tail or self._write_lock.locked():
            return False
        data = self._frame(message)
        # Not all of it (or none: the socket is full or broken): the next
        # write through the stream sends the rest or reports the error.
        written = direct.write(data)
        if written < len(data):
            self._tail = data[written:]
        return True

    @property
    def tail_pending(self) -> bool:
        """`write_now` left bytes that the next write must send first."""
        return bool(self._tail)

    def _frame(self, message: str | bytes) -> bytes:
        """The masked frame of ``message`` (`_core.ws_writer`: masking in C, not
        wsproto's pure Python); raises if nothing may be sent."""
        if self.closed is not None:
            raise WebSocketClosed(self.closed)
        if self._close_sent:
            raise WebSocketClosed(CloseReason(1000, "closing"))
        if isinstance(message, str):
            return client_frame(TEXT, message.encode(), mask_keys.next())
        return client_frame(BINARY, message, mask_keys.next())

    def _close_frame(self, code: int | None, reason: str | None) -> bytes:
        """Our close frame; nothing may be sent after it."""
        self._close_sent = True
        return client_frame(CLOSE, close_payload(code, reason), mask_keys.next())

    def writable_now(self) -> bool:
        """No write is in progress: a write now would not wait for the lock."""
        return not self._write_lock.locked() and not self._tail

    async def _write(self, data: bytes, *, reason: CloseReason | None = None) -> None:
        """Write ``data``; a dead socket closes the connection (with ``reason``, or 1006)."""
        lock = self._write_lock
        try:
            # send_all is the checkpoint; the lock need not be another one.
            lock.acquire_nowait()
        except trio.WouldBlock:
            await lock.acquire()
        try:
            if self._tail:
                data = self._tail + data
                self._tail = b""
            if data:
                await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            lost = reason or self.closed or CloseReason(1006, None)
            await self._finish(lost)
            raise WebSocketClosed(lost) from exc
        finally:
            lock.release()

    async def ping(self) -> trio.Event:
        """Send a ping; return an event set by the next read from the socket.

        Whatever arrives after the ping, its pong or any other data, shows
        that the server and the network are alive (a pong may be queued
        behind a long message). Reads happen in `get_message`: while nobody
        calls it, the event stays unset. Nothing is sent once closing.
        """
        heard = trio.Event()
        if self.closed is None and not self._close_sent:
            self._heard = heard
            with contextlib.suppress(WebSocketClosed):
                await self._write(client_frame(PING, os.urandom(4), mask_keys.next()))
        return heard

    # --- closing ------------------------------------------------------------------

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        """Send a close frame and wait for the server's, which `get_message` reads.

        Bound it with a cancel scope; `abort` closes the socket at once.
        """
        if self.closed is None and not self._close_sent:
            try:
                await self._write(self._close_frame(code, reason))
            except WebSocketClosed:
                return
        await self._closed_event.wait()

    async def abort(self) -> None:
        """Close the socket now, without a closing handshake."""
        if self.closed is None:
            self.closed = CloseReason(1006, None)
            self._closed_event.set()
        await trio.aclose_forcefully(self._stream)

    async def fail(self, code: int, reason: str, *, close_timeout: float) -> None:
        """We end the connection (``closed_by="client"``), whatever the server does.

        `closed` says so at once (`get_message` and `send_message` raise
        `WebSocketClosed` with it); a close frame is sent if it can go out
        within ``close_timeout`` (the network may be dead), then the socket is closed.
        """
        if self.closed is not None:
            return
        self.closed = CloseReason(code, reason, closed_by="client")
        self._closed_event.set()
        try:
            if not self._close_sent:
                with (
                    trio.move_on_after(close_timeout),
                    contextlib.suppress(WebSocketClosed),
                ):
                    await self._write(self._close_frame(code, reason))
        finally:
            await trio.aclose_forcefully(self._stream)

    async def _fail(self, code: int, reason: str) -> None:
        """We end the connection because of what the server sent."""
        if self.closed is None and not self._close_sent:
            try:
                await self._write(self._close_frame(code, reason))
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
