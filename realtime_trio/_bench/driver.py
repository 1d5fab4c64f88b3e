"""One conversation of the bench: play the turns, collect each turn's `TurnMetrics` (trio).

Audio turns are streamed in 20 ms pieces at real-time pace through
`RealtimeConversation.send_audio` (so the metrics know when each piece was
sent). With server or semantic VAD the user then keeps "listening" with
silence, as a microphone would, until ``speech_stopped``; with ``manual``
the bench commits right after the speech and asks for the response. Each
turn ends with its `TurnMetrics`, or is censored after ``timeout``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import attrs
import trio

from .. import events
from .._agent.conversation import RealtimeConversation, open_conversation
from .._agent.metrics import TurnMetrics
from .._client.exceptions import ServerError
from .._client.open import open_realtime
from .._client.options import CONNECTION_DEFAULTS
from .._core.session_models import (
    AudioConfig,
    AudioInput,
    SemanticVad,
    ServerVad,
    SessionConfig,
)
from .config import INSTRUCTIONS, BenchConfig
from .turns import FRAME_BYTES, FRAME_SECONDS, BenchTurn, frames

SILENCE_FRAME = bytes(FRAME_BYTES)


@attrs.define
class ConversationResult:
    """What one conversation measured."""

    turns: list[TurnMetrics] = attrs.Factory(list)
    connect_seconds: float | None = None
    session_update_seconds: float | None = None


def session_for(config: BenchConfig) -> SessionConfig:
    """The session: the turn detection asked for, short answers."""
    detection = {
        "server_vad": ServerVad(),
        "semantic_vad": SemanticVad(),
        "manual": None,
    }[config.turn_detection]
    return SessionConfig(
        instructions=INSTRUCTIONS,
        audio=AudioConfig(input=AudioInput(turn_detection=detection)),
    )


class _Listener:
    """Drains the conversation's events, counting ``speech_stopped`` and ``committed``."""

    def __init__(self, convo: RealtimeConversation) -> None:
        self.convo = convo
        self.stops = 0
        self.lot = trio.lowlevel.ParkingLot()

    async def run(self) -> None:
        async for event in self.convo:
            if isinstance(
                event,
                events.InputAudioBufferSpeechStopped | events.InputAudioBufferCommitted,
            ):
                self.stops += 1
                self.lot.unpark_all()


async def _stream(convo: RealtimeConversation, pcm: bytes, start: float) -> float:
    """Send ``pcm`` at real-time pace from ``start``; return when the next piece is due."""
    due = start
    for frame in frames(pcm):
        await convo.send_audio(frame)
        due += len(frame) / (FRAME_BYTES / FRAME_SECONDS)
        await trio.sleep_until(due)
    return due


async def _listen(
    convo: RealtimeConversation, listener: _Listener, due: float, deadline: float
) -> None:
    """Send silence at real-time pace until the server decides the turn ended."""
    stops = listener.stops
    while listener.stops == stops and trio.current_time() < deadline:
        await convo.send_audio(SILENCE_FRAME)
        due += FRAME_SECONDS
        with trio.move_on_at(due):
            await listener.lot.park()
        await trio.sleep_until(due)


async def play_turn(
    config: BenchConfig,
    convo: RealtimeConversation,
    listener: _Listener,
    turn: BenchTurn,
    deadline: float,
) -> float | None:
    """Play one turn; return when its last audio was sent (None for a text turn)."""
    conn = convo.connection
    if turn.kind == "text":
        await conn.create_item(
            events.MessageItem(role="user", content=(events.InputText(text=turn.text),))
        )
        await convo.create_response()
        return None
    due = await _stream(convo, turn.pcm, trio.current_time())
    end = trio.current_time()
    if config.turn_detection == "manual":
        await conn.commit_audio()
        await convo.create_response()
    else:
        await _listen(convo, listener, due, deadline)
    return end


async def _wait_turn(
    convo: RealtimeConversation,
    started: float,
    audio_end: float | None,
    deadline: float,
) -> TurnMetrics:
    """The turn's metrics, or a censored record at ``deadline``."""
    with trio.move_on_at(deadline):
        return await convo.metrics.next_turn()
    censored = convo.metrics.censor_open()
    if censored:
        for _ in censored:  # the current turn is the last one
            record = await convo.metrics.next_turn()
        return record
    # The server never even saw a turn: still a turn, censored.
    return TurnMetrics(
        index=-1,
        started=started,
        user_audio_end=audio_end,
        censored=True,
        ended=trio.current_time(),
    )


async def _settle(convo: RealtimeConversation) -> None:
    """After a censored turn: cancel what is still answering, so it does not leak into the next."""
    if convo.state.active_response is None:
        return
    with trio.move_on_after(5), contextlib.suppress(ServerError):
        await convo.connection.cancel_response()


async def run_conversation(
    config: BenchConfig,
    url: str,
    api_key: str,
    turns: Sequence[BenchTurn],
    on_turn: Callable[[TurnMetrics], None],
) -> ConversationResult:
    """Connect, play ``config.turns`` turns (cycling through ``turns``), return what was measured."""
    result = ConversationResult()
    framing = config.audio_frame_ms or CONNECTION_DEFAULTS["audio_frame_ms"]
    async with (
        open_realtime(
            url=url,
            model=config.model,
            api_key=api_key,
            session=session_for(config),
            audio_frame_ms=framing,
        ) as conn,
        open_conversation(conn) as convo,
        trio.open_nursery() as nursery,
    ):
        listener = _Listener(convo)
        nursery.start_soon(listener.run)
        for number in range(config.turns):
            turn = turns[number % len(turns)]
            started = trio.current_time()
            deadline = started + config.timeout
            audio_end = await play_turn(config, convo, listener, turn, deadline)
            record = await _wait_turn(convo, started, audio_end, deadline)
            if record.censored:
                await _settle(convo)
            result.turns.append(record)
            on_turn(record)
        stats = conn.statistics()
        result.connect_seconds = stats.connect_seconds
        result.session_update_seconds = stats.session_update_seconds
        nursery.cancel_scope.cancel()
    return result
