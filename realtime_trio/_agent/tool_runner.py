"""Running tool calls, and asking for the response after them (trio).

The pump starts `run_call` in the conversation's nursery for each complete
function call of a tool the layer knows. A call runs in a cancel scope of
its own, which a barge-in cancels (`ConversationEngine.cancel_tools`); the
end of the conversation cancels them all. A call that returns sends its
``function_call_output``; one that raises, takes longer than its tool's
``time_limit`` or gets arguments that do not fit sends an error output the
model can read. When every call of a response is answered and the response
is done, `follow_up` asks for the next response, through the gate.
"""

from __future__ import annotations

import trio

from .._core.client_events import ConversationItemCreate
from .._core.errors import RealtimeError
from .._core.item_models import FunctionCallOutputItem
from .._core.logs import get_logger
from .engine import ConversationEngine
from .tools import ToolArgumentsError, ToolFunction, error_output, tool_output

logger = get_logger()


async def _answer(
    engine: ConversationEngine, tool: ToolFunction, arguments: str
) -> str:
    """Run the tool; return the output text (an error output if it failed)."""
    counters = engine.counters
    try:
        kwargs = tool.arguments(arguments)
    except ToolArgumentsError as exc:
        counters.tool_errors += 1
        return error_output(exc)
    try:
        if tool.time_limit is None:
            result = await tool.function(**kwargs)
        else:
            with trio.move_on_after(tool.time_limit) as limit:
                result = await tool.function(**kwargs)
            if limit.cancelled_caught:
                counters.tool_timeouts += 1
                return error_output(
                    f"the tool {tool.name} did not finish within its time limit "
                    f"of {tool.time_limit:g} s"
                )
        return tool_output(result)
    except Exception as exc:
        counters.tool_errors += 1
        logger.debug("%r: tool %s raised %r", engine, tool.name, exc, exc_info=True)
        return error_output(exc)


async def run_call(
    engine: ConversationEngine,
    tool: ToolFunction,
    call_id: str,
    arguments: str,
    response_id: str,
) -> None:
    """Run one call, send its output, and follow up when its response is answered."""
    engine.counters.tool_calls += 1
    with trio.CancelScope() as scope:
        engine.running[call_id] = scope
        try:
            output = await _answer(engine, tool, arguments)
        finally:
            del engine.running[call_id]
    if scope.cancelled_caught:
        engine.counters.tool_calls_cancelled += 1
        engine.calls.abandoned(call_id)
        logger.debug("%r: tool call %s (%s) cancelled", engine, call_id, tool.name)
        return
    try:
        await engine.send_own(
            ConversationItemCreate(
                item=FunctionCallOutputItem(call_id=call_id, output=output)
            )
        )
    except RealtimeError as exc:  # the connection is over
        logger.debug("%r: output of %s not sent: %s", engine, call_id, exc)
        return
    ready = engine.calls.answered(call_id)
    if ready is not None:
        await follow_up(engine, ready, engine.default_created)


async def follow_up(engine: ConversationEngine, response_id: str, after: int) -> None:
    """Ask for the response after ``response_id``'s answered calls.

    Skipped if a response was created in the default conversation since
    the outputs were sent (``after``): that one already saw them.
    """
    try:
        created = await engine.create_response(after=after)
    except RealtimeError as exc:
        # The connection is over, or the server refused (already counted
        # and logged as handled when it was about the layer's own request).
        logger.debug("%r: no response after %s: %s", engine, response_id, exc)
        return
    if created is not None:
        engine.counters.follow_ups += 1
