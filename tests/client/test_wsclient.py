"""The WebSocket client over in-memory streams, against hand-written server bytes.

The frame rules themselves are tested sans-IO in test_ws_frames.py; here:
the handshake split (frames after the upgrade answer, rejections), and what
the client writes back (pongs, close answers, failure closes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
import trio
import trio.lowlevel
import trio.testing
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Event, Pong, Request

from realtime_trio._client.wsclient import (
    MAX_REJECTION_BODY,
    WebSocketClient,
    WebSocketClosed,
    WebSocketRejected,
)
from tests.helpers.frames import close_frame, frame, text


class RawServer:
    """The server end: a wsproto server for parsing, raw bytes for writing."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.SERVER)

    async def read_request(self) -> Request:
        while True:
            self.ws.receive_data(await self.stream.receive_some(65536))
            for event in self.ws.events():
                assert isinstance(event, Request)
                return event

    def accept_bytes(self) -> bytes:
        return self.ws.send(AcceptConnection())

    async def events(self) -> list[Event]:
        """What the client wrote since, until it closed its end."""
        out: list[Event] = []
        while data := await self.stream.receive_some(65536):
            self.ws.receive_data(data)
            out.extend(self.ws.events())
        return out


Script = Callable[[RawServer], Awaitable[None]]


@asynccontextmanager
async def client_with(
    script: Script, *, max_message_size: int = 2**20
) -> AsyncIterator[WebSocketClient]:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    with trio.fail_after(10):  # a lost message fails the test instead of hanging it
        async with trio.open_nursery() as nursery:
            nursery.start_soon(script, RawServer(server_stream))
            client = await connect(client_stream, max_message_size)
            try:
                yield client
            finally:
                await client.abort()


async def connect(stream: trio.abc.Stream, max_message_size: int) -> WebSocketClient:
    return await WebSocketClient.connect(
        stream,
        host="127.0.0.1",
        resource="/v1/realtime?model=m",
        headers=[],
        max_message_size=max_message_size,
        receive_buffer_size=65536,
    )


async def refusal(script: Script) -> BaseException:
    """The error connecting raises against ``script``."""
    client_stream, server_stream = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(script, RawServer(server_stream))
        with pytest.raises((WebSocketClosed, WebSocketRejected)) as info:
            await connect(client_stream, 2**20)
        nursery.cancel_scope.cancel()
    return info.value


async def test_frames_sent_with_the_upgrade_answer_are_delivered() -> None:
    async def script(server: RawServer) -> None:
        await server.read_request()
        await server.stream.send_all(server.accept_bytes() + text("one") + text("two"))

    async with client_with(script) as client:
        assert await client.get_message() == "one"
        assert await client.get_message() == "two"


async def test_messages_of_several_reads_come_in_order() -> None:
    taken = trio.Event()

    async def script(server: RawServer) -> None:
        await server.read_request()
        await server.stream.send_all(server.accept_bytes() + text("a") + text("b"))
        await taken.wait()
        await server.stream.send_all(text("c") + frame(0x2, b"d") + text("e"))

    async with client_with(script) as client:
        assert [await client.get_message() for _ in range(2)] == ["a", "b"]
        taken.set()
        assert [await client.get_message() for _ in range(3)] == ["c", b"d", "e"]


async def test_a_response_head_arriving_byte_by_byte() -> None:
    async def script(server: RawServer) -> None:
        await server.read_request()
        for byte in server.accept_bytes() + text("hello"):
            await server.stream.send_all(bytes([byte]))

    async with client_with(script) as client:
        assert await client.get_message() == "hello"


async def test_a_ping_is_answered_with_a_pong() -> None:
    seen: list[Event] = []

    async def script(server: RawServer) -> None:
        await server.read_request()
        await server.stream.send_all(
            server.accept_bytes() + frame(0x9, b"abc") + text("after")
        )
        seen.extend(await server.events())

    async with client_with(script) as client:
        assert await client.get_message() == "after"
        await client.abort()
    assert Pong(payload=b"abc") in seen


@pytest.mark.parametrize(
    ("code", "reason", "answer", "expected"),
    [(1001, b"bye", 1001, (1001, "bye")), (None, b"", 1005, (1005, None))],
)
async def test_a_server_close_is_answered_after_the_messages_before_it(
    code: int | None,
    reason: bytes,
    answer: int,
    expected: tuple[int, str | None],
) -> None:
    seen: list[Event] = []

    async def script(server: RawServer) -> None:
        await server.read_request()
        await server.stream.send_all(
            server.accept_bytes() + text("last") + close_frame(code, reason) + text("x")
        )
        seen.extend(await server.events())

    async with client_with(script) as client:
        assert await client.get_message() == "last"
        with pytest.raises(WebSocketClosed) as info:
            await client.get_message()
        assert (info.value.reason.code, info.value.reason.reason) == expected
    # A close without a code is answered with one without a code (which
    # wsproto reports as 1005).
    closes = [e for e in seen if isinstance(e, CloseConnection)]
    assert [c.code for c in closes] == [answer]


@pytest.mark.parametrize(
    ("bad_frame", "code"),
    [
        (frame(0x1, b"x", mask=b"abcd"), 1002),
        (frame(0x1, b"\xff\xfe"), 1007),
        (text("y" * 2000), 1009),
    ],
)
async def test_a_broken_frame_fails_the_connection_with_its_code(
    bad_frame: bytes, code: int
) -> None:
    seen: list[Event] = []

    async def script(server: RawServer) -> None:
        await server.read_request()
        await server.stream.send_all(server.accept_bytes() + text("ok") + bad_frame)
        seen.extend(await server.events())

    async with client_with(script, max_message_size=1000) as client:
        assert await client.get_message() == "ok"
        with pytest.raises(WebSocketClosed) as info:
            await client.get_message()
        assert info.value.reason.code == code
        assert info.value.reason.closed_by == "client"
    assert [e.code for e in seen if isinstance(e, CloseConnection)] == [code]


async def test_a_rejection_body_split_across_reads() -> None:
    async def script(server: RawServer) -> None:
        await server.read_request()
        head = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 26\r\nX-Why: key\r\n\r\n"
        await server.stream.send_all(head + b'{"error": ')
        await trio.lowlevel.checkpoint()
        await server.stream.send_all(b'"forbidden"}')
        await server.stream.send_all(b"....")

    error = await refusal(script)
    assert isinstance(error, WebSocketRejected)
    assert error.status_code == 403
    assert error.body == b'{"error": "forbidden"}....'
    assert ("x-why", "key") in error.headers


async def test_a_rejection_whose_body_ends_with_the_connection() -> None:
    async def script(server: RawServer) -> None:
        await server.read_request()
        await server.stream.send_all(b"HTTP/1.1 429 Too Many Requests\r\n\r\nslow ")
        await server.stream.send_all(b"down")
        await server.stream.aclose()

    error = await refusal(script)
    assert isinstance(error, WebSocketRejected)
    assert (error.status_code, error.body) == (429, b"slow down")


async def test_a_rejection_without_a_body() -> None:
    async def script(server: RawServer) -> None:
        await server.read_request()
        await server.stream.send_all(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"
        )

    error = await refusal(script)
    assert isinstance(error, WebSocketRejected)
    assert (error.status_code, error.body) == (401, b"")


@pytest.mark.parametrize(
    ("size", "truncated"),
    [(MAX_REJECTION_BODY, False), (MAX_REJECTION_BODY + 1, True)],
)
async def test_a_rejection_body_is_kept_up_to_the_cap(
    size: int, truncated: bool
) -> None:
    body = bytes(i % 251 for i in range(size))

    async def script(server: RawServer) -> None:
        await server.read_request()
        head = f"HTTP/1.1 403 Forbidden\r\nContent-Length: {size}\r\n\r\n"
        await server.stream.send_all(head.encode() + body)

    error = await refusal(script)
    assert isinstance(error, WebSocketRejected)
    assert error.status_code == 403
    assert error.body == body[:MAX_REJECTION_BODY]
    assert error.body_truncated is truncated


@pytest.mark.parametrize(
    ("answer", "code", "match"),
    [
        (
            b"HTTP/1.1 101 Switching Protocols\r\n" + b"X-Pad: " + b"a" * 70_000,
            1002,
            "too large",
        ),
        (b"HTTP/1.1 101 Switching Protocols\r\n", 1006, "during the handshake"),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n",
            1002,
            "malformed handshake",
        ),
    ],
)
async def test_a_broken_handshake_is_refused(
    answer: bytes, code: int, match: str
) -> None:
    async def script(server: RawServer) -> None:
        await server.read_request()
        await server.stream.send_all(answer)
        await server.stream.aclose()

    error = await refusal(script)
    assert isinstance(error, WebSocketClosed)
    assert error.reason.code == code
    assert match in str(error)


async def test_a_64_bit_frame_split_over_reads() -> None:
    payload = "z" * 200_000

    async def script(server: RawServer) -> None:
        await server.read_request()
        data = server.accept_bytes() + text(payload)
        for pos in range(0, len(data), 7_000):
            await server.stream.send_all(data[pos : pos + 7_000])

    async with client_with(script) as client:
        assert await client.get_message() == payload
