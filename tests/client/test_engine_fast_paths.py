"""The engine's fast paths (issue 16): lazy tasks, coalesced writes, receive checkpoints."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import trio
import trio.testing

from realtime_trio import events, open_realtime
from realtime_trio._client.audio_input import AudioBuffer
from realtime_trio._client.engine import EXPIRY_WARNING_SECONDS
from realtime_trio._client.event_budget import ByteBudget
from tests.helpers.fake_server import FakeServer

KEY = "sk-test-fast-paths"
URL = "wss://api.openai.com/v1/realtime?model=gpt-realtime"


@pytest.fixture
async def server(nursery: trio.Nursery) -> FakeServer:
    return FakeServer(nursery)


def connect(server: FakeServer, **kwargs: Any) -> Any:
    kwargs.setdefault("model", "gpt-realtime")
    return open_realtime(
        api_key=KEY, url=URL, connect_stream=server.connect_stream, **kwargs
    )


def task_names(conn: Any) -> list[str]:
    nursery = conn._engine._nursery
    assert nursery is not None
    return sorted(task.name.rsplit(".", 1)[-1] for task in nursery.child_tasks)


async def test_idle_connection_runs_no_send_or_audio_task(server: FakeServer) -> None:
    async with connect(server) as conn:
        await trio.testing.wait_all_tasks_blocked()
        # The engine's run task receives (in its nursery's body); the only
        # child is the keepalive; the outgoing and audio buffers do not exist.
        assert task_names(conn) == ["_keepalive_task"]
        engine = conn._engine
        assert engine._outgoing is None
        assert not engine.audio.opened
        assert conn.statistics().messages_buffered == 0
        assert conn.statistics().audio_bytes_buffered == 0


async def test_text_only_connection_starts_the_send_task_only(
    server: FakeServer,
) -> None:
    async with connect(server) as conn:
        await conn.send(events.ResponseCreate())
        await trio.testing.wait_all_tasks_blocked()
        names = task_names(conn)
        assert "_send_task" in names
        assert "_audio_task" not in names
        assert conn._engine._outgoing is not None
        assert not conn._engine.audio.opened
        seen = server.connections[0]
        assert [e["type"] for e in seen.messages][-1] == "response.create"


async def test_an_audio_sender_opens_the_audio_buffer_and_its_audio_arrives(
    server: FakeServer,
) -> None:
    async with connect(server) as conn:
        engine = conn._engine
        with conn.audio_sender() as sender:
            assert engine.audio.opened  # a clone needs the channel
            assert engine._outgoing is None  # nothing to send yet
            await sender.send(b"\x01\x00" * 2400)  # one whole 100 ms frame
        committed = await conn.commit_audio()
        assert isinstance(committed, events.InputAudioBufferCommitted)
    types = [e["type"] for e in server.connections[0].messages]
    assert types[-2:] == ["input_audio_buffer.append", "input_audio_buffer.commit"]


async def test_closing_a_connection_that_never_sent_anything(
    server: FakeServer,
) -> None:
    async with connect(server) as conn:
        sender = conn.audio_sender()
        sender.close()  # the audio buffer opened, its task never started
    assert conn.closed
    assert not {"_send_task", "_audio_task"} & set(task_names(conn))
    assert server.connections[0].messages == []


@pytest.mark.parametrize("first", ["audio", "clear"])
async def test_audio_task_starts_on_first_audio_or_buffer_event(
    server: FakeServer, first: str
) -> None:
    async with connect(server) as conn:
        if first == "audio":
            await conn.send_audio(b"\x01\x00" * 2400)  # 100 ms: one whole frame
        else:
            await conn.send(events.InputAudioBufferClear())
        await trio.testing.wait_all_tasks_blocked()
        names = task_names(conn)
        assert "_audio_task" in names
        assert "_send_task" in names
        types = [e["type"] for e in server.connections[0].messages]
        assert (
            f"input_audio_buffer.{'append' if first == 'audio' else 'clear'}" in types
        )


async def test_queued_messages_go_out_in_one_write_and_in_order(
    server: FakeServer,
) -> None:
    writes: list[int] = []
    original = server.connect_stream

    async def counting_stream() -> trio.abc.Stream:
        stream = await original()
        send_all = stream.send_all

        async def counted(data: Any) -> None:
            writes.append(len(data))
            await send_all(data)

        stream.send_all = counted  # type: ignore[method-assign]
        return stream

    async with open_realtime(
        model="gpt-realtime", api_key=KEY, url=URL, connect_stream=counting_stream
    ) as conn:
        await conn.send(events.ResponseCreate())  # starts the send task
        await trio.testing.wait_all_tasks_blocked()
        before = len(writes)
        for i in range(5):
            conn.send_nowait({"type": "conversation.item.retrieve", "item_id": f"i{i}"})
        await trio.testing.wait_all_tasks_blocked()
        assert len(writes) == before + 1  # five queued messages, one write
        retrieved = [
            e["item_id"]
            for e in server.connections[0].messages
            if e["type"] == "conversation.item.retrieve"
        ]
        assert retrieved == [f"i{i}" for i in range(5)]
        assert conn.statistics().events_sent >= 6


async def test_receive_is_a_checkpoint_even_with_events_buffered(
    server: FakeServer,
) -> None:
    """receive() always passes through the scheduler; receive_nowait() drains a burst."""
    async with connect(server) as conn:
        for _ in range(3):
            conn.send_nowait(events.ResponseCreate())
        await trio.testing.wait_all_tasks_blocked()
        assert conn.statistics().events_buffered >= 3
        with trio.testing.assert_checkpoints():
            await conn.receive()
        drained = []
        with trio.testing.assert_no_checkpoints():
            while True:
                try:
                    drained.append(conn.receive_nowait())
                except trio.WouldBlock:
                    break
        assert drained
        assert all(isinstance(e, events.ServerEvent) for e in drained)


async def test_expiry_warning_comes_from_the_keepalive_timer(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="realtime_trio")
    server.session["expires_at"] = int(time.time() + EXPIRY_WARNING_SECONDS - 5)
    async with connect(server, ping_interval=0.05) as conn:
        await trio.sleep(0.3)
        names = task_names(conn)
        assert "_expiry_task" not in names  # the keepalive task warns instead
    warnings = [r for r in caplog.records if "session expires in" in r.getMessage()]
    assert len(warnings) == 1


async def test_expiry_task_without_keepalive(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="realtime_trio")
    server.session["expires_at"] = int(time.time() + EXPIRY_WARNING_SECONDS - 5)
    async with connect(server, ping_interval=None):
        await trio.sleep(0.1)
    assert any("session expires in" in r.getMessage() for r in caplog.records)


def test_the_audio_buffer_opens_on_first_use() -> None:
    buffer = AudioBuffer(4800)
    buffer.consumed(0)
    buffer.wake_all()  # nobody waits: no parking lot is made for that
    assert not buffer.opened
    buffer.close_own()  # the connection closed before any audio
    assert not buffer.opened
    # Opened afterwards (a marker while closing), its own end is closed.
    with pytest.raises(trio.ClosedResourceError):
        buffer.send_channel.send_nowait(b"\x00\x00")
    assert buffer.opened


def test_the_byte_budget_forgets_the_sizes_of_the_items_taken() -> None:
    budget = ByteBudget(100)
    for size in (10, 20, 30, 40):
        budget.add(size)
    assert (budget.total, budget.over) == (100, False)
    budget.add(5)
    assert budget.over
    budget.settle(3)  # two taken: the oldest, 10 and 20
    assert (budget.sizes, budget.total) == ([30, 40, 5], 75)
    assert budget.takes_to_low_water() == 1  # 75 - 30 <= 50, half the limit
    budget.settle(5)  # more left than remembered: nothing to forget
    assert budget.total == 75
    budget.settle(0)
    assert (budget.sizes, budget.total) == ([], 0)
