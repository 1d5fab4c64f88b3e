"""The sockets we open let the kernel buffer our writes (no 16 KiB low-water mark).

trio sets ``TCP_NOTSENT_LOWAT`` to 16 KiB on the TCP streams it opens; with
it, an upload stalled whenever the server fell behind for a moment and then
resumed a chunk at a time (issue 16: half the asyncio floor's throughput, and
twice the server's CPU per chunk). `open_realtime` lifts the mark on the
streams it opens, plain and TLS, and leaves a ``connect_stream`` stream alone.
"""

from __future__ import annotations

import functools
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request

from realtime_trio import open_realtime
from realtime_trio._client.transport import lift_send_low_water_mark
from tests.helpers.fake_server import SESSION_CREATED
from tests.helpers.frames import text

KEY = "sk-test-send-buffer-0123456789"

pytestmark = pytest.mark.skipif(
    not hasattr(trio.socket, "TCP_NOTSENT_LOWAT"),
    reason="the platform has no TCP_NOTSENT_LOWAT",
)


def low_water_mark(stream: trio.SocketStream) -> int:
    option = trio.socket.TCP_NOTSENT_LOWAT  # type: ignore[attr-defined]
    return int(stream.getsockopt(trio.socket.IPPROTO_TCP, option))


@asynccontextmanager
async def realtime_server() -> AsyncIterator[int]:
    """A loopback server that accepts the upgrade, sends ``session.created``
    and reads until the client closes; yields its port."""

    async def serve(stream: trio.abc.Stream) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        try:
            while not any(isinstance(e, Request) for e in ws.events()):
                ws.receive_data(await stream.receive_some(65536))
            await stream.send_all(
                ws.send(AcceptConnection()) + text(json.dumps(SESSION_CREATED))
            )
            while data := await stream.receive_some(65536):
                ws.receive_data(data)
                for event in ws.events():
                    if isinstance(event, CloseConnection):
                        await stream.send_all(ws.send(event.response()))
                        return
        except trio.BrokenResourceError:
            pass
        finally:
            await trio.aclose_forcefully(stream)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, serve, 0, host="127.0.0.1")
        )
        try:
            yield listeners[0].socket.getsockname()[1]
        finally:
            nursery.cancel_scope.cancel()


async def test_the_mark_trio_sets_is_lifted() -> None:
    async with realtime_server() as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            assert low_water_mark(stream) == 2**14  # trio's
            lift_send_low_water_mark(stream)
            assert low_water_mark(stream) == 0


async def test_the_mark_is_lifted_under_tls_too() -> None:
    async with realtime_server() as port:
        inner = await trio.open_tcp_stream("127.0.0.1", port)
        async with inner:
            tls = trio.SSLStream(
                inner, ssl.create_default_context(), server_hostname="localhost"
            )
            lift_send_low_water_mark(tls)
            assert low_water_mark(inner) == 0


async def test_a_stream_without_a_socket_is_left_alone() -> None:
    left, _right = trio.testing.memory_stream_pair()
    lift_send_low_water_mark(left)  # nothing to set, and no error
    lift_send_low_water_mark(
        trio.SSLStream(left, ssl.create_default_context(), server_hostname="x")
    )


async def test_open_realtime_lifts_the_mark_on_its_socket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[trio.SocketStream] = []
    real_open = trio.open_tcp_stream

    async def recording_open(host: str, port: int) -> trio.SocketStream:
        stream = await real_open(host, port)
        opened.append(stream)
        return stream

    monkeypatch.setattr(trio, "open_tcp_stream", recording_open)
    async with realtime_server() as port:
        url = f"ws://127.0.0.1:{port}/v1/realtime"
        async with open_realtime(model="gpt-realtime", api_key=KEY, url=url) as conn:
            await conn.receive()  # session.created
            [stream] = opened
            assert low_water_mark(stream) == 0
            await conn.send_audio(bytes(48_000))  # a second of audio goes out
            await conn.send({"type": "input_audio_buffer.clear"})


async def test_a_connect_stream_keeps_its_mark() -> None:
    async with realtime_server() as port:
        opened: list[trio.SocketStream] = []

        async def connect_stream() -> trio.abc.Stream:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            opened.append(stream)
            return stream

        url = f"ws://127.0.0.1:{port}/v1/realtime"
        async with open_realtime(
            model="gpt-realtime", api_key=KEY, url=url, connect_stream=connect_stream
        ) as conn:
            await conn.receive()
            assert low_water_mark(opened[0]) == 2**14
