"""The keepalive (``ping_interval``, ``ping_timeout``) and the byte bound of the events buffer.

A raw WebSocket server (wsproto) over in-memory streams, under the autojump
clock: it can answer pings or not, and counts them. A server that stops
answering ends the connection after ``ping_interval + ping_timeout``; one
that answers keeps it; a consumer that does not read (a full buffer, by
count or by bytes) is not mistaken for a dead network.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    Request,
    TextMessage,
)

from realtime_trio import (
    ConnectionBroken,
    RealtimeConnection,
    events,
    open_realtime,
)
from tests.helpers.fake_server import SESSION_CREATED


def session_created() -> str:
    session = dict(SESSION_CREATED["session"], expires_at=int(time.time()) + 3600)
    return json.dumps({**SESSION_CREATED, "session": session})


def event(i: int, padding: int = 0) -> str:
    return json.dumps(
        {
            "type": "response.output_text.delta",
            "event_id": f"e{i}",
            "response_id": "r",
            "item_id": "i",
            "output_index": 0,
            "content_index": 0,
            "delta": "x" * padding,
        }
    )


@attrs.define
class RawServer:
    """A WebSocket server that sends ``session.created`` then ``flood``."""

    answer_pings: bool = True
    flood: list[str] = attrs.Factory(list)
    pings: int = 0
    close_code: int | None = None
    close_reason: str | None = None
    closed: trio.Event = attrs.Factory(trio.Event)

    async def serve(self, stream: trio.abc.Stream) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        try:
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    return
                ws.receive_data(data)
                if any(isinstance(e, Request) for e in ws.events()):
                    break
            out = ws.send(AcceptConnection())
            out += ws.send(TextMessage(data=session_created()))
            for message in self.flood:
                out += ws.send(TextMessage(data=message))
            await stream.send_all(out)
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    return
                ws.receive_data(data)
                for e in ws.events():
                    if isinstance(e, Ping):
                        self.pings += 1
                        if self.answer_pings:
                            await stream.send_all(ws.send(e.response()))
                    elif isinstance(e, CloseConnection):
                        self.close_code, self.close_reason = e.code, e.reason
                        await stream.send_all(ws.send(e.response()))
                        return
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            self.closed.set()
            await trio.aclose_forcefully(stream)


@asynccontextmanager
async def connected(
    server: RawServer, **options: Any
) -> AsyncIterator[RealtimeConnection]:
    async with trio.open_nursery() as nursery:

        async def connect_stream() -> trio.abc.Stream:
            client, server_side = trio.testing.memory_stream_pair()
            nursery.start_soon(server.serve, server_side)
            return client

        async with open_realtime(
            model="m",
            api_key="sk-test",
            url="ws://server.test/v1/realtime",
            connect_stream=connect_stream,
            **options,
        ) as conn:
            yield conn
        nursery.cancel_scope.cancel()


# --- the keepalive ----------------------------------------------------------------


@pytest.mark.parametrize(("interval", "pong_wait"), [(20.0, 20.0), (5.0, 2.5)])
async def test_a_server_that_never_answers_pings_ends_the_connection(
    autojump_clock: trio.testing.MockClock, interval: float, pong_wait: float
) -> None:
    server = RawServer(answer_pings=False)
    options = (
        {}
        if interval == 20.0
        else {"ping_interval": interval, "ping_timeout": pong_wait}
    )
    async with connected(server, **options) as conn:
        assert isinstance(await conn.receive(), events.SessionCreated)
        start = trio.current_time()
        with pytest.raises(ConnectionBroken) as info:
            await conn.receive()
        elapsed = trio.current_time() - start
    assert interval + pong_wait <= elapsed < interval + pong_wait + 0.1
    error = info.value
    assert error.closed_by == "client"
    assert error.close_reason is not None and error.close_reason.code == 1011
    assert "keepalive ping timed out" in str(error)
    assert f"{pong_wait:g} s" in str(error)
    assert str(error).startswith("realtime_trio closed the connection")
    assert server.pings == 1
    # The close frame went out (the network here is alive, only deaf).
    assert server.close_code == 1011
    assert server.close_reason is not None and "keepalive" in server.close_reason


async def test_a_server_that_answers_keeps_the_connection_for_many_intervals(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = RawServer()
    async with connected(server, ping_interval=1.0, ping_timeout=0.5) as conn:
        assert isinstance(await conn.receive(), events.SessionCreated)
        with trio.move_on_after(100):
            await conn.receive()
            pytest.fail("an event or an error")  # pragma: no cover
        assert conn.statistics().state == "open"
    assert server.pings >= 90
    assert server.close_code == 1000


@pytest.mark.parametrize(
    "options",
    [
        {"max_buffered_events": 8},
        {"max_buffered_events": 128, "max_buffered_event_bytes": 20_000},
    ],
    ids=["full by count", "full by bytes"],
)
async def test_a_consumer_that_does_not_read_for_ten_minutes_is_not_a_dead_network(
    autojump_clock: trio.testing.MockClock, options: dict[str, Any]
) -> None:
    flood = [event(i, padding=2_000) for i in range(300)]
    server = RawServer(flood=flood)
    async with connected(server, **options) as conn:
        await trio.testing.wait_all_tasks_blocked()
        stats = conn.statistics()
        assert stats.events_buffered < 300  # the reader is waiting for room
        # The consumer does not read for 10 minutes; the server would answer
        # the pings, but the reader cannot see the answers meanwhile.
        await trio.sleep(600)
        got = [await conn.receive() for _ in range(301)]
        assert [getattr(e, "event_id", None) for e in got[1:]] == [
            f"e{i}" for i in range(300)
        ]
        # The connection is alive and the keepalive works again.
        pings = server.pings
        with trio.move_on_after(60):
            await conn.receive()
        assert server.pings > pings
    assert server.close_code == 1000


async def test_the_deadline_restarts_when_the_reader_reads_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A deaf server and a consumer that stops reading: no failure while the
    # reader waits for room, the failure a full ping_timeout after it reads on.
    server = RawServer(answer_pings=False, flood=[event(i) for i in range(20)])
    async with connected(server, max_buffered_events=4) as conn:
        await trio.sleep(600)
        for _ in range(21):
            await conn.receive()
        resumed = trio.current_time()
        with pytest.raises(ConnectionBroken, match="keepalive"):
            await conn.receive()
        assert trio.current_time() - resumed <= 20.0 + 20.0 + 0.1


async def test_no_pings_when_ping_interval_is_none(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = RawServer(answer_pings=False)
    async with connected(server, ping_interval=None) as conn:
        assert isinstance(await conn.receive(), events.SessionCreated)
        with trio.move_on_after(600):
            await conn.receive()
            pytest.fail("an event or an error")  # pragma: no cover
    assert server.pings == 0
    assert server.close_code == 1000


async def test_pings_without_a_deadline_when_ping_timeout_is_none(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = RawServer(answer_pings=False)
    async with connected(server, ping_interval=10.0, ping_timeout=None) as conn:
        with trio.move_on_after(600):
            await conn.receive()
            await conn.receive()
            pytest.fail("an event or an error")  # pragma: no cover
    assert server.pings >= 59
    assert server.close_code == 1000


# --- the byte bound of the events buffer -----------------------------------------------


async def test_the_events_buffer_is_bounded_in_bytes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    flood = [event(i, padding=10_000) for i in range(200)]
    size = len(flood[0])
    server = RawServer(flood=flood)
    async with connected(server, max_buffered_event_bytes=50_000) as conn:
        await trio.testing.wait_all_tasks_blocked()
        stats = conn.statistics()
        assert stats.max_buffered_event_bytes == 50_000
        # At most the bound plus one message (session.created is first).
        assert stats.event_bytes_buffered <= 50_000 + size
        assert stats.events_buffered <= 50_000 // size + 2
        got = []
        for _ in range(201):
            got.append(await conn.receive())
            assert conn.statistics().event_bytes_buffered <= 50_000 + size
        assert [getattr(e, "event_id", None) for e in got[1:]] == [
            f"e{i}" for i in range(200)
        ]
        assert conn.statistics().event_bytes_buffered == 0
