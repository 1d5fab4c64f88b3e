"""The ``realtime-trio simulate`` command (and ``python -m realtime_trio.testing``).

Every user error is found before the simulator listens and told in one line
naming the flag (`UsageError`, exit status 2; see `realtime_trio._cli.errors`):
a ``--port`` out of range or in use, a ``--scenario`` or ``--replay`` file
that cannot be read or is not valid, a WAV file the scenario plays that
cannot be read. Once it serves, Ctrl-C or SIGTERM stop it cleanly (exit
status 0).

A long-running simulator keeps no history of its connections (nothing reads
it): ``history`` and ``keep_ended`` are 0, so its memory stays flat.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import socket
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

import trio

from .._core.options import option_names
from ..testing._model.recording import Replay
from ..testing._model.replay_session import ReplaySession
from ..testing._model.scenario import Scenario, ScenarioError
from ..testing._server.options import (
    SIMULATOR_DEFAULTS,
    SimulatorOptions,
    session_settings,
)
from ..testing._server.run import open_simulator
from .errors import ArgumentParser, UsageError, exit_status

_DEFAULTS = SIMULATOR_DEFAULTS
T = TypeVar("T")


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
        "--replay",
        metavar="FILE",
        help="serve this JSONL recording back (or the one recording in a folder)",
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
        "--sideband-grace",
        type=float,
        default=_DEFAULTS["sideband_grace"],
        metavar="SECONDS",
        help="end a SIP call that has had no sideband for this long (default: the "
        "call stays up until hung up; see the guide to several SIP instances)",
    )
    parser.add_argument(
        "--record",
        "--record-dir",  # its first spelling, kept
        dest="record_dir",
        default=_DEFAULTS["record_dir"],
        metavar="DIR",
        help="record every connection as JSONL here (also: --record-dir)",
    )
    parser.add_argument(
        "--elide-audio",
        action="store_true",
        default=_DEFAULTS["elide_audio"],
        help="leave audio payloads out of the recordings",
    )


def simulator_options(args: argparse.Namespace) -> SimulatorOptions:
    """The simulator options of a parsed ``simulate`` command line, checked.

    Every flag stored under an option's name is passed on; ``--scenario``
    and ``--replay`` name files, which become the ``scenario`` option. The
    simulator keeps no history (see the module docstring).

    Raises:
        UsageError: A flag's value is not valid, or its file cannot be used.
    """
    _check_numbers(args)
    given = vars(args)
    options = {
        name: given[name] for name in option_names(SimulatorOptions) if name in given
    }
    options["history"] = 0
    options["keep_ended"] = 0
    if args.scenario:
        options["scenario"] = _load("--scenario", args.scenario, Scenario.load)
    elif args.replay:
        file = _replay_file(args.replay)
        replay = _load(
            "--replay",
            file,
            lambda path: Replay.load(path, unrecorded=args.replay_unrecorded),
        )
        _load("--replay", file, lambda _: ReplaySession(replay))
        options["scenario"] = replay
    else:
        options["scenario"] = None
    checked = cast(SimulatorOptions, options)
    try:
        session_settings(**checked)  # reads every WAV file the scenario plays
    except ScenarioError as exc:
        raise UsageError("--scenario", f"{args.scenario}: {exc}") from None
    return checked


def _check_numbers(args: argparse.Namespace) -> None:
    if not 0 <= args.port <= 65535:
        raise UsageError("--port", f"must be 0-65535, not {args.port}")
    if args.time_to_first_audio < 0:
        raise UsageError(
            "--time-to-first-audio", f"must be >= 0, not {args.time_to_first_audio}"
        )
    if args.max_message_size < 1:
        raise UsageError(
            "--max-message-size", f"must be at least 1, not {args.max_message_size}"
        )
    grace = args.sideband_grace
    if grace is not None and not 0 <= grace < float("inf"):
        raise UsageError(
            "--sideband-grace", f"must be a number of seconds >= 0, not {grace}"
        )


def _replay_file(path: str) -> str:
    """``--replay FILE``, or the one recording of ``--replay DIR`` (as ``--record DIR`` makes)."""
    if not os.path.isdir(path):
        return path
    try:
        found = sorted(name for name in os.listdir(path) if name.endswith(".jsonl"))
    except OSError as exc:
        raise UsageError("--replay", f"{path}: {exc.strerror or exc}") from None
    if len(found) != 1:
        which = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        problem = (
            f"holds {len(found)} recordings ({which})"
            if found
            else "holds no .jsonl recording"
        )
        raise UsageError("--replay", f"{path} {problem}: name the file to serve")
    return os.path.join(path, found[0])


def _load(flag: str, path: str, load: Callable[[str], T]) -> T:
    try:
        return load(path)
    except (OSError, ValueError) as exc:  # ScenarioError and UnicodeError too
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageError(flag, f"{path}: {detail}") from None


async def run_simulate(args: argparse.Namespace) -> None:
    """Run the simulator until Ctrl-C or SIGTERM.

    The WebSocket URL is printed as the first line of standard output, then
    the HTTP base URL of the REST endpoints.

    Raises:
        UsageError: See `simulator_options`; or ``--port`` is in use (or
            ``--host`` is not an address of this machine).
    """
    options = simulator_options(args)
    serving = False
    # Ctrl-C and SIGTERM end the simulator cleanly (exit status 0).
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        try:
            async with open_simulator(host=args.host, port=args.port, **options) as sim:
                serving = True
                print(sim.url, flush=True)
                print(f"REST: {sim.base_url}", flush=True)
                async for _ in signals:
                    break
        except OSError as exc:
            if serving:
                raise
            # "could not listen on 127.0.0.1:8000: address already in use"
            unknown_host = isinstance(exc, socket.gaierror)
            not_here = exc.errno == errno.EADDRNOTAVAIL
            flag = "--host" if unknown_host or not_here else "--port"
            raise UsageError(flag, exc.strerror or str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m realtime_trio.testing``; return the exit status.

    Errors are told as ``realtime-trio simulate`` tells them: one line, the
    flag, exit status 2 for a usage error, 1 for a failure, 130 for Ctrl-C
    before the simulator serves.
    """
    parser = ArgumentParser(
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
    except BaseException as exc:  # told in one line; a bug keeps its traceback
        status = exit_status("simulate", exc)
        if status is None:
            raise
        return status
    return 0
