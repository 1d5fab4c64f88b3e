"""``sip-serve``'s flags for running several instances: a shared Redis, leases, shutdown.

::

    realtime-trio sip-serve --redis-url redis://127.0.0.1:6379/0 --lease-seconds 5

``--redis-url`` (default ``$REALTIME_TRIO_REDIS_URL``: a URL with a password
shows in ``ps`` when given as a flag) gives every instance the same
`~realtime_trio.webhooks.RedisWebhookIdStore`: each call is accepted once,
and the calls of an instance that dies are taken over by another. coredis
(the ``redis`` extra) is imported only then. A graceful shutdown (SIGTERM,
Ctrl-C) hands the calls over by default when Redis is shared, and hangs
them up otherwise (``--on-shutdown``); a second signal ends a ``wait``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Final

import trio

from .._sip.options import ShutdownMode, SipServerOptions
from .._sip.server import SipCallServer
from .._webhooks.dedup import WebhookStoreError
from .errors import UsageError
from .flags import finite_positive_seconds, positive_seconds

if TYPE_CHECKING:
    from .._sip.redis_store import RedisWebhookIdStore

#: The environment variable ``--redis-url`` defaults to.
REDIS_URL_VARIABLE: Final = "REALTIME_TRIO_REDIS_URL"
_MODES: Final[dict[str, ShutdownMode]] = {
    "hang-up": "hang_up",
    "hand-over": "hand_over",
    "wait": "wait",
}


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--redis-url``, ``--lease-seconds``, ``--on-shutdown``, ``--shutdown-timeout``."""
    parser.add_argument(
        "--redis-url",
        default=None,
        metavar="URL",
        help="redis://HOST:PORT/DB shared by every instance: each call accepted once, "
        f"the calls of a dead instance taken over (default: ${REDIS_URL_VARIABLE}; "
        "needs the redis extra)",
    )
    parser.add_argument(
        "--lease-seconds",
        type=finite_positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="with --redis-url: a dead instance's calls are taken over within about "
        "4/3 of this (default: 5; the same on every instance)",
    )
    parser.add_argument(
        "--on-shutdown",
        choices=sorted(_MODES),
        default=None,
        help="what SIGTERM/Ctrl-C does with the calls in progress (default: "
        "hand-over with --redis-url, else hang-up); a second signal ends a wait",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="with --on-shutdown wait: the longest wait (default: no limit)",
    )


def store_from_args(args: argparse.Namespace) -> RedisWebhookIdStore | None:
    """The Redis store ``--redis-url`` names (not entered yet), or None.

    Raises:
        UsageError: a bad URL, or coredis is not installed.
    """
    url = args.redis_url or os.environ.get(REDIS_URL_VARIABLE) or None
    flag = "--redis-url" if args.redis_url else REDIS_URL_VARIABLE
    if url is None:
        return None
    try:
        from .._sip.redis_store import RedisWebhookIdStore
    except ModuleNotFoundError:
        raise UsageError(
            flag, "needs coredis: pip install 'realtime-trio[redis]'"
        ) from None
    try:
        return RedisWebhookIdStore.from_url(url, lease_ttl=args.lease_seconds)
    except ValueError as exc:  # the message never shows the URL (or its password)
        raise UsageError(flag, str(exc)) from None


def shutdown_options(
    args: argparse.Namespace, store: RedisWebhookIdStore | None
) -> SipServerOptions:
    """The server options of ``--on-shutdown`` and ``--shutdown-timeout``.

    Raises:
        UsageError: ``hand-over`` without a shared Redis.
    """
    mode = args.on_shutdown or ("hand-over" if store is not None else "hang-up")
    if mode == "hand-over" and store is None:
        raise UsageError("--on-shutdown", "hand-over needs --redis-url")
    options: SipServerOptions = {
        "on_shutdown": _MODES[mode],
        "shutdown_timeout": args.shutdown_timeout,
    }
    if store is not None:
        options["store"] = store
    return options


async def check_store(store: RedisWebhookIdStore, flag: str = "--redis-url") -> None:
    """Fail at start, in one line, when Redis does not answer.

    Raises:
        UsageError: it does not (naming the flag; exit status 2).
    """
    try:
        await store.ping()
    except WebhookStoreError as exc:
        raise UsageError(flag, str(exc)) from None


async def close_on_signals(server: SipCallServer, signals: AsyncIterator[int]) -> bool:
    """Shut ``server`` down at the first signal (a second one ends a ``wait``).

    Returns:
        Whether a SIGINT came (the command then exits with 130).
    """
    interrupted = started = False
    async with trio.open_nursery() as nursery:

        async def close() -> None:
            await server.aclose()
            nursery.cancel_scope.cancel()

        async for signum in signals:
            print(
                f"{signal.Signals(signum).name}: "
                + ("no more waiting" if started else "shutting down"),
                file=sys.stderr,
                flush=True,
            )
            interrupted = interrupted or signum == signal.SIGINT
            nursery.start_soon(server.aclose if started else close)
            started = True
    return interrupted


__all__ = [
    "REDIS_URL_VARIABLE",
    "add_cluster_arguments",
    "check_store",
    "close_on_signals",
    "shutdown_options",
    "store_from_args",
]
