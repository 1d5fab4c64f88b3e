"""Playback arithmetic: how much of an item's audio was played, and where to cut it (no trio here).

The server keeps the whole of an assistant item's audio; the user heard only
what was played before they spoke. On a barge-in the item is truncated
(``conversation.item.truncate``) at the played position, so that the
model's context holds what was heard. The position must be right:

* never past the audio received (the server refuses ``audio_end_ms`` beyond
  the item's audio, and what was not received cannot have been played): it
  is clamped to the received audio;
* ``audio_end_ms`` is an integer: the position is rounded *down* to whole
  samples, then to whole milliseconds (24 samples a millisecond for PCM16
  at 24 kHz, 8 for G.711 at 8 kHz), never up past what was heard;
* nothing played, nothing to truncate: the caller skips the truncate.

`PlaybackLedger` tracks the position of each ``(item_id, content_index)``
in one of three ways, chosen by who plays the audio:

``"reported"``
    The application plays it and reports each piece played
    (`PlaybackLedger.played`, in bytes).
``"paced"``
    `PlaybackTracker` writes it to an output sink in real time, one chunk at
    a time (`PlaybackLedger.chunk_started`): the position is the chunks
    finished plus the time elapsed in the current one.
``"server"``
    The server plays it (a call's sideband): from
    ``output_audio_buffer.started`` the position is the time elapsed
    (`PlaybackLedger.stream_started`, `PlaybackLedger.stream_stopped`).

Times are in seconds on any monotonic clock the caller chooses (the trio
clock, in the trio layer); this module never reads a clock.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final, Literal, TypeAlias

import attrs

from .._audio.formats import AudioFormat

#: How the position of the audio is known (see the module docstring).
Mode: TypeAlias = Literal["reported", "paced", "server"]
#: ``(item_id, content_index)``.
Key: TypeAlias = tuple[str, int]

#: How many items' positions a ledger remembers (older ones are forgotten).
MAX_TRACKS: Final = 32


def whole_samples(fmt: AudioFormat, nbytes: int) -> int:
    """``nbytes`` rounded down to whole samples of ``fmt``, in bytes."""
    width = fmt.sample_width
    return max(0, nbytes) // width * width


def audio_end_ms(fmt: AudioFormat, played_bytes: int, received_bytes: int) -> int:
    """The truncation point of an item: the played audio, clamped to the
    audio received, rounded down to whole samples and then whole milliseconds."""
    played = whole_samples(fmt, min(played_bytes, received_bytes))
    return played // fmt.sample_width * 1000 // fmt.rate


@attrs.frozen(kw_only=True)
class Cut:
    """Where the playback of one item stopped.

    Attributes:
        item_id: The assistant item.
        content_index: Its audio content part.
        format: The format of its audio.
        received_bytes: Bytes of its audio received.
        played_bytes: Bytes played, clamped to ``received_bytes``, in whole samples.
    """

    item_id: str
    content_index: int
    format: AudioFormat
    received_bytes: int
    played_bytes: int

    @property
    def audio_end_ms(self) -> int:
        """The truncation point, in whole milliseconds (rounded down)."""
        return audio_end_ms(self.format, self.played_bytes, self.received_bytes)

    @property
    def played_ms(self) -> float:
        """Milliseconds played."""
        return self.played_bytes * 1000 / self.format.bytes_per_second

    @property
    def discarded_samples(self) -> int:
        """Samples received and never played."""
        return (self.received_bytes - self.played_bytes) // self.format.sample_width

    @property
    def discarded_ms(self) -> float:
        """Milliseconds received and never played."""
        return self.discarded_samples * 1000 / self.format.rate

    @property
    def unheard(self) -> bool:
        """Whether some received audio was not played."""
        return self.played_bytes < whole_samples(self.format, self.received_bytes)


@attrs.define(eq=False)
class Track:
    """The position of one item's audio (see `PlaybackLedger`)."""

    format: AudioFormat
    received: int = 0
    played: int = 0
    chunk_start: float | None = None
    chunk_len: int = 0
    stream_start: float | None = None
    stream_end: float | None = None
    cut: bool = False

    def position(self, mode: Mode, now: float) -> int:
        """Bytes played at ``now``, clamped to the bytes received, in whole samples."""
        if self.cut:
            return self.played  # frozen where it was cut
        bps = self.format.bytes_per_second
        if mode == "reported":
            played = self.played
        elif mode == "paced":
            played = self.played
            if self.chunk_start is not None and now > self.chunk_start:
                played += min(self.chunk_len, int((now - self.chunk_start) * bps))
        else:
            if self.stream_start is None:
                return 0
            end = self.stream_end if self.stream_end is not None else now
            played = int(max(0.0, end - self.stream_start) * bps)
        return whole_samples(self.format, min(played, self.received))


class PlaybackLedger:
    """The play position of the items' audio, by ``(item_id, content_index)``.

    Args:
        mode: How the position is known: ``"reported"``, ``"paced"`` or
            ``"server"`` (see the module docstring).
    """

    def __init__(self, mode: Mode) -> None:
        self.mode: Mode = mode
        self._tracks: OrderedDict[Key, Track] = OrderedDict()
        #: The item whose audio arrived last and was not cut.
        self.current: Key | None = None

    def track(self, key: Key) -> Track | None:
        """The track of ``key``, if its audio arrived."""
        return self._tracks.get(key)

    def received(self, key: Key, fmt: AudioFormat, nbytes: int) -> bool:
        """Audio of ``key`` arrived; False if the item was cut (drop the audio)."""
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = Track(fmt)
            while len(self._tracks) > MAX_TRACKS:
                self._tracks.popitem(last=False)
        if track.cut:
            return False
        track.received += nbytes
        self.current = key
        return True

    def played(self, key: Key, nbytes: int) -> None:
        """``nbytes`` more of ``key``'s audio were played (``"reported"`` mode)."""
        track = self._tracks.get(key)
        if track is not None and not track.cut and nbytes > 0:
            track.played += nbytes

    def chunk_started(self, key: Key, nbytes: int, at: float) -> None:
        """A chunk of ``nbytes`` of ``key`` started playing at ``at`` (``"paced"`` mode)."""
        track = self._tracks.get(key)
        if track is None or track.cut:
            return
        track.played += track.chunk_len
        track.chunk_start = at
        track.chunk_len = nbytes

    def stream_started(self, key: Key, at: float) -> None:
        """The server started playing ``key`` at ``at`` (``"server"`` mode)."""
        track = self._tracks.get(key)
        if track is not None and track.stream_start is None:
            track.stream_start = at

    def stream_stopped(self, key: Key, at: float) -> None:
        """The server stopped playing ``key`` at ``at`` (``"server"`` mode)."""
        track = self._tracks.get(key)
        if track is not None and track.stream_start is not None:
            track.stream_end = at

    def position(self, key: Key, now: float) -> int:
        """Bytes of ``key`` played at ``now`` (0 if nothing is known of it)."""
        track = self._tracks.get(key)
        return 0 if track is None else track.position(self.mode, now)

    def unplayed(self, now: float) -> int:
        """Bytes of the current item received and not played at ``now``."""
        key = self.current
        track = self._tracks.get(key) if key is not None else None
        if track is None:
            return 0
        return whole_samples(track.format, track.received) - track.position(
            self.mode, now
        )

    def cut(self, now: float, key: Key | None = None) -> Cut | None:
        """Stop ``key`` (default: the current item) at ``now``; its later audio is dropped.

        Returns where it stopped, or None if no audio of it arrived.
        """
        key = key if key is not None else self.current
        track = self._tracks.get(key) if key is not None else None
        if key is None or track is None or track.cut:
            return None
        played = track.position(self.mode, now)
        track.played, track.cut = played, True
        if self.current == key:
            self.current = None
        return Cut(
            item_id=key[0],
            content_index=key[1],
            format=track.format,
            received_bytes=track.received,
            played_bytes=played,
        )
