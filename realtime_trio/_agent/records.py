"""The records of the conversation layer (no trio here).

`ItemState` and `ResponseState` are the live entries of a `ConversationState`:
mutable, updated in place as events are applied, and meant to be read, not
written. `UsageTotals`, `TranscriptionTotals` and `Interruption` are frozen
snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from .._audio.formats import AudioFormat
from .._core.item_models import ConversationItem
from .._core.response_models import (
    Response,
    StatusDetails,
    TranscriptDurationUsage,
    TranscriptionError,
    TranscriptTokenUsage,
    TranscriptUsage,
    Usage,
)
from .._core.sentinel import UnsetType


def _int(value: int | UnsetType | None) -> int:
    return value if isinstance(value, int) else 0


@attrs.define(eq=False, kw_only=True)
class ItemState:
    """One item of the conversation, as the events built it so far.

    Read it; do not change it: `ConversationState.apply` does.

    Attributes:
        id: The item's id.
        type: The item's ``type``: ``"message"``, ``"function_call"``,
            ``"function_call_output"``, ``"mcp_approval_request"``, ...
        role: ``"user"``, ``"assistant"`` or ``"system"`` for messages, else None.
        status: ``"in_progress"``, ``"completed"`` or ``"incomplete"``, as last reported.
        in_conversation: False for the items of an out-of-band response
            (``conversation: "none"``), which are not part of the conversation.
        response_id: The response that produced it (None for items of the
            user or the application).
        texts: The text of each text content part, by content index
            (``input_text``, ``output_text``).
        transcripts: The transcript of each assistant audio part, by content index.
        input_transcript: The transcription of the user's audio, as far as
            it has arrived (None: no transcription event yet).
        transcription_status: ``"in_progress"``, ``"completed"`` or
            ``"failed"`` (None: no transcription).
        transcription_error: Why the transcription failed.
        audio_bytes: Bytes of output audio received for it (counted from the
            base64 length of the deltas, without decoding).
        audio_format: The format of that audio.
        audio_content_index: The content index of its audio part.
        audio: The received audio itself, decoded, when the state keeps audio
            (``keep_audio_bytes``) and this item's audio is still within the
            budget; else None.
        audio_end_ms: Where the item was truncated
            (``conversation.item.truncated``), or None.
        name: The function (or MCP tool) name of a call.
        call_id: The ``call_id`` of a function call or its output.
        arguments: The JSON arguments of a call, as far as they have arrived.
        output: The output of a function call (from its
            ``function_call_output`` item) or of an MCP call.
        server_label: The MCP server of an MCP item.
        approval_request_id: The request an ``mcp_approval_response`` answers.
        approved: For an ``mcp_approval_request``: True or False once
            answered, None while pending (also on the answer item).
        item: The item's record as the server last reported it (no audio bytes).
        deleted: The item was deleted (``conversation.item.deleted``).
    """

    id: str
    type: str
    role: str | None = None
    status: str | None = None
    in_conversation: bool = True
    response_id: str | None = None
    texts: dict[int, str] = attrs.field(factory=dict)
    transcripts: dict[int, str] = attrs.field(factory=dict)
    input_transcript: str | None = None
    transcription_status: str | None = None
    transcription_error: TranscriptionError | None = None
    audio_bytes: int = 0
    audio_format: AudioFormat | None = None
    audio_content_index: int = 0
    audio: bytearray | None = attrs.field(default=None, repr=False)
    audio_end_ms: int | None = None
    name: str | None = None
    call_id: str | None = None
    arguments: str | None = None
    output: str | None = None
    server_label: str | None = None
    approval_request_id: str | None = None
    approved: bool | None = None
    item: ConversationItem | None = attrs.field(default=None, repr=False)
    deleted: bool = False

    @property
    def text(self) -> str:
        """The text of the item's text parts, joined in order."""
        return "".join(self.texts[i] for i in sorted(self.texts))

    @property
    def transcript(self) -> str:
        """The transcript of the item's audio parts, joined in order."""
        return "".join(self.transcripts[i] for i in sorted(self.transcripts))

    @property
    def audio_ms(self) -> float:
        """Milliseconds of output audio received for the item."""
        fmt = self.audio_format
        if fmt is None or not self.audio_bytes:
            return 0.0
        return self.audio_bytes * 1000 / fmt.bytes_per_second

    @property
    def done(self) -> bool:
        """Whether the item is final (completed, incomplete or deleted)."""
        return self.deleted or self.status in ("completed", "incomplete")

    @property
    def spoken_text(self) -> str:
        """What the item says as text: its text, else its transcripts.

        For a user audio message that is the input transcript, for an
        assistant audio message the audio transcript.
        """
        text = self.text or self.transcript
        if not text and self.input_transcript:
            text = self.input_transcript
        return text


@attrs.define(eq=False, kw_only=True)
class ResponseState:
    """One response, from its ``response.created`` to its ``response.done``.

    Attributes:
        id: The response's id.
        status: ``"in_progress"``, then ``"completed"``, ``"cancelled"``,
            ``"failed"`` or ``"incomplete"`` (None when a malformed
            ``response.done`` ended it without a readable status).
        status_details: Why it ended as it did.
        usage: Its token usage (from ``response.done``).
        in_conversation: False for an out-of-band response (``conversation: "none"``).
        output_item_ids: The ids of its output items, in order.
        metadata: The metadata echoed by the server.
        audio_format: The format of its output audio.
        response: The record of its last ``response.created`` or ``response.done``.
        done: Whether ``response.done`` arrived (a malformed one counts).
    """

    id: str
    status: str | None = "in_progress"
    status_details: StatusDetails | None = None
    usage: Usage | None = None
    in_conversation: bool = True
    output_item_ids: list[str] = attrs.field(factory=list)
    metadata: Mapping[str, str] | None = None
    audio_format: AudioFormat | None = None
    response: Response | None = attrs.field(default=None, repr=False)
    done: bool = False


@attrs.frozen(kw_only=True)
class UsageTotals:
    """Token usage summed over the responses of a conversation, by kind.

    Every field is the sum of the same field of each response's ``usage``
    (a field a response did not report counts 0).

    Attributes:
        responses: How many responses reported usage.
        total_tokens: All tokens.
        input_tokens: Input tokens.
        output_tokens: Output tokens.
        input_text_tokens: Input text tokens.
        input_audio_tokens: Input audio tokens.
        input_image_tokens: Input image tokens.
        cached_tokens: Cached input tokens (a subset of the input tokens).
        cached_text_tokens: Cached input text tokens.
        cached_audio_tokens: Cached input audio tokens.
        cached_image_tokens: Cached input image tokens.
        output_text_tokens: Output text tokens.
        output_audio_tokens: Output audio tokens.
        reasoning_tokens: Output tokens a reasoning model spent thinking.
    """

    responses: int = 0
    total_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    input_image_tokens: int = 0
    cached_tokens: int = 0
    cached_text_tokens: int = 0
    cached_audio_tokens: int = 0
    cached_image_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0
    reasoning_tokens: int = 0

    def plus(self, usage: Usage) -> UsageTotals:
        """These totals with one more response's ``usage`` added."""
        counts = usage_counts(usage)
        return UsageTotals(
            responses=self.responses + 1,
            **{k: getattr(self, k) + v for k, v in counts.items()},
        )


def usage_counts(usage: Usage) -> dict[str, int]:
    """The fields of `UsageTotals` (but ``responses``) for one ``usage`` record."""
    inp = usage.input_token_details
    out = usage.output_token_details
    cached = getattr(inp, "cached_tokens_details", None)
    return {
        "total_tokens": _int(usage.total_tokens),
        "input_tokens": _int(usage.input_tokens),
        "output_tokens": _int(usage.output_tokens),
        "input_text_tokens": _int(getattr(inp, "text_tokens", None)),
        "input_audio_tokens": _int(getattr(inp, "audio_tokens", None)),
        "input_image_tokens": _int(getattr(inp, "image_tokens", None)),
        "cached_tokens": _int(getattr(inp, "cached_tokens", None)),
        "cached_text_tokens": _int(getattr(cached, "text_tokens", None)),
        "cached_audio_tokens": _int(getattr(cached, "audio_tokens", None)),
        "cached_image_tokens": _int(getattr(cached, "image_tokens", None)),
        "output_text_tokens": _int(getattr(out, "text_tokens", None)),
        "output_audio_tokens": _int(getattr(out, "audio_tokens", None)),
        "reasoning_tokens": _int(getattr(out, "reasoning_tokens", None)),
    }


@attrs.frozen(kw_only=True)
class TranscriptionTotals:
    """Usage of the input audio transcription, summed over its transcripts.

    Attributes:
        transcripts: How many completed transcriptions reported usage.
        input_tokens: Input tokens (models billed by tokens).
        output_tokens: Output tokens.
        total_tokens: All tokens.
        seconds: Seconds of audio (models billed by duration).
    """

    transcripts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    seconds: float = 0.0

    def plus(self, usage: TranscriptUsage) -> TranscriptionTotals:
        """These totals with one more transcription's ``usage`` added."""
        if isinstance(usage, TranscriptTokenUsage):
            return attrs.evolve(
                self,
                transcripts=self.transcripts + 1,
                input_tokens=self.input_tokens + usage.input_tokens,
                output_tokens=self.output_tokens + usage.output_tokens,
                total_tokens=self.total_tokens + usage.total_tokens,
            )
        if isinstance(usage, TranscriptDurationUsage):
            return attrs.evolve(
                self,
                transcripts=self.transcripts + 1,
                seconds=self.seconds + usage.seconds,
            )
        return self


@attrs.frozen(kw_only=True)
class Interruption:
    """What the conversation layer did to cut the assistant off.

    The layer delivers one in the event stream right after the
    ``input_audio_buffer.speech_started`` that caused a barge-in, and
    `RealtimeConversation.interrupt` returns one.

    Attributes:
        reason: ``"speech_started"`` (a barge-in) or ``"interrupt"``
            (`RealtimeConversation.interrupt`).
        response_id: The response in progress, if there was one.
        cancelled: Whether the layer sent ``response.cancel`` (not when the
            server cancels by itself, with ``interrupt_response`` on).
        item_id: The assistant item that was playing, if any.
        content_index: Its audio content part.
        played_ms: How much of its audio had been played, in milliseconds
            (clamped to the audio received).
        audio_end_ms: Where the layer truncated the item
            (``conversation.item.truncate``), or None when it did not
            (nothing played, nothing unheard, or the server does it).
        discarded_samples: Samples of received audio that were never played.
        discarded_ms: The same, in milliseconds.
        cleared: Whether the layer sent ``output_audio_buffer.clear`` (sideband).
        tools_cancelled: How many running tool calls were cancelled.
    """

    reason: str
    response_id: str | None = None
    cancelled: bool = False
    item_id: str | None = None
    content_index: int = 0
    played_ms: float = 0.0
    audio_end_ms: int | None = None
    discarded_samples: int = 0
    discarded_ms: float = 0.0
    cleared: bool = False
    tools_cancelled: int = 0
