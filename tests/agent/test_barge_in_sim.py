"""Playback and barge-in against the simulator: what was heard is what stays."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from realtime_trio import Interruption, PlaybackTracker, events
from realtime_trio.testing import RealtimeSimulator, SimCall, silence, tone

from .sim import client_events, client_types, conversation, user_text, vad

STORY = "Tell me a long story about the sea"
SPEECH = tone(400) + silence(400)


def truncates(sim: RealtimeSimulator) -> list[events.ConversationItemTruncate]:
    return client_events(sim, events.ConversationItemTruncate)


async def test_barge_in_with_interrupt_response_on_truncates_at_what_was_played(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    tracker = PlaybackTracker()
    async with conversation(sim, nursery, playback=tracker) as (conn, convo, collector):
        await conn.create_item(user_text(STORY))
        speaking = await convo.create_response()
        first = await collector.until(events.ResponseOutputAudioDelta)
        await trio.sleep(0.5)
        # The application played 300.7 ms of it (and says so).
        tracker.played(first.item_id, 0, ms=300.7)
        assert tracker.position_ms(first.item_id) == pytest.approx(7216 / 24)
        await conn.send_audio(SPEECH)
        started = await collector.until(events.InputAudioBufferSpeechStarted)
        interruption = await collector.until(Interruption)
        truncated = await collector.until(events.ConversationItemTruncated)
        done = await convo.wait_response_done(speaking.id)
        index = collector.events.index
        assert index(started) < index(interruption)
    # 300.7 ms = 7,216.8 samples: 7,216 whole samples, 300 whole milliseconds.
    assert interruption == Interruption(
        reason="speech_started",
        response_id=speaking.id,
        cancelled=False,  # the server cancels by itself (interrupt_response)
        item_id=first.item_id,
        played_ms=pytest.approx(7216 / 24),  # type: ignore[arg-type]
        audio_end_ms=300,
        discarded_samples=interruption.discarded_samples,
        discarded_ms=interruption.discarded_samples / 24,
    )
    assert interruption.discarded_samples > 0
    assert "response.cancel" not in client_types(sim)
    (truncate,) = truncates(sim)
    assert (truncate.item_id, truncate.content_index, truncate.audio_end_ms) == (
        first.item_id,
        0,
        300,
    )
    assert truncated.audio_end_ms == 300
    assert (done.status, done.status_details.reason) == ("cancelled", "turn_detected")  # type: ignore[union-attr]
    item = convo.state.item(first.item_id)
    assert item is not None and item.audio_end_ms == 300
    assert convo.statistics().interruptions == 1


async def test_barge_in_with_interrupt_response_off_cancels_then_truncates(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    tracker = PlaybackTracker()
    session = vad(interrupt_response=False)
    async with conversation(sim, nursery, session=session, playback=tracker) as (
        conn,
        convo,
        collector,
    ):
        await conn.create_item(user_text(STORY))
        speaking = await convo.create_response()
        first = await collector.until(events.ResponseOutputAudioDelta)
        await trio.sleep(0.3)
        tracker.played(first.item_id, nbytes=9_600)
        await conn.send_audio(SPEECH)
        interruption = await collector.until(Interruption)
        done = await convo.wait_response_done(speaking.id)
        await collector.until(events.ConversationItemTruncated)
    assert interruption.cancelled and interruption.audio_end_ms == 200
    types = client_types(sim)
    assert types.index("response.cancel") < types.index("conversation.item.truncate")
    (cancel,) = client_events(sim, events.ResponseCancel)
    assert cancel.response_id == speaking.id
    assert (done.status, done.status_details.reason) == (
        "cancelled",
        "client_cancelled",
    )  # type: ignore[union-attr]
    assert convo.statistics().errors_handled == 0


async def test_a_paced_sink_is_cut_where_the_clock_says(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    sink_send, sink_recv = trio.open_memory_channel[bytes](0)
    played: list[tuple[float, int]] = []

    async def speaker() -> None:
        async for chunk in sink_recv:
            played.append((trio.current_time(), len(chunk)))

    nursery.start_soon(speaker)
    tracker = PlaybackTracker(sink_send)
    session = vad(create_response=False)
    async with conversation(sim, nursery, session=session, playback=tracker) as (
        conn,
        convo,
        collector,
    ):
        assert convo.playback is tracker and tracker.mode == "paced"
        with pytest.raises(RuntimeError):
            tracker.played("item", nbytes=1)
        await conn.create_item(user_text(STORY))
        await convo.create_response()
        first = await collector.until(events.ResponseOutputAudioDelta)
        await trio.sleep(0.45)
        assert tracker.position_ms(first.item_id) == pytest.approx(450, abs=1)
        await conn.send_audio(SPEECH)
        interruption = await collector.until(Interruption)
        written = len(played)
        await trio.sleep(2)
        assert len(played) == written  # nothing more of the cut item is played
        stats = tracker.statistics()
    start = played[0][0]
    # Rounded down (the clock's float arithmetic may land a hair under 450 ms).
    heard_ms = (trio.current_time() - 2 - start) * 1000
    assert interruption.audio_end_ms is not None
    assert heard_ms - 1.01 <= interruption.audio_end_ms <= heard_ms
    assert (truncates(sim)[0].audio_end_ms, stats.cuts, stats.buffered_bytes) == (
        interruption.audio_end_ms,
        1,
        0,
    )


async def test_interrupt_cancels_truncates_and_is_not_repeated_by_a_barge_in(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    tracker = PlaybackTracker()
    async with conversation(sim, nursery, playback=tracker) as (conn, convo, collector):
        await conn.create_item(user_text(STORY))
        speaking = await convo.create_response()
        first = await collector.until(events.ResponseOutputAudioDelta)
        await trio.sleep(0.3)
        tracker.played(first.item_id, ms=120)
        interruption = await convo.interrupt()
        done = await convo.wait_response_done(speaking.id)
        await conn.send_audio(SPEECH)
        await collector.until(events.InputAudioBufferSpeechStopped)
    assert (interruption.reason, interruption.cancelled, interruption.audio_end_ms) == (
        "interrupt",
        True,
        120,
    )
    assert not interruption.cleared  # not a sideband
    assert done.status == "cancelled"
    assert client_types(sim).count("response.cancel") == 1
    assert len(truncates(sim)) == 1
    assert collector.of_type(Interruption) == []  # the barge-in found nothing to cut


async def test_nothing_played_nothing_truncated(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    tracker = PlaybackTracker()
    async with conversation(sim, nursery, playback=tracker) as (conn, convo, collector):
        await conn.create_item(user_text(STORY))
        await convo.create_response()
        first = await collector.until(events.ResponseOutputAudioDelta)
        await trio.sleep(0.25)
        await conn.send_audio(SPEECH)
        interruption = await collector.until(Interruption)
        item = convo.state.item(first.item_id)
        assert item is not None
    assert (interruption.audio_end_ms, interruption.played_ms) == (None, 0.0)
    assert 0 < interruption.discarded_ms <= item.audio_ms
    assert truncates(sim) == []


async def test_truncation_at_8_khz(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    session = events.SessionConfig(
        audio=events.AudioConfig(output=events.AudioOutput(format=events.AudioPCMU()))
    )
    tracker = PlaybackTracker()
    async with conversation(sim, nursery, session=session, playback=tracker) as (
        conn,
        convo,
        collector,
    ):
        await conn.create_item(user_text(STORY))
        await convo.create_response()
        first = await collector.until(events.ResponseOutputAudioDelta)
        await trio.sleep(0.5)
        tracker.played(first.item_id, ms=250.9)  # 2,007.2 samples at 8 kHz
        await conn.send_audio(SPEECH)
        interruption = await collector.until(Interruption)
        truncated = await collector.until(events.ConversationItemTruncated)
        item = convo.state.item(first.item_id)
    assert interruption.audio_end_ms == truncated.audio_end_ms == 250
    assert interruption.played_ms == 2007 / 8
    assert interruption.discarded_ms == interruption.discarded_samples / 8
    assert (
        item is not None
        and item.audio_format is not None
        and item.audio_format.rate == 8000
    )


async def test_no_barge_in_when_switched_off_or_when_idle(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    tracker = PlaybackTracker()
    session = vad(interrupt_response=False, create_response=False)
    async with conversation(
        sim, nursery, session=session, playback=tracker, barge_in=False
    ) as (conn, convo, collector):
        await conn.create_item(user_text(STORY))
        speaking = await convo.create_response()
        await collector.until(events.ResponseOutputAudioDelta)
        await conn.send_audio(SPEECH)
        await collector.until(events.InputAudioBufferSpeechStarted)
        done = await convo.wait_response_done(speaking.id)
    assert done.status == "completed"
    assert collector.of_type(Interruption) == []
    sim, tracker = RealtimeSimulator(), PlaybackTracker()
    async with conversation(sim, nursery, session=session, playback=tracker) as (
        conn,
        convo,
        collector,
    ):
        await conn.create_item(user_text("Hi"))
        response = await convo.create_response()
        await convo.wait_response_done(response.id)
        item = convo.state.items[-1]
        tracker.played(item.id, nbytes=item.audio_bytes)  # all of it was heard
        await conn.send_audio(SPEECH)
        await collector.until(events.InputAudioBufferSpeechStopped)
    assert collector.of_type(Interruption) == []
    assert "conversation.item.truncate" not in client_types(sim)


CALL_ID = "rtc_u1_9c6574da8b8a41a18da9308f4ad974ce"


def _sideband_sim() -> RealtimeSimulator:
    sim = RealtimeSimulator(realtime=True)
    sim.calls.add(
        SimCall(id=CALL_ID, kind="sip", state="accepted", session={"type": "realtime"})
    )
    return sim


async def test_interrupt_on_a_sideband_clears_the_call_in_the_documented_order(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = _sideband_sim()
    options = {"model": None, "call_id": CALL_ID}
    async with conversation(sim, nursery, connect_options=options) as (
        conn,
        convo,
        collector,
    ):
        assert conn.is_sideband
        assert convo.playback is not None and convo.playback.mode == "server"
        await conn.create_item(user_text(STORY))
        await convo.create_response()
        started = await collector.until(events.OutputAudioBufferStarted)
        t0 = trio.current_time()
        await trio.sleep(0.4)
        interruption = await convo.interrupt()
        await collector.until(events.OutputAudioBufferCleared)
        elapsed = trio.current_time() - t0
    types = [t for t in client_types(sim) if t != "conversation.item.create"]
    assert types[-3:] == [
        "response.cancel",
        "conversation.item.truncate",
        "output_audio_buffer.clear",
    ]
    assert interruption.cancelled and interruption.cleared
    assert interruption.audio_end_ms == 400
    assert elapsed >= 0.4
    assert started.response_id == interruption.response_id


async def test_a_barge_in_on_a_sideband_is_left_to_the_server(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = _sideband_sim()
    options = {"model": None, "call_id": CALL_ID}
    async with conversation(sim, nursery, connect_options=options) as (
        conn,
        convo,
        collector,
    ):
        await conn.create_item(user_text(STORY))
        speaking = await convo.create_response()
        await collector.until(events.OutputAudioBufferStarted)
        await trio.sleep(0.3)
        await conn.send_audio(SPEECH)
        interruption = await collector.until(Interruption)
        done = await convo.wait_response_done(speaking.id)
    assert (
        interruption.cancelled,
        interruption.audio_end_ms,
        interruption.cleared,
    ) == (False, None, False)
    assert interruption.played_ms == pytest.approx(300, abs=1)
    assert not {
        "response.cancel",
        "conversation.item.truncate",
        "output_audio_buffer.clear",
    } & set(client_types(sim))
    assert done.status_details.reason == "turn_detected"  # type: ignore[union-attr]


async def test_wait_played(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    # Paced: it returns when the last piece written has finished playing.
    sim = RealtimeSimulator()
    sink_send, _sink_recv = trio.open_memory_channel[bytes](100)
    tracker = PlaybackTracker(sink_send)
    async with conversation(sim, nursery, playback=tracker) as (conn, convo, collector):
        await conn.create_item(user_text("Hi"))
        response = await convo.create_response()
        first = await collector.until(events.ResponseOutputAudioDelta)
        start = trio.current_time()
        await convo.wait_response_done(response)
        await tracker.wait_played()
        item = convo.state.item(first.item_id)
        assert item is not None
        assert trio.current_time() - start == pytest.approx(
            item.audio_ms / 1000, abs=0.01
        )
        assert tracker.unplayed_bytes == 0
        assert tracker.position_ms(first.item_id) == pytest.approx(item.audio_ms)
    # Reported: it returns when the reports reach the audio received.
    reported = PlaybackTracker()
    reported.received(
        events.ResponseOutputAudioDelta(
            event_id="e",
            response_id="r",
            item_id="a",
            output_index=0,
            content_index=0,
            delta="AAAA" * 1200,  # 3,600 bytes
        )
    )
    async with trio.open_nursery() as inner:
        inner.start_soon(reported.wait_played)
        await trio.testing.wait_all_tasks_blocked()
        reported.played("a", nbytes=2_000)
        await trio.testing.wait_all_tasks_blocked()
        assert len(inner.child_tasks) == 1
        reported.played("a", ms=50)
    assert reported.unplayed_bytes == 0
    assert repr(reported) == "<PlaybackTracker reported>"
    with pytest.raises(ValueError, match="nbytes or ms"):
        reported.played("a")
