"""`RealtimeConnection`: the user's handle on a connection.

The methods here run in the user's tasks. They put what is sent in the
engine's buffers and take what was received out of them; the engine's tasks
(`engine.py`) move the data between the buffers and the socket. The
correlated helpers build their request with `realtime_trio._core.requests`
and wait, in the engine, for the event that answers it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, final

import attrs
import trio

from .._audio.formats import AudioFormat
from .._core import requests
from .._core import server_events as sev
from .._core.closing import CloseReason
from .._core.invalid import ReceivedEvent
from .._core.item_models import ConversationItem
from .._core.record import Record
from .._core.response_models import Response, ResponseCreateParams
from .._core.sentinel import UNSET, UnsetType
from .._core.session_models import AnySessionConfig
from .audio_input import AudioSender
from .engine import ConnectionEngine
from .events_buffer import Failure, Item
from .exceptions import ConnectionClosed

T = TypeVar("T")
#: What these methods change must not be left half done by a `KeyboardInterrupt`
#: raised in the middle of them: trio delivers it at their next checkpoint.
_protected = trio.lowlevel.enable_ki_protection


@attrs.frozen
class ConnectionStatistics:
    """A snapshot of a connection's buffers and counters (see `RealtimeConnection.statistics`).

    Attributes:
        events_buffered: Received events waiting for the consumer.
        max_buffered_events: The capacity of that buffer.
        peak_events_buffered: The most events ever waiting at once.
        event_bytes_buffered: The bytes of the events waiting (as received).
        max_buffered_event_bytes: The byte bound of that buffer.
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
        connect_seconds: From the start of the (last) connection attempt
            to ``session.created``: TCP, TLS, the WebSocket handshake and
            the server's first event (trio clock; None if unknown).
        session_update_seconds: The round trip of the last `update_session`
            (``session.update`` sent to ``session.updated`` received), None before one.
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
    connect_seconds: float | None = None
    session_update_seconds: float | None = None
    event_bytes_buffered: int = 0
    max_buffered_event_bytes: int = 0


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

    # Public: weak references to it keep working.
    __slots__ = (
        "__weakref__",
        "_audio_sender",
        "_connect_seconds",
        "_engine",
        "_events",
        "_low_water",
        "_protocol",
        "_room",
        "_session_update_seconds",
        "is_sideband",
    )

    def __init__(
        self, engine: ConnectionEngine, *, connect_seconds: float | None = None
    ) -> None:
        self._engine = engine
        self._connect_seconds = connect_seconds
        self._session_update_seconds: float | None = None
        self._protocol = engine.protocol
        # The hot paths of receiving and of sending audio read these directly.
        self._events = engine.events_recv
        self._room = engine.room
        self._low_water = engine.low_water
        self._audio_sender = engine.audio_sender
        #: Whether this connection is attached to a call (``call_id=``).
        self.is_sideband = engine.is_sideband

    def __repr__(self) -> str:
        return repr(self._engine)

    # --- properties ---------------------------------------------------------

    @property
    def session(self) -> AnySessionConfig | None:
        """The session as the server last reported it (``session.created`` / ``session.updated``)."""
        return self._protocol.session

    @property
    def url(self) -> str:
        """The URL this connection was opened to (the API key is never part of it)."""
        return self._engine.settings.handshake.url

    @property
    def input_audio_format(self) -> AudioFormat:
        """The format of the audio given to `send_audio` (``input_audio_format=``)."""
        return self._engine.settings.input_audio_format

    @property
    def closed(self) -> bool:
        """True once the connection is fully closed."""
        return self._engine.closed.is_set()

    @property
    def close_reason(self) -> CloseReason | None:
        """How the WebSocket closed (None while it is open)."""
        return self._engine.close_reason

    def statistics(self) -> ConnectionStatistics:
        """Return a snapshot of the buffers and counters (never blocks)."""
        engine = self._engine
        settings = engine.settings
        events = engine.events_send.statistics()
        budget = engine.buffer.budget
        budget.settle(events.current_buffer_used)
        audio = engine.audio
        return ConnectionStatistics(
            events_buffered=events.current_buffer_used,
            max_buffered_events=settings.max_buffered_events,
            peak_events_buffered=events.peak_buffer_used,
            messages_buffered=engine.messages_buffered(),
            audio_bytes_buffered=audio.buffered,
            audio_ms_buffered=audio.buffered
            * 1000
            / settings.input_audio_format.bytes_per_second,
            peak_audio_bytes_buffered=audio.peak,
            max_buffered_audio_ms=settings.max_buffered_audio_ms,
            responses_in_flight=len(self._protocol.responses_in_flight),
            events_received=self._protocol.events_received,
            events_sent=self._protocol.events_sent,
            state=self._protocol.state.value,
            connect_seconds=self._connect_seconds,
            session_update_seconds=self._session_update_seconds,
            event_bytes_buffered=budget.total,
            max_buffered_event_bytes=budget.limit,
        )

    # --- receiving ----------------------------------------------------------

    @_protected
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
        # An inline try/except, not a context manager: the streaming hot path.
        try:
            item = await self._events.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError) as exc:
            raise self._receive_error(exc) from None
        return self._taken(item)

    @_protected
    def receive_nowait(self) -> ReceivedEvent:
        """Return the next server event if one is waiting, else raise `trio.WouldBlock`."""
        try:
            item = self._events.receive_nowait()
        except (trio.EndOfChannel, trio.ClosedResourceError) as exc:
            raise self._receive_error(exc) from None
        return self._taken(item)

    def _receive_error(self, exc: Exception) -> Exception:
        """What receiving raises once the events buffer has ended (``exc``)."""
        if isinstance(exc, trio.ClosedResourceError):
            return ConnectionClosed(close_reason=self._engine.close_reason)
        terminal = self._engine.terminal
        return terminal if terminal is not None else exc

    def _taken(self, item: Item) -> ReceivedEvent:
        """The consumer took ``item``: wake a waiting receive task at low water, unwrap."""
        low_water = self._low_water
        if low_water is not None and low_water.waiting and low_water.taken():
            self._room.unpark_all()
        if type(item) is Failure:
            raise item.error
        return item  # type: ignore[return-value]

    def __aiter__(self) -> RealtimeConnection:
        return self

    @_protected
    async def __anext__(self) -> ReceivedEvent:
        # `receive`, inlined: ``async for event in conn`` is the streaming hot path.
        try:
            item = await self._events.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError) as exc:
            error = self._receive_error(exc)
            if isinstance(error, trio.EndOfChannel):
                raise StopAsyncIteration from None
            raise error from None
        return self._taken(item)

    # --- sending ------------------------------------------------------------

    @_protected
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
        text = self._engine.queue_nowait(event)
        if text is None:
            await trio.lowlevel.cancel_shielded_checkpoint()
        else:
            await self._engine.queue(text)

    @_protected
    def send_nowait(self, event: Record | Mapping[str, Any]) -> None:
        """Send a client event now, or raise `trio.WouldBlock` if the outgoing buffer is full."""
        if self._engine.queue_nowait(event) is not None:
            raise trio.WouldBlock

    @_protected
    async def send_audio(self, pcm: bytes) -> None:
        """Send input audio in the connection's input format (PCM16 mono 24 kHz by default).

        The audio task frames it (``audio_frame_ms``), converts it to the
        session's input format (resampling, G.711), base64-encodes it and sends
        ``input_audio_buffer.append`` events. Blocks while more than
        ``max_buffered_audio_ms`` of audio is waiting.

        This is a checkpoint. Cancelling it is safe: all of ``pcm`` or none of it was queued.
        """
        await self._audio_sender.send(pcm)

    @_protected
    def send_audio_nowait(self, pcm: bytes) -> None:
        """Queue input audio now, or raise `trio.WouldBlock` if the audio buffer is over budget."""
        self._audio_sender.send_nowait(pcm)

    def audio_sender(self) -> AudioSender:
        """A new `AudioSender` for one more audio producer; close it when done."""
        return self._audio_sender.clone()

    # --- correlated helpers --------------------------------------------------

    @_protected
    async def _request(self, request: requests.Request[T]) -> T:
        """Send ``request`` and return its answer (the wait is the checkpoint).

        Raises what settled it instead: `ServerError`, `RemoteProtocolError`,
        or the error of the connection's end.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        engine = self._engine
        answered = trio.Event()
        pending = engine.requests.add(request.event_id, request.expects, answered.set)
        try:
            text = engine.queue_nowait(request.event)
            if text is not None:
                await engine.queue(text)
            await answered.wait()
        finally:
            engine.requests.discard(pending)
        return pending.result()

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
        request = requests.update_session(
            self._protocol.next_event_id(), config, self._protocol.codec
        )
        started = trio.current_time()
        session = (await self._request(request)).session
        self._session_update_seconds = trio.current_time() - started
        return session

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
        request = requests.create_item(
            self._protocol.next_event_id(), item, previous_item_id
        )
        return (await self._request(request)).item

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
        request = requests.create_response(self._protocol.next_event_id(), response)
        return (await self._request(request)).response

    async def commit_audio(self) -> sev.InputAudioBufferCommitted:
        """Flush the partial audio frame, commit the input buffer and return ``input_audio_buffer.committed``."""
        request = requests.commit_audio(self._protocol.next_event_id())
        return await self._request(request)

    async def clear_audio(self) -> None:
        """Drop the local partial frame, clear the server's input buffer and wait for ``cleared``."""
        request = requests.clear_audio(self._protocol.next_event_id())
        await self._request(request)

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
        request = requests.cancel_response(
            self._protocol.next_event_id(),
            response_id,
            default_response_id=self._protocol.default_response_id,
        )
        return (await self._request(request)).response

    # --- closing --------------------------------------------------------------

    @_protected
    async def aclose(self) -> None:
        """Close the connection: flush queued messages, send a close frame, end the tasks.

        Idempotent. Bounded by ``close_timeout``; if cancelled, it still
        closes, forcefully. This is a checkpoint.
        """
        await self._engine.aclose()


__all__ = ["ConnectionStatistics", "RealtimeConnection"]
