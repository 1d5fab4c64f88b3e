"""The items of one simulated session's conversation: ``conversation.item.*``.

Plain functions over the session's `SessionState`: checking a client's
item, giving it its server form, and the ``create``, ``retrieve``,
``truncate`` and ``delete`` events. `responses` uses the first two for the
items of a response's ``input``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs

from ..._audio.b64 import decode_audio
from ..._core.client_events import (
    ConversationItemCreate,
    ConversationItemDelete,
    ConversationItemTruncate,
)
from ..._core.item_models import (
    ConversationItem,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudio,
    InputImage,
    InputText,
    ItemReference,
    McpApprovalResponseItem,
    MessageItem,
    OutputAudio,
    OutputText,
)
from ..._core.sentinel import UNSET
from ..._core.server_events import (
    ConversationItemAdded,
    ConversationItemDeleted,
    ConversationItemDone,
    ConversationItemRetrieved,
    ConversationItemTruncated,
)
from .api_errors import ApiError, invalid_value
from .conversation import StoredItem, added_item
from .outputs import Output
from .state import SessionState
from .steps import Emit

_MAX_ITEM_ID: Final = 32
_ALLOWED_PARTS: Final[Mapping[str, tuple[type, ...]]] = {
    "system": (InputText,),
    "user": (InputText, InputAudio, InputImage),
    "assistant": (OutputText,),
}


def check_item(item: ConversationItem) -> None:
    """Refuse, as the real server does, an item a client may not send.

    Raises:
        ApiError: The id is too long, the item is a reference, or a
            message has a role or content part it may not have.
    """
    item_id = getattr(item, "id", UNSET)
    if isinstance(item_id, str) and len(item_id) > _MAX_ITEM_ID:
        raise ApiError(
            f"Invalid 'item.id': string too long. Expected a string with maximum length "
            f"{_MAX_ITEM_ID}, but got a string with length {len(item_id)} instead.",
            code="string_above_max_length",
            param="item.id",
        )
    if isinstance(item, ItemReference):
        raise invalid_value(
            "item_reference",
            [
                "message",
                "function_call",
                "function_call_output",
                "mcp_approval_response",
            ],
            "item.type",
        )
    if isinstance(item, MessageItem):
        allowed = _ALLOWED_PARTS.get(item.role)
        if allowed is None:
            raise invalid_value(item.role, _ALLOWED_PARTS, "item.role")
        for i, part in enumerate(item.content):
            if not isinstance(part, allowed):
                raise ApiError(
                    f"Invalid value: '{getattr(part, 'TYPE', '')}'. Messages with role "
                    f"'{item.role}' cannot contain this content type.",
                    code="invalid_value",
                    param=f"item.content[{i}].type",
                )


def stored_input(state: SessionState, item: ConversationItem) -> StoredItem:
    """Give a client item its server form: id, object, status; audio kept aside."""
    audio = b""
    if isinstance(item, MessageItem):
        content = []
        for i, part in enumerate(item.content):
            if isinstance(part, InputAudio):
                if isinstance(part.audio, str):
                    try:
                        audio += decode_audio(part.audio)
                    except ValueError:
                        raise ApiError(
                            "Invalid audio: expected base64-encoded audio bytes.",
                            code="invalid_value",
                            param=f"item.content[{i}].audio",
                        ) from None
                transcript = (
                    part.transcript if isinstance(part.transcript, str) else None
                )
                part = InputAudio(transcript=transcript)
            content.append(part)
        item = attrs.evolve(item, content=tuple(content))
    if isinstance(item, MessageItem | FunctionCallItem | FunctionCallOutputItem):
        item = attrs.evolve(
            item,
            id=item.id if isinstance(item.id, str) else state.ids.new("item_"),
            object="realtime.item",
            status="completed",
        )
    elif isinstance(item, McpApprovalResponseItem):
        pass
    return StoredItem(record=item, audio=audio, bytes_per_ms=state.buffer.bytes_per_ms)


def create_item(state: SessionState, event: ConversationItemCreate) -> list[Output]:
    """Handle ``conversation.item.create``."""
    check_item(event.item)
    item = event.item
    if isinstance(item, FunctionCallOutputItem) and not any(
        isinstance(s.record, FunctionCallItem) and s.record.call_id == item.call_id
        for s in state.conversation
    ):
        raise ApiError(
            f"Tool call ID '{item.call_id}' not found in conversation.",
            code="invalid_tool_call_id",
            param="item.call_id",
        )
    stored = stored_input(state, item)
    previous = state.conversation.insert(stored, event.previous_item_id)
    reported = added_item(stored.record)
    ids = state.ids
    return [
        Emit(
            ConversationItemAdded(
                event_id=ids.event(), item=reported, previous_item_id=previous
            )
        ),
        Emit(
            ConversationItemDone(
                event_id=ids.event(), item=reported, previous_item_id=previous
            )
        ),
    ]


def retrieve_item(state: SessionState, item_id: str) -> list[Output]:
    """Handle ``conversation.item.retrieve``: the item with its audio."""
    stored = state.conversation.find(item_id)
    if stored is None:
        raise ApiError(
            f"Error retrieving item: the item with id '{item_id}' does not exist.",
            code="item_retrieve_invalid_item_id",
            param="item_id",
        )
    return [
        Emit(
            ConversationItemRetrieved(
                event_id=state.ids.event(), item=stored.with_audio()
            )
        )
    ]


def truncate_item(state: SessionState, event: ConversationItemTruncate) -> list[Output]:
    """Handle ``conversation.item.truncate``: cut an assistant item's audio."""
    stored = state.conversation.find(event.item_id)
    if stored is None:
        raise ApiError(
            f"Error truncating item: the item with id '{event.item_id}' does not exist.",
            code="item_truncate_invalid_item_id",
            param="item_id",
        )
    record = stored.record
    if not isinstance(record, MessageItem) or record.role != "assistant":
        raise ApiError(
            "Only assistant message items can be truncated.",
            code="invalid_value",
            param="item_id",
        )
    index = event.content_index
    if not 0 <= index < len(record.content) or not isinstance(
        record.content[index], OutputAudio
    ):
        raise ApiError(
            f"Invalid 'content_index': the item has no audio content part at index {index}.",
            code="invalid_value",
            param="content_index",
        )
    if event.audio_end_ms < 0:
        raise ApiError(
            "Invalid 'audio_end_ms': integer below minimum value. Expected a value >= 0, "
            f"but got {event.audio_end_ms} instead.",
            code="integer_below_min_value",
            param="audio_end_ms",
        )
    if event.audio_end_ms > stored.audio_ms:
        raise ApiError(
            f"Audio content of {int(stored.audio_ms)}ms is already shorter than "
            f"{event.audio_end_ms}ms",
            code="invalid_value",
            param="audio_end_ms",
        )
    cut = round(event.audio_end_ms * stored.bytes_per_ms)
    if stored.bytes_per_ms == 48.0:
        cut -= cut % 2
    stored.audio = stored.audio[:cut]
    content = list(record.content)
    content[index] = OutputAudio(transcript=None)
    stored.record = attrs.evolve(record, content=tuple(content))
    return [
        Emit(
            ConversationItemTruncated(
                event_id=state.ids.event(),
                item_id=event.item_id,
                content_index=index,
                audio_end_ms=event.audio_end_ms,
            )
        )
    ]


def delete_item(state: SessionState, event: ConversationItemDelete) -> list[Output]:
    """Handle ``conversation.item.delete``."""
    state.conversation.delete(event.item_id)
    return [
        Emit(ConversationItemDeleted(event_id=state.ids.event(), item_id=event.item_id))
    ]
