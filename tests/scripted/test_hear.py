"""`RealtimeSimulator.hear`: what the simulator hears a connection's next utterance say."""

from __future__ import annotations

import functools

import trio
import trio.testing

import realtime_trio
from realtime_trio import events
from realtime_trio.testing import (
    RealtimeSimulator,
    Rule,
    Say,
    Scenario,
    silence,
    synthesize_speech,
)


async def test_hear_names_the_next_audio_turn(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(
        scenario=Scenario(
            rules=[Rule(text="lighthouse", steps=[Say(text="Heard it.")])]
        )
    )
    assert not sim.hear("nobody is connected")
    async with realtime_trio.open_realtime(
        model="gpt-realtime",
        url="ws://simulator/v1/realtime",
        api_key="sk-test",
        connect_stream=functools.partial(sim.open_memory_stream, nursery),
    ) as conn:
        assert sim.hear("Tell me about the lighthouse")
        assert not sim.hear("no such connection", connection=7)
        await conn.send_audio(
            synthesize_speech("whatever the tones say") + silence(1000)
        )
        with trio.fail_after(30):
            async for event in conn:
                if isinstance(event, events.ResponseOutputAudioTranscriptDone):
                    assert event.transcript == "Heard it."
                    break
    (record,) = sim.connections
    done = record.events_of_type(
        "conversation.item.input_audio_transcription.completed"
    )
    assert [e.transcript for e in done] in ([], ["Tell me about the lighthouse"])  # type: ignore[union-attr]
