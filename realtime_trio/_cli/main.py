"""The ``realtime-trio`` command: ``demo``, ``simulate``, ``run`` and ``sip-serve``."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Awaitable, Callable, Sequence

import trio

from .._version import __version__
from .errors import INTERRUPTED, ArgumentParser, exit_status

Runner = Callable[[argparse.Namespace], Awaitable[None]]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    from .bench import add_bench_arguments, run_bench_command
    from .demo import add_demo_arguments, run_demo
    from .run import add_run_arguments, run_clock, run_run
    from .simulate import add_simulate_arguments, run_simulate

    parser = ArgumentParser(
        prog="realtime-trio",
        description="A Trio client for the OpenAI Realtime API, with a local simulator.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-vv: debug)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    demo = commands.add_parser(
        "demo",
        help="a scripted voice conversation (the simulator when there is no key)",
    )
    add_demo_arguments(demo)
    demo.set_defaults(run=run_demo)

    simulate = commands.add_parser("simulate", help="run the Realtime API simulator")
    add_simulate_arguments(simulate)
    simulate.set_defaults(run=run_simulate)

    scripts = commands.add_parser(
        "run", help="run test conversation scripts (against the simulator by default)"
    )
    add_run_arguments(scripts)
    scripts.set_defaults(run=run_run, choose_clock=run_clock)

    bench = commands.add_parser(
        "bench", help="measure turn latency, stage by stage (the simulator by default)"
    )
    add_bench_arguments(bench)
    bench.set_defaults(run=run_bench_command)

    try:
        from .sip_serve import add_sip_serve_arguments, run_sip_serve
    except ImportError:  # pragma: no cover - the SIP server is optional until it lands
        pass
    else:
        sip = commands.add_parser(
            "sip-serve", help="answer SIP calls: webhooks, call control, sideband"
        )
        add_sip_serve_arguments(sip)
        sip.set_defaults(run=run_sip_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
        logging.basicConfig(
            level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
        )
    except KeyboardInterrupt as exc:  # Ctrl-C while the subcommands load
        return exit_status(None, exc) or INTERRUPTED
    run: Runner = args.run
    # A subcommand may choose its clock (``run``: a mock clock for the simulator).
    clock_for: Callable[[argparse.Namespace], trio.abc.Clock | None] | None = getattr(
        args, "choose_clock", None
    )
    try:
        trio.run(run, args, clock=None if clock_for is None else clock_for(args))
    except BaseException as exc:  # told in one line; a bug keeps its traceback
        status = exit_status(args.command, exc)
        if status is None:
            raise
        return status
    return 0
