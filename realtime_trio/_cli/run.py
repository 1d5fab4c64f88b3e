"""The ``realtime-trio run`` command: run script files and report on them.

``realtime-trio run SCRIPT...`` runs each script against the built-in
simulator (default; in-process, on a mock clock that jumps over waits, so a
run is quick and its latencies are the simulated ones), a real endpoint
(``--url``, on the real clock; the key comes from ``$OPENAI_API_KEY`` or the
variable ``--api-key-env`` names, and is never printed), or the recordings
of an earlier ``--record`` (``--replay DIR``, on the mock clock).

Everything the user can get wrong is checked before the first script runs:
the flags, every script file (with the file, line and path of the first
problem), the recordings ``--replay`` needs, the folders it writes to. Each
problem is one line on stderr naming the flag; exit status 2.

While it runs, a plain line per turn goes to stderr (no progress bar: a
line per turn reads the same in a terminal and in a CI log, and needs no
extra dependency). At the end the summary goes to stdout (text, or JSON
with ``--json``), to ``--out DIR`` (``summary.json``, ``summary.txt`` and,
without ``--record``, each run's wire recording) and, with ``--junit FILE``,
to a JUnit XML file. Exit status: 0 every script passed (at least
``--min-pass`` of its ``--repeat`` runs), 1 an expectation failed, 3 a
script could not run (connection refused or broken, a server error), which
wins over 1 because the results are then incomplete; 2 usage, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import trio
import trio.testing

from .._scripted.describe import recording_hint
from .._scripted.handlers import load_handler
from .._scripted.report import json_summary, junit_xml, progress_line, text_summary
from .._scripted.results import (
    ScriptResult,
    ScriptRun,
    TurnResult,
    decided,
    exit_status,
)
from .._scripted.runner import run_script
from .._scripted.script import Script, ScriptError, load_script
from .errors import Exit, UsageError
from .flags import websocket_url

if TYPE_CHECKING:
    from .._scripted.target import Target

DEFAULT_OUT = "realtime-trio-results"


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of the ``run`` command to ``parser``."""
    parser.add_argument(
        "scripts", nargs="+", metavar="SCRIPT", help="script files (YAML or JSON)"
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--url",
        metavar="URL",
        help="run against this endpoint (wss://...) instead of the simulator",
    )
    target.add_argument(
        "--replay",
        metavar="DIR",
        help="replay the recordings in DIR (made with --record DIR)",
    )
    parser.add_argument(
        "--api-key-env",
        metavar="NAME",
        default=None,
        help="with --url: the environment variable holding the API key "
        "(default: OPENAI_API_KEY)",
    )
    parser.add_argument(
        "--record",
        metavar="DIR",
        help="write each script's wire recording to DIR, for --replay DIR",
    )
    parser.add_argument(
        "--elide-audio",
        action="store_true",
        help="leave audio payloads out of the recordings",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=DEFAULT_OUT,
        help="write the summary (and, without --record, the recordings) here "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each script N times (default: 1)",
    )
    parser.add_argument(
        "--min-pass",
        type=int,
        default=None,
        metavar="K",
        help="a script passes when K of its N runs pass (default: all N)",
    )
    parser.add_argument(
        "--junit", metavar="FILE", help="also write the results as JUnit XML"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the summary as JSON instead of text"
    )


def run_clock(args: argparse.Namespace) -> trio.abc.Clock | None:
    """The clock ``run`` needs: a jumping mock clock unless it talks to a real endpoint."""
    if args.url is not None:
        return None
    return trio.testing.MockClock(autojump_threshold=0)


def _counts(args: argparse.Namespace) -> tuple[int, int]:
    if args.repeat < 1:
        raise UsageError("--repeat", f"must be at least 1, not {args.repeat}")
    min_pass = args.repeat if args.min_pass is None else args.min_pass
    if min_pass < 1:
        raise UsageError("--min-pass", f"must be at least 1, not {min_pass}")
    if min_pass > args.repeat:
        raise UsageError(
            "--min-pass",
            f"{min_pass} passes out of --repeat {args.repeat} runs cannot happen",
        )
    return args.repeat, min_pass


def _directory(flag: str, path: str, *, create: bool) -> Path:
    folder = Path(path)
    try:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise UsageError(flag, f"{path}: no such directory")
    except OSError as exc:
        raise UsageError(flag, f"{path}: {exc.strerror or exc}") from None
    return folder


def load_scripts(paths: Sequence[str]) -> list[Script]:
    """Read and check every script; two of the same file stem would share recordings.

    Raises:
        UsageError: One cannot be read or is not valid (the first problem).
    """
    scripts: list[Script] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            script = load_script(path)
            load_handler(script)  # a phone agent's handler: can it be imported?
        except ScriptError as exc:
            raise UsageError(None, str(exc)) from None
        other = seen.setdefault(script.stem, os.path.realpath(path))
        if other == os.path.realpath(path) and script.stem in (s.stem for s in scripts):
            continue  # the same file twice: run it once
        if other != os.path.realpath(path):
            raise UsageError(
                None,
                f"{path} and {other} would both be recorded as {script.stem}.jsonl: "
                "rename one",
            )
        scripts.append(script)
    return scripts


def make_target(args: argparse.Namespace, scripts: Sequence[Script]) -> Target:
    """The `Target` the flags ask for, its recordings folder set.

    Raises:
        UsageError: A flag's value is not valid.
    """
    from .._scripted.target import Target

    if args.api_key_env is not None and args.url is None:
        raise UsageError("--api-key-env", "only means something with --url")
    if args.replay is not None:
        if args.record is not None:
            raise UsageError("--record", "cannot be used with --replay")
        replay = Target.replay(_directory("--replay", args.replay, create=False))
        for script in scripts:
            path = replay.replay_path(script.stem)
            if path is None or not path.is_file():
                raise UsageError(
                    "--replay",
                    f"{args.replay} has no recording {script.stem}.jsonl of "
                    f"{script.source}: make one with --record {args.replay}",
                )
        return replay
    if args.url is not None:
        url = websocket_url("--url", args.url)
        variable = args.api_key_env or "OPENAI_API_KEY"
        key = os.environ.get(variable, "")
        if not key.strip():
            flag = "--api-key-env" if args.api_key_env else "--url"
            raise UsageError(
                flag,
                f"needs an API key in ${variable}, which is not set"
                + ("" if args.api_key_env else " (or name another with --api-key-env)"),
            )
        target = Target.url(url, api_key=key)
    else:
        target = Target.simulator()
    if args.record is not None:
        record = _directory("--record", args.record, create=True)
    else:
        record = _directory("--out", args.out, create=True)
    return target.recording_to(record, elide_audio=args.elide_audio)


def _print_progress(script: Script, turn: TurnResult) -> None:
    print(
        progress_line(script.name, turn, len(script.turns)), file=sys.stderr, flush=True
    )


async def run_scripts_once(
    scripts: Sequence[Script], target: Target, *, repeat: int, min_pass: int
) -> list[ScriptResult]:
    """Run each script up to ``repeat`` times, until its outcome is decided."""
    results = []
    for script in scripts:
        runs: list[ScriptRun] = []
        while len(runs) < repeat and not decided(runs, repeat, min_pass):
            number = len(runs) + 1
            replaying = target.kind == "replay"
            name = (
                script.stem
                if number == 1 or replaying
                else f"{script.stem}-run{number}"
            )
            if repeat > 1:
                print(f"{script.name}: run {number} of {repeat}", file=sys.stderr)
            runs.append(
                await run_script(script, target, name=name, on_progress=_print_progress)
            )
        results.append(
            ScriptResult(
                name=script.name,
                source=script.source,
                runs=runs,
                repeat=repeat,
                min_pass=min_pass,
            )
        )
    return results


def write_reports(args: argparse.Namespace, results: Sequence[ScriptResult]) -> None:
    """The summary to stdout and ``--out``; JUnit XML to ``--junit``."""
    summary = json_summary(results)
    text = text_summary(results)
    out = Path(args.out)
    for name, content in (
        ("summary.json", json.dumps(summary, indent=2) + "\n"),
        ("summary.txt", text),
    ):
        try:
            (out / name).write_text(content, encoding="utf-8")
        except OSError as exc:
            raise UsageError("--out", f"{out / name}: {exc.strerror or exc}") from None
    if args.junit is not None:
        try:
            Path(args.junit).write_text(junit_xml(results), encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                "--junit", f"{args.junit}: {exc.strerror or exc}"
            ) from None
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(text, end="")


async def run_run(args: argparse.Namespace) -> None:
    """Check everything, run every script, report; end with the exit status.

    Raises:
        UsageError: See the module docstring.
        Exit: With status 1 or 3 when a script did not pass.
    """
    repeat, min_pass = _counts(args)
    scripts = load_scripts(args.scripts)
    target = make_target(args, scripts)
    _directory("--out", args.out, create=True)
    if args.junit is not None and not Path(args.junit).parent.is_dir():
        raise UsageError("--junit", f"{args.junit}: its folder does not exist")
    with recording_hint("--record DIR"):  # what failures say to record with
        results = await run_scripts_once(
            scripts, target, repeat=repeat, min_pass=min_pass
        )
    write_reports(args, results)
    for result in results:
        problem = result.first_problem
        if result.outcome == "error" and problem is not None:
            print(
                f"realtime-trio run: {result.source or result.name} could not run: "
                f"{(problem.message or 'no details').splitlines()[0]}",
                file=sys.stderr,
            )
    status = exit_status(results)
    if status:
        raise Exit(status)
