"""Building blocks of simulated responses: settings, output audio, items and usage."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

import attrs

from ..._audio.b64 import decode_audio
from ..._audio.g711 import pcm16_to_alaw, pcm16_to_ulaw
from ..._audio.resample import Resampler
from ..._audio.wav import read_wav
from ..._core.item_models import (
    ConversationItem,
    FunctionCallItem,
    MessageItem,
    OutputAudio,
    OutputText,
)
from ..._core.response_models import (
    CachedTokenDetails,
    InputTokenDetails,
    OutputTokenDetails,
    RateLimit,
    Response,
    ResponseAudio,
    ResponseAudioOutput,
    StatusDetails,
    Usage,
)
from ..._core.serde import get_codec
from ..._core.server_events import RateLimitsUpdated
from ..._core.session_models import AudioFormatConfig, VoiceId
from .conversation import StoredItem, added_item
from .voice import RATE, synthesize

if TYPE_CHECKING:
    from .response_run import ResponseRun


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


@attrs.define
class OutputItemState:
    """What has been sent of one output item of a response."""

    id: str
    type: str
    name: str = ""
    call_id: str = ""
    arguments: str = ""
    text: str = ""
    audio: bytearray = attrs.field(factory=bytearray)
    part_kind: str | None = None
    part_open: bool = False
    closed: bool = False
    status: str = "in_progress"
    stored: StoredItem | None = None
    previous_id: str | None = None

    @classmethod
    def from_added(cls, item: ConversationItem) -> OutputItemState:
        """Start tracking the item of a ``response.output_item.added``."""
        if isinstance(item, FunctionCallItem):
            return cls(
                id=str(item.id),
                type="function_call",
                name=item.name,
                call_id=str(item.call_id),
            )
        return cls(id=str(getattr(item, "id", "")), type="message")

    def open_part(self, kind: str) -> None:
        """A content part was added."""
        self.part_kind = kind
        self.part_open = True

    def record(self, status: str | None = None) -> ConversationItem:
        """The item as the server reports it now (without audio bytes)."""
        status = self.status if status is None else status
        if self.type == "function_call":
            return FunctionCallItem(
                id=self.id,
                object="realtime.item",
                status=status,
                name=self.name,
                call_id=self.call_id,
                arguments=self.arguments,
            )
        content: tuple[Any, ...] = ()
        if self.part_kind == "audio":
            content = (OutputAudio(transcript=self.text),)
        elif self.part_kind == "text":
            content = (OutputText(text=self.text),)
        return MessageItem(
            id=self.id,
            object="realtime.item",
            status=status,
            role="assistant",
            content=content,
        )

    def sync(self) -> None:
        """Copy the current state to the conversation's copy of the item."""
        if self.stored is not None:
            self.stored.record = self.record()
            self.stored.audio = bytes(self.audio)


def _tokens(text: str) -> int:
    return (len(text) + 3) // 4


def response_usage(run: ResponseRun) -> Usage:
    """Deterministic usage: 4 characters per text token, 50 ms per audio token."""
    text_out = sum(_tokens(s.text) + _tokens(s.arguments) for s in run.items)
    audio_out = round(run.audio_ms / 50)
    output = text_out + audio_out
    return Usage(
        total_tokens=run.input_tokens + output,
        input_tokens=run.input_tokens,
        output_tokens=output,
        input_token_details=InputTokenDetails(
            text_tokens=run.input_tokens,
            audio_tokens=0,
            image_tokens=0,
            cached_tokens=0,
            cached_tokens_details=CachedTokenDetails(
                text_tokens=0, audio_tokens=0, image_tokens=0
            ),
        ),
        output_token_details=OutputTokenDetails(
            text_tokens=text_out, audio_tokens=audio_out
        ),
    )


def input_tokens(items: list[StoredItem], instructions: str) -> int:
    """Deterministic input usage of a response over ``items``."""
    total = _tokens(instructions)
    for stored in items:
        total += 4 + round(stored.audio_ms / 50)
        total += _tokens(get_codec().encode(stored.record)) // 4
    return total


def build_response(
    run: ResponseRun, *, status: str, status_details: StatusDetails | None, usage: bool
) -> Response:
    """The response object of ``response.created`` / ``response.done``."""
    settings = run.settings
    codec = get_codec()
    voice: Any = settings.voice
    if isinstance(voice, Mapping):
        voice = codec.structure(dict(voice), VoiceId)
    return Response(
        object="realtime.response",
        id=run.id,
        status=status,
        status_details=status_details,
        output=tuple(added_item(state.record()) for state in run.items)
        if status != "in_progress"
        else (),
        conversation_id=settings.conversation_id,
        output_modalities=settings.modalities,
        max_output_tokens="inf"
        if settings.max_output_tokens is None
        else settings.max_output_tokens,
        audio=ResponseAudio(
            output=ResponseAudioOutput(
                format=codec.structure(
                    dict(settings.format), cast(Any, AudioFormatConfig)
                ),
                voice=voice,
            )
        ),
        usage=response_usage(run) if usage else None,
        metadata=dict(settings.metadata) if settings.metadata else None,
    )


def rate_limits_event(event_id: str) -> RateLimitsUpdated:
    """A deterministic ``rate_limits.updated``."""
    return RateLimitsUpdated(
        event_id=event_id,
        rate_limits=(
            RateLimit(name="requests", limit=5000, remaining=4999, reset_seconds=0.012),
            RateLimit(
                name="tokens", limit=800000, remaining=799000, reset_seconds=0.075
            ),
        ),
    )
