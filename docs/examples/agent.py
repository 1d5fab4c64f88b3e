"""A complete voice agent on the conversation layer.

It listens (server voice activity detection), answers with its voice, looks
the weather up with a tool, plays its answers in real time, stops talking
when the user talks over it, and keeps the conversation's state.

The microphone and the speaker are stand-ins so that it runs anywhere: the
microphone "says" two sentences in synthetic speech (tones shaped like
speech, which the simulator hears as the scripted sentences), and the speaker
writes what it plays to agent.wav. Replace ``microphone`` and ``speaker``
with your sound device.

With no OPENAI_API_KEY it talks to the built-in simulator (in real time);
with one, to the real API (which hears tones, not words).

    python docs/examples/agent.py
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from typing import Any

import trio

import realtime_trio
from realtime_trio import Interruption, PlaybackTracker, events, function_tool
from realtime_trio.audio import WavWriter
from realtime_trio.testing import (
    CallTool,
    Rule,
    Say,
    Scenario,
    open_simulator,
    silence,
    synthesize_speech,
)

QUESTION = "What is the weather in Paris?"
GOODBYE = "Thanks, that is all. Goodbye!"
FORECAST = "It is sunny and twenty two degrees in Paris, a fine day for a walk along the Seine."

SESSION = realtime_trio.SessionConfig(
    instructions="You are a friendly voice assistant. Use get_weather for the weather.",
    audio=events.AudioConfig(
        input=events.AudioInput(
            transcription=events.AudioTranscription(model="gpt-4o-mini-transcribe"),
            turn_detection=events.ServerVad(silence_duration_ms=500),
        ),
        output=events.AudioOutput(voice="marin"),
    ),
)


@function_tool(time_limit=10)
async def get_weather(city: str) -> dict[str, Any]:
    """The current weather in a city.

    Args:
        city: The city's name.
    """
    await trio.sleep(0.2)  # a real agent asks a weather service here
    return {"city": city, "sky": "sunny", "temperature_c": 22}


async def microphone(
    conn: realtime_trio.RealtimeConnection, barge_in: trio.Event
) -> None:
    """Say the question; then, once the answer has been playing a while, talk over it."""
    with conn.audio_sender() as mic:
        await mic.send(synthesize_speech(QUESTION) + silence(800))
        await barge_in.wait()
        await mic.send(synthesize_speech(GOODBYE) + silence(800))
        while True:  # an open microphone sends silence
            await mic.send(silence(100))
            await trio.sleep(0.1)


async def speaker(audio: trio.MemoryReceiveChannel[bytes]) -> None:
    """Play what the tracker writes, when it writes it (here: into agent.wav)."""
    with WavWriter("agent.wav", 24_000) as wav:
        async for pcm in audio:
            wav.write(pcm)


async def agent(
    conn: realtime_trio.RealtimeConnection,
) -> realtime_trio.ConversationState:
    to_speaker, from_tracker = trio.open_memory_channel[bytes](0)
    tracker = PlaybackTracker(to_speaker)
    barge_in = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(speaker, from_tracker)
        async with realtime_trio.open_conversation(
            conn, tools=[get_weather], playback=tracker
        ) as convo:
            nursery.start_soon(microphone, conn, barge_in)
            said_goodbye = False
            async for event in convo:
                match event:
                    case events.ConversationItemInputAudioTranscriptionCompleted(
                        transcript=text
                    ):
                        print(f"user: {text}")
                        said_goodbye = "goodbye" in text.lower()
                    case events.ConversationItemAdded(
                        item=events.FunctionCallOutputItem(
                            call_id=call_id, output=output
                        )
                    ):
                        call = convo.state.call(call_id)
                        name = call.name if call is not None else "?"
                        print(f"[tool] {name} -> {output}")
                    case events.ResponseOutputAudioDelta(item_id=item_id):
                        if (
                            convo.statistics().follow_ups
                            and tracker.position_ms(item_id) > 1500
                        ):
                            barge_in.set()  # the user talks over the forecast
                    case Interruption(played_ms=played, audio_end_ms=end):
                        print(
                            f"[barge-in: stopped after {played / 1000:.1f} s; truncated at {end} ms]"
                        )
                    case events.ResponseOutputAudioTranscriptDone(transcript=text):
                        print(f"assistant: {text}")
                    case events.ResponseDone(response=response) if said_goodbye:
                        if response.status == "completed":
                            # Let the goodbye finish playing, then hang up.
                            await tracker.wait_played()
                            break
                    case events.ErrorEvent(error=error):
                        print(f"[server error {error.code}: {error.message}]")
        nursery.cancel_scope.cancel()
    return convo.state


def scenario() -> Scenario:
    """What the simulated model hears and says."""
    return Scenario(
        transcripts=[QUESTION, GOODBYE],
        rules=[
            Rule(
                text="weather",
                steps=[CallTool(name="get_weather", arguments={"city": "Paris"})],
            ),
            Rule(tool="get_weather", steps=[Say(text=FORECAST)]),
            Rule(text="goodbye", steps=[Say(text="Goodbye!")]),
        ],
    )


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            url, key = None, None
        else:
            sim = await stack.enter_async_context(
                open_simulator(scenario=scenario(), realtime=True)
            )
            url, key = sim.url, "sk-local"
        conn = await stack.enter_async_context(
            realtime_trio.open_realtime(
                model="gpt-realtime-2", url=url, api_key=key, session=SESSION
            )
        )
        with trio.fail_after(60):
            state = await agent(conn)
    print("conversation:")
    for role, text in state.transcript():
        print(f"  {role}: {text}")
    heard = [i for i in state.items if i.audio_end_ms is not None]
    for item in heard:
        print(
            f"  (the forecast was cut at {item.audio_end_ms} ms of {item.audio_ms:.0f} ms received)"
        )
    print(
        f"usage: {state.usage.total_tokens} tokens, {state.usage.output_audio_tokens} of them audio out"
    )


if __name__ == "__main__":
    trio.run(main)
