"""A phone agent's handler, end to end: simulated SIP call, signed webhook, call server, handler.

The talk is the caller: it presses keys (`Talk.dtmf`), speaks on the call
(`Talk.say`: the simulator carries the voice to the call's session) and
follows the call's sideband from the simulator's side. Sockets are involved
(the SIP call server is an HTTP server), so the talk runs the mock clock at
real-time rate.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from realtime_trio import events, function_tool, open_conversation
from realtime_trio.calls import IncomingCall
from realtime_trio.scripted import ExpectationFailed, ScriptedError, Target
from realtime_trio.testing import CallTool, Rule, Say, Scenario

SCENARIO = Scenario(
    rules=[Rule(text="balance", steps=[Say(text="Your balance is 42 euros.")])]
)
STORY = "Once upon a time there was a story that went on and on. " * 3
SPOKEN = Scenario(
    rules=[
        Rule(text="balance", steps=[CallTool(name="get_balance", arguments={})]),
        Rule(tool="get_balance", steps=[Say(text="Your balance is 42 euros.")]),
        Rule(text="story", steps=[Say(text=STORY)]),
        Rule(text="stop", steps=[Say(text="Okay, I stop.")]),
    ]
)
TRANSCRIBED = {"audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}}}


@function_tool
async def get_balance() -> dict[str, int]:
    """The caller's balance, in euros."""
    return {"euros": 42}


async def agent_handler(call: IncomingCall) -> None:
    """A phone agent: the conversation layer answers, running its tool."""
    async with open_conversation(call.connection, tools=[get_balance]) as convo:
        async for _ in convo:
            pass


async def menu_handler(call: IncomingCall) -> None:
    """A tiny IVR: 1 reads the balance, # hangs up."""
    conn = call.connection
    async for event in conn:
        match event:
            case events.InputAudioBufferDtmfEventReceived(event="1"):
                await conn.create_item(
                    events.MessageItem(
                        role="user", content=(events.InputText(text="Read my balance"),)
                    )
                )
                await conn.create_response()
            case events.InputAudioBufferDtmfEventReceived(event="#"):
                break
    await call.hangup()


async def test_dtmf_drives_a_sip_handler_end_to_end(realtime: Any) -> None:
    async with realtime.talk(sip=True, handler=menu_handler, scenario=SCENARIO) as talk:
        with pytest.raises(ScriptedError, match="cannot type"):
            await talk.send_text("hello")
        await talk.dtmf("1")
        reply = await talk.expect_reply(contains="42 euros")
        await talk.dtmf("#")
        closed = await talk.expect_closed()
    assert reply.status == "completed"
    assert not closed.broken
    assert [t.kind for t in talk.turns] == ["dtmf", "dtmf"]
    assert isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)


async def test_the_caller_speaks_and_the_handlers_agent_answers(realtime: Any) -> None:
    async with realtime.talk(
        sip=True, handler=agent_handler, scenario=SPOKEN, session=TRANSCRIBED
    ) as talk:
        await talk.silence(0.2)  # the line is open, the caller says nothing yet
        await talk.expect_no_reply(within=0.3)
        await talk.say("What is my balance?")
        call = await talk.expect_tool_call("get_balance")
        reply = await talk.expect_reply(contains="42 euros")
        latency = await talk.expect_first_audio()
    assert reply.status == "completed" and reply.response_id != call.response_id
    assert [t.kind for t in talk.turns] == ["silence", "say"]
    turn = talk.turns[-1]
    # The voice's audio started playing after the end of the caller's speech.
    assert 0 < latency == turn.time_to_first_audio < 3
    assert [(item.role, item.spoken_text) for item in talk.state.items][:1] == [
        ("user", "What is my balance?")
    ]


async def test_the_caller_barges_in_on_a_long_answer(realtime: Any) -> None:
    async with realtime.talk(
        sip=True, handler=agent_handler, scenario=SPOKEN, session=TRANSCRIBED
    ) as talk:
        await talk.say("Tell me a story.")
        await talk.say("Stop.", barge_in_after=0.5)
        story = await talk.expect_response(status="cancelled")
        cut = await talk.expect_truncated()
        await talk.expect_reply(contains="I stop")
    turn = talk.turns[-1]
    assert turn.interrupted_response_id == story.id == cut.response_id
    assert turn.played_at_barge_in is not None and turn.played_at_barge_in >= 0.5
    assert cut.audio_end_ms is not None
    assert 500 <= cut.audio_end_ms <= cut.played_ms
    assert cut.played_ms < 4000  # cut well before the end of the story


async def test_a_barge_in_after_the_answer_ended_fails_like_a_conversation(
    realtime: Any,
) -> None:
    async with realtime.talk(sip=True, handler=agent_handler, scenario=SPOKEN) as talk:
        await talk.say("Stop.")
        with pytest.raises(ExpectationFailed, match=r"ended after \d\.\d+ s played"):
            await talk.say("Hello.", barge_in_after=5.0)


async def test_a_sip_talk_needs_the_simulator_and_a_handler() -> None:
    with pytest.raises(ScriptedError, match="simulator only"):
        async with Target.url("ws://127.0.0.1:9/v1/realtime").talk(
            sip=True, handler=menu_handler
        ):
            pass  # pragma: no cover
    with pytest.raises(ScriptedError, match="needs handler="):
        async with Target.simulator().talk(sip=True):
            pass  # pragma: no cover
