"""How every ``realtime-trio`` subcommand reports a problem: one line, the flag, an exit status.

A command-line user never sees a traceback for their own mistake, a failure
of the network or the server, or Ctrl-C. Each of those is one line on
stderr, ``realtime-trio COMMAND: [--flag: ]what went wrong``, and an exit
status:

====  ============================================================
 2    a usage error: a bad flag value, a file that cannot be read or
      written, a port that cannot be listened on, a malformed scenario
      (`UsageError`, and argparse's own), a key or header value that
      HTTP cannot carry (`InvalidHeaderError`)
 1    a failure while running: connection refused or broken, a
      rejection, a timeout, the server's error (`RealtimeError`,
      `OSError`, `trio.TooSlowError`, `CommandFailed`)
 130  interrupted (Ctrl-C)
====  ============================================================

Anything else is a bug of realtime_trio, and keeps its traceback so that it
can be reported; so does `RealtimeInternalError`, which is the library
saying so. Subcommands raise `UsageError` with the *flag* the user
typed (``--out``), never the Python argument it became (``out_path``).
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

import trio

from .._core.errors import RealtimeError, RealtimeInternalError
from .._core.headers import InvalidHeaderError

USAGE: int = 2
FAILURE: int = 1
INTERRUPTED: int = 130


class UsageError(Exception):
    """The user's mistake on the command line: exit status 2.

    Args:
        flag: The flag as typed (``"--out"``), or None when no one flag is to blame.
        message: What is wrong, without the flag.
    """

    def __init__(self, flag: str | None, message: str) -> None:
        super().__init__(f"{flag}: {message}" if flag else message)
        self.flag = flag


class CommandFailed(Exception):
    """A failure the command has already put into words: exit status 1."""


class Exit(Exception):
    """End the command with ``status``, having said all there is to say already."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (with the flag) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        # argparse says "argument --port: invalid port_number value: 'x'".
        message = message.removeprefix("argument ")
        self.exit(USAGE, f"{self.prog}: {message} (see --help)\n")


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, trio.TooSlowError) and not str(exc):
        return "timed out"
    if isinstance(exc, UsageError | CommandFailed | InvalidHeaderError):
        return str(exc)
    text = str(exc) or "no details"
    return f"{type(exc).__name__}: {text}"


def exit_status(command: str | None, exc: BaseException) -> int | None:
    """Print the one line for ``exc`` and return the exit status; None for a bug.

    An exception group (a subcommand's own nursery) is judged by its leaves:
    Ctrl-C anywhere wins, then a usage error, then the first failure.

    Args:
        command: The subcommand, or None before one is known.
        exc: What the command raised.
    """
    prefix = f"realtime-trio {command}" if command else "realtime-trio"
    leaves = [leaf for leaf in _leaves(exc) if not isinstance(leaf, trio.Cancelled)]
    if len(leaves) == 1 and isinstance(leaves[0], Exit):
        return leaves[0].status
    if not leaves or any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
        print(f"{prefix}: interrupted", file=sys.stderr)
        return INTERRUPTED
    if any(isinstance(leaf, RealtimeInternalError) for leaf in leaves):
        return None
    for leaf in leaves:
        if isinstance(leaf, UsageError | InvalidHeaderError):
            print(f"{prefix}: {_describe(leaf)}", file=sys.stderr)
            return USAGE
    expected = RealtimeError | OSError | trio.TooSlowError | CommandFailed
    if all(isinstance(leaf, expected) for leaf in leaves):
        print(f"{prefix}: {_describe(leaves[0])}", file=sys.stderr)
        return FAILURE
    return None
