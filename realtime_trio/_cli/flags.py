"""Flag values that several subcommands take, checked the same way everywhere.

Each check names the flag as typed and says what is wrong, so that
`realtime_trio._cli.errors` prints it as one line with exit status 2.
"""

from __future__ import annotations

import argparse
import urllib.parse

from .._client.transport import DEFAULT_URL
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


def websocket_url(flag: str, url: str) -> str:
    """``url`` if it is a Realtime WebSocket URL: ws:// or wss://, a host, a valid port.

    Raises:
        UsageError: it is not (naming ``flag``).
    """
    try:
        parsed = urllib.parse.urlsplit(url)
        parsed.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise UsageError(flag, f"{url!r} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("ws", "wss"):
        raise UsageError(
            flag, f"must be a ws:// or wss:// URL (such as {DEFAULT_URL}), not {url!r}"
        )
    if not parsed.hostname:
        raise UsageError(flag, f"{url!r} has no host")
    return url
