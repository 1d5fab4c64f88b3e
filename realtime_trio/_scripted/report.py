"""Reports of script runs: text, a JSON summary, JUnit XML, a progress line (sans-IO).

Every report is made from the same `ScriptResult` records and says the same
things: per script its outcome (and, under ``--repeat``, how many runs
passed of how many needed); per turn what the user did and its latency in
milliseconds (to the answer's first audio, and to its last response done);
per expectation passed, failed (with the driver's message: what was
expected, what came instead, the transcript) or not run; and where each
run's wire recording is.

The JUnit XML has one ``testcase`` per script, failed or in error exactly
when the script's outcome is, so that a CI page agrees with the exit status
of ``realtime-trio run``.
"""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from .results import ScriptResult, ScriptRun, TurnResult, exit_status

_MARK = {"passed": "ok  ", "failed": "FAIL", "not_run": "skip"}
_OUTCOME = {"passed": "PASS", "failed": "FAIL", "error": "ERROR"}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def latency_text(turn: TurnResult) -> str:
    """``first audio 412 ms, done 1830 ms`` (what of it is known)."""
    parts = []
    if turn.first_audio is not None:
        parts.append(f"first audio {turn.first_audio * 1000:.0f} ms")
    if turn.done is not None:
        parts.append(f"done {turn.done * 1000:.0f} ms")
    return ", ".join(parts)


def progress_line(name: str, turn: TurnResult, total: int) -> str:
    """One line when a turn ends: the script, the turn, its expectations, its latency."""
    marks = " ".join(
        f"{e.kind}:{'ok' if e.status == 'passed' else e.status.upper()}"
        for e in turn.expectations
    )
    user = turn.user or "(no user input)"
    line = f"{name}: turn {turn.index + 1}/{total} {user}"
    if turn.message:
        line += f"  FAILED: {turn.message.splitlines()[0]}"
    for extra in (marks, latency_text(turn)):
        if extra:
            line += f"  {extra}"
    return line


def _counts(results: Sequence[ScriptResult]) -> str:
    outcomes = [result.outcome for result in results]
    noun = "script" if len(outcomes) == 1 else "scripts"
    return (
        f"{len(outcomes)} {noun}: {outcomes.count('passed')} passed, "
        f"{outcomes.count('failed')} failed, {outcomes.count('error')} could not run"
    )


def _run_lines(run: ScriptRun, *, messages: bool = True) -> list[str]:
    lines: list[str] = []
    for turn in run.turns:
        if not turn.started:
            continue
        latency = latency_text(turn)
        lines.append(
            f"  turn {turn.index + 1}  {turn.user or '(no user input)'}"
            + (f"  [{latency}]" if latency else "")
        )
        if turn.message:
            lines.append(f"    FAIL  {turn.user}")
            if messages:
                lines.append(textwrap.indent(turn.message.rstrip(), " " * 10))
        for expectation in turn.expectations:
            lines.append(f"    {_MARK[expectation.status]}  {expectation.description}")
            if expectation.message and messages:
                lines.append(textwrap.indent(expectation.message.rstrip(), " " * 10))
    explained = any(
        turn.message or any(e.message for e in turn.expectations) for turn in run.turns
    )
    if run.message and (run.status == "error" or not explained):
        # A failure no turn explains (a stale recording refusing what a turn
        # sent, say) is told here, or the summary would not say why.
        label = "could not run" if run.status == "error" else "failed"
        first, _, rest = run.message.rstrip().partition("\n")
        lines.append(f"  {label}: {first}")
        if rest:
            lines.append(textwrap.indent(rest, " " * 10))
    if run.recording:
        lines.append(f"  recording: {run.recording}")
    return lines


def text_summary(results: Sequence[ScriptResult], *, messages: bool = True) -> str:
    """The report a person reads: each script, its turns and expectations, the counts.

    Without ``messages`` the failures are marked but not explained (when
    the explanation is shown elsewhere, as pytest does).
    """
    lines: list[str] = []
    for result in results:
        head = f"{_OUTCOME[result.outcome]}  {result.name}"
        if result.source is not None:
            head += f"  ({result.source})"
        lines.append(head)
        if result.repeat > 1:
            lines.append(
                f"  {result.passes} of {len(result.runs)} runs passed "
                f"({result.min_pass} of {result.repeat} needed)"
            )
            for number, run in enumerate(result.runs, 1):
                lines.append(f"  run {number}: {run.status}  {run.duration:.2f} s")
        shown = result.first_problem if result.outcome != "passed" else None
        if result.runs:
            lines.extend(_run_lines(shown or result.runs[-1], messages=messages))
    lines.append(_counts(results))
    return "\n".join(lines) + "\n"


def _run_json(run: ScriptRun) -> dict[str, Any]:
    return {
        "status": run.status,
        "message": run.message,
        "recording": run.recording,
        "duration_ms": _ms(run.duration),
        "turns": [
            {
                "index": turn.index,
                "user": turn.user,
                "reached": turn.started,
                "message": turn.message,
                "latency_ms": _ms(turn.latency),
                "first_audio_ms": _ms(turn.first_audio),
                "done_ms": _ms(turn.done),
                "expectations": [
                    {
                        "kind": e.kind,
                        "description": e.description,
                        "path": e.path,
                        "line": e.line,
                        "status": e.status,
                        "message": e.message,
                    }
                    for e in turn.expectations
                ],
            }
            for turn in run.turns
        ],
    }


def json_summary(results: Sequence[ScriptResult]) -> dict[str, Any]:
    """The summary as JSON-able data (``realtime-trio run --json``, ``summary.json``)."""
    status = exit_status(results)
    return {
        "exit_status": status,
        "passed": status == 0,
        "scripts": [
            {
                "name": result.name,
                "file": None if result.source is None else str(result.source),
                "outcome": result.outcome,
                "passes": result.passes,
                "repeat": result.repeat,
                "min_pass": result.min_pass,
                "runs": [_run_json(run) for run in result.runs],
            }
            for result in results
        ],
    }


def junit_xml(results: Sequence[ScriptResult], *, suite: str = "realtime-trio") -> str:
    """The results as JUnit XML: one ``testcase`` per script."""
    outcomes = [result.outcome for result in results]
    root = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(outcomes.count("failed")),
        errors=str(outcomes.count("error")),
        time=f"{sum(run.duration for r in results for run in r.runs):.3f}",
    )
    for result in results:
        case = ET.SubElement(
            root,
            "testcase",
            classname=result.source.stem if result.source is not None else "script",
            name=result.name,
            time=f"{sum(run.duration for run in result.runs):.3f}",
        )
        if result.source is not None:
            case.set("file", str(result.source))
        problem = result.first_problem
        if result.outcome != "passed" and problem is not None:
            tag = "error" if result.outcome == "error" else "failure"
            message = problem.message or result.outcome
            if result.repeat > 1:
                message = (
                    f"{result.passes} of {len(result.runs)} runs passed, "
                    f"{result.min_pass} needed: {message}"
                )
            element = ET.SubElement(case, tag, message=message.splitlines()[0])
            element.text = "\n".join(_run_lines(problem))
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(line for run in result.runs for line in _run_lines(run))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
