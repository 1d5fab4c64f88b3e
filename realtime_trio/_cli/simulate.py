"""The ``realtime-trio simulate`` command (and ``python -m realtime_trio.testing``)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import cast

import trio

from .._core.options import option_names
from ..testing._model.recording import Replay
from ..testing._model.scenario import Scenario
from ..testing._server.options import SIMULATOR_DEFAULTS, SimulatorOptions
from ..testing._server.simulator import open_simulator

_DEFAULTS = SIMULATOR_DEFAULTS


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of the ``simulate`` command to ``parser``.

    A flag that sets a simulator option stores it under the option's name
    (``dest``) with the option's default, so `simulator_options` finds it.
    """
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="TCP port (default: 0, a free port)"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        default=_DEFAULTS["api_keys"],
        metavar="KEY",
        help="accept only this API key (repeatable; default: any non-empty key)",
    )
    scenario = parser.add_mutually_exclusive_group()
    scenario.add_argument(
        "--scenario", metavar="FILE", help="a scenario JSON file (see the docs)"
    )
    scenario.add_argument(
        "--replay", metavar="FILE", help="serve this JSONL recording back"
    )
    parser.add_argument(
        "--replay-unrecorded",
        choices=("ignore", "error"),
        default="ignore",
        help="with --replay: what a client event the recording lacks gets (default: ignore)",
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        default=_DEFAULTS["realtime"],
        help="pace output audio in real time (default: as fast as possible)",
    )
    parser.add_argument(
        "--time-to-first-audio",
        type=float,
        default=_DEFAULTS["time_to_first_audio"],
        metavar="SECONDS",
        help="delay before each response's first audio delta (default: %(default)g)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=_DEFAULTS["seed"],
        help="seed of ids and voices (default: %(default)s)",
    )
    parser.add_argument(
        "--require-safety-identifier",
        action="store_true",
        default=_DEFAULTS["require_safety_identifier"],
        help="refuse handshakes without an OpenAI-Safety-Identifier header",
    )
    parser.add_argument(
        "--max-message-size",
        type=int,
        default=_DEFAULTS["max_message_size"],
        metavar="CHARS",
        help="larger client messages get an error event (default: "
        f"{_DEFAULTS['max_message_size'] // 2**20} MiB)",
    )
    parser.add_argument(
        "--record-dir",
        default=_DEFAULTS["record_dir"],
        metavar="DIR",
        help="record every connection as JSONL here",
    )
    parser.add_argument(
        "--elide-audio",
        action="store_true",
        default=_DEFAULTS["elide_audio"],
        help="leave audio payloads out of the recordings",
    )


def simulator_options(args: argparse.Namespace) -> SimulatorOptions:
    """The simulator options of a parsed ``simulate`` command line.

    Every flag stored under an option's name is passed on; ``--scenario``
    and ``--replay`` name files, which become the ``scenario`` option.
    """
    given = vars(args)
    options = {
        name: given[name] for name in option_names(SimulatorOptions) if name in given
    }
    if args.scenario:
        options["scenario"] = Scenario.load(args.scenario)
    elif args.replay:
        options["scenario"] = Replay.load(
            args.replay, unrecorded=args.replay_unrecorded
        )
    else:
        options["scenario"] = None
    return cast(SimulatorOptions, options)


async def run_simulate(args: argparse.Namespace) -> None:
    """Run the simulator until Ctrl-C or SIGTERM.

    The WebSocket URL is printed as the first line of standard output, then
    the HTTP base URL of the REST endpoints.
    """
    options = simulator_options(args)
    async with open_simulator(host=args.host, port=args.port, **options) as sim:
        print(sim.url, flush=True)
        print(f"REST: {sim.base_url}", flush=True)
        # Ctrl-C and SIGTERM end the simulator cleanly (exit status 0).
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                return


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m realtime_trio.testing``."""
    parser = argparse.ArgumentParser(
        prog="python -m realtime_trio.testing",
        description="Run a local simulator of the OpenAI Realtime API.",
    )
    add_simulate_arguments(parser)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every connection"
    )
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
        )
    try:
        trio.run(run_simulate, args)
    except BaseException as exc:
        if _only(exc, KeyboardInterrupt):
            return 0
        if _only(exc, OSError):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise
    return 0


def _only(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``exc`` is ``kind``, or a group of nothing else."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_only(inner, kind) for inner in exc.exceptions)
    return isinstance(exc, kind)
