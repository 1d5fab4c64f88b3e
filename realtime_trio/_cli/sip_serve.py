"""``realtime-trio sip-serve``: answer SIP calls with a handler, until Ctrl-C.

::

    export OPENAI_API_KEY=sk-... OPENAI_WEBHOOK_SECRET=whsec_...
    realtime-trio sip-serve --port 8000 --handler myapp.calls:handler

The first line printed is the webhook URL (register its public equivalent,
behind your TLS proxy, for ``realtime.call.incoming``). SIGINT or SIGTERM
shuts down cleanly: calls still up are hung up.

A configuration error (no secret or key, a malformed one, a bad
``--handler``) is a `UsageError` naming the flag, or the environment
variable the value came from: one line, exit status 2, and never the value.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import math
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import trio

from .._core.headers import InvalidHeaderError
from .._core.session_models import SessionConfig
from .._sip.call import CallHandler, Decider
from .._sip.options import SIP_SERVER_DEFAULTS, SipServerOptions
from .._sip.server import SipCallServer
from .._trio.unwrap import open_hidden_nursery
from .._webhooks.signature import InvalidSecretError
from .errors import INTERRUPTED, Exit, UsageError
from .flags import finite_positive_seconds, positive_int, positive_seconds, tcp_port
from .sip_cluster import (
    add_cluster_arguments,
    check_store,
    close_on_signals,
    shutdown_options,
    store_from_args,
)
from .sip_demo import DEMO_INSTRUCTIONS, demo_session, make_demo_handler

if TYPE_CHECKING:
    from .._sip.redis_store import RedisWebhookIdStore

#: The demo handler's default time limit (a guard on the cost of a forgotten call).
DEMO_MAX_CALL_SECONDS: Final = 300.0


def add_sip_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``sip-serve`` options to ``parser``.

    Their defaults are the server's own (`SIP_SERVER_DEFAULTS`), except
    ``--port``: a command line wants a fixed port, the library a free one.
    """
    parser.add_argument(
        "--host",
        default=SIP_SERVER_DEFAULTS["host"],
        help=f"address to listen on (default: {SIP_SERVER_DEFAULTS['host']})",
    )
    parser.add_argument(
        "--port",
        type=tcp_port,
        default=8000,
        help="TCP port (default: 8000; 0 picks a free one)",
    )
    parser.add_argument(
        "--path",
        default=SIP_SERVER_DEFAULTS["path"],
        help=f"webhook path (default: {SIP_SERVER_DEFAULTS['path']})",
    )
    parser.add_argument(
        "--webhook-secret",
        default=None,
        help="the endpoint's whsec_... secret (default: $OPENAI_WEBHOOK_SECRET; prefer the variable: arguments show in ps)",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help="standard API key (default: $OPENAI_API_KEY; prefer the variable: arguments show in ps)",
    )
    parser.add_argument(
        "--api-base",
        default=SIP_SERVER_DEFAULTS["api_base_url"],
        help=f"REST base URL (default: {SIP_SERVER_DEFAULTS['api_base_url']})",
    )
    parser.add_argument(
        "--realtime-url", default=None, help="WebSocket endpoint (default: the API's)"
    )
    parser.add_argument(
        "--handler",
        default=None,
        metavar="MODULE:FUNCTION",
        help="async def handler(call) to run for each call, as module:function or path/file.py:function "
        "(default: a demo that greets the caller, talks, and hangs up)",
    )
    parser.add_argument(
        "--decide",
        default=None,
        metavar="MODULE:FUNCTION",
        help="async def decide(call) -> Accept | Reject | None (default: accept every call)",
    )
    parser.add_argument(
        "--instructions", default=None, help="session instructions for accepted calls"
    )
    parser.add_argument(
        "--model",
        default="gpt-realtime",
        help="model for accepted calls (default: gpt-realtime)",
    )
    parser.add_argument(
        "--max-calls",
        type=int,
        default=SIP_SERVER_DEFAULTS["max_concurrent_calls"],
        help="concurrent calls; more get 486 Busy "
        f"(default: {SIP_SERVER_DEFAULTS['max_concurrent_calls']})",
    )
    parser.add_argument(
        "--max-call-seconds",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="each call is hung up after this long, its handler cancelled "
        f"(default: {DEMO_MAX_CALL_SECONDS:g} with the demo handler, "
        f"{SIP_SERVER_DEFAULTS['max_call_seconds']:g} otherwise; inf: no limit)",
    )
    parser.add_argument(
        "--max-body-size",
        type=positive_int,
        default=SIP_SERVER_DEFAULTS["max_body_size"],
        metavar="BYTES",
        help="largest webhook body; larger ones get 413 "
        f"(default: {SIP_SERVER_DEFAULTS['max_body_size']})",
    )
    parser.add_argument(
        "--max-connections",
        type=positive_int,
        default=SIP_SERVER_DEFAULTS["max_connections"],
        help="HTTP connections served at once; more wait until one closes "
        f"(default: {SIP_SERVER_DEFAULTS['max_connections']})",
    )
    parser.add_argument(
        "--header-timeout",
        type=finite_positive_seconds,
        default=SIP_SERVER_DEFAULTS["header_timeout"],
        metavar="SECONDS",
        help="a connection that has not sent a request's headers within this "
        "long (from its opening, or its previous response) is closed "
        f"(default: {SIP_SERVER_DEFAULTS['header_timeout']:g})",
    )
    parser.add_argument(
        "--health-path",
        default=SIP_SERVER_DEFAULTS["health_path"],
        metavar="PATH",
        help="GET here answers 200 while serving, 503 while shutting down; "
        f"an empty value turns it off (default: {SIP_SERVER_DEFAULTS['health_path']})",
    )
    add_cluster_arguments(parser)


def load_object(spec: str) -> Any:
    """Load ``module:attr`` (or ``path/to/file.py:attr``; dotted attributes allowed).

    Raises:
        ValueError: ``spec`` has no ``:``, or the attribute does not exist.
        ImportError: the module cannot be imported.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"expected MODULE:FUNCTION, got {spec!r}")
    if module_name.endswith(".py"):
        path = Path(module_name)
        loader_spec = importlib.util.spec_from_file_location(path.stem, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ImportError(f"cannot load {module_name}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules.setdefault(path.stem, module)
        loader_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{module_name} has no attribute {attr!r}") from None
    return obj


def _callable(spec: str, flag: str) -> Callable[..., Any]:
    try:
        obj = load_object(spec)
    except (ValueError, ImportError) as exc:
        raise UsageError(flag, str(exc)) from None
    except SyntaxError as exc:
        raise UsageError(flag, f"{exc.filename}:{exc.lineno}: {exc.msg}") from None
    except OSError as exc:
        where = exc.filename if exc.filename is not None else spec
        raise UsageError(flag, f"{where}: {exc.strerror or exc}") from None
    if not callable(obj):
        raise UsageError(flag, f"{spec!r} is not callable")
    return obj  # type: ignore[no-any-return]


def _flag_or_env(
    value: str | None, flag: str, variable: str, what: str
) -> tuple[str, str]:
    """The value of ``flag``, else of ``$variable``, and where it came from.

    Raises:
        UsageError: neither gives a value, or the flag's is empty.
    """
    if value is not None:
        if not value:
            raise UsageError(flag, f"the {what} is empty")
        return value, flag
    value = os.environ.get(variable)
    if not value:
        raise UsageError(flag, f"no {what}: pass {flag} or set {variable}")
    return value, variable


def server_from_args(
    args: argparse.Namespace, store: RedisWebhookIdStore | None = None
) -> SipCallServer:
    """Build the `SipCallServer` the arguments describe (``store``: ``--redis-url``'s).

    Raises:
        UsageError: a missing or malformed secret or key (naming the flag, or
            the environment variable it came from), a bad ``--handler`` or
            ``--decide``, a bad option.
    """
    secret, secret_from = _flag_or_env(
        args.webhook_secret,
        "--webhook-secret",
        "OPENAI_WEBHOOK_SECRET",
        "webhook secret",
    )
    key, key_from = _flag_or_env(args.api_key, "--api-key", "OPENAI_API_KEY", "API key")
    if not args.path.startswith("/"):
        raise UsageError("--path", f"must start with '/', not {args.path!r}")
    if args.max_calls < 1:
        raise UsageError("--max-calls", f"must be at least 1, not {args.max_calls}")
    health_path = args.health_path or None
    if health_path is not None and not health_path.startswith("/"):
        raise UsageError("--health-path", f"must start with '/', not {health_path!r}")
    if health_path == args.path:
        raise UsageError("--health-path", "must differ from --path")
    max_call_seconds = args.max_call_seconds
    handler: CallHandler
    if args.handler is None:
        if max_call_seconds is None:
            max_call_seconds = DEMO_MAX_CALL_SECONDS
        handler = make_demo_handler(max_call_seconds=max_call_seconds)
        session = demo_session(args.instructions or DEMO_INSTRUCTIONS, model=args.model)
    else:
        handler = _callable(args.handler, "--handler")
        session = SessionConfig(model=args.model)
        if args.instructions is not None:
            session = SessionConfig(model=args.model, instructions=args.instructions)
    decide: Decider | None = None
    if args.decide is not None:
        decide = _callable(args.decide, "--decide")
    options: SipServerOptions = {
        "webhook_secret": secret,
        "api_key": key,
        "api_base_url": args.api_base,
        "realtime_url": args.realtime_url,
        "host": args.host,
        "port": args.port,
        "path": args.path,
        "decide": decide,
        "session": session,
        "max_concurrent_calls": args.max_calls,
        "max_body_size": args.max_body_size,
        "max_connections": args.max_connections,
        "header_timeout": args.header_timeout,
        "health_path": health_path,
    }
    if max_call_seconds is not None:
        options["max_call_seconds"] = (
            None if math.isinf(max_call_seconds) else max_call_seconds
        )
    options.update(shutdown_options(args, store))
    try:
        return SipCallServer(handler, **options)
    except InvalidSecretError as exc:  # its message never shows the secret
        raise UsageError(secret_from, str(exc)) from None
    except InvalidHeaderError as exc:  # nor this one the key
        raise UsageError(
            key_from if exc.header == "Authorization" else None, str(exc)
        ) from None


async def run_sip_serve(
    args: argparse.Namespace,
    *,
    stdout: IO[str] | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``sip-serve``: print the webhook URL, serve until SIGINT/SIGTERM or cancellation.

    Args:
        args: The parsed arguments (see `add_sip_serve_arguments`).
        stdout: Where the URL is printed (default: ``sys.stdout``).
        task_status: Given the URL once listening (for ``nursery.start``).

    Raises:
        UsageError: a configuration error (see `server_from_args`), or
            Redis does not answer at start.
        OSError: the address cannot be bound.
    """
    store = store_from_args(args)
    async with contextlib.AsyncExitStack() as stack:
        if store is not None:
            await stack.enter_async_context(store)
            await check_store(store)
        await _serve(server_from_args(args, store), stdout, task_status)


async def _serve(
    server: SipCallServer,
    stdout: IO[str] | None,
    task_status: trio.TaskStatus[str],
) -> None:
    out = stdout if stdout is not None else sys.stdout
    # The signal receiver goes in first: once the URL is printed, Ctrl-C
    # (or SIGTERM) always means "shut down cleanly". The nursery is hidden:
    # one exception comes out (OSError for a port in use, told in one line).
    interrupted = False
    with _shutdown_signals() as signals:
        async with open_hidden_nursery() as nursery:
            await nursery.start(server.serve)
            print(server.url, file=out, flush=True)
            task_status.started(server.url)
            if signals is None:
                await trio.sleep_forever()
            else:
                interrupted = await close_on_signals(server, signals)
            await server.aclose()
    if interrupted:
        # Ctrl-C ends every command with 130 (SIGTERM, a service manager's
        # stop, is a normal end: 0), after the clean shutdown above.
        raise Exit(INTERRUPTED)


def _shutdown_signals() -> Any:
    """A receiver of SIGINT and SIGTERM, or a null context off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return contextlib.nullcontext(None)
    wanted = [signal.SIGINT]
    if hasattr(signal, "SIGTERM"):
        wanted.append(signal.SIGTERM)
    return trio.open_signal_receiver(*wanted)


__all__ = [
    "add_sip_serve_arguments",
    "load_object",
    "run_sip_serve",
    "server_from_args",
]
