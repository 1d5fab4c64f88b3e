"""One active response at a time: the gate, its retry, late and malformed response.done."""

from __future__ import annotations

import itertools
import json
from typing import Any

import trio
import trio.testing
import trio_websocket

import realtime_trio
from realtime_trio import events
from realtime_trio.testing import RealtimeSimulator
from tests.helpers.client_sim import WAIT
from tests.helpers.fake_server import FakeServer, Seen

from .sim import conversation, user_text

ACTIVE = "conversation_already_has_active_response"


def errors(received: list[Any]) -> list[str | None]:
    return [e.error.code for e in received if isinstance(e, events.ErrorEvent)]


async def test_create_response_from_three_tasks_at_once(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    async with conversation(sim, nursery) as (conn, convo, collector):
        await conn.create_item(user_text("Tell me three things"))
        created: list[tuple[str, float]] = []
        finished: list[tuple[str, float]] = []

        async def ask(n: int) -> None:
            response = await convo.create_response(
                events.ResponseCreateParams(metadata={"task": str(n)})
            )
            created.append((response.id, trio.current_time()))
            done = await convo.wait_response_done(response.id)
            finished.append((done.id, trio.current_time()))

        async with trio.open_nursery() as tasks:
            for n in range(3):
                tasks.start_soon(ask, n)
        stats = convo.statistics()
        events_seen = list(collector.events)
    assert len({rid for rid, _ in created}) == 3
    # Each response was created only after the one before it was done.
    ends = dict(finished)
    for (before, _), (_, start) in itertools.pairwise(created):
        assert ends[before] <= start
    assert ACTIVE not in errors(events_seen)
    server_errors = [
        e for e in sim.connections[0].server_events if isinstance(e, events.ErrorEvent)
    ]
    assert server_errors == []  # the server was never even provoked
    assert (stats.responses_requested, stats.response_retries) == (3, 0)
    assert [r.status for r in convo.state.responses] == ["completed"] * 3
    # The usage totals are the sum of the responses' usage.
    usage = convo.state.usage
    responses = convo.state.responses
    assert usage.responses == 3
    assert usage.total_tokens == sum(r.usage.total_tokens for r in responses)  # type: ignore[union-attr,misc]
    assert usage.output_audio_tokens == sum(
        r.usage.output_token_details.audio_tokens  # type: ignore[union-attr,misc]
        for r in responses
    )


async def test_a_response_that_wins_the_race_is_waited_for_and_the_request_retried(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    async with conversation(sim, nursery) as (conn, convo, collector):
        await conn.create_item(user_text("Hello"))
        # As server VAD would: a response starts that the layer does not know
        # of yet when its own request reaches the server.
        await conn.send(events.ResponseCreate())
        ours = await convo.create_response()
        done = await convo.wait_response_done(ours.id)
        stats = convo.statistics()
        received = list(collector.events)
    first, second = convo.state.responses
    assert second.id == ours.id and done.status == "completed"
    assert first.status == "completed"
    server_errors = [
        e.error.code
        for e in sim.connections[0].server_events
        if isinstance(e, events.ErrorEvent)
    ]
    assert server_errors == [ACTIVE]  # the server did refuse once ...
    assert ACTIVE not in errors(received)  # ... and the user never saw it
    assert (
        stats.response_retries,
        stats.errors_handled,
        stats.responses_requested,
    ) == (1, 1, 2)


async def test_an_out_of_band_response_bypasses_the_gate(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    async with conversation(sim, nursery) as (conn, convo, _):
        await conn.create_item(user_text("Tell me a long story about the sea"))
        spoken = await convo.create_response()
        start = trio.current_time()
        side = await convo.create_response(
            events.ResponseCreateParams(
                conversation="none", output_modalities=("text",)
            )
        )
        assert trio.current_time() - start < 0.1  # it did not wait for the spoken one
        side_done = await convo.wait_response_done(side.id)
        assert not convo.state.response(spoken.id).done  # type: ignore[union-attr]
        assert not side_done.in_conversation
        await convo.wait_response_done(spoken.id)


async def _send(ws: trio_websocket.WebSocketConnection, event: dict[str, Any]) -> None:
    await ws.send_message(json.dumps(event))


def _response(rid: str, status: str, metadata: Any = None) -> dict[str, Any]:
    return {
        "object": "realtime.response",
        "id": rid,
        "status": status,
        "output": [],
        "conversation_id": "conv_1",
        "metadata": metadata,
        "usage": None,
    }


async def test_a_late_response_done_after_a_cancel(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """The cancelled response's response.done comes late, and then once more
    after the next response started: each ends only its own response."""

    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        while True:
            data = json.loads(await ws.get_message())
            seen.messages.append(data)
            kind = data["type"]
            metadata = data.get("response", {}).get("metadata")
            if kind == "response.create" and not any(
                m["type"] == "response.cancel" for m in seen.messages
            ):
                await _send(
                    ws,
                    {
                        "type": "response.created",
                        "event_id": "e1",
                        "response": _response("resp_A", "in_progress", metadata),
                    },
                )
            elif kind == "response.cancel":
                await trio.sleep(2)  # late
                await _send(
                    ws,
                    {
                        "type": "response.done",
                        "event_id": "e2",
                        "response": _response("resp_A", "cancelled"),
                    },
                )
            elif kind == "response.create":
                await _send(
                    ws,
                    {
                        "type": "response.created",
                        "event_id": "e3",
                        "response": _response("resp_B", "in_progress", metadata),
                    },
                )
                # A stale copy of A's response.done, after B started.
                await _send(
                    ws,
                    {
                        "type": "response.done",
                        "event_id": "e4",
                        "response": _response("resp_A", "cancelled"),
                    },
                )
                await trio.sleep(1)
                await _send(
                    ws,
                    {
                        "type": "response.done",
                        "event_id": "e5",
                        "response": _response("resp_B", "completed"),
                    },
                )

    server = FakeServer(nursery, script=script)
    async with (
        realtime_trio.open_realtime(
            model="gpt-realtime",
            api_key="sk-test",
            url="ws://fake/v1/realtime",
            connect_stream=server.connect_stream,
        ) as conn,
        realtime_trio.open_conversation(conn, deliver_events=False) as convo,
    ):
        first = await convo.create_response()
        interruption = await convo.interrupt()
        assert interruption.cancelled and interruption.response_id == "resp_A"
        start = trio.current_time()
        second = await convo.create_response()
        assert trio.current_time() - start >= 2  # it waited for A's late response.done
        assert (first.id, second.id) == ("resp_A", "resp_B")
        a = convo.state.response("resp_A")
        bee = convo.state.response("resp_B")
        await trio.testing.wait_all_tasks_blocked()
        # The stale done arrived: B is still the active response.
        assert a is not None and bee is not None
        assert (a.status, bee.status, bee.done) == (
            "cancelled",
            "in_progress",
            False,
        )
        assert convo.state.active_response is bee
        done = await convo.wait_response_done()
        assert done is bee and bee.status == "completed"
        assert trio.current_time() - start >= 3


BAD_DONE = {
    "type": "response.done",
    "event_id": "ev_bad_done",
    "response": {**_response("resp_A", "completed"), "usage": "a lot"},
}


async def test_a_malformed_response_done_does_not_leave_create_response_waiting(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        count = 0
        while True:
            data = json.loads(await ws.get_message())
            if data["type"] != "response.create":
                continue
            count += 1
            rid = f"resp_{'AB'[count - 1]}"
            metadata = data.get("response", {}).get("metadata")
            await _send(
                ws,
                {
                    "type": "response.created",
                    "event_id": f"c{count}",
                    "response": _response(rid, "in_progress", metadata),
                },
            )
            await trio.sleep(1)
            if count == 1:
                await ws.send_message(json.dumps(BAD_DONE))
            else:
                await _send(
                    ws,
                    {
                        "type": "response.done",
                        "event_id": "d2",
                        "response": _response(rid, "completed"),
                    },
                )

    server = FakeServer(nursery, script=script)
    async with (
        realtime_trio.open_realtime(
            model="gpt-realtime",
            api_key="sk-test",
            url="ws://fake/v1/realtime",
            connect_stream=server.connect_stream,
        ) as conn,
        realtime_trio.open_conversation(conn) as convo,
    ):
        received: list[Any] = []

        async def consume() -> None:
            async for event in convo:
                received.append(event)

        nursery.start_soon(consume)
        with trio.fail_after(WAIT):
            await convo.create_response()
            second = await convo.create_response()  # waits for A's (malformed) end
            done_a = await convo.wait_response_done("resp_A")
            done_b = await convo.wait_response_done(second.id)
    assert second.id == "resp_B"
    assert (done_a.status, done_a.done, done_a.usage) == ("completed", True, None)
    assert done_b.status == "completed"
    assert any(
        isinstance(e, events.InvalidEvent) and e.type == "response.done"
        for e in received
    )
