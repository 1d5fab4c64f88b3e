"""Script files: a test conversation as YAML (or JSON), as records (sans-IO).

A script is a mapping::

    name: weather in Paris                  # optional; the file's stem by default
    session: {instructions: ..., tools: [...]}   # the session (sent as given)
    simulator: {rules: [...]}               # a simulator scenario; ignored against a real endpoint
    sip: {handler: agent.py:handler}        # optional: a phone agent on a simulated SIP call
    turns:
      - user: {say: "..."}                  # or text, audio, silence, dtmf; optional barge_in_after
        expect:                             # met in order
          - tool_call: {name: ..., arguments: {...}, output: ..., within: 5}
          - reply: {contains: "...", matches: "regex", within: 5}
          - response: {status: cancelled}
          - error: {code: ..., type: ...}
          - no_reply: {within: 2}
          - truncated: {}                   # a barge-in cut the answer where the playing was
          - first_audio: {within: 1.5}      # the answer sounded within 1.5 s of the input
          - closed: {}

This module holds the records a script becomes; `realtime_trio._scripted.script`
reads and checks script files (every problem a `ScriptError` naming the file, the
path in the document and the line). Nothing is run here:
`realtime_trio._scripted.runner` turns a `Script` into calls of the driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from ..testing._model.scenario import Scenario
from .errors import ScriptedError
from .target import recording_name

UserKind = Literal["say", "text", "audio", "silence", "dtmf"]
ExpectKind = Literal[
    "tool_call",
    "reply",
    "response",
    "error",
    "no_reply",
    "truncated",
    "first_audio",
    "closed",
]

USER_KINDS: tuple[UserKind, ...] = ("say", "text", "audio", "silence", "dtmf")
TOP_KEYS = ("name", "description", "session", "simulator", "sip", "turns")
TURN_KEYS = ("user", "expect")
# The options of each expectation, as the driver's keyword arguments.
EXPECT_OPTIONS: dict[ExpectKind, tuple[str, ...]] = {
    "tool_call": ("name", "arguments", "output", "within"),
    "reply": ("contains", "matches", "within"),
    "response": ("status", "within"),
    "error": ("code", "type", "within"),
    "no_reply": ("within",),
    "truncated": ("within",),
    "first_audio": ("within",),
    "closed": ("within",),
}
SIP_KEYS = ("handler",)
RESPONSE_STATUSES = ("completed", "cancelled", "failed", "incomplete", "in_progress")
DTMF_DIGITS = frozenset("0123456789*#ABCD")


class ScriptError(ScriptedError):
    """A script file cannot be read or is not a valid script.

    Attributes:
        source: The file, when the script came from one.
        path: Where in the document, as ``turns[0].user`` ("" for the whole).
        line: The line (from 1), when known.
        problem: What is wrong, without the location.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: Path | None = None,
        path: str = "",
        line: int | None = None,
    ) -> None:
        where = str(source) if source is not None else "<script>"
        if line is not None:
            where += f":{line}"
        text = f"{where}: {path}: {problem}" if path else f"{where}: {problem}"
        super().__init__(text)
        self.source = source
        self.path = path
        self.line = line
        self.problem = problem


@attrs.frozen(kw_only=True)
class UserTurn:
    """What the user does in a turn.

    Attributes:
        kind: ``say`` (speak the text), ``text`` (a text message), ``audio``
            (a WAV file, its path resolved against the script's folder),
            ``silence`` (seconds) or ``dtmf`` (keypad digits, on a SIP call).
        value: The text, path, seconds or digits.
        barge_in_after: Start once this many seconds of the assistant's
            answer in progress have been played, instead of waiting for it.
    """

    kind: UserKind
    value: str | float
    barge_in_after: float | None = None

    def describe(self) -> str:
        """One line for a progress display or a report: ``say "Stop"``."""
        value = f"{self.value:g} s" if isinstance(self.value, float) else self.value
        text = (
            f"{self.kind} {value!r}" if self.kind != "silence" else f"silence {value}"
        )
        if self.barge_in_after is not None:
            text += f" (barge in after {self.barge_in_after:g} s)"
        return text


@attrs.frozen(kw_only=True)
class Expectation:
    """One expectation of a turn: a call of the driver's ``expect_<kind>``.

    Attributes:
        kind: Which expectation.
        options: Its keyword arguments as given (``output`` included).
        path: Where it is in the document, as ``turns[0].expect[1]``.
        line: Its line in the file, when known.
    """

    kind: ExpectKind
    options: Mapping[str, Any]
    path: str = ""
    line: int | None = attrs.field(default=None, eq=False)

    def describe(self) -> str:
        """One line: ``reply contains '22'`` or ``tool_call get_weather {...}``."""
        parts: list[str] = [self.kind]
        for key, value in self.options.items():
            if key == "name":
                parts.append(str(value))
            elif key == "output":
                continue
            elif key == "arguments":
                parts.append(repr(dict(value)))
            else:
                if key == "within":
                    shown = f"{value:g} s"
                elif key == "matches":
                    shown = f"/{value}/"  # a regex reads best unescaped
                else:
                    shown = repr(value)
                parts.append(f"{key} {shown}")
        return " ".join(parts)


@attrs.frozen(kw_only=True)
class ScriptTurn:
    """A turn: what the user does (if anything), then what must follow, in order."""

    user: UserTurn | None
    expect: tuple[Expectation, ...] = ()
    line: int | None = attrs.field(default=None, eq=False)


@attrs.frozen(kw_only=True)
class Script:
    """A checked test conversation.

    Attributes:
        name: The script's name (its file's stem when it gives none).
        session: The session configuration, as the JSON object given.
        simulator: What the simulated model does (ignored against a real endpoint).
        sip_handler: Run the conversation as a simulated SIP call answered
            by this call handler: ``file.py:function`` (a file relative to
            the script's folder) or ``package.module:function``.
        turns: The turns, in order.
        source: The file it was read from.
        description: Free text, for the reader.
    """

    name: str
    session: Mapping[str, Any] | None = None
    simulator: Scenario | None = None
    sip_handler: str | None = None
    turns: tuple[ScriptTurn, ...] = ()
    source: Path | None = None
    description: str | None = None

    @property
    def sip(self) -> bool:
        """Whether the script is a phone call (it names a SIP handler)."""
        return self.sip_handler is not None

    @property
    def stem(self) -> str:
        """A file name for this script's recordings: the file's stem, else its name."""
        return recording_name(self.source.stem if self.source else self.name)
