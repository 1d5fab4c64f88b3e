"""What the test heard: the event log of a talk, and the virtual speaker (trio).

`EventLog` keeps every event a talk received, with the trio time it came,
and wakes the expectations waiting for one. Two tasks fill it: `observe`
iterates a `RealtimeConversation` (the usual case), `follow_record` follows
the simulator's record of a simulated call's sideband (a SIP talk, where the
handler under test owns the connection). `VirtualSpeaker` is the sink the
assistant's audio is played into, in real time on the trio clock.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio

from .._agent.conversation import RealtimeConversation
from .._agent.state import ConversationState
from .._audio.formats import PCM16_24K, AudioFormat

__all__ = ["Entry", "EventLog", "VirtualSpeaker", "follow_record", "observe"]

#: A PCM16 chunk whose peak is below this is silence (about -50 dBFS).
SILENCE_PEAK = 100


@attrs.frozen
class Entry:
    """One event the talk received, and when (trio clock)."""

    t: float
    event: Any


class EventLog:
    """The events of a talk, in order, and a way to wait for more."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.ended = False
        self.error: BaseException | None = None
        self._lot = trio.lowlevel.ParkingLot()

    def add(self, event: Any) -> None:
        self.entries.append(Entry(trio.current_time(), event))
        self._lot.unpark_all()

    def end(self, error: BaseException | None) -> None:
        self.ended = True
        self.error = error
        self._lot.unpark_all()

    def wake(self) -> None:
        """Wake the waiters (something else changed: audio played, an answer sent)."""
        self._lot.unpark_all()

    async def wait(self, deadline: float) -> None:
        """Wait for a change, at most until ``deadline`` (a checkpoint either way)."""
        with trio.move_on_at(deadline):
            await self._lot.park()
        await trio.lowlevel.checkpoint()


async def observe(convo: RealtimeConversation, log: EventLog) -> None:
    """Read the conversation until it ends; the ending goes in the log."""
    error: BaseException | None = None
    try:
        async for event in convo:
            log.add(event)
    except Exception as exc:  # ConnectionBroken, a sink's error: the test sees it
        error = exc
    finally:
        log.end(error)


async def follow_record(
    record: Any, state: ConversationState, log: EventLog, *, interval: float = 0.01
) -> None:
    """Follow a simulated connection's `ConnectionRecord`, applying its server events.

    The record keeps the events the simulator sent, in order; the talk
    reads them as they come (every ``interval`` seconds) until the
    connection is over.
    """
    seen = 0
    while True:
        closed = record.closed.is_set()
        events = record.server_events
        count = record.server_event_count
        new = count - seen
        if new > 0:
            for event in list(events)[-min(new, len(events)) :]:
                state.apply(event)
                log.add(event)
            seen = count
        if closed:
            log.end(None)
            return
        with trio.move_on_after(interval):
            await record.closed.wait()


class VirtualSpeaker:
    """An `AudioSink` that plays nothing, and remembers when non-silent audio started.

    The `PlaybackTracker` writes each piece when the one before has finished
    playing, so the trio time of a write is when that piece starts playing.
    """

    def __init__(self, log: EventLog) -> None:
        self.format: AudioFormat = PCM16_24K
        self.sounds: list[float] = []
        self.played_bytes = 0
        self._log = log

    async def send(self, value: bytes, /) -> None:
        self.played_bytes += len(value)
        if _audible(value, self.format):
            self.sounds.append(trio.current_time())
        self._log.wake()
        await trio.lowlevel.checkpoint()

    def first_sound_after(self, t: float) -> float | None:
        """When the first non-silent piece at or after ``t`` started playing."""
        for start in self.sounds:
            if start >= t:
                return start
        return None


def _audible(pcm: bytes, fmt: AudioFormat) -> bool:
    if fmt != PCM16_24K:
        return bool(pcm)
    import numpy as np

    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
    return bool(samples.size) and int(np.abs(samples.astype(np.int32)).max()) >= (
        SILENCE_PEAK
    )
