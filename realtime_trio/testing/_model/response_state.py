"""What has been sent of one simulated response, and what it reports (sans-IO).

A `ResponseRun` (see `response_run`) yields the events of a response; the
trio shell sends them and reports each one back. `ResponseState` keeps what
those sent events said: the output items (`OutputItemState`), the audio
played, whether ``response.done`` went out. Everything reported later is
built from it alone: the response object of ``response.done`` with its
usage, the conversation's copies of the items, and the tail that ends a
cancelled response, so that tail always matches what the client saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import attrs

from ..._core.item_models import (
    AudioPart,
    ConversationItem,
    FunctionCallItem,
    MessageItem,
    OutputAudio,
    OutputText,
    TextPart,
)
from ..._core.response_models import (
    CachedTokenDetails,
    InputTokenDetails,
    OutputTokenDetails,
    Response,
    ResponseAudio,
    ResponseAudioOutput,
    StatusDetails,
    Usage,
)
from ..._core.serde import get_codec
from ..._core.server_events import (
    ConversationItemDone,
    OutputAudioBufferCleared,
    OutputAudioBufferStopped,
    ResponseContentPartAdded,
    ResponseContentPartDone,
    ResponseDone,
    ResponseFunctionCallArgumentsDelta,
    ResponseOutputAudioDelta,
    ResponseOutputAudioDone,
    ResponseOutputAudioTranscriptDelta,
    ResponseOutputAudioTranscriptDone,
    ResponseOutputItemAdded,
    ResponseOutputItemDone,
    ResponseOutputTextDelta,
    ResponseOutputTextDone,
    ServerEvent,
    UnknownEvent,
)
from ..._core.session_models import AudioFormatConfig, VoiceId
from .conversation import Conversation, StoredItem, added_item
from .ids import IdFactory
from .rendering import ResponseSettings


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


@attrs.define(kw_only=True, eq=False)
class ResponseState:
    """What has been sent of one response (see the module docstring).

    Attributes:
        id: The ``resp_...`` id.
        settings: The effective settings of the response.
        ids: Where the ids of the cancellation tail's events come from.
        conversation: The default conversation, or None out of band.
        input_tokens: The response's input usage.
        items: The output items, in order.
        done: ``response.done`` was sent.
        status: The status ``response.done`` reported (``in_progress`` before).
        audio_ms: Playback time of the audio sent, for ``idle_timeout_ms``.
        first_audio_at: When the first audio delta was sent (trio time),
            for ``idle_timeout_ms``.
        playing: The call's output audio buffer started playing this
            response (``output_audio_buffer.started``).
        cut_at: When the call's output audio of it was cleared (trio
            time): the caller heard nothing of it after that.
    """

    id: str
    settings: ResponseSettings
    ids: IdFactory
    conversation: Conversation | None
    input_tokens: int
    items: list[OutputItemState] = attrs.field(factory=list)
    done: bool = False
    status: str = "in_progress"
    audio_ms: float = 0.0
    first_audio_at: float | None = None
    playing: bool = False
    cut_at: float | None = None

    def observe(
        self, event: ServerEvent | UnknownEvent, now: float | None = None
    ) -> None:
        """Record that ``event`` was sent at ``now``."""
        if isinstance(event, ResponseOutputItemAdded):
            state = OutputItemState.from_added(event.item)
            self.items.append(state)
            if self.conversation is not None:
                state.stored = StoredItem(
                    record=state.record(), bytes_per_ms=self.settings.bytes_per_ms
                )
                state.previous_id = self.conversation.insert(state.stored)
            return
        if isinstance(event, OutputAudioBufferCleared):
            if now is not None and self.cut_at is None:
                self.cut_at = now
            return
        if isinstance(event, ResponseDone):
            self.done = True
            self.status = (
                event.response.status
                if isinstance(event.response.status, str)
                else "completed"
            )
            return
        index = getattr(event, "output_index", None)
        if not isinstance(index, int) or index >= len(self.items):
            return
        state = self.items[index]
        if isinstance(event, ResponseContentPartAdded):
            state.open_part("audio" if event.part.TYPE == "audio" else "text")
        elif isinstance(
            event, ResponseOutputTextDelta | ResponseOutputAudioTranscriptDelta
        ):
            state.text += event.delta
        elif isinstance(event, ResponseOutputAudioDelta):
            chunk = self.settings.decode(event.delta)
            if self.first_audio_at is None:
                self.first_audio_at = now
            state.audio.extend(chunk)
            self.audio_ms += len(chunk) / self.settings.bytes_per_ms
        elif isinstance(event, ResponseFunctionCallArgumentsDelta):
            state.arguments += event.delta
        elif isinstance(event, ResponseContentPartDone):
            state.part_open = False
        elif isinstance(event, ResponseOutputItemDone):
            state.closed = True
            state.status = "completed" if event.item is not None else state.status
        state.sync()

    def response(self, status: str, details: StatusDetails | None = None) -> Response:
        """The response object of ``response.created`` / ``response.done``."""
        settings = self.settings
        codec = get_codec()
        voice: Any = settings.voice
        if isinstance(voice, Mapping):
            voice = codec.structure(dict(voice), VoiceId)
        final = status != "in_progress"
        return Response(
            object="realtime.response",
            id=self.id,
            status=status,
            status_details=details,
            output=tuple(added_item(state.record()) for state in self.items)
            if final
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
            usage=self.usage() if final else None,
            metadata=dict(settings.metadata) if settings.metadata else None,
        )

    def usage(self) -> Usage:
        """Deterministic usage: 4 characters per text token, 50 ms per audio token."""
        text_out = sum(_tokens(s.text) + _tokens(s.arguments) for s in self.items)
        audio_out = round(self.audio_ms / 50)
        output = text_out + audio_out
        return Usage(
            total_tokens=self.input_tokens + output,
            input_tokens=self.input_tokens,
            output_tokens=output,
            input_token_details=InputTokenDetails(
                text_tokens=self.input_tokens,
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

    def cancel_tail(self, reason: str) -> list[ServerEvent]:
        """Return the events that end this response as cancelled (given what was sent)."""
        if self.done:
            return []
        ids = self.ids
        tail: list[ServerEvent] = []
        for index, state in enumerate(self.items):
            if state.closed:
                continue
            common: dict[str, Any] = {
                "response_id": self.id,
                "item_id": state.id,
                "output_index": index,
                "content_index": 0,
            }
            if state.part_open and state.part_kind == "audio":
                tail.append(ResponseOutputAudioDone(event_id=ids.event(), **common))
                tail.append(
                    ResponseOutputAudioTranscriptDone(
                        event_id=ids.event(), transcript=state.text, **common
                    )
                )
                tail.append(
                    ResponseContentPartDone(
                        event_id=ids.event(),
                        part=AudioPart(transcript=state.text),
                        **common,
                    )
                )
            elif state.part_open:
                tail.append(
                    ResponseOutputTextDone(
                        event_id=ids.event(), text=state.text, **common
                    )
                )
                tail.append(
                    ResponseContentPartDone(
                        event_id=ids.event(), part=TextPart(text=state.text), **common
                    )
                )
            state.status = "incomplete"
            item = state.record(status="incomplete")
            tail.append(
                ResponseOutputItemDone(
                    event_id=ids.event(),
                    response_id=self.id,
                    output_index=index,
                    item=item,
                )
            )
            if self.conversation is not None:
                tail.append(
                    ConversationItemDone(
                        event_id=ids.event(),
                        item=added_item(item),
                        previous_item_id=state.previous_id,
                    )
                )
        details = StatusDetails(type="cancelled", reason=reason)
        tail.append(
            ResponseDone(
                event_id=ids.event(), response=self.response("cancelled", details)
            )
        )
        if self.playing:
            # On a call a barge-in cuts off the audio being played; otherwise
            # what was sent plays out.
            kind = (
                OutputAudioBufferCleared
                if reason == "turn_detected"
                else OutputAudioBufferStopped
            )
            tail.append(kind(event_id=ids.event(), response_id=self.id))
        return tail


def _tokens(text: str) -> int:
    return (len(text) + 3) // 4


def input_tokens(items: list[StoredItem], instructions: str) -> int:
    """Deterministic input usage of a response over ``items``."""
    total = _tokens(instructions)
    for stored in items:
        total += 4 + round(stored.audio_ms / 50)
        total += _tokens(get_codec().encode(stored.record)) // 4
    return total
