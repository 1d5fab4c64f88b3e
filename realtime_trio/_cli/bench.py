"""``realtime-trio bench``: turn latency against the built-in simulator or a real endpoint.

Everything the user can get wrong is found before anything runs, and told
in one line naming the flag (exit status 2): a bad number, a ``--url`` that
is not ``ws://``/``wss://``, no ``OPENAI_API_KEY`` for ``--url`` (the key is
never printed), ``--server-delay`` with ``--url``, a ``--jsonl`` or
``--plot`` file that cannot be written, ``--plot`` without matplotlib, a
``--script`` that cannot be read or played. When the benchmark cannot run (the
connection, the server) the exit status is 3, as for ``realtime-trio run``;
Ctrl-C is 130.

The table goes to standard output (or, with ``--json``, the JSON document);
the progress line goes to standard error, on a terminal only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import IO, Any

import trio

from .._agent.metrics import TurnMetrics
from .._bench.config import BenchConfig
from .._bench.plot import PlotUnavailable, check_available, write_plot
from .._bench.progress import Progress
from .._bench.report import document, format_report, levels_of, turn_line
from .._bench.runner import run_bench
from .._bench.simulator import LOCAL_KEY, local_simulator
from .._bench.turns import BenchTurn, builtin_turn
from .._core.errors import RealtimeError, RealtimeInternalError
from .._core.headers import InvalidHeaderError, check_header_value
from .._trio.unwrap import leaves
from .errors import Exit, UsageError
from .flags import positive_int, positive_seconds, websocket_url

#: The exit status when the benchmark could not run (the connection, the
#: server), as `realtime-trio run` uses it.
COULD_NOT_RUN = 3

#: Where a real endpoint's key comes from (never a flag: it would show in `ps`).
KEY_VARIABLE = "OPENAI_API_KEY"


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(positive_int(part.strip()) for part in text.split(","))
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(
            f"must be K or K1,K2,... (whole numbers, at least 1): {exc}"
        ) from None
    return levels


def _delay(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds, not {text!r}"
        ) from None
    if not 0 <= value < 3600:
        raise argparse.ArgumentTypeError(f"must be 0 to 3600 seconds, not {text!r}")
    return value


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``bench`` to ``parser``."""
    parser.add_argument(
        "--turns",
        type=positive_int,
        default=20,
        metavar="N",
        help="turns per conversation (default: %(default)s)",
    )
    parser.add_argument(
        "--turn-detection",
        choices=("server_vad", "semantic_vad", "manual"),
        default="server_vad",
        help="who ends the user's turn; manual: we commit, no endpointing (default: %(default)s)",
    )
    parser.add_argument(
        "--concurrency",
        type=_levels,
        default=(1,),
        metavar="K[,K...]",
        help="conversations at once; a list runs each level in turn (default: 1)",
    )
    parser.add_argument(
        "--repeat",
        type=positive_int,
        default=1,
        metavar="R",
        help="run each level R times and show the spread of the medians (default: 1)",
    )
    parser.add_argument(
        "--url",
        help=f"a real endpoint (wss://...), key from {KEY_VARIABLE}; "
        "default: the built-in simulator",
    )
    parser.add_argument(
        "--model",
        default="gpt-realtime",
        help="the model of --url (default: %(default)s)",
    )
    parser.add_argument(
        "--server-delay",
        type=_delay,
        default=0.0,
        metavar="SECONDS",
        help="the simulator's delay before each response's first audio (default: 0)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=15.0,
        metavar="SECONDS",
        help="a turn not done by then is censored (default: %(default)g)",
    )
    parser.add_argument(
        "--audio-frame-ms",
        type=positive_int,
        default=None,
        metavar="MS",
        help="audio per input_audio_buffer.append (default: the library's, 100)",
    )
    parser.add_argument(
        "--script",
        metavar="FILE",
        help="play the user turns of a script file (YAML) instead of the built-in turn",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON document instead of the table"
    )
    parser.add_argument(
        "--jsonl", metavar="FILE", help="write every turn as a JSON line"
    )
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help="draw the distributions and a timeline (PNG; needs matplotlib)",
    )


def bench_config(args: argparse.Namespace) -> BenchConfig:
    """The checked configuration of a parsed command line.

    Raises:
        UsageError: a flag's value cannot be used (naming the flag).
    """
    if args.url is not None:
        websocket_url("--url", args.url)
        if args.server_delay:
            raise UsageError(
                "--server-delay", "only the built-in simulator has one (not with --url)"
            )
    if not args.timeout < float("inf"):
        raise UsageError("--timeout", "must be finite")
    return BenchConfig(
        turns=args.turns,
        turn_detection=args.turn_detection,
        concurrency=args.concurrency,
        repeat=args.repeat,
        url=args.url,
        model=args.model,
        server_delay=args.server_delay,
        timeout=args.timeout,
        script=args.script,
        audio_frame_ms=args.audio_frame_ms,
    )


def api_key(config: BenchConfig) -> str:
    """The key: our own for the simulator, ``OPENAI_API_KEY`` for ``--url``.

    Raises:
        UsageError: none, or one HTTP cannot carry (the key is never shown).
    """
    if config.simulated:
        return LOCAL_KEY
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        raise UsageError("--url", f"needs an API key: set {KEY_VARIABLE}")
    try:
        check_header_value("Authorization", key, what="the API key")
    except InvalidHeaderError as exc:
        raise UsageError("--url", f"{KEY_VARIABLE}: {exc}") from None
    return key


def _writable(flag: str, path: str | None) -> IO[str] | None:
    if path is None:
        return None
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(flag, f"cannot write {path}: {exc.strerror or exc}") from None


def _turns(config: BenchConfig) -> list[BenchTurn]:
    if config.script is None:
        return [builtin_turn()]
    from .._bench.config import BenchFailed
    from .._bench.script_turns import script_turns

    try:
        return script_turns(config.script)
    except BenchFailed as exc:
        raise UsageError("--script", str(exc)) from None


@asynccontextmanager
async def _target(config: BenchConfig) -> AsyncIterator[str]:
    if config.url is not None:
        yield config.url
        return
    async with local_simulator(config.server_delay) as url:
        yield url


def _could_not_run(exc: BaseException) -> BaseException | None:
    """The connection or server failure in ``exc`` (one, or a group of them), else None."""
    found = [e for e in leaves(exc) if not isinstance(e, trio.Cancelled)]
    if found and all(
        isinstance(e, RealtimeError | OSError)
        and not isinstance(e, RealtimeInternalError)
        for e in found
    ):
        return found[0]
    return None


async def run_bench_command(args: argparse.Namespace) -> None:
    """Run ``realtime-trio bench``."""
    config = bench_config(args)
    key = api_key(config)
    turns = _turns(config)
    if args.plot is not None:
        try:
            check_available()
        except PlotUnavailable as exc:
            raise UsageError("--plot", str(exc)) from None
        _writable("--plot", args.plot).close()  # type: ignore[union-attr]
    jsonl = _writable("--jsonl", args.jsonl)
    progress = Progress(config.total_turns, sys.stderr)

    def on_turn(
        concurrency: int, run: int, conversation: int, record: TurnMetrics
    ) -> None:
        progress.advance(record.censored)
        if jsonl is not None:
            line = turn_line(concurrency, run, conversation, record)
            jsonl.write(json.dumps(line, default=_json_default) + "\n")

    started = time.perf_counter()
    try:
        async with _target(config) as url:
            runs = await run_bench(config, url, key, turns, on_turn)
    except BaseException as exc:
        failure = _could_not_run(exc)
        if failure is None:
            raise
        # As `realtime-trio run` says it: the benchmark could not run (3).
        print(f"realtime-trio bench: could not run: {failure}", file=sys.stderr)
        raise Exit(COULD_NOT_RUN) from None
    finally:
        progress.close()
        if jsonl is not None:
            jsonl.close()
    wall = time.perf_counter() - started
    levels = levels_of(runs)
    if args.json:
        print(
            json.dumps(
                document(config, url, levels, wall), indent=2, default=_json_default
            )
        )
    else:
        print(format_report(config, url, levels))
        print(f"\nwall time {wall:.1f} s")
    if args.plot is not None:
        title = f"realtime-trio bench, {config.turn_detection}, {describe(config, url)}"
        try:
            write_plot(args.plot, levels, title)
        except OSError as exc:
            raise UsageError("--plot", f"cannot write {args.plot}: {exc}") from None


def describe(config: BenchConfig, url: str) -> str:
    return "simulator" if config.simulated else url


def _json_default(value: Any) -> Any:
    raise TypeError(f"not JSON: {value!r}")
