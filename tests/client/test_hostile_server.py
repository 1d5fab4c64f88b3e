"""`open_realtime` against servers that misbehave, on real sockets on 127.0.0.1.

Each test starts its own raw TCP (or TLS) server and stops it. Whatever the
server does (never answers, answers garbage, a bad upgrade, a head or a
rejection body without end, a certificate that does not verify), opening
raises one typed `HandshakeError` promptly (every test runs under
``trio.fail_after``), never an exception group, and reads a bounded amount.
"""

from __future__ import annotations

import functools
import json
import ssl
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
import trio
import trustme
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request

from realtime_trio import (
    ConnectionBroken,
    ConnectionRejected,
    ConnectTimeout,
    HandshakeError,
    InvalidOptionError,
    RealtimeError,
    events,
    open_realtime,
)
from realtime_trio._client.wsclient import MAX_REJECTION_BODY
from tests.helpers.fake_server import SESSION_CREATED
from tests.helpers.frames import frame, text

KEY = "sk-test-hostile-0123456789"
#: A test fails rather than hangs.
DEADLINE = 15

Handler = Callable[[trio.abc.Stream], Awaitable[None]]


@asynccontextmanager
async def serving(
    handler: Handler, *, tls: ssl.SSLContext | None = None
) -> AsyncIterator[int]:
    """Serve ``handler`` on 127.0.0.1 (over TLS with ``tls``); yield the port."""

    async def serve(stream: trio.abc.Stream) -> None:
        try:
            await handler(stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client hung up on us, as it should
        finally:
            await trio.aclose_forcefully(stream)

    async with trio.open_nursery() as nursery:
        if tls is None:
            listeners = await nursery.start(
                functools.partial(trio.serve_tcp, serve, 0, host="127.0.0.1")
            )
            port = listeners[0].socket.getsockname()[1]
        else:
            listeners = await nursery.start(
                functools.partial(
                    trio.serve_ssl_over_tcp, serve, 0, tls, host="127.0.0.1"
                )
            )
            port = listeners[0].transport_listener.socket.getsockname()[1]
        try:
            yield port
        finally:
            nursery.cancel_scope.cancel()


async def read_head(stream: trio.abc.Stream) -> bytes:
    """The client's upgrade request (up to its blank line)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(65536)
        if not chunk:
            break
        data += chunk
    return data


async def failure(url: str, **options: Any) -> HandshakeError:
    """Open against ``url``: the `HandshakeError` it raises (never a group)."""
    options.setdefault("connect_timeout", 10)
    with pytest.raises(RealtimeError) as info:
        async with open_realtime(model="gpt-realtime", api_key=KEY, url=url, **options):
            pytest.fail("connected")  # pragma: no cover
    error = info.value
    assert isinstance(error, HandshakeError)
    assert KEY not in str(error)
    return error


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Measure the peak of traced allocations within the block (in ``[0]`` after)."""
    out: list[int] = []
    tracemalloc.start()
    try:
        yield out
        out.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


# --- no answer, a bad answer ------------------------------------------------------


async def test_a_server_that_never_answers_times_out() -> None:
    async def handler(stream: trio.abc.Stream) -> None:
        await read_head(stream)
        await trio.sleep_forever()

    with trio.fail_after(DEADLINE):
        async with serving(handler) as port:
            start = trio.current_time()
            error = await failure(f"ws://127.0.0.1:{port}/v1", connect_timeout=0.5)
            elapsed = trio.current_time() - start
    assert isinstance(error, ConnectTimeout)
    assert 0.5 <= elapsed < 3


async def test_a_bad_sec_websocket_accept_is_refused() -> None:
    async def handler(stream: trio.abc.Stream) -> None:
        await read_head(stream)
        await stream.send_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        await trio.sleep_forever()

    with trio.fail_after(DEADLINE):
        async with serving(handler) as port:
            error = await failure(f"ws://127.0.0.1:{port}/v1")
    assert not isinstance(error, ConnectTimeout)
    assert "sent a malformed handshake answer: Bad accept token" in str(error)


GARBAGE = bytes(range(256)).replace(b"\n", b"") * 8


@pytest.mark.parametrize(
    ("answer", "then_close", "match"),
    [
        (GARBAGE + b"\r\n\r\n", False, "sent a malformed handshake answer"),
        (GARBAGE, True, "during the handshake"),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", False, "sent a malformed handshake answer"),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: webs",
            True,
            "closed the connection during the handshake",
        ),
        (b"", True, "during the handshake"),
    ],
    ids=[
        "garbage",
        "garbage-then-close",
        "not-http",
        "closed-mid-head",
        "closed-at-once",
    ],
)
async def test_garbage_or_a_cut_head_is_refused(
    answer: bytes, then_close: bool, match: str
) -> None:
    async def handler(stream: trio.abc.Stream) -> None:
        await read_head(stream)
        await stream.send_all(answer)
        if not then_close:
            await trio.sleep_forever()

    with trio.fail_after(DEADLINE):
        async with serving(handler) as port:
            error = await failure(f"ws://127.0.0.1:{port}/v1")
    assert not isinstance(error, ConnectTimeout)
    assert match in str(error)


async def test_an_endless_header_line_is_bounded() -> None:
    sent = 0

    async def handler(stream: trio.abc.Stream) -> None:
        nonlocal sent
        await read_head(stream)
        await stream.send_all(b"HTTP/1.1 101 Switching Protocols\r\nX-Pad: ")
        chunk = b"a" * 65536
        while sent < 50 * 2**20:
            await stream.send_all(chunk)
            sent += len(chunk)

    with trio.fail_after(DEADLINE):
        async with serving(handler) as port:
            with peak_memory() as peak:
                error = await failure(f"ws://127.0.0.1:{port}/v1")
    assert not isinstance(error, ConnectTimeout)
    assert "sent a malformed handshake answer: response head too large" in str(error)
    assert peak[0] < 4 * 2**20
    assert sent < 50 * 2**20  # the client stopped reading and hung up


# --- rejections -------------------------------------------------------------------

BODY_SIZE = 50 * 2**20


def chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@pytest.mark.parametrize("framing", ["content-length", "chunked", "until-close"])
async def test_a_huge_rejection_body_is_truncated(framing: str) -> None:
    sent = 0
    piece = b'{"error": {"message": "go away"}}'.ljust(65536, b" ")

    async def handler(stream: trio.abc.Stream) -> None:
        nonlocal sent
        await read_head(stream)
        head = b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
        if framing == "content-length":
            head += b"Content-Length: %d\r\n" % BODY_SIZE
        elif framing == "chunked":
            head += b"Transfer-Encoding: chunked\r\n"
        else:
            head += b"Connection: close\r\n"
        await stream.send_all(head + b"\r\n")
        data = chunked(piece) if framing == "chunked" else piece
        while sent < BODY_SIZE:
            await stream.send_all(data)
            sent += len(piece)

    with trio.fail_after(DEADLINE):
        async with serving(handler) as port:
            with peak_memory() as peak:
                error = await failure(f"ws://127.0.0.1:{port}/v1")
    assert isinstance(error, ConnectionRejected)
    assert error.status_code == 403
    assert error.body_truncated
    assert len(error.body) == MAX_REJECTION_BODY
    assert error.body.startswith(b'{"error": {"message": "go away"}}')
    assert "truncated" in str(error)
    assert ("content-type", "application/json") in error.headers
    assert peak[0] < 4 * 2**20
    assert sent < BODY_SIZE  # the client stopped reading and hung up


async def test_a_small_rejection_body_is_whole() -> None:
    body = b'{"error": {"code": "invalid_api_key", "message": "Incorrect API key"}}'

    async def handler(stream: trio.abc.Stream) -> None:
        await read_head(stream)
        await stream.send_all(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body)
        )
        await trio.sleep_forever()

    with trio.fail_after(DEADLINE):
        async with serving(handler) as port:
            error = await failure(f"ws://127.0.0.1:{port}/v1")
    assert isinstance(error, ConnectionRejected)
    assert (error.status_code, error.body, error.body_truncated) == (401, body, False)
    assert "truncated" not in str(error)
    assert error.error_code == "invalid_api_key"


# --- TLS --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


async def tls_handler(stream: trio.abc.Stream) -> None:
    assert isinstance(stream, trio.SSLStream)
    await stream.do_handshake()  # fails: the client refuses the certificate
    await trio.sleep_forever()  # pragma: no cover


async def test_an_untrusted_certificate_says_so(ca: trustme.CA) -> None:
    # The client's default context (the system's trust store) does not trust ca.
    with trio.fail_after(DEADLINE):
        async with serving(tls_handler, tls=server_context(ca, "127.0.0.1")) as port:
            error = await failure(f"wss://127.0.0.1:{port}/v1")
    assert not isinstance(error, ConnectTimeout)
    assert "certificate verify failed" in str(error)
    assert "TLS error" in str(error)


@pytest.mark.parametrize(
    ("host", "mismatch"),
    [("127.0.0.1", "IP address mismatch"), ("localhost", "Hostname mismatch")],
)
async def test_a_certificate_for_another_name_says_so(
    ca: trustme.CA, host: str, mismatch: str
) -> None:
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with trio.fail_after(DEADLINE):
        async with serving(
            tls_handler, tls=server_context(ca, "other.example")
        ) as port:
            error = await failure(f"wss://{host}:{port}/v1", ssl_context=client_context)
    assert not isinstance(error, ConnectTimeout)
    assert "certificate verify failed" in str(error)
    assert mismatch in str(error)


async def test_a_server_that_does_not_speak_tls_says_so() -> None:
    async def handler(stream: trio.abc.Stream) -> None:
        await stream.receive_some(65536)  # a TLS ClientHello
        await stream.send_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await trio.sleep_forever()

    with trio.fail_after(DEADLINE):
        async with serving(handler) as port:
            error = await failure(f"wss://127.0.0.1:{port}/v1")
    assert not isinstance(error, ConnectTimeout)
    assert "TLS error" in str(error)


def accept_answer(head: bytes) -> bytes:
    """The 101 answer to the upgrade request ``head``."""
    ws = WSConnection(ConnectionType.SERVER)
    ws.receive_data(head)
    assert any(isinstance(e, Request) for e in ws.events())
    return ws.send(AcceptConnection())


@pytest.mark.parametrize("when", ["before session.created", "after session.created"])
async def test_a_protocol_violation_says_realtime_trio_closed(when: str) -> None:
    async def handler(stream: trio.abc.Stream) -> None:
        answer = accept_answer(await read_head(stream))
        if when == "after session.created":
            answer += text(json.dumps(SESSION_CREATED))
        await stream.send_all(answer + frame(0x1, b"{}", mask=b"abcd"))
        await trio.sleep_forever()

    with trio.fail_after(DEADLINE):
        async with serving(handler) as port:
            url = f"ws://127.0.0.1:{port}/v1"
            with pytest.raises(ConnectionBroken) as info:
                async with open_realtime(
                    model="gpt-realtime", api_key=KEY, url=url
                ) as conn:
                    async for _ in conn:
                        pass
    error = info.value
    assert error.closed_by == "client"
    assert error.close_reason is not None
    assert error.close_reason.code == 1002
    assert "the server closed" not in str(error)
    assert str(error).startswith("realtime_trio closed the connection")
    assert ("before session.created" in str(error)) is (
        when == "before session.created"
    )


# --- a server that goes silent, a flood before session.created (issue 11) ---------


async def test_a_server_that_goes_silent_is_given_up_by_the_keepalive() -> None:
    # The server accepts, sends session.created, then reads and discards
    # everything: pings are never answered, as on a dead network.
    async def handler(stream: trio.abc.Stream) -> None:
        answer = accept_answer(await read_head(stream))
        await stream.send_all(answer + text(json.dumps(SESSION_CREATED)))
        while await stream.receive_some(65536):
            pass

    with trio.fail_after(DEADLINE):
        async with serving(handler) as port:
            url = f"ws://127.0.0.1:{port}/v1"
            start = trio.current_time()
            with pytest.raises(ConnectionBroken) as info:
                async with open_realtime(
                    model="gpt-realtime",
                    api_key=KEY,
                    url=url,
                    ping_interval=0.3,
                    ping_timeout=0.3,
                    close_timeout=1,
                ) as conn:
                    async for _ in conn:
                        pass
            elapsed = trio.current_time() - start
    assert 0.6 <= elapsed < 5
    error = info.value
    assert error.closed_by == "client"
    assert error.close_reason is not None and error.close_reason.code == 1011
    assert "keepalive ping timed out" in str(error)


async def test_a_server_that_stops_reading_is_given_up_while_we_upload() -> None:
    # A dead network while audio streams: the server stops reading, the
    # socket buffers fill, and every write (the keepalive's ping too) blocks.
    # The ping's deadline counts from when it is due, not from when it could
    # be written, so the keepalive still ends the connection.
    async def handler(stream: trio.abc.Stream) -> None:
        answer = accept_answer(await read_head(stream))
        await stream.send_all(answer + text(json.dumps(SESSION_CREATED)))
        await trio.sleep_forever()

    chunk = bytes(4800)  # 100 ms of PCM16 at 24 kHz
    with trio.fail_after(DEADLINE):
        async with serving(handler) as port:
            url = f"ws://127.0.0.1:{port}/v1"
            start = trio.current_time()
            with pytest.raises(ConnectionBroken) as info:
                async with open_realtime(
                    model="gpt-realtime",
                    api_key=KEY,
                    url=url,
                    ping_interval=0.3,
                    ping_timeout=0.3,
                    close_timeout=0.5,
                ) as conn:
                    while True:
                        await conn.send_audio(chunk)
            elapsed = trio.current_time() - start
    assert elapsed < 5
    error = info.value
    assert error.closed_by == "client"
    assert "keepalive ping" in str(error)


FLOOD_EVENT = json.dumps(
    {
        "type": "error",
        "event_id": "early",
        "error": {"type": "server_error", "code": "x", "message": "y" * 60_000},
    }
)


def flood_handler(total: int) -> Handler:
    """Send ``total`` bytes of events, then ``session.created``, then wait."""

    async def handler(stream: trio.abc.Stream) -> None:
        await stream.send_all(accept_answer(await read_head(stream)))
        one = text(FLOOD_EVENT)
        batch = one * 16
        sent = 0
        while sent < total:
            await stream.send_all(batch)
            sent += len(batch)
        await stream.send_all(text(json.dumps(SESSION_CREATED)))
        while await stream.receive_some(65536):
            pass

    return handler


async def test_a_flood_before_session_created_is_bounded() -> None:
    # 150 MB of events before session.created cost 144 MB before issue 11:
    # now they are held up to max_buffered_event_bytes, then refused.
    with trio.fail_after(DEADLINE):
        async with serving(flood_handler(150 * 2**20)) as port:
            url = f"ws://127.0.0.1:{port}/v1"
            with peak_memory() as peak, pytest.raises(ConnectionBroken) as info:
                async with open_realtime(model="gpt-realtime", api_key=KEY, url=url):
                    pytest.fail("connected")  # pragma: no cover
    assert peak[0] < 16 * 2**20, peak[0]
    error = info.value
    assert error.closed_by == "client"
    assert error.close_reason is not None and error.close_reason.code == 1008
    assert "before session.created" in str(error)
    assert "max_buffered_event_bytes" in str(error)


async def test_events_before_session_created_within_the_bound_are_delivered() -> None:
    with trio.fail_after(DEADLINE):
        async with serving(flood_handler(2 * 2**20)) as port:
            url = f"ws://127.0.0.1:{port}/v1"
            async with open_realtime(
                model="gpt-realtime",
                api_key=KEY,
                url=url,
                max_buffered_event_bytes=4 * 2**20,  # above the flood
            ) as conn:
                got = []
                async for event in conn:
                    got.append(event)
                    if isinstance(event, events.SessionCreated):
                        break
    assert len(got) > 16
    assert all(isinstance(e, events.ErrorEvent) for e in got[:-1])


@pytest.mark.parametrize(
    "url",
    ["ws://127.0.0.1:1/v1 realtime", "ws://héllo.test/v1", "ws://127.0.0.1:1/\x7f"],
)
async def test_a_url_that_http_cannot_carry_is_refused_before_connecting(
    url: str,
) -> None:
    with pytest.raises(InvalidOptionError) as info:
        async with open_realtime(model="gpt-realtime", api_key=KEY, url=url):
            pytest.fail("connected")  # pragma: no cover
    assert info.value.option == "url"
    assert isinstance(info.value, ValueError)
    assert "percent-encode" in str(info.value)
