"""`PlaybackTracker`: how much of the assistant's audio was played, and real-time pacing.

The arithmetic is sans-IO (``playback.py``); this module adds the trio
clock and the task that paces an output sink.
"""

from __future__ import annotations

import binascii
from collections import deque
from typing import Protocol, final

import attrs
import trio

from .._audio.formats import PCM16_24K, AudioFormat
from .._core.logs import get_logger
from .._core.server_events import ResponseOutputAudioDelta
from .playback import Cut, Key, Mode, PlaybackLedger, whole_samples

logger = get_logger()

__all__ = ["AudioSink", "PlaybackStatistics", "PlaybackTracker"]


class AudioSink(Protocol):
    """Where a pacing `PlaybackTracker` writes audio (a `trio.MemorySendChannel` is one)."""

    async def send(self, value: bytes, /) -> None:
        """Play ``value``, in the format of the session's output audio."""


@attrs.frozen
class PlaybackStatistics:
    """A snapshot of a `PlaybackTracker` (see `PlaybackTracker.statistics`).

    Attributes:
        mode: ``"reported"`` (the application plays the audio and reports
            it), ``"paced"`` (the tracker writes it to its sink) or
            ``"server"`` (the server plays it, on a call).
        buffered_bytes: Audio received and not yet written to the sink.
        buffered_ms: The same, in milliseconds.
        dropped_bytes: Audio dropped because more than ``max_buffered_ms`` waited.
        cuts: How many times playback was cut.
    """

    mode: str
    buffered_bytes: int
    buffered_ms: float
    dropped_bytes: int
    cuts: int


def _size(b64: str) -> int:
    size = len(b64) // 4 * 3
    if size and b64[-1] == "=":
        size -= 2 if b64[-2] == "=" else 1
    return size


@final
class PlaybackTracker:
    """What the listener heard of the assistant's audio, to cut it off at the right place.

    Two ways to use it:

    * You play the audio and report what you played:
      ``tracker.played(item_id, content_index, nbytes=...)`` (or ``ms=``),
      as the audio actually leaves your speaker.
    * Or give it a ``sink`` (anything with ``async send(bytes)``, a
      `trio.MemorySendChannel` for one) and it writes the audio to the sink
      in real time, one delta at a time, each when the one before has
      finished playing (``lead_ms`` early); `open_conversation` runs that
      task in its nursery. The sink gets the audio decoded, in the session's
      output format (PCM16 24 kHz, or G.711 at 8 kHz).

    Pass it to `open_conversation` (``playback=``), which feeds it every
    ``response.output_audio.delta`` and, on a barge-in or
    `RealtimeConversation.interrupt`, cuts the playback and truncates the
    item where it was cut. Used alone, feed it with `received` and cut it
    with `cut`.

    Args:
        sink: Where to play the audio (None: you play it and report it).
        lead_ms: How early each piece is written to the sink, to cover the
            sink's own latency.
        max_buffered_ms: Audio waiting for the sink beyond this is dropped
            (and counted in `statistics`); the server sends audio faster
            than real time, so this holds up to a long answer.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        sink: AudioSink | None = None,
        *,
        lead_ms: float = 0.0,
        max_buffered_ms: int = 600_000,
    ) -> None:
        if lead_ms < 0 or max_buffered_ms <= 0:
            raise ValueError("lead_ms must be >= 0 and max_buffered_ms > 0")
        self.sink = sink
        self._ledger = PlaybackLedger("paced" if sink is not None else "reported")
        self._lead = lead_ms / 1000
        self._max_buffered_ms = max_buffered_ms
        self._queue: deque[tuple[Key, AudioFormat, bytes]] = deque()
        self._queued_ms = 0.0
        self._queued_bytes = 0
        self._dropped = 0
        self._cuts = 0
        self._clock = -float("inf")
        self._lot = trio.lowlevel.ParkingLot()
        self._progress = trio.lowlevel.ParkingLot()

    @classmethod
    def server_paced(cls) -> PlaybackTracker:
        """A tracker for a call's sideband, where the server plays the audio
        (``output_audio_buffer.*`` events tell when)."""
        tracker = cls()
        tracker._ledger = PlaybackLedger("server")
        return tracker

    def __repr__(self) -> str:
        return f"<PlaybackTracker {self._ledger.mode}>"

    @property
    def mode(self) -> Mode:
        """``"reported"``, ``"paced"`` or ``"server"``."""
        return self._ledger.mode

    # --- what arrives ---------------------------------------------------------------

    def received(
        self, event: ResponseOutputAudioDelta, fmt: AudioFormat = PCM16_24K
    ) -> None:
        """An audio delta arrived (in ``fmt``, the session's output format).

        Audio of an item that was cut is dropped.
        """
        key = (event.item_id, event.content_index)
        b64 = event.delta
        size = _size(b64)
        if not self._ledger.received(key, fmt, size) or self.sink is None:
            return
        if self._queued_ms >= self._max_buffered_ms:
            if not self._dropped:
                logger.warning(
                    "playback: over %d ms of audio waiting for the sink; dropping",
                    self._max_buffered_ms,
                )
            self._dropped += size
            return
        try:
            pcm = binascii.a2b_base64(b64)
        except (binascii.Error, ValueError):
            return
        self._queue.append((key, fmt, pcm))
        self._queued_bytes += len(pcm)
        self._queued_ms += len(pcm) * 1000 / fmt.bytes_per_second
        self._lot.unpark_all()

    def stream_started(
        self, item_id: str, content_index: int, fmt: AudioFormat
    ) -> None:
        """The server started playing an item (``output_audio_buffer.started``)."""
        key = (item_id, content_index)
        self._ledger.received(key, fmt, 0)
        self._ledger.stream_started(key, trio.current_time())

    def stream_stopped(self, item_id: str, content_index: int) -> None:
        """The server stopped playing an item (``output_audio_buffer.stopped``/``cleared``)."""
        self._ledger.stream_stopped((item_id, content_index), trio.current_time())

    # --- what was played ------------------------------------------------------------

    def played(
        self,
        item_id: str,
        content_index: int = 0,
        *,
        nbytes: int | None = None,
        ms: float | None = None,
    ) -> None:
        """Report that ``nbytes`` (or ``ms`` milliseconds) more of an item's audio were played.

        Raises:
            ValueError: neither or both of ``nbytes`` and ``ms``.
            RuntimeError: the tracker plays the audio itself (it has a sink).
        """
        if (nbytes is None) == (ms is None):
            raise ValueError("give nbytes or ms (one of them)")
        if self._ledger.mode != "reported":
            raise RuntimeError("this tracker knows what it played: do not report it")
        key = (item_id, content_index)
        if ms is not None:
            track = self._ledger.track(key)
            fmt = track.format if track is not None else PCM16_24K
            nbytes = whole_samples(fmt, int(ms * fmt.bytes_per_second / 1000))
        assert nbytes is not None
        self._ledger.played(key, nbytes)
        self._progress.unpark_all()

    def position_ms(self, item_id: str, content_index: int = 0) -> float:
        """How much of an item's audio was played, in milliseconds (clamped to the audio received)."""
        key = (item_id, content_index)
        track = self._ledger.track(key)
        if track is None:
            return 0.0
        played = self._ledger.position(key, trio.current_time())
        return played * 1000 / track.format.bytes_per_second

    @property
    def unplayed_bytes(self) -> int:
        """Bytes of the current item received and not played yet."""
        return self._ledger.unplayed(trio.current_time())

    def cut(self) -> Cut | None:
        """Stop playing the current item now: forget its audio still waiting,
        drop any more that arrives, and return where it stopped (None: nothing
        was playing)."""
        now = trio.current_time()
        cut = self._ledger.cut(now)
        if cut is None:
            return None
        self._cuts += 1
        key = (cut.item_id, cut.content_index)
        kept: deque[tuple[Key, AudioFormat, bytes]] = deque()
        for entry in self._queue:
            if entry[0] == key:
                self._queued_bytes -= len(entry[2])
                self._queued_ms -= len(entry[2]) * 1000 / entry[1].bytes_per_second
            else:
                kept.append(entry)
        self._queue = kept
        self._clock = now
        self._lot.unpark_all()
        self._progress.unpark_all()
        return cut

    async def wait_played(self) -> None:
        """Wait until the audio of the current item received so far has been played.

        In ``"reported"`` mode that is when your `played` reports reach it; a
        cut ends the wait too. This is a checkpoint; bound it with a cancel
        scope (more audio may keep arriving).
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            unplayed = self.unplayed_bytes
            key = self._ledger.current
            track = self._ledger.track(key) if key is not None else None
            if not unplayed or track is None:
                break
            if self._ledger.mode == "reported":
                await self._progress.park()
            else:
                remaining = unplayed / track.format.bytes_per_second
                await trio.sleep(max(remaining, 0.001))
        await trio.lowlevel.cancel_shielded_checkpoint()

    def statistics(self) -> PlaybackStatistics:
        """A snapshot of the tracker's buffer and counters (never blocks)."""
        return PlaybackStatistics(
            mode=self._ledger.mode,
            buffered_bytes=self._queued_bytes,
            buffered_ms=max(0.0, self._queued_ms),
            dropped_bytes=self._dropped,
            cuts=self._cuts,
        )

    # --- pacing ---------------------------------------------------------------------

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Write the audio to the sink in real time, until cancelled.

        `open_conversation` runs this in its nursery when the tracker has a
        sink. Each piece is written ``lead_ms`` before it is due to play:
        right away when nothing is playing, else when the piece before it
        ends. This never returns; cancel it to stop.
        """
        sink = self.sink
        if sink is None:
            raise RuntimeError("a tracker without a sink has nothing to play")
        task_status.started()
        ledger = self._ledger
        while True:
            while not self._queue:
                await self._lot.park()
            key, fmt, pcm = self._queue.popleft()
            self._queued_bytes -= len(pcm)
            self._queued_ms -= len(pcm) * 1000 / fmt.bytes_per_second
            start = max(trio.current_time(), self._clock)
            if start - self._lead > trio.current_time():
                await trio.sleep_until(start - self._lead)
            track = ledger.track(key)
            if track is None or track.cut:
                continue  # cut while it waited
            ledger.chunk_started(key, len(pcm), start)
            self._clock = start + len(pcm) / fmt.bytes_per_second
            await sink.send(pcm)
