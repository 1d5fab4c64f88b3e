"""The expectations of a talk: what the test waits for, and how it fails (trio).

Each expectation waits on the trio clock, at most ``within`` seconds, for
something received since the current turn started, and raises
`ExpectationFailed` (whose message reads like the conversation) when it is
not met. What one expectation matched is not matched again by the next of
the same kind, so expectations are met in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from .._agent.records import ResponseState
from .._agent.state import ConversationState
from .._agent.tracker import PlaybackTracker
from .._core.server_events import (
    ErrorEvent,
    ResponseCreated,
    ResponseDone,
    ResponseFunctionCallArgumentsDone,
)
from .describe import failure, quote
from .errors import ExpectationFailed, ScriptedError
from .log import EventLog, VirtualSpeaker
from .records import (
    ErrorRecord,
    ReplyRecord,
    ToolCallRecord,
    TurnRecord,
    parse_arguments,
    subset_match,
)

if TYPE_CHECKING:
    from .._agent.conversation import RealtimeConversation
    from .._client.connection import RealtimeConnection
    from ..testing import RealtimeSimulator

__all__ = ["TalkBase"]

T = TypeVar("T")

#: The default ``within`` of the expectations, by target kind.
DEFAULT_WITHIN = {"simulator": 10.0, "replay": 10.0, "url": 30.0}
#: The default ``within`` of `TalkBase.expect_no_reply`.
NO_REPLY_WITHIN = 2.0


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


class TalkBase:
    """The state of a talk and its expectations (`Talk` adds the user's turns)."""

    def __init__(
        self,
        *,
        kind: str,
        state: ConversationState,
        log: EventLog,
        conn: RealtimeConnection | None = None,
        convo: RealtimeConversation | None = None,
        tracker: PlaybackTracker | None = None,
        speaker: VirtualSpeaker | None = None,
        sim: RealtimeSimulator | None = None,
        call_id: str | None = None,
        recording: str | None = None,
        tool_names: frozenset[str] = frozenset(),
    ) -> None:
        self._kind = kind
        self._state = state
        self._log = log
        self._conn = conn
        self._convo = convo
        self._tracker = tracker
        self._speaker = speaker
        self._sim = sim
        self._call_id = call_id
        self._recording = recording
        self._tool_names = tool_names
        self._start = trio.current_time()
        self._within = DEFAULT_WITHIN.get(kind, 10.0)
        #: Every turn so far, in order.
        self.turns: list[TurnRecord] = []
        self._turn_start = 0
        self._interrupted: str | None = None
        self._used: dict[str, set[object]] = {
            "reply": set(),
            "response": set(),
            "call": set(),
            "error": set(),
            "truncated": set(),
        }
        self._answered: set[str] = set()

    def __repr__(self) -> str:
        return f"<Talk {self._kind}, {len(self.turns)} turns>"

    # --- reading ----------------------------------------------------------------------

    @property
    def state(self) -> ConversationState:
        """The conversation's `ConversationState` (items, responses, transcript)."""
        return self._state

    @property
    def conversation(self) -> RealtimeConversation:
        """The `RealtimeConversation` (not on a SIP talk: the handler owns the call)."""
        if self._convo is None:
            raise ScriptedError(
                "a SIP talk has no conversation of its own: the handler owns the call's connection"
            )
        return self._convo

    @property
    def recording(self) -> str | None:
        """The path of this talk's wire recording, if it is recorded."""
        return self._recording

    @property
    def elapsed(self) -> float:
        """Seconds since the talk started (trio clock)."""
        return trio.current_time() - self._start

    # --- the machinery ------------------------------------------------------------------

    def _refresh_turn(self) -> None:
        """Fill in the current turn's record (`Talk` does)."""

    def _transcript(self) -> list[tuple[str, str]]:
        lines = []
        for item in self._state.items:
            if item.type == "message":
                text = item.spoken_text
                if text:
                    lines.append((item.role or "", text))
                elif item.role == "user":
                    lines.append(("user", "(audio)"))
            elif item.type == "function_call":
                outputs = {
                    i.call_id: i.output
                    for i in self._state.items
                    if i.type == "function_call_output"
                }
                answer = outputs.get(item.call_id)
                call = f"{item.name}({item.arguments or ''})"
                shown = call if answer is None else f"{call} -> {answer}"
                lines.append(("tool", shown))
        return lines

    def _fail(self, expected: str, seen: str) -> ExpectationFailed:
        ended = None
        if self._log.ended:
            error = self._log.error
            ended = (
                f"the connection ended: {error}"
                if error is not None
                else "the connection ended"
            )
        return failure(
            expected=expected,
            seen=seen,
            elapsed=self.elapsed,
            transcript=self._transcript(),
            entries=self._log.entries,
            start=self._start,
            recording=self._recording,
            ended=ended,
        )

    def _since_turn(self) -> list[tuple[int, Any]]:
        entries = self._log.entries
        return [(i, entries[i].event) for i in range(self._turn_start, len(entries))]

    async def _wait_for(
        self,
        find: Callable[[], T | None],
        within: float | None,
        expected: str,
        seen: Callable[[], str],
    ) -> T:
        __tracebackhide__ = True
        limit = self._within if within is None else within
        if limit < 0:
            raise ValueError(f"within must be >= 0 seconds, not {limit!r}")
        deadline = trio.current_time() + limit
        while True:
            found = find()
            if found is not None:
                self._refresh_turn()
                await trio.lowlevel.checkpoint()
                return found
            if self._log.ended:
                raise self._fail(expected, seen())
            if trio.current_time() >= deadline:
                raise self._fail(expected, f"{seen()} within {limit:g} s")
            await self._log.wait(deadline)

    def _responses_done(self) -> list[ResponseState]:
        done = []
        for _, event in self._since_turn():
            if isinstance(event, ResponseDone):
                response = self._state.response(_str(event.response.id) or "")
                if response is not None and response.in_conversation:
                    done.append(response)
        return done

    def _reply_of(self, response: ResponseState) -> ReplyRecord | None:
        items = [self._state.item(i) for i in response.output_item_ids]
        said = [
            item
            for item in items
            if item is not None and item.type == "message" and item.role == "assistant"
        ]
        if not said:
            return None
        return ReplyRecord(
            text=" ".join(item.spoken_text for item in said if item.spoken_text),
            response_id=response.id,
            status=response.status,
            item_ids=tuple(item.id for item in said),
            audio_seconds=sum(item.audio_ms for item in said) / 1000,
        )

    def _describe_responses(self) -> str:
        done = self._responses_done()
        if not done:
            active = self._state.active_response
            return (
                f"response {active.id} still in progress"
                if active is not None
                else "no response"
            )
        parts = []
        for response in done:
            reply = self._reply_of(response)
            said = f" saying {quote(reply.text)}" if reply is not None else ""
            parts.append(f"{response.id} {response.status}{said}")
        return "responses " + "; ".join(parts)

    # --- expectations -----------------------------------------------------------------

    async def expect_reply(
        self,
        *,
        contains: str | None = None,
        matches: str | None = None,
        within: float | None = None,
    ) -> ReplyRecord:
        """Wait for the assistant's next completed answer, and check what it says.

        The answer is the next response of this turn that completed with an
        assistant message (responses that only call tools are skipped); its
        text, else its audio transcript, must contain ``contains``
        (case-insensitive) and match the regular expression ``matches``
        (`re.search`). The first such answer decides: one that says
        something else fails at once.
        """
        __tracebackhide__ = True
        pattern = re.compile(matches) if matches is not None else None
        wanted = "a reply"
        if contains is not None:
            wanted += f" containing {contains!r}"
        if pattern is not None:
            wanted += f" {'and ' if contains is not None else ''}matching {matches!r}"
        used = self._used["reply"]

        def find() -> ReplyRecord | None:
            __tracebackhide__ = True
            for response in self._responses_done():
                if response.id in used or response.status != "completed":
                    continue
                reply = self._reply_of(response)
                if reply is None:
                    continue
                used.add(response.id)
                text = reply.text
                if (contains is not None and contains.lower() not in text.lower()) or (
                    pattern is not None and pattern.search(text) is None
                ):
                    raise self._fail(wanted, f"the reply {quote(text)} ({response.id})")
                return reply
            return None

        return await self._wait_for(find, within, wanted, self._describe_responses)

    async def expect_response(
        self, *, status: str | None = None, within: float | None = None
    ) -> ResponseState:
        """Wait until the next response of this turn is done, and check its ``status``.

        In a turn that barged in (``barge_in_after``) the first one is the
        response it interrupted: ``"cancelled"`` if it was still in
        progress, ``"completed"`` if it had already finished arriving.
        """
        __tracebackhide__ = True
        wanted = "a response" + (f" with status {status!r}" if status else "")
        used = self._used["response"]
        interrupted = self._interrupted

        def find() -> ResponseState | None:
            __tracebackhide__ = True
            if interrupted is not None and interrupted not in used:
                response = self._state.response(interrupted)
                candidates = (
                    [response] if response is not None and response.done else []
                )
            else:
                candidates = [r for r in self._responses_done() if r.id not in used]
            for response in candidates:
                used.add(response.id)
                if status is not None and response.status != status:
                    details = response.status_details
                    reason = _str(getattr(details, "reason", None))
                    why = f" ({reason})" if reason else ""
                    raise self._fail(
                        wanted, f"response {response.id} {response.status}{why}"
                    )
                return response
            return None

        return await self._wait_for(find, within, wanted, self._describe_responses)

    async def expect_tool_call(
        self,
        name: str | None = None,
        *,
        arguments: Mapping[str, Any] | None = None,
        output: Any = None,
        within: float | None = None,
    ) -> ToolCallRecord:
        """Wait for a function call of this turn (its arguments complete).

        ``arguments`` is a subset match: every key given must be there with
        an equal value (mappings inside compared the same way). With
        ``output`` (JSON, a string, or a callable taking the arguments,
        sync or async) the call is answered with it, unless a registered
        tool answers it; `ToolCallRecord.reply` answers it later.
        """
        __tracebackhide__ = True
        wanted = f"a call of {name!r}" if name else "a tool call"
        if arguments is not None:
            wanted += f" with arguments including {dict(arguments)!r}"
        used = self._used["call"]

        def calls() -> list[ResponseFunctionCallArgumentsDone]:
            return [
                e
                for _, e in self._since_turn()
                if isinstance(e, ResponseFunctionCallArgumentsDone)
            ]

        def find() -> ToolCallRecord | None:
            __tracebackhide__ = True
            for event in calls():
                if event.call_id in used:
                    continue
                parsed = parse_arguments(event.arguments)
                if name is not None and event.name != name:
                    continue
                if arguments is not None and not subset_match(arguments, parsed):
                    continue
                used.add(event.call_id)
                return ToolCallRecord(
                    name=event.name,
                    call_id=event.call_id,
                    arguments=parsed,
                    arguments_json=event.arguments,
                    response_id=event.response_id,
                    item_id=event.item_id,
                    answered=event.name in self._tool_names,
                    answer=self._answer_call,
                )
            return None

        def seen() -> str:
            made = [f"{e.name}({e.arguments})" for e in calls()]
            return "calls " + ", ".join(made) if made else "no tool call"

        call = await self._wait_for(find, within, wanted, seen)
        if output is not None and not call.answered:
            if callable(output):
                result = output(call.arguments or {})
                if hasattr(result, "__await__"):
                    result = await result
                output = result
            await call.reply(output)
        return call

    async def _answer_call(self, call: ToolCallRecord, output: Any) -> None:
        raise ScriptedError("this talk cannot answer tool calls")

    async def expect_error(
        self,
        code: str | None = None,
        *,
        type: str | None = None,
        within: float | None = None,
    ) -> ErrorRecord:
        """Wait for an ``error`` event of this turn with this ``code`` (and ``type``)."""
        __tracebackhide__ = True
        wanted = "an error" + (f" {code!r}" if code else "")
        if type:
            wanted += f" of type {type!r}"
        used = self._used["error"]

        def errors() -> list[tuple[int, ErrorEvent]]:
            return [(i, e) for i, e in self._since_turn() if isinstance(e, ErrorEvent)]

        def find() -> ErrorRecord | None:
            __tracebackhide__ = True
            for index, event in errors():
                error = event.error
                if index in used:
                    continue
                if code is not None and error.code != code:
                    continue
                if type is not None and error.type != type:
                    continue
                used.add(index)
                return ErrorRecord(
                    type=error.type,
                    code=_str(error.code),
                    message=error.message,
                    event_id=_str(error.event_id),
                )
            return None

        def seen() -> str:
            found = [f"{_str(e.error.code) or e.error.type}" for _, e in errors()]
            return "errors " + ", ".join(found) if found else "no error"

        return await self._wait_for(find, within, wanted, seen)

    async def expect_no_reply(self, *, within: float = NO_REPLY_WITHIN) -> None:
        """Wait ``within`` seconds and check that no response started in this turn."""

        __tracebackhide__ = True

        def started() -> list[str]:
            ids = []
            for _, event in self._since_turn():
                if isinstance(event, ResponseCreated):
                    response = self._state.response(_str(event.response.id) or "")
                    if response is not None and response.in_conversation:
                        ids.append(response.id)
            return [i for i in ids if i != self._interrupted]

        deadline = trio.current_time() + within
        while trio.current_time() < deadline and not self._log.ended:
            if started():
                break
            await self._log.wait(deadline)
        await trio.lowlevel.checkpoint()
        ids = started()
        if ids:
            reply = self._describe_responses()
            raise self._fail(
                f"no reply within {within:g} s", f"response {ids[0]} ({reply})"
            )
