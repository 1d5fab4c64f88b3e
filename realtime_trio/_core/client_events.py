"""Client events: what we send to the server (protocol reference section 2).

Every class carries its wire tag in ``TYPE``; the converter writes it as the
``"type"`` key. ``event_id`` is optional: the server echoes it in the
``error`` event when the event fails, which is how the correlated helpers of
`RealtimeConnection` match errors to requests.
"""

from __future__ import annotations

import attrs

from .item_models import ConversationItem
from .record import Record
from .response_models import ResponseCreateParams
from .sentinel import UNSET, UnsetType
from .session_models import AnySessionConfig


@attrs.frozen(kw_only=True)
class ClientEvent(Record):
    """Base class of the events a client sends."""

    event_id: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class SessionUpdate(ClientEvent):
    """Change the session; only the fields set in ``session`` change."""

    TYPE = "session.update"
    session: AnySessionConfig


@attrs.frozen(kw_only=True)
class InputAudioBufferAppend(ClientEvent):
    """Append base64 audio (in the session's input format) to the input buffer."""

    TYPE = "input_audio_buffer.append"
    audio: str


@attrs.frozen(kw_only=True)
class InputAudioBufferCommit(ClientEvent):
    """Turn the buffered input audio into a user message item."""

    TYPE = "input_audio_buffer.commit"


@attrs.frozen(kw_only=True)
class InputAudioBufferClear(ClientEvent):
    """Discard the buffered input audio."""

    TYPE = "input_audio_buffer.clear"


@attrs.frozen(kw_only=True)
class OutputAudioBufferClear(ClientEvent):
    """Cut off the audio the server is playing on a WebRTC or SIP call."""

    TYPE = "output_audio_buffer.clear"


@attrs.frozen(kw_only=True)
class ConversationItemCreate(ClientEvent):
    """Add an item to the conversation (after ``previous_item_id``, or at the end)."""

    TYPE = "conversation.item.create"
    item: ConversationItem
    previous_item_id: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class ConversationItemRetrieve(ClientEvent):
    """Ask for the server's full copy of an item, audio included."""

    TYPE = "conversation.item.retrieve"
    item_id: str


@attrs.frozen(kw_only=True)
class ConversationItemTruncate(ClientEvent):
    """Cut an assistant audio item at ``audio_end_ms`` (what the user heard)."""

    TYPE = "conversation.item.truncate"
    item_id: str
    content_index: int
    audio_end_ms: int


@attrs.frozen(kw_only=True)
class ConversationItemDelete(ClientEvent):
    """Remove an item from the conversation."""

    TYPE = "conversation.item.delete"
    item_id: str


@attrs.frozen(kw_only=True)
class ResponseCreate(ClientEvent):
    """Ask the model for a response, optionally with per-response overrides."""

    TYPE = "response.create"
    response: ResponseCreateParams | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class ResponseCancel(ClientEvent):
    """Cancel a response in progress (the default conversation's, if no id)."""

    TYPE = "response.cancel"
    response_id: str | UnsetType | None = UNSET


CLIENT_EVENT_CLASSES: tuple[type[ClientEvent], ...] = (
    SessionUpdate,
    InputAudioBufferAppend,
    InputAudioBufferCommit,
    InputAudioBufferClear,
    OutputAudioBufferClear,
    ConversationItemCreate,
    ConversationItemRetrieve,
    ConversationItemTruncate,
    ConversationItemDelete,
    ResponseCreate,
    ResponseCancel,
)
