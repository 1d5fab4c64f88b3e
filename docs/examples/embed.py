"""Embedding a Realtime connection in a trio application.

One task streams microphone-like audio, another consumes events, and a cancel
scope bounds the whole conversation. With no OPENAI_API_KEY it talks to the
built-in simulator; with one, to the real API.

    python docs/examples/embed.py
"""

from __future__ import annotations

import math
import os
import struct
from contextlib import AsyncExitStack

import trio

import realtime_trio
from realtime_trio import SessionConfig, events
from realtime_trio.audio import decode_audio
from realtime_trio.testing import open_simulator

RATE = 24_000


def speech_like(seconds: float) -> bytes:
    """A warbling tone loud enough for voice activity detection, then silence."""
    samples = []
    for n in range(int(RATE * seconds)):
        t = n / RATE
        samples.append(
            int(6000 * math.sin(2 * math.pi * (180 + 40 * math.sin(7 * t)) * t))
        )
    samples += [0] * int(RATE * 0.8)
    return struct.pack(f"<{len(samples)}h", *samples)


async def microphone(sender: realtime_trio.AudioSender, pcm: bytes) -> None:
    """Send audio in 20 ms chunks at real-time pace, as a microphone would."""
    chunk = RATE * 2 // 50
    with sender:
        for start in range(0, len(pcm), chunk):
            await sender.send(pcm[start : start + chunk])
            await trio.sleep(0.02)


async def conversation(conn: realtime_trio.RealtimeConnection) -> None:
    heard = bytearray()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(microphone, conn.audio_sender(), speech_like(1.2))
        async for event in conn:
            match event:
                case events.InputAudioBufferSpeechStarted(audio_start_ms=ms):
                    print(f"[speech started at {ms} ms]")
                case events.ResponseOutputAudioTranscriptDelta(delta=text):
                    print(text, end="", flush=True)
                case events.ResponseOutputAudioDelta(delta=b64):
                    heard += decode_audio(b64)
                case events.ResponseDone(response=response):
                    print(
                        f"\n[response {response.status}; {len(heard) / (2 * RATE):.2f} s of audio]"
                    )
                    break
                case events.ErrorEvent(error=error):
                    print(f"[server error {error.code}: {error.message}]")


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            url, key = None, None
        else:
            sim = await stack.enter_async_context(open_simulator())
            url, key = sim.url, "sk-local"
        conn = await stack.enter_async_context(
            realtime_trio.open_realtime(
                model="gpt-realtime-2",
                url=url,
                api_key=key,
                session=SessionConfig(instructions="Answer in one short sentence."),
            )
        )
        with trio.move_on_after(30) as scope:
            await conversation(conn)
        if scope.cancelled_caught:
            print("[gave up after 30 s]")


if __name__ == "__main__":
    trio.run(main)
