"""The built-in demo handler of ``realtime-trio sip-serve``: greet, talk, hang up.

The model does the talking (server VAD answers the caller by itself); the
handler greets the caller, gives the model an ``end_call`` tool, and hangs up
when the model calls it (after its goodbye has played), when the caller
presses ``#``, or after ``max_call_seconds``.
"""

from __future__ import annotations

from typing import Final

import trio

from .._core.client_events import ConversationItemCreate
from .._core.item_models import FunctionCallOutputItem
from .._core.response_models import ResponseCreateParams
from .._core.server_events import (
    InputAudioBufferDtmfEventReceived,
    OutputAudioBufferStopped,
    ResponseDone,
    ResponseFunctionCallArgumentsDone,
)
from .._core.session_models import FunctionTool, SessionConfig
from .._sip.call import CallHandler, IncomingCall, logger

#: The demo's default instructions.
DEMO_INSTRUCTIONS: Final = (
    "You are a friendly, concise phone assistant. Speak briefly. "
    "When the caller says goodbye or has nothing more to ask, say goodbye "
    "and call the end_call tool."
)
#: How the demo greets the caller.
DEMO_GREETING: Final = (
    "Greet the caller warmly in one short sentence and ask how you can help."
)
#: Seconds to wait for the goodbye to finish playing before hanging up.
GOODBYE_GRACE: Final = 5.0

END_CALL_TOOL: Final = FunctionTool(
    name="end_call",
    description="Hang up the phone call. Call it after saying goodbye.",
    parameters={"type": "object", "properties": {}, "additionalProperties": False},
)


def demo_session(
    instructions: str = DEMO_INSTRUCTIONS, *, model: str = "gpt-realtime"
) -> SessionConfig:
    """The session the demo accepts calls with: instructions and the ``end_call`` tool."""
    return SessionConfig(model=model, instructions=instructions, tools=(END_CALL_TOOL,))


def make_demo_handler(
    *,
    max_call_seconds: float = 300.0,
    greeting: str = DEMO_GREETING,
    goodbye_grace: float = GOODBYE_GRACE,
) -> CallHandler:
    """Build the demo handler (see the module docstring).

    Args:
        max_call_seconds: Hang up after this long, whatever is going on.
        greeting: The instructions of the first response.
        goodbye_grace: After ``end_call``, how long to wait for the goodbye to
            finish playing (``output_audio_buffer.stopped``) before hanging up.
    """

    async def demo_handler(call: IncomingCall) -> None:
        conn = call.connection
        logger.info("call %s: greeting the caller", call.call_id)
        with trio.move_on_after(max_call_seconds) as limit:
            await conn.create_response(ResponseCreateParams(instructions=greeting))
            goodbye_id: object = None
            ending = False
            grace = trio.CancelScope()
            with grace:
                async for event in conn:
                    match event:
                        case ResponseFunctionCallArgumentsDone(
                            name="end_call", call_id=tool_call_id
                        ):
                            ending = True
                            await conn.send(
                                ConversationItemCreate(
                                    item=FunctionCallOutputItem(
                                        call_id=tool_call_id, output='{"ok": true}'
                                    )
                                )
                            )
                        case ResponseDone(response=response) if ending:
                            if goodbye_id is None or response.id == goodbye_id:
                                # The goodbye was generated; let it play out.
                                grace.deadline = trio.current_time() + goodbye_grace
                                goodbye_id = response.id
                        case OutputAudioBufferStopped(response_id=rid) if (
                            ending and rid == goodbye_id
                        ):
                            break
                        case InputAudioBufferDtmfEventReceived(event="#"):
                            logger.info("call %s: caller pressed #", call.call_id)
                            break
        if limit.cancelled_caught:
            logger.info("call %s: time limit reached", call.call_id)
        await call.hangup()

    return demo_handler


__all__ = [
    "DEMO_GREETING",
    "DEMO_INSTRUCTIONS",
    "END_CALL_TOOL",
    "demo_session",
    "make_demo_handler",
]
