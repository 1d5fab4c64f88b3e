"""Server events: what the server sends us (protocol reference section 3).

In lenient mode (the default) a field the schema marks required but the
payload omits holds `UNSET`; ``strict=True`` parsing raises instead.

This module is table-like: one small frozen record per server event type,
in the order of the protocol reference, and `SERVER_EVENT_CLASSES` listing
them. It is long because the protocol has that many events, not because it
holds two things (the nested objects are in ``item_models``,
``response_models`` and ``session_models``; parsing is in ``serde``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .item_models import ContentPart, ConversationItem
from .record import Record
from .response_models import (
    Conversation,
    ErrorDetail,
    LogProb,
    RateLimit,
    Response,
    TranscriptionError,
    TranscriptionLanguage,
    TranscriptUsage,
)
from .sentinel import UNSET, UnsetType
from .session_models import AnySessionConfig


@attrs.frozen(kw_only=True)
class ServerEvent(Record):
    """Base class of the events the server sends."""

    event_id: str


@attrs.frozen(kw_only=True)
class UnknownEvent(Record):
    """An event whose ``type`` this version does not know.

    It keeps the whole object in ``raw`` and dumps back to it unchanged. The
    retired beta event names (``response.audio.delta``, ...) arrive as this.
    """

    type: str
    raw: Mapping[str, Any]


# --- errors, session, conversation ----------------------------------------


@attrs.frozen(kw_only=True)
class ErrorEvent(ServerEvent):
    """An error; most are not fatal and the connection stays open."""

    TYPE = "error"
    error: ErrorDetail


@attrs.frozen(kw_only=True)
class SessionCreated(ServerEvent):
    """The first event of a connection: the session as the server created it."""

    TYPE = "session.created"
    session: AnySessionConfig


@attrs.frozen(kw_only=True)
class SessionUpdated(ServerEvent):
    """The full effective session after a ``session.update``."""

    TYPE = "session.updated"
    session: AnySessionConfig


@attrs.frozen(kw_only=True)
class ConversationCreated(ServerEvent):
    """The default conversation was created."""

    TYPE = "conversation.created"
    conversation: Conversation


@attrs.frozen(kw_only=True)
class ConversationItemCreated(ServerEvent):
    """An item was created (legacy name; GA servers send ``added``/``done``)."""

    TYPE = "conversation.item.created"
    item: ConversationItem
    previous_item_id: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class ConversationItemAdded(ServerEvent):
    """An item entered the default conversation (content without audio bytes)."""

    TYPE = "conversation.item.added"
    item: ConversationItem
    previous_item_id: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class ConversationItemDone(ServerEvent):
    """An item is final (content without audio bytes)."""

    TYPE = "conversation.item.done"
    item: ConversationItem
    previous_item_id: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class ConversationItemRetrieved(ServerEvent):
    """The server's full copy of an item, audio included."""

    TYPE = "conversation.item.retrieved"
    item: ConversationItem


@attrs.frozen(kw_only=True)
class ConversationItemTruncated(ServerEvent):
    """An assistant audio item was truncated."""

    TYPE = "conversation.item.truncated"
    item_id: str
    content_index: int
    audio_end_ms: int


@attrs.frozen(kw_only=True)
class ConversationItemDeleted(ServerEvent):
    """An item was deleted."""

    TYPE = "conversation.item.deleted"
    item_id: str


# --- input audio transcription --------------------------------------------


@attrs.frozen(kw_only=True)
class ConversationItemInputAudioTranscriptionDelta(ServerEvent):
    """A piece of the transcript of a user audio item."""

    TYPE = "conversation.item.input_audio_transcription.delta"
    item_id: str
    content_index: int | UnsetType | None = UNSET
    delta: str | UnsetType | None = UNSET
    logprobs: tuple[LogProb, ...] | UnsetType | None = UNSET
    obfuscation: str | UnsetType = UNSET


@attrs.frozen(kw_only=True)
class ConversationItemInputAudioTranscriptionCompleted(ServerEvent):
    """The transcript of a user audio item (arrives asynchronously; match by item)."""

    TYPE = "conversation.item.input_audio_transcription.completed"
    item_id: str
    content_index: int
    transcript: str
    usage: TranscriptUsage
    logprobs: tuple[LogProb, ...] | UnsetType | None = UNSET
    languages: tuple[TranscriptionLanguage, ...] | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class ConversationItemInputAudioTranscriptionFailed(ServerEvent):
    """Transcribing a user audio item failed."""

    TYPE = "conversation.item.input_audio_transcription.failed"
    item_id: str
    content_index: int
    error: TranscriptionError


@attrs.frozen(kw_only=True)
class ConversationItemInputAudioTranscriptionSegment(ServerEvent):
    """A diarized segment of a user audio item's transcript."""

    TYPE = "conversation.item.input_audio_transcription.segment"
    item_id: str
    content_index: int
    id: str
    text: str
    speaker: str
    start: float
    end: float


# --- input audio buffer ----------------------------------------------------


@attrs.frozen(kw_only=True)
class InputAudioBufferCommitted(ServerEvent):
    """The input buffer was committed into the user item ``item_id``."""

    TYPE = "input_audio_buffer.committed"
    item_id: str
    previous_item_id: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class InputAudioBufferCleared(ServerEvent):
    """The input buffer was cleared."""

    TYPE = "input_audio_buffer.cleared"


@attrs.frozen(kw_only=True)
class InputAudioBufferSpeechStarted(ServerEvent):
    """Voice activity detection heard speech start (stop playback on barge-in)."""

    TYPE = "input_audio_buffer.speech_started"
    audio_start_ms: int
    item_id: str


@attrs.frozen(kw_only=True)
class InputAudioBufferSpeechStopped(ServerEvent):
    """Voice activity detection heard speech end."""

    TYPE = "input_audio_buffer.speech_stopped"
    audio_end_ms: int
    item_id: str


@attrs.frozen(kw_only=True)
class InputAudioBufferTimeoutTriggered(ServerEvent):
    """No speech for ``idle_timeout_ms``: the silence was committed and answered."""

    TYPE = "input_audio_buffer.timeout_triggered"
    audio_start_ms: int
    audio_end_ms: int
    item_id: str


@attrs.frozen(kw_only=True)
class InputAudioBufferDtmfEventReceived(ServerEvent):
    """A key was pressed on a SIP call (``event`` is ``0``-``9``, ``*``, ``#``, ``A``-``D``)."""

    TYPE = "input_audio_buffer.dtmf_event_received"
    event_id: str | UnsetType = UNSET  # type: ignore[assignment]  # none in the schema
    event: str
    received_at: int


# --- output audio buffer (WebRTC and SIP) ---------------------------------


@attrs.frozen(kw_only=True)
class OutputAudioBufferStarted(ServerEvent):
    """The server started playing a response's audio on the call."""

    TYPE = "output_audio_buffer.started"
    response_id: str


@attrs.frozen(kw_only=True)
class OutputAudioBufferStopped(ServerEvent):
    """The call's output audio buffer drained."""

    TYPE = "output_audio_buffer.stopped"
    response_id: str


@attrs.frozen(kw_only=True)
class OutputAudioBufferCleared(ServerEvent):
    """The call's output audio buffer was cleared."""

    TYPE = "output_audio_buffer.cleared"
    response_id: str


# --- responses -------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ResponseCreated(ServerEvent):
    """A response started (``status: "in_progress"``)."""

    TYPE = "response.created"
    response: Response


@attrs.frozen(kw_only=True)
class ResponseDone(ServerEvent):
    """A response ended: completed, cancelled, failed or incomplete."""

    TYPE = "response.done"
    response: Response


@attrs.frozen(kw_only=True)
class ResponseOutputItemAdded(ServerEvent):
    """A response started an output item."""

    TYPE = "response.output_item.added"
    response_id: str
    output_index: int
    item: ConversationItem


@attrs.frozen(kw_only=True)
class ResponseOutputItemDone(ServerEvent):
    """An output item of a response is final."""

    TYPE = "response.output_item.done"
    response_id: str
    output_index: int
    item: ConversationItem


@attrs.frozen(kw_only=True)
class ResponseContentPartAdded(ServerEvent):
    """A content part was added to an output item."""

    TYPE = "response.content_part.added"
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    part: ContentPart


@attrs.frozen(kw_only=True)
class ResponseContentPartDone(ServerEvent):
    """A content part of an output item is final."""

    TYPE = "response.content_part.done"
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    part: ContentPart


@attrs.frozen(kw_only=True)
class ResponseOutputTextDelta(ServerEvent):
    """A piece of text output."""

    TYPE = "response.output_text.delta"
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: str


@attrs.frozen(kw_only=True)
class ResponseOutputTextDone(ServerEvent):
    """The final text of a content part."""

    TYPE = "response.output_text.done"
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    text: str


@attrs.frozen(kw_only=True)
class ResponseOutputAudioDelta(ServerEvent):
    """A chunk of output audio, base64 in the session's output format.

    Decode it with `realtime_trio.audio.decode_audio`.
    """

    TYPE = "response.output_audio.delta"
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: str


@attrs.frozen(kw_only=True)
class ResponseOutputAudioDone(ServerEvent):
    """The output audio of a content part is complete (no payload)."""

    TYPE = "response.output_audio.done"
    response_id: str
    item_id: str
    output_index: int
    content_index: int


@attrs.frozen(kw_only=True)
class ResponseOutputAudioTranscriptDelta(ServerEvent):
    """A piece of the transcript of the output audio."""

    TYPE = "response.output_audio_transcript.delta"
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: str
    obfuscation: str | UnsetType = UNSET


@attrs.frozen(kw_only=True)
class ResponseOutputAudioTranscriptDone(ServerEvent):
    """The final transcript of the output audio."""

    TYPE = "response.output_audio_transcript.done"
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    transcript: str


@attrs.frozen(kw_only=True)
class ResponseFunctionCallArgumentsDelta(ServerEvent):
    """A fragment of a function call's JSON arguments."""

    TYPE = "response.function_call_arguments.delta"
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    delta: str


@attrs.frozen(kw_only=True)
class ResponseFunctionCallArgumentsDone(ServerEvent):
    """A function call is complete: call ``name`` with ``arguments`` (JSON)."""

    TYPE = "response.function_call_arguments.done"
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    name: str
    arguments: str


@attrs.frozen(kw_only=True)
class RateLimitsUpdated(ServerEvent):
    """Rate limits, updated when a response starts and ends."""

    TYPE = "rate_limits.updated"
    rate_limits: tuple[RateLimit, ...]


# --- MCP -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class McpListToolsInProgress(ServerEvent):
    """Listing the tools of an MCP server started."""

    TYPE = "mcp_list_tools.in_progress"
    item_id: str


@attrs.frozen(kw_only=True)
class McpListToolsCompleted(ServerEvent):
    """Listing the tools of an MCP server succeeded."""

    TYPE = "mcp_list_tools.completed"
    item_id: str


@attrs.frozen(kw_only=True)
class McpListToolsFailed(ServerEvent):
    """Listing the tools of an MCP server failed."""

    TYPE = "mcp_list_tools.failed"
    item_id: str


@attrs.frozen(kw_only=True)
class ResponseMcpCallArgumentsDelta(ServerEvent):
    """A fragment of an MCP call's JSON arguments."""

    TYPE = "response.mcp_call_arguments.delta"
    response_id: str
    item_id: str
    output_index: int
    delta: str
    obfuscation: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class ResponseMcpCallArgumentsDone(ServerEvent):
    """The complete JSON arguments of an MCP call."""

    TYPE = "response.mcp_call_arguments.done"
    response_id: str
    item_id: str
    output_index: int
    arguments: str


@attrs.frozen(kw_only=True)
class ResponseMcpCallInProgress(ServerEvent):
    """An MCP call started."""

    TYPE = "response.mcp_call.in_progress"
    item_id: str
    output_index: int


@attrs.frozen(kw_only=True)
class ResponseMcpCallCompleted(ServerEvent):
    """An MCP call succeeded."""

    TYPE = "response.mcp_call.completed"
    item_id: str
    output_index: int


@attrs.frozen(kw_only=True)
class ResponseMcpCallFailed(ServerEvent):
    """An MCP call failed."""

    TYPE = "response.mcp_call.failed"
    item_id: str
    output_index: int


SERVER_EVENT_CLASSES: tuple[type[ServerEvent], ...] = (
    ErrorEvent,
    SessionCreated,
    SessionUpdated,
    ConversationCreated,
    ConversationItemCreated,
    ConversationItemAdded,
    ConversationItemDone,
    ConversationItemRetrieved,
    ConversationItemTruncated,
    ConversationItemDeleted,
    ConversationItemInputAudioTranscriptionDelta,
    ConversationItemInputAudioTranscriptionCompleted,
    ConversationItemInputAudioTranscriptionFailed,
    ConversationItemInputAudioTranscriptionSegment,
    InputAudioBufferCommitted,
    InputAudioBufferCleared,
    InputAudioBufferSpeechStarted,
    InputAudioBufferSpeechStopped,
    InputAudioBufferTimeoutTriggered,
    InputAudioBufferDtmfEventReceived,
    OutputAudioBufferStarted,
    OutputAudioBufferStopped,
    OutputAudioBufferCleared,
    ResponseCreated,
    ResponseDone,
    ResponseOutputItemAdded,
    ResponseOutputItemDone,
    ResponseContentPartAdded,
    ResponseContentPartDone,
    ResponseOutputTextDelta,
    ResponseOutputTextDone,
    ResponseOutputAudioDelta,
    ResponseOutputAudioDone,
    ResponseOutputAudioTranscriptDelta,
    ResponseOutputAudioTranscriptDone,
    ResponseFunctionCallArgumentsDelta,
    ResponseFunctionCallArgumentsDone,
    ResponseMcpCallArgumentsDelta,
    ResponseMcpCallArgumentsDone,
    ResponseMcpCallInProgress,
    ResponseMcpCallCompleted,
    ResponseMcpCallFailed,
    McpListToolsInProgress,
    McpListToolsCompleted,
    McpListToolsFailed,
    RateLimitsUpdated,
)
