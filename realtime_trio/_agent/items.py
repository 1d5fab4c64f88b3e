"""`ItemBook`: the items of a `ConversationState` and their order (no trio here).

The state (``state.py``) dispatches each event; every event about items,
their content and their deltas lands here. See the theory of operation in
``state.py`` for the ordering cases handled.
"""

from __future__ import annotations

import binascii
from collections import deque
from collections.abc import Mapping
from typing import Any

from .._audio.formats import PCM16_24K, AudioFormat
from .._core import item_models as im
from .._core import server_events as sev
from .._core.record import UnknownObject
from .._core.sentinel import UNSET, UnsetType
from .records import ItemState, ResponseState


def item_type(record: object) -> str:
    """The ``type`` of an item record."""
    if isinstance(record, UnknownObject):
        return str(record.type)
    return getattr(record, "TYPE", "") or "unknown"


def item_id(record: object) -> str | None:
    """The ``id`` of an item record, if it has one."""
    if isinstance(record, UnknownObject):
        value = record.raw.get("id")
    else:
        value = getattr(record, "id", None)
    return value if isinstance(value, str) else None


class ItemBook:
    """Items by id, the conversation's order, calls by ``call_id``, kept audio.

    Args:
        responses: The state's responses by id (read, to place a response's items).
        keep_audio_bytes: The budget of decoded output audio kept on items.
    """

    def __init__(
        self, responses: Mapping[str, ResponseState], keep_audio_bytes: int
    ) -> None:
        self.responses = responses
        self.keep_audio_bytes = keep_audio_bytes
        #: The format of output audio when its response does not say.
        self.output_format: AudioFormat = PCM16_24K
        #: Items added to the conversation so far.
        self.added = 0
        self.items: dict[str, ItemState] = {}
        self.order: list[str] = []
        self.calls: dict[str, ItemState] = {}
        self._announced: set[str] = set()
        self._kept: deque[ItemState] = deque()
        self._kept_bytes = 0

    # --- finding and making items -------------------------------------------------

    def new(self, item_id: str, kind: str, response_id: str | None = None) -> ItemState:
        """A new item; a response's item is placed last, for now, unless out of band."""
        response = self.responses.get(response_id) if response_id else None
        in_conversation = response.in_conversation if response is not None else True
        item = ItemState(
            id=item_id,
            type=kind,
            role="assistant" if kind == "message" and response_id else None,
            in_conversation=in_conversation,
            response_id=response_id,
            audio_format=response.audio_format if response is not None else None,
        )
        self.items[item_id] = item
        if in_conversation:
            self.order.append(item_id)
        if response is not None and item_id not in response.output_item_ids:
            response.output_item_ids.append(item_id)
        return item

    def ensure(
        self, item_id: str, kind: str, response_id: str | None = None
    ) -> ItemState:
        """The item ``item_id``, made as a placeholder if it is not known yet."""
        item = self.items.get(item_id)
        if item is None:
            item = self.new(item_id, kind, response_id)
        elif item.response_id is None and response_id is not None:
            item.response_id = response_id
        return item

    def user_item(self, item_id: str) -> ItemState:
        """The user item ``item_id``; known, but not placed, if it was not."""
        item = self.items.get(item_id)
        if item is None:
            item = ItemState(id=item_id, type="message", role="user")
            self.items[item_id] = item
        return item

    def delete(self, item_id: str) -> None:
        """The item was deleted: out of the order, kept (marked) by id."""
        item = self.items.get(item_id)
        if item is not None:
            item.deleted = True
        if item_id in self.order:
            self.order.remove(item_id)

    def place(self, item_id: str, previous: str | UnsetType | None) -> None:
        """Put ``item_id`` right after ``previous`` (first if None, last if absent)."""
        order = self.order
        if previous is UNSET:
            if item_id not in order:
                order.append(item_id)
            return
        if previous is not None and previous not in order:
            # Not known here (before we attached, or deleted): keep it where it is.
            if item_id not in order:
                order.append(item_id)
            return
        if item_id in order:
            index = order.index(item_id)
            if previous is None and index == 0:
                return
            if previous is not None and index > 0 and order[index - 1] == previous:
                return
            del order[index]
        order.insert(0 if previous is None else order.index(previous) + 1, item_id)

    # --- events about whole items ---------------------------------------------------

    def placed(
        self,
        event: sev.ConversationItemAdded
        | sev.ConversationItemCreated
        | sev.ConversationItemDone,
    ) -> None:
        """``conversation.item.added``, ``.created`` or ``.done``."""
        record = event.item
        key = item_id(record)
        if key is None:
            return
        item = self.items.get(key)
        added = key not in self._announced or (item is not None and item.deleted)
        if item is None:
            item = self.new(key, item_type(record))
        item.deleted = False
        item.in_conversation = True
        self.fill(item, record)
        self.place(key, event.previous_item_id)
        if added and type(event) is not sev.ConversationItemDone:
            self._announced.add(key)
            self.added += 1

    def committed(self, event: sev.InputAudioBufferCommitted) -> None:
        """The user's audio item: known now, added (with its content) next."""
        if event.item_id not in self.items:
            self.new(event.item_id, "message").role = "user"
        self.place(event.item_id, event.previous_item_id)

    def fill(self, item: ItemState, record: im.ConversationItem) -> None:
        """Copy what a full item record says onto ``item``."""
        item.item = record
        status = getattr(record, "status", None)
        if isinstance(status, str):
            item.status = status
        if isinstance(record, im.MessageItem):
            item.role = record.role
            for index, part in enumerate(record.content):
                self.fill_part(item, index, part)
        elif isinstance(record, im.FunctionCallItem):
            item.name = record.name
            item.arguments = record.arguments
            if isinstance(record.call_id, str):
                item.call_id = record.call_id
                self.calls[record.call_id] = item
        elif isinstance(record, im.FunctionCallOutputItem):
            item.call_id = record.call_id
            item.output = record.output
            call = self.calls.get(record.call_id)
            if call is not None:
                call.output = record.output
        elif isinstance(record, im.McpCallItem):
            item.name = record.name
            item.arguments = record.arguments
            item.server_label = record.server_label
            if isinstance(record.output, str):
                item.output = record.output
            if isinstance(record.approval_request_id, str):
                item.approval_request_id = record.approval_request_id
        elif isinstance(record, im.McpApprovalRequestItem):
            item.name = record.name
            item.arguments = record.arguments
            item.server_label = record.server_label
        elif isinstance(record, im.McpApprovalResponseItem):
            item.approval_request_id = record.approval_request_id
            item.approved = record.approve
            request = self.items.get(record.approval_request_id)
            if request is not None:
                request.approved = record.approve
        elif isinstance(record, im.McpListToolsItem):
            item.server_label = record.server_label

    def fill_part(self, item: ItemState, index: int, part: im.ContentPart) -> None:
        """Copy what one content part says onto ``item``."""
        if isinstance(part, im.InputText | im.OutputText | im.TextPart):
            if isinstance(part.text, str) and (part.text or index not in item.texts):
                item.texts[index] = part.text
        elif isinstance(part, im.OutputAudio | im.AudioPart):
            item.audio_content_index = index
            if isinstance(part.transcript, str) and part.transcript:
                item.transcripts[index] = part.transcript
        elif (
            isinstance(part, im.InputAudio)
            and isinstance(part.transcript, str)
            and item.input_transcript is None
        ):
            item.input_transcript = part.transcript

    def output_item(
        self, event: sev.ResponseOutputItemAdded | sev.ResponseOutputItemDone
    ) -> None:
        """``response.output_item.added`` or ``.done``."""
        record = event.item
        key = item_id(record)
        if key is None:
            return
        self.fill(self.ensure(key, item_type(record), event.response_id), record)
        response = self.responses.get(event.response_id)
        if response is not None:
            ids = response.output_item_ids
            if key in ids and ids.index(key) != event.output_index:
                ids.remove(key)
            if key not in ids:
                ids.insert(min(event.output_index, len(ids)), key)

    def content_part(
        self, event: sev.ResponseContentPartAdded | sev.ResponseContentPartDone
    ) -> None:
        """``response.content_part.added`` or ``.done``."""
        item = self.ensure(event.item_id, "message", event.response_id)
        self.fill_part(item, event.content_index, event.part)

    # --- deltas -------------------------------------------------------------------

    def text_delta(self, event: sev.ResponseOutputTextDelta) -> None:
        """``response.output_text.delta``."""
        item = self.ensure(event.item_id, "message", event.response_id)
        index = event.content_index
        item.texts[index] = item.texts.get(index, "") + event.delta

    def text_done(self, event: sev.ResponseOutputTextDone) -> None:
        """``response.output_text.done``."""
        item = self.ensure(event.item_id, "message", event.response_id)
        item.texts[event.content_index] = event.text

    def audio_delta(self, event: sev.ResponseOutputAudioDelta) -> None:
        """``response.output_audio.delta``: count the bytes (the hot path)."""
        item = self.items.get(event.item_id)
        if item is None:
            item = self.new(event.item_id, "message", event.response_id)
        if item.audio_format is None:
            item.audio_format = self.output_format
        b64 = event.delta
        size = len(b64) // 4 * 3
        if size and b64[-1] == "=":
            size -= 2 if b64[-2] == "=" else 1
        item.audio_bytes += size
        item.audio_content_index = event.content_index
        if self.keep_audio_bytes:
            self.keep(item, b64)

    def keep(self, item: ItemState, b64: str) -> None:
        """Keep a delta's audio on ``item``, within the budget (oldest dropped first)."""
        try:
            pcm = binascii.a2b_base64(b64)
        except (binascii.Error, ValueError):
            return
        if item.audio is None:
            item.audio = bytearray()
            self._kept.append(item)
        item.audio += pcm
        self._kept_bytes += len(pcm)
        while self._kept_bytes > self.keep_audio_bytes and self._kept:
            oldest = self._kept[0]
            audio = oldest.audio if oldest.audio is not None else bytearray()
            excess = self._kept_bytes - self.keep_audio_bytes
            if len(audio) <= excess:
                self._kept.popleft()
                self._kept_bytes -= len(audio)
                oldest.audio = None
            else:
                # Drop the start of the oldest item's audio, in whole samples.
                width = (oldest.audio_format or PCM16_24K).sample_width
                cut = min(len(audio), -(-excess // width) * width)
                del audio[:cut]
                self._kept_bytes -= cut

    def transcript_delta(self, event: sev.ResponseOutputAudioTranscriptDelta) -> None:
        """``response.output_audio_transcript.delta``."""
        item = self.ensure(event.item_id, "message", event.response_id)
        index = event.content_index
        item.transcripts[index] = item.transcripts.get(index, "") + event.delta

    def transcript_done(self, event: sev.ResponseOutputAudioTranscriptDone) -> None:
        """``response.output_audio_transcript.done``."""
        item = self.ensure(event.item_id, "message", event.response_id)
        item.transcripts[event.content_index] = event.transcript

    def arguments_delta(self, event: sev.ResponseFunctionCallArgumentsDelta) -> None:
        """``response.function_call_arguments.delta``."""
        item = self.ensure(event.item_id, "function_call", event.response_id)
        item.call_id = event.call_id
        self.calls[event.call_id] = item
        item.arguments = (item.arguments or "") + event.delta

    def arguments_done(self, event: sev.ResponseFunctionCallArgumentsDone) -> None:
        """``response.function_call_arguments.done``."""
        item = self.ensure(event.item_id, "function_call", event.response_id)
        item.call_id = event.call_id
        self.calls[event.call_id] = item
        item.name = event.name
        item.arguments = event.arguments

    def mcp_arguments(
        self,
        event: sev.ResponseMcpCallArgumentsDelta | sev.ResponseMcpCallArgumentsDone,
    ) -> None:
        """``response.mcp_call_arguments.delta`` or ``.done``."""
        item = self.ensure(event.item_id, "mcp_call", event.response_id)
        if isinstance(event, sev.ResponseMcpCallArgumentsDelta):
            item.arguments = (item.arguments or "") + event.delta
        else:
            item.arguments = event.arguments

    def mcp_status(self, event: Any) -> None:
        """``response.mcp_call.in_progress``, ``.completed`` or ``.failed``."""
        item = self.ensure(event.item_id, "mcp_call")
        item.status = event.TYPE.rpartition(".")[2]

    # --- input transcription ------------------------------------------------------

    def transcription_delta(
        self, event: sev.ConversationItemInputAudioTranscriptionDelta
    ) -> None:
        """A piece of the transcript of user audio (before or after its item)."""
        item = self.user_item(event.item_id)
        if item.transcription_status == "completed":
            return  # a straggler after the final transcript
        item.transcription_status = "in_progress"
        if isinstance(event.delta, str):
            item.input_transcript = (item.input_transcript or "") + event.delta

    def transcription_completed(
        self, event: sev.ConversationItemInputAudioTranscriptionCompleted
    ) -> None:
        """The transcript of user audio."""
        item = self.user_item(event.item_id)
        item.input_transcript = event.transcript
        item.transcription_status = "completed"

    def transcription_failed(
        self, event: sev.ConversationItemInputAudioTranscriptionFailed
    ) -> None:
        """Transcribing user audio failed."""
        item = self.user_item(event.item_id)
        item.transcription_status = "failed"
        item.transcription_error = event.error
