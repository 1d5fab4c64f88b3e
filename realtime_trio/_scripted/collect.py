"""Script files as pytest items: each ``realtime_*.yaml`` file is a test.

The plugin (`realtime_trio.pytest_plugin`) calls `collect_file` from its
``pytest_collect_file`` hook, and imports this module only then, so a run
without script files never loads it. A script that is not valid is a
collection error (naming the file, the line and the path in the document);
a valid one becomes one `ScriptItem`, run against the target the plugin's
options choose (``--realtime-url``, ``--realtime-replay``,
``--realtime-record``; the simulator by default) on the clock that target
wants (a `trio.testing.MockClock` with autojump for the simulator and a
replay, the real clock for a URL). It needs no pytest-trio: it runs
`trio.run` itself.

Its recording is named after the script file (``<record>/<stem>.jsonl``),
as ``realtime-trio run`` names it, so either can replay what the other
recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from .fixture import target_from_options
from .handlers import load_handler
from .report import text_summary
from .results import ScriptResult
from .runner import run_script
from .script import Script, ScriptError, load_script

__all__ = ["ScriptFile", "ScriptItem", "collect_file"]


def is_script_file(path: Path) -> bool:
    """Whether pytest should collect ``path`` as a script: ``realtime_*.yaml``."""
    return path.name.startswith("realtime_") and path.suffix == ".yaml"


def collect_file(file_path: Path, parent: pytest.Collector) -> ScriptFile | None:
    """The body of the plugin's ``pytest_collect_file`` hook."""
    if not is_script_file(file_path):
        return None
    return ScriptFile.from_parent(parent, path=file_path)


class ScriptFailed(Exception):
    """A script item did not pass; the message is the whole story."""


class ScriptFile(pytest.File):
    """A ``realtime_*.yaml`` file: one test, its script."""

    def collect(self) -> Iterator[ScriptItem]:
        try:
            script = load_script(self.path)
            load_handler(script)
        except ScriptError as exc:
            raise self.CollectError(str(exc)) from None
        yield ScriptItem.from_parent(self, name=script.name, script=script)


class ScriptItem(pytest.Item):
    """One script, run once against the target of the plugin's options."""

    def __init__(self, *, script: Script, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.script = script

    def runtest(self) -> None:
        config = self.config
        target = target_from_options(config)
        clock = (
            trio.testing.MockClock(autojump_threshold=0)
            if target.uses_mock_clock
            else None
        )
        run = trio.run(run_script, self.script, target, clock=clock)
        result = ScriptResult(
            name=self.script.name, source=self.script.source, runs=[run]
        )
        self.add_report_section(
            "call", "conversation", text_summary([result], messages=False)
        )
        if run.status == "passed":
            return
        problem = run.message or run.status
        if run.status == "error":
            problem = f"the script could not run: {problem}"
        raise ScriptFailed(problem)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        if isinstance(excinfo.value, ScriptFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"script {self.script.name!r}"
