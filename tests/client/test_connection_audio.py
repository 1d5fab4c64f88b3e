"""Audio input through the connection: framing, conversion, ordering, backpressure."""

from __future__ import annotations

import base64
import weakref
from typing import Any

import numpy as np
import pytest
import trio
import trio.testing

import realtime_trio
from realtime_trio import ConnectionClosed, audio, events, open_realtime
from tests.helpers.fake_server import FakeServer

KEY = "sk-test"
URL = "ws://127.0.0.1:8123/v1/realtime"


def connect(server: FakeServer, **kwargs: Any) -> Any:
    kwargs.setdefault("audio_frame_ms", 50)
    return open_realtime(
        model="m", api_key=KEY, url=URL, connect_stream=server.connect_stream, **kwargs
    )


def appended(server: FakeServer) -> list[bytes]:
    return [
        base64.b64decode(m["audio"])
        for m in server.connections[0].messages
        if m["type"] == "input_audio_buffer.append"
    ]


def tone(ms: int, rate: int = 24_000, freq: float = 440.0) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * np.pi * freq * t) * 8000).astype("<i2").tobytes()


async def test_audio_is_framed_and_commit_flushes_the_partial_frame(
    nursery: trio.Nursery,
) -> None:
    server = FakeServer(nursery)
    pcm = tone(1_030)  # 1.03 s: 20 frames of 50 ms plus 30 ms
    async with connect(server) as conn:
        for start in range(0, len(pcm), 777):  # odd-sized writes
            await conn.send_audio(pcm[start : start + 777])
        committed = await conn.commit_audio()
        assert isinstance(committed, events.InputAudioBufferCommitted)
    frames = appended(server)
    assert [len(f) for f in frames] == [2_400] * 20 + [1_440]
    assert b"".join(frames) == pcm
    kinds = [m["type"] for m in server.connections[0].messages]
    assert kinds == ["input_audio_buffer.append"] * 21 + ["input_audio_buffer.commit"]


async def test_default_frame_is_100_ms(nursery: trio.Nursery) -> None:
    server = FakeServer(nursery)
    async with open_realtime(
        model="m", api_key=KEY, url=URL, connect_stream=server.connect_stream
    ) as conn:
        await conn.send_audio(tone(250))
        await conn.commit_audio()
    assert [len(f) for f in appended(server)] == [4_800, 4_800, 2_400]


async def test_frame_size_is_configurable(nursery: trio.Nursery) -> None:
    server = FakeServer(nursery)
    async with connect(server, audio_frame_ms=20) as conn:
        await conn.send_audio(tone(100))
        await conn.commit_audio()
    assert [len(f) for f in appended(server)] == [960] * 5


async def test_audio_events_sent_with_send_stay_in_order(nursery: trio.Nursery) -> None:
    server = FakeServer(nursery)
    async with connect(server) as conn:
        await conn.send_audio(tone(70))
        await conn.send(
            events.InputAudioBufferCommit()
        )  # flushes the 20 ms partial frame first
        await conn.send_audio(tone(10))
        await conn.send(events.InputAudioBufferClear())  # drops the local partial frame
        await conn.send(
            events.InputAudioBufferAppend(audio=base64.b64encode(b"\x01\x00").decode())
        )
        await trio.testing.wait_all_tasks_blocked()
    kinds = [m["type"] for m in server.connections[0].messages]
    assert kinds == [
        "input_audio_buffer.append",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "input_audio_buffer.clear",
        "input_audio_buffer.append",
    ]
    assert [len(f) for f in appended(server)] == [2_400, 960, 2]


async def test_clear_audio_drops_the_local_partial_frame(nursery: trio.Nursery) -> None:
    server = FakeServer(nursery)
    async with connect(server) as conn:
        await conn.send_audio(tone(30))
        await conn.clear_audio()
        await conn.send_audio(tone(50))
        await conn.commit_audio()
    assert [len(f) for f in appended(server)] == [2_400]


async def test_audio_is_converted_to_the_session_input_format(
    nursery: trio.Nursery,
) -> None:
    server = FakeServer(nursery, input_format={"type": "audio/pcmu"})
    pcm16k = tone(500, rate=16_000)
    async with connect(
        server, input_audio_format=audio.AudioFormat.pcm16(16_000)
    ) as conn:
        await conn.send_audio(pcm16k)
        await conn.commit_audio()
    frames = appended(server)
    assert all(len(f) == 400 for f in frames[:-1])  # 50 ms of 8 kHz µ-law
    ulaw = b"".join(frames)
    assert abs(len(ulaw) - 4_000) <= 2
    # It decodes back to the same tone (resampled): check the dominant frequency.
    pcm8k = np.frombuffer(audio.ulaw_to_pcm16(ulaw), "<i2").astype(float)
    spectrum = np.abs(np.fft.rfft(pcm8k))
    peak_hz = np.argmax(spectrum) * 8_000 / len(pcm8k)
    assert abs(peak_hz - 440) < 5


async def test_leaving_flushes_queued_audio(nursery: trio.Nursery) -> None:
    server = FakeServer(nursery)
    pcm = tone(120)
    async with connect(server) as conn:
        conn.send_audio_nowait(pcm)
    assert b"".join(appended(server)) == pcm


async def test_audio_backpressure_is_bounded_in_milliseconds(
    nursery: trio.Nursery,
) -> None:
    server = FakeServer(nursery, lockstep=True)
    server.script = _deaf
    async with connect(
        server, max_buffered_audio_ms=200, max_buffered_messages=1, close_timeout=0.1
    ) as conn:
        frame = tone(100)
        sent = 0
        with pytest.raises(trio.WouldBlock):
            for _ in range(1000):
                conn.send_audio_nowait(frame)
                sent += 1
                await trio.testing.wait_all_tasks_blocked()
        stats = conn.statistics()
        assert stats.audio_ms_buffered <= 200
        assert stats.peak_audio_bytes_buffered <= audio.bytes_for_duration(
            audio.PCM16_24K, 200
        )
        assert stats.max_buffered_audio_ms == 200
        with trio.move_on_after(0.05) as scope:
            await conn.send_audio(frame)
        assert scope.cancelled_caught  # blocked, and cancelling it queued nothing
        assert conn.statistics().audio_bytes_buffered == stats.audio_bytes_buffered


async def _deaf(ws: Any, seen: Any) -> None:
    await trio.sleep_forever()


async def test_several_producers_with_audio_senders(nursery: trio.Nursery) -> None:
    server = FakeServer(nursery)
    async with connect(server) as conn:

        async def produce(sender: realtime_trio.AudioSender, byte: int) -> None:
            with sender:
                for _ in range(5):
                    await sender.send(bytes([byte, 0]) * 1200)

        async with trio.open_nursery() as producers:
            producers.start_soon(produce, conn.audio_sender(), 1)
            producers.start_soon(produce, conn.audio_sender(), 2)
        sender = conn.audio_sender()
        sender.close()
        with pytest.raises(trio.ClosedResourceError):
            await sender.send(b"\x00\x00")
        await conn.commit_audio()
    total = b"".join(appended(server))
    assert len(total) == 2 * 5 * 2400
    assert total.count(b"\x01\x00") == 5 * 1200
    assert total.count(b"\x02\x00") == 5 * 1200


async def test_audio_after_close_is_refused(nursery: trio.Nursery) -> None:
    server = FakeServer(nursery)
    async with connect(server) as conn:
        sender = conn.audio_sender()
    with pytest.raises(ConnectionClosed):
        await conn.send_audio(b"\x00\x00")
    with pytest.raises(ConnectionClosed):
        await sender.send(b"\x00\x00")


async def test_the_connection_and_its_senders_can_be_weakly_referenced(
    nursery: trio.Nursery,
) -> None:
    # Both are public, and slotted for memory: weak references still work.
    server = FakeServer(nursery)
    async with connect(server) as conn:
        with conn.audio_sender() as sender:
            assert weakref.ref(conn)() is conn
            assert weakref.ref(sender)() is sender
