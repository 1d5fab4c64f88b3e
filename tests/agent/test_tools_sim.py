"""Tools against the simulator: one call, parallel calls, failures, time limits, barge-in."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio.testing

import realtime_trio
from realtime_trio import events, function_tool
from realtime_trio.testing import (
    CallTool,
    RealtimeSimulator,
    Rule,
    Say,
    Scenario,
    silence,
    tone,
)
from tests.helpers.client_sim import connect

from .sim import TEXT_ONLY, client_events, client_types, conversation, user_text, vad

CALLS: list[tuple[str, float]] = []


@function_tool
async def get_weather(city: str) -> dict[str, Any]:
    """The current weather in a city.

    Args:
        city: The city's name.
    """
    CALLS.append((f"weather:{city}", trio.current_time()))
    await trio.sleep(2)
    return {"city": city, "sky": "sunny"}


@function_tool
async def get_time(city: str) -> str:
    """The local time in a city."""
    CALLS.append((f"time:{city}", trio.current_time()))
    await trio.sleep(1)
    return "noon"


@function_tool
async def broken(city: str) -> str:
    """Always fails."""
    raise LookupError(f"no station in {city}")


@function_tool(time_limit=1)
async def slow(city: str) -> str:
    """Takes too long."""
    await trio.sleep(30)
    return "never"


@function_tool
async def endless(city: str) -> str:
    """Outlives a barge-in."""
    await trio.sleep_forever()
    raise AssertionError


def scenario(*calls: tuple[str, dict[str, Any]], answer: str | None = None) -> Scenario:
    rules = [
        Rule(
            text="please",
            times=1,
            steps=[CallTool(name=n, arguments=a) for n, a in calls],
        )
    ]
    if answer is not None:
        rules.append(Rule(steps=[Say(text=answer)]))
    return Scenario(rules=rules)


def outputs(sim: RealtimeSimulator) -> list[tuple[str, Any]]:
    return [
        (
            e.item.call_id,
            json.loads(e.item.output)
            if e.item.output.startswith("{")
            else e.item.output,
        )
        for e in client_events(sim, events.ConversationItemCreate)
        if isinstance(e.item, events.FunctionCallOutputItem)
    ]


async def test_one_call_is_answered_and_followed_by_a_response(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(
        scenario=scenario(("get_weather", {"city": "Paris"}), answer="Sunny in Paris.")
    )
    async with conversation(sim, nursery, session=TEXT_ONLY, tools=[get_weather]) as (
        conn,
        convo,
        collector,
    ):
        await conn.create_item(user_text("Weather, please"))
        first = await convo.create_response()
        await collector.until(events.ResponseDone, lambda e: e.response.id != first.id)
        stats = convo.statistics()
        session = conn.session
    (call,) = [i for i in convo.state.items if i.type == "function_call"]
    assert (call.name, call.arguments, json.loads(call.output or "")) == (
        "get_weather",
        '{"city": "Paris"}',
        {"city": "Paris", "sky": "sunny"},
    )
    assert convo.state.transcript()[-1] == ("assistant", "Sunny in Paris.")
    assert (stats.tool_calls, stats.follow_ups, stats.tool_errors) == (1, 1, 0)
    # The definition went out with the session.
    assert [t.name for t in session.tools] == ["get_weather"]  # type: ignore[union-attr]
    assert session.tools[0].parameters["required"] == ["city"]  # type: ignore[union-attr]
    types = client_types(sim)
    assert types[-2:] == ["conversation.item.create", "response.create"]


async def test_parallel_calls_are_answered_before_one_follow_up(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    CALLS.clear()
    sim = RealtimeSimulator(
        scenario=scenario(
            ("get_weather", {"city": "Paris"}),
            ("get_time", {"city": "Paris"}),
            answer="Noon and sunny.",
        )
    )
    async with conversation(
        sim, nursery, session=TEXT_ONLY, tools=[get_weather, get_time]
    ) as (conn, convo, collector):
        await conn.create_item(user_text("Weather and time, please"))
        first = await convo.create_response()
        await collector.until(events.ResponseDone, lambda e: e.response.id != first.id)
        stats = convo.statistics()
    # Both ran at once (the slower one did not wait for the other).
    assert [name for name, _ in CALLS] == ["weather:Paris", "time:Paris"]
    assert CALLS[0][1] == CALLS[1][1]
    first_response = convo.state.response(first.id)
    assert first_response is not None and len(first_response.output_item_ids) == 2
    assert sorted(o for _, o in outputs(sim) if isinstance(o, str)) == ["noon"]
    assert len(outputs(sim)) == 2
    types = client_types(sim)
    # Two outputs, then one response.create (the follow-up).
    assert types[-3:] == [
        "conversation.item.create",
        "conversation.item.create",
        "response.create",
    ]
    assert (stats.tool_calls, stats.follow_ups) == (2, 1)
    assert convo.state.transcript()[-1] == ("assistant", "Noon and sunny.")


async def test_a_tool_that_raises_gives_the_model_an_error_it_can_read(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(scenario=scenario(("broken", {"city": "Atlantis"})))
    async with conversation(sim, nursery, session=TEXT_ONLY, tools=[broken]) as (
        conn,
        convo,
        collector,
    ):
        await conn.create_item(user_text("Weather, please"))
        first = await convo.create_response()
        await collector.until(events.ResponseDone, lambda e: e.response.id != first.id)
        stats = convo.statistics()
    ((_, output),) = outputs(sim)
    assert output == {"error": "LookupError: no station in Atlantis"}
    # The simulated model reads it back ("The <name> tool returned: <output>").
    assert "no station in Atlantis" in convo.state.transcript()[-1][1]
    assert (stats.tool_errors, stats.follow_ups) == (1, 1)


async def test_a_tool_over_its_time_limit_is_cancelled_and_the_model_told(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(scenario=scenario(("slow", {"city": "Paris"})))
    async with conversation(sim, nursery, session=TEXT_ONLY, tools=[slow]) as (
        conn,
        convo,
        collector,
    ):
        await conn.create_item(user_text("Weather, please"))
        first = await convo.create_response()
        start = trio.current_time()
        await collector.until(events.ResponseDone, lambda e: e.response.id != first.id)
        assert trio.current_time() - start < 2
        stats = convo.statistics()
    ((_, output),) = outputs(sim)
    assert output == {
        "error": "the tool slow did not finish within its time limit of 1 s"
    }
    assert (stats.tool_timeouts, stats.follow_ups) == (1, 1)


async def test_arguments_that_do_not_fit_are_an_error_output(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(scenario=scenario(("get_weather", {"city": 42})))
    async with conversation(sim, nursery, session=TEXT_ONLY, tools=[get_weather]) as (
        conn,
        convo,
        collector,
    ):
        await conn.create_item(user_text("Weather, please"))
        first = await convo.create_response()
        await collector.until(events.ResponseDone, lambda e: e.response.id != first.id)
    ((_, output),) = outputs(sim)
    assert output["error"].startswith("ToolArgumentsError: invalid argument 'city'")


async def test_a_call_that_outlives_a_barge_in_is_cancelled(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(
        realtime=True, scenario=scenario(("endless", {"city": "Paris"}))
    )
    async with conversation(
        sim, nursery, session=vad(create_response=False), tools=[endless]
    ) as (conn, convo, collector):
        await conn.create_item(user_text("Weather, please"))
        await convo.create_response()
        await collector.until(events.ResponseDone)
        await trio.testing.wait_all_tasks_blocked()
        assert convo.statistics().tool_calls_running == 1
        await conn.send_audio(tone(400) + silence(800))
        interruption = await collector.until(realtime_trio.Interruption)
        await collector.until(events.InputAudioBufferCommitted)
        stats = convo.statistics()
    assert interruption.tools_cancelled == 1
    assert (interruption.cancelled, interruption.audio_end_ms) == (False, None)
    assert (stats.tool_calls_cancelled, stats.tool_calls_running, stats.follow_ups) == (
        1,
        0,
        0,
    )
    assert outputs(sim) == []  # no output for a cancelled call
    assert client_types(sim).count("response.create") == 1


async def test_calls_of_other_functions_are_left_to_the_application(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(
        scenario=scenario(("get_weather", {"city": "Paris"}), ("lookup", {}))
    )
    existing = events.FunctionTool(
        name="lookup", description="Look something up.", parameters={"type": "object"}
    )
    old_weather = events.FunctionTool(
        name="get_weather", description="old", parameters={"type": "object"}
    )
    session = events.SessionConfig(
        output_modalities=("text",), tools=(existing, old_weather)
    )
    async with conversation(sim, nursery, session=session, tools=[get_weather]) as (
        conn,
        convo,
        collector,
    ):
        tools = conn.session.tools  # type: ignore[union-attr]
        assert [(t.name, t.description) for t in tools] == [
            ("lookup", "Look something up."),
            ("get_weather", "The current weather in a city."),
        ]
        await conn.create_item(user_text("Weather, please"))
        await convo.create_response()
        await collector.until(events.ResponseDone)
        await trio.sleep(5)
        stats = convo.statistics()
    # The layer answered its own call, not the application's, and so did not
    # ask for the next response either: that is the application's to do.
    assert len(outputs(sim)) == 1
    assert (stats.tool_calls, stats.follow_ups) == (1, 0)
    assert client_types(sim).count("response.create") == 1


async def test_two_tools_of_one_name_are_refused(nursery: trio.Nursery) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery) as conn:
        with pytest.raises(ValueError, match="two tools are named 'get_weather'"):
            async with realtime_trio.open_conversation(
                conn, tools=[get_weather, get_weather]
            ):
                raise AssertionError("not reached")
        not_a_tool: Any = get_weather.function
        with pytest.raises(TypeError, match="@function_tool"):
            async with realtime_trio.open_conversation(conn, tools=[not_a_tool]):
                raise AssertionError("not reached")
