"""What a scripted conversation hands back: turns, tool calls, replies, errors (no trio here).

`TurnRecord` is filled in as its turn goes on (the driver writes it; you
read it). The others are frozen snapshots returned by the expectations.
All times are seconds on the trio clock; all durations are seconds.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

__all__ = [
    "ClosedRecord",
    "ErrorRecord",
    "ReplyRecord",
    "ToolCallRecord",
    "TurnRecord",
]


@attrs.define(eq=False, kw_only=True)
class TurnRecord:
    """One user turn and what followed it, as far as it has gone.

    Attributes:
        index: The turn's number (0 for the first).
        kind: ``"say"``, ``"text"``, ``"audio"``, ``"silence"`` or ``"dtmf"``.
        text: What was said or typed (the digits for ``"dtmf"``, None for
            audio and silence).
        barge_in_after: The turn's ``barge_in_after``, if it barged in.
        interrupted_response_id: The response in progress it barged into.
        played_at_barge_in: Seconds of that answer played when the turn started.
        started_at: When the turn started (after the barge-in wait).
        user_audio_end: When its last audio was sent (audio turns), else
            when its input was sent.
        response_ids: The responses created during the turn, in order.
        first_audio_at: When the first non-silent audio of its answer
            started playing (into the test's virtual sink).
        done_at: When the last response of the turn so far was done.
    """

    index: int
    kind: str
    text: str | None = None
    barge_in_after: float | None = None
    interrupted_response_id: str | None = None
    played_at_barge_in: float | None = None
    started_at: float = 0.0
    user_audio_end: float | None = None
    response_ids: list[str] = attrs.field(factory=list)
    first_audio_at: float | None = None
    done_at: float | None = None

    @property
    def time_to_first_audio(self) -> float | None:
        """Seconds from the end of the user's input to the answer's first non-silent audio."""
        if self.first_audio_at is None or self.user_audio_end is None:
            return None
        return self.first_audio_at - self.user_audio_end

    @property
    def time_to_done(self) -> float | None:
        """Seconds from the end of the user's input to the last response done."""
        if self.done_at is None or self.user_audio_end is None:
            return None
        return self.done_at - self.user_audio_end


@attrs.frozen(kw_only=True)
class ToolCallRecord:
    """A function call the model made (from `Talk.expect_tool_call`).

    Attributes:
        name: The function's name.
        call_id: Its ``call_id``.
        arguments: The arguments, parsed (None if they were not a JSON object).
        arguments_json: The arguments as sent.
        response_id: The response that made the call.
        item_id: The ``function_call`` item.
        answered: Whether an output was sent for it when this record was made
            (by a registered tool, or by ``output=``).
    """

    name: str
    call_id: str
    arguments: Mapping[str, Any] | None
    arguments_json: str
    response_id: str
    item_id: str
    answered: bool = False
    _answer: Callable[[ToolCallRecord, Any], Awaitable[None]] | None = attrs.field(
        default=None, repr=False, alias="answer"
    )

    async def reply(self, output: Any) -> None:
        """Answer the call with ``output`` (JSON-able, or a string sent as is),
        and ask for the response that follows once every call of its response
        is answered. Does nothing if a registered tool already answered it.

        Raises:
            ScriptedError: the call cannot be answered (a SIP talk: the
                handler answers its calls).
        """
        if self._answer is not None:
            await self._answer(self, output)


@attrs.frozen(kw_only=True)
class ReplyRecord:
    """An answer of the assistant (from `Talk.expect_reply`).

    Attributes:
        text: What it said: its text, else its audio transcript.
        response_id: The response.
        status: The response's status (``"completed"``).
        item_ids: Its assistant message items.
        audio_seconds: Seconds of audio received for it.
    """

    text: str
    response_id: str
    status: str | None
    item_ids: tuple[str, ...] = ()
    audio_seconds: float = 0.0


@attrs.frozen(kw_only=True)
class ErrorRecord:
    """An ``error`` event (from `Talk.expect_error`).

    Attributes:
        type: The error's ``type``.
        code: Its ``code``, if any.
        message: Its message.
        event_id: The client event it is about, if any.
    """

    type: str
    code: str | None
    message: str
    event_id: str | None = None


@attrs.frozen(kw_only=True)
class ClosedRecord:
    """How the connection ended (from `Talk.expect_closed`).

    Attributes:
        broken: True when it failed (dropped, or closed with an error code),
            False when it was closed normally.
        code: The WebSocket close code, if there was a closing handshake.
        reason: The close reason.
        closed_by: ``"server"``, ``"client"`` or None when unknown.
        error: The error it ended with (`ConnectionBroken`), if any.
    """

    broken: bool
    code: int | None = None
    reason: str = ""
    closed_by: str | None = None
    error: BaseException | None = attrs.field(default=None, repr=False)


def parse_arguments(text: str) -> Mapping[str, Any] | None:
    """A call's arguments as a mapping, or None if they are not a JSON object."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def subset_match(expected: Any, actual: Any) -> bool:
    """Whether ``actual`` contains ``expected``: mappings by subset (recursively), the rest by equality."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and subset_match(value, actual[key])
            for key, value in expected.items()
        )
    return bool(expected == actual)


def output_text(output: Any) -> str:
    """A tool output as the text of a ``function_call_output`` item."""
    return output if isinstance(output, str) else json.dumps(output)
