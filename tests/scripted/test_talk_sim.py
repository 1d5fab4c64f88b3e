"""Scripted conversations against the simulator, through the `realtime` fixture.

The plugin gives these tests a MockClock with autojump (they ask for no
clock), so every talk runs at the simulator's real-time pace at no cost.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from realtime_trio import function_tool
from realtime_trio.scripted import ExpectationFailed, ScriptedError, Target
from realtime_trio.testing import CallTool, DropConnection, Fail, Rule, Say, Scenario

STORY = "Once upon a time " + "there was a long story about the sea and its ships. " * 6

WEATHER = Scenario(
    rules=[
        Rule(
            text="weather",
            steps=[
                CallTool(name="get_weather", arguments={"city": "Paris", "unit": "c"})
            ],
        ),
        Rule(tool="get_weather", steps=[Say(text="It is 22 degrees in Paris.")]),
        Rule(text="story", steps=[Say(text=STORY)]),
        Rule(text="stop", steps=[Say(text="Okay, I stop.")]),
        Rule(text="fail", steps=[Fail(code="server_error", message="the model broke")]),
        Rule(text="drop", steps=[DropConnection()]),
    ]
)


@function_tool
async def get_weather(city: str, unit: str = "c") -> dict[str, Any]:
    """The weather of a city.

    Args:
        city: The city.
        unit: c or f.
    """
    await trio.lowlevel.checkpoint()
    return {"city": city, "temp_c": 22}


async def test_the_plugin_runs_the_simulator_on_an_autojump_clock(
    realtime: Any,
) -> None:
    clock = trio.lowlevel.current_clock()
    assert isinstance(clock, trio.testing.MockClock)
    assert clock.autojump_threshold == 0
    assert realtime.kind == "simulator"


async def test_a_registered_tool_answers_then_the_reply(realtime: Any) -> None:
    async with realtime.talk(tools=[get_weather], scenario=WEATHER) as talk:
        turn = await talk.say("What's the weather in Paris?")
        call = await talk.expect_tool_call("get_weather", arguments={"city": "Paris"})
        assert call.answered and call.arguments == {"city": "Paris", "unit": "c"}
        reply = await talk.expect_reply(contains="22")
        await talk.expect_first_audio()
    assert reply.text == "It is 22 degrees in Paris." and reply.status == "completed"
    assert len(turn.response_ids) == 2  # the call, then the answer
    assert turn.time_to_first_audio is not None and 0 < turn.time_to_first_audio < 1
    outputs = [i for i in talk.state.items if i.type == "function_call_output"]
    assert [o.output for o in outputs] == ['{"city": "Paris", "temp_c": 22}']


async def test_a_session_mapping_without_its_type_is_a_realtime_session(
    realtime: Any,
) -> None:
    """The API refuses a session without ``type``; the driver adds ``realtime``."""
    session = {"instructions": "Answer about the weather."}
    async with realtime.talk(session=session, scenario=WEATHER) as talk:
        await talk.send_text("the weather?")
        await talk.expect_tool_call("get_weather", output={"temp_c": 22})
        await talk.expect_reply(contains="22")
    assert talk.state.session is not None
    assert talk.state.session.instructions == "Answer about the weather."


async def test_an_unregistered_call_is_answered_with_output(realtime: Any) -> None:
    async with realtime.talk(scenario=WEATHER) as talk:
        await talk.send_text("weather in Paris?")
        call = await talk.expect_tool_call(
            "get_weather",
            arguments={"city": "Paris"},
            output=lambda args: {"temp_c": 22},
        )
        assert not call.answered
        await talk.expect_reply(matches=r"\b22 degrees")
    (output,) = [i for i in talk.state.items if i.type == "function_call_output"]
    assert output.output == '{"temp_c": 22}'


async def test_a_barge_in_cancels_the_answer_and_truncates_at_most_what_was_played(
    realtime: Any,
) -> None:
    async with realtime.talk(scenario=WEATHER) as talk:
        await talk.say("Tell me a long story.")
        turn = await talk.say("Stop", barge_in_after=0.3)
        interrupted = await talk.expect_response(status="cancelled")
        interruption = await talk.expect_truncated()
        await talk.expect_reply(contains="I stop")
    assert turn.interrupted_response_id == interrupted.id
    assert turn.played_at_barge_in == pytest.approx(0.3)
    assert interruption.audio_end_ms is not None
    assert 300 <= interruption.audio_end_ms <= interruption.played_ms
    item = talk.state.item(interruption.item_id or "")
    assert item is not None and item.audio_end_ms == interruption.audio_end_ms


async def test_typing_over_an_answer_interrupts_it(realtime: Any) -> None:
    async with realtime.talk(scenario=WEATHER) as talk:
        await talk.send_text("Tell me a long story.")
        await talk.send_text("stop", barge_in_after=0.5)
        await talk.expect_response(status="cancelled")
        interruption = await talk.expect_truncated()
        await talk.expect_reply(contains="stop")
    assert interruption.reason == "interrupt" and interruption.audio_end_ms == 500


async def test_an_error_and_a_failed_response(realtime: Any) -> None:
    async with realtime.talk(scenario=WEATHER) as talk:
        await talk.send_text("please fail")
        error = await talk.expect_error("server_error")
        response = await talk.expect_response(status="failed")
    assert error.message == "the model broke" and response.done


async def test_a_dropped_connection(realtime: Any) -> None:
    async with realtime.talk(scenario=WEATHER) as talk:
        await talk.send_text("drop the line")
        closed = await talk.expect_closed()
        with pytest.raises(ExpectationFailed, match="the connection ended"):
            await talk.expect_reply()
    assert closed.broken and closed.closed_by == "server"


async def test_silence_gets_no_reply(realtime: Any) -> None:
    async with realtime.talk(scenario=WEATHER) as talk:
        await talk.silence(1.0)
        await talk.expect_no_reply(within=2.0)
        await talk.send_text("Tell me a story")
        with pytest.raises(ExpectationFailed) as failed:
            await talk.expect_no_reply(within=2.0)
    assert "expected no reply within 2 s" in str(failed.value)


async def test_a_wrong_reply_fails_at_once_saying_what_came(realtime: Any) -> None:
    async with realtime.talk(scenario=WEATHER) as talk:
        await talk.say("Stop")
        started = trio.current_time()
        with pytest.raises(ExpectationFailed) as failed:
            await talk.expect_reply(contains="sunny", within=30)
        assert trio.current_time() - started < 5  # decided by the reply, not the limit
    message = str(failed.value)
    assert message.startswith("expected a reply containing 'sunny'\n")
    assert "got the reply 'Okay, I stop.'" in message
    assert (
        "transcript so far:\n  user: (audio)\n  assistant: 'Okay, I stop.'" in message
    )
    assert "response.done resp_" in message and "completed" in message
    assert "after " in message and " s of conversation" in message
    assert "wire recording: none" in message
    assert failed.value.expected == "a reply containing 'sunny'"


async def test_a_failure_shows_the_tool_calls_in_the_transcript(realtime: Any) -> None:
    async with realtime.talk(tools=[get_weather], scenario=WEATHER) as talk:
        await talk.say("What's the weather in Paris?")
        with pytest.raises(ExpectationFailed) as failed:
            await talk.expect_reply(contains="snow")
    assert (
        "  user: (audio)\n"
        '  tool: get_weather({"city": "Paris", "unit": "c"})'
        ' -> {"city": "Paris", "temp_c": 22}\n'
        "  assistant: 'It is 22 degrees in Paris.'"
    ) in str(failed.value)


async def test_a_missing_tool_call_lists_the_calls_made(realtime: Any) -> None:
    async with realtime.talk(scenario=WEATHER) as talk:
        await talk.send_text("weather?")
        with pytest.raises(ExpectationFailed) as failed:
            await talk.expect_tool_call(
                "get_weather", arguments={"city": "Rome"}, within=3
            )
    message = str(failed.value)
    assert (
        "expected a call of 'get_weather' with arguments including {'city': 'Rome'}"
        in message
    )
    assert 'got calls get_weather({"city": "Paris", "unit": "c"}) within 3 s' in message


async def test_barging_into_an_answer_that_ends_first_fails(realtime: Any) -> None:
    async with realtime.talk(scenario=WEATHER) as talk:
        await talk.send_text("stop")
        with pytest.raises(ExpectationFailed) as failed:
            await talk.send_text("more", barge_in_after=5.0)
    assert "expected 5 s of the answer played, to barge in" in str(failed.value)
    assert "ended after 0.780 s played" in str(failed.value)


async def test_dtmf_needs_a_simulated_sip_call(realtime: Any) -> None:
    async with realtime.talk(scenario=WEATHER) as talk:
        with pytest.raises(ScriptedError, match=r"dtmf\(\) needs a simulated SIP call"):
            await talk.dtmf("1")


async def test_say_without_espeak_asks_for_audio(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from realtime_trio._scripted.voice import espeak_speech

    monkeypatch.setenv("PATH", "")
    with pytest.raises(
        ScriptedError, match=r"espeak-ng is not on the PATH.*send_audio"
    ):
        await espeak_speech("hello")


def test_targets() -> None:
    with pytest.raises(ValueError, match="ws:// or wss://"):
        Target.url("http://example.invalid")
    target = Target.url("wss://example.invalid/v1/realtime", api_key="sk-secret")
    assert "sk-secret" not in repr(target) and not target.uses_mock_clock
    recorded = Target.simulator().recording_to("/tmp/rec", elide_audio=True)
    assert recorded.uses_mock_clock and recorded.elide_audio
    assert (
        str(recorded.recording_path("tests/a.py::test_b[x]"))
        == "/tmp/rec/tests_a.py_test_b_x.jsonl"
    )


async def test_a_request_the_server_never_acknowledges_fails_within_the_limit(
    realtime: Any,
) -> None:
    """A server alive (it answers pings) that never acknowledges a message
    must not hold the turn forever: send_text, a commit and a tool's output
    are awaited within the talk's limit (10 s against the simulator)."""
    async with realtime.talk(scenario=WEATHER) as talk:
        started = trio.current_time()
        with pytest.raises(ExpectationFailed) as failed:
            await talk._acked("the user's message", trio.sleep_forever)
        assert trio.current_time() - started == pytest.approx(10.0)
    message = str(failed.value)
    assert message.startswith(
        "expected the server to acknowledge the user's message\n"
        "     got no answer within 10 s"
    )
