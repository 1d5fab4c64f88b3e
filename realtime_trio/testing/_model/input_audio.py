"""The simulated input audio buffer: byte accounting, offsets and VAD (sans-IO).

Offsets (``audio_start_ms``, ``audio_end_ms``) count milliseconds of audio
appended since the session started, whatever was committed or cleared in
between, as the real API's do. The buffer holds the audio appended since the
last commit or clear, in the session's input format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..._audio.g711 import alaw_to_pcm16, ulaw_to_pcm16
from .vad import EnergyVad, VadEvent, VadParams


def bytes_per_ms(format_type: str) -> float:
    """Bytes per millisecond of an input format (PCM16 24 kHz or G.711)."""
    return 48.0 if format_type == "audio/pcm" else 8.0


class InputAudioBuffer:
    """Input audio since the last commit or clear, with voice activity detection.

    Args:
        format_type: ``audio/pcm``, ``audio/pcmu`` or ``audio/pcma``.
        turn_detection: The session's ``turn_detection`` object, or None.
    """

    def __init__(
        self, format_type: str, turn_detection: Mapping[str, Any] | None
    ) -> None:
        self._format = format_type
        self._bpm = bytes_per_ms(format_type)
        self._data = bytearray()
        self.start_ms = 0.0
        self.total_ms = 0.0
        self._vad: EnergyVad | None = None
        self.configure(format_type, turn_detection)

    @property
    def duration_ms(self) -> float:
        """How much audio the buffer holds."""
        return len(self._data) / self._bpm

    @property
    def bytes_per_ms(self) -> float:
        """Bytes per millisecond of the input format."""
        return self._bpm

    @property
    def in_speech(self) -> bool:
        """Whether the VAD is inside a speech segment."""
        return self._vad is not None and self._vad.in_speech

    def configure(
        self, format_type: str, turn_detection: Mapping[str, Any] | None
    ) -> None:
        """Apply a session's input format and turn detection."""
        if format_type != self._format:
            # A new format: drop what is buffered (it cannot be mixed).
            self._format = format_type
            self._bpm = bytes_per_ms(format_type)
            self._data.clear()
            self.start_ms = self.total_ms
            self._vad = None
        if turn_detection is None:
            self._vad = None
            return
        params = VadParams.from_turn_detection(turn_detection)
        if self._vad is None:
            rate = 24_000 if format_type == "audio/pcm" else 8_000
            self._vad = EnergyVad(params, rate=rate)
            self._vad.skip_ms(round(self.total_ms))
            self._vad.reset(round(self.start_ms))
        else:
            self._vad.configure(params)

    def append(self, audio: bytes) -> list[VadEvent]:
        """Add audio; return what the VAD detected in it."""
        self._data += audio
        self.total_ms += len(audio) / self._bpm
        if self._vad is None:
            return []
        if self._format == "audio/pcmu":
            pcm = ulaw_to_pcm16(audio)
        elif self._format == "audio/pcma":
            pcm = alaw_to_pcm16(audio)
        else:
            pcm = audio
        return self._vad.feed(pcm)

    def _cut(self, ms: float) -> int:
        offset = round((ms - self.start_ms) * self._bpm)
        if self._bpm == 48.0:
            offset -= offset % 2
        return max(0, min(len(self._data), offset))

    def take(
        self,
        start_ms: float | None = None,
        end_ms: float | None = None,
        *,
        reset_vad: bool = True,
    ) -> bytes:
        """Remove and return the audio up to ``end_ms`` (all by default).

        Audio before ``start_ms`` is dropped as well (what the VAD left out
        before the speech and its prefix padding). A commit by the VAD itself
        passes ``reset_vad=False``: the detector may already be in the next
        segment.
        """
        end = len(self._data) if end_ms is None else self._cut(end_ms)
        start = 0 if start_ms is None else min(self._cut(start_ms), end)
        audio = bytes(self._data[start:end])
        del self._data[:end]
        self.start_ms += end / self._bpm
        if self._vad is not None:
            if reset_vad:
                self._vad.reset(round(self.start_ms))
            else:
                self._vad.set_buffer_start(round(self.start_ms))
        return audio

    def clear(self) -> None:
        """Discard the buffered audio."""
        self.take()
