"""What ``realtime-trio demo`` records of its conversation, and the report it prints."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

import attrs
import trio

from .. import events
from .._agent.state import ConversationState
from .._audio.b64 import decode_audio
from .._audio.formats import PCM16_24K, duration_ms
from .._audio.wav import WavWriter

SYNTHETIC = "synthetic audio (tones shaped like speech, not speech)"


@attrs.define
class Timeline:
    """When things happened, on the trio clock (seconds)."""

    start: float = 0.0
    speech_sent: float | None = None
    speech_started: float | None = None
    speech_stopped: float | None = None
    tool_call: float | None = None
    tool_output_sent: float | None = None
    first_audio: float | None = None
    response_done: float | None = None

    def rows(self) -> list[tuple[str, float | None]]:
        def ms(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else (b - a) * 1000

        return [
            (
                "end of speech sent -> speech_stopped",
                ms(self.speech_sent, self.speech_stopped),
            ),
            ("speech_stopped -> tool call", ms(self.speech_stopped, self.tool_call)),
            (
                "tool output sent -> first audio",
                ms(self.tool_output_sent, self.first_audio),
            ),
            (
                "end of speech sent -> first audio",
                ms(self.speech_sent, self.first_audio),
            ),
            ("first audio -> response.done", ms(self.first_audio, self.response_done)),
        ]


@attrs.define
class DemoResult:
    """What the conversation produced."""

    user_transcript: str = ""
    assistant_transcript: str = ""
    tool_calls: list[tuple[str, str, str]] = attrs.Factory(list)
    audio_bytes: int = 0
    timeline: Timeline = attrs.Factory(Timeline)
    simulated: bool = False
    """Whether the built-in simulator answered (its voice is synthetic)."""


def watch(
    event: object,
    state: ConversationState,
    result: DemoResult,
    wav: WavWriter | None,
    say: Callable[[str], None],
) -> bool:
    """Note one event of the conversation; return True once the answer is done."""
    now = trio.current_time()
    timeline = result.timeline
    match event:
        case events.ResponseOutputAudioDelta(delta=b64):
            if timeline.first_audio is None:
                timeline.first_audio = now
            audio = decode_audio(b64)
            result.audio_bytes += len(audio)
            if wav is not None:
                wav.write(audio)
        case events.InputAudioBufferSpeechStarted(audio_start_ms=ms):
            timeline.speech_started = now
            say(f"  [vad] speech started at {ms} ms")
        case events.InputAudioBufferSpeechStopped(audio_end_ms=ms):
            timeline.speech_stopped = now
            say(f"  [vad] speech stopped at {ms} ms")
        case events.ConversationItemInputAudioTranscriptionCompleted(transcript=text):
            result.user_transcript = text
            say(f"user: {text}")
        case events.ResponseFunctionCallArgumentsDone():
            timeline.tool_call = now
        case events.ConversationItemAdded(
            item=events.FunctionCallOutputItem(call_id=call_id, output=output)
        ):
            # The layer ran the tool and sent its output; it asks for the answer next.
            call = state.call(call_id)
            name = call.name if call is not None and call.name else "?"
            arguments = call.arguments if call is not None and call.arguments else ""
            result.tool_calls.append((name, arguments, output))
            timeline.tool_output_sent = now
            say(f"  [tool] {name}({arguments}) -> {output}")
        case events.ResponseOutputAudioTranscriptDone(transcript=text):
            result.assistant_transcript = text
            say(f"assistant: {text}")
        case events.ResponseDone(response=response):
            calls = any(
                isinstance(item, events.FunctionCallItem)
                for item in (
                    response.output if isinstance(response.output, tuple) else ()
                )
            )
            if calls:
                return False  # the layer answers the call and asks again
            if not result.tool_calls:
                say(f"  [response {response.status} without a tool call]")
                return True
            timeline.response_done = now
            say(f"  [response {response.status}]")
            return True
        case events.ErrorEvent(error=error):
            say(f"  [server error {error.code}: {error.message}]")
    return False


def print_report(result: DemoResult, wav_path: str | None, out: TextIO) -> None:
    """Print the transcript and the latency table."""
    seconds = duration_ms(PCM16_24K, result.audio_bytes) / 1000
    print("", file=out)
    print("transcript", file=out)
    print(f"  user:      {result.user_transcript or '(no transcript)'}", file=out)
    for name, arguments, output in result.tool_calls:
        print(f"  tool:      {name}({arguments}) -> {output}", file=out)
    print(f"  assistant: {result.assistant_transcript or '(no transcript)'}", file=out)
    if wav_path:
        print(f"\nassistant audio: {seconds:.2f} s written to {wav_path}", file=out)
        if result.simulated:
            print(f"  the simulator's voice: {SYNTHETIC}", file=out)
    print("\nlatency", file=out)
    for label, value in result.timeline.rows():
        shown = "-" if value is None else f"{value:8.1f} ms"
        print(f"  {label:<40} {shown}", file=out)
