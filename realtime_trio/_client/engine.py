"""The engine of a connection: the tasks that move its data.

Theory of operation
-------------------
A connection is a WebSocket, a sans-IO `RealtimeProtocol` that parses and
tracks what crosses it, bounded buffers between the socket and the user's
tasks, and four tasks that move data between them. The tasks decide
nothing: the protocol parses and tracks the session (`_core.protocol`),
`PendingRequests` matches answers to requests (`_core.requests`),
`classify_close` says what the end of the socket means (`_core.closing`),
`LowWater` paces the refill of the events buffer (`_core.flow`), and
`AudioEncoder` frames and encodes the audio (`audio_encoding`).
`RealtimeConnection` is the user's handle on an engine.

Tasks (in a private nursery, inside one cancel scope: the connection's
lifetime)::

    open.py: nursery.start(engine.run)
      └ run
          ├ receive task  socket → protocol → events buffer → RealtimeConnection.receive
          │               (an answer also settles its pending request)
          ├ send task     outgoing buffer → socket
          ├ audio task    audio buffer → AudioEncoder → outgoing buffer
          └ expiry task   a warning before the session's 60-minute cap

The buffers are bounded, so backpressure reaches whoever produces: events
(``max_buffered_events``; when full, the receive task stops reading the
socket until the consumer has taken the buffer down to low water), outgoing
(``max_buffered_messages``; when full, `send` waits) and audio
(``max_buffered_audio_ms``, counted in bytes by `AudioBuffer`; the
``input_audio_buffer.*`` events go through it too, in order with the audio).
The receive task reads the socket through `WebSocketClient` itself, with no
reader task; the user's tasks encode and queue what they send themselves
(`queue_nowait`, `queue`).

Opening (`run`, bounded by ``connect_timeout``): the WebSocket handshake,
then reading until ``session.created``, holding the events before it
(nobody can read them yet); then the tasks start, the receive task
delivering the held events first, and `run` reports started.

Ending: no task lets an ordinary exception escape. When the socket closes,
`classify_close` decides what that means; a failure becomes the *terminal
error*, queued after the last event received and raised by every later
operation, and every pending request fails. Closing (`aclose`) stops the
audio at a marker, lets the send task flush the outgoing buffer, sends the
close frame and cancels the tasks, each step bounded by ``close_timeout``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Mapping
from typing import Any, Final, final

import attrs
import trio

from .._core import server_events as sev
from .._core.closing import CloseReason, Phase, classify_close
from .._core.flow import LowWater
from .._core.invalid import InvalidEvent, ReceivedEvent
from .._core.logs import get_logger
from .._core.protocol import RealtimeProtocol, SessionState
from .._core.record import Record
from .._core.requests import PendingRequests
from .._trio.unwrap import collapse, reraise
from .audio_encoding import AudioControl, AudioEncoder, audio_control
from .audio_input import AudioBuffer, AudioSender
from .exceptions import (
    ConnectionClosed,
    ConnectTimeout,
    ServerError,
    connection_error,
)
from .options import ConnectionSettings
from .transport import open_websocket
from .wsclient import WebSocketClient, WebSocketClosed

logger = get_logger()

#: How long before ``expires_at`` the expiry warning is logged.
EXPIRY_WARNING_SECONDS: Final = 60.0


@attrs.define(eq=False)
class Failure:
    """An error delivered in order through the events buffer, raised in place of an event."""

    error: Exception


#: What the events buffer holds.
Item = ReceivedEvent | Failure


@final
class ConnectionEngine:
    """The state and the tasks of one connection (see the module docstring)."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self._recorder = settings.recorder
        self._strict = settings.strict
        self.protocol = RealtimeProtocol()
        self.requests = PendingRequests(ServerError)
        self.is_sideband = "call_id=" in settings.handshake.resource
        self._ws: WebSocketClient | None = None
        self._cancel_scope = trio.CancelScope()
        #: Set once the tasks have all ended.
        self.closed = trio.Event()
        #: We are closing (or closed): nothing more may be sent.
        self._closing = False
        #: The error of a failed connection, raised after the last event.
        self.terminal: Exception | None = None
        self.close_reason: CloseReason | None = None
        self._send_done = trio.Event()
        size = settings.max_buffered_events
        self.events_send, self.events_recv = trio.open_memory_channel[Item](size)
        # The receive task parks here while the events buffer is full, until the
        # consumer takes it down to low water (None: unbuffered, a hand-over).
        self.room = trio.lowlevel.ParkingLot()
        self.low_water = LowWater(size) if size else None
        self._delivery_scope: trio.CancelScope | None = None
        self._dropped_while_closing = 0
        self.outgoing_send, self._outgoing_recv = trio.open_memory_channel[str](
            settings.max_buffered_messages
        )
        fmt = settings.input_audio_format
        self.audio = audio = AudioBuffer(
            int(fmt.bytes_per_second * settings.max_buffered_audio_ms / 1000)
        )
        self.audio_sender = AudioSender(
            audio,
            audio.send_channel,
            check_usable=self.check_usable,
            ended_error=self.ended_error,
        )
        self._encoder = AudioEncoder(
            self.protocol, fmt, frame_ms=settings.audio_frame_ms, owner=self
        )

    def __repr__(self) -> str:
        url = self.settings.handshake.url
        return f"<RealtimeConnection {url} {self.protocol.state.value}>"

    # --- what the user's tasks ask ---------------------------------------------

    def ended_error(self) -> Exception:
        """The error of an operation on a connection that is over."""
        if self.terminal is not None:
            return self.terminal
        return ConnectionClosed(close_reason=self.close_reason)

    def check_usable(self) -> None:
        """Raise if the connection is closing or over."""
        if self.terminal is not None:
            raise self.terminal
        if self._closing:
            raise ConnectionClosed(close_reason=self.close_reason)

    def queue_nowait(self, event: Record | Mapping[str, Any]) -> str | None:
        """Encode and queue ``event``; return its text, unqueued, if the buffer is
        full (``input_audio_buffer.*`` events go through the audio task)."""
        self.check_usable()
        text = self.protocol.send(event)
        control = audio_control(event, text)
        try:
            if control is not None:
                self.audio.send_channel.send_nowait(control)
            else:
                self.outgoing_send.send_nowait(text)
        except trio.WouldBlock:
            return text
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise self.ended_error() from None
        return None

    async def queue(self, text: str) -> None:
        """Queue ``text``, waiting for room (backpressure)."""
        try:
            await self.outgoing_send.send(text)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise self.ended_error() from None

    # --- the tasks ------------------------------------------------------------

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Connect, wait for ``session.created``, run the tasks until the connection ends."""
        started = False
        setup_error: BaseException | None = None
        try:
            with self._cancel_scope:
                try:
                    async with trio.open_nursery() as nursery:
                        try:
                            held = await self._open()
                        except BaseException as exc:
                            setup_error = exc
                            raise
                        nursery.start_soon(self._receive_task, held)
                        nursery.start_soon(self._send_task)
                        # Clone now: aclose() may close our end before the task runs.
                        nursery.start_soon(self._audio_task, self.outgoing_send.clone())
                        nursery.start_soon(self._expiry_task)
                        started = True
                        task_status.started()
                        # It refers to start()'s nursery: let that go now.
                        del task_status
                except BaseExceptionGroup as group:
                    if started:
                        raise
                    reraise(collapse(group, setup_error))
        finally:
            # However the connection ends (closed, failed, cancelled during
            # setup), the socket is closed. Aborting never blocks.
            if self._ws is not None and self._ws.closed is None:
                with trio.CancelScope(shield=True):
                    await self._ws.abort()
            self._finish()

    async def _open(self) -> list[Item]:
        """The handshake, and the events up to ``session.created`` (within ``connect_timeout``)."""
        settings = self.settings
        with trio.move_on_after(settings.connect_timeout) as scope:
            self._ws = ws = await open_websocket(
                settings.handshake,
                connect_stream=settings.connect_stream,
                ssl_context=settings.ssl_context,
                max_message_size=settings.max_message_size,
                receive_buffer_size=settings.receive_buffer_size,
            )
            # Nobody can read the events before session.created (there are
            # few, usually none): hold them for the receive task.
            held: list[Item] = []
            while self.protocol.state is SessionState.CONNECTING:
                try:
                    message = await ws.get_message()
                except WebSocketClosed as exc:
                    raise self._closed(exc.reason, "connecting") from exc
                held.append(self._settled(self._parse(message)))
        if scope.cancelled_caught:
            if self._ws is not None:
                await self._ws.abort()
            raise ConnectTimeout(
                f"no session.created from {settings.handshake.url} "
                f"within {settings.connect_timeout} s"
            )
        logger.debug("%r: session created", self)
        return held

    async def _receive_task(self, held: list[Item]) -> None:
        ws = self._ws
        assert ws is not None
        recorder = self._recorder
        parse = self.protocol.receive_message
        delta = sev.ResponseOutputAudioDelta
        with self.events_send as events:
            while held:
                await self._deliver(events, held.pop(0))
            while True:
                try:
                    message = await ws.get_message()
                except WebSocketClosed as exc:
                    await self._on_closed(exc.reason, events)
                    return
                event = parse(message) if recorder is None else self._parse(message)
                # The hot path: a streamed delta answers nothing.
                item = event if type(event) is delta else self._settled(event)
                # ws.get_message() was a checkpoint already: hand the event
                # over without another trip through the scheduler when there
                # is room, and wait (backpressure) only when there is not.
                try:
                    events.send_nowait(item)
                except (trio.WouldBlock, trio.BrokenResourceError):
                    await self._deliver(events, item)

    def _parse(self, message: str | bytes) -> ReceivedEvent:
        """One server message, recorded and parsed."""
        if self._recorder is not None:
            self._recorder.record("server", _text(message))
        return self.protocol.receive_message(message)

    def _settled(self, event: ReceivedEvent) -> Item:
        """A parsed event, matched to the request it answers: what the consumer gets."""
        if self.requests:
            self.requests.answer(event)
        if type(event) is InvalidEvent:
            logger.warning("%r: malformed server message: %s", self, event.error)
            return Failure(event.error) if self._strict else event
        return event

    async def _deliver(self, events: trio.MemorySendChannel[Item], item: Item) -> None:
        """Queue ``item`` for the consumer, waiting for room when the buffer is full.

        A full buffer is refilled from low water (`LowWater`). Only this task
        sends on the channel, so the room found on waking is still there.

        Once the connection is closing, an item that does not fit is dropped
        (nobody will read it), so that this task goes on reading the socket
        and the closing handshake completes: `aclose` cancels the wait.
        """
        with trio.CancelScope() as scope:
            self._delivery_scope = scope
            if self._closing:
                scope.cancel()
            try:
                events.send_nowait(item)
            except trio.WouldBlock:
                if self.low_water is None:
                    await events.send(item)  # unbuffered: a direct hand-over
                else:
                    while True:
                        self.low_water.full()
                        await self.room.park()
                        with contextlib.suppress(trio.WouldBlock):
                            events.send_nowait(item)
                            break
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # aclose() closed the consumer's end: nobody will read it
        self._delivery_scope = None
        if scope.cancelled_caught:
            self._dropped_while_closing += 1

    def _closed(self, reason: CloseReason, phase: Phase) -> Exception:
        """The socket closed: record it, fail the pending requests, return the error."""
        self.close_reason = reason
        end = classify_close(
            reason, phase=phase, we_closed=self._closing, sideband=self.is_sideband
        )
        error = connection_error(end)
        if end.is_failure:
            self.terminal = error
        self.requests.fail_all(error)
        return error

    async def _on_closed(
        self, reason: CloseReason, events: trio.MemorySendChannel[Item]
    ) -> None:
        self.protocol.connection_closed()
        error = self._closed(reason, "receiving")
        if self.terminal is not error:
            logger.debug("%r: closed (%s)", self, reason)
            return
        logger.info("%r: connection ended by the server or network: %s", self, reason)
        await self._deliver(events, Failure(error))

    async def _send_task(self) -> None:
        ws = self._ws
        assert ws is not None
        recorder = self._recorder
        protocol = self.protocol
        try:
            with self._outgoing_recv as outgoing:
                while True:
                    # Every write is a checkpoint: take a queued message
                    # without another trip through the scheduler, wait only
                    # when there is none.
                    try:
                        text = outgoing.receive_nowait()
                    except trio.WouldBlock:
                        text = await outgoing.receive()
                    if recorder is not None:
                        recorder.record("client", text)
                    try:
                        await ws.send_message(text)
                        protocol.message_written()
                    except WebSocketClosed as exc:
                        if not self._closing and self.terminal is None:
                            self._closed(exc.reason, "sending")
                        return
        except trio.EndOfChannel:
            pass  # closing: everything queued was sent
        finally:
            self._send_done.set()

    async def _audio_task(self, outgoing: trio.MemorySendChannel[str]) -> None:
        audio = self.audio
        encoder = self._encoder
        with audio.receive_channel as items, outgoing:
            try:
                async for item in items:
                    if type(item) is bytes:
                        audio.consumed(len(item))
                        texts = encoder.audio(item)
                    else:
                        assert isinstance(item, AudioControl)
                        if item.stop:
                            break
                        texts = encoder.control(item)
                    for text in texts:
                        # Receiving the item was a checkpoint: skip the scheduler
                        # when there is room, wait (backpressure) only when not.
                        try:
                            outgoing.send_nowait(text)
                        except trio.WouldBlock:
                            await outgoing.send(text)
                # Stopped (closing) or every sender closed: send the last partial frame.
                if self.terminal is None:
                    for text in encoder.finish():
                        try:
                            outgoing.send_nowait(text)
                        except trio.WouldBlock:
                            await outgoing.send(text)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return  # the send task is gone: the connection is ending

    async def _expiry_task(self) -> None:
        expires_at = getattr(self.protocol.session, "expires_at", None)
        if not isinstance(expires_at, int):
            return
        delay = expires_at - time.time() - EXPIRY_WARNING_SECONDS
        await trio.sleep(max(0.0, delay))
        logger.warning(
            "%r: the session expires in %.0f s (the Realtime API caps sessions at 60 minutes)",
            self,
            max(0.0, expires_at - time.time()),
        )

    # --- closing --------------------------------------------------------------

    def shield_until_closed(self) -> None:
        """Let the tasks outlive a cancelled caller until `aclose` has flushed
        and sent the close frame (`open_realtime`; with `connect_realtime` the
        caller's nursery rules). Call it in the caller's task once `run` has
        started: a scope shielded before started() would keep the tasks in
        start()'s nursery if start() was cancelled meanwhile. If the caller is
        cancelled already, do not: shielding would resume the tasks from a
        cancellation trio has begun to deliver (the connection just ends).
        """
        if trio.current_effective_deadline() != -math.inf:
            self._cancel_scope.shield = True

    def _finish(self) -> None:
        if self._dropped_while_closing:
            logger.debug(
                "%r: discarded %d events that arrived while closing with a full buffer",
                self,
                self._dropped_while_closing,
            )
        self.protocol.connection_closed()
        self._closing = True
        self.requests.fail_all(self.ended_error())
        self.audio.wake_all()
        self._send_done.set()
        self.closed.set()

    async def aclose(self) -> None:
        """Close: flush queued messages, send a close frame, end the tasks (see
        `RealtimeConnection.aclose`)."""
        close_timeout = self.settings.close_timeout
        if self._closing:
            with trio.move_on_after(close_timeout, shield=True):
                await self.closed.wait()
            await trio.lowlevel.checkpoint()
            return
        self._closing = True
        self.protocol.start_closing()
        if self._delivery_scope is not None:
            # The receive task waits for room nobody will make: let it read
            # on, so that the server's close frame is seen.
            self._delivery_scope.cancel()
        # Senders refuse new audio from now on; the audio task sends what is
        # queued up to this marker, then the rest of the last frame, and stops.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            self.audio.send_channel.send_nowait(AudioControl(None, stop=True))
        self.audio_sender.close()
        self.audio.wake_all()
        ws = self._ws
        with trio.move_on_after(close_timeout, shield=True):
            # The audio task drains into the outgoing channel and closes its
            # clone; ours closes here; then the send task drains and finishes.
            self.outgoing_send.close()
            await self._send_done.wait()
            if ws is not None:
                await ws.aclose(1000)
        try:
            if ws is not None and ws.closed is None:
                # Shielded: when the caller is cancelled (an outer deadline), a
                # Cancelled here would skip the cancel below, and the tasks
                # (the expiry task's sleep included) would outlive the close.
                with trio.CancelScope(shield=True):
                    await ws.abort()
            if self.close_reason is None and ws is not None and ws.closed is not None:
                self.close_reason = ws.closed
            self.events_recv.close()
        finally:
            # Whatever happened above, no task outlives closing.
            self._cancel_scope.cancel()
        with trio.CancelScope(shield=True):
            with trio.move_on_after(close_timeout):
                await self.closed.wait()
        await trio.lowlevel.checkpoint()


def _text(message: str | bytes) -> str:
    return message if isinstance(message, str) else message.decode("utf-8", "replace")
