"""Scenario scripting: what the simulated model does, as data.

A `Scenario` is a list of `Rule` objects. When the simulator is about to
answer, it looks at the turn it answers (the user's text, or the transcript
of the user's audio, or the output of a function call) and uses the steps of
the first rule that matches; without a match it echoes what it understood.

Steps: `Say` (text, spoken or written depending on the session's output
modality, optionally with the audio of a WAV file), `CallTool` (a function
call), `Fail` (an error and a failed response), `Delay`, and the connection
faults `CloseConnection` and `DropConnection`. `ConnectionFault` closes or
drops the connection after a number of server events, whatever is going on.

Scenarios load from plain data (`Scenario.from_dict`), JSON text
(`Scenario.from_json`) or a JSON file (`Scenario.load`); the format is
documented in ``docs/howto/simulator.rst``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypeAlias

import attrs


class ScenarioError(ValueError):
    """A scenario description is not valid."""


@attrs.frozen(kw_only=True)
class Say:
    """Answer with ``text``: audio plus transcript, or text, as the session asks.

    Attributes:
        text: What the model says (the transcript, for audio output).
        audio_file: A WAV file (16-bit PCM, any supported rate) to play
            instead of the synthesized voice; ``text`` stays its transcript.
    """

    text: str
    audio_file: str | None = None


@attrs.frozen(kw_only=True)
class CallTool:
    """Call the function tool ``name`` with ``arguments``.

    Attributes:
        name: The function's name.
        arguments: The arguments, as a JSON object or as the exact JSON text.
        call_id: The ``call_id`` to use; a deterministic one by default.
    """

    name: str
    arguments: Mapping[str, Any] | str = attrs.field(factory=dict)
    call_id: str | None = None

    @property
    def arguments_json(self) -> str:
        """The arguments as JSON text."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, separators=(", ", ": "))


@attrs.frozen(kw_only=True)
class Fail:
    """Fail the response: an ``error`` event, then ``response.done`` with ``status: "failed"``.

    Attributes:
        message: The error message.
        code: The error code.
        type: The error type.
    """

    message: str = "The server had an error while processing your request."
    code: str | None = "server_error"
    type: str = "server_error"


@attrs.frozen(kw_only=True)
class Delay:
    """Wait ``seconds`` before the next step (on the trio clock)."""

    seconds: float


@attrs.frozen(kw_only=True)
class CloseConnection:
    """Close the WebSocket with ``code`` and ``reason``."""

    code: int = 1000
    reason: str = ""


@attrs.frozen(kw_only=True)
class DropConnection:
    """Drop the TCP connection without a closing handshake."""


Step: TypeAlias = Say | CallTool | Fail | Delay | CloseConnection | DropConnection


def _steps(steps: Iterable[Step]) -> tuple[Step, ...]:
    return tuple(steps)


@attrs.frozen(kw_only=True)
class Rule:
    """Steps to perform when a turn matches.

    All given conditions must hold; a rule with none matches every turn.

    Attributes:
        steps: What the model does, in order.
        text: Matches when the user's text or transcript contains this
            (case-insensitive).
        pattern: Matches when this regular expression is found in it.
        tool: Matches the turn after the output of a call of this function.
        turn: Matches only the n-th response of the connection (from 1).
        times: Use the rule at most this many times per connection.
    """

    steps: tuple[Step, ...] = attrs.field(converter=_steps)
    text: str | None = None
    pattern: str | None = None
    tool: str | None = None
    turn: int | None = None
    times: int | None = None

    def matches(self, *, kind: str, text: str, tool: str | None, turn: int) -> bool:
        """Whether this rule applies to a turn (``kind`` is user, tool or none)."""
        if self.turn is not None and self.turn != turn:
            return False
        if self.tool is not None and (kind != "tool" or tool != self.tool):
            return False
        if self.text is not None and self.text.casefold() not in text.casefold():
            return False
        return self.pattern is None or re.search(self.pattern, text) is not None


@attrs.frozen(kw_only=True)
class ConnectionFault:
    """Close or drop a connection after it has sent ``after_events`` server events.

    Attributes:
        after_events: How many server events to send first.
        drop: Drop the TCP connection instead of closing the WebSocket.
        code: The close code (when not dropping).
        reason: The close reason (when not dropping).
    """

    after_events: int
    drop: bool = False
    code: int = 1011
    reason: str = "simulated fault"


def _rules(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    return tuple(rules)


def _strings(strings: Iterable[str]) -> tuple[str, ...]:
    return tuple(strings)


def _faults(faults: Iterable[ConnectionFault]) -> tuple[ConnectionFault, ...]:
    return tuple(faults)


@attrs.frozen(kw_only=True)
class Scenario:
    """What the simulated model does on each connection.

    Attributes:
        rules: Tried in order for every response; the first match is used.
        transcripts: What the user says in successive audio turns of a
            connection (there is no speech recognizer): used for matching,
            for input transcription events and for the default echo.
        faults: Connection faults, by number of server events sent.
        instructions: Default session instructions, if not the real API's.
    """

    rules: tuple[Rule, ...] = attrs.field(default=(), converter=_rules)
    transcripts: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    faults: tuple[ConnectionFault, ...] = attrs.field(default=(), converter=_faults)
    instructions: str | None = None

    def audio_files(self) -> tuple[str, ...]:
        """The WAV files the rules' `Say` steps play, each once, in order."""
        files = (
            step.audio_file
            for rule in self.rules
            for step in rule.steps
            if isinstance(step, Say) and step.audio_file is not None
        )
        return tuple(dict.fromkeys(files))

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, base_dir: str | None = None
    ) -> Scenario:
        """Build a scenario from plain data (the JSON format).

        Args:
            data: The scenario as decoded JSON.
            base_dir: Relative ``audio`` paths are resolved against it.

        Raises:
            ScenarioError: The data is not a valid scenario.
        """
        if not isinstance(data, Mapping):
            raise ScenarioError("a scenario must be a JSON object")
        _check_keys(
            data, {"rules", "transcripts", "faults", "instructions"}, "scenario"
        )
        rules = tuple(
            _rule(r, base_dir, i)
            for i, r in enumerate(_list(data, "rules", "scenario"))
        )
        transcripts = _list(data, "transcripts", "scenario")
        if not all(isinstance(t, str) for t in transcripts):
            raise ScenarioError("scenario.transcripts must be a list of strings")
        faults = tuple(
            _fault(f, i) for i, f in enumerate(_list(data, "faults", "scenario"))
        )
        instructions = data.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise ScenarioError("scenario.instructions must be a string")
        return cls(
            rules=rules,
            transcripts=transcripts,
            faults=faults,
            instructions=instructions,
        )

    @classmethod
    def from_json(cls, text: str, *, base_dir: str | None = None) -> Scenario:
        """Parse a scenario from JSON text (see `from_dict`)."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ScenarioError(f"scenario is not valid JSON: {exc}") from exc
        return cls.from_dict(data, base_dir=base_dir)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Scenario:
        """Read a scenario from a JSON file; audio paths are relative to it."""
        file = Path(path)
        return cls.from_json(
            file.read_text(encoding="utf-8"), base_dir=str(file.parent)
        )


# --- parsing helpers -------------------------------------------------------------


def _did_you_mean(given: object, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for a near miss, else the names that are known."""
    known = sorted(known)
    close = difflib.get_close_matches(str(given), known, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; expected one of {', '.join(known)}"


def _check_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed, key=str)
    if unknown:
        raise ScenarioError(
            f"unknown key {unknown[0]!r} in {where}{_did_you_mean(unknown[0], allowed)}"
        )


def _list(data: Mapping[str, Any], key: str, where: str) -> Sequence[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ScenarioError(f"{where}.{key} must be a list")
    return value


def _int(value: Any, where: str) -> int:
    if type(value) is not int:
        raise ScenarioError(f"{where} must be an integer")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ScenarioError(f"{where} must be a string")
    return value


def _rule(data: Any, base_dir: str | None, index: int) -> Rule:
    where = f"rules[{index}]"
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{where} must be an object")
    _check_keys(data, {"when", "steps", "times"}, where)
    when = data.get("when", {})
    if not isinstance(when, Mapping):
        raise ScenarioError(f"{where}.when must be an object")
    _check_keys(when, {"text", "pattern", "tool", "turn"}, f"{where}.when")
    pattern = when.get("pattern")
    if pattern is not None:
        try:
            re.compile(_str(pattern, f"{where}.when.pattern"))
        except re.error as exc:
            raise ScenarioError(f"{where}.when.pattern is not a regex: {exc}") from exc
    steps = tuple(
        _step(s, base_dir, f"{where}.steps[{i}]")
        for i, s in enumerate(_list(data, "steps", where))
    )
    return Rule(
        steps=steps,
        text=None
        if when.get("text") is None
        else _str(when["text"], f"{where}.when.text"),
        pattern=pattern,
        tool=None
        if when.get("tool") is None
        else _str(when["tool"], f"{where}.when.tool"),
        turn=None
        if when.get("turn") is None
        else _int(when["turn"], f"{where}.when.turn"),
        times=None
        if data.get("times") is None
        else _int(data["times"], f"{where}.times"),
    )


#: The kinds of step a rule may have (the one key of a step object).
_STEP_KINDS: Final = ("say", "call_tool", "fail", "delay", "close", "drop")


def _step(data: Any, base_dir: str | None, where: str) -> Step:
    if not isinstance(data, Mapping) or len(data) != 1:
        raise ScenarioError(f"{where} must be an object with exactly one key")
    ((kind, value),) = data.items()
    if kind == "say":
        if isinstance(value, str):
            return Say(text=value)
        if not isinstance(value, Mapping):
            raise ScenarioError(f"{where}.say must be a string or an object")
        _check_keys(value, {"text", "audio"}, f"{where}.say")
        audio = value.get("audio")
        if audio is not None:
            audio = _str(audio, f"{where}.say.audio")
            if base_dir is not None and not os.path.isabs(audio):
                audio = os.path.join(base_dir, audio)
        return Say(
            text=_str(value.get("text", ""), f"{where}.say.text"), audio_file=audio
        )
    if kind == "call_tool":
        if not isinstance(value, Mapping):
            raise ScenarioError(f"{where}.call_tool must be an object")
        _check_keys(value, {"name", "arguments", "call_id"}, f"{where}.call_tool")
        arguments = value.get("arguments", {})
        if not isinstance(arguments, Mapping | str):
            raise ScenarioError(
                f"{where}.call_tool.arguments must be an object or a string"
            )
        call_id = value.get("call_id")
        return CallTool(
            name=_str(value.get("name"), f"{where}.call_tool.name"),
            arguments=arguments,
            call_id=None
            if call_id is None
            else _str(call_id, f"{where}.call_tool.call_id"),
        )
    if kind == "fail":
        if not isinstance(value, Mapping):
            raise ScenarioError(f"{where}.fail must be an object")
        _check_keys(value, {"message", "code", "type"}, f"{where}.fail")
        return Fail(**{k: _str(v, f"{where}.fail.{k}") for k, v in value.items()})
    if kind == "delay":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ScenarioError(f"{where}.delay must be a number of seconds >= 0")
        return Delay(seconds=float(value))
    if kind == "close":
        value = {} if value is None or value is True else value
        if not isinstance(value, Mapping):
            raise ScenarioError(f"{where}.close must be an object")
        _check_keys(value, {"code", "reason"}, f"{where}.close")
        return CloseConnection(
            code=_int(value.get("code", 1000), f"{where}.close.code"),
            reason=_str(value.get("reason", ""), f"{where}.close.reason"),
        )
    if kind == "drop":
        return DropConnection()
    raise ScenarioError(
        f"unknown step {kind!r} in {where}{_did_you_mean(kind, _STEP_KINDS)}"
    )


def _fault(data: Any, index: int) -> ConnectionFault:
    where = f"faults[{index}]"
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{where} must be an object")
    _check_keys(data, {"after_events", "drop", "code", "reason"}, where)
    drop = data.get("drop", False)
    if not isinstance(drop, bool):
        raise ScenarioError(f"{where}.drop must be a boolean")
    return ConnectionFault(
        after_events=_int(data.get("after_events"), f"{where}.after_events"),
        drop=drop,
        code=_int(data.get("code", 1011), f"{where}.code"),
        reason=_str(data.get("reason", "simulated fault"), f"{where}.reason"),
    )
