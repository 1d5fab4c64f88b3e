"""Energy-based voice activity detection on PCM16, as the simulator's ``server_vad``.

How it decides
--------------
The input audio (PCM16; G.711 input is decoded first, at its own 8 kHz) is
cut into 10 ms windows. A window is *voiced* when its RMS level, in dB
relative to full scale, is above::

    level_dbfs(threshold) = -60 + 50 * threshold

so ``threshold`` 0.0 hears anything above -60 dBFS (quiet room noise),
the default 0.5 needs -35 dBFS (normal speech is around -20 dBFS, a
whisper around -40), and 1.0 needs -10 dBFS (shouting into the microphone).
The real server uses a model rather than a level, but ``threshold`` moves
in the same direction: higher needs louder speech.

Speech *starts* after `MIN_SPEECH_MS` (30 ms) of consecutive voiced windows;
the event reports ``audio_start_ms`` = the first voiced window minus
``prefix_padding_ms``, but never before the start of the current input
buffer. Speech *stops* once ``silence_duration_ms`` of consecutive unvoiced
windows follow; the event reports ``audio_end_ms`` = the end of the last
voiced window plus ``silence_duration_ms`` (as the real API does, the
silence is included). All offsets count from the first audio appended in
the session.

``semantic_vad`` is approximated by the same detector with ``threshold`` 0.5
and a silence duration that depends on ``eagerness``: 250 ms for ``high``,
500 ms for ``medium`` and ``auto``, 1000 ms for ``low``.

Sans-IO: `EnergyVad.feed` takes bytes and returns events; there is no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, TypeAlias

import attrs
import numpy as np

#: The length of one analysis window.
WINDOW_MS: Final = 10
#: How much consecutive voiced audio makes a speech start.
MIN_SPEECH_MS: Final = 30

_SEMANTIC_SILENCE_MS: Final[Mapping[str, int]] = {
    "high": 250,
    "medium": 500,
    "auto": 500,
    "low": 1000,
}


def threshold_dbfs(threshold: float) -> float:
    """Return the window RMS level (dBFS) above which audio counts as speech."""
    return -60.0 + 50.0 * threshold


@attrs.frozen
class VadParams:
    """The parameters of `EnergyVad`, from a session's ``turn_detection``."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 200

    @classmethod
    def from_turn_detection(cls, config: Mapping[str, Any]) -> VadParams:
        """Read ``server_vad`` fields, or approximate ``semantic_vad``."""
        if config.get("type") == "semantic_vad":
            eagerness = config.get("eagerness") or "auto"
            return cls(silence_duration_ms=_SEMANTIC_SILENCE_MS.get(eagerness, 500))
        return cls(
            threshold=float(config.get("threshold", 0.5)),
            prefix_padding_ms=int(config.get("prefix_padding_ms", 300)),
            silence_duration_ms=int(config.get("silence_duration_ms", 200)),
        )


@attrs.frozen
class SpeechStarted:
    """Speech started; ``audio_start_ms`` includes the prefix padding."""

    audio_start_ms: int


@attrs.frozen
class SpeechStopped:
    """Speech stopped; ``audio_end_ms`` includes the silence duration."""

    audio_end_ms: int


VadEvent: TypeAlias = SpeechStarted | SpeechStopped


class EnergyVad:
    """Voice activity detection by window RMS level (see the module docstring).

    Args:
        params: Threshold, prefix padding and silence duration.
        rate: The sample rate of the PCM16 audio that will be fed.
    """

    def __init__(self, params: VadParams, *, rate: int = 24_000) -> None:
        self.params = params
        self._rate = rate
        self._window_bytes = 2 * rate * WINDOW_MS // 1000
        self._level = threshold_dbfs(params.threshold)
        self._carry = b""
        self._position_ms = 0
        self._buffer_start_ms = 0
        self._in_speech = False
        self._voiced_run = 0
        self._run_start_ms = 0
        self._last_voiced_end_ms = 0
        self._silence_ms = 0

    @property
    def in_speech(self) -> bool:
        """Whether speech has started and not stopped yet."""
        return self._in_speech

    @property
    def position_ms(self) -> int:
        """How much audio has been analysed, in milliseconds (whole windows)."""
        return self._position_ms

    def configure(self, params: VadParams) -> None:
        """Change the parameters; the current state is kept."""
        self.params = params
        self._level = threshold_dbfs(params.threshold)

    def reset(self, buffer_start_ms: int) -> None:
        """Forget any speech in progress; a new input buffer starts at ``buffer_start_ms``."""
        self._buffer_start_ms = buffer_start_ms
        self._in_speech = False
        self._voiced_run = 0
        self._silence_ms = 0

    def set_buffer_start(self, buffer_start_ms: int) -> None:
        """Move the start of the input buffer (after a commit), keeping the state."""
        self._buffer_start_ms = buffer_start_ms

    def skip_ms(self, duration_ms: int) -> None:
        """Account for audio that was not analysed (keeps offsets consistent)."""
        self._position_ms += duration_ms

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Analyse more audio and return the speech starts and stops it contains."""
        data = self._carry + pcm
        n_windows = len(data) // self._window_bytes
        used = n_windows * self._window_bytes
        self._carry = data[used:]
        if n_windows == 0:
            return []
        samples = np.frombuffer(data[:used], dtype="<i2").astype(np.float64)
        windows = samples.reshape(n_windows, -1)
        rms = np.sqrt(np.mean(windows * windows, axis=1))
        with np.errstate(divide="ignore"):
            levels = 20 * np.log10(rms / 32768.0)
        voiced = (levels > self._level).tolist()
        events: list[VadEvent] = []
        for is_voiced in voiced:
            start = self._position_ms
            self._position_ms += WINDOW_MS
            event = self._step(bool(is_voiced), start)
            if event is not None:
                events.append(event)
        return events

    def _step(self, voiced: bool, start: int) -> VadEvent | None:
        end = start + WINDOW_MS
        params = self.params
        if not self._in_speech:
            if not voiced:
                self._voiced_run = 0
                return None
            if self._voiced_run == 0:
                self._run_start_ms = start
            self._voiced_run += WINDOW_MS
            if self._voiced_run < MIN_SPEECH_MS:
                return None
            self._in_speech = True
            self._silence_ms = 0
            self._last_voiced_end_ms = end
            audio_start = max(
                self._buffer_start_ms, self._run_start_ms - params.prefix_padding_ms
            )
            return SpeechStarted(audio_start_ms=max(0, audio_start))
        if voiced:
            self._silence_ms = 0
            self._last_voiced_end_ms = end
            return None
        self._silence_ms += WINDOW_MS
        if self._silence_ms < params.silence_duration_ms:
            return None
        self._in_speech = False
        self._voiced_run = 0
        self._silence_ms = 0
        return SpeechStopped(
            audio_end_ms=self._last_voiced_end_ms + params.silence_duration_ms
        )


def rms_dbfs(pcm: bytes) -> float:
    """Return the RMS level of PCM16 audio in dBFS (``-inf`` for silence)."""
    if len(pcm) < 2:
        return -math.inf
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    rms = math.sqrt(float(np.mean(samples * samples)))
    return -math.inf if rms == 0 else 20 * math.log10(rms / 32768.0)
