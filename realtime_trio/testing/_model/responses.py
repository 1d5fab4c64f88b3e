"""The responses of one simulated session: creating, cancelling, the one in progress.

`Responses` turns ``response.create`` (or a response that voice activity or
the idle timeout asks for) into a `ResponseRun`: it picks the run's input
items, its effective settings and its plan (the scenario's first matching
rule, a forced tool call, or an echo), and keeps track of the run in
progress in the default conversation and of the out-of-band ones.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Final

from ..._core.client_events import ResponseCancel
from ..._core.item_models import ItemReference
from ..._core.record import Record
from ..._core.response_models import ResponseAudioOutput, ResponseCreateParams
from ..._core.sentinel import UNSET, UnsetType
from ..._core.server_events import OutputAudioBufferCleared
from .api_errors import ApiError, invalid_value
from .conversation import StoredItem, Turn, find_turn
from .items import check_item, stored_input
from .outputs import CancelResponse, Output, StartResponse
from .rendering import ResponseSettings
from .response_run import ResponseRun
from .response_state import input_tokens
from .scenario import CallTool, Say, Step
from .session_config import (
    validate_format,
    validate_max_output_tokens,
    validate_modalities,
    validate_voice,
)
from .state import SessionState
from .steps import Emit

#: How many responses whose audio went out a session remembers (`Responses.played`).
MAX_PLAYED: Final = 8


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


class Responses:
    """The responses of one session (see the module docstring).

    Args:
        state: The session's shared state.

    Attributes:
        active: The response in progress in the default conversation.
        out_of_band: The out-of-band responses in progress, by id.
        last_response_id: The id of the last response created.
        audio_produced: A response in the default conversation has spoken
            (the voice can no longer change).
        played: The last responses whose audio went out (a call plays it), by id.
    """

    def __init__(self, state: SessionState) -> None:
        self._state = state
        self.active: ResponseRun | None = None
        self.out_of_band: dict[str, ResponseRun] = {}
        self.last_response_id: str | None = None
        self.audio_produced = False
        self.played: OrderedDict[str, ResponseRun] = OrderedDict()
        self._turns = 0
        self._rule_uses: dict[int, int] = {}

    def create(self, params: ResponseCreateParams | UnsetType) -> list[Output]:
        """Handle ``response.create`` (or a response the VAD or idle timeout asked for)."""
        state = self._state
        if state.is_transcription:
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
        items = self._input_items(params)
        settings = self._settings(params, in_conversation)
        plan = self._plan(find_turn(items), params)
        instructions = state.config.get("instructions") or ""
        if params is not UNSET and isinstance(params.instructions, str):
            instructions = params.instructions
        run = ResponseRun(
            response_id=state.ids.new("resp_"),
            settings=settings,
            plan=plan,
            ids=state.ids,
            conversation=state.conversation if in_conversation else None,
            input_tokens=input_tokens(items, instructions),
            load_wav=state.settings.load_wav,
        )
        if in_conversation:
            self.active = run
            if settings.audio and any(isinstance(s, Say) for s in plan):
                self.audio_produced = True
        else:
            self.out_of_band[run.id] = run
        self.last_response_id = run.id
        return [StartResponse(run)]

    def cancel(self, event: ResponseCancel) -> list[Output]:
        """Handle ``response.cancel``."""
        run: ResponseRun | None
        if isinstance(event.response_id, str):
            run = self.out_of_band.get(event.response_id)
            if (
                run is None
                and self.active is not None
                and self.active.id == event.response_id
            ):
                run = self.active
        else:
            run = self.active
        if run is None or run.state.done:
            raise ApiError(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
            )
        return [CancelResponse(run, "client_cancelled")]

    def finished(self, run: ResponseRun) -> None:
        """A run has ended (its ``response.done`` was sent)."""
        if self.active is run:
            self.active = None
        self.out_of_band.pop(run.id, None)
        if run.state.first_audio_at is not None:
            self.played[run.id] = run
            while len(self.played) > MAX_PLAYED:
                self.played.popitem(last=False)

    def find_played(self, response_id: str) -> ResponseRun | None:
        """The response ``response_id`` if its audio went out (running or not)."""
        running = [self.active, *self.out_of_band.values()]
        for run in [*running, self.played.get(response_id)]:
            if run is not None and run.id == response_id:
                return run if run.state.first_audio_at is not None else None
        return None

    def latest_played(self) -> ResponseRun | None:
        """The response whose audio went out last (running or not)."""
        runs = [self.active, *self.out_of_band.values(), *self.played.values()]
        sounding = [r for r in runs if r is not None and r.state.first_audio_at]
        return max(sounding, key=lambda r: r.state.first_audio_at or 0.0, default=None)

    def clear_output_audio(self, now: float) -> list[Output]:
        """Handle ``output_audio_buffer.clear`` (a call's sideband only)."""
        if not self._state.sideband:
            raise ApiError(
                "output_audio_buffer.clear is only supported for WebRTC and SIP sessions.",
                code="invalid_value",
                param="type",
            )
        response_id = self.active.id if self.active else self.last_response_id
        latest = self.latest_played()
        if latest is not None and latest.state.cut_at is None:
            latest.state.cut_at = now  # the caller hears no more of it
        return [
            Emit(
                OutputAudioBufferCleared(
                    event_id=self._state.ids.event(), response_id=response_id or ""
                )
            )
        ]

    # --- a response's input, settings and plan ---------------------------------------

    def _input_items(
        self, params: ResponseCreateParams | UnsetType
    ) -> list[StoredItem]:
        state = self._state
        if params is UNSET or params.input is UNSET or params.input is None:
            return list(state.conversation)
        items: list[StoredItem] = []
        for i, item in enumerate(params.input):
            if isinstance(item, ItemReference):
                stored = state.conversation.find(item.id)
                if stored is None:
                    raise ApiError(
                        f"Invalid 'response.input[{i}].id': the item with id '{item.id}' "
                        "does not exist.",
                        code="invalid_value",
                        param=f"response.input[{i}].id",
                    )
                items.append(stored)
            else:
                check_item(item)
                items.append(stored_input(state, item))
        return items

    def _settings(
        self, params: ResponseCreateParams | UnsetType, conversation: bool
    ) -> ResponseSettings:
        state = self._state
        session = state.config
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
                out = state.codec.dump(output)
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
        settings = state.settings
        return ResponseSettings(
            modalities=tuple(modalities),
            format=fmt,
            voice=voice,
            chunk_ms=settings.audio_chunk_ms,
            realtime=settings.realtime,
            time_to_first_audio=settings.time_to_first_audio,
            max_output_tokens=None if max_tokens == "inf" else int(max_tokens),
            metadata=metadata,
            conversation_id=state.conversation.id if conversation else None,
            sideband=state.sideband,
            seed=settings.seed,
        )

    def _plan(
        self, turn: Turn, params: ResponseCreateParams | UnsetType
    ) -> tuple[Step, ...]:
        self._turns += 1
        for index, rule in enumerate(self._state.settings.scenario.rules):
            uses = self._rule_uses.get(index, 0)
            if rule.times is not None and uses >= rule.times:
                continue
            if rule.matches(
                kind=turn.kind, text=turn.text, tool=turn.tool, turn=self._turns
            ):
                self._rule_uses[index] = uses + 1
                return rule.steps
        choice = self._state.config.get("tool_choice")
        if params is not UNSET and isinstance(params.tool_choice, str):
            choice = params.tool_choice
        elif params is not UNSET and isinstance(params.tool_choice, Record):
            choice = self._state.codec.dump(params.tool_choice)
        if (
            isinstance(choice, Mapping)
            and choice.get("type") == "function"
            and turn.kind != "tool"
        ):
            return (CallTool(name=str(choice.get("name"))),)
        return default_steps(turn)
