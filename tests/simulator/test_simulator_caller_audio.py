"""A simulated call's caller speaks: the audio reaches the call's session, not through the sideband.

The sideband connects over memory streams, so the mock clock runs the call
(paced in real time) without waiting.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from realtime_trio import RealtimeConnection, events, open_realtime
from realtime_trio.testing import (
    RealtimeSimulator,
    Rule,
    Say,
    Scenario,
    silence,
    synthesize_speech,
)

CHUNK = 960  # 20 ms of PCM16 at 24 kHz
STORY = "Once upon a time there was a very long story that went on and on. " * 4
SCENARIO = Scenario(
    rules=[
        Rule(text="balance", steps=[Say(text="Your balance is 42 euros.")]),
        Rule(text="story", steps=[Say(text=STORY)]),
        Rule(text="stop", steps=[Say(text="Okay, I stop.")]),
    ]
)
TRANSCRIBED = {
    "type": "realtime",
    "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
}


@asynccontextmanager
async def sideband(
    sim: RealtimeSimulator, session: Mapping[str, Any]
) -> AsyncIterator[tuple[str, RealtimeConnection]]:
    """An accepted SIP call (accepted directly in the registry) and its sideband."""
    call_id = await sim.place_sip_call(None)
    call = sim.calls[call_id]
    call.session = dict(session)
    call.move("accepted")
    async with trio.open_nursery() as nursery:
        async with open_realtime(
            call_id=call_id,
            api_key="sk-test",
            url="ws://simulator/v1/realtime",
            connect_stream=functools.partial(sim.open_memory_stream, nursery),
        ) as conn:
            yield call_id, conn
        nursery.cancel_scope.cancel()


async def speak(sim: RealtimeSimulator, call_id: str, pcm: bytes) -> None:
    """Send ``pcm`` as the caller's voice, 20 ms every 20 ms."""
    deadline = trio.current_time()
    for start in range(0, len(pcm), CHUNK):
        await sim.send_caller_audio(call_id, pcm[start : start + CHUNK])
        deadline += 0.02
        await trio.sleep_until(deadline)


async def events_until(
    conn: RealtimeConnection, done: type, *, count: int = 1
) -> list[Any]:
    seen: list[Any] = []
    with trio.fail_after(30):
        async for event in conn:
            seen.append(event)
            if isinstance(event, done):
                count -= 1
                if not count:
                    return seen
    raise AssertionError(f"the connection ended: {seen}")  # pragma: no cover


async def test_the_callers_speech_is_a_turn_with_vad_transcription_and_a_reply(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sim = RealtimeSimulator(scenario=SCENARIO, realtime=True)
    async with sideband(sim, TRANSCRIBED) as (call_id, conn):
        assert sim.hear("What is my balance?")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                speak,
                sim,
                call_id,
                synthesize_speech("What is my balance?") + silence(1000),
            )
            seen = await events_until(conn, events.ResponseDone)
    types = [type(e).TYPE for e in seen]
    order = [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.input_audio_transcription.completed",
        "response.created",
        "output_audio_buffer.started",
        "response.done",
    ]
    assert [t for t in types if t in order] == order
    (transcribed,) = [
        e
        for e in seen
        if isinstance(e, events.ConversationItemInputAudioTranscriptionCompleted)
    ]
    assert transcribed.transcript == "What is my balance?"
    (done,) = [e for e in seen if isinstance(e, events.ResponseDone)]
    assert done.response.status == "completed"
    transcript = "".join(
        e.delta
        for e in seen
        if isinstance(e, events.ResponseOutputAudioTranscriptDelta)
    )
    assert transcript == "Your balance is 42 euros."
    (record,) = sim.connections
    assert not any(
        isinstance(e, events.InputAudioBufferAppend) for e in record.client_events
    )  # the audio did not come through the sideband


async def test_the_caller_barging_in_cuts_the_call_audio_where_it_was_heard(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sim = RealtimeSimulator(scenario=SCENARIO, realtime=True)
    async with sideband(sim, TRANSCRIBED) as (call_id, conn):
        sim.hear("Tell me a story.")
        await speak(sim, call_id, synthesize_speech("Tell me a story."))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(speak, sim, call_id, silence(1000))
            seen = await events_until(conn, events.OutputAudioBufferStarted)
        story = seen[-1].response_id
        await trio.sleep(1.5)  # the caller hears 1.5 s of the story or so
        heard, audible = sim.caller_heard(call_id, story) or (0.0, 0.0)
        assert 1.0 < heard < audible
        sim.hear("Stop.")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                speak, sim, call_id, synthesize_speech("Stop.") + silence(1000)
            )
            seen = await events_until(conn, events.ResponseDone, count=2)
        final = sim.caller_heard(call_id, story)
    types = [type(e).TYPE for e in seen]
    assert types.index("input_audio_buffer.speech_started") < types.index(
        "output_audio_buffer.cleared"
    )
    cancelled = next(e for e in seen if isinstance(e, events.ResponseDone))
    assert cancelled.response.id == story
    assert cancelled.response.status == "cancelled"
    assert cancelled.response.status_details.reason == "turn_detected"
    (truncated,) = [e for e in seen if isinstance(e, events.ConversationItemTruncated)]
    assert types.index("output_audio_buffer.cleared") < types.index(
        "conversation.item.truncated"
    )
    assert final is not None and final[0] == final[1]  # nothing more to hear
    assert heard * 1000 < truncated.audio_end_ms <= final[0] * 1000
    assert truncated.audio_end_ms == int(final[0] * 1000)
    reply = seen[-1]
    assert reply.response.status == "completed" and reply.response.id != story


async def test_g711_sessions_take_the_callers_voice_at_8_khz(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = {
        "type": "realtime",
        "audio": {"input": {"format": {"type": "audio/pcmu"}}},
    }
    sim = RealtimeSimulator(realtime=True)
    async with (
        sideband(sim, session) as (call_id, conn),
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(
            speak, sim, call_id, synthesize_speech("Hello there.") + silence(1000)
        )
        seen = await events_until(conn, events.InputAudioBufferCommitted)
    started, stopped = [
        e
        for e in seen
        if isinstance(
            e,
            events.InputAudioBufferSpeechStarted | events.InputAudioBufferSpeechStopped,
        )
    ]
    spoken_ms = len(synthesize_speech("Hello there.")) / 48
    # At 8 bytes a millisecond: PCM16 taken as G.711 bytes would last 6 times longer.
    assert spoken_ms <= stopped.audio_end_ms - started.audio_start_ms <= spoken_ms + 300


async def test_caller_audio_needs_a_known_call_and_is_lost_without_a_sideband() -> None:
    sim = RealtimeSimulator()
    with pytest.raises(KeyError):
        await sim.send_caller_audio("rtc_nope", silence(20))
    with pytest.raises(KeyError):
        sim.caller_heard("rtc_nope", "resp_nope")
    call_id = await sim.place_sip_call(None)
    await sim.send_caller_audio(call_id, synthesize_speech("Nobody hears me."))
    assert sim.caller_heard(call_id, "resp_nope") is None


async def test_a_barge_in_on_an_answer_still_playing_clears_and_truncates_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Not paced: the story arrives at once, and then plays to the caller in real time.
    sim = RealtimeSimulator(scenario=SCENARIO, realtime=False)
    async with sideband(sim, TRANSCRIBED) as (call_id, conn):
        sim.hear("Tell me a story.")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                speak,
                sim,
                call_id,
                synthesize_speech("Tell me a story.") + silence(600),
            )
            seen = await events_until(conn, events.ResponseDone)
        story = seen[-1].response
        assert story.status == "completed"
        heard, audible = sim.caller_heard(call_id, story.id) or (0.0, 0.0)
        assert heard < 1.0 < audible
        await speak(sim, call_id, synthesize_speech("Stop."))
        seen = await events_until(conn, events.ConversationItemTruncated)
        final = sim.caller_heard(call_id, story.id)
    types = [type(e).TYPE for e in seen]
    assert types[-2:] == ["output_audio_buffer.cleared", "conversation.item.truncated"]
    assert "input_audio_buffer.speech_started" in types
    assert final is not None and final[0] == final[1] < audible
    assert seen[-1].audio_end_ms == int(final[0] * 1000)
