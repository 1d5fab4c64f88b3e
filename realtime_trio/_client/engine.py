"""The engine of a connection: the tasks that move its data.

Theory of operation
-------------------
A connection is a WebSocket, a sans-IO `RealtimeProtocol` that parses and
tracks what crosses it, bounded buffers between the socket and the user's
tasks, and four tasks that move data between them. The tasks decide
nothing: the protocol parses and tracks the session (`_core.protocol`),
`PendingRequests` matches answers to requests (`_core.requests`),
`classify_close` says what the end of the socket means (`_core.closing`),
`EventsBuffer` bounds and refills the events buffer, `KeepAlive` pings, and
`AudioEncoder` frames and encodes the audio (`audio_encoding`).
`RealtimeConnection` is the user's handle on an engine.

Tasks (in a private nursery, whose cancel scope is the connection's
lifetime)::

    open.py: nursery.start(engine.run)
      └ run, the receive task (in its nursery's body: a task fewer per connection)
          │               socket → protocol → events buffer → RealtimeConnection.receive
          │               (an answer also settles its pending request)
          ├ send task     outgoing buffer → socket (from the first message queued)
          ├ audio task    audio buffer → AudioEncoder → outgoing buffer, or the
          │               socket when the send task is idle (from the first audio)
          ├ keepalive     a ping every ping_interval; no answer: fail (`KeepAlive`);
          │               also the warning before the session's 60-minute cap
          └ expiry task   that warning when keepalive is off (ping_interval=None)

The receive loop is in ``receiving.py``, the send and audio tasks in
``writing.py``.

The outgoing and audio buffers are made with their tasks, on first use: an
idle connection never pays for them (issue 16: the memory per connection).

The buffers are bounded, so backpressure reaches whoever produces: events
(``max_buffered_events``, ``max_buffered_event_bytes``: `EventsBuffer`),
outgoing (``max_buffered_messages``; when full, `send` waits) and audio
(``max_buffered_audio_ms``, counted in bytes by `AudioBuffer`; the
``input_audio_buffer.*`` events go through it too, in order with the audio).
The receive task reads the socket through `WebSocketClient` itself, with no
reader task; the user's tasks encode and queue what they send themselves
(`queue_nowait`, `queue`).

Opening (`run`, bounded by ``connect_timeout``): the WebSocket handshake,
then reading until ``session.created``, holding the events before it
(nobody can read them yet; more than the events buffer holds fails the
connection, 1008); then the tasks start, the receive task delivering the
held events first, and `run` reports started.

The tasks are protected from `KeyboardInterrupt` (trio delivers it to the
main task at its next checkpoint instead): raised inside a task, it would
end the connection without its close frame.

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

import trio

from .._core.closing import CloseReason, Phase, classify_close
from .._core.invalid import InvalidEvent, ReceivedEvent
from .._core.logs import get_logger
from .._core.protocol import RealtimeProtocol, SessionState
from .._core.record import Record
from .._core.requests import PendingRequests
from .._trio.unwrap import collapse, reraise
from . import receiving, writing
from .audio_encoding import AudioControl, AudioEncoder, audio_control
from .audio_input import AudioBuffer, AudioSender
from .events_buffer import EventsBuffer, Failure, Item
from .exceptions import (
    ConnectionClosed,
    ConnectTimeout,
    ServerError,
    connection_error,
)
from .keepalive import KeepAlive
from .options import ConnectionSettings
from .transport import open_websocket
from .wsclient import WebSocketClient, WebSocketClosed

logger = get_logger()

#: How long before ``expires_at`` the expiry warning is logged.
EXPIRY_WARNING_SECONDS: Final = 60.0
#: For the tasks (see "protected" in the module docstring).
_protected = trio.lowlevel.enable_ki_protection


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
        #: Set once the tasks have all ended.
        self.closed = trio.Event()
        #: We are closing (or closed): nothing more may be sent.
        self._closing = False
        #: The error of a failed connection, raised after the last event.
        self.terminal: Exception | None = None
        self.close_reason: CloseReason | None = None
        # Set when the send task ends (created with it).
        self._send_done: trio.Event | None = None
        self._nursery: trio.Nursery | None = None
        self._send_started = False
        self._audio_started = False
        self._expiry_warned = False
        self.keepalive = KeepAlive(
            settings.ping_interval,
            settings.ping_timeout,
            close_timeout=settings.close_timeout,
        )
        self.buffer = buffer = EventsBuffer(
            settings.max_buffered_events,
            settings.max_buffered_event_bytes,
            self.keepalive,
        )
        # The consumer's hot path (`RealtimeConnection`) reads these directly.
        self.events_send = buffer.send_channel
        self.events_recv = buffer.receive_channel
        self.room = buffer.room
        self.low_water = buffer.low_water
        # The outgoing buffer, opened with the send task (`_start_send_task`):
        # an idle connection never needs it.
        self._outgoing: (
            tuple[trio.MemorySendChannel[str], trio.MemoryReceiveChannel[str]] | None
        ) = None
        fmt = settings.input_audio_format
        self.audio = audio = AudioBuffer(
            int(fmt.bytes_per_second * settings.max_buffered_audio_ms / 1000),
            on_first=self._start_audio_task,
        )
        self.audio_sender = AudioSender(
            audio,
            None,  # the buffer's own channel, opened by the first audio
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
                self._start_audio_task()
            elif not writing.write_now(self, text):
                self._start_send_task()
                self.outgoing_send.send_nowait(text)
        except trio.WouldBlock:
            return text
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise self.ended_error() from None
        return None

    async def queue(self, text: str) -> None:
        """Queue ``text``, waiting for room (backpressure)."""
        self._start_send_task()
        try:
            await self.outgoing_send.send(text)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise self.ended_error() from None

    def _outgoing_channel(
        self,
    ) -> tuple[trio.MemorySendChannel[str], trio.MemoryReceiveChannel[str]]:
        """The outgoing buffer (opened on first use)."""
        if self._outgoing is None:
            self._outgoing = trio.open_memory_channel[str](
                self.settings.max_buffered_messages
            )
        return self._outgoing

    @property
    def outgoing_send(self) -> trio.MemorySendChannel[str]:
        """The outgoing buffer's sending end (opened on first use)."""
        return self._outgoing_channel()[0]

    def messages_buffered(self) -> int:
        """How many messages wait in the outgoing buffer."""
        if self._outgoing is None:
            return 0
        return self._outgoing[0].statistics().current_buffer_used

    # --- the tasks ------------------------------------------------------------

    def _start_send_task(self) -> None:
        """Start the send task if it has not started (it has work now), and
        open the outgoing buffer it reads."""
        if not self._send_started and self._nursery is not None:
            self._send_started = True
            self._send_done = trio.Event()
            self._outgoing_channel()
            self._nursery.start_soon(self._send_task)

    def _start_audio_task(self) -> None:
        """Start the audio task (and the send task) on the first audio or
        ``input_audio_buffer.*`` event queued."""
        if not self._audio_started and self._nursery is not None:
            self._audio_started = True
            self._start_send_task()
            # Clone now: aclose() may close our end before the task runs.
            self._nursery.start_soon(self._audio_task, self.outgoing_send.clone())

    @_protected
    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Connect, wait for ``session.created``, run the tasks until the connection ends."""
        started = False
        setup_error: BaseException | None = None
        try:
            try:
                async with trio.open_nursery() as nursery:
                    try:
                        held = await self._open()
                    except BaseException as exc:
                        setup_error = exc
                        raise
                    # The send and audio tasks start when they have work
                    # (`_start_send_task`, `_start_audio_task`): an idle
                    # or text-only connection costs less memory.
                    self._nursery = nursery
                    if self.keepalive.interval is not None:
                        # It warns of the session's expiry too.
                        nursery.start_soon(self._keepalive_task)
                    else:
                        nursery.start_soon(self._expiry_task)
                    started = True
                    task_status.started()
                    # It refers to start()'s nursery: let that go now.
                    del task_status
                    # This task is the receive task: one task less per
                    # connection than a child of its own.
                    await receiving.receive_loop(self, held)
                    # The socket is closed: nothing more can go out. End the
                    # send and audio tasks; senders waiting for room wake
                    # and raise the connection's error.
                    self.audio.wake_all()
                    nursery.cancel_scope.cancel()
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

    async def _open(self) -> list[tuple[Item, int]]:
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
            # few, usually none): hold them for the receive task, within the
            # bounds of the events buffer.
            held: list[tuple[Item, int]] = []
            held_bytes = 0
            while self.protocol.state is SessionState.CONNECTING:
                try:
                    message = await ws.get_message()
                except WebSocketClosed as exc:
                    raise self._closed(exc.reason, "connecting") from exc
                held.append((self._settled(self._parse(message)), len(message)))
                held_bytes += len(message)
                too_much = self.buffer.too_much(len(held), held_bytes)
                if too_much and self.protocol.state is SessionState.CONNECTING:
                    reason = f"more than {too_much} before session.created"
                    await ws.fail(1008, reason, close_timeout=settings.close_timeout)
                    raise self._closed(ws.closed or CloseReason(1008), "connecting")
        if scope.cancelled_caught:
            if self._ws is not None:
                await self._ws.abort()
            raise ConnectTimeout(
                f"no session.created from {settings.handshake.url} "
                f"within {settings.connect_timeout} s"
            )
        logger.debug("%r: session created", self)
        return held

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

    async def _on_closed(self, reason: CloseReason) -> None:
        self.protocol.connection_closed()
        error = self._closed(reason, "receiving")
        if self.terminal is not error:
            logger.debug("%r: closed (%s)", self, reason)
            return
        logger.info("%r: connection ended by the server or network: %s", self, reason)
        await self.buffer.deliver(Failure(error), 0)

    @_protected
    async def _send_task(self) -> None:
        await writing.send_task(self)

    @_protected
    async def _audio_task(self, outgoing: trio.MemorySendChannel[str]) -> None:
        await writing.audio_task(self, outgoing)

    @_protected
    async def _keepalive_task(self) -> None:
        assert self._ws is not None
        await self.keepalive.run(
            self._ws, closing=lambda: self._closing, tick=self._check_expiry
        )

    def _check_expiry(self) -> None:
        """Warn once when the session expires within `EXPIRY_WARNING_SECONDS`
        (called after every keepalive interval, so up to one interval late)."""
        if self._expiry_warned:
            return
        expires_at = getattr(self.protocol.session, "expires_at", None)
        if not isinstance(expires_at, int):
            return
        left = expires_at - time.time()
        if left <= EXPIRY_WARNING_SECONDS:
            self._expiry_warned = True
            logger.warning(
                "%r: the session expires in %.0f s (the Realtime API caps sessions at 60 minutes)",
                self,
                max(0.0, left),
            )

    @_protected
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
        nursery = self._nursery
        if nursery is not None and trio.current_effective_deadline() != -math.inf:
            nursery.cancel_scope.shield = True

    def _finish(self) -> None:
        if self.buffer.dropped:
            logger.debug(
                "%r: discarded %d events that arrived while closing with a full buffer",
                self,
                self.buffer.dropped,
            )
        self.protocol.connection_closed()
        self._closing = True
        self.requests.fail_all(self.ended_error())
        self.audio.wake_all()
        if self._send_done is not None:
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
        self.buffer.stop_waiting()
        # Senders refuse new audio from now on; the audio task sends what is
        # queued up to this marker, then the rest of the last frame, and stops.
        if self.audio.opened:
            with contextlib.suppress(
                trio.BrokenResourceError, trio.ClosedResourceError
            ):
                self.audio.send_channel.send_nowait(AudioControl(None, stop=True))
        self.audio_sender.close()
        self.audio.wake_all()
        ws = self._ws
        with trio.move_on_after(close_timeout, shield=True):
            # The audio task drains into the outgoing channel and closes its
            # clone; ours closes here; then the send task drains and finishes.
            if self._outgoing is not None:
                self._outgoing[0].close()
            if self._send_done is not None:  # else nothing was ever sent
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
            if self._nursery is not None:
                self._nursery.cancel_scope.cancel()
        with trio.CancelScope(shield=True):
            with trio.move_on_after(close_timeout):
                await self.closed.wait()
        await trio.lowlevel.checkpoint()


def _text(message: str | bytes) -> str:
    return message if isinstance(message, str) else message.decode("utf-8", "replace")
