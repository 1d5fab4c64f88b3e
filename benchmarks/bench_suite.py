"""The whole benchmarks/ suite in one command, in under 5 minutes.

Run it directly (pytest does not collect it)::

    python benchmarks/bench_suite.py [--out DIR]

Runs each benchmark in turn, the slow ones in their ``--quick`` mode and the
peer comparison in full (5 rounds), prints their output as it comes, and, with
``--out``, writes each one's ``--json`` figures there. Needs the ``bench``
extra (``pip install -e '.[bench]'``); see ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (script, arguments, takes --json): about 2 minutes on 2 CPUs in all (121 s here).
SUITE: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("bench_events.py", ("--quick",), True),
    ("bench_parse_ceiling.py", ("--quick",), True),
    ("bench_audio.py", ("--seconds", "3", "--repeat", "3"), False),
    ("bench_connection.py", ("--quick",), True),
    ("bench_agent.py", ("--quick",), True),
    ("bench_peers.py", (), True),
    ("bench_scale.py", ("--quick",), True),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write each benchmark's JSON here")
    args = parser.parse_args()
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    failed = []
    for script, options, has_json in SUITE:
        command = [sys.executable, str(HERE / script), *options]
        if args.out and has_json:
            command += ["--json", str(args.out / f"{Path(script).stem}.json")]
        print(f"\n=== {' '.join([script, *command[2:]])}", flush=True)
        began = time.perf_counter()
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(script)
        print(f"=== {script}: {time.perf_counter() - began:.0f} s", flush=True)
    print(f"\nsuite: {time.perf_counter() - started:.0f} s", end="")
    print(f"; failed: {', '.join(failed)}" if failed else "")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
