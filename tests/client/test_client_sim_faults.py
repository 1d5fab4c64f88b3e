"""The simulator through our own client: scripted scenarios, connection faults, load."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

import realtime_trio
from realtime_trio import CloseReason, ConnectionBroken, RealtimeConnection, events
from realtime_trio.testing import (
    CloseConnection,
    ConnectionFault,
    Delay,
    DropConnection,
    Fail,
    RealtimeSimulator,
    Rule,
    Say,
    Scenario,
    open_simulator,
)
from tests.helpers.client_sim import (
    KEY,
    TEXT_ONLY,
    WAIT,
    connect,
    of_type,
    receive_until,
    user_text,
    wait_closed,
    wire_types,
)


async def _ask(conn: RealtimeConnection, text: str) -> None:
    await conn.create_item(user_text(text))
    await conn.create_response()


async def _answer(conn: RealtimeConnection, text: str) -> list[Any]:
    await _ask(conn, text)
    return await receive_until(conn, events.ResponseDone)


def _said(received: list[Any]) -> list[str]:
    return [e.text for e in of_type(received, events.ResponseOutputTextDone)]


# --- scenario scripting --------------------------------------------------------------------


async def test_rules_choose_the_answer_by_text_pattern_turn_and_times(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    scenario = Scenario(
        rules=[
            Rule(turn=1, steps=[Say(text="Welcome!")]),
            Rule(text="PARIS", times=1, steps=[Say(text="Paris is lovely.")]),
            Rule(pattern=r"^\d+$", steps=[Say(text="That is a number.")]),
        ]
    )
    sim = RealtimeSimulator(scenario=scenario)
    async with connect(sim, nursery, session=TEXT_ONLY) as conn:
        said = []
        for text in ("paris", "Tell me about paris", "42", "Paris again", "x42"):
            said += _said(await _answer(conn, text))
    assert said == [
        "Welcome!",  # turn 1 wins over the text rule
        "Paris is lovely.",  # text matches case-insensitively
        "That is a number.",
        "You said: Paris again",  # times=1 is used up: the default echo
        "You said: x42",  # the pattern is anchored
    ]


async def test_forced_tool_choice_calls_the_function(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery, session=TEXT_ONLY) as conn:
        await conn.create_item(user_text("Look it up"))
        await conn.create_response(
            events.ResponseCreateParams(
                tool_choice=events.ToolChoiceFunction(name="lookup")
            )
        )
        received = await receive_until(conn, events.ResponseDone)
    (call,) = received[-1].response.output
    assert isinstance(call, events.FunctionCallItem)
    assert (call.name, call.arguments) == ("lookup", "{}")


async def test_fail_step_sends_an_error_and_a_failed_response(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    crash = Fail(message="The simulated model crashed.", code="model_crashed")
    sim = RealtimeSimulator(
        scenario=Scenario(rules=[Rule(text="crash", times=1, steps=[crash])])
    )
    async with connect(sim, nursery, session=TEXT_ONLY) as conn:
        await conn.create_item(user_text("crash now"))
        created = await conn.create_response()  # the failure comes after
        received = await receive_until(conn, events.ResponseDone)
        assert wire_types(received)[-4:] == [
            "response.created",
            "rate_limits.updated",
            "error",
            "response.done",
        ]
        (error,) = of_type(received, events.ErrorEvent)
        assert error.error == events.ErrorDetail(
            type="server_error",
            code="model_crashed",
            message="The simulated model crashed.",
            param=None,
            event_id=None,
        )
        done = received[-1].response
        assert (done.id, done.status, done.output) == (created.id, "failed", ())
        assert done.status_details == events.StatusDetails(
            type="failed",
            error=events.StatusError(type="server_error", code="model_crashed"),
        )
        # Not fatal: the next turn is answered.
        assert _said(await _answer(conn, "crash again")) == ["You said: crash again"]


async def test_delay_step_waits_on_the_trio_clock(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    steps = [Say(text="One."), Delay(seconds=2.5), Say(text="Two.")]
    sim = RealtimeSimulator(scenario=Scenario(rules=[Rule(steps=steps)]))
    async with connect(sim, nursery, session=TEXT_ONLY) as conn:
        await _ask(conn, "Count")
        stamps = []
        with trio.fail_after(WAIT):
            async for event in conn:
                if isinstance(
                    event,
                    events.ResponseOutputItemDone | events.ResponseOutputItemAdded,
                ):
                    stamps.append((wire_types([event])[0], trio.current_time()))
                if isinstance(event, events.ResponseDone):
                    break
    assert [kind for kind, _ in stamps] == [
        "response.output_item.added",
        "response.output_item.done",
        "response.output_item.added",
        "response.output_item.done",
    ]
    assert stamps[2][1] - stamps[1][1] == pytest.approx(2.5)
    assert event.response.output[1].content == (events.OutputText(text="Two."),)


# --- the connection ends ------------------------------------------------------------------


async def test_close_step_surfaces_as_connection_broken_with_its_code(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    steps = [Say(text="Goodbye!"), CloseConnection(code=4001, reason="scripted close")]
    sim = RealtimeSimulator(scenario=Scenario(rules=[Rule(steps=steps)]))
    received: list[Any] = []
    with pytest.raises(ConnectionBroken) as info:
        async with connect(sim, nursery, session=TEXT_ONLY) as conn:
            await _ask(conn, "bye")
            with trio.fail_after(WAIT):
                async for event in conn:
                    received.append(event)
    assert info.value.close_reason == CloseReason(4001, "scripted close")
    assert conn.close_reason == CloseReason(4001, "scripted close")
    # Everything sent before the close was delivered first; no response.done.
    assert wire_types(received)[-3:] == [
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
    ]
    assert _said(received) == ["Goodbye!"]
    await wait_closed(sim)
    record = sim.connections[0]
    assert (record.close_code, record.close_reason, record.closed_by) == (
        4001,
        "scripted close",
        "server",
    )


async def test_close_1000_ends_iteration_cleanly(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(
        scenario=Scenario(rules=[Rule(steps=[Say(text="Bye."), CloseConnection()])])
    )
    async with connect(sim, nursery, session=TEXT_ONLY) as conn:
        await _ask(conn, "bye")
        with trio.fail_after(WAIT):
            received = [event async for event in conn]
        assert _said(received) == ["Bye."]
        assert conn.close_reason == CloseReason(1000, None)
        # A request after the end fails instead of waiting forever.
        with trio.fail_after(WAIT), pytest.raises(realtime_trio.RealtimeError):
            await conn.update_session(TEXT_ONLY)


async def test_drop_step_surfaces_as_connection_broken(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(scenario=Scenario(rules=[Rule(steps=[DropConnection()])]))
    with pytest.raises(ConnectionBroken) as info:
        async with connect(sim, nursery, session=TEXT_ONLY) as conn:
            await _ask(conn, "hello")
            with trio.fail_after(WAIT):
                async for _ in conn:
                    pass
    assert info.value.close_reason is not None
    assert info.value.close_reason.code == 1006  # no closing handshake
    await wait_closed(sim)
    assert (sim.connections[0].close_code, sim.connections[0].closed_by) == (
        1006,
        "server",
    )


@pytest.mark.parametrize("drop", [False, True])
async def test_connection_fault_after_n_events(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, drop: bool
) -> None:
    fault = ConnectionFault(
        after_events=5, drop=drop, code=1011, reason="simulated fault"
    )
    sim = RealtimeSimulator(scenario=Scenario(faults=[fault]))
    received: list[Any] = []
    with pytest.raises(ConnectionBroken) as info:
        async with connect(sim, nursery) as conn:
            await _ask(conn, "hello")
            with trio.fail_after(WAIT):
                async for event in conn:
                    received.append(event)
    assert wire_types(received) == [
        "session.created",
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
        "rate_limits.updated",
    ]
    assert conn.statistics().events_received == 5
    expected = CloseReason(1006, None) if drop else CloseReason(1011, "simulated fault")
    assert info.value.close_reason is not None
    assert (info.value.close_reason.code, info.value.close_reason.reason or None) == (
        expected.code,
        expected.reason,
    )


async def test_a_pending_request_fails_when_the_connection_breaks(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    # The fault fires right after the user item's two events.
    sim = RealtimeSimulator(scenario=Scenario(faults=[ConnectionFault(after_events=3)]))
    with pytest.raises(ConnectionBroken) as info:
        async with connect(sim, nursery) as conn:
            await conn.create_item(user_text("hello"))
            with trio.fail_after(WAIT):
                await conn.create_response()
    assert info.value.close_reason == CloseReason(1011, "simulated fault")


async def test_session_expiry_errors_then_closes_1001(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(session_duration=60.0)
    received: list[Any] = []
    start = trio.current_time()
    with pytest.raises(ConnectionBroken) as info:
        async with connect(sim, nursery) as conn:
            with trio.fail_after(WAIT * 3):
                async for event in conn:
                    received.append(event)
    assert trio.current_time() - start == pytest.approx(60.0)
    message = "Your session hit the maximum duration of 60 minutes."
    assert wire_types(received) == ["session.created", "error"]
    assert (received[1].error.code, received[1].error.message) == (
        "session_expired",
        message,
    )
    assert info.value.close_reason == CloseReason(1001, message)


async def test_a_message_over_four_times_the_limit_closes_1009(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(max_message_size=1000)
    with pytest.raises(ConnectionBroken) as info:
        async with connect(sim, nursery) as conn:
            await conn.receive()
            await conn.send(events.ConversationItemCreate(item=user_text("x" * 5000)))
            with trio.fail_after(WAIT):
                await conn.receive()
    assert info.value.close_reason is not None
    assert info.value.close_reason.code == 1009


# --- many clients over real loopback ----------------------------------------------------------


async def test_200_concurrent_clients_over_loopback() -> None:
    answers: dict[int, str] = {}
    session_ids: set[str] = set()

    async def client(sim: Any, n: int) -> None:
        async with realtime_trio.open_realtime(
            model="gpt-realtime", url=sim.url, api_key=KEY, session=TEXT_ONLY
        ) as conn:
            assert isinstance(conn.session, events.SessionConfig)
            session_ids.add(str(conn.session.id))
            await conn.create_item(user_text(f"client {n}"))
            created = await conn.create_response()
            received = await receive_until(
                conn, events.ResponseDone, where=lambda e: e.response.id == created.id
            )
            assert received[-1].response.status == "completed"
            (answers[n],) = _said(received)

    async with open_simulator() as sim:
        with trio.fail_after(15):
            async with trio.open_nursery() as clients:
                for n in range(200):
                    clients.start_soon(client, sim, n)
            for record in sim.connections:
                await record.closed.wait()
        assert len(sim.connections) == 200
        assert {(r.close_code, r.closed_by) for r in sim.connections} == {
            (1000, "client")
        }
    assert answers == {n: f"You said: client {n}" for n in range(200)}
    assert len(session_ids) == 200
