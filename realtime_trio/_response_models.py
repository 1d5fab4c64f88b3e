"""Responses, usage, errors and the other objects nested in server events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, TypeAlias

import attrs

from ._item_models import ConversationItem
from ._record import Record, UnknownObject
from ._sentinel import UNSET, UnsetType
from ._session_models import (
    AudioFormatConfig,
    Prompt,
    Reasoning,
    Tool,
    ToolChoice,
    VoiceId,
)


@attrs.frozen(kw_only=True)
class ResponseAudioOutput(Record):
    """Output audio settings of one response."""

    format: AudioFormatConfig | UnsetType = UNSET
    voice: str | VoiceId | UnsetType = UNSET


@attrs.frozen(kw_only=True)
class ResponseAudio(Record):
    """``response.audio``."""

    output: ResponseAudioOutput | UnsetType = UNSET


@attrs.frozen(kw_only=True)
class ResponseCreateParams(Record):
    """Per-response overrides for ``response.create``.

    ``conversation="none"`` makes an out-of-band response that does not write
    to the default conversation; ``input`` gives it its own context.
    """

    conversation: str | UnsetType = UNSET
    input: tuple[ConversationItem, ...] | UnsetType = UNSET
    instructions: str | UnsetType = UNSET
    output_modalities: tuple[str, ...] | UnsetType = UNSET
    audio: ResponseAudio | UnsetType = UNSET
    tools: tuple[Tool, ...] | UnsetType = UNSET
    tool_choice: ToolChoice | UnsetType = UNSET
    parallel_tool_calls: bool | UnsetType = UNSET
    reasoning: Reasoning | UnsetType | None = UNSET
    max_output_tokens: int | str | UnsetType = UNSET
    prompt: Prompt | UnsetType | None = UNSET
    metadata: Mapping[str, str] | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class CachedTokenDetails(Record):
    """Cached input tokens by modality."""

    text_tokens: int | UnsetType = UNSET
    audio_tokens: int | UnsetType = UNSET
    image_tokens: int | UnsetType = UNSET


@attrs.frozen(kw_only=True)
class InputTokenDetails(Record):
    """Input tokens by modality; cached tokens are a subset of them."""

    text_tokens: int | UnsetType = UNSET
    audio_tokens: int | UnsetType = UNSET
    image_tokens: int | UnsetType = UNSET
    cached_tokens: int | UnsetType = UNSET
    cached_tokens_details: CachedTokenDetails | UnsetType = UNSET


@attrs.frozen(kw_only=True)
class OutputTokenDetails(Record):
    """Output tokens by modality."""

    text_tokens: int | UnsetType = UNSET
    audio_tokens: int | UnsetType = UNSET


@attrs.frozen(kw_only=True)
class Usage(Record):
    """Token usage of a response."""

    total_tokens: int | UnsetType = UNSET
    input_tokens: int | UnsetType = UNSET
    output_tokens: int | UnsetType = UNSET
    input_token_details: InputTokenDetails | UnsetType = UNSET
    output_token_details: OutputTokenDetails | UnsetType = UNSET


@attrs.frozen(kw_only=True)
class StatusError(Record):
    """Why a response failed."""

    type: str | UnsetType = UNSET
    code: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class StatusDetails(Record):
    """Why a response ended as it did (for example ``reason="turn_detected"``)."""

    type: str | UnsetType = UNSET
    reason: str | UnsetType = UNSET
    error: StatusError | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class Response(Record):
    """A response of the model, as ``response.created`` and ``response.done`` report it."""

    id: str | UnsetType = UNSET
    object: str | UnsetType = UNSET
    status: str | UnsetType = UNSET
    status_details: StatusDetails | UnsetType | None = UNSET
    output: tuple[ConversationItem, ...] | UnsetType = UNSET
    conversation_id: str | UnsetType | None = UNSET
    output_modalities: tuple[str, ...] | UnsetType = UNSET
    max_output_tokens: int | str | UnsetType = UNSET
    audio: ResponseAudio | UnsetType = UNSET
    metadata: Mapping[str, str] | UnsetType | None = UNSET
    usage: Usage | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class ErrorDetail(Record):
    """The ``error`` object of an ``error`` event.

    ``event_id`` is the client event that caused it, when there is one.
    """

    type: str
    message: str
    code: str | UnsetType | None = UNSET
    param: str | UnsetType | None = UNSET
    event_id: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class RateLimit(Record):
    """One rate limit (``name`` is ``requests`` or ``tokens``)."""

    name: str | UnsetType = UNSET
    limit: int | UnsetType = UNSET
    remaining: int | UnsetType = UNSET
    reset_seconds: float | UnsetType = UNSET


@attrs.frozen(kw_only=True)
class Conversation(Record):
    """The default conversation of a session."""

    id: str | UnsetType = UNSET
    object: str | UnsetType = UNSET


@attrs.frozen(kw_only=True)
class LogProb(Record):
    """The log probability of one transcription token."""

    token: str
    logprob: float
    bytes: tuple[int, ...]


@attrs.frozen(kw_only=True)
class TranscriptionLanguage(Record):
    """A language detected in the input audio."""

    code: str


@attrs.frozen(kw_only=True)
class TranscriptTokenDetails(Record):
    """Input tokens of a transcription, by modality."""

    audio_tokens: int | UnsetType = UNSET
    text_tokens: int | UnsetType = UNSET


@attrs.frozen(kw_only=True)
class TranscriptTokenUsage(Record):
    """Transcription usage billed by tokens."""

    TYPE: ClassVar[str] = "tokens"
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_token_details: TranscriptTokenDetails | UnsetType = UNSET


@attrs.frozen(kw_only=True)
class TranscriptDurationUsage(Record):
    """Transcription usage billed by audio duration."""

    TYPE: ClassVar[str] = "duration"
    seconds: float


TranscriptUsage: TypeAlias = (
    TranscriptTokenUsage | TranscriptDurationUsage | UnknownObject
)


@attrs.frozen(kw_only=True)
class TranscriptionError(Record):
    """Why an input transcription failed."""

    type: str | UnsetType | None = UNSET
    code: str | UnsetType | None = UNSET
    message: str | UnsetType | None = UNSET
    param: str | UnsetType | None = UNSET
