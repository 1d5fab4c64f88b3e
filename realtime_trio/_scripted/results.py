"""What running scripts found: per expectation, per turn, per run, per script (sans-IO).

`realtime_trio._scripted.runner` makes a `ScriptRun` for each run of a
script; a `ScriptResult` gathers the runs of one script under ``--repeat N
--min-pass K`` and decides its outcome; `realtime_trio._scripted.report`
writes them down. Times are seconds on the clock the script ran on (the
trio clock: simulated time against the simulator or a replay).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import attrs

ExpectationStatus = Literal["passed", "failed", "not_run"]
RunStatus = Literal["passed", "failed", "error"]

# What `realtime-trio run` exits with (see realtime_trio._cli.run).
PASSED = 0
FAILED = 1
COULD_NOT_RUN = 3


@attrs.frozen(kw_only=True)
class ExpectationResult:
    """How one expectation of a turn went.

    Attributes:
        kind: The expectation (``reply``, ``tool_call``, ...).
        description: It in one line, as the script says it.
        path: Where the script states it (``turns[0].expect[1]``).
        line: Its line in the script file, when known.
        status: ``passed``, ``failed``, or ``not_run`` (after an earlier
            failure, or when the run stopped).
        message: Why it failed (what was expected, what came, the transcript).
    """

    kind: str
    description: str
    path: str
    line: int | None = None
    status: ExpectationStatus = "not_run"
    message: str | None = None


@attrs.frozen(kw_only=True)
class TurnResult:
    """One turn of a run.

    Attributes:
        index: Its number in the script, from 0.
        user: What the user did, in one line (None for a turn without ``user``).
        started: Whether the turn was reached.
        message: Why the user's part of the turn failed, if it did (a
            barge-in that found no answer playing).
        first_audio: Seconds from the end of the user's input to the first
            non-silent audio of the answer, if there was audio.
        done: Seconds from the end of the user's input to the last response
            of the turn being done, if one was.
        expectations: How each expectation went, in order.
    """

    index: int
    user: str | None
    started: bool = True
    message: str | None = None
    first_audio: float | None = None
    done: float | None = None
    expectations: tuple[ExpectationResult, ...] = ()

    @property
    def latency(self) -> float | None:
        """The turn's latency: to the first audio, else to the response done."""
        return self.first_audio if self.first_audio is not None else self.done


@attrs.frozen(kw_only=True)
class ScriptRun:
    """One run of a script against a target.

    Attributes:
        status: ``passed`` (every expectation met), ``failed`` (one was
            not), or ``error`` (the script could not run: connection,
            server, a user turn the target cannot do).
        turns: Every turn of the script, reached or not.
        message: Why it failed or could not run.
        recording: The wire recording of the run, if it was recorded.
        duration: Seconds the run took.
    """

    status: RunStatus
    turns: tuple[TurnResult, ...] = ()
    message: str | None = None
    recording: str | None = None
    duration: float = 0.0


def _runs(runs: Iterable[ScriptRun]) -> tuple[ScriptRun, ...]:
    return tuple(runs)


@attrs.frozen(kw_only=True)
class ScriptResult:
    """Every run of one script, and whether enough of them passed.

    Attributes:
        name: The script's name.
        source: Its file.
        runs: The runs made, in order (fewer than ``repeat`` when the
            outcome was decided early).
        repeat: How many runs were asked for (``--repeat``).
        min_pass: How many must pass (``--min-pass``).
    """

    name: str
    source: Path | None
    runs: tuple[ScriptRun, ...] = attrs.field(converter=_runs)
    repeat: int = 1
    min_pass: int = 1

    @property
    def passes(self) -> int:
        """How many runs passed."""
        return sum(run.status == "passed" for run in self.runs)

    @property
    def outcome(self) -> RunStatus:
        """``passed`` with ``min_pass`` passing runs; else ``error`` if a run
        could not run, else ``failed``."""
        if self.passes >= self.min_pass:
            return "passed"
        if any(run.status == "error" for run in self.runs):
            return "error"
        return "failed"

    @property
    def first_problem(self) -> ScriptRun | None:
        """The first run that did not pass, if any."""
        return next((run for run in self.runs if run.status != "passed"), None)


def decided(runs: Iterable[ScriptRun], repeat: int, min_pass: int) -> bool:
    """Whether more runs cannot change the outcome: ``min_pass`` passed, or can no longer."""
    made = list(runs)
    passes = sum(run.status == "passed" for run in made)
    return passes >= min_pass or passes + (repeat - len(made)) < min_pass


def exit_status(results: Iterable[ScriptResult]) -> int:
    """0 when every script passed; 3 when one could not run; else 1."""
    outcomes = {result.outcome for result in results}
    if "error" in outcomes:
        return COULD_NOT_RUN
    if "failed" in outcomes:
        return FAILED
    return PASSED
