"""Flag values that several subcommands take, checked the same way everywhere.

Each check names the flag as typed and says what is wrong, so that
`realtime_trio._cli.errors` prints it as one line with exit status 2.
"""

from __future__ import annotations

import argparse
import math

from .._client.exceptions import InvalidOptionError
from .._client.transport import parse_url
from .errors import UsageError


def positive_seconds(text: str) -> float:
    """An argparse ``type``: a number of seconds, more than 0 (``inf``: no limit)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds, not {text!r}"
        ) from None
    if not value > 0:  # nan is not either
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text!r}")
    return value


def finite_positive_seconds(text: str) -> float:
    """An argparse ``type``: a finite number of seconds, more than 0."""
    value = positive_seconds(text)
    if math.isinf(value):
        raise argparse.ArgumentTypeError(
            f"must be a finite number of seconds, not {text!r}"
        )
    return value


def tcp_port(text: str) -> int:
    """An argparse ``type``: a TCP port, 0 to 65535 (0 picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a port number, not {text!r}"
        ) from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0-65535, not {text!r}")
    return value


def positive_int(text: str) -> int:
    """An argparse ``type``: a whole number, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number, not {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return value


def websocket_url(flag: str, url: str) -> str:
    """``url`` if the client can connect to it: ws:// or wss://, a host, a valid port.

    The client's own check (`realtime_trio._client.transport.parse_url`), so
    a URL the flag accepts never fails later in `open_realtime`.

    Raises:
        UsageError: it is not (naming ``flag``).
    """
    try:
        parse_url(url)
    except InvalidOptionError as exc:
        raise UsageError(flag, str(exc).removeprefix(f"{exc.option}: ")) from None
    return url
