"""A first voice conversation with realtime_trio, against the built-in simulator.

The program of the tutorial "A first voice conversation"
(docs/tutorial/first_conversation.rst). It writes question.wav and answer.wav
in the current directory:

    python first_conversation.py
"""

from __future__ import annotations

import trio

import realtime_trio
from realtime_trio import SessionConfig, events
from realtime_trio.audio import (
    AudioFormat,
    WavWriter,
    decode_audio,
    read_wav,
    write_wav,
)
from realtime_trio.testing import (
    Rule,
    Say,
    Scenario,
    open_simulator,
    silence,
    synthesize_speech,
)

QUESTION = "What is the capital of France?"

# The simulator has no speech recognizer and no model: the scenario says
# what it "hears" in your audio and what it answers.
SCENARIO = Scenario(
    transcripts=[QUESTION],
    rules=[Rule(text="capital", steps=[Say(text="The capital of France is Paris.")])],
)

SESSION = SessionConfig(
    instructions="You are a friendly voice assistant. Answer in one sentence.",
    audio=events.AudioConfig(
        input=events.AudioInput(
            transcription=events.AudioTranscription(model="gpt-4o-mini-transcribe"),
            turn_detection=events.ServerVad(silence_duration_ms=500),
        ),
        output=events.AudioOutput(voice="marin"),
    ),
)


def record_question(path: str) -> None:
    """Write the question as a WAV file, in the simulator's voice."""
    write_wav(path, synthesize_speech(QUESTION) + silence(1_500), 24_000)


async def speak(sender: realtime_trio.AudioSender, pcm: bytes, rate: int) -> None:
    """Send audio in 20 ms chunks at real-time pace, as a microphone would."""
    chunk = rate * 2 // 50  # 20 ms of 16-bit mono samples
    with sender:
        for start in range(0, len(pcm), chunk):
            await sender.send(pcm[start : start + chunk])
            await trio.sleep(0.02)


async def converse(
    conn: realtime_trio.RealtimeConnection, pcm: bytes, rate: int
) -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(speak, conn.audio_sender(), pcm, rate)
        with WavWriter("answer.wav", 24_000) as answer:
            async for event in conn:
                match event:
                    case events.InputAudioBufferSpeechStarted(audio_start_ms=ms):
                        print(f"[speech started at {ms} ms]")
                    case events.InputAudioBufferSpeechStopped(audio_end_ms=ms):
                        print(f"[speech stopped at {ms} ms]")
                    case events.ConversationItemInputAudioTranscriptionCompleted(
                        transcript=text
                    ):
                        print(f"you: {text}")
                    case events.ResponseOutputAudioTranscriptDelta(delta=text):
                        print(text, end="", flush=True)
                    case events.ResponseOutputAudioDelta(delta=b64):
                        answer.write(decode_audio(b64))
                    case events.ErrorEvent(error=error):
                        print(f"[server error {error.code}: {error.message}]")
                    case events.ResponseDone(response=response):
                        print(f"\n[response {response.status}]")
                        break
            print(
                f"[wrote {answer.frames_written / 24_000:.1f} s of audio to answer.wav]"
            )
        nursery.cancel_scope.cancel()  # stop the microphone


async def main() -> None:
    record_question("question.wav")
    clip = read_wav("question.wav", mix_to_mono=True)
    async with open_simulator(scenario=SCENARIO) as sim:  # noqa: SIM117
        async with realtime_trio.open_realtime(
            model="gpt-realtime-2",
            url=sim.url,
            api_key="sk-test",
            session=SESSION,
            input_audio_format=AudioFormat.pcm16(clip.rate),
        ) as conn:
            with trio.fail_after(30):
                await converse(conn, clip.pcm, clip.rate)


if __name__ == "__main__":
    trio.run(main)
