"""Turn metrics through the conversation layer, against the simulator in memory."""

from __future__ import annotations

import math

import pytest
import trio
import trio.testing

from realtime_trio import PlaybackTracker, RealtimeConversation, TurnMetrics, events
from realtime_trio.testing import RealtimeSimulator, silence, synthesize_speech, tone
from tests.agent.sim import conversation, user_text, vad
from tests.helpers.client_sim import NO_VAD

FRAME = 960  # 20 ms of PCM16 at 24 kHz


async def stream(convo: RealtimeConversation, pcm: bytes) -> None:
    """Send ``pcm`` in 20 ms pieces, each when it would have been captured."""
    for start in range(0, len(pcm), FRAME):
        await convo.send_audio(pcm[start : start + FRAME])
        await trio.sleep(0.02)


def assert_ordered(turn: TurnMetrics) -> None:
    assert turn.user_audio_end is not None
    assert turn.speech_stopped is not None and turn.committed is not None
    assert turn.response_created is not None and turn.first_audio_delta is not None
    assert turn.response_done is not None
    assert turn.user_audio_end < turn.speech_stopped <= turn.committed
    assert turn.committed <= turn.response_created <= turn.first_audio_delta
    assert turn.first_audio_delta <= turn.response_done


async def test_server_vad_turns_are_measured_in_order(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(time_to_first_audio=0.25)
    speech = synthesize_speech("Hello there.")
    session = vad(silence_duration_ms=300)
    async with conversation(sim, nursery, session=session) as (_, convo, _c):
        assert convo.metrics.connect_seconds is not None
        assert convo.metrics.session_update_seconds is not None
        for _ in range(2):
            await stream(convo, speech + silence(600))
            with trio.fail_after(10):
                turn = await convo.metrics.next_turn()
            assert_ordered(turn)
        turns = convo.metrics.turns
    assert [t.index for t in turns] == [0, 1]
    for turn in turns:
        assert not (turn.censored or turn.premature or turn.interrupted or turn.manual)
        # The simulator's audio_end_ms is the end of speech plus its silence
        # window: sent 300 ms (to a 20 ms piece) after the last audible piece.
        assert turn.endpointing == pytest.approx(0.3, abs=0.021)
        assert turn.audio_end_ms is not None and turn.audio_start_ms is not None
        # The simulator waits time_to_first_audio before the first delta.
        assert turn.generation is not None and turn.generation >= 0.25 - 1e-9
        ttfa = turn.time_to_first_audio
        assert ttfa == pytest.approx(
            turn.endpointing + turn.network + turn.generation  # type: ignore[operator]
        )
        assert turn.status == "completed" and len(turn.response_ids) == 1
    summary = convo.metrics.summary()
    assert summary["time_to_first_audio"].n == 2
    assert summary["time_to_first_audio"].p90 is None  # fewer than 10 turns


async def test_manual_commit_has_no_server_endpointing(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with conversation(sim, nursery, session=NO_VAD) as (conn, convo, _c):
        await stream(convo, tone(300))
        await conn.commit_audio()
        await convo.create_response()
        with trio.fail_after(10):
            turn = await convo.metrics.next_turn()
    assert turn.manual and turn.speech_stopped is None
    assert turn.endpointing == 0.0  # the last piece sent was the last audible one
    assert turn.network is not None and turn.network >= 0
    assert turn.committed is not None and turn.response_created is not None
    assert turn.committed <= turn.response_created <= turn.first_audio_delta  # type: ignore[operator]


async def test_text_turn_has_no_user_audio_stages(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with conversation(sim, nursery) as (conn, convo, _c):
        await conn.create_item(user_text("Hi"))
        await convo.create_response()
        with trio.fail_after(10):
            turn = await convo.metrics.next_turn()
    assert turn.user_audio_end is None and turn.time_to_first_audio is None
    assert turn.first_audible is not None and turn.first_transcript_delta is not None
    assert turn.stages()["time_to_first_audio"] == ()


async def test_barge_in_marks_the_turn_interrupted(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    tracker = PlaybackTracker()
    async with conversation(sim, nursery, playback=tracker) as (conn, convo, coll):
        await conn.create_item(user_text("Tell me a long story about the sea"))
        await convo.create_response()
        await coll.until(events.ResponseOutputAudioDelta)
        await trio.sleep(0.3)
        await stream(convo, tone(400) + silence(400))
        with trio.fail_after(10):
            turn = await convo.metrics.next_turn()
    assert turn.interrupted and turn.status == "cancelled"
    assert turn.interruption_settle is not None and turn.interruption_settle >= 0
    assert turn.discarded_audio > 0


async def test_the_end_of_the_connection_censors_open_turns(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(time_to_first_audio=60)
    async with conversation(sim, nursery, session=vad()) as (_, convo, _c):
        await stream(convo, tone(300) + silence(400))
        with trio.move_on_after(5):
            await convo.metrics.next_turn()
        (turn,) = convo.metrics.censor_open()
    assert turn.censored and turn.first_audio_delta is None
    assert turn.speech_stopped is not None
    summary = convo.metrics.summary()
    assert summary["time_to_first_audio"].censored == 1
    assert math.isinf(summary["time_to_first_audio"].p50)  # type: ignore[arg-type]
