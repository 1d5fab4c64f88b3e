"""What ``realtime-trio bench`` prints: tables in milliseconds, JSON in seconds (sans-IO).

Per level of concurrency, the turns of all its runs are pooled into one
`MetricSummary` per stage, and the spread of the per-run medians (lowest to
highest) is printed beside it: the noise floor of the figure.
"""

from __future__ import annotations

import math
import os
import platform
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs

from .._agent.metrics import TurnMetrics
from .._agent.metrics_summary import (
    P99_MIN_N,
    MetricSummary,
    stage_values,
    summarize_values,
)
from .._version import __version__
from .config import BenchConfig
from .runner import RunResult

#: The rows of the table, in order, with their labels.
LABELS: Final = {
    "time_to_first_audio": "time to first audio",
    "endpointing": "  endpointing (server VAD wait)",
    "network": "  network + client",
    "generation": "  generation",
    "time_to_first_byte": "time to first byte",
    "response_start": "decision -> response.created",
    "first_transcript": "first transcript delta",
    "turn_total": "response.done (turn total)",
    "tool_round_trip": "tool call round trip",
    "interruption_settle": "interruption settle",
    "connect": "connect (to session.created)",
    "session_update": "session.update round trip",
}


@attrs.frozen
class LevelReport:
    """The runs of one level of concurrency, pooled."""

    concurrency: int
    runs: tuple[RunResult, ...]
    summary: dict[str, MetricSummary]
    spread: dict[str, tuple[float, float] | None]

    @property
    def turns(self) -> list[TurnMetrics]:
        return [turn for run in self.runs for turn in run.turns]

    @property
    def cpu_per_turn(self) -> float | None:
        count = len(self.turns)
        return sum(r.cpu_seconds for r in self.runs) / count if count else None

    @property
    def cpu_share(self) -> float:
        """CPU time over wall time (1.0 is one core busy)."""
        wall = sum(r.wall_seconds for r in self.runs)
        return sum(r.cpu_seconds for r in self.runs) / wall if wall else 0.0

    def count(self, flag: str) -> int:
        return sum(1 for turn in self.turns if getattr(turn, flag))


def _connection_values(runs: Iterable[RunResult]) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {"connect": [], "session_update": []}
    for run in runs:
        for convo in run.conversations:
            if convo.connect_seconds is not None:
                values["connect"].append(convo.connect_seconds)
            if convo.session_update_seconds is not None:
                values["session_update"].append(convo.session_update_seconds)
    return values


def _summaries(runs: Sequence[RunResult]) -> dict[str, MetricSummary]:
    turns = [turn for run in runs for turn in run.turns]
    summary = {
        name: summarize_values(name, values, premature=premature)
        for name, (values, premature) in stage_values(turns).items()
    }
    for name, values in _connection_values(runs).items():
        summary[name] = summarize_values(name, values)
    return summary


def level_report(concurrency: int, runs: Sequence[RunResult]) -> LevelReport:
    """Pool the runs of one level; the spread is the range of their medians."""
    per_run = [_summaries([run]) for run in runs]
    spread: dict[str, tuple[float, float] | None] = {}
    for name in LABELS:
        medians = [s[name].p50 for s in per_run]
        finite = [m for m in medians if m is not None and not math.isinf(m)]
        spread[name] = (min(finite), max(finite)) if len(finite) > 1 else None
    return LevelReport(concurrency, tuple(runs), _summaries(runs), spread)


def levels_of(runs: Sequence[RunResult]) -> list[LevelReport]:
    """One `LevelReport` per level of concurrency, in the order they ran."""
    order: list[int] = []
    for run in runs:
        if run.concurrency not in order:
            order.append(run.concurrency)
    return [
        level_report(k, [run for run in runs if run.concurrency == k]) for k in order
    ]


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "censored"
    return f"{value * 1000:.1f}"


def describe_target(config: BenchConfig, url: str) -> str:
    """The target in words (a real endpoint's URL carries no secret)."""
    if config.simulated:
        delay = config.server_delay * 1000
        return f"the built-in simulator on loopback (server delay {delay:g} ms)"
    return url


def format_level(level: LevelReport, repeat: int) -> list[str]:
    """The table of one level (milliseconds)."""
    header = f"{'stage (ms)':<32}{'n':>6}{'p50':>10}{'p90':>10}{'p99':>10}{'max':>10}"
    if repeat > 1:
        header += f"  {'p50 spread over runs':>22}"
    lines = [header]
    skipped = []
    for name, label in LABELS.items():
        row = level.summary[name]
        if row.n == 0:
            skipped.append(label.strip())
            continue
        line = (
            f"{label:<32}{row.n:>6}{_ms(row.p50):>10}{_ms(row.p90):>10}"
            f"{_ms(row.p99):>10}{_ms(row.max):>10}"
        )
        spread = level.spread.get(name)
        if repeat > 1:
            shown = "-" if spread is None else f"{_ms(spread[0])} - {_ms(spread[1])}"
            line += f"  {shown:>22}"
        lines.append(line)
    turns = len(level.turns)
    lines.append(
        f"turns {turns}: censored {level.count('censored')}, premature "
        f"{level.count('premature')}, interrupted {level.count('interrupted')}"
    )
    if skipped:
        lines.append("not measured here: " + ", ".join(skipped))
    cpu = level.cpu_per_turn
    if cpu is not None:
        lines.append(
            f"client CPU: {cpu * 1000:.1f} ms per turn "
            f"({level.cpu_share * 100:.1f} % of one core over the run)"
        )
    return lines


def format_report(config: BenchConfig, url: str, levels: Sequence[LevelReport]) -> str:
    """The whole text report."""
    runs = "run" if config.repeat == 1 else "runs"
    lines = [
        f"realtime-trio bench: {config.turns} turns per conversation, "
        f"{config.turn_detection}, {config.repeat} {runs} per level",
        f"target: {describe_target(config, url)}",
        f"p90 from 10 turns, p99 from {P99_MIN_N}; censored = timed out "
        f"after {config.timeout:g} s",
    ]
    for level in levels:
        lines.append("")
        lines.append(f"K = {level.concurrency} conversation(s) at once")
        lines.extend(format_level(level, config.repeat))
    if len(levels) > 1:
        lines.append("")
        lines.append("as K grows (client overhead and CPU)")
        lines.append(
            f"{'K':>6}{'turns':>8}{'TTFA p50':>12}{'network+client p50':>21}"
            f"{'CPU ms/turn':>13}{'CPU %':>8}"
        )
        for level in levels:
            cpu = level.cpu_per_turn
            lines.append(
                f"{level.concurrency:>6}{len(level.turns):>8}"
                f"{_ms(level.summary['time_to_first_audio'].p50):>12}"
                f"{_ms(level.summary['network'].p50):>21}"
                f"{'-' if cpu is None else f'{cpu * 1000:.2f}':>13}"
                f"{level.cpu_share * 100:>8.1f}"
            )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """Where the bench ran."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "realtime_trio": __version__,
    }


def document(
    config: BenchConfig, url: str, levels: Sequence[LevelReport], wall_seconds: float
) -> dict[str, Any]:
    """The JSON document of ``--json`` (durations in seconds; null for censored)."""
    return {
        "config": {
            **attrs.asdict(config),
            "concurrency": list(config.concurrency),
            "target": "simulator" if config.simulated else url,
        },
        "machine": machine(),
        "wall_seconds": wall_seconds,
        "p99_min_n": P99_MIN_N,
        "levels": [
            {
                "concurrency": level.concurrency,
                "turns": len(level.turns),
                "censored": level.count("censored"),
                "premature": level.count("premature"),
                "interrupted": level.count("interrupted"),
                "cpu_seconds_per_turn": level.cpu_per_turn,
                "cpu_share": level.cpu_share,
                "summary": {k: v.to_dict() for k, v in level.summary.items()},
                "p50_spread": {
                    k: None if v is None else list(v) for k, v in level.spread.items()
                },
                "runs": [
                    {
                        "run": run.run,
                        "wall_seconds": run.wall_seconds,
                        "cpu_seconds": run.cpu_seconds,
                        "turns": len(run.turns),
                    }
                    for run in level.runs
                ],
            }
            for level in levels
        ],
    }


def turn_line(
    concurrency: int, run: int, conversation: int, record: TurnMetrics
) -> dict[str, Any]:
    """One line of ``--jsonl``: where the turn ran, and its record."""
    return {
        "concurrency": concurrency,
        "run": run,
        "conversation": conversation,
        **record.to_dict(),
    }
