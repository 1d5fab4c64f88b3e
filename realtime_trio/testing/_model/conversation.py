"""The simulated default conversation: an ordered list of items with their audio.

Items are kept as the records of `realtime_trio.events` (what the server
reports), each with the raw audio bytes that the API leaves out of
``conversation.item.added``/``done`` and returns only from
``conversation.item.retrieve``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from ..._audio.b64 import encode_audio
from ..._core.item_models import (
    AudioPart,
    ConversationItem,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudio,
    InputText,
    MessageItem,
    OutputAudio,
    OutputText,
    TextPart,
)
from ..._core.sentinel import UNSET, UnsetType
from .api_errors import ApiError

_AUDIO_PARTS = (InputAudio, OutputAudio, AudioPart)


@attrs.define
class StoredItem:
    """One conversation item and its audio.

    Attributes:
        record: The item as the server reports it (without audio bytes).
        audio: The item's audio, in ``audio_format`` (input or output format).
        bytes_per_ms: Bytes of ``audio`` per millisecond (48 for PCM16 24 kHz,
            8 for G.711).
        transcript: The user's transcript of an audio item, once known.
    """

    record: ConversationItem
    audio: bytes = b""
    bytes_per_ms: float = 48.0
    transcript: str | None = None

    @property
    def id(self) -> str:
        """The item's id."""
        item_id = getattr(self.record, "id", None)
        assert isinstance(item_id, str)
        return item_id

    @property
    def audio_ms(self) -> float:
        """The duration of the item's audio."""
        return len(self.audio) / self.bytes_per_ms

    def with_audio(self) -> ConversationItem:
        """The item as ``conversation.item.retrieved`` reports it: audio included."""
        record = self.record
        if not isinstance(record, MessageItem) or not self.audio:
            return record
        content = tuple(
            attrs.evolve(part, audio=encode_audio(self.audio))
            if isinstance(part, _AUDIO_PARTS)
            else part
            for part in record.content
        )
        return attrs.evolve(record, content=content)


def added_item(item: ConversationItem) -> ConversationItem:
    """The item as ``conversation.item.added`` and ``.done`` carry it: no ``object``.

    Recorded sessions show no ``"object"`` key in those two events (nor in the
    output of ``response.done``), while ``conversation.item.retrieved`` and
    ``response.output_item.*`` carry ``"object": "realtime.item"``.
    """
    if (
        isinstance(item, MessageItem | FunctionCallItem | FunctionCallOutputItem)
        and item.object is not UNSET
    ):
        return attrs.evolve(item, object=UNSET)
    return item


class Conversation:
    """The items of the default conversation, in order."""

    def __init__(self, conversation_id: str) -> None:
        self.id = conversation_id
        self._items: list[StoredItem] = []

    def __iter__(self) -> Iterator[StoredItem]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def find(self, item_id: str) -> StoredItem | None:
        """Return the item with this id, if any."""
        for stored in self._items:
            if stored.id == item_id:
                return stored
        return None

    def last_id(self) -> str | None:
        """The id of the last item, or None when the conversation is empty."""
        return self._items[-1].id if self._items else None

    def insert(
        self, stored: StoredItem, previous_item_id: str | UnsetType | None = UNSET
    ) -> str | None:
        """Insert an item; return the id of the item now before it.

        ``previous_item_id`` unset (or None) appends, ``"root"`` inserts first.

        Raises:
            ApiError: ``previous_item_id`` is unknown, or the id is taken.
        """
        if self.find(stored.id) is not None:
            raise ApiError(
                f"Error adding item: the id '{stored.id}' is already in use.",
                code="item_id_already_exists",
                param="item.id",
            )
        if previous_item_id is UNSET or previous_item_id is None:
            index = len(self._items)
        elif previous_item_id == "root":
            index = 0
        else:
            found = [i for i, s in enumerate(self._items) if s.id == previous_item_id]
            if not found:
                raise ApiError(
                    f"Error adding item: the previous item with id '{previous_item_id}' "
                    "does not exist.",
                    code="item_create_invalid_previous_item_id",
                    param="previous_item_id",
                )
            index = found[0] + 1
        self._items.insert(index, stored)
        return self._items[index - 1].id if index > 0 else None

    def delete(self, item_id: str) -> None:
        """Remove an item.

        Raises:
            ApiError: There is no such item.
        """
        stored = self.find(item_id)
        if stored is None:
            raise ApiError(
                f"Error deleting item: the item with id '{item_id}' does not exist.",
                code="item_delete_invalid_item_id",
                param="item_id",
            )
        self._items.remove(stored)


# --- what the model "understood" ------------------------------------------------------


@attrs.frozen
class Turn:
    """What a response answers.

    Attributes:
        kind: ``"user"`` (a user message), ``"tool"`` (a function call output)
            or ``"none"`` (nothing to answer, for example a greeting).
        text: The user's text or transcript, or the tool's output.
        tool: The called function's name, for ``"tool"`` turns.
        audio_ms: How much user audio the turn has (for the default answer).
        has_transcript: Whether ``text`` of an audio turn is a real transcript.
    """

    kind: str
    text: str = ""
    tool: str | None = None
    audio_ms: float = 0.0
    has_transcript: bool = True


def _message_text(stored: StoredItem) -> tuple[str, float, bool]:
    record = stored.record
    assert isinstance(record, MessageItem)
    texts: list[str] = []
    audio_ms = 0.0
    has_transcript = True
    for part in record.content:
        if isinstance(part, InputText | OutputText | TextPart) and isinstance(
            part.text, str
        ):
            texts.append(part.text)
        elif isinstance(part, InputAudio | OutputAudio | AudioPart):
            audio_ms += stored.audio_ms
            transcript = stored.transcript
            if transcript is None and isinstance(part.transcript, str):
                transcript = part.transcript
            if transcript is None:
                has_transcript = False
            else:
                texts.append(transcript)
    return " ".join(t for t in texts if t), audio_ms, has_transcript


def find_turn(items: list[StoredItem]) -> Turn:
    """Decide what a response over ``items`` answers: the last user or tool item."""
    calls: dict[str, str] = {}
    for stored in items:
        if isinstance(stored.record, FunctionCallItem) and isinstance(
            stored.record.call_id, str
        ):
            calls[stored.record.call_id] = stored.record.name
    for stored in reversed(items):
        record = stored.record
        if isinstance(record, FunctionCallOutputItem):
            return Turn(kind="tool", text=record.output, tool=calls.get(record.call_id))
        if isinstance(record, MessageItem) and record.role == "user":
            text, audio_ms, has_transcript = _message_text(stored)
            return Turn(
                kind="user", text=text, audio_ms=audio_ms, has_transcript=has_transcript
            )
        if isinstance(record, MessageItem) and record.role == "assistant":
            break
    return Turn(kind="none")


def stored_from_input(record: ConversationItem, **kwargs: Any) -> StoredItem:
    """Wrap an item that arrived from the client (or in ``response.input``)."""
    return StoredItem(record=record, **kwargs)
