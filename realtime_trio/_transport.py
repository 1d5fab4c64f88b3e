"""The WebSocket transport: URL and headers of the handshake, trio-websocket, error mapping.

This is the only place that talks to trio-websocket, and the one place where
its errors (and ``OSError``) become ours.
"""

from __future__ import annotations

import contextlib
import ssl
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Final

import attrs
import trio
import trio_websocket

from ._exceptions import ConnectionRejected, ConnectTimeout, HandshakeError
from ._version import __version__

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
) -> Handshake:
    """Build the URL and headers of the upgrade request.

    Exactly one of ``model`` / ``call_id`` goes into the query string, after any
    query the ``url`` already has.

    Raises:
        ValueError: bad arguments (both or neither of model/call_id, a URL that
            is not ws:// or wss://, the retired ``OpenAI-Beta`` header).
    """
    if (model is None) == (call_id is None):
        raise ValueError(
            "give exactly one of model= (a new session) or call_id= (a sideband)"
        )
    parsed = urllib.parse.urlsplit(url or DEFAULT_URL)
    if parsed.scheme not in ("ws", "wss") or not parsed.hostname:
        raise ValueError(f"url must be ws:// or wss:// with a host, not {url!r}")
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

    out: list[tuple[str, str]] = [
        ("Authorization", f"Bearer {api_key}"),
        ("User-Agent", f"realtime_trio/{__version__}"),
    ]
    if safety_identifier is not None:
        out.append(("OpenAI-Safety-Identifier", safety_identifier))
    for name, value in (headers or {}).items():
        lowered = name.lower()
        if lowered == "openai-beta":
            raise ValueError(
                "the OpenAI-Beta header selects the retired beta interface, which the "
                "server rejects; realtime_trio speaks only the GA protocol"
            )
        out = [(k, v) for k, v in out if k.lower() != lowered]
        out.append((name, value))
    return Handshake(
        url=full_url,
        host=parsed.hostname,
        port=port,
        resource=resource,
        secure=secure,
        headers=tuple(out),
    )


@contextlib.contextmanager
def map_handshake_errors(handshake: Handshake) -> Iterator[None]:
    """Turn trio-websocket and network errors of the handshake into `HandshakeError`\\ s."""
    try:
        yield
    except trio_websocket.ConnectionRejected as exc:
        headers = tuple(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in (exc.headers or ())
        )
        raise ConnectionRejected(
            exc.status_code, headers=headers, body=exc.body or b""
        ) from None
    except trio_websocket.ConnectionTimeout:
        raise ConnectTimeout(f"timed out connecting to {handshake.url}") from None
    except trio_websocket.HandshakeError as exc:
        raise HandshakeError(
            f"WebSocket handshake with {handshake.url} failed: {exc!r}"
        ) from exc
    except trio_websocket.ConnectionClosed as exc:
        raise HandshakeError(
            f"{handshake.url} closed the connection during the handshake ({exc.reason})"
        ) from exc
    except (OSError, trio.BrokenResourceError) as exc:
        raise HandshakeError(f"could not connect to {handshake.url}: {exc}") from exc


def _handshake_error(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """Find the handshake failure in the group of a failed connection attempt."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found = _handshake_error(exc)
            if found is not None:
                return found
        elif isinstance(
            exc,
            trio_websocket.HandshakeError | trio_websocket.ConnectionClosed | OSError,
        ):
            return exc
    return None


async def run_transport(
    handshake: Handshake,
    *,
    connect_stream: StreamOpener | None,
    ssl_context: ssl.SSLContext | None,
    max_message_size: int,
    receive_buffer_size: int,
    message_queue_size: int,
    task_status: trio.TaskStatus[
        trio_websocket.WebSocketConnection
    ] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Open the stream, run the WebSocket handshake, and host trio-websocket's reader.

    Start it with ``nursery.start``: it reports the open `WebSocketConnection`
    and returns when the connection is over. trio-websocket raises a rejected
    upgrade from its reader task, so the reader runs in a nursery of its own
    here, and a failed handshake comes out of ``start()`` as one
    `HandshakeError` rather than as an exception group.
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
        else:
            stream = await trio.open_tcp_stream(handshake.host, handshake.port)
    started = False
    try:
        async with trio.open_nursery() as nursery:
            ws = await trio_websocket.wrap_client_stream(
                nursery,
                stream,  # type: ignore[arg-type]
                host,
                handshake.resource,
                extra_headers=extra,
                message_queue_size=message_queue_size,
                max_message_size=max_message_size,
                receive_buffer_size=receive_buffer_size,
            )
            started = True
            task_status.started(ws)
    except BaseExceptionGroup as group:
        failure = None if started else _handshake_error(group)
        if failure is None:
            raise
        with map_handshake_errors(handshake):
            raise failure from None
    finally:
        # However we leave (cancelled, rejected, done), the stream is closed.
        await trio.aclose_forcefully(stream)
