"""A phone agent's handler, end to end: simulated SIP call, signed webhook, call server, handler.

The talk is the caller: it presses keys (`Talk.dtmf`) and follows the call's
sideband from the simulator's side. Sockets are involved (the SIP call
server is an HTTP server), so the talk runs the mock clock at real-time rate.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from realtime_trio import events
from realtime_trio.calls import IncomingCall
from realtime_trio.scripted import ScriptedError, Target
from realtime_trio.testing import Rule, Say, Scenario

SCENARIO = Scenario(
    rules=[Rule(text="balance", steps=[Say(text="Your balance is 42 euros.")])]
)


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
        with pytest.raises(ScriptedError, match="SIP talk"):
            await talk.say("hello")
        await talk.dtmf("1")
        reply = await talk.expect_reply(contains="42 euros")
        await talk.dtmf("#")
        closed = await talk.expect_closed()
    assert reply.status == "completed"
    assert not closed.broken
    assert [t.kind for t in talk.turns] == ["dtmf", "dtmf"]
    assert isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)


async def test_a_sip_talk_needs_the_simulator_and_a_handler() -> None:
    with pytest.raises(ScriptedError, match="simulator only"):
        async with Target.url("ws://127.0.0.1:9/v1/realtime").talk(
            sip=True, handler=menu_handler
        ):
            pass  # pragma: no cover
    with pytest.raises(ScriptedError, match="needs handler="):
        async with Target.simulator().talk(sip=True):
            pass  # pragma: no cover
