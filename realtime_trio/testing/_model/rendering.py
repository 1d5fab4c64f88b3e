"""How a simulated response sounds and reads: its settings, output audio and text deltas."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from ..._audio.b64 import decode_audio
from ..._audio.g711 import pcm16_to_alaw, pcm16_to_ulaw
from ..._audio.resample import Resampler
from ..._audio.wav import read_wav
from .voice import RATE, synthesize


@attrs.frozen(kw_only=True)
class ResponseSettings:
    """The effective settings of one response (session defaults plus overrides).

    Attributes:
        modalities: ``("audio",)`` or ``("text",)``.
        format: The output audio format, as wire JSON.
        voice: The voice, a name or ``{"id": ...}``.
        chunk_ms: Milliseconds of audio per ``response.output_audio.delta``.
        realtime: Pace audio deltas in real time (else as fast as possible).
        time_to_first_audio: Seconds to wait before the first audio delta.
        max_output_tokens: The token limit, or None for ``"inf"``.
        metadata: The response's metadata, or None.
        conversation_id: The default conversation's id, or None out of band.
        seed: Varies the synthesized voice.
        sideband: The session belongs to a call: report the call's output
            audio buffer (``output_audio_buffer.started``/``stopped``/``cleared``).
    """

    modalities: tuple[str, ...] = ("audio",)
    format: Mapping[str, Any] = attrs.field(
        factory=lambda: {"type": "audio/pcm", "rate": 24000}
    )
    voice: str | Mapping[str, Any] = "marin"
    chunk_ms: int = 100
    realtime: bool = False
    time_to_first_audio: float = 0.0
    max_output_tokens: int | None = None
    metadata: Mapping[str, str] | None = None
    conversation_id: str | None = None
    seed: int = 0
    sideband: bool = False

    @property
    def audio(self) -> bool:
        """Whether the response speaks (else it writes)."""
        return "audio" in self.modalities

    @property
    def format_type(self) -> str:
        """``audio/pcm``, ``audio/pcmu`` or ``audio/pcma``."""
        return str(self.format.get("type", "audio/pcm"))

    @property
    def bytes_per_ms(self) -> float:
        """Bytes of output audio per millisecond."""
        return 48.0 if self.format_type == "audio/pcm" else 8.0

    @property
    def word_seconds(self) -> float:
        """The pause between text deltas in real-time mode."""
        return 0.05

    def decode(self, delta: str) -> bytes:
        """Decode one audio delta."""
        return decode_audio(delta)


def load_wav_24k(path: str) -> bytes:
    """Read a 16-bit PCM WAV file as mono PCM16 at 24 kHz (resampled if needed)."""
    wav = read_wav(path, mix_to_mono=True)
    if wav.rate == RATE:
        return wav.pcm
    resampler = Resampler(wav.rate, RATE)
    return resampler.process(wav.pcm) + resampler.flush()


def split_words(text: str) -> list[str]:
    """Split text into deltas that concatenate back to it (words with their spaces)."""
    return re.findall(r"^\s+|\S+\s*", text)


def to_output_format(pcm: bytes, format_type: str) -> bytes:
    """Convert PCM16 at 24 kHz to the output format (G.711 is resampled to 8 kHz)."""
    if format_type == "audio/pcm":
        return pcm
    resampler = Resampler(RATE, 8000)
    narrow = resampler.process(pcm) + resampler.flush()
    return (
        pcm16_to_ulaw(narrow) if format_type == "audio/pcmu" else pcm16_to_alaw(narrow)
    )


@attrs.frozen
class RenderedAudio:
    """Output audio, in the output format, with the timing of its transcript."""

    data: bytes = attrs.field(repr=False)
    bytes_per_ms: float
    chunk_ms: int
    ms_per_char: float

    def chunks(self) -> Iterator[tuple[bytes, float]]:
        """Yield the delta payloads and the audio time at the end of each."""
        size = max(1, round(self.chunk_ms * self.bytes_per_ms))
        if self.bytes_per_ms == 48.0:
            size -= size % 2
        for start in range(0, len(self.data), size):
            chunk = self.data[start : start + size]
            yield chunk, (start + len(chunk)) / self.bytes_per_ms

    def word_starts_ms(self, words: list[str]) -> list[float]:
        """When each word of the transcript starts, in the audio."""
        starts = []
        offset = 0
        for word in words:
            starts.append(offset * self.ms_per_char)
            offset += len(word)
        return starts


def render_audio(
    text: str, settings: ResponseSettings, *, wav: bytes | None
) -> RenderedAudio:
    """Synthesize ``text`` (or use ``wav``, PCM16 at 24 kHz) in the output format."""
    if wav is None:
        speech = synthesize(text, seed=settings.seed)
        pcm, ms_per_char = speech.pcm, speech.ms_per_char
    else:
        pcm = wav
        ms_per_char = len(wav) / 48 / max(1, len(text))
    return RenderedAudio(
        data=to_output_format(pcm, settings.format_type),
        bytes_per_ms=settings.bytes_per_ms,
        chunk_ms=settings.chunk_ms,
        ms_per_char=ms_per_char,
    )
