"""The phone agent that ``phone_menu.yaml`` tests: a keypad menu on a SIP call.

The caller hears a greeting with the menu; 1 tells the opening hours, 0
asks for a person (the agent transfers the call), # ends the call.
"""

from __future__ import annotations

from realtime_trio import events
from realtime_trio.calls import IncomingCall

OPERATOR = "tel:+14155550100"


async def handler(call: IncomingCall) -> None:
    """Answer one call: the menu, then what each key asks for."""
    conn = call.connection
    await conn.create_response(
        events.ResponseCreateParams(
            instructions="Greet the caller: press 1 for opening hours, 0 for a person."
        )
    )
    async for event in conn:  # ends when the call does
        match event:
            case events.InputAudioBufferDtmfEventReceived(event="1"):
                await conn.create_response(
                    events.ResponseCreateParams(
                        instructions="Say that we are open from 9 to 5, Monday to Friday."
                    )
                )
            case events.InputAudioBufferDtmfEventReceived(event="0"):
                await call.refer(OPERATOR)
            case events.InputAudioBufferDtmfEventReceived(event="#"):
                break
    await call.hangup()  # does nothing if the call already ended
