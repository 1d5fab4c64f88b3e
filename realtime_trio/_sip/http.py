"""The SIP call server's HTTP side: a raw ASGI app for one endpoint, served by hypercorn.

`WebhookApp` reads a POST to the webhook path (at most ``max_body_size``
bytes, within `BODY_TIMEOUT`) and answers what its handler says; every
other path, method or scope is refused at once. `serve_http` runs it with
hypercorn's trio worker on a socket it binds itself.

Why hypercorn: it is a maintained, typed ASGI server with a native trio
worker (no asyncio bridge), built on the sans-IO h11/h2/wsproto stack; a raw
ASGI callable needs no web framework for one endpoint (docs/howto/sip.rst,
"Why hypercorn and httpx").
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Final, TypeAlias

import hypercorn.config
import hypercorn.trio
import trio
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

from .._core.logs import get_logger
from .call import logger
from .statistics import Counters

#: Seconds a client may take to send a webhook's body (a slow sender holds a task).
BODY_TIMEOUT: Final = 10.0
#: Seconds hypercorn waits for each read (slow headers, stalled connections).
READ_TIMEOUT: Final = 30

#: Headers as ``(lower-case name, value)`` pairs, in order.
Headers: TypeAlias = list[tuple[str, str]]
#: Handles one webhook body, read in full: returns the HTTP status and body text.
WebhookHandler: TypeAlias = Callable[[bytes, Headers], tuple[int, bytes]]

_http_logger = get_logger("sip.http")


def header(headers: Headers, name: str) -> str | None:
    """The first value of header ``name`` (lower case), or None."""
    for key, value in headers:
        if key == name:
            return value
    return None


class WebhookApp:
    """The raw ASGI application: one POST endpoint, lifespan, nothing else.

    Args:
        path: The webhook path; other paths are 404.
        max_body_size: The largest body read (413 beyond).
        handle: Called with each body read in full and the headers.
        counters: Counts ``webhooks_received`` and the refusals made here.
    """

    def __init__(
        self,
        *,
        path: str,
        max_body_size: int,
        handle: WebhookHandler,
        counters: Counters,
    ) -> None:
        self._path = path
        self._max_body_size = max_body_size
        self._handle = handle
        self._counters = counters

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
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
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
            status, text = self._handle(bytes(body), headers)
        except Exception:
            logger.exception("webhook handling failed")
            return 500, b"internal error", []
        return status, text, []


async def serve_http(
    app: WebhookApp,
    host: str,
    port: int,
    *,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``host:port`` until cancelled; ``task_status`` gets the bound URLs."""
    config = hypercorn.config.Config()
    # Bind the socket ourselves and hand hypercorn its descriptor: a bind
    # that fails then closes its socket (hypercorn's own binding leaks it).
    sock = await bind_tcp(host, port)
    config.bind = [f"fd://{sock.detach()}"]
    config.accesslog = None
    config.errorlog = _http_logger
    config.include_server_header = False
    config.read_timeout = READ_TIMEOUT
    await hypercorn.trio.serve(app, config, task_status=task_status, mode="asgi")


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
    "BODY_TIMEOUT",
    "READ_TIMEOUT",
    "Headers",
    "WebhookApp",
    "WebhookHandler",
    "bind_tcp",
    "header",
    "serve_http",
]
