"""The conversation-writing half of `SimSession`: items, commits and responses.

Split out of ``_sim_session.py`` to keep both modules small; `ItemsMixin`
is only meant to be mixed into `SimSession`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..._audio.b64 import decode_audio
from ..._core.client_events import ConversationItemCreate
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
    OutputText,
)
from ..._core.record import Record
from ..._core.response_models import (
    ResponseAudioOutput,
    ResponseCreateParams,
)
from ..._core.sentinel import UNSET, UnsetType
from ..._core.serde import EventCodec
from ..._core.server_events import (
    ConversationItemAdded,
    ConversationItemDone,
)
from .api_errors import ApiError, invalid_value
from .conversation import Conversation, StoredItem, Turn, added_item, find_turn
from .ids import IdFactory
from .input_audio import InputAudioBuffer
from .output import ResponseSettings, input_tokens, load_wav_24k
from .response_run import ResponseRun
from .scenario import CallTool, Say, Scenario, Step
from .session_config import (
    validate_format,
    validate_max_output_tokens,
    validate_modalities,
    validate_voice,
)
from .steps import Emit, Output, StartResponse

if TYPE_CHECKING:
    from .sim_session import SimSettings

_MAX_ITEM_ID: Final = 32
_ALLOWED_PARTS: Final[Mapping[str, tuple[type, ...]]] = {
    "system": (InputText,),
    "user": (InputText, InputAudio, InputImage),
    "assistant": (OutputText,),
}


def default_steps(turn: Turn) -> tuple[Step, ...]:
    """What the simulated model says without a scenario: it echoes what it understood."""
    if turn.kind == "tool":
        return (Say(text=f"The {turn.tool or 'function'} tool returned: {turn.text}"),)
    if turn.kind == "none":
        return (Say(text="Hello! How can I help you today?"),)
    if turn.audio_ms and not turn.has_transcript:
        return (Say(text=f"I heard {turn.audio_ms / 1000:.1f} seconds of audio."),)
    if not turn.text:
        return (Say(text="I received your message."),)
    return (Say(text=f"You said: {turn.text}"),)


class ItemsMixin:
    """Items, audio commits and responses of `SimSession`."""

    settings: SimSettings
    scenario: Scenario
    session: dict[str, Any]
    conversation: Conversation
    buffer: InputAudioBuffer
    active: ResponseRun | None
    out_of_band: dict[str, ResponseRun]
    last_response_id: str | None
    audio_produced: bool
    turns: int
    rule_uses: dict[int, int]
    sideband: bool
    _ids: IdFactory
    _codec: EventCodec

    if TYPE_CHECKING:

        @property
        def is_transcription(self) -> bool: ...

        def next_transcript(self) -> str | None: ...

    # --- items -----------------------------------------------------------------

    def _check_item(self, item: ConversationItem) -> None:
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

    def _stored_input(self, item: ConversationItem) -> StoredItem:
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
                id=item.id if isinstance(item.id, str) else self._ids.new("item_"),
                object="realtime.item",
                status="completed",
            )
        elif isinstance(item, McpApprovalResponseItem):
            pass
        return StoredItem(
            record=item, audio=audio, bytes_per_ms=self.buffer.bytes_per_ms
        )

    def create_item(self, event: ConversationItemCreate) -> list[Output]:
        """Handle ``conversation.item.create``."""
        self._check_item(event.item)
        item = event.item
        if isinstance(item, FunctionCallOutputItem) and not any(
            isinstance(s.record, FunctionCallItem) and s.record.call_id == item.call_id
            for s in self.conversation
        ):
            raise ApiError(
                f"Tool call ID '{item.call_id}' not found in conversation.",
                code="invalid_tool_call_id",
                param="item.call_id",
            )
        stored = self._stored_input(item)
        previous = self.conversation.insert(stored, event.previous_item_id)
        reported = added_item(stored.record)
        return [
            Emit(
                ConversationItemAdded(
                    event_id=self._ids.event(),
                    item=reported,
                    previous_item_id=previous,
                )
            ),
            Emit(
                ConversationItemDone(
                    event_id=self._ids.event(),
                    item=reported,
                    previous_item_id=previous,
                )
            ),
        ]

    def _response_items(
        self, params: ResponseCreateParams | UnsetType
    ) -> list[StoredItem]:
        if params is UNSET or params.input is UNSET or params.input is None:
            return list(self.conversation)
        items: list[StoredItem] = []
        for i, item in enumerate(params.input):
            if isinstance(item, ItemReference):
                stored = self.conversation.find(item.id)
                if stored is None:
                    raise ApiError(
                        f"Invalid 'response.input[{i}].id': the item with id '{item.id}' "
                        "does not exist.",
                        code="invalid_value",
                        param=f"response.input[{i}].id",
                    )
                items.append(stored)
            else:
                self._check_item(item)
                items.append(self._stored_input(item))
        return items

    def _settings(
        self, params: ResponseCreateParams | UnsetType, conversation: bool
    ) -> ResponseSettings:
        session = self.session
        output = session.get("audio", {}).get("output", {})
        modalities = session.get("output_modalities") or ["audio"]
        fmt = output.get("format") or {"type": "audio/pcm", "rate": 24000}
        voice = output.get("voice", "marin")
        max_tokens = session.get("max_output_tokens", "inf")
        metadata = None
        if params is not UNSET:
            if isinstance(params.output_modalities, tuple):
                validate_modalities(
                    params.output_modalities, "response.output_modalities"
                )
                modalities = list(params.output_modalities)
            if isinstance(params.max_output_tokens, int | str):
                validate_max_output_tokens(
                    params.max_output_tokens, "response.max_output_tokens"
                )
                max_tokens = params.max_output_tokens
            output = getattr(params.audio, "output", None)
            if isinstance(output, ResponseAudioOutput):
                out = self._codec.dump(output)
                if "format" in out:
                    validate_format(out["format"], "response.audio.output.format")
                    fmt = out["format"]
                if "voice" in out:
                    validate_voice(out["voice"], "response.audio.output.voice")
                    voice = out["voice"]
            if isinstance(params.metadata, Mapping):
                metadata = params.metadata
        if fmt.get("type", "audio/pcm") == "audio/pcm":
            fmt = {"type": "audio/pcm", "rate": 24000}
        return ResponseSettings(
            modalities=tuple(modalities),
            format=fmt,
            voice=voice,
            chunk_ms=self.settings.audio_chunk_ms,
            realtime=self.settings.realtime,
            time_to_first_audio=self.settings.time_to_first_audio,
            max_output_tokens=None if max_tokens == "inf" else int(max_tokens),
            metadata=metadata,
            conversation_id=self.conversation.id if conversation else None,
            sideband=self.sideband,
            seed=self.settings.seed,
        )

    def _plan(
        self, turn: Turn, params: ResponseCreateParams | UnsetType
    ) -> tuple[Step, ...]:
        self.turns += 1
        for index, rule in enumerate(self.scenario.rules):
            uses = self.rule_uses.get(index, 0)
            if rule.times is not None and uses >= rule.times:
                continue
            if rule.matches(
                kind=turn.kind, text=turn.text, tool=turn.tool, turn=self.turns
            ):
                self.rule_uses[index] = uses + 1
                return rule.steps
        choice = self.session.get("tool_choice")
        if params is not UNSET and isinstance(params.tool_choice, str):
            choice = params.tool_choice
        elif params is not UNSET and isinstance(params.tool_choice, Record):
            choice = self._codec.dump(params.tool_choice)
        if (
            isinstance(choice, Mapping)
            and choice.get("type") == "function"
            and turn.kind != "tool"
        ):
            return (CallTool(name=str(choice.get("name"))),)
        return default_steps(turn)

    def create_response(
        self, params: ResponseCreateParams | UnsetType, now: float | None
    ) -> list[Output]:
        """Handle ``response.create`` (or a response the VAD or idle timeout asked for)."""
        if self.is_transcription:
            raise ApiError(
                "Responses are not supported in transcription sessions.",
                code="invalid_value",
                param="type",
            )
        conversation = "auto" if params is UNSET else params.conversation
        if conversation is UNSET or conversation is None:
            conversation = "auto"
        if conversation not in ("auto", "none"):
            raise invalid_value(conversation, ["auto", "none"], "response.conversation")
        in_conversation = conversation == "auto"
        if in_conversation and self.active is not None:
            raise ApiError(
                f"Conversation already has an active response in progress: {self.active.id}. "
                "Wait until the response is finished before creating a new one.",
                code="conversation_already_has_active_response",
            )
        items = self._response_items(params)
        settings = self._settings(params, in_conversation)
        plan = self._plan(find_turn(items), params)
        instructions = self.session.get("instructions") or ""
        if params is not UNSET and isinstance(params.instructions, str):
            instructions = params.instructions
        run = ResponseRun(
            response_id=self._ids.new("resp_"),
            settings=settings,
            plan=plan,
            ids=self._ids,
            conversation=self.conversation if in_conversation else None,
            input_tokens=input_tokens(items, instructions),
            load_wav=self._load_wav,
        )
        if in_conversation:
            self.active = run
            if settings.audio and any(isinstance(s, Say) for s in plan):
                self.audio_produced = True
        else:
            self.out_of_band[run.id] = run
        self.last_response_id = run.id
        return [StartResponse(run)]

    def _load_wav(self, path: str) -> bytes:
        loader = self.settings.load_wav
        return load_wav_24k(path) if loader is None else loader(path)
