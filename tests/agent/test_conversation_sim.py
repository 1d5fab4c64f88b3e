"""open_conversation against the simulator: the pump, the stream, the helpers, the end."""

from __future__ import annotations

import pytest
import trio
import trio.testing

import realtime_trio
from realtime_trio import (
    ConnectionBroken,
    ConnectionClosed,
    ConversationStatistics,
    events,
)
from realtime_trio.testing import ConnectionFault, RealtimeSimulator, Scenario
from tests.helpers.client_sim import WAIT, connect

from .sim import (
    TEXT_ONLY,
    Collector,
    client_events,
    client_types,
    conversation,
    user_text,
)


async def test_every_event_is_handed_on_in_order_after_the_state_applied_it(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    applied: list[int] = []
    async with (
        connect(sim, nursery) as conn,
        realtime_trio.open_conversation(conn) as convo,
    ):
        await conn.create_item(user_text("Hello"))
        created = await convo.create_response()
        received = []
        with trio.fail_after(WAIT):
            async for event in convo:
                received.append(event)
                applied.append(convo.state.events_applied)
                if isinstance(event, events.ResponseDone):
                    break
        stats = convo.statistics()
    sent = list(sim.connections[0].server_events)
    assert [type(e) for e in received] == [type(e) for e in sent]
    # (The simulator keeps the deltas without their audio: compare the ids.)
    assert [e.event_id for e in received] == [e.event_id for e in sent]
    # The state had applied each event (and maybe a few more) when it was handed on.
    assert all(n >= i + 1 for i, n in enumerate(applied))
    assert isinstance(stats, ConversationStatistics)
    assert stats.events_received == len(sent)
    assert stats.responses_requested == 1
    assert (stats.errors_handled, stats.response_retries, stats.tool_calls) == (0, 0, 0)
    response = convo.state.response(created.id)
    assert response is not None and response.status == "completed"
    assert convo.state.transcript() == [
        ("user", "Hello"),
        ("assistant", "You said: Hello"),
    ]
    assert convo.state.items[1].audio_ms == pytest.approx(900.0)


async def test_helpers_wait_for_items_and_responses(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    async with conversation(sim, nursery, session=TEXT_ONLY) as (conn, convo, _):
        async with trio.open_nursery() as inner:
            got: list[realtime_trio.ItemState] = []

            async def next_two() -> None:
                got.append(await convo.next_item())
                got.append(await convo.next_item())

            inner.start_soon(next_two)
            await trio.testing.wait_all_tasks_blocked()
            user = await conn.create_item(user_text("Hi"))
            created = await convo.create_response()
        assert [i.id for i in got] == [user.id, convo.state.items[1].id]
        assert got[1].role == "assistant"
        done_item = await convo.wait_item_done(got[1].id)
        assert done_item.status == "completed" and done_item.text == "You said: Hi"
        done = await convo.wait_response_done()
        assert done.id == created.id and done.status == "completed"
        # Already done: returned at once, and still a checkpoint.
        with trio.testing.assert_checkpoints():
            assert await convo.wait_response_done(created.id) is done
        with trio.testing.assert_checkpoints():
            assert await convo.wait_item_done(user.id) is convo.state.items[0]
        with trio.testing.assert_checkpoints():
            await convo.create_response()
        with trio.testing.assert_checkpoints():
            await convo.interrupt()
        with trio.testing.assert_no_checkpoints():
            convo.statistics()
        # A wait is cancellable by the caller's scope.
        with trio.move_on_after(1) as scope:
            await convo.wait_item_done("item_never")
        assert scope.cancelled_caught


async def test_without_delivery_the_helpers_still_work(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    async with (
        connect(sim, nursery) as conn,
        realtime_trio.open_conversation(
            conn, deliver_events=False, max_buffered_events=1
        ) as convo,
    ):
        for text in ("one", "two", "three"):
            await conn.create_item(user_text(text))
            created = await convo.create_response()
            done = await convo.wait_response_done(created.id)
            assert done.status == "completed"
        with pytest.raises(RuntimeError, match="deliver_events=False"):
            await convo.receive()
        assert convo.statistics().events_buffered == 0
    assert [t for _, t in convo.state.transcript()][-1] == "You said: three"


async def test_leaving_the_block_leaves_the_connection_open(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery, session=TEXT_ONLY) as conn:
        async with realtime_trio.open_conversation(conn) as convo:
            assert convo.connection is conn
            assert convo.playback is None
        await conn.create_item(user_text("after"))
        await conn.create_response()
        with trio.fail_after(WAIT):
            async for event in conn:
                if isinstance(event, events.ResponseDone):
                    break
    assert repr(convo).startswith("<RealtimeConversation on")


async def test_a_clean_close_ends_the_stream_and_fails_the_waits(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with conversation(sim, nursery) as (_conn, convo, collector):
        await sim.close_connections(1000)
        with trio.fail_after(WAIT):
            await collector.ended.wait()
        assert collector.error is None
        with pytest.raises(ConnectionClosed):
            await convo.next_item()
        with pytest.raises(ConnectionClosed):
            await convo.create_response()


async def test_a_broken_connection_comes_out_of_the_loop(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(
        scenario=Scenario(faults=[ConnectionFault(after_events=6, drop=True)])
    )
    with pytest.raises(ConnectionBroken):
        async with (
            connect(sim, nursery) as conn,
            realtime_trio.open_conversation(conn) as convo,
        ):
            await conn.send(events.ConversationItemCreate(item=user_text("Hi")))
            await conn.send(events.ResponseCreate())
            collector = Collector(convo)
            await collector.run()
            assert isinstance(collector.error, ConnectionBroken)
            assert len(collector.events) == 6
            with pytest.raises(ConnectionBroken):
                await convo.wait_response_done("resp_never")
            raise collector.error


async def test_answering_an_mcp_approval_request(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with conversation(sim, nursery, session=TEXT_ONLY) as (
        _conn,
        convo,
        collector,
    ):
        with trio.testing.assert_checkpoints():
            await convo.answer_mcp_approval("mcpr_1", True, reason="fine")
        await collector.until(events.ResponseDone)
        await convo.answer_mcp_approval("mcpr_2", False, respond=False)
        await collector.until(
            events.ConversationItemDone,
            lambda e: (
                isinstance(e.item, events.McpApprovalResponseItem)
                and e.item.approval_request_id == "mcpr_2"
            ),
        )
    answers = [
        e.item
        for e in client_events(sim, events.ConversationItemCreate)
        if isinstance(e.item, events.McpApprovalResponseItem)
    ]
    assert [(a.approval_request_id, a.approve, a.reason) for a in answers] == [
        ("mcpr_1", True, "fine"),
        ("mcpr_2", False, events.UNSET),
    ]
    assert client_types(sim).count("response.create") == 1
    items = [i for i in convo.state.items if i.type == "mcp_approval_response"]
    assert [(i.approval_request_id, i.approved) for i in items] == [
        ("mcpr_1", True),
        ("mcpr_2", False),
    ]


@pytest.mark.parametrize("size", [0, 1, 4])
async def test_a_slow_consumer_gets_every_event_in_order(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, size: int
) -> None:
    sim = RealtimeSimulator()
    async with (
        connect(sim, nursery) as conn,
        realtime_trio.open_conversation(conn, max_buffered_events=size) as convo,
    ):
        # Sent, not awaited: with a buffer this small, the answer to a helper
        # would wait behind the events nobody has taken yet.
        await conn.send(
            events.ConversationItemCreate(item=user_text("Tell me a story"))
        )
        await conn.send(events.ResponseCreate())
        received = []
        async for event in convo:
            received.append(event)
            await trio.sleep(0.01)  # slower than the server
            assert convo.statistics().events_buffered <= size
            if isinstance(event, events.ResponseDone):
                break
        peak = convo.statistics().peak_events_buffered
    sent = list(sim.connections[0].server_events)
    assert [e.event_id for e in received] == [e.event_id for e in sent]
    assert peak == size
