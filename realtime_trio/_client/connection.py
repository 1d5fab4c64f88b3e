"""`RealtimeConnection`: the trio shell around the sans-IO protocol.

Task topology (all in one cancel scope, the connection's lifetime)::

    connect_realtime(nursery) ── nursery.start(conn._run)
      └ _run: private nursery
          ├ _receive_task   socket → wsproto frames → protocol.receive_message → events channel
          ├ _send_task      outgoing channel → ws.send_message
          ├ _audio_task     audio channel → pipeline (resample/encode, frame) → outgoing
          └ _expiry_task    logs a warning before the session's 60-minute cap

The tasks only move data; parsing, state and framing live in `_protocol`, the
audio modules and wsproto (driven by `_wsclient`, which the receive task
reads through directly: no reader task of its own). Tasks never let an ordinary exception escape: a failure of
the network or the server ends the connection with a recorded terminal error
(`ConnectionBroken`), which the next `receive` / `send` raises after every
event received before it was delivered.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, Protocol, final

import attrs
import trio

from .._audio.b64 import encode_audio
from .._audio.formats import PCM16_24K, AudioFormat, AudioFormatError
from .._audio.pipeline import InputAudioPipeline
from .._core import server_events as sev
from .._core.client_events import (
    ConversationItemCreate,
    InputAudioBufferAppend,
    InputAudioBufferClear,
    InputAudioBufferCommit,
    ResponseCancel,
    ResponseCreate,
    SessionUpdate,
)
from .._core.invalid import InvalidEvent, ReceivedEvent, answer_error, is_event
from .._core.item_models import ConversationItem
from .._core.protocol import RealtimeProtocol, SessionState
from .._core.record import Record
from .._core.response_models import Response, ResponseCreateParams
from .._core.sentinel import UNSET, UnsetType
from .._core.session_models import AnySessionConfig
from .audio_input import AudioBuffer, AudioControl, AudioSender
from .exceptions import (
    CallEnded,
    CloseReason,
    ConnectionBroken,
    ConnectionClosed,
    ConnectTimeout,
    ServerError,
)
from .transport import Handshake, StreamOpener, open_websocket
from .unwrap import collapse, reraise
from .wsclient import WebSocketClient, WebSocketClosed

logger = logging.getLogger("realtime_trio")

#: The ``response.metadata`` key that tags the responses `create_response` asks for.
REQUEST_METADATA_KEY: Final = "realtime_trio_request"
#: The API's limit on ``metadata`` pairs.
MAX_METADATA_KEYS: Final = 16

#: How long before ``expires_at`` the expiry warning is logged.
EXPIRY_WARNING_SECONDS: Final = 60.0


@attrs.frozen
class ConnectionStatistics:
    """A snapshot of a connection's buffers and counters (see `RealtimeConnection.statistics`).

    Attributes:
        events_buffered: Received events waiting for the consumer.
        max_buffered_events: The capacity of that buffer.
        peak_events_buffered: The most events ever waiting at once.
        messages_buffered: Outgoing messages waiting for the socket.
        audio_bytes_buffered: Input audio (caller's format) not yet encoded.
        audio_ms_buffered: The same, in milliseconds.
        peak_audio_bytes_buffered: The most input audio ever buffered.
        max_buffered_audio_ms: The audio budget.
        responses_in_flight: Responses created and not yet done.
        events_received: Server messages received (invalid ones included).
        events_sent: Client messages written to the socket (appends
            included; not those still buffered or refused with `trio.WouldBlock`).
        state: ``"connecting"``, ``"open"``, ``"closing"`` or ``"closed"``.
    """

    events_buffered: int
    max_buffered_events: int
    peak_events_buffered: int
    messages_buffered: int
    audio_bytes_buffered: int
    audio_ms_buffered: float
    peak_audio_bytes_buffered: int
    max_buffered_audio_ms: int
    responses_in_flight: int
    events_received: int
    events_sent: int
    state: str


@attrs.define(eq=False)
class _Failure:
    """A failure delivered in order through the events channel."""

    error: Exception


@attrs.define(eq=False)
class _Waiter:
    """A correlated request waiting for its answer (or its ``error``)."""

    event_id: str
    #: Whether an event (or an `InvalidEvent`, which then fails the request)
    #: is the answer.
    matches: Callable[[ReceivedEvent], bool]
    done: trio.Event = attrs.field(factory=trio.Event)
    result: ReceivedEvent | None = None
    error: BaseException | None = None


class MessageRecorder(Protocol):
    """Anything that records a connection's messages, such as `realtime_trio.testing.Recorder`.

    ``record`` is called from the connection's tasks with the text of every
    message, as sent or received, so it must not block for long.
    """

    def record(self, direction: Literal["client", "server"], event: str, /) -> None:
        """Record one message: ``direction`` is who sent it."""


@attrs.frozen(kw_only=True)
class ConnectionOptions:
    """The tuning knobs of a connection (all keyword arguments of `open_realtime`)."""

    max_buffered_events: int = 128
    max_buffered_messages: int = 64
    max_buffered_audio_ms: int = 2_000
    audio_frame_ms: int = 100
    input_audio_format: AudioFormat = PCM16_24K
    connect_timeout: float = 30.0
    close_timeout: float = 5.0
    max_message_size: int = 64 * 2**20
    receive_buffer_size: int = 64 * 2**10
    recorder: MessageRecorder | None = None
    strict: bool = False


@final
class RealtimeConnection(trio.abc.AsyncResource):
    """One WebSocket connection to a Realtime session.

    Get one from `open_realtime` (which owns the nursery) or `connect_realtime`
    (which uses yours); do not construct it directly.

    Receiving: ``async for event in conn`` or `receive`. Every server event is
    delivered, in order, including the answers the helpers wait for, and a
    message that is not a valid event as `InvalidEvent`. Sending:
    `send` (fire and forget), the audio methods, and the correlated helpers
    (`update_session`, `create_item`, `create_response`, `commit_audio`,
    `clear_audio`, `cancel_response`) that wait for the server's answer.
    """

    def __init__(
        self,
        handshake: Handshake,
        options: ConnectionOptions,
        *,
        connect_stream: StreamOpener | None,
        ssl_context: Any,
    ) -> None:
        self._handshake = handshake
        self._options = options
        self._connect_stream = connect_stream
        self._ssl_context = ssl_context
        self._protocol = RealtimeProtocol()
        self._ws: WebSocketClient | None = None
        self._cancel_scope = trio.CancelScope()
        self._closed = trio.Event()
        self._send_done = trio.Event()
        self._closing = False
        self._terminal: Exception | None = None
        self._close_reason: CloseReason | None = None
        self._preread: list[ReceivedEvent | _Failure] = []
        self._waiters: list[_Waiter] = []
        self._events_send, self._events_recv = trio.open_memory_channel[
            ReceivedEvent | _Failure
        ](options.max_buffered_events)
        # The receive task parks here when the events buffer is full, until
        # the consumer has taken it down to the low-water mark (-1: unbuffered).
        self._room = trio.lowlevel.ParkingLot()
        self._low_water = (
            options.max_buffered_events // 2 if options.max_buffered_events else -1
        )
        self._takes_until_room = 0
        self._delivery_scope: trio.CancelScope | None = None
        self._dropped_while_closing = 0
        self._outgoing_send, self._outgoing_recv = trio.open_memory_channel[str](
            options.max_buffered_messages
        )
        budget = max(
            1,
            int(
                options.input_audio_format.bytes_per_second
                * options.max_buffered_audio_ms
                / 1000
            ),
        )
        self._audio = AudioBuffer(budget)
        self._audio_sender = AudioSender(self, self._audio, self._audio.send_channel)
        self._pipeline: InputAudioPipeline | None = None
        self._pipeline_target: AudioFormat | None = None
        self._pipeline_session: object = None
        self.is_sideband = "call_id=" in handshake.resource

    def __repr__(self) -> str:
        return (
            f"<RealtimeConnection {self._handshake.url} {self._protocol.state.value}>"
        )

    # --- properties ---------------------------------------------------------

    @property
    def session(self) -> AnySessionConfig | None:
        """The session as the server last reported it (``session.created`` / ``session.updated``)."""
        return self._protocol.session

    @property
    def url(self) -> str:
        """The URL this connection was opened to (the API key is never part of it)."""
        return self._handshake.url

    @property
    def closed(self) -> bool:
        """True once the connection is fully closed."""
        return self._closed.is_set()

    @property
    def close_reason(self) -> CloseReason | None:
        """How the WebSocket closed (None while it is open)."""
        return self._close_reason

    def statistics(self) -> ConnectionStatistics:
        """Return a snapshot of the buffers and counters (never blocks)."""
        events = self._events_send.statistics()
        audio_fmt = self._options.input_audio_format
        return ConnectionStatistics(
            events_buffered=events.current_buffer_used,
            max_buffered_events=self._options.max_buffered_events,
            peak_events_buffered=events.peak_buffer_used,
            messages_buffered=self._outgoing_send.statistics().current_buffer_used,
            audio_bytes_buffered=self._audio.buffered,
            audio_ms_buffered=self._audio.buffered * 1000 / audio_fmt.bytes_per_second,
            peak_audio_bytes_buffered=self._audio.peak,
            max_buffered_audio_ms=self._options.max_buffered_audio_ms,
            responses_in_flight=len(self._protocol.responses_in_flight),
            events_received=self._protocol.events_received,
            events_sent=self._protocol.events_sent,
            state=self._protocol.state.value,
        )

    # --- state checks -------------------------------------------------------

    def _terminal_error(self) -> Exception:
        if self._terminal is not None:
            return self._terminal
        return ConnectionClosed(close_reason=self._close_reason)

    def _check_usable(self) -> None:
        if self._terminal is not None:
            raise self._terminal
        if self._closing:
            raise ConnectionClosed(close_reason=self._close_reason)

    # --- receiving ----------------------------------------------------------

    async def receive(self) -> ReceivedEvent:
        """Return the next server event.

        A message that is not a valid event (not JSON, or a field that does
        not fit its record) is returned as `InvalidEvent`, with the raw text
        and the error; the events after it keep coming. An event of a type
        this version does not know is an `UnknownEvent`.

        This is a checkpoint. Events received before the connection ended are
        all delivered first.

        Raises:
            trio.EndOfChannel: the server closed the connection normally.
            RemoteProtocolError: with ``strict=True`` only, in place of an
                `InvalidEvent` (its raw text is on the error); the connection
                goes on.
            ConnectionBroken: the network or the server ended the connection
                (`CallEnded` on a sideband whose call ended).
            ConnectionClosed: we closed the connection.
        """
        try:
            item = await self._events_recv.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError) as exc:
            raise self._receive_error(exc) from None
        return self._taken(item)

    def receive_nowait(self) -> ReceivedEvent:
        """Return the next server event if one is waiting, else raise `trio.WouldBlock`."""
        try:
            item = self._events_recv.receive_nowait()
        except (trio.EndOfChannel, trio.ClosedResourceError) as exc:
            raise self._receive_error(exc) from None
        return self._taken(item)

    def _taken(self, item: ReceivedEvent | _Failure) -> ReceivedEvent:
        """The consumer took ``item``: wake the receive task at low water, unwrap."""
        if self._room:
            self._takes_until_room -= 1
            if self._takes_until_room <= 0:
                self._room.unpark_all()
        if type(item) is _Failure:
            raise item.error
        return item  # type: ignore[return-value]

    def _receive_error(self, exc: Exception) -> Exception:
        """What receiving raises when the events channel has ended (an inline
        try/except, not a context manager: this is the streaming hot path)."""
        if isinstance(exc, trio.ClosedResourceError):
            return ConnectionClosed(close_reason=self._close_reason)
        return self._terminal if self._terminal is not None else exc

    def __aiter__(self) -> RealtimeConnection:
        return self

    async def __anext__(self) -> ReceivedEvent:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    # --- sending ------------------------------------------------------------

    def _encode(self, event: Record | Mapping[str, Any]) -> str:
        self._check_usable()
        return self._protocol.send(event)

    async def send(self, event: Record | Mapping[str, Any]) -> None:
        """Send a client event (a record, or a plain dict for forward compatibility).

        Fire and forget: the server's answer arrives as an event. Events of the
        ``input_audio_buffer.*`` family go through the audio task, so they stay
        in order with audio sent by `send_audio`.

        This is a checkpoint. Cancelling it is safe: either the event was
        queued or nothing happened. It blocks while the outgoing buffer is full
        (control events are never dropped).

        Raises:
            LocalProtocolError: the event cannot be encoded, or the connection is closing.
            ConnectionClosed / ConnectionBroken: the connection is over.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        text = self._queue_nowait(event)
        if text is None:
            await trio.lowlevel.cancel_shielded_checkpoint()
        else:
            await self._queue(text)

    def send_nowait(self, event: Record | Mapping[str, Any]) -> None:
        """Send a client event now, or raise `trio.WouldBlock` if the outgoing buffer is full."""
        if self._queue_nowait(event) is not None:
            raise trio.WouldBlock

    def _queue_nowait(self, event: Record | Mapping[str, Any]) -> str | None:
        """Encode and queue ``event``; return its text, unqueued, if the buffer is full."""
        text = self._encode(event)
        control = self._audio_control(event, text)
        if control is not None:
            self._put_audio_control(control)
            return None
        try:
            self._outgoing_send.send_nowait(text)
        except trio.WouldBlock:
            return text
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise self._terminal_error() from None
        return None

    async def _queue(self, text: str) -> None:
        """Queue ``text``, waiting for room (backpressure)."""
        try:
            await self._outgoing_send.send(text)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise self._terminal_error() from None

    @staticmethod
    def _audio_control(
        event: Record | Mapping[str, Any], text: str
    ) -> AudioControl | None:
        """The audio-task marker for an ``input_audio_buffer.*`` event (None for others)."""
        if isinstance(event, Mapping):
            kind = event.get("type")
        elif isinstance(
            event,
            InputAudioBufferAppend | InputAudioBufferCommit | InputAudioBufferClear,
        ):
            kind = type(event).TYPE
        else:
            return None
        if not (isinstance(kind, str) and kind.startswith("input_audio_buffer.")):
            return None
        return AudioControl(
            text,
            flush=kind == InputAudioBufferCommit.TYPE,
            reset=kind == InputAudioBufferClear.TYPE,
        )

    def _put_audio_control(self, control: AudioControl) -> None:
        try:
            self._audio.send_channel.send_nowait(control)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise self._terminal_error() from None

    async def send_audio(self, pcm: bytes) -> None:
        """Send input audio in the connection's input format (PCM16 mono 24 kHz by default).

        The audio task frames it (``audio_frame_ms``), converts it to the
        session's input format (resampling, G.711), base64-encodes it and sends
        ``input_audio_buffer.append`` events. Blocks while more than
        ``max_buffered_audio_ms`` of audio is waiting.

        This is a checkpoint. Cancelling it is safe: all of ``pcm`` or none of it was queued.
        """
        await self._audio_sender.send(pcm)

    def send_audio_nowait(self, pcm: bytes) -> None:
        """Queue input audio now, or raise `trio.WouldBlock` if the audio buffer is over budget."""
        self._audio_sender.send_nowait(pcm)

    def audio_sender(self) -> AudioSender:
        """A new `AudioSender` for one more audio producer; close it when done."""
        return self._audio_sender.clone()

    # --- correlated helpers --------------------------------------------------

    async def _request(
        self, event: Record, matches: Callable[[ReceivedEvent], bool]
    ) -> ReceivedEvent:
        event_id = getattr(event, "event_id", UNSET)
        if not isinstance(event_id, str):
            event_id = self._protocol.next_event_id()
            event = attrs.evolve(event, event_id=event_id)  # type: ignore[call-arg]
        await trio.lowlevel.checkpoint_if_cancelled()
        waiter = _Waiter(event_id, matches)
        self._waiters.append(waiter)
        try:
            # The wait for the answer is the checkpoint: queue without one.
            text = self._queue_nowait(event)
            if text is not None:
                await self._queue(text)
            await waiter.done.wait()
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        if waiter.error is not None:
            raise waiter.error
        assert waiter.result is not None
        return waiter.result

    async def update_session(
        self, config: AnySessionConfig | Mapping[str, Any]
    ) -> AnySessionConfig:
        """Send ``session.update`` and return the session from ``session.updated``.

        This is a checkpoint; it waits for the server's answer (use a cancel
        scope to bound the wait).

        Raises:
            ServerError: the server rejected the update (the ``error`` event is on it).
            RemoteProtocolError: the answer was not a valid event (its raw
                text is on the error).
        """
        record: AnySessionConfig = (
            self._protocol.codec.structure(dict(config), AnySessionConfig)  # type: ignore[arg-type]
            if isinstance(config, Mapping)
            else config
        )
        answer = await self._request(
            SessionUpdate(session=record), lambda e: is_event(e, sev.SessionUpdated)
        )
        assert isinstance(answer, sev.SessionUpdated)
        return answer.session

    async def create_item(
        self,
        item: ConversationItem,
        *,
        previous_item_id: str | UnsetType | None = UNSET,
    ) -> ConversationItem:
        """Add an item to the conversation and return it as the server added it.

        An item without an ``id`` gets one (so the answer can be matched exactly).

        Raises:
            ServerError: the server rejected the item.
            RemoteProtocolError: the answer was not a valid event.
        """
        if getattr(item, "id", UNSET) is UNSET and hasattr(item, "id"):
            item = attrs.evolve(item, id=f"item_{os.urandom(8).hex()}")  # type: ignore[arg-type]
        item_id = getattr(item, "id", None)

        def matches(event: ReceivedEvent) -> bool:
            if isinstance(event, InvalidEvent):
                return event.item_id == item_id and is_event(
                    event, sev.ConversationItemAdded, sev.ConversationItemCreated
                )
            return (
                isinstance(
                    event, sev.ConversationItemAdded | sev.ConversationItemCreated
                )
                and getattr(event.item, "id", None) == item_id
            )

        answer = await self._request(
            ConversationItemCreate(item=item, previous_item_id=previous_item_id),
            matches,
        )
        assert isinstance(
            answer, sev.ConversationItemAdded | sev.ConversationItemCreated
        )
        return answer.item

    async def create_response(
        self, response: ResponseCreateParams | None = None
    ) -> Response:
        """Ask for a response and return it from ``response.created`` (``status: "in_progress"``).

        The response's events then arrive on the event stream. To tell this
        response apart from others (one the server starts on its own after
        voice activity detection, or another task's), the request is tagged
        in ``response.metadata`` under ``realtime_trio_request``, which the
        server echoes; the key is visible in the response's ``metadata``. If
        ``metadata`` is ``None`` or already holds the maximum of 16 keys, the
        first ``response.created`` is taken instead.

        Raises:
            ServerError: the server rejected the request.
            RemoteProtocolError: the ``response.created`` was not a valid event.
        """
        event_id = self._protocol.next_event_id()
        params = response if response is not None else ResponseCreateParams()
        metadata = params.metadata
        tagged = metadata is UNSET or (
            isinstance(metadata, Mapping) and len(metadata) < MAX_METADATA_KEYS
        )
        if tagged:
            base = dict(metadata) if isinstance(metadata, Mapping) else {}
            params = attrs.evolve(
                params, metadata={**base, REQUEST_METADATA_KEY: event_id}
            )

        def matches(event: ReceivedEvent) -> bool:
            if isinstance(event, InvalidEvent):
                if event.type != sev.ResponseCreated.TYPE:
                    return False
                echoed = event.lookup("response", "metadata")
            elif isinstance(event, sev.ResponseCreated):
                echoed = event.response.metadata
            else:
                return False
            if not tagged:
                return True
            return (
                isinstance(echoed, Mapping)
                and echoed.get(REQUEST_METADATA_KEY) == event_id
            )

        answer = await self._request(
            ResponseCreate(event_id=event_id, response=params), matches
        )
        assert isinstance(answer, sev.ResponseCreated)
        return answer.response

    async def commit_audio(self) -> sev.InputAudioBufferCommitted:
        """Flush the partial audio frame, commit the input buffer and return ``input_audio_buffer.committed``."""
        answer = await self._request(
            InputAudioBufferCommit(),
            lambda e: is_event(e, sev.InputAudioBufferCommitted),
        )
        assert isinstance(answer, sev.InputAudioBufferCommitted)
        return answer

    async def clear_audio(self) -> None:
        """Drop the local partial frame, clear the server's input buffer and wait for ``cleared``."""
        await self._request(
            InputAudioBufferClear(),
            lambda e: is_event(e, sev.InputAudioBufferCleared),
        )

    async def cancel_response(self, response_id: str | UnsetType = UNSET) -> Response:
        """Cancel a response and return it from its ``response.done``.

        Without ``response_id`` it cancels the response in progress in the
        default conversation (as the server does) and waits for that one's
        ``response.done``, not an out-of-band response's.

        Raises:
            ServerError: nothing to cancel (harmless; the server says so with an ``error``).
            RemoteProtocolError: the ``response.done`` was not a valid event
                (the response is over all the same).
        """
        target = (
            response_id
            if isinstance(response_id, str)
            else self._protocol.default_response_id
        )

        def matches(event: ReceivedEvent) -> bool:
            if isinstance(event, InvalidEvent):
                if event.type != sev.ResponseDone.TYPE:
                    return False
                if target is not None:
                    return event.response_id == target
                return isinstance(event.lookup("response", "conversation_id"), str)
            if not isinstance(event, sev.ResponseDone):
                return False
            if target is not None:
                return event.response.id == target
            return isinstance(event.response.conversation_id, str)

        answer = await self._request(ResponseCancel(response_id=response_id), matches)
        assert isinstance(answer, sev.ResponseDone)
        return answer.response

    def _dispatch(self, event: ReceivedEvent) -> None:
        """Resolve the waiter an event answers (errors by ``event_id``, others in order)."""
        if isinstance(event, InvalidEvent):
            self._dispatch_invalid(event)
            return
        if isinstance(event, sev.ErrorEvent):
            waiter = self._waiter_for(event.error.event_id)
            if waiter is not None:
                waiter.error = ServerError(event)
                waiter.done.set()
            return
        for waiter in self._waiters:
            if not waiter.done.is_set() and waiter.matches(event):
                waiter.result = event
                waiter.done.set()
                return

    def _dispatch_invalid(self, event: InvalidEvent) -> None:
        """Fail the request a malformed message answers, as far as it can be read
        (an ``error`` by its ``error.event_id``, others as their matchers see them)."""
        if event.type == sev.ErrorEvent.TYPE:
            waiter = self._waiter_for(event.lookup("error", "event_id"))
        else:
            waiter = next(
                (w for w in self._waiters if not w.done.is_set() and w.matches(event)),
                None,
            )
        if waiter is not None:
            waiter.error = answer_error(event)
            waiter.done.set()

    def _waiter_for(self, event_id: object) -> _Waiter | None:
        for waiter in self._waiters:
            if waiter.event_id == event_id and not waiter.done.is_set():
                return waiter
        return None

    def _fail_waiters(self, error: BaseException) -> None:
        for waiter in self._waiters:
            if not waiter.done.is_set():
                waiter.error = error
                waiter.done.set()

    # --- the tasks ------------------------------------------------------------

    async def _run(
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
                            await self._open(nursery)
                        except BaseException as exc:
                            setup_error = exc
                            raise
                        nursery.start_soon(self._receive_task)
                        nursery.start_soon(self._send_task)
                        # Clone now: aclose() may close our end before the task runs.
                        nursery.start_soon(
                            self._audio_task, self._outgoing_send.clone()
                        )
                        nursery.start_soon(self._expiry_task)
                        started = True
                        task_status.started()
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

    async def _open(self, nursery: trio.Nursery) -> None:
        """The handshake and the wait for ``session.created`` (bounded by ``connect_timeout``)."""
        options = self._options
        with trio.move_on_after(options.connect_timeout) as scope:
            self._ws = ws = await open_websocket(
                self._handshake,
                connect_stream=self._connect_stream,
                ssl_context=self._ssl_context,
                max_message_size=options.max_message_size,
                receive_buffer_size=options.receive_buffer_size,
            )
            while self._protocol.state is SessionState.CONNECTING:
                try:
                    message = await ws.get_message()
                except WebSocketClosed as exc:
                    reason = exc.reason
                    raise ConnectionBroken(
                        f"the server closed the connection before session.created ({_reason_text(reason)})",
                        close_reason=CloseReason(
                            getattr(reason, "code", None),
                            getattr(reason, "reason", None),
                        ),
                    ) from exc
                if options.recorder is not None:
                    options.recorder.record("server", _text(message))
                event = self._protocol.receive_message(message)
                if type(event) is InvalidEvent:
                    self._preread.append(self._invalid_item(event))
                else:
                    self._preread.append(event)
        if scope.cancelled_caught:
            if self._ws is not None:
                await self._ws.abort()
            raise ConnectTimeout(
                f"no session.created from {self.url} within {options.connect_timeout} s"
            )
        logger.debug("%r: session created", self)

    async def _receive_task(self) -> None:
        ws = self._ws
        assert ws is not None
        protocol = self._protocol
        recorder = self._options.recorder
        delta_type = sev.ResponseOutputAudioDelta
        invalid_type = InvalidEvent
        with self._events_send as events:
            for item in self._preread:
                await self._deliver(events, item)
            self._preread.clear()
            while True:
                try:
                    message = await ws.get_message()
                except WebSocketClosed as exc:
                    await self._on_closed(exc.reason, events)
                    return
                if recorder is not None:
                    recorder.record("server", _text(message))
                event = protocol.receive_message(message)
                if type(event) is not delta_type:
                    if type(event) is invalid_type:
                        if self._waiters:
                            self._dispatch(event)
                        await self._deliver(events, self._invalid_item(event))
                        continue
                    if self._waiters:
                        self._dispatch(event)
                # ws.get_message() was a checkpoint already: hand the event
                # over without another trip through the scheduler when there
                # is room, and wait (backpressure) only when there is not.
                try:
                    events.send_nowait(event)
                except (trio.WouldBlock, trio.BrokenResourceError):
                    await self._deliver(events, event)

    def _invalid_item(self, event: InvalidEvent) -> InvalidEvent | _Failure:
        """What the consumer gets for a malformed message: the record, or
        (``strict=True``) its error to raise."""
        logger.warning("%r: malformed server message: %s", self, event.error)
        return _Failure(event.error) if self._options.strict else event

    async def _deliver(
        self,
        events: trio.MemorySendChannel[ReceivedEvent | _Failure],
        item: ReceivedEvent | _Failure,
    ) -> None:
        """Queue ``item`` for the consumer, waiting for room when the buffer is full.

        A full buffer is refilled from low water (half the buffer): waiting
        for one free slot would wake this task once per event taken (and put
        it back to sleep at once); waiting for low water wakes it once per
        half buffer. Only this task sends on the channel, so the room found
        on waking is still there.

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
                if self._low_water < 0:
                    await events.send(item)  # unbuffered: a direct hand-over
                else:
                    while True:
                        # The buffer is full: low water is this many takes away.
                        self._takes_until_room = (
                            self._options.max_buffered_events - self._low_water
                        )
                        await self._room.park()
                        try:
                            events.send_nowait(item)
                        except trio.WouldBlock:
                            continue
                        break
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # aclose() closed the consumer's end: nobody will read it
        self._delivery_scope = None
        if scope.cancelled_caught:
            self._dropped_while_closing += 1

    async def _on_closed(
        self, reason: Any, events: trio.MemorySendChannel[ReceivedEvent | _Failure]
    ) -> None:
        code = getattr(reason, "code", None)
        text = getattr(reason, "reason", None)
        self._close_reason = CloseReason(code, text)
        self._protocol.connection_closed()
        if self._closing or code == 1000:
            if self._closing:
                self._fail_waiters(ConnectionClosed(close_reason=self._close_reason))
            else:
                self._fail_waiters(
                    ConnectionBroken(
                        "the server closed the connection",
                        close_reason=self._close_reason,
                    )
                )
            logger.debug("%r: closed (%s)", self, self._close_reason)
            return
        # On a sideband, a close frame from the server means the call ended; a
        # socket lost without one (1006) is a network failure like any other.
        call_over = self.is_sideband and code is not None and code != 1006
        cls = CallEnded if call_over else ConnectionBroken
        error = cls(
            f"the connection ended: {self._close_reason}",
            close_reason=self._close_reason,
        )
        self._terminal = error
        self._fail_waiters(error)
        logger.info(
            "%r: connection ended by the server or network: %s",
            self,
            self._close_reason,
        )
        await self._deliver(events, _Failure(error))

    async def _send_task(self) -> None:
        ws = self._ws
        assert ws is not None
        recorder = self._options.recorder
        protocol = self._protocol
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
                        if not self._closing and self._terminal is None:
                            reason = exc.reason
                            self._close_reason = CloseReason(
                                getattr(reason, "code", None),
                                getattr(reason, "reason", None),
                            )
                            self._terminal = ConnectionBroken(
                                f"the connection ended while sending: {self._close_reason}",
                                close_reason=self._close_reason,
                            )
                            self._fail_waiters(self._terminal)
                        return
        except trio.EndOfChannel:
            pass  # closing: everything queued was sent
        finally:
            self._send_done.set()

    def _pipeline_for_session(self) -> InputAudioPipeline:
        session = self._protocol.session
        if self._pipeline is not None and session is self._pipeline_session:
            return self._pipeline  # the hot path: the session did not change
        self._pipeline_session = session
        target = PCM16_24K
        audio = getattr(session, "audio", UNSET)
        audio_input = getattr(audio, "input", UNSET)
        wire_format = getattr(audio_input, "format", UNSET)
        if isinstance(wire_format, Record):
            try:
                target = AudioFormat.from_wire(self._protocol.codec.dump(wire_format))
            except AudioFormatError:
                logger.warning(
                    "%r: unsupported session input format %r; sending PCM16 24 kHz",
                    self,
                    wire_format,
                )
        if self._pipeline is None or target != self._pipeline_target:
            self._pipeline = InputAudioPipeline(
                self._options.input_audio_format,
                target,
                frame_ms=self._options.audio_frame_ms,
            )
            self._pipeline_target = target
        return self._pipeline

    async def _audio_task(self, outgoing: trio.MemorySendChannel[str]) -> None:
        protocol = self._protocol
        audio = self._audio

        async def put(text: str) -> None:
            # Receiving the item was a checkpoint: skip the scheduler when
            # there is room, wait (backpressure) only when there is not.
            try:
                outgoing.send_nowait(text)
            except trio.WouldBlock:
                await outgoing.send(text)

        async def put_audio(data: bytes) -> None:
            await put(protocol.append_frame(encode_audio(data), len(data)))

        with audio.receive_channel as items, outgoing:
            try:
                async for item in items:
                    if type(item) is bytes:
                        audio.consumed(len(item))
                        for frame in self._pipeline_for_session().feed(item):
                            await put_audio(frame)
                        continue
                    assert isinstance(item, AudioControl)
                    if item.stop:
                        break
                    pipeline = self._pipeline_for_session()
                    if item.flush:
                        rest = self._flush_pipeline(pipeline)
                        if rest:
                            await put_audio(rest)
                    elif item.reset:
                        self._pipeline = None
                        self._pipeline_session = None
                    if item.text is not None:
                        await put(item.text)
                # Stopped (closing) or every sender closed: send the last partial frame.
                if self._pipeline is not None and self._terminal is None:
                    rest = self._flush_pipeline(self._pipeline)
                    if rest:
                        await put_audio(rest)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return  # the send task is gone: the connection is ending

    def _flush_pipeline(self, pipeline: InputAudioPipeline) -> bytes:
        try:
            return pipeline.flush()
        except AudioFormatError:
            # The caller's PCM16 ended on half a sample. Complete it rather than
            # drop it, and say so: the audio will be one sample off at worst.
            logger.warning(
                "%r: input audio ended with half a sample; padded with a zero byte",
                self,
            )
            pipeline.feed(b"\x00")
            return pipeline.flush()

    async def _expiry_task(self) -> None:
        session = self._protocol.session
        expires_at = getattr(session, "expires_at", None)
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

    def _finish(self) -> None:
        if self._dropped_while_closing:
            logger.debug(
                "%r: discarded %d events that arrived while closing with a full buffer",
                self,
                self._dropped_while_closing,
            )
        self._protocol.connection_closed()
        self._closing = True
        self._fail_waiters(self._terminal_error())
        self._audio.wake_all()
        self._send_done.set()
        self._closed.set()

    async def aclose(self) -> None:
        """Close the connection: flush queued messages, send a close frame, end the tasks.

        Idempotent. Bounded by ``close_timeout``; if cancelled, it still
        closes, forcefully. This is a checkpoint.
        """
        if self._closing:
            with trio.move_on_after(self._options.close_timeout, shield=True):
                await self._closed.wait()
            await trio.lowlevel.checkpoint()
            return
        self._closing = True
        self._protocol.start_closing()
        if self._delivery_scope is not None:
            # The receive task waits for room nobody will make: let it read
            # on, so that the server's close frame is seen.
            self._delivery_scope.cancel()
        # Senders refuse new audio from now on; the audio task sends what is
        # queued up to this marker, then the rest of the last frame, and stops.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            self._audio.send_channel.send_nowait(AudioControl(None, stop=True))
        self._audio_sender.close()
        self._audio.wake_all()
        ws = self._ws
        with trio.move_on_after(self._options.close_timeout, shield=True):
            # The audio task drains into the outgoing channel and closes its
            # clone; ours closes here; then the send task drains and finishes.
            self._outgoing_send.close()
            await self._send_done.wait()
            if ws is not None:
                await ws.aclose(1000)
        if ws is not None and ws.closed is None:
            await ws.abort()
        if self._close_reason is None and ws is not None and ws.closed is not None:
            self._close_reason = CloseReason(ws.closed.code, ws.closed.reason)
        self._events_recv.close()
        self._cancel_scope.cancel()
        with trio.CancelScope(shield=True):
            with trio.move_on_after(self._options.close_timeout):
                await self._closed.wait()
        await trio.lowlevel.checkpoint()


def _text(message: str | bytes) -> str:
    return message if isinstance(message, str) else message.decode("utf-8", "replace")


def _reason_text(reason: Any) -> str:
    if reason is None:
        return "no close frame"
    code = getattr(reason, "code", None)
    text = getattr(reason, "reason", None)
    return f"code {code}" + (f", {text}" if text else "")


__all__ = [
    "ConnectionOptions",
    "ConnectionStatistics",
    "MessageRecorder",
    "RealtimeConnection",
]
