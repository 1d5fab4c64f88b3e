"""Session configuration records (protocol reference section 4.1 to 4.4).

`SessionConfig` is used by ``session.update``, by the ``accept`` call of the
SIP flow and by client secrets; the server reports the same shape (plus
``id``, ``object`` and ``expires_at``) in ``session.created`` and
``session.updated``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeAlias

import attrs

from .record import Record, UnknownObject
from .sentinel import UNSET, UnsetType

# --- audio formats ---------------------------------------------------------


@attrs.frozen(kw_only=True)
class AudioPCM(Record):
    """``audio/pcm``: 16-bit little-endian mono PCM at 24 kHz (the only rate)."""

    TYPE: ClassVar[str] = "audio/pcm"
    rate: int | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class AudioPCMU(Record):
    """``audio/pcmu``: G.711 µ-law at 8 kHz."""

    TYPE: ClassVar[str] = "audio/pcmu"


@attrs.frozen(kw_only=True)
class AudioPCMA(Record):
    """``audio/pcma``: G.711 A-law at 8 kHz."""

    TYPE: ClassVar[str] = "audio/pcma"


AudioFormatConfig: TypeAlias = AudioPCM | AudioPCMU | AudioPCMA | UnknownObject

# --- input processing ------------------------------------------------------


@attrs.frozen(kw_only=True)
class NoiseReduction(Record):
    """Input noise reduction: ``type`` is ``"near_field"`` or ``"far_field"``.

    ``strength`` sets how much noise is suppressed (higher is more; 1 when
    noise reduction is first switched on, kept when left out of an update).
    """

    type: str | UnsetType | None = UNSET
    strength: float | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class AudioTranscription(Record):
    """Asynchronous transcription of the input audio (guidance, not what the model heard).

    ``model`` is for example ``"gpt-transcribe"``, ``"gpt-live-transcribe"``
    or ``"gpt-realtime-whisper"``. ``languages`` (possible ISO-639-1 codes)
    and ``keywords`` (words to listen for) are for ``gpt-transcribe`` and
    ``gpt-live-transcribe``; ``delay`` (``"minimal"``, ``"low"``,
    ``"medium"``, ``"high"`` or ``"xhigh"``: later but more accurate) is for
    ``gpt-realtime-whisper``.
    """

    model: str | UnsetType | None = UNSET
    language: str | UnsetType | None = UNSET
    languages: tuple[str, ...] | UnsetType | None = UNSET
    keywords: tuple[str, ...] | UnsetType | None = UNSET
    prompt: str | UnsetType | None = UNSET
    delay: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class ServerVad(Record):
    """Voice activity detection on signal level (``server_vad``).

    ``threshold`` (0.0 to 1.0) sets how loud speech must be; ``prefix_padding_ms``
    and ``silence_duration_ms`` shape the detected turn; ``idle_timeout_ms``
    triggers a response after that long without speech.
    """

    TYPE: ClassVar[str] = "server_vad"
    threshold: float | UnsetType | None = UNSET
    prefix_padding_ms: int | UnsetType | None = UNSET
    silence_duration_ms: int | UnsetType | None = UNSET
    create_response: bool | UnsetType | None = UNSET
    interrupt_response: bool | UnsetType | None = UNSET
    idle_timeout_ms: int | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class SemanticVad(Record):
    """Turn detection by a model that judges whether the user has finished."""

    TYPE: ClassVar[str] = "semantic_vad"
    eagerness: str | UnsetType | None = UNSET
    create_response: bool | UnsetType | None = UNSET
    interrupt_response: bool | UnsetType | None = UNSET


TurnDetection: TypeAlias = ServerVad | SemanticVad | UnknownObject


@attrs.frozen(kw_only=True)
class AudioInput(Record):
    """``session.audio.input``: format and processing of the audio we send."""

    format: AudioFormatConfig | UnsetType | None = UNSET
    noise_reduction: NoiseReduction | UnsetType | None = UNSET
    transcription: AudioTranscription | UnsetType | None = UNSET
    turn_detection: TurnDetection | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class VoiceId(Record):
    """A custom voice, by id (``{"id": "voice_..."}``)."""

    id: str


@attrs.frozen(kw_only=True)
class AudioOutput(Record):
    """``session.audio.output``: format, voice and speed of the model's audio."""

    format: AudioFormatConfig | UnsetType | None = UNSET
    voice: str | VoiceId | UnsetType | None = UNSET
    speed: float | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class AudioConfig(Record):
    """``session.audio``."""

    input: AudioInput | UnsetType | None = UNSET
    output: AudioOutput | UnsetType | None = UNSET


# --- tools -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FunctionTool(Record):
    """A function the model may call; ``parameters`` is a JSON Schema object."""

    TYPE: ClassVar[str] = "function"
    name: str | UnsetType | None = UNSET
    description: str | UnsetType | None = UNSET
    parameters: Mapping[str, Any] | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class McpToolFilter(Record):
    """Selects MCP tools by name and/or by their read-only hint."""

    tool_names: tuple[str, ...] | UnsetType | None = UNSET
    read_only: bool | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class McpRequireApproval(Record):
    """Which MCP tools always or never need the app's approval."""

    always: McpToolFilter | UnsetType | None = UNSET
    never: McpToolFilter | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class McpTool(Record):
    """A remote MCP server whose tools OpenAI calls on the model's behalf."""

    TYPE: ClassVar[str] = "mcp"
    server_label: str
    server_url: str | UnsetType | None = UNSET
    connector_id: str | UnsetType | None = UNSET
    tunnel_id: str | UnsetType | None = UNSET
    authorization: str | UnsetType | None = UNSET
    headers: Mapping[str, str] | UnsetType | None = UNSET
    server_description: str | UnsetType | None = UNSET
    allowed_tools: tuple[str, ...] | McpToolFilter | UnsetType | None = UNSET
    require_approval: str | McpRequireApproval | UnsetType | None = UNSET
    allowed_callers: tuple[str, ...] | UnsetType | None = UNSET
    defer_loading: bool | UnsetType | None = UNSET


Tool: TypeAlias = FunctionTool | McpTool | UnknownObject


@attrs.frozen(kw_only=True)
class ToolChoiceFunction(Record):
    """Force a call of the named function."""

    TYPE: ClassVar[str] = "function"
    name: str


@attrs.frozen(kw_only=True)
class ToolChoiceMcp(Record):
    """Force a call of a tool of the given MCP server."""

    TYPE: ClassVar[str] = "mcp"
    server_label: str
    name: str | UnsetType | None = UNSET


#: ``"none"``, ``"auto"``, ``"required"`` or a forced tool.
ToolChoice: TypeAlias = str | ToolChoiceFunction | ToolChoiceMcp | UnknownObject

# --- the rest of the session ----------------------------------------------


@attrs.frozen(kw_only=True)
class TracingConfig(Record):
    """Traces dashboard settings (``tracing: "auto"`` uses defaults)."""

    workflow_name: str | UnsetType | None = UNSET
    group_id: str | UnsetType | None = UNSET
    metadata: Mapping[str, Any] | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class Prompt(Record):
    """A stored prompt reference; ``variables`` maps names to values."""

    id: str
    version: str | UnsetType | None = UNSET
    variables: Mapping[str, Any] | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class TokenLimits(Record):
    """Token limits of the retention-ratio truncation."""

    post_instructions: int | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class TruncationRetentionRatio(Record):
    """Trim the context down to ``retention_ratio`` of the limit when it overflows."""

    TYPE: ClassVar[str] = "retention_ratio"
    retention_ratio: float
    token_limits: TokenLimits | UnsetType | None = UNSET


#: ``"auto"``, ``"disabled"`` or a retention ratio.
Truncation: TypeAlias = str | TruncationRetentionRatio | UnknownObject


@attrs.frozen(kw_only=True)
class Reasoning(Record):
    """Reasoning of reasoning-capable realtime models, such as ``gpt-realtime-2``.

    ``effort`` is ``"minimal"``, ``"low"``, ``"medium"``, ``"high"`` or
    ``"xhigh"``.
    """

    effort: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class SessionConfig(Record):
    """A realtime (speech-to-speech) session configuration, ``type: "realtime"``.

    Every field is optional: in ``session.update`` only the fields you set are
    changed. Leave a field `UNSET` to keep the server's value; ``None`` is
    sent as JSON ``null``, which *clears* a setting (for example
    ``AudioInput(turn_detection=None)`` switches voice activity detection off).
    A field is typed ``| None`` wherever the API's types allow ``null``.

    ``id``, ``object`` and ``expires_at`` are filled in by the server in
    ``session.created`` / ``session.updated``.
    """

    TYPE: ClassVar[str] = "realtime"
    object: str | UnsetType = UNSET
    id: str | UnsetType = UNSET
    expires_at: int | UnsetType | None = UNSET
    model: str | UnsetType | None = UNSET
    instructions: str | UnsetType | None = UNSET
    output_modalities: tuple[str, ...] | UnsetType | None = UNSET
    audio: AudioConfig | UnsetType | None = UNSET
    include: tuple[str, ...] | UnsetType | None = UNSET
    tools: tuple[Tool, ...] | UnsetType | None = UNSET
    tool_choice: ToolChoice | UnsetType | None = UNSET
    parallel_tool_calls: bool | UnsetType | None = UNSET
    reasoning: Reasoning | UnsetType | None = UNSET
    max_output_tokens: int | str | UnsetType | None = UNSET
    truncation: Truncation | UnsetType | None = UNSET
    tracing: str | TracingConfig | UnsetType | None = UNSET
    prompt: Prompt | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class TranscriptionSessionConfig(Record):
    """A transcription-only session configuration, ``type: "transcription"``."""

    TYPE: ClassVar[str] = "transcription"
    object: str | UnsetType = UNSET
    id: str | UnsetType = UNSET
    expires_at: int | UnsetType | None = UNSET
    audio: AudioConfig | UnsetType | None = UNSET
    include: tuple[str, ...] | UnsetType | None = UNSET


AnySessionConfig: TypeAlias = SessionConfig | TranscriptionSessionConfig | UnknownObject
