"""The progress line of ``realtime-trio bench``: one line on a terminal, nothing otherwise.

It needs no dependency: a fresh install runs the bench as it is, and a
redirected stderr (CI, a log file) gets no control characters.
"""

from __future__ import annotations

import time
from typing import TextIO

WIDTH = 30


class Progress:
    """Counts turns out of ``total`` and redraws ``[#####.....] n/total`` on ``stream``."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = max(1, total)
        self.done = 0
        self.censored = 0
        self.stream = stream
        self.live = stream.isatty()
        self.started = time.perf_counter()

    def advance(self, censored: bool = False) -> None:
        """One more turn ended."""
        self.done += 1
        self.censored += censored
        if self.live:
            self._draw()

    def _draw(self) -> None:
        filled = WIDTH * min(self.done, self.total) // self.total
        bar = "#" * filled + "." * (WIDTH - filled)
        elapsed = time.perf_counter() - self.started
        extra = f", {self.censored} censored" if self.censored else ""
        self.stream.write(
            f"\rbench [{bar}] {self.done}/{self.total} turns{extra}, {elapsed:.1f} s "
        )
        self.stream.flush()

    def close(self) -> None:
        """End the line (on a terminal)."""
        if self.live and self.done:
            self.stream.write("\n")
            self.stream.flush()
