"""Aggregates of turn metrics: n, p50, p90, p99 and max per stage, honestly (sans-IO).

The rules (``docs/explanation/latency.rst`` gives the reasons):

* Percentiles are nearest-rank: the value of the turn at rank
  ``ceil(q / 100 * n)`` in sorted order, a value that was measured, never
  an interpolation between two.
* A percentile is reported only when at least one turn lies beyond it:
  p90 from `P90_MIN_N` (10) turns, p99 from `P99_MIN_N` (100); below that
  it is None.
* A censored turn (one that timed out) counts, for the stages it never
  reached (`CENSORABLE`), as longer than any measured value: `math.inf`.
  A percentile that lands on one is infinite (printed ``censored``), never
  zero, and the turn is never dropped.
* A premature turn (the assistant spoke before the user stopped) is left
  out of the stages measured from the end of the user's audio
  (`FROM_USER_END`), and counted apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs

from .metrics import CENSORABLE, FROM_USER_END, STAGES, TurnMetrics

#: Fewest values for a p90.
P90_MIN_N: Final = 10
#: Fewest values for a p99.
P99_MIN_N: Final = 100


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile of ``ordered`` (sorted, not empty)."""
    if not ordered:
        raise ValueError("no values")
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@attrs.frozen
class MetricSummary:
    """The distribution of one stage over many turns, in seconds.

    Attributes:
        name: The stage (one of `TurnMetrics.stages`).
        n: Values counted, censored ones included.
        censored: Of those, turns that timed out before the stage (infinite values).
        premature: Premature turns left out (stages from the end of user audio only).
        p50: The median (`math.inf` if it lands on a censored turn; None if n is 0).
        p90: None below `P90_MIN_N` values.
        p99: None below `P99_MIN_N` values.
        max: The largest value (`math.inf` when any turn was censored).
        min: The smallest value.
    """

    name: str
    n: int
    censored: int = 0
    premature: int = 0
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    max: float | None = None
    min: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: infinite values (censored) become None; ``censored`` says how many."""
        data: dict[str, Any] = attrs.asdict(self)
        for key in ("p50", "p90", "p99", "max", "min"):
            value = data[key]
            if value is not None and math.isinf(value):
                data[key] = None
        return data


def summarize_values(
    name: str, values: Iterable[float], *, premature: int = 0
) -> MetricSummary:
    """The summary of one stage's values (`math.inf` for censored ones)."""
    ordered = sorted(values)
    n = len(ordered)
    censored = sum(1 for value in ordered if math.isinf(value))
    if not n:
        return MetricSummary(name=name, n=0, premature=premature)
    return MetricSummary(
        name=name,
        n=n,
        censored=censored,
        premature=premature,
        p50=percentile(ordered, 50),
        p90=percentile(ordered, 90) if n >= P90_MIN_N else None,
        p99=percentile(ordered, 99) if n >= P99_MIN_N else None,
        max=ordered[-1],
        min=ordered[0],
    )


def stage_values(turns: Iterable[TurnMetrics]) -> dict[str, tuple[list[float], int]]:
    """Per stage: its values over ``turns`` (inf for censored) and the premature turns left out."""
    collected: dict[str, tuple[list[float], int]] = {name: ([], 0) for name in STAGES}
    for turn in turns:
        for name, values in turn.stages().items():
            bucket, premature = collected[name]
            if turn.premature and name in FROM_USER_END:
                collected[name] = (bucket, premature + 1)
                continue
            if values:
                bucket.extend(values)
            elif turn.censored and name in CENSORABLE and _reaches(turn, name):
                bucket.append(math.inf)
    return collected


def _reaches(turn: TurnMetrics, name: str) -> bool:
    """Whether the censored ``turn`` had the start of stage ``name`` (so it would have had it)."""
    if name in FROM_USER_END:
        return turn.user_audio_end is not None
    return turn.decision is not None


def summarize_turns(turns: Iterable[TurnMetrics]) -> dict[str, MetricSummary]:
    """A `MetricSummary` per stage of a `TurnMetrics` over ``turns``, by name.

    Percentiles are nearest-rank (a measured value, never an interpolation);
    p90 is given from 10 values and p99 from 100, else None. A censored
    turn counts as infinitely long for the stages it never reached; a
    premature turn is left out of the stages measured from the end of the
    user's audio (and counted in ``premature``).

    .. versionadded:: 0.1.0
    """
    return {
        name: summarize_values(name, values, premature=premature)
        for name, (values, premature) in stage_values(turns).items()
    }
