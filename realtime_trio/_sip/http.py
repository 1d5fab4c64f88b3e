"""The SIP call server's HTTP side: a raw ASGI app, served by hypercorn's protocol stack.

`WebhookApp` reads a POST to the webhook path (at most ``max_body_size``
bytes, within `BODY_TIMEOUT`) and answers what its handler says; a GET of
the health path answers what the health check says; every other path,
method or scope is refused at once. `serve_http` runs it on a socket it
binds itself.

Why hypercorn: it is a maintained, typed ASGI server with a native trio
worker (no asyncio bridge), built on the sans-IO h11/h2/wsproto stack; a raw
ASGI callable needs no web framework for one endpoint (docs/howto/sip.rst,
"Why hypercorn and httpx").

Limits on connections
---------------------
Hypercorn bounds the size of a request's headers (16 KiB), the time between
two reads (`READ_TIMEOUT`) and, through its ``keep_alive_timeout``, the time
from a connection's opening (or its previous response) until a request's
headers are complete: ``header_timeout`` here, so a client that sends its
headers a byte at a time is dropped. It has no bound on the number of open
connections (each holds a file descriptor and a task), so `serve_http` runs
its own accept loop: at most ``max_connections`` are served at once, and
further ones wait in the kernel's listen backlog, unread, until one closes.
Each connection is then run by hypercorn's ``TCPServer``, as hypercorn's own
trio worker does (``hypercorn.trio.run.worker_serve``, which offers no such
limit).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Awaitable, Callable
from typing import Final, TypeAlias

import hypercorn.config
import trio
from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import (
    ASGIReceiveCallable,
    ASGISendCallable,
    ConnectionState,
    Scope,
)

from .._core.logs import get_logger
from .call import logger
from .statistics import Counters

#: Seconds a client may take to send a webhook's body (a slow sender holds a task).
BODY_TIMEOUT: Final = 10.0
#: Seconds hypercorn waits for each read (stalled connections).
READ_TIMEOUT: Final = 30
#: Pending connections the kernel keeps while all ``max_connections`` are busy.
BACKLOG: Final = 128
#: Seconds between two warnings that the connection limit was reached.
LIMIT_WARNING_INTERVAL: Final = 60.0
# accept() errors that mean "out of resources for now": wait, then retry
# (as trio.serve_listeners does); any other error ends the server.
_ACCEPT_RETRY_ERRNOS: Final = frozenset(
    {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}
)
_ACCEPT_RETRY_DELAY: Final = 0.1

#: Headers as ``(lower-case name, value)`` pairs, in order.
Headers: TypeAlias = list[tuple[str, str]]
#: Handles one webhook body, read in full: returns the HTTP status and body text.
WebhookHandler: TypeAlias = Callable[[bytes, Headers], Awaitable[tuple[int, bytes]]]
#: Answers a health check: the HTTP status and a JSON body.
HealthCheck: TypeAlias = Callable[[], tuple[int, bytes]]

_http_logger = get_logger("sip.http")
_TEXT: Final = b"text/plain; charset=utf-8"
_JSON: Final = b"application/json"


def header(headers: Headers, name: str) -> str | None:
    """The first value of header ``name`` (lower case), or None."""
    for key, value in headers:
        if key == name:
            return value
    return None


def health_answer(*, closing: bool, active_calls: int) -> tuple[int, bytes]:
    """The health check's status and JSON body: 200 while serving, 503 while shutting down."""
    if closing:
        return 503, b'{"status":"shutting_down"}'
    return 200, b'{"status":"ok","active_calls":%d}' % active_calls


class WebhookApp:
    """The raw ASGI application: one POST endpoint, a health check, lifespan, nothing else.

    Args:
        path: The webhook path; other paths are 404.
        max_body_size: The largest body read (413 beyond).
        handle: Called with each body read in full and the headers.
        counters: Counts ``webhooks_received`` and the refusals made here.
        health_path: The path of the health check (GET); None for none.
        health: Answers the health check.
    """

    def __init__(
        self,
        *,
        path: str,
        max_body_size: int,
        handle: WebhookHandler,
        counters: Counters,
        health_path: str | None = None,
        health: HealthCheck | None = None,
    ) -> None:
        self._path = path
        self._max_body_size = max_body_size
        self._handle = handle
        self._counters = counters
        self._health_path = health_path if health is not None else None
        self._health = health

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": ""})
            return
        status, body, extra = await self._respond(scope, receive)
        content_type = _JSON if body.startswith(b"{") else _TEXT
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            *extra,
        ]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": headers,
                "trailers": False,
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _respond(
        self, scope: Scope, receive: ASGIReceiveCallable
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        counters = self._counters
        assert scope["type"] == "http"
        if self._health is not None and scope["path"] == self._health_path:
            if scope["method"] != "GET":
                return 405, b"method not allowed", [(b"allow", b"GET")]
            return *self._health(), []
        if scope["path"] != self._path:
            return 404, b"not found", []
        if scope["method"] != "POST":
            return 405, b"method not allowed", [(b"allow", b"POST")]
        counters.webhooks_received += 1
        headers = [
            (k.decode("latin-1").lower(), v.decode("latin-1"))
            for k, v in scope["headers"]
        ]
        limit = self._max_body_size
        length = header(headers, "content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            counters.webhooks_invalid += 1
            return 413, b"body too large", []
        body = bytearray()
        with trio.move_on_after(BODY_TIMEOUT) as reading:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return 400, b"", []
                if message["type"] != "http.request":  # pragma: no cover
                    continue
                body += message.get("body", b"")
                if len(body) > limit:
                    counters.webhooks_invalid += 1
                    return 413, b"body too large", []
                if not message.get("more_body", False):
                    break
        if reading.cancelled_caught:
            counters.webhooks_invalid += 1
            return 408, b"body too slow", []
        try:
            status, text = await self._handle(bytes(body), headers)
        except Exception:
            logger.exception("webhook handling failed")
            return 500, b"internal error", []
        return status, text, []


async def serve_http(
    app: WebhookApp,
    host: str,
    port: int,
    *,
    max_connections: int,
    header_timeout: float,
    counters: Counters,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``host:port`` until cancelled; ``task_status`` gets the bound URLs.

    At most ``max_connections`` connections are served at once (see the
    module's docstring); ``counters.http_connections`` counts them.
    """
    config = hypercorn.config.Config()
    config.accesslog = None
    config.errorlog = _http_logger
    config.include_server_header = False
    config.read_timeout = READ_TIMEOUT
    config.keep_alive_timeout = header_timeout
    # Bind the socket ourselves: a bind that fails then closes its socket.
    sock = await bind_tcp(host, port)
    try:
        sock.listen(BACKLOG)
        bound = _origin(sock)
        listener = trio.SocketListener(trio.socket.from_stdlib_socket(sock))
    except BaseException:
        sock.close()
        raise
    app_wrapper = ASGIWrapper(app)
    context = WorkerContext(None)
    slots = trio.Semaphore(max_connections)
    warned_at = -LIMIT_WARNING_INTERVAL

    async def connection(stream: trio.SocketStream) -> None:
        counters.http_connections += 1
        try:
            # Typed as an SSL stream, but a plain one is what its own worker
            # passes for http:// (it checks for the TLS attributes).
            server = TCPServer(
                app_wrapper,
                config,
                context,
                ConnectionState({}),
                stream,  # type: ignore[arg-type]
            )
            await server.run()
        except Exception:  # hypercorn's bug: never let it end the server
            logger.exception("HTTP connection failed")
        finally:
            # Hypercorn closes the stream itself, but not when cancelled
            # first (shutdown): close it here too (idempotent, never blocks).
            await trio.aclose_forcefully(stream)
            counters.http_connections -= 1
            slots.release()

    async with listener, trio.open_nursery() as nursery:
        task_status.started([bound])
        while True:
            if slots.value == 0 and trio.current_time() - warned_at >= (
                LIMIT_WARNING_INTERVAL
            ):
                warned_at = trio.current_time()
                logger.warning(
                    "%d HTTP connections open (max_connections): new ones wait "
                    "until one closes",
                    max_connections,
                )
            await slots.acquire()
            try:
                stream = await listener.accept()
            except OSError as exc:
                slots.release()
                if exc.errno not in _ACCEPT_RETRY_ERRNOS:
                    raise
                logger.error("cannot accept an HTTP connection: %s", exc)
                await trio.sleep(_ACCEPT_RETRY_DELAY)
                continue
            except BaseException:
                slots.release()
                raise
            nursery.start_soon(connection, stream)


def _origin(sock: socket.socket) -> str:
    """``http://HOST:PORT`` of a bound socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    if sock.family == socket.AF_INET6:
        host = f"[{host}]"
    return f"http://{host}:{port}"


async def bind_tcp(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (not listening yet), closed if binding fails."""
    infos = await trio.socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


__all__ = [
    "BACKLOG",
    "BODY_TIMEOUT",
    "READ_TIMEOUT",
    "HealthCheck",
    "Headers",
    "WebhookApp",
    "WebhookHandler",
    "bind_tcp",
    "header",
    "health_answer",
    "serve_http",
]
