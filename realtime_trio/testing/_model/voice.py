"""Deterministic, speech-like test audio: PCM16 little-endian mono at 24 kHz.

The simulator has no text-to-speech model, so it "speaks" with tones shaped
like speech: every character of the text gets a short voiced segment (a
fundamental between 100 and 220 Hz that depends on the character, with two
harmonics and a smooth attack and release), a space is a short dip and a
punctuation mark a short pause, so that words and sentences are audible as
such. The level of the voiced segments is about -20 dBFS RMS, a normal
speech level, so the simulator's own voice activity detection (and any
energy detector) hears it as speech; the pauses are shorter than the default
200 ms ``silence_duration_ms``, so one utterance stays one turn.

Everything is a pure function of its arguments: same text, same samples.
"""

from __future__ import annotations

import math
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

#: The simulator's sample rate (the API's only PCM rate).
RATE: Final = 24_000
#: Milliseconds of synthesized speech per character of text.
MS_PER_CHAR: Final = 60.0
#: The longest synthesized utterance, in milliseconds.
MAX_SPEECH_MS: Final = 20_000.0
#: The shortest synthesized utterance, in milliseconds.
MIN_SPEECH_MS: Final = 200.0

_FULL_SCALE: Final = 32767.0
_PAUSES: Final = frozenset(".,;:!?\n")


def _rms_amplitude(dbfs: float) -> float:
    """Return the sample RMS of a signal at ``dbfs`` (relative to full scale)."""
    return _FULL_SCALE * 10 ** (dbfs / 20)


def _to_pcm16(signal: npt.NDArray[np.float64]) -> bytes:
    clipped = np.clip(np.rint(signal), -32768, 32767).astype("<i2")
    return clipped.tobytes()


def _samples(duration_ms: float) -> int:
    return max(0, round(duration_ms * RATE / 1000))


def silence(duration_ms: float) -> bytes:
    """Return ``duration_ms`` of digital silence (PCM16, 24 kHz).

    Args:
        duration_ms: The duration in milliseconds.
    """
    return bytes(2 * _samples(duration_ms))


def tone(duration_ms: float, *, frequency: float = 220.0, dbfs: float = -20.0) -> bytes:
    """Return a sine tone (PCM16, 24 kHz) with the given RMS level.

    A -20 dBFS tone is at a normal speech level, loud enough for the
    simulator's voice activity detection at its default ``threshold`` of 0.5;
    -60 dBFS is background noise that it ignores.

    Args:
        duration_ms: The duration in milliseconds.
        frequency: The frequency in Hz.
        dbfs: The RMS level in dB relative to full scale (0 is the loudest
            sine that does not clip, -3 dBFS peak-to-RMS aside).
    """
    n = _samples(duration_ms)
    t = np.arange(n, dtype=np.float64) / RATE
    amplitude = _rms_amplitude(dbfs) * math.sqrt(2)
    return _to_pcm16(amplitude * np.sin(2 * math.pi * frequency * t))


@attrs.frozen
class Speech:
    """Synthesized speech and the timing of its characters.

    Attributes:
        pcm: PCM16 little-endian mono samples at 24 kHz.
        ms_per_char: How long each character of the text lasts.
    """

    pcm: bytes = attrs.field(repr=lambda pcm: f"<{len(pcm)} bytes>")
    ms_per_char: float

    @property
    def duration_ms(self) -> float:
        """The duration of the audio in milliseconds."""
        return len(self.pcm) * 1000 / (2 * RATE)


def speech_duration_ms(
    text: str, *, ms_per_char: float = MS_PER_CHAR, max_ms: float = MAX_SPEECH_MS
) -> float:
    """Return how long `synthesize_speech` makes ``text`` last, in milliseconds."""
    return min(max(len(text) * ms_per_char, MIN_SPEECH_MS), max_ms)


def _segment(char: str, n: int, seed: int) -> npt.NDArray[np.float64]:
    if n <= 0:
        return np.zeros(0)
    t = np.arange(n, dtype=np.float64) / RATE
    if char in _PAUSES:
        return np.zeros(n)
    # A raised-cosine envelope per character avoids clicks between segments.
    envelope = 0.5 - 0.5 * np.cos(2 * math.pi * (np.arange(n) + 0.5) / n)
    if char.isspace():
        scale = 0.15
        f0 = 110.0
    else:
        scale = 1.0
        f0 = 100.0 + ((ord(char) * 37 + seed * 11) % 120)
    vibrato = 1 + 0.02 * np.sin(2 * math.pi * 5.0 * t)
    phase = 2 * math.pi * f0 * np.cumsum(vibrato) / RATE
    voiced = np.sin(phase) + 0.5 * np.sin(2 * phase) + 0.25 * np.sin(3 * phase)
    return scale * envelope * voiced


def synthesize(
    text: str,
    *,
    ms_per_char: float = MS_PER_CHAR,
    max_ms: float = MAX_SPEECH_MS,
    seed: int = 0,
    dbfs: float = -20.0,
) -> Speech:
    """Synthesize ``text`` as speech-like tones; see `synthesize_speech`."""
    total_ms = speech_duration_ms(text, ms_per_char=ms_per_char, max_ms=max_ms)
    total = _samples(total_ms)
    chars = text or " "
    per_char = total / len(chars)
    edges = [round(i * per_char) for i in range(len(chars) + 1)]
    parts = [
        _segment(char, edges[i + 1] - edges[i], seed) for i, char in enumerate(chars)
    ]
    signal = np.concatenate(parts) if parts else np.zeros(0)
    # Scale so that voiced characters sit at ``dbfs`` RMS. The envelope and
    # the harmonics have a fixed RMS: measure it once on a reference segment.
    reference = _segment("a", 2400, seed)
    reference_rms = float(np.sqrt(np.mean(reference**2)))
    signal *= _rms_amplitude(dbfs) / reference_rms
    return Speech(pcm=_to_pcm16(signal), ms_per_char=total_ms / len(chars))


def synthesize_speech(
    text: str,
    *,
    ms_per_char: float = MS_PER_CHAR,
    max_ms: float = MAX_SPEECH_MS,
    seed: int = 0,
) -> bytes:
    """Return speech-like audio for ``text`` (PCM16 little-endian mono, 24 kHz).

    This is the simulated model's voice, and handy test input: each character
    lasts ``ms_per_char`` (the whole at least 200 ms and at most ``max_ms``),
    voiced characters are tones at about -20 dBFS RMS, spaces are dips and
    punctuation short pauses. The result depends only on the arguments.

    Args:
        text: What to "say".
        ms_per_char: Milliseconds per character.
        max_ms: The longest result, in milliseconds; longer texts are spoken
            faster.
        seed: Varies the pitch, as another voice would.
    """
    return synthesize(text, ms_per_char=ms_per_char, max_ms=max_ms, seed=seed).pcm
