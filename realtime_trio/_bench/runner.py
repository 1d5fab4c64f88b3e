"""The whole bench: every level of concurrency, every repeat, the CPU they cost (trio).

Each run opens K conversations at once (each plays ``--turns`` turns) and
measures the wall time and this process's CPU time around them: the client's
CPU alone when the built-in simulator runs (it has its own process).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

import attrs
import trio

from .._agent.metrics import TurnMetrics
from .config import BenchConfig
from .driver import ConversationResult, run_conversation
from .turns import BenchTurn


@attrs.frozen
class RunResult:
    """One run: K conversations at once.

    Attributes:
        concurrency: K.
        run: Its number at this level, from 0.
        conversations: What each conversation measured.
        wall_seconds: From the first connection to the last conversation's end.
        cpu_seconds: This process's CPU time (user + system) meanwhile.
    """

    concurrency: int
    run: int
    conversations: tuple[ConversationResult, ...]
    wall_seconds: float
    cpu_seconds: float

    @property
    def turns(self) -> list[TurnMetrics]:
        """Every turn of every conversation."""
        return [turn for convo in self.conversations for turn in convo.turns]

    @property
    def cpu_per_turn(self) -> float | None:
        """CPU seconds per turn played."""
        count = len(self.turns)
        return self.cpu_seconds / count if count else None


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


async def run_level(
    config: BenchConfig,
    url: str,
    api_key: str,
    turns: Sequence[BenchTurn],
    concurrency: int,
    run: int,
    on_turn: Callable[[int, int, int, TurnMetrics], None],
) -> RunResult:
    """Run K conversations at once; ``on_turn(K, run, conversation, record)`` after each turn."""
    results: list[ConversationResult | None] = [None] * concurrency

    async def one(index: int) -> None:
        results[index] = await run_conversation(
            config,
            url,
            api_key,
            turns,
            lambda record: on_turn(concurrency, run, index, record),
        )

    cpu = _cpu()
    wall = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for index in range(concurrency):
            nursery.start_soon(one, index)
    wall = time.perf_counter() - wall
    cpu = _cpu() - cpu
    return RunResult(
        concurrency=concurrency,
        run=run,
        conversations=tuple(r for r in results if r is not None),
        wall_seconds=wall,
        cpu_seconds=cpu,
    )


async def run_bench(
    config: BenchConfig,
    url: str,
    api_key: str,
    turns: Sequence[BenchTurn],
    on_turn: Callable[[int, int, int, TurnMetrics], None],
) -> list[RunResult]:
    """Every level of ``config.concurrency``, ``config.repeat`` times each, in order."""
    runs: list[RunResult] = []
    for concurrency in config.concurrency:
        for run in range(config.repeat):
            runs.append(
                await run_level(config, url, api_key, turns, concurrency, run, on_turn)
            )
    return runs
