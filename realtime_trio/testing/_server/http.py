"""Tiny HTTP/1.1 on trio streams with h11: the simulator's server side and a small client.

The listener reads one request head. A WebSocket upgrade is handed to
trio-websocket *with the bytes already read replayed* (`PrefixedStream`), so
wsproto parses the handshake itself; anything else is a REST request, read
to the end and answered, with keep-alive.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import attrs
import h11
import trio

from ..._core.logs import get_logger

logger = get_logger("testing")

MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 16 * 2**20
KEEP_ALIVE_S: Final = 30.0
#: After a 413, how much more of the body is read (and dropped) so that the
#: client, still sending, reads the answer instead of a reset connection.
DRAIN_BYTES: Final = 64 * 2**20
#: ... and for how long at most.
DRAIN_S: Final = 5.0


class BodyTooLarge(h11.RemoteProtocolError):
    """A request body over `MAX_BODY_BYTES` (answered with 413)."""

    def __init__(self) -> None:
        super().__init__(
            f"The request body is larger than {MAX_BODY_BYTES} bytes.",
            error_status_hint=413,
        )


@attrs.frozen(kw_only=True)
class HttpRequest:
    """A request as the simulator sees it (header names in lower case)."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    @property
    def path(self) -> str:
        """The path, without the query."""
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        """The query parameters (the first value of each)."""
        query: dict[str, str] = {}
        for key, value in parse_qsl(
            urlsplit(self.target).query, keep_blank_values=True
        ):
            query.setdefault(key, value)
        return query

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def json(self) -> Any:
        """The body decoded as JSON (None when empty).

        Raises:
            ValueError: The body is not JSON.
        """
        return json.loads(self.body) if self.body.strip() else None


@attrs.frozen(kw_only=True)
class HttpResponse:
    """A response: status, extra headers and body."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @classmethod
    def json(
        cls, status: int, obj: Any, headers: tuple[tuple[str, str], ...] = ()
    ) -> HttpResponse:
        """A JSON response."""
        return cls(
            status=status,
            headers=(("content-type", "application/json"), *headers),
            body=json.dumps(obj).encode(),
        )

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def json_body(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


def _decode_headers(headers: Any) -> tuple[tuple[str, str], ...]:
    return tuple(
        (bytes(k).decode("latin-1").lower(), bytes(v).decode("latin-1"))
        for k, v in headers
    )


class PrefixedStream(trio.abc.Stream):
    """A stream that first yields bytes already read from it, then reads on."""

    def __init__(self, stream: trio.abc.Stream, prefix: bytes) -> None:
        self.transport_stream = stream
        self._prefix = prefix

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self._prefix:
            await trio.lowlevel.checkpoint()
            size = len(self._prefix) if max_bytes is None else max_bytes
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return data
        return await self.transport_stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.transport_stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.transport_stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self.transport_stream.aclose()


class HttpServerConnection:
    """The server side of one HTTP/1.1 connection."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.raw = bytearray()

    async def _next_event(self, *, keep_raw: bool = False) -> Any:
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await self.stream.receive_some(65536)
            if keep_raw:
                self.raw += data
            self.conn.receive_data(bytes(data))

    async def read_head(self) -> h11.Request | None:
        """Read the next request head (None when the client closed the connection).

        The bytes read for it are kept in `raw` (a WebSocket upgrade hands
        them to trio-websocket).
        """
        self.raw.clear()
        event = await self._next_event(keep_raw=True)
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):
            raise h11.RemoteProtocolError(f"unexpected {type(event).__name__}")
        return event

    async def read_body(self, head: h11.Request) -> HttpRequest:
        """Read the body of the request whose head was read.

        Raises:
            BodyTooLarge: The body is over `MAX_BODY_BYTES` (said by its
                ``Content-Length``, before any of it is read, or found while
                reading a chunked body).
            h11.RemoteProtocolError: The request is malformed.
        """
        for name, value in head.headers:
            if name == b"content-length" and int(value) > MAX_BODY_BYTES:
                raise BodyTooLarge
        body = bytearray()
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_BODY_BYTES:
                    raise BodyTooLarge
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise h11.RemoteProtocolError(f"unexpected {type(event).__name__}")
        return HttpRequest(
            method=head.method.decode("ascii"),
            target=head.target.decode("latin-1"),
            headers=_decode_headers(head.headers),
            body=bytes(body),
        )

    async def drain_body(self) -> None:
        """Read and drop what is left of the request body (bounded in bytes and time)."""
        dropped = 0
        with trio.move_on_after(DRAIN_S):
            while dropped < DRAIN_BYTES:
                try:
                    event = await self._next_event()
                except h11.ProtocolError:
                    return
                if not isinstance(event, h11.Data):
                    return
                dropped += len(event.data)

    async def respond(self, response: HttpResponse) -> None:
        """Send a response."""
        headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers
        ]
        headers.append((b"content-length", str(len(response.body)).encode()))
        headers.append((b"server", b"realtime-trio-simulator"))
        data = self.conn.send(
            h11.Response(status_code=response.status, headers=headers)
        )
        assert data is not None
        data += self.conn.send(h11.Data(data=response.body)) or b""
        data += self.conn.send(h11.EndOfMessage()) or b""
        await self.stream.send_all(data)

    async def respond_error(
        self, status: int, message: str, *, close: bool = False
    ) -> None:
        """Answer a malformed request (when h11 can still write a response).

        With ``close``, the response says ``Connection: close``.
        """
        if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        }
        try:
            headers = (("connection", "close"),) if close else ()
            await self.respond(HttpResponse.json(status, body, headers))
        except (
            h11.LocalProtocolError,
            trio.BrokenResourceError,
            trio.ClosedResourceError,
        ):
            pass

    def next_cycle(self) -> bool:
        """Prepare for the next request on this connection (False: close it)."""
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
            return True
        return False


async def serve_rest(
    http: HttpServerConnection,
    head: h11.Request,
    handler: Callable[[HttpRequest], Awaitable[HttpResponse]],
) -> None:
    """Answer ``head`` and any further keep-alive requests with ``handler``.

    A body too large is answered with 413, and the connection closed.
    """
    while True:
        try:
            request = await http.read_body(head)
        except BodyTooLarge as exc:
            await http.respond_error(413, str(exc), close=True)
            await http.drain_body()
            return
        response = await handler(request)
        await http.respond(response)
        if not http.next_cycle():
            return
        next_head: h11.Request | None = None
        with trio.move_on_after(KEEP_ALIVE_S):
            next_head = await http.read_head()
        if next_head is None:
            return
        head = next_head


def is_websocket_upgrade(head: h11.Request) -> bool:
    """Whether a request head asks for a WebSocket."""
    for name, value in head.headers:
        if name.lower() == b"upgrade" and value.lower() == b"websocket":
            return True
    return False


async def http_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> HttpResponse:
    """Send one HTTP/1.1 request over a new TCP connection (``http://`` only).

    The simulator uses it to deliver webhooks; tests use it to call the
    REST endpoints.
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"only http:// URLs are supported, not {url!r}")
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc
    all_headers = [
        ("host", host),
        ("connection", "close"),
        ("content-length", str(len(body))),
    ]
    all_headers += [(k.lower(), v) for k, v in (headers or {}).items()]
    conn = h11.Connection(h11.CLIENT)
    stream = await trio.open_tcp_stream(parts.hostname, port)
    async with stream:
        request = h11.Request(method=method, target=target, headers=all_headers)
        await stream.send_all(conn.send(request) or b"")
        await stream.send_all((conn.send(h11.Data(data=body)) if body else b"") or b"")
        await stream.send_all(conn.send(h11.EndOfMessage()) or b"")
        status = 0
        response_headers: tuple[tuple[str, str], ...] = ()
        data = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
                response_headers = _decode_headers(event.headers)
            elif isinstance(event, h11.Data):
                data += event.data
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
    return HttpResponse(status=status, headers=response_headers, body=bytes(data))
