"""Writing from the caller's task and reading without a failed try (issue 16).

`DirectSocket` over a socket pair (no network), `WebSocketClient.write_now`
and its *tail* against a peer that stops reading, the engine's rule for when
a message may skip the send task, and the whole client over loopback
against the simulator, in order.
"""

from __future__ import annotations

import os
import socket
from types import SimpleNamespace
from typing import Any

import pytest
import trio
import trio.testing
from wsproto.frame_protocol import FrameProtocol, Opcode

from realtime_trio import events, open_realtime
from realtime_trio._client import writing
from realtime_trio._client.direct_socket import DirectSocket
from realtime_trio._client.wsclient import WebSocketClient, WebSocketClosed
from realtime_trio.testing import open_simulator

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX sockets only")


def socket_pair() -> tuple[trio.SocketStream, socket.socket]:
    """Our end as a trio stream; the peer as a blocking-free stdlib socket."""
    ours, peer = socket.socketpair()
    peer.setblocking(False)
    return trio.SocketStream(trio.socket.from_stdlib_socket(ours)), peer


def client_over(stream: trio.abc.Stream) -> WebSocketClient:
    return WebSocketClient(stream, max_message_size=2**24, receive_buffer_size=2**16)


def drain(peer: socket.socket) -> bytes:
    data = bytearray()
    while True:
        try:
            chunk = peer.recv(2**20)
        except BlockingIOError:
            return bytes(data)
        if not chunk:
            return bytes(data)
        data += chunk


def client_messages(data: bytes) -> list[str]:
    """The text messages in ``data``, as a server parses a client's masked frames."""
    frames = FrameProtocol(client=False, extensions=[])
    frames.receive_bytes(data)
    texts: list[str] = []
    partial = ""
    for frame in frames.received_frames():
        assert frame.opcode in (Opcode.TEXT, Opcode.CONTINUATION)
        assert isinstance(frame.payload, str)
        partial += frame.payload
        if frame.frame_finished and frame.message_finished:
            texts.append(partial)
            partial = ""
    assert partial == "", "a message was cut"
    return texts


# --- DirectSocket -------------------------------------------------------------------


async def test_only_a_plain_socket_stream_gets_a_direct_socket() -> None:
    stream, peer = socket_pair()
    with peer:
        assert isinstance(DirectSocket.for_stream(stream, 1024), DirectSocket)
        left, _right = trio.testing.memory_stream_pair()
        assert DirectSocket.for_stream(left, 1024) is None
        tls = trio.SSLStream(stream, __import__("ssl").create_default_context())
        assert DirectSocket.for_stream(tls, 1024) is None
        await stream.aclose()


async def test_direct_writes_and_reads_reach_the_peer() -> None:
    stream, peer = socket_pair()
    direct = DirectSocket(stream, receive_buffer_size=8)
    with peer:
        assert direct.write(b"hello") == 5
        assert drain(peer) == b"hello"
        # 20 bytes through a reader of 8: a full read does not wait for the next.
        peer.send(b"x" * 20)
        got = [await direct.read() for _ in range(3)]
        assert got == [b"x" * 8, b"x" * 8, b"x" * 4]
        peer.shutdown(socket.SHUT_WR)
        assert await direct.read() == b""
    await stream.aclose()


async def test_a_direct_read_is_a_checkpoint_and_can_be_cancelled() -> None:
    stream, peer = socket_pair()
    direct = DirectSocket(stream, receive_buffer_size=1024)
    with peer:
        with trio.move_on_after(0.05) as scope:
            await direct.read()
        assert scope.cancelled_caught
        peer.send(b"later")
        with trio.fail_after(5):
            assert await direct.read() == b"later"
        with trio.testing.assert_checkpoints():
            peer.send(b"more")
            await direct.read()
    await stream.aclose()


async def test_a_closed_socket_is_never_written_or_read_by_descriptor() -> None:
    stream, peer = socket_pair()
    direct = DirectSocket(stream, receive_buffer_size=1024)
    with peer:
        await stream.aclose()
        # Its descriptor number may belong to another file by now.
        assert direct.write(b"lost") == 0
        assert await direct.read() == b""


async def test_a_full_socket_takes_nothing_and_says_so() -> None:
    stream, peer = socket_pair()
    direct = DirectSocket(stream, receive_buffer_size=1024)
    with peer:
        block = b"z" * 2**16
        while direct.write(block) == len(block):
            pass
        assert direct.write(block) == 0
    await stream.aclose()


# --- WebSocketClient.write_now and its tail ---------------------------------------


async def test_write_now_sends_one_frame_at_once() -> None:
    stream, peer = socket_pair()
    ws = client_over(stream)
    with peer:
        assert ws.write_now('{"type":"response.create"}')
        assert not ws.tail_pending
        assert client_messages(drain(peer)) == ['{"type":"response.create"}']
        await ws.abort()


async def test_a_stalled_peer_leaves_a_tail_sent_first_and_whole() -> None:
    stream, peer = socket_pair()
    ws = client_over(stream)
    sent: list[str] = []
    with peer:
        n = 0
        while not ws.tail_pending:
            text = f"{n:08d}" + "a" * 30_000
            assert ws.write_now(text)  # never waits, even on a full socket
            sent.append(text)
            n += 1
        # With a tail pending nothing may jump ahead of it.
        assert not ws.write_now("jump the queue")
        assert not ws.writable_now()
        received = bytearray()
        everything = trio.Event()

        async def read_slowly() -> None:
            while len(client_messages(bytes(received))) < len(sent) + 1:
                await trio.sleep(0.001)
                received.extend(drain(peer))
            everything.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_slowly)
            with trio.fail_after(10):
                # Any write sends the tail first: here a message of its own.
                await ws.send_message("after the tail")
                await ws.send_messages([""])  # a nudge alone writes nothing more
                await everything.wait()
        assert client_messages(bytes(received)) == [*sent, "after the tail"]
        await ws.abort()


async def test_write_now_declines_while_another_write_is_in_progress() -> None:
    stream, peer = socket_pair()
    ws = client_over(stream)
    with peer:
        async with trio.open_nursery() as nursery:
            # A message bigger than the socket's buffers: its write waits.
            nursery.start_soon(ws.send_message, "b" * 2**24)
            await trio.testing.wait_all_tasks_blocked()
            assert not ws.write_now("not now")
            nursery.cancel_scope.cancel()
        await ws.abort()


async def test_write_now_needs_a_plain_socket() -> None:
    left, _right = trio.testing.memory_stream_pair()
    assert not client_over(left).write_now("memory streams wait")


async def test_write_now_after_closing_raises() -> None:
    stream, peer = socket_pair()
    ws = client_over(stream)
    with peer:
        await ws.abort()
        with pytest.raises(WebSocketClosed):
            ws.write_now("too late")


# --- the engine's rule --------------------------------------------------------------


class AlwaysWrites:
    """A WebSocket whose write_now always succeeds (the rule is what is tested)."""

    tail_pending = False

    def __init__(self) -> None:
        self.written: list[str] = []

    def write_now(self, text: str) -> bool:
        self.written.append(text)
        return True


def fake_engine(outgoing: Any, max_buffered_messages: int = 64) -> Any:
    from realtime_trio._core.protocol import RealtimeProtocol

    return SimpleNamespace(
        _ws=AlwaysWrites(),
        _outgoing=outgoing,
        _recorder=None,
        protocol=RealtimeProtocol(),
        settings=SimpleNamespace(max_buffered_messages=max_buffered_messages),
    )


async def test_a_message_never_overtakes_one_handed_to_the_send_task() -> None:
    send, receive = trio.open_memory_channel[str](64)
    engine = fake_engine((send, receive))
    async with trio.open_nursery() as nursery:
        taken: list[str] = []

        async def send_task() -> None:
            taken.append(await receive.receive())

        nursery.start_soon(send_task)
        await trio.testing.wait_all_tasks_blocked()
        # The send task waits with nothing queued: writing directly is in order.
        assert writing.write_now(engine, "first")
        # A message handed straight to the waiting task is in no buffer...
        send.send_nowait("second")
        assert send.statistics().current_buffer_used == 0
        # ...yet the next one must queue behind it.
        assert not writing.write_now(engine, "third")
    assert taken == ["second"]
    assert engine._ws.written == ["first"]
    assert engine.protocol.events_sent == 1


async def test_nothing_is_written_directly_past_queued_messages() -> None:
    send, receive = trio.open_memory_channel[str](64)
    engine = fake_engine((send, receive))
    send.send_nowait("queued")
    assert not writing.write_now(engine, "later")
    assert engine._ws.written == []


def test_an_unbuffered_connection_writes_directly_only_once_the_send_task_waits() -> (
    None
):
    # No room for the nudge of a tail before the send task runs.
    assert not writing.write_now(fake_engine(None, max_buffered_messages=0), "x")
    assert writing.write_now(fake_engine(None), "x")


# --- the whole client over loopback -------------------------------------------------


async def test_sends_from_many_tasks_with_audio_arrive_in_each_tasks_order() -> None:
    # Direct writes, the send task and the audio task's own writes all race
    # here; each task's events must reach the server in the order sent.
    async with open_simulator() as sim:
        with trio.fail_after(20):
            async with open_realtime(
                model="gpt-realtime", api_key="sk-direct", url=sim.url
            ) as conn:

                async def sender(name: str) -> None:
                    for n in range(150):
                        await conn.send(
                            events.ConversationItemRetrieve(
                                item_id=f"missing_{name}", event_id=f"{name}_{n:04d}"
                            )
                        )
                        if n % 7 == 0:
                            await trio.lowlevel.checkpoint()

                async def audio() -> None:
                    for _ in range(50):
                        await conn.send_audio(b"\x01\x00" * 2400)

                async with trio.open_nursery() as nursery:
                    for name in ("a", "b", "c"):
                        nursery.start_soon(sender, name)
                    nursery.start_soon(audio)
                # Every retrieve of a missing item is answered with an error.
                errors = 0
                while errors < 450:
                    if isinstance(await conn.receive(), events.ErrorEvent):
                        errors += 1
        received = [
            e.event_id
            for e in sim.connections[0].client_events
            if isinstance(e, events.ConversationItemRetrieve)
        ]
    assert len(received) == 450
    for name in ("a", "b", "c"):
        mine = [i for i in received if isinstance(i, str) and i.startswith(name)]
        assert mine == sorted(mine) and len(mine) == 150


async def test_a_direct_send_is_still_a_checkpoint_and_cancelled_sends_nothing() -> (
    None
):
    async with open_simulator() as sim:
        with trio.fail_after(10):
            async with open_realtime(
                model="gpt-realtime", api_key="sk-direct", url=sim.url
            ) as conn:
                engine: Any = conn._engine

                def retrieve(event_id: str) -> events.ConversationItemRetrieve:
                    return events.ConversationItemRetrieve(
                        item_id="missing", event_id=event_id
                    )

                with trio.testing.assert_checkpoints():
                    await conn.send(retrieve("sent_1"))
                # It went from this task: no send task was needed.
                assert not engine._send_started
                with trio.CancelScope() as scope:
                    scope.cancel()
                    await conn.send(retrieve("never_sent"))
                await conn.send(retrieve("sent_2"))
                answered: list[object] = []
                while len(answered) < 2:
                    event = await conn.receive()
                    if isinstance(event, events.ErrorEvent):
                        answered.append(event.error.event_id)
                assert conn.statistics().events_sent == 2
        sent = [e.event_id for e in sim.connections[0].client_events]
    assert sent == ["sent_1", "sent_2"]
    assert answered == ["sent_1", "sent_2"]
