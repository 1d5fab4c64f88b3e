"""Responses, usage, errors and the other objects nested in server events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, TypeAlias

import attrs

from .item_models import ConversationItem
from .record import Record, UnknownObject
from .sentinel import UNSET, UnsetType
from .session_models import (
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

    format: AudioFormatConfig | UnsetType | None = UNSET
    voice: str | VoiceId | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class ResponseAudio(Record):
    """``response.audio``."""

    output: ResponseAudioOutput | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class ResponseCreateParams(Record):
    """Per-response overrides for ``response.create``.

    ``conversation="none"`` makes an out-of-band response that does not write
    to the default conversation; ``input`` gives it its own context.
    """

    conversation: str | UnsetType | None = UNSET
    input: tuple[ConversationItem, ...] | UnsetType | None = UNSET
    instructions: str | UnsetType | None = UNSET
    output_modalities: tuple[str, ...] | UnsetType | None = UNSET
    audio: ResponseAudio | UnsetType | None = UNSET
    tools: tuple[Tool, ...] | UnsetType | None = UNSET
    tool_choice: ToolChoice | UnsetType | None = UNSET
    parallel_tool_calls: bool | UnsetType | None = UNSET
    reasoning: Reasoning | UnsetType | None = UNSET
    max_output_tokens: int | str | UnsetType | None = UNSET
    prompt: Prompt | UnsetType | None = UNSET
    metadata: Mapping[str, str] | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class CachedTokenDetails(Record):
    """Cached input tokens by modality."""

    text_tokens: int | UnsetType | None = UNSET
    audio_tokens: int | UnsetType | None = UNSET
    image_tokens: int | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class InputTokenDetails(Record):
    """Input tokens by modality; cached tokens are a subset of them."""

    text_tokens: int | UnsetType | None = UNSET
    audio_tokens: int | UnsetType | None = UNSET
    image_tokens: int | UnsetType | None = UNSET
    cached_tokens: int | UnsetType | None = UNSET
    cached_tokens_details: CachedTokenDetails | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class OutputTokenDetails(Record):
    """Output tokens by modality, and the reasoning tokens of reasoning models.

    ``reasoning_tokens`` counts the output tokens a reasoning model (such as
    ``gpt-realtime-2``) spent thinking.
    """

    text_tokens: int | UnsetType | None = UNSET
    audio_tokens: int | UnsetType | None = UNSET
    reasoning_tokens: int | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class Usage(Record):
    """Token usage of a response."""

    total_tokens: int | UnsetType | None = UNSET
    input_tokens: int | UnsetType | None = UNSET
    output_tokens: int | UnsetType | None = UNSET
    input_token_details: InputTokenDetails | UnsetType | None = UNSET
    output_token_details: OutputTokenDetails | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class StatusError(Record):
    """Why a response failed."""

    type: str | UnsetType | None = UNSET
    code: str | UnsetType | None = UNSET
    message: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class StatusDetails(Record):
    """Why a response ended as it did (for example ``reason="turn_detected"``)."""

    type: str | UnsetType | None = UNSET
    reason: str | UnsetType | None = UNSET
    error: StatusError | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class Response(Record):
    """A response of the model, as ``response.created`` and ``response.done`` report it."""

    id: str | UnsetType | None = UNSET
    object: str | UnsetType | None = UNSET
    status: str | UnsetType | None = UNSET
    status_details: StatusDetails | UnsetType | None = UNSET
    output: tuple[ConversationItem, ...] | UnsetType | None = UNSET
    conversation_id: str | UnsetType | None = UNSET
    output_modalities: tuple[str, ...] | UnsetType | None = UNSET
    max_output_tokens: int | str | UnsetType | None = UNSET
    audio: ResponseAudio | UnsetType | None = UNSET
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

    name: str | UnsetType | None = UNSET
    limit: int | UnsetType | None = UNSET
    remaining: int | UnsetType | None = UNSET
    reset_seconds: float | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class Conversation(Record):
    """The default conversation of a session."""

    id: str | UnsetType | None = UNSET
    object: str | UnsetType | None = UNSET


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

    audio_tokens: int | UnsetType | None = UNSET
    text_tokens: int | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class TranscriptTokenUsage(Record):
    """Transcription usage billed by tokens."""

    TYPE: ClassVar[str] = "tokens"
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_token_details: TranscriptTokenDetails | UnsetType | None = UNSET


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
