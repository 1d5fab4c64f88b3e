"""The engine of a conversation: its state, its requests, the response gate, interruptions.

Theory of operation
-------------------
`open_conversation` runs one *pump* task (``pump.py``) that is the only
reader of the connection. For each event it applies the event to the
`ConversationState`, settles the layer's own pending requests, reacts (tools,
barge-in, follow-up responses), and hands the event on to the user's
``async for``. Everything that waits (the helpers of `RealtimeConversation`,
the tool tasks) waits on this engine: on its pending requests, or on
`ConversationEngine.changed`, a parking lot the pump wakes after every event
that is not an audio delta. The pump itself never waits for an answer (only
its own task could deliver it); it starts a task when something must wait.

The layer sends its own requests with event ids of its own (``rt_convo_N``),
so it knows exactly which ``error`` events answer them. An error the layer
handles is not handed on: the retry of `create_response` on
``conversation_already_has_active_response``, and any error about what it
sends by itself (a cancel that came too late, a truncate, a tool's output).
Those are counted (``errors_handled``) and logged at debug level.

The response gate (`ConversationEngine.create_response`): one request at a
time (a fair `trio.Lock`), each sent only once the state shows no response
in progress in the default conversation. A response that server VAD starts
can still race the request: the server then answers
``conversation_already_has_active_response``, and the request waits for that
response to end and is sent again. Responses are keyed by id in the state,
so a ``response.done`` that arrives late (after a cancel) ends its own
response only. Out-of-band responses (``conversation: "none"``) bypass the gate.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from collections.abc import Iterable
from typing import Final, TypeVar

import attrs
import trio

from .._client.connection import RealtimeConnection
from .._client.exceptions import ConnectionClosed, ServerError
from .._core import requests
from .._core import server_events as sev
from .._core.client_events import (
    ClientEvent,
    ConversationItemTruncate,
    OutputAudioBufferClear,
    ResponseCancel,
)
from .._core.flow import LowWater
from .._core.invalid import ReceivedEvent
from .._core.logs import get_logger
from .._core.response_models import Response, ResponseCreateParams
from .metrics_tracker import MetricsTracker
from .policy import CallBook, is_busy, plan_interruption
from .records import Interruption, ItemState
from .state import ConversationState
from .tools import ToolFunction
from .tracker import PlaybackTracker

logger = get_logger()

T = TypeVar("T")

#: The error the gate retries on.
ACTIVE_RESPONSE: Final = "conversation_already_has_active_response"
#: How many of the layer's fire-and-forget requests are remembered for their errors.
MAX_REMEMBERED: Final = 256


@attrs.define(eq=False)
class Failure:
    """An error delivered in order through the events buffer, raised in place of an event."""

    error: Exception


#: What the events buffer holds.
Delivered = ReceivedEvent | Interruption | Failure


@attrs.define
class Counters:
    """The counters of `ConversationStatistics`."""

    events_received: int = 0
    errors_handled: int = 0
    responses_requested: int = 0
    response_retries: int = 0
    follow_ups: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    tool_timeouts: int = 0
    tool_calls_cancelled: int = 0
    interruptions: int = 0


class ConversationEngine:
    """The state and the waiting of one conversation (see the module docstring)."""

    def __init__(
        self,
        conn: RealtimeConnection,
        *,
        tools: Iterable[ToolFunction],
        playback: PlaybackTracker | None,
        barge_in: bool,
        keep_audio_bytes: int,
        max_buffered_events: int,
        deliver_events: bool,
    ) -> None:
        self.conn = conn
        self.sideband = conn.is_sideband
        self.state = ConversationState(
            session=conn.session, keep_audio_bytes=keep_audio_bytes
        )
        state = self.state
        #: The turn metrics, fed by the pump (`RealtimeConversation.metrics`).
        self.metrics = MetricsTracker(
            sideband=self.sideband,
            input_format=conn.input_audio_format,
            output_format=lambda: state.output_format,
        )
        self.tools: dict[str, ToolFunction] = {}
        for tool in tools:
            if not isinstance(tool, ToolFunction):
                raise TypeError(
                    f"{tool!r} is not a tool: decorate it with @function_tool"
                )
            if tool.name in self.tools:
                raise ValueError(f"two tools are named {tool.name!r}")
            self.tools[tool.name] = tool
        if playback is None and self.sideband:
            playback = PlaybackTracker.server_paced()
        self.tracker = playback
        self.barge_in = barge_in
        self.deliver_events = deliver_events
        self.max_buffered_events = max_buffered_events
        self.events_send, self.events_recv = trio.open_memory_channel[Delivered](
            max_buffered_events
        )
        # As the connection does (engine.py of _client): when the buffer is
        # full the pump parks until the consumer has taken it down to low
        # water, then refills it in one go, instead of waking once per event.
        self.low_water = LowWater(max_buffered_events) if max_buffered_events else None
        self.room = trio.lowlevel.ParkingLot()
        self.requests = requests.PendingRequests(ServerError)
        #: Error codes the layer handles itself, by the event id of its request
        #: (None: every error; its fire-and-forget requests).
        self.quiet: OrderedDict[str, frozenset[str] | None] = OrderedDict()
        #: Woken after every event (audio deltas aside): waiters re-check.
        self.changed = trio.lowlevel.ParkingLot()
        #: Why the pump stopped: raised by every wait from then on.
        self.ended: Exception | None = None
        self.calls = CallBook()
        self.running: dict[str, trio.CancelScope] = {}
        self.cancel_sent: set[str] = set()
        #: Responses created in the default conversation (the follow-up's test).
        self.default_created = 0
        self.added: deque[tuple[int, ItemState]] = deque(maxlen=64)
        self.counters = Counters()
        self.nursery: trio.Nursery | None = None
        self._create_lock = trio.Lock()
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"<RealtimeConversation on {self.conn!r}>"

    # --- waiting ------------------------------------------------------------------

    def check(self) -> None:
        """Raise why the conversation ended, if it did."""
        if self.ended is not None:
            raise self.ended

    async def wait(self) -> None:
        """Wait for the next event the pump applies (the caller re-checks)."""
        self.check()
        await self.changed.park()
        self.check()

    def end(self, error: Exception) -> None:
        """The pump stopped: fail what waits, now and from now on."""
        if self.ended is None:
            self.ended = error
            # Turns that will never end now count as censored, not as lost.
            self.metrics.censor_open(trio.current_time())
        self.requests.fail_all(self.ended)
        self.changed.unpark_all()

    # --- sending ------------------------------------------------------------------

    def next_event_id(self) -> str:
        """A fresh event id of the layer's own."""
        return f"rt_convo_{next(self._ids)}"

    def _remember(self, event_id: str, codes: frozenset[str] | None) -> None:
        self.quiet[event_id] = codes
        while len(self.quiet) > MAX_REMEMBERED:
            self.quiet.popitem(last=False)

    async def send_own(self, event: ClientEvent) -> None:
        """Send an event of the layer's own, whose errors the layer handles."""
        event_id = self.next_event_id()
        self._remember(event_id, None)
        await self.conn.send(attrs.evolve(event, event_id=event_id))

    async def request(
        self, request: requests.Request[T], *, quiet: frozenset[str] = frozenset()
    ) -> T:
        """Send ``request`` and return its answer (errors with ``quiet`` codes are not handed on).

        Raises:
            ServerError: the server rejected it.
            RemoteProtocolError: the answer was not a valid event.
            ConnectionClosed / ConnectionBroken: the conversation ended.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        self.check()
        if quiet:
            self._remember(request.event_id, quiet)
        answered = trio.Event()
        pending = self.requests.add(request.event_id, request.expects, answered.set)
        try:
            await self.conn.send(request.event)
            await answered.wait()
        finally:
            self.requests.discard(pending)
        return pending.result()

    def handled(self, event: ReceivedEvent) -> bool:
        """Whether ``event`` is an error about the layer's own request that it handles."""
        if type(event) is not sev.ErrorEvent:
            return False
        event_id = event.error.event_id
        if not isinstance(event_id, str) or event_id not in self.quiet:
            return False
        codes = self.quiet[event_id]
        if codes is not None and event.error.code not in codes:
            return False
        del self.quiet[event_id]
        self.counters.errors_handled += 1
        logger.debug(
            "%r: handled an error about its own %s: %s (%s)",
            self,
            event_id,
            event.error.message,
            event.error.code,
        )
        return True

    # --- the response gate --------------------------------------------------------

    async def wait_idle(self) -> None:
        """Wait until no response is in progress in the default conversation."""
        while self.state.active_response is not None:
            await self.wait()

    async def create_response(
        self, params: ResponseCreateParams | None = None, *, after: int | None = None
    ) -> Response | None:
        """Ask for a response through the gate (see the module docstring).

        With ``after``, give up (return None) if a response was created in
        the default conversation since `default_created` was ``after``.
        """
        if params is not None and params.conversation == "none":
            self.counters.responses_requested += 1
            request = requests.create_response(self.next_event_id(), params)
            return (await self.request(request)).response
        async with self._create_lock:
            while True:
                await self.wait_idle()
                if after is not None and self.default_created > after:
                    await trio.lowlevel.checkpoint()
                    return None
                request = requests.create_response(self.next_event_id(), params)
                self.counters.responses_requested += 1
                try:
                    created = await self.request(
                        request, quiet=frozenset({ACTIVE_RESPONSE})
                    )
                except ServerError as exc:
                    if exc.code != ACTIVE_RESPONSE:
                        raise
                    # A response the server started (VAD) won the race; its
                    # response.created came first, so the state knows it now.
                    self.counters.response_retries += 1
                    continue
                return created.response

    # --- interrupting -------------------------------------------------------------

    def is_busy(self) -> bool:
        """Whether the assistant is answering, playing, or running tools."""
        tracker = self.tracker
        return is_busy(
            response_in_progress=self.state.active_response is not None,
            unplayed_bytes=tracker.unplayed_bytes if tracker is not None else 0,
            tools_running=len(self.running),
            server_playing=self.state.output_audio_response_id is not None,
        )

    def cancel_tools(self) -> int:
        """Cancel every running tool call; return how many."""
        scopes = list(self.running.values())
        for scope in scopes:
            scope.cancel()
        return len(scopes)

    async def interrupt(self, *, barge_in: bool) -> Interruption:
        """Cut the assistant off: stop playback, cancel tools, send what the plan says.

        Everything is decided before the first send (no checkpoint in
        between), so a barge-in and an `interrupt` call cannot both act on
        the same response or item.
        """
        state = self.state
        now = trio.current_time()
        active = state.active_response
        cut = self.tracker.cut() if self.tracker is not None else None
        item = state.item(cut.item_id) if cut is not None else None
        source = (
            state.response(item.response_id)
            if item is not None and item.response_id
            else None
        )
        plan = plan_interruption(
            barge_in=barge_in,
            interrupt_response=state.interrupt_response,
            sideband=self.sideband,
            active_response=active.id if active is not None else None,
            cancel_sent=active is not None and active.id in self.cancel_sent,
            cut=cut,
            cut_in_conversation=item.in_conversation if item is not None else False,
            cut_response_done=source.done if source is not None else True,
        )
        tools_cancelled = self.cancel_tools()
        self.counters.interruptions += 1
        interruption = Interruption(
            reason="speech_started" if barge_in else "interrupt",
            response_id=active.id if active is not None else None,
            cancelled=plan.cancel is not None,
            item_id=cut.item_id if cut is not None else None,
            content_index=cut.content_index if cut is not None else 0,
            played_ms=cut.played_ms if cut is not None else 0.0,
            audio_end_ms=plan.truncate.audio_end_ms if plan.truncate else None,
            discarded_samples=cut.discarded_samples if cut is not None else 0,
            discarded_ms=cut.discarded_ms if cut is not None else 0.0,
            cleared=plan.clear,
            tools_cancelled=tools_cancelled,
        )
        self.metrics.interrupted(now, interruption)
        if plan.cancel is not None:
            self.cancel_sent.add(plan.cancel)
            await self.send_own(ResponseCancel(response_id=plan.cancel))
        if plan.truncate is not None:
            await self.send_own(
                ConversationItemTruncate(
                    item_id=plan.truncate.item_id,
                    content_index=plan.truncate.content_index,
                    audio_end_ms=plan.truncate.audio_end_ms,
                )
            )
        if plan.clear:
            await self.send_own(OutputAudioBufferClear())
        return interruption

    # --- the end ----------------------------------------------------------------

    def closed_error(self) -> Exception:
        """The error of waiting on a conversation whose connection closed normally."""
        return ConnectionClosed(
            "the connection ended", close_reason=self.conn.close_reason
        )
