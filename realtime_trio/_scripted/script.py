"""Script files: reading and checking them (sans-IO but for reading the file).

`load_script` reads a file, `loads_script` text, `parse_script` data already
decoded (the format, and the records a script becomes, are in
`realtime_trio._scripted.model`, re-exported here). Every problem
is a `ScriptError` naming the file, the path in the document
(``turns[1].expect[0].reply.within``) and the line, in the form
``FILE:LINE: PATH: what is wrong``; an unknown key says which known key it
probably meant.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..testing._model.scenario import Scenario, ScenarioError
from .located import (
    DuplicateKeyError,
    Lines,
    YamlSyntaxError,
    format_path,
    parse_located,
)
from .model import (
    DTMF_DIGITS,
    EXPECT_OPTIONS,
    RESPONSE_STATUSES,
    SIP_KEYS,
    TOP_KEYS,
    TURN_KEYS,
    USER_KINDS,
)
from .model import Expectation as Expectation
from .model import Script as Script
from .model import ScriptError as ScriptError
from .model import ScriptTurn as ScriptTurn
from .model import UserTurn as UserTurn


def load_script(path: str | os.PathLike[str]) -> Script:
    """Read and check the script file at ``path``.

    Raises:
        ScriptError: It cannot be read, or it is not a valid script.
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScriptError(exc.strerror or str(exc), source=source) from None
    except UnicodeDecodeError as exc:
        raise ScriptError(f"not UTF-8 text: {exc.reason}", source=source) from None
    return loads_script(text, source=source)


def loads_script(text: str, *, source: Path | None = None) -> Script:
    """Check the script in the YAML (or JSON) ``text``; ``source`` names its file.

    Raises:
        ScriptError: It is not a valid script.
    """
    try:
        data, lines = parse_located(text)
    except YamlSyntaxError as exc:
        raise ScriptError(str(exc), source=source, line=exc.line) from None
    except DuplicateKeyError as exc:
        path = format_path(exc.path)
        raise ScriptError(str(exc), source=source, path=path, line=exc.line) from None
    return parse_script(data, source=source, lines=lines)


def parse_script(
    data: Any, *, source: Path | None = None, lines: Lines | None = None
) -> Script:
    """Check decoded script data (see the module docstring for the format).

    Args:
        data: The decoded document.
        source: The file it came from: names it in errors, and relative
            ``audio`` paths (of user turns and of the scenario) are resolved
            against its folder.
        lines: Where each value starts in the file (from `parse_located`).

    Raises:
        ScriptError: It is not a valid script.
    """
    return _Checker(source, lines or Lines(None)).script(data)


class _Checker:
    def __init__(self, source: Path | None, lines: Lines) -> None:
        self.source = source
        self.lines = lines
        self.base_dir = None if source is None else source.parent

    def fail(
        self, path: Sequence[str | int], problem: str, *, key: bool = False
    ) -> ScriptError:
        line = self.lines.key_line(path) if key else self.lines.line(path)
        return ScriptError(
            problem, source=self.source, path=format_path(path), line=line
        )

    def mapping(
        self, value: Any, path: Sequence[str | int], what: str
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be {what}, not {_kind(value)}")
        return value

    def keys(
        self, data: Mapping[str, Any], allowed: Sequence[str], path: Sequence[str | int]
    ) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(
                    (*path, str(key)), _unknown("key", str(key), allowed), key=True
                )

    def string(
        self, value: Any, path: Sequence[str | int], *, empty: bool = True
    ) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"must be a string, not {_kind(value)}")
        if not empty and not value.strip():
            raise self.fail(path, "must not be empty")
        return value

    def seconds(self, value: Any, path: Sequence[str | int], *, zero: bool) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, f"must be a number of seconds, not {_kind(value)}")
        seconds = float(value)
        if math.isnan(seconds) or seconds < 0 or (seconds == 0 and not zero):
            limit = ">= 0" if zero else "more than 0"
            raise self.fail(path, f"must be {limit} seconds, not {value!r}")
        return seconds

    def script(self, data: Any) -> Script:
        if data is None:
            raise self.fail((), "the script is empty")
        top = self.mapping(data, (), "a mapping with 'turns'")
        self.keys(top, TOP_KEYS, ())
        name = top.get("name")
        if name is None:
            name = self.source.stem if self.source is not None else "script"
        name = self.string(name, ("name",), empty=False)
        description = top.get("description")
        if description is not None:
            description = self.string(description, ("description",))
        session = top.get("session")
        if session is not None:
            session = self.mapping(session, ("session",), "a mapping (the session)")
        sip_handler = self.sip(top.get("sip"))
        sip = sip_handler is not None
        simulator = self.scenario(top.get("simulator"))
        if "turns" not in top:
            raise self.fail((), "has no 'turns'")
        raw_turns = top["turns"]
        if not isinstance(raw_turns, list) or not raw_turns:
            raise self.fail(("turns",), "must be a list of at least one turn")
        turns = tuple(self.turn(raw, index, sip) for index, raw in enumerate(raw_turns))
        return Script(
            name=name,
            session=session,
            simulator=simulator,
            sip_handler=sip_handler,
            turns=turns,
            source=self.source,
            description=description,
        )

    def sip(self, data: Any) -> str | None:
        if data is None:
            return None
        sip = self.mapping(
            data, ("sip",), "a mapping such as {handler: agent.py:handler}"
        )
        self.keys(sip, SIP_KEYS, ("sip",))
        if "handler" not in sip:
            raise self.fail(("sip",), "needs the call 'handler' under test")
        handler = self.string(sip["handler"], ("sip", "handler"), empty=False)
        module, _, function = handler.rpartition(":")
        if not module or not function.isidentifier():
            raise self.fail(
                ("sip", "handler"),
                f"must be file.py:function or package.module:function, not {handler!r}",
            )
        return handler

    def scenario(self, data: Any) -> Scenario | None:
        if data is None:
            return None
        self.mapping(data, ("simulator",), "a mapping (a simulator scenario)")
        base_dir = None if self.base_dir is None else str(self.base_dir)
        try:
            return Scenario.from_dict(data, base_dir=base_dir)
        except ScenarioError as exc:
            # "rules[0].when.text must be a string": locate rules[0].when.text
            # (not a name that "; did you mean 'rules'?" suggests).
            found = re.search(
                r"\b(rules|transcripts|faults)((?:\[\d+\]|\.\w+)*)",
                str(exc).split(";", 1)[0],
            )
            path: list[str | int] = ["simulator"]
            problem = str(exc)
            if found:
                path.append(found.group(1))
                for index, key in re.findall(r"\[(\d+)\]|\.(\w+)", found.group(2)):
                    path.append(int(index) if index else key)
                problem = problem.removeprefix(f"{found.group(0)} ")
            raise self.fail(path, problem) from None

    def turn(self, data: Any, index: int, sip: bool) -> ScriptTurn:
        path = ("turns", index)
        turn = self.mapping(data, path, "a mapping with 'user' and/or 'expect'")
        self.keys(turn, TURN_KEYS, path)
        if not turn:
            raise self.fail(path, "needs 'user', 'expect' or both")
        user = None
        if turn.get("user") is not None:
            user = self.user(turn["user"], (*path, "user"), sip)
        raw = turn.get("expect")
        raw = [] if raw is None else raw
        if not isinstance(raw, list):
            raise self.fail((*path, "expect"), f"must be a list, not {_kind(raw)}")
        expect = tuple(
            self.expectation(item, (*path, "expect", i)) for i, item in enumerate(raw)
        )
        return ScriptTurn(user=user, expect=expect, line=self.lines.line(path))

    def user(self, data: Any, path: tuple[str | int, ...], sip: bool) -> UserTurn:
        user = self.mapping(data, path, "a mapping such as {say: ...}")
        self.keys(user, (*USER_KINDS, "barge_in_after"), path)
        kinds = [kind for kind in USER_KINDS if kind in user]
        if len(kinds) != 1:
            problem = (
                f"has both {kinds[0]!r} and {kinds[1]!r}: a turn does one thing"
                if kinds
                else f"needs one of {', '.join(USER_KINDS)}"
            )
            raise self.fail(path, problem)
        kind = kinds[0]
        where = (*path, kind)
        if kind == "text" and sip:
            raise self.fail(
                where, "a phone caller cannot type: use say, audio, silence or dtmf"
            )
        value: str | float
        if kind == "silence":
            value = self.seconds(user[kind], where, zero=False)
        elif kind == "audio":
            value = self.string(user[kind], where, empty=False)
            if self.base_dir is not None and not os.path.isabs(value):
                value = str(self.base_dir / value)
            if not os.path.isfile(value):
                raise self.fail(where, f"{value}: no such file")
        elif kind == "dtmf":
            value = self.dtmf(user[kind], where, sip)
        else:
            value = self.string(user[kind], where, empty=False)
        barge = user.get("barge_in_after")
        if barge is not None:
            barge = self.seconds(barge, (*path, "barge_in_after"), zero=True)
        return UserTurn(kind=kind, value=value, barge_in_after=barge)

    def dtmf(self, value: Any, path: tuple[str | int, ...], sip: bool) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # dtmf: 1 is as good as dtmf: "1"
        digits = self.string(value, path, empty=False)
        wrong = sorted(set(digits) - DTMF_DIGITS)
        if wrong:
            raise self.fail(
                path, f"{wrong[0]!r} is not a keypad digit (0-9, *, #, A-D)"
            )
        if not sip:
            raise self.fail(
                path, "DTMF needs a phone call: add sip: {handler: ...} to the script"
            )
        return digits

    def expectation(self, data: Any, path: tuple[str | int, ...]) -> Expectation:
        if not isinstance(data, Mapping) or len(data) != 1:
            raise self.fail(
                path, "must be a mapping with one key, such as {reply: {contains: ...}}"
            )
        ((kind, options),) = data.items()
        if kind not in EXPECT_OPTIONS:
            raise self.fail(
                (*path, str(kind)),
                _unknown("expectation", str(kind), tuple(EXPECT_OPTIONS)),
                key=True,
            )
        where = (*path, kind)
        options = {} if options is None else options
        options = dict(self.mapping(options, where, "a mapping (its options)"))
        self.keys(options, EXPECT_OPTIONS[kind], where)
        for key, value in options.items():
            self.option(kind, key, value, (*where, key))
        if kind == "tool_call" and "name" not in options:
            raise self.fail(where, "needs the tool's 'name'")
        return Expectation(
            kind=kind,
            options=options,
            path=format_path(path),
            line=self.lines.line(path),
        )

    def option(
        self, kind: str, key: str, value: Any, path: tuple[str | int, ...]
    ) -> None:
        if key == "within":
            self.seconds(value, path, zero=kind == "no_reply")
        elif key == "arguments":
            self.mapping(value, path, "a mapping (a subset of the call's arguments)")
        elif key == "matches":
            try:
                re.compile(self.string(value, path))
            except re.error as exc:
                raise self.fail(path, f"is not a regular expression: {exc}") from None
        elif key == "status":
            status = self.string(value, path)
            if status not in RESPONSE_STATUSES:
                raise self.fail(path, _unknown("status", status, RESPONSE_STATUSES))
        elif key != "output":  # any JSON value (a string is sent as is)
            self.string(value, path, empty=key != "contains")


def _unknown(what: str, given: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(given, known, n=1, cutoff=0.6)
    if close:
        return f"unknown {what} {given!r}; did you mean {close[0]!r}?"
    return f"unknown {what} {given!r}; expected one of {', '.join(known)}"


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"{value!r}"
