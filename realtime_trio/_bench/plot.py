"""``--plot out.png``: the latency distributions and a per-turn timeline of the stages.

Needs matplotlib, in the ``plot`` extra (``pip install 'realtime-trio[plot]'``);
it is imported only when a plot is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .._agent.metrics import TurnMetrics
from .config import BenchFailed
from .report import LABELS, LevelReport

#: The stages drawn as distributions.
DISTRIBUTIONS = (
    "time_to_first_audio",
    "endpointing",
    "network",
    "generation",
    "time_to_first_byte",
    "turn_total",
)
#: The segments of the timeline, from the end of the user's audio.
SEGMENTS = (
    ("endpointing", "tab:blue"),
    ("network", "tab:orange"),
    ("generation", "tab:green"),
)


class PlotUnavailable(BenchFailed):
    """matplotlib is not installed."""


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotUnavailable(
            "needs matplotlib: pip install 'realtime-trio[plot]'"
        ) from None
    return plt


def check_available() -> None:
    """Raise `PlotUnavailable` now rather than after the run."""
    _pyplot()


def _ms(values: Sequence[float]) -> list[float]:
    return [v * 1000 for v in values if not math.isinf(v)]


def write_plot(path: str, levels: Sequence[LevelReport], title: str) -> None:
    """Draw every level's distributions (box plots, ms) and the first level's turns as a timeline.

    Raises:
        PlotUnavailable: matplotlib is missing.
        OSError: the file cannot be written.
    """
    plt = _pyplot()
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 9))
    data: list[list[float]] = []
    names: list[str] = []
    for level in levels:
        turns = level.turns
        for name in DISTRIBUTIONS:
            values = _ms([v for t in turns for v in t.stages()[name]])
            if values:
                data.append(values)
                suffix = f" (K={level.concurrency})" if len(levels) > 1 else ""
                names.append(LABELS[name].strip() + suffix)
    if data:
        top.boxplot(data, orientation="horizontal", whis=(0, 100))
        top.set_yticks(range(1, len(names) + 1), names)
    top.set_xlabel("milliseconds (whiskers: min and max)")
    top.set_title(title)
    _timeline(bottom, levels[0].turns if levels else [])
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _timeline(axes: Any, turns: Sequence[TurnMetrics]) -> None:
    """One bar per turn: its stages laid end to end from the end of the user's audio."""
    shown = [t for t in turns if t.user_audio_end is not None][:200]
    for row, turn in enumerate(shown):
        left = 0.0
        for name, color in SEGMENTS:
            value = getattr(turn, name)
            if value is None:
                continue
            width = value * 1000
            axes.barh(
                row, width, left=left, color=color, label=name if row == 0 else None
            )
            left += width
        if turn.turn_total is not None:
            axes.plot(turn.turn_total * 1000, row, "k|", markersize=8)
        if turn.censored:
            axes.plot(left, row, "rx")
    axes.set_xlabel(
        "milliseconds after the end of the user's audio (| response.done, x censored)"
    )
    axes.set_ylabel("turn (the first level of K)")
    axes.yaxis.get_major_locator().set_params(integer=True)
    if shown:
        axes.legend(loc="lower right")
