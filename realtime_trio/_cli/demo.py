"""``realtime-trio demo``: a scripted voice conversation, end to end.

With no API key the demo starts the built-in simulator in this process (at
real-time pace) and talks to it; with ``--url``/``--api-key`` (or
``OPENAI_API_KEY``) the same script talks to the real API. Either way it goes
through the public API only: `open_realtime`, the event stream, `send_audio`
and the correlated helpers.

The script: configure the session (server VAD, input transcription, one
function tool), stream a spoken question at real-time pace, let voice
activity detection take the turn, answer the model's tool call, receive the
spoken answer with its transcript, write the assistant audio to a WAV file,
and print a transcript and a latency table.

The question is synthetic audio (the simulator's voice: tones shaped like
speech, not speech), and so is the simulator's answer; the demo says so.

Mistakes on the command line are reported before anything starts, as one
line naming the flag (`realtime_trio._cli.errors`): a ``--url`` that is not
``ws://`` or ``wss://``, an ``--out`` that cannot be written, a ``--timeout``
that is not positive, an API key that cannot go in a header (with
``--api-key`` or ``OPENAI_API_KEY`` named, never the key).
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import json
import os
import sys
import urllib.parse
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any, TextIO

import attrs
import trio

from .. import events
from .._audio.b64 import decode_audio
from .._audio.formats import PCM16_24K, duration_ms
from .._audio.wav import WavWriter
from .._client.connection import RealtimeConnection
from .._client.exceptions import ConnectionBroken, ConnectionClosed
from .._client.open import open_realtime
from .._client.transport import DEFAULT_URL
from .._client.unwrap import open_hidden_nursery
from .._core.headers import InvalidHeaderError, check_header_value
from .._core.session_models import (
    AudioConfig,
    AudioInput,
    AudioOutput,
    AudioTranscription,
    FunctionTool,
    ServerVad,
    SessionConfig,
)
from .errors import CommandFailed, UsageError
from .flags import positive_seconds, websocket_url

QUESTION = "What is the weather like in Paris today?"
ANSWER = "It is sunny and twenty two degrees in Paris today, a fine day for a walk along the Seine."
INSTRUCTIONS = (
    "You are a concise voice assistant. Use get_weather for weather questions."
)
SYNTHETIC = "synthetic audio (tones shaped like speech, not speech)"
#: The key sent to a simulator on this machine when the user has none.
LOCAL_KEY = "sk-local-demo"

WEATHER_TOOL = FunctionTool(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)


def get_weather(city: str) -> dict[str, Any]:
    """The demo's tool: a canned forecast (a real app would call a service)."""
    return {"city": city, "condition": "sunny", "temperature_c": 22}


def demo_session() -> SessionConfig:
    """The session the demo configures: audio in and out, server VAD, one tool."""
    return SessionConfig(
        instructions=INSTRUCTIONS,
        output_modalities=("audio",),
        tools=(WEATHER_TOOL,),
        tool_choice="auto",
        audio=AudioConfig(
            input=AudioInput(
                transcription=AudioTranscription(model="gpt-4o-mini-transcribe"),
                turn_detection=ServerVad(
                    threshold=0.5,
                    prefix_padding_ms=300,
                    silence_duration_ms=500,
                    create_response=True,
                    interrupt_response=True,
                ),
            ),
            output=AudioOutput(voice="marin"),
        ),
    )


def demo_scenario() -> Any:
    """What the simulated model does: call get_weather, then answer with its result."""
    from ..testing import CallTool, Rule, Say, Scenario

    return Scenario(
        transcripts=(QUESTION,),
        rules=(
            Rule(
                text="weather",
                steps=(CallTool(name="get_weather", arguments={"city": "Paris"}),),
            ),
            Rule(tool="get_weather", steps=(Say(text=ANSWER),)),
        ),
    )


def spoken_question() -> tuple[bytes, float]:
    """The user's utterance as PCM16 24 kHz, followed by silence; and its speech length in ms."""
    from ..testing import silence, synthesize_speech

    speech = synthesize_speech(QUESTION)
    return speech + silence(1_500), duration_ms(PCM16_24K, len(speech))


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


async def _stream_question(
    conn: RealtimeConnection,
    pcm: bytes,
    speech_ms: float,
    timeline: Timeline,
    *,
    pace: bool,
) -> None:
    """Send the utterance in 20 ms chunks at real-time pace, as a microphone would.

    If the connection ends meanwhile, stop: the event loop of
    `run_conversation` reports how it ended, once.
    """
    chunk = 960  # 20 ms of PCM16 at 24 kHz
    speech_bytes = int(speech_ms * 48)
    try:
        with conn.audio_sender() as sender:
            next_time = trio.current_time()
            for start in range(0, len(pcm), chunk):
                await sender.send(pcm[start : start + chunk])
                if timeline.speech_sent is None and start + chunk >= speech_bytes:
                    timeline.speech_sent = trio.current_time()
                if pace:
                    next_time += 0.02
                    await trio.sleep_until(next_time)
    except (ConnectionClosed, ConnectionBroken):
        return


async def run_conversation(
    conn: RealtimeConnection,
    wav: WavWriter | None,
    *,
    say: Callable[[str], None],
    pace: bool = True,
) -> DemoResult:
    """Drive one voice turn with a tool call; return what happened.

    Raises:
        ConnectionBroken: the connection failed (only this: the audio task
            stops quietly when the connection ends).
        CommandFailed: the server closed the connection before the answer.
    """
    result = DemoResult()
    timeline = result.timeline
    timeline.start = trio.current_time()
    pcm, speech_ms = spoken_question()
    async with open_hidden_nursery() as nursery:
        nursery.start_soon(
            functools.partial(
                _stream_question, conn, pcm, speech_ms, timeline, pace=pace
            )
        )
        answering = False
        async for event in conn:
            now = trio.current_time()
            match event:
                case events.InputAudioBufferSpeechStarted(audio_start_ms=ms):
                    timeline.speech_started = now
                    say(f"  [vad] speech started at {ms} ms")
                case events.InputAudioBufferSpeechStopped(audio_end_ms=ms):
                    timeline.speech_stopped = now
                    say(f"  [vad] speech stopped at {ms} ms")
                case events.ConversationItemInputAudioTranscriptionCompleted(
                    transcript=text
                ):
                    result.user_transcript = text
                    say(f"user: {text}")
                case events.ResponseFunctionCallArgumentsDone(
                    name=name, arguments=arguments, call_id=call_id
                ):
                    timeline.tool_call = now
                    args = json.loads(arguments) if arguments else {}
                    output = json.dumps(
                        get_weather(**args)
                        if name == "get_weather"
                        else {"error": "unknown tool"}
                    )
                    result.tool_calls.append((name, arguments, output))
                    say(f"  [tool] {name}({arguments}) -> {output}")
                    await conn.create_item(
                        events.FunctionCallOutputItem(call_id=call_id, output=output)
                    )
                case events.ResponseDone(response=response) if not answering:
                    # The tool call's response is done: ask for the spoken answer.
                    if result.tool_calls:
                        answering = True
                        timeline.tool_output_sent = trio.current_time()
                        await conn.create_response()
                    else:
                        say(f"  [response {response.status} without a tool call]")
                        break
                case events.ResponseOutputAudioDelta(delta=b64):
                    if timeline.first_audio is None:
                        timeline.first_audio = now
                    audio = decode_audio(b64)
                    result.audio_bytes += len(audio)
                    if wav is not None:
                        wav.write(audio)
                case events.ResponseOutputAudioTranscriptDone(transcript=text):
                    result.assistant_transcript = text
                    say(f"assistant: {text}")
                case events.ResponseDone(response=response):
                    timeline.response_done = now
                    say(f"  [response {response.status}]")
                    break
                case events.ErrorEvent(error=error):
                    say(f"  [server error {error.code}: {error.message}]")
        else:
            raise CommandFailed(
                "the server closed the connection before the answer was complete"
            )
        nursery.cancel_scope.cancel()
    return result


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


async def demo(
    *,
    url: str | None,
    api_key: str | None,
    model: str,
    wav_path: str | None,
    fast: bool = False,
    out: TextIO = sys.stdout,
) -> DemoResult:
    """Run the demo conversation (against the simulator when there is no key).

    Bound it with a cancel scope: ``realtime-trio demo --timeout`` does.

    Raises:
        UsageError: ``wav_path`` cannot be written (``--out``); it is opened
            before anything connects.
        CommandFailed: the connection was lost, or closed before the answer.
        HandshakeError: the connection could not be opened.
    """

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    simulated = False
    try:
        async with AsyncExitStack() as stack:
            # Opened first, so a bad --out is told before anything starts.
            wav = stack.enter_context(_open_wav(wav_path)) if wav_path else None
            key = api_key or os.environ.get("OPENAI_API_KEY")
            if url is None and not key:
                from ..testing import open_simulator

                sim = await stack.enter_async_context(
                    open_simulator(
                        scenario=demo_scenario(),
                        realtime=not fast,
                        time_to_first_audio=0.25,
                    )
                )
                url, key, simulated = sim.url, LOCAL_KEY, True
                say(f"no API key: talking to the built-in simulator at {sim.url}")
            else:
                say(f"talking to {url or 'the OpenAI Realtime API'}")
            conn = await stack.enter_async_context(
                open_realtime(model=model, url=url, api_key=key, session=demo_session())
            )
            say(
                f"session {getattr(conn.session, 'id', '?')} configured; "
                f"asking {QUESTION!r} in {SYNTHETIC}"
            )
            result = await run_conversation(conn, wav, say=say, pace=not fast)
    except ConnectionBroken as exc:
        raise CommandFailed(
            f"lost the connection to {url or DEFAULT_URL}: {exc}"
        ) from exc
    result.simulated = simulated
    print_report(result, wav_path, out)
    return result


def _open_wav(path: str) -> WavWriter:
    try:
        return WavWriter(path, 24_000)
    except OSError as exc:
        raise UsageError(
            "--out", f"cannot write {path}: {exc.strerror or exc}"
        ) from None


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``demo`` subcommand's options."""
    parser.add_argument(
        "--url",
        help="the Realtime WebSocket URL, ws:// or wss:// (default: the simulator, "
        "or the real API with a key)",
    )
    parser.add_argument(
        "--api-key",
        help="an API key (default: OPENAI_API_KEY; none: use the simulator)",
    )
    parser.add_argument(
        "--model", default="gpt-realtime", help="the model (default: %(default)s)"
    )
    parser.add_argument(
        "--out",
        default="assistant.wav",
        help="where to write the assistant's audio; '' for nowhere "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="give up after this many seconds (default: %(default)s)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="no real-time pacing (for tests; the latencies then mean little)",
    )


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def demo_api_key(api_key: str | None, url: str | None) -> str | None:
    """The key the demo sends (None: use the built-in simulator).

    ``--api-key`` first, then ``OPENAI_API_KEY``; an empty variable counts as
    unset. Without a key, a ``--url`` on this machine (``realtime-trio
    simulate``) gets a stand-in key, since the simulator accepts any.

    Raises:
        UsageError: the key cannot go in a header (named by where it came
            from, never shown), ``--api-key`` is empty, or a ``--url`` on
            another machine has no key.
    """
    if api_key is not None:
        source = "--api-key"
        if not api_key:
            raise UsageError(source, "the API key is empty")
    else:
        source = "OPENAI_API_KEY"
        api_key = os.environ.get(source) or None
    if api_key is not None:
        try:
            check_header_value("Authorization", api_key, what="the API key")
        except InvalidHeaderError as exc:
            raise UsageError(source, str(exc)) from None
        return api_key
    if url is None:
        return None
    if _is_loopback(url):
        return LOCAL_KEY
    raise UsageError(
        "--api-key", f"no API key for {url}: pass it or set OPENAI_API_KEY"
    )


async def run_demo(args: argparse.Namespace) -> None:
    """Entry point of ``realtime-trio demo``: check the flags, then run the demo."""
    url = None if args.url is None else websocket_url("--url", args.url)
    api_key = demo_api_key(args.api_key, url)
    if not args.model.strip():
        raise UsageError("--model", "the model name is empty")
    try:
        with trio.fail_after(args.timeout):
            await demo(
                url=url,
                api_key=api_key,
                model=args.model,
                wav_path=args.out or None,
                fast=args.fast,
            )
    except trio.TooSlowError:
        shown = f"{args.timeout:g}"
        raise CommandFailed(
            f"gave up after {shown} s (--timeout {shown}) before the conversation ended"
        ) from None
