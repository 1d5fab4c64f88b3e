"""The WebSocket transport: URL and headers of the handshake, opening, error mapping.

The one place where the WebSocket client's errors (and ``OSError``) of the
handshake become ours.
"""

from __future__ import annotations

import contextlib
import re
import ssl
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Final

import attrs
import trio

from .._core.headers import check_header_name, check_header_value
from .._version import __version__
from .exceptions import ConnectionRejected, HandshakeError, InvalidOptionError
from .wsclient import WebSocketClient, WebSocketClosed, WebSocketRejected

#: Where the Realtime API lives.
DEFAULT_URL: Final = "wss://api.openai.com/v1/realtime"
#: Our default limit for one incoming message. trio-websocket's 1 MiB is too
#: small for real sessions: ``conversation.item.retrieved`` carries whole audio
#: items and ``session.*`` echoes long instructions and tool schemas.
DEFAULT_MAX_MESSAGE_SIZE: Final = 64 * 2**20
#: Bytes per read from the socket. trio-websocket's 4 KiB splits a 100 ms audio
#: delta (about 6.6 KB) into two reads; 64 KiB measured about +40% throughput.
DEFAULT_RECEIVE_BUFFER_SIZE: Final = 64 * 2**10

StreamOpener = Callable[[], Awaitable[trio.abc.Stream]]


def lift_send_low_water_mark(stream: trio.abc.Stream) -> None:
    """Let the kernel buffer what we write as other clients' kernels do.

    trio sets ``TCP_NOTSENT_LOWAT`` to 16 KiB on its TCP streams, so a write
    waits as soon as 16 KiB are unsent. When the server falls behind for a
    moment (a busy machine), an upload then stalls after two or three audio
    chunks and resumes a chunk at a time, waking the server for each: twice
    its CPU per chunk and up to half the throughput of a client without the
    mark (issue 16, ``benchmarks/README.md``). The system's default (no mark)
    is what asyncio, ``websockets`` and the official SDK get; the send buffer
    still bounds what waits, and the keepalive still sees a stalled peer.
    Streams we did not open (``connect_stream``) are left as they are.
    """
    inner = stream.transport_stream if isinstance(stream, trio.SSLStream) else stream
    option = getattr(trio.socket, "TCP_NOTSENT_LOWAT", None)
    if option is None or not isinstance(inner, trio.SocketStream):
        return
    with contextlib.suppress(OSError):
        # 0: the system default (on Linux, no mark unless a sysctl sets one).
        inner.setsockopt(trio.socket.IPPROTO_TCP, option, 0)


@attrs.frozen(repr=False)
class Handshake:
    """Where and how to open the WebSocket: everything but the key is printable."""

    url: str
    host: str
    port: int
    resource: str
    secure: bool
    headers: tuple[tuple[str, str], ...]

    def __repr__(self) -> str:
        shown = [
            (k, "<redacted>" if k.lower() == "authorization" else v)
            for k, v in self.headers
        ]
        return f"Handshake(url={self.url!r}, headers={shown!r})"


def build_handshake(
    *,
    model: str | None,
    call_id: str | None,
    api_key: str,
    url: str | None,
    safety_identifier: str | None,
    headers: Mapping[str, str] | None,
    api_key_from_env: bool = False,
) -> Handshake:
    """Build the URL and headers of the upgrade request.

    Exactly one of ``model`` / ``call_id`` goes into the query string, after any
    query the ``url`` already has. Every header is checked here, before any
    connection: sent as is, a bad one makes h11 raise an error that quotes
    it, API key included. ``api_key_from_env`` says the key came from
    ``OPENAI_API_KEY`` (the message then says so).

    Raises:
        InvalidHeaderError: the API key, the safety identifier or an extra
            header cannot be sent (the message never shows the value).
        InvalidOptionError: a URL that is not ws:// or wss:// with a host, or
            that HTTP cannot carry (a space, a control or non-ASCII character).
        ValueError: bad arguments (both or neither of model/call_id, the
            retired ``OpenAI-Beta`` header).
    """
    if (model is None) == (call_id is None):
        raise ValueError(
            "give exactly one of model= (a new session) or call_id= (a sideband)"
        )
    parsed = parse_url(url or DEFAULT_URL)
    query = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
    query = [(k, v) for k, v in query if k not in ("model", "call_id")]
    query.append(("model", model) if model is not None else ("call_id", call_id))  # type: ignore[arg-type]
    query_text = urllib.parse.urlencode(query)
    path = parsed.path or "/"
    resource = f"{path}?{query_text}"
    secure = parsed.scheme == "wss"
    port = parsed.port or (443 if secure else 80)
    full_url = urllib.parse.urlunsplit(
        (parsed.scheme, parsed.netloc, path, query_text, "")
    )

    check_header_value(
        "Authorization",
        api_key,
        what="the API key (OPENAI_API_KEY)" if api_key_from_env else "the API key",
    )
    if safety_identifier is not None:
        check_header_value(
            "OpenAI-Safety-Identifier", safety_identifier, what="the safety identifier"
        )
    out: list[tuple[str, str]] = [
        ("Authorization", f"Bearer {api_key}"),
        ("User-Agent", f"realtime_trio/{__version__}"),
    ]
    if safety_identifier is not None:
        out.append(("OpenAI-Safety-Identifier", safety_identifier))
    for name, value in (headers or {}).items():
        check_header_name(name)
        check_header_value(name, value)
        lowered = name.lower()
        if lowered == "openai-beta":
            raise ValueError(
                "the OpenAI-Beta header selects the retired beta interface, which the "
                "server rejects; realtime_trio speaks only the GA protocol"
            )
        out = [(k, v) for k, v in out if k.lower() != lowered]
        out.append((name, value))
    assert parsed.hostname  # checked by parse_url
    return Handshake(
        url=full_url,
        host=parsed.hostname,
        port=port,
        resource=resource,
        secure=secure,
        headers=tuple(out),
    )


#: What a URL may not contain: it goes into the request line as is.
_BAD_URL_CHARACTER = re.compile(r"[^\x21-\x7e]")


def parse_url(url: str) -> urllib.parse.SplitResult:
    """Split ``url``, refusing what cannot go into an HTTP request line.

    Raises:
        InvalidOptionError: the URL is not ws:// or wss:// with a host, or
            holds a space, a control or a non-ASCII character (percent-encode
            it; a non-ASCII host name goes in its ``xn--`` form).
    """
    bad = _BAD_URL_CHARACTER.search(url) if isinstance(url, str) else None
    if bad is not None:
        char = bad.group()
        what = "a space" if char == " " else f"the character {char!r}"
        raise InvalidOptionError(
            "url",
            f"{what} at position {bad.start()} cannot be sent in a request line: "
            "percent-encode it (a non-ASCII host name goes in its xn-- form)",
        )
    try:
        parsed = urllib.parse.urlsplit(url)
        hostname = parsed.hostname
        parsed.port  # noqa: B018  (raises for a port that is not a number in range)
    except (TypeError, ValueError) as exc:
        raise InvalidOptionError("url", f"not a valid URL: {exc}") from None
    if parsed.scheme not in ("ws", "wss") or not hostname:
        raise InvalidOptionError(
            "url", f"must be ws:// or wss:// with a host, not {url!r}"
        )
    return parsed


@contextlib.contextmanager
def map_handshake_errors(handshake: Handshake) -> Iterator[None]:
    """Turn WebSocket and network errors of the handshake into `HandshakeError`\\ s."""
    try:
        yield
    except WebSocketRejected as exc:
        raise ConnectionRejected(
            exc.status_code,
            headers=exc.headers,
            body=exc.body,
            body_truncated=exc.body_truncated,
        ) from None
    except WebSocketClosed as exc:
        detail = exc.reason.reason or ""
        if exc.reason.code == 1002:
            # We hung up: what the server sent is not an HTTP/WebSocket answer.
            message = f"{handshake.url} sent a malformed handshake answer: " + (
                detail.removeprefix("malformed handshake: ")
            )
        else:
            message = f"{handshake.url} closed the connection during the handshake"
        raise HandshakeError(message) from exc
    except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
        raise HandshakeError(
            f"could not connect to {handshake.url}: {failure_reason(exc)}"
        ) from exc


_SSL_DECORATION = re.compile(r"^\[SSL(: [A-Z0-9_]+)?\] |\s*\(_ssl\.c:\d+\)$")


def failure_reason(exc: BaseException) -> str:
    """Why ``exc`` happened, in words, from it or its causes.

    trio's ``BrokenResourceError`` of a failed TLS handshake has no message:
    the reason (``certificate verify failed: ...``, ``IP address
    mismatch...``, ``wrong version number``) is in its ``__cause__``. A TLS
    error anywhere in the chain wins; otherwise the first message.
    """
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for link in chain:
        if isinstance(link, ssl.SSLError):
            text = _SSL_DECORATION.sub("", str(link)) or type(link).__name__
            return f"TLS error: {text}"
    for link in chain:
        if str(link):
            return str(link)
    return type(exc).__name__


async def open_websocket(
    handshake: Handshake,
    *,
    connect_stream: StreamOpener | None,
    ssl_context: ssl.SSLContext | None,
    max_message_size: int,
    receive_buffer_size: int,
) -> WebSocketClient:
    """Open the stream and run the WebSocket handshake.

    Raises `HandshakeError` subclasses (`ConnectionRejected` with the status,
    headers and body of a refused upgrade); the caller applies ``connect_timeout``.
    The stream is closed on any failure, cancellation included.
    """
    extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in handshake.headers]
    host = (
        handshake.host
        if handshake.port in (80, 443)
        else f"{handshake.host}:{handshake.port}"
    )
    with map_handshake_errors(handshake):
        if connect_stream is not None:
            stream = await connect_stream()
        elif handshake.secure:
            stream = await trio.open_ssl_over_tcp_stream(
                handshake.host,
                handshake.port,
                ssl_context=ssl_context or ssl.create_default_context(),
                https_compatible=True,
            )
            lift_send_low_water_mark(stream)
        else:
            stream = await trio.open_tcp_stream(handshake.host, handshake.port)
            lift_send_low_water_mark(stream)
        try:
            return await WebSocketClient.connect(
                stream,
                host=host,
                resource=handshake.resource,
                headers=extra,
                max_message_size=max_message_size,
                receive_buffer_size=receive_buffer_size,
            )
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
