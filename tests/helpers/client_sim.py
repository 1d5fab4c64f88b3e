"""Helpers for the tests that drive the simulator through realtime_trio's own client.

The ``test_client_sim_*`` modules connect `realtime_trio.open_realtime` to a
`RealtimeSimulator`, mostly in memory (``connect_stream=``, no socket) so
that they run under ``autojump_clock``: every wait below is bounded on the
trio clock, which costs no wall time there. This module holds no tests.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import numpy as np
import trio

import realtime_trio
from realtime_trio import RealtimeConnection, UnknownEvent, events
from realtime_trio.audio import decode_audio
from realtime_trio.testing import RealtimeSimulator

KEY = "sk-test"
#: Any ws:// URL does for connect_stream=; the simulator checks only the path.
MEMORY_URL = "ws://simulator/v1/realtime"
#: The bound of every wait, in seconds of the trio clock.
WAIT = 30.0

TEXT_ONLY = events.SessionConfig(output_modalities=("text",))
NO_VAD = events.SessionConfig(
    audio=events.AudioConfig(input=events.AudioInput(turn_detection=None))
)


def connect(
    sim: RealtimeSimulator, nursery: trio.Nursery, **kwargs: Any
) -> AbstractAsyncContextManager[RealtimeConnection]:
    """`open_realtime` to ``sim`` over a memory stream served in ``nursery``."""
    kwargs.setdefault("model", "gpt-realtime")
    kwargs.setdefault("api_key", KEY)
    return realtime_trio.open_realtime(
        url=MEMORY_URL,
        connect_stream=functools.partial(sim.open_memory_stream, nursery),
        **kwargs,
    )


def vad_session(**turn_detection: Any) -> events.SessionConfig:
    """A text-only session with ``server_vad`` set to these fields."""
    return events.SessionConfig(
        output_modalities=("text",),
        audio=events.AudioConfig(
            input=events.AudioInput(
                turn_detection=events.ServerVad(**turn_detection),
            )
        ),
    )


def user_text(text: str, item_id: str | None = None) -> events.MessageItem:
    """A user message item (with ``item_id``, or none: the client makes one)."""
    extra: dict[str, Any] = {} if item_id is None else {"id": item_id}
    return events.MessageItem(
        role="user", content=(events.InputText(text=text),), **extra
    )


def wire_type(event: object) -> str:
    """The wire ``type`` of a received event."""
    if isinstance(event, UnknownEvent):
        return event.type
    return str(type(event).TYPE)  # type: ignore[attr-defined]


def wire_types(received: Sequence[object]) -> list[str]:
    """The wire types of received events, in order."""
    return [wire_type(e) for e in received]


async def receive_until(
    conn: RealtimeConnection,
    kind: type | tuple[type, ...],
    *,
    where: Any = None,
    limit: float = WAIT,
) -> list[Any]:
    """Receive events up to and including the first ``kind`` (that ``where`` accepts)."""
    received: list[Any] = []
    with trio.fail_after(limit):
        while True:
            event = await conn.receive()
            received.append(event)
            if isinstance(event, kind) and (where is None or where(event)):
                return received


async def receive_quiet(conn: RealtimeConnection, seconds: float) -> list[Any]:
    """Receive whatever arrives until nothing has come for ``seconds``."""
    received: list[Any] = []
    while True:
        with trio.move_on_after(seconds) as scope:
            received.append(await conn.receive())
        if scope.cancelled_caught:
            return received


def of_type(received: Sequence[Any], kind: type) -> list[Any]:
    """The received events of one class."""
    return [e for e in received if isinstance(e, kind)]


def output_audio(received: Sequence[Any]) -> bytes:
    """The decoded audio of every ``response.output_audio.delta`` received."""
    return b"".join(
        decode_audio(e.delta)
        for e in of_type(received, events.ResponseOutputAudioDelta)
    )


def level_dbfs(pcm: bytes) -> float:
    """The RMS level of PCM16 audio in dBFS (``-inf`` for digital silence)."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return -math.inf
    rms = math.sqrt(float(np.mean(samples * samples)))
    return -math.inf if rms == 0 else 20 * math.log10(rms / 32768.0)


def appended_bytes(sim: RealtimeSimulator, index: int = 0) -> list[int]:
    """The decoded size of every ``input_audio_buffer.append`` a connection received."""
    return [
        len(decode_audio(e.audio))
        for e in sim.connections[index].client_events
        if isinstance(e, events.InputAudioBufferAppend)
    ]


async def wait_closed(sim: RealtimeSimulator, index: int = 0) -> None:
    """Wait until the simulator has recorded the end of a connection."""
    with trio.fail_after(WAIT):
        await sim.connections[index].closed.wait()
