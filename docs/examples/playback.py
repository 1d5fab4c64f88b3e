"""Playback and barge-in: play the answer in real time, and cut it where the user spoke.

A PlaybackTracker writes the assistant's audio to a "speaker" (here a task
that writes it to speaker.wav) at real-time pace. One second into the
answer the user talks over it: the layer stops the playback, and truncates
the answer where it was cut, so the model's context holds only what was heard.

With no OPENAI_API_KEY it talks to the built-in simulator (in real time);
with one, to the real API.

    python docs/examples/playback.py
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack

import trio

import realtime_trio
from realtime_trio import Interruption, PlaybackTracker, events
from realtime_trio.audio import WavWriter
from realtime_trio.testing import open_simulator, silence, synthesize_speech


async def speaker(audio: trio.MemoryReceiveChannel[bytes], path: str) -> None:
    """Play what the tracker sends (a real app writes to its sound device)."""
    with WavWriter(path, 24_000) as wav:
        async for pcm in audio:
            wav.write(pcm)


async def talk(conn: realtime_trio.RealtimeConnection) -> None:
    to_speaker, from_tracker = trio.open_memory_channel[bytes](0)
    tracker = PlaybackTracker(to_speaker)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(speaker, from_tracker, "speaker.wav")
        async with realtime_trio.open_conversation(conn, playback=tracker) as convo:
            question = "Tell me a long story about the sea."
            await conn.create_item(
                events.MessageItem(
                    role="user", content=(events.InputText(text=question),)
                )
            )
            answer = await convo.create_response()
            spoke = False
            async for event in convo:
                match event:
                    case events.ResponseOutputAudioDelta(item_id=item_id) if (
                        not spoke and tracker.position_ms(item_id) >= 1000
                    ):
                        # One second in, the user talks over the answer.
                        spoke = True
                        await conn.send_audio(synthesize_speech("Stop!") + silence(600))
                    case Interruption() as cut:
                        print(
                            f"[barge-in: played {cut.played_ms:.0f} ms of the answer]"
                        )
                        print(f"[truncated it at {cut.audio_end_ms} ms]")
                        print(f"[discarded {cut.discarded_ms:.0f} ms never played]")
                    case events.ResponseDone(response=response) if (
                        response.id == answer.id
                    ):
                        details = response.status_details
                        reason = getattr(details, "reason", None)
                        print(f"[the answer was {response.status}: {reason}]")
                    case events.ConversationItemTruncated(item_id=item_id):
                        item = convo.state.item(item_id)
                        assert item is not None
                        print(f"[the server kept {item.audio_end_ms} ms of it]")
                        break
        nursery.cancel_scope.cancel()


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            url, key = None, None
        else:
            sim = await stack.enter_async_context(open_simulator(realtime=True))
            url, key = sim.url, "sk-local"
        conn = await stack.enter_async_context(
            realtime_trio.open_realtime(model="gpt-realtime-2", url=url, api_key=key)
        )
        with trio.fail_after(60):
            await talk(conn)


if __name__ == "__main__":
    trio.run(main)
