"""The pump: the one task that reads the connection for a conversation (trio).

For each event, in order: apply it to the state; settle the layer's pending
request it answers, if any; react (start tool calls, note responses for the
gate and the follow-ups, cut the assistant off at a barge-in, follow the
server's playback on a call); wake whatever waits; and hand the event on to
``async for event in convo``, unless it is an ``error`` the layer handles.
An audio delta takes a short path: apply, feed the playback tracker, hand on.

The hand-over is a bounded memory channel (``max_buffered_events``): when
the application stops iterating, the pump waits, and so does everything
behind it (the connection's buffer, then its socket reads). Open the
conversation with ``deliver_events=False`` if nothing iterates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from .._client.exceptions import ConnectionBroken, ConnectionClosed
from .._core import item_models as im
from .._core import server_events as sev
from .._core.errors import RealtimeError, RemoteProtocolError
from .._core.invalid import InvalidEvent, ReceivedEvent
from .._core.logs import get_logger
from .engine import ConversationEngine, Delivered, Failure
from .items import item_id
from .records import ItemState
from .tool_runner import follow_up, run_call

logger = get_logger()

_ITEM_EVENTS = (
    sev.ConversationItemAdded,
    sev.ConversationItemCreated,
)


async def run_pump(
    engine: ConversationEngine,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Read the connection until it ends (see the module docstring)."""
    conn = engine.conn
    state = engine.state
    apply = state.apply
    tracker = engine.tracker
    counters = engine.counters
    delta = sev.ResponseOutputAudioDelta
    deliver = _deliverer(engine)
    active = engine.deliver_events
    send_nowait = engine.events_send.send_nowait
    measure = engine.metrics.received
    now = trio.current_time
    task_status.started()
    with engine.events_send:
        while True:
            try:
                try:
                    event = conn.receive_nowait()
                except trio.WouldBlock:
                    event = await conn.receive()
            except trio.EndOfChannel:
                engine.end(engine.closed_error())
                return
            except (ConnectionClosed, ConnectionBroken) as exc:
                engine.end(exc)
                if isinstance(exc, ConnectionBroken):
                    await deliver(Failure(exc))
                return
            except RemoteProtocolError as exc:
                # strict=True: raised in place of an InvalidEvent; hand it on.
                await deliver(Failure(exc))
                continue
            counters.events_received += 1
            apply(event)
            measure(now(), event)
            if type(event) is delta:
                # The hot path: no reaction, and a hand-over without another
                # trip through the scheduler when there is room.
                if tracker is not None:
                    item = state.item(event.item_id)
                    fmt = item.audio_format if item is not None else None
                    tracker.received(event, fmt or state.output_format)
                if active:
                    try:
                        send_nowait(event)
                    except trio.WouldBlock:
                        await deliver(event)
                continue
            if engine.requests:
                engine.requests.answer(event)
            if engine.handled(event):
                engine.changed.unpark_all()
                continue
            try:
                extra = await _react(engine, event)
            except RealtimeError as exc:
                # Sending what the reaction needed failed: the connection is
                # ending, and the next receive says how.
                logger.debug("%r: reaction to %s failed: %s", engine, event, exc)
                extra = None
            engine.changed.unpark_all()
            await deliver(event)
            if extra is not None:
                await deliver(extra)


def _deliverer(engine: ConversationEngine) -> Callable[[Delivered], Awaitable[None]]:
    """The pump's hand-over to the user: immediate when there is room, else
    from low water (see `ConversationEngine.low_water`)."""
    send = engine.events_send
    active = engine.deliver_events
    low_water = engine.low_water
    room = engine.room

    async def deliver(item: Delivered) -> None:
        if not active:
            return
        try:
            send.send_nowait(item)
            return
        except trio.WouldBlock:
            pass
        except trio.BrokenResourceError:
            return  # the conversation is closing: nobody reads any more
        if low_water is None:
            await send.send(item)  # unbuffered: a direct hand-over
            return
        while True:
            low_water.full()
            await room.park()
            try:
                send.send_nowait(item)
                return
            except trio.WouldBlock:
                continue

    return deliver


async def _react(engine: ConversationEngine, event: ReceivedEvent) -> Delivered | None:
    """What the layer does about one event; return a record to hand on after it."""
    kind = type(event)
    if kind is sev.ResponseFunctionCallArgumentsDone:
        assert isinstance(event, sev.ResponseFunctionCallArgumentsDone)
        _start_call(
            engine, event.call_id, event.name, event.arguments, event.response_id
        )
    elif kind is sev.ResponseCreated:
        assert isinstance(event, sev.ResponseCreated)
        if isinstance(event.response.conversation_id, str):
            engine.default_created += 1
    elif kind is sev.ResponseDone:
        assert isinstance(event, sev.ResponseDone)
        _response_done(engine, event)
    elif kind in _ITEM_EVENTS:
        _note_added(engine, event)
    elif kind is sev.InputAudioBufferSpeechStarted:
        if engine.barge_in and engine.is_busy():
            return await engine.interrupt(barge_in=True)
    elif (
        kind is sev.OutputAudioBufferStarted
        or kind is sev.OutputAudioBufferStopped
        or kind is sev.OutputAudioBufferCleared
    ):
        _server_playback(engine, event)
    elif kind is InvalidEvent:
        assert isinstance(event, InvalidEvent)
        if event.type == sev.ResponseCreated.TYPE and isinstance(
            event.lookup("response", "conversation_id"), str
        ):
            engine.default_created += 1
    return None


def _note_added(engine: ConversationEngine, event: ReceivedEvent) -> None:
    """Remember the items added, in order, for `RealtimeConversation.next_item`."""
    added = engine.state.items_added
    if not engine.added or engine.added[-1][0] != added:
        key = item_id(getattr(event, "item", None))
        item = engine.state.item(key) if key is not None else None
        if item is not None:
            engine.added.append((added, item))


def _start_call(
    engine: ConversationEngine,
    call_id: str,
    name: str,
    arguments: str,
    response_id: str,
) -> None:
    """Start a call of one of the layer's tools (once), in a conversation response."""
    tool = engine.tools.get(name)
    response = engine.state.response(response_id)
    if tool is None or engine.nursery is None:
        return
    if response is not None and not response.in_conversation:
        return  # an out-of-band response's calls are the application's
    if engine.calls.started(response_id, call_id):
        engine.nursery.start_soon(
            run_call, engine, tool, call_id, arguments, response_id
        )


def _response_done(engine: ConversationEngine, event: sev.ResponseDone) -> None:
    """Start calls missed so far, note the response's foreign calls, follow up."""
    record = event.response
    response_id = record.id
    if not isinstance(response_id, str) or not isinstance(record.conversation_id, str):
        return
    foreign: list[str] = []
    for item in record.output if isinstance(record.output, tuple) else ():
        if isinstance(item, im.FunctionCallItem) and isinstance(item.call_id, str):
            if item.name in engine.tools:
                _start_call(
                    engine, item.call_id, item.name, item.arguments, response_id
                )
            else:
                foreign.append(item.call_id)
    status = record.status if isinstance(record.status, str) else None
    if engine.calls.response_done(response_id, status, foreign) and engine.nursery:
        engine.nursery.start_soon(
            follow_up, engine, response_id, engine.default_created
        )


def _server_playback(engine: ConversationEngine, event: ReceivedEvent) -> None:
    """On a call, the server's ``output_audio_buffer.*`` events say when it plays."""
    tracker = engine.tracker
    response_id = getattr(event, "response_id", None)
    response = engine.state.response(response_id) if response_id else None
    if tracker is None or response is None:
        return
    item = _audio_item(engine, response.output_item_ids)
    if item is None:
        return
    if type(event) is sev.OutputAudioBufferStarted:
        fmt = item.audio_format or response.audio_format or engine.state.output_format
        tracker.stream_started(item.id, item.audio_content_index, fmt)
    else:
        tracker.stream_stopped(item.id, item.audio_content_index)


def _audio_item(engine: ConversationEngine, item_ids: list[str]) -> ItemState | None:
    """The assistant message of a response (the one whose audio plays)."""
    for key in item_ids:
        item = engine.state.item(key)
        if item is not None and item.type == "message":
            return item
    return None
