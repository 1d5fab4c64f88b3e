"""``realtime-trio demo``: a scripted voice conversation, end to end.

With no API key the demo starts the built-in simulator in this process (at
real-time pace) and talks to it; with ``--url``/``--api-key`` (or
``OPENAI_API_KEY``) the same script talks to the real API. Either way it goes
through the public API only: `open_realtime`, `send_audio`, and the
conversation layer (`open_conversation` with a `function_tool`), which runs
the tool call and asks for the answer.

The script: configure the session (server VAD, input transcription, one
function tool), stream a spoken question at real-time pace, let voice
activity detection take the turn, let the conversation layer answer the
model's tool call and ask for the answer, receive the spoken answer with its
transcript, write the assistant audio to a WAV file, and print a transcript
and a latency table (``demo_report.py``).

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
import os
import sys
import urllib.parse
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any, TextIO

import trio

from .._agent.conversation import open_conversation
from .._agent.tools import function_tool
from .._audio.formats import PCM16_24K, duration_ms
from .._audio.wav import WavWriter
from .._client.connection import RealtimeConnection
from .._client.exceptions import ConnectionBroken, ConnectionClosed
from .._client.open import open_realtime
from .._client.transport import DEFAULT_URL
from .._core.headers import InvalidHeaderError, check_header_value
from .._core.session_models import (
    AudioConfig,
    AudioInput,
    AudioOutput,
    AudioTranscription,
    ServerVad,
    SessionConfig,
)
from .._trio.unwrap import open_hidden_nursery
from .demo_report import SYNTHETIC, DemoResult, Timeline, print_report, watch
from .errors import CommandFailed, UsageError
from .flags import positive_seconds, websocket_url

QUESTION = "What is the weather like in Paris today?"
ANSWER = "It is sunny and twenty two degrees in Paris today, a fine day for a walk along the Seine."
INSTRUCTIONS = (
    "You are a concise voice assistant. Use get_weather for weather questions."
)
#: The key sent to a simulator on this machine when the user has none.
LOCAL_KEY = "sk-local-demo"


@function_tool
async def get_weather(city: str) -> dict[str, Any]:
    """Current weather for a city (the demo's canned forecast; a real app would call a service).

    Args:
        city: The city's name.
    """
    await trio.lowlevel.checkpoint()
    return {"city": city, "condition": "sunny", "temperature_c": 22}


def demo_session() -> SessionConfig:
    """The session the demo configures: audio in and out, server VAD.

    The conversation layer adds the tool (`get_weather`) to it.
    """
    return SessionConfig(
        instructions=INSTRUCTIONS,
        output_modalities=("audio",),
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
    """Drive one voice turn with a tool call on the conversation layer; return what happened.

    `open_conversation` runs the tool when the model calls it, sends its
    output and asks for the spoken answer; this loop only watches.

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
        async with open_conversation(conn, tools=[get_weather]) as convo:
            async for event in convo:
                if watch(event, convo.state, result, wav, say):
                    break
            else:
                raise CommandFailed(
                    "the server closed the connection before the answer was complete"
                )
        nursery.cancel_scope.cancel()
    return result


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
