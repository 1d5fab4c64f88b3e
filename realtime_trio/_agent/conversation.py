"""`open_conversation` and `RealtimeConversation`: the conversation layer's public face (trio).

The work is done by the engine (``engine.py``), the pump (``pump.py``) and
the tool tasks (``tool_runner.py``); this module opens the nursery they run
in and gives the application its handle.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import final

import attrs
import trio

from .._client.connection import RealtimeConnection
from .._core import requests
from .._core.item_models import McpApprovalResponseItem
from .._core.logs import get_logger
from .._core.response_models import Response, ResponseCreateParams
from .._core.sentinel import UNSET, UnsetType
from .._core.session_models import (
    FunctionTool,
    SessionConfig,
    TranscriptionSessionConfig,
)
from .._trio.unwrap import open_hidden_nursery
from .conversation_metrics import ConversationMetrics
from .engine import ConversationEngine, Delivered, Failure
from .pump import run_pump
from .records import Interruption, ItemState, ResponseState
from .state import ConversationState
from .tools import ToolFunction
from .tracker import PlaybackTracker

__all__ = ["ConversationStatistics", "RealtimeConversation", "open_conversation"]

logger = get_logger()


@attrs.frozen
class ConversationStatistics:
    """A snapshot of a conversation's buffer and counters (see `RealtimeConversation.statistics`).

    Attributes:
        events_buffered: Events waiting for ``async for``.
        max_buffered_events: The capacity of that buffer.
        peak_events_buffered: The most events ever waiting at once.
        events_received: Events the pump read from the connection.
        errors_handled: ``error`` events about the layer's own requests that
            it handled and did not hand on (logged at debug level).
        responses_requested: ``response.create`` requests the layer sent
            (retries and follow-ups included).
        response_retries: Requests sent again after
            ``conversation_already_has_active_response``.
        follow_ups: Responses asked for after a response's tool calls were answered.
        tool_calls: Tool calls started.
        tool_calls_running: Tool calls running now.
        tool_errors: Calls that raised or got arguments that did not fit.
        tool_timeouts: Calls cancelled by their tool's ``time_limit``.
        tool_calls_cancelled: Calls cancelled by a barge-in or an interruption.
        interruptions: Barge-ins acted on, and `RealtimeConversation.interrupt` calls.
    """

    events_buffered: int
    max_buffered_events: int
    peak_events_buffered: int
    events_received: int
    errors_handled: int
    responses_requested: int
    response_retries: int
    follow_ups: int
    tool_calls: int
    tool_calls_running: int
    tool_errors: int
    tool_timeouts: int
    tool_calls_cancelled: int
    interruptions: int


@final
class RealtimeConversation:
    """A conversation over a connection: events, state, tools, one response at a time.

    Get one from `open_conversation`. Iterate it (``async for event in
    convo``) for every server event, after `state` applied it (the errors
    the layer handles aside), and for an `Interruption` after each barge-in
    the layer acted on. Its helpers are all checkpoints, and all wait within
    your cancel scopes.
    """

    def __init__(self, engine: ConversationEngine) -> None:
        self._engine = engine
        self._events = engine.events_recv
        self._delivering = engine.deliver_events
        self._low_water = engine.low_water
        self._room = engine.room
        self._metrics = ConversationMetrics(engine)

    def __repr__(self) -> str:
        return repr(self._engine)

    @property
    def state(self) -> ConversationState:
        """The mirror of the server's conversation (updated by the pump)."""
        return self._engine.state

    @property
    def connection(self) -> RealtimeConnection:
        """The connection (send audio and events on it as usual; do not read it)."""
        return self._engine.conn

    @property
    def playback(self) -> PlaybackTracker | None:
        """The playback tracker (the one given, or the server-paced one of a sideband)."""
        return self._engine.tracker

    @property
    def metrics(self) -> ConversationMetrics:
        """The turn metrics: a `TurnMetrics` per turn, their aggregates, and a way to await each."""
        return self._metrics

    async def send_audio(self, pcm: bytes) -> None:
        """Send user audio (`RealtimeConnection.send_audio`) and note when, for the turn metrics.

        The send time of each piece is the client clock that `metrics` maps
        the server's ``audio_start_ms`` and ``audio_end_ms`` onto. This is a checkpoint.
        """
        await self._engine.conn.send_audio(pcm)
        self._engine.metrics.audio_sent(trio.current_time(), pcm)

    def statistics(self) -> ConversationStatistics:
        """Return a snapshot of the buffer and the counters (never blocks)."""
        engine = self._engine
        buffer = engine.events_send.statistics()
        counters = engine.counters
        return ConversationStatistics(
            events_buffered=buffer.current_buffer_used,
            max_buffered_events=engine.max_buffered_events,
            peak_events_buffered=getattr(buffer, "peak_buffer_used", 0),
            events_received=counters.events_received,
            errors_handled=counters.errors_handled,
            responses_requested=counters.responses_requested,
            response_retries=counters.response_retries,
            follow_ups=counters.follow_ups,
            tool_calls=counters.tool_calls,
            tool_calls_running=len(engine.running),
            tool_errors=counters.tool_errors,
            tool_timeouts=counters.tool_timeouts,
            tool_calls_cancelled=counters.tool_calls_cancelled,
            interruptions=counters.interruptions,
        )

    # --- events -------------------------------------------------------------------

    async def receive(self) -> Delivered:
        """Return the next event (a `ReceivedEvent`, or an `Interruption`).

        This is a checkpoint.

        Raises:
            trio.EndOfChannel: the connection closed normally.
            ConnectionBroken: the connection failed (after the events before it).
            RuntimeError: the conversation was opened with ``deliver_events=False``.
        """
        if not self._delivering:
            raise RuntimeError("this conversation was opened with deliver_events=False")
        try:
            item = await self._events.receive()
        except trio.ClosedResourceError:
            raise trio.EndOfChannel from None
        low_water = self._low_water
        if low_water is not None and low_water.waiting and low_water.taken():
            self._room.unpark_all()
        if type(item) is Failure:
            raise item.error
        return item

    def __aiter__(self) -> RealtimeConversation:
        return self

    async def __anext__(self) -> Delivered:
        # receive(), inlined: the streaming hot path.
        if not self._delivering:
            raise RuntimeError("this conversation was opened with deliver_events=False")
        try:
            item = await self._events.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None
        low_water = self._low_water
        if low_water is not None and low_water.waiting and low_water.taken():
            self._room.unpark_all()
        if type(item) is Failure:
            raise item.error
        return item

    # --- responses ------------------------------------------------------------------

    async def create_response(
        self, params: ResponseCreateParams | None = None
    ) -> Response:
        """Ask for a response, one at a time, and return it from ``response.created``.

        While a response is in progress in the default conversation, this
        waits for it to end instead of provoking the server's
        ``conversation_already_has_active_response``; calls from several
        tasks take turns. If a response that server VAD started wins the
        race anyway, the server's error is not handed on: this waits for
        that response to end and asks again. An out-of-band response
        (``ResponseCreateParams(conversation="none")``) does not wait.

        This is a checkpoint; bound the wait with a cancel scope. Cancelled
        after its request was sent, the response may still start.

        Raises:
            ServerError: the server refused the request for another reason.
            RemoteProtocolError: the ``response.created`` was not a valid event.
            ConnectionClosed / ConnectionBroken: the connection ended.
        """
        created = await self._engine.create_response(params)
        assert created is not None
        return created

    async def wait_response_done(
        self, response: str | Response | ResponseState | None = None
    ) -> ResponseState:
        """Wait until a response is done and return it.

        ``response`` is a response id, or the `Response` that
        `create_response` returned. Without it: the response in progress in
        the default conversation; if none is, the last one there (returned
        at once); if there has been none, the first one. A ``response.done``
        that arrives late, or malformed, still ends the wait for its response.

        This is a checkpoint.

        Raises:
            ConnectionClosed / ConnectionBroken: the connection ended first.
        """
        response_id = response if isinstance(response, str | None) else response.id
        if not isinstance(response_id, str | None):
            raise ValueError("this response has no id")
        engine = self._engine
        await trio.lowlevel.checkpoint_if_cancelled()
        parked = False
        while True:
            found = self._target(response_id)
            if found is not None and found.done:
                break
            await engine.wait()
            parked = True
        if not parked:
            await trio.lowlevel.cancel_shielded_checkpoint()
        return found

    def _target(self, response_id: str | None) -> ResponseState | None:
        state = self._engine.state
        if response_id is not None:
            return state.response(response_id)
        active = state.active_response
        if active is not None:
            return active
        for response in reversed(state.responses):
            if response.in_conversation:
                return response
        return None

    # --- items ------------------------------------------------------------------------

    async def next_item(self) -> ItemState:
        """Wait for the next item added to the conversation (after this call) and return it.

        This is a checkpoint.

        Raises:
            ConnectionClosed / ConnectionBroken: the connection ended first.
        """
        engine = self._engine
        seen = engine.state.items_added
        while True:
            await engine.wait()
            for number, item in engine.added:
                if number > seen:
                    return item

    async def wait_item_done(self, item_id: str) -> ItemState:
        """Wait until the item ``item_id`` is final (or deleted) and return it.

        Returns at once (after a checkpoint) if it is already.

        This is a checkpoint.

        Raises:
            ConnectionClosed / ConnectionBroken: the connection ended first.
        """
        engine = self._engine
        await trio.lowlevel.checkpoint_if_cancelled()
        parked = False
        while True:
            item = engine.state.item(item_id)
            if item is not None and item.done:
                break
            await engine.wait()
            parked = True
        if not parked:
            await trio.lowlevel.cancel_shielded_checkpoint()
        return item

    # --- interrupting and approving -------------------------------------------------

    async def interrupt(self) -> Interruption:
        """Cut the assistant off now, and return what was done.

        Stops the playback (`PlaybackTracker`), cancels the running tool
        calls, then sends, in this order: ``response.cancel`` if a response
        is in progress (and no cancel was sent for it yet),
        ``conversation.item.truncate`` at the played position if something
        was played and something was not, and ``output_audio_buffer.clear``
        on a sideband.

        This is a checkpoint. Cancelled, it may leave some of the three unsent.

        Raises:
            ConnectionClosed / ConnectionBroken: the connection is over.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        self._engine.check()
        interruption = await self._engine.interrupt(barge_in=False)
        await trio.lowlevel.checkpoint()
        return interruption

    async def answer_mcp_approval(
        self,
        request_id: str,
        approve: bool,
        *,
        reason: str | UnsetType = UNSET,
        respond: bool = True,
    ) -> None:
        """Answer an MCP approval request (see `ConversationState.approval_requests`).

        Adds an ``mcp_approval_response`` item and waits until the server
        added it; then, with ``respond``, asks for the response that goes on
        with the call, through the same gate as `create_response` (unless a
        response started meanwhile, which already sees the answer).

        This is a checkpoint.

        Raises:
            ServerError: the server refused the answer (an unknown request id...).
            ConnectionClosed / ConnectionBroken: the connection ended.
        """
        engine = self._engine
        item = McpApprovalResponseItem(
            id=f"mcpr_{engine.next_event_id()}",
            approval_request_id=request_id,
            approve=approve,
            reason=reason,
        )
        await engine.request(requests.create_item(engine.next_event_id(), item))
        if respond:
            await engine.create_response(after=engine.default_created)


def _merged_tools(
    conn: RealtimeConnection, tools: Iterable[ToolFunction]
) -> SessionConfig:
    """A ``session.update`` with the session's tools plus ours (ours win by name)."""
    session = conn.session
    if isinstance(session, TranscriptionSessionConfig):
        raise ValueError("a transcription session has no tools")
    ours = list(tools)
    names = {tool.name for tool in ours}
    existing = getattr(session, "tools", UNSET)
    kept = tuple(
        tool
        for tool in (existing if isinstance(existing, tuple) else ())
        if not (isinstance(tool, FunctionTool) and tool.name in names)
    )
    return SessionConfig(tools=kept + tuple(tool.definition for tool in ours))


async def _play(
    engine: ConversationEngine,
    tracker: PlaybackTracker,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Pace the tracker's sink; an error of the sink is raised by ``async for``."""
    try:
        await tracker.run(task_status=task_status)
    except Exception as exc:
        logger.warning("%r: the playback sink failed: %r", engine, exc)
        with contextlib.suppress(
            trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError
        ):
            engine.events_send.send_nowait(Failure(exc))


@asynccontextmanager
async def open_conversation(
    conn: RealtimeConnection,
    *,
    tools: Iterable[ToolFunction] = (),
    playback: PlaybackTracker | None = None,
    barge_in: bool = True,
    keep_audio_bytes: int = 0,
    max_buffered_events: int = 128,
    deliver_events: bool = True,
) -> AsyncIterator[RealtimeConversation]:
    """Run a conversation over ``conn`` for the duration of the block.

    The block's nursery runs the *pump*, the one task that reads ``conn``
    (do not read it yourself meanwhile): it applies every event to
    `RealtimeConversation.state`, runs tools, sequences responses, handles
    barge-in, and hands every event on to ``async for event in convo``.
    Tool calls and, with a sink, the playback pacing run in the same
    nursery. Leaving the block cancels them all (running tool calls
    included) and leaves ``conn`` open.

    Entering is a checkpoint; with ``tools`` it waits for the session's
    ``session.updated``. Leaving is a checkpoint. Exactly one exception comes
    out, never an exception group.

    Args:
        conn: An open connection.
        tools: `ToolFunction`\\ s (from `function_tool`). Their definitions
            are added to the session's tools (replacing tools of the same
            name); each call of one of them is run when its arguments are
            complete, its output is sent, and once every call of a response
            is answered, the next response is asked for.
        playback: A `PlaybackTracker` for the assistant's audio, to truncate
            at the right place on a barge-in or `RealtimeConversation.interrupt`.
            None: no truncation (on a sideband the server plays the audio and
            the layer follows it by itself).
        barge_in: Act when the user speaks while the assistant is busy
            (answering, playing, or running tools): stop the playback,
            cancel the tool calls, cancel the response if the server will not
            (``interrupt_response`` off), truncate what was not heard, clear
            a call's output buffer. An `Interruption` follows the
            ``input_audio_buffer.speech_started`` event in the stream.
        keep_audio_bytes: Keep up to this much received audio on the items
            (see `ConversationState`).
        max_buffered_events: Events waiting for ``async for``; when full, the
            pump waits (and so does the connection behind it).
        deliver_events: False if nothing will iterate the conversation
            (only the helpers and the state are used): then nothing is buffered.

    Raises:
        ServerError: the session refused the tools.
        ValueError: two tools have the same name, or the session is a
            transcription session and ``tools`` were given.

    .. versionadded:: 0.1.0
    """
    engine = ConversationEngine(
        conn,
        tools=tools,
        playback=playback,
        barge_in=barge_in,
        keep_audio_bytes=keep_audio_bytes,
        max_buffered_events=max_buffered_events,
        deliver_events=deliver_events,
    )
    update = _merged_tools(conn, engine.tools.values()) if engine.tools else None
    async with open_hidden_nursery() as nursery:
        engine.nursery = nursery
        await nursery.start(run_pump, engine)
        tracker = engine.tracker
        if tracker is not None and tracker.sink is not None:
            await nursery.start(_play, engine, tracker)
        try:
            if update is not None:
                await conn.update_session(update)
            yield RealtimeConversation(engine)
        finally:
            nursery.cancel_scope.cancel()
