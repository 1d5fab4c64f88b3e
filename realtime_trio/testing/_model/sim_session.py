"""One simulated connection's session: a sans-IO state machine.

Theory of operation
-------------------
`SimSession` never does I/O and never reads a clock: the trio shell
(`realtime_trio.testing._server.simulator`) passes every client message to
`SimSession.handle_message` together with the current trio time, and gets
back a list of *outputs*:

* `Emit` - send this server event now;
* `StartResponse` - run this `ResponseRun` in its own task (it yields its
  events and pacing; the shell sends them and reports each one back with
  `ResponseRun.observe`, then calls `SimSession.response_finished`);
* `CancelResponse` - cancel that run's task; the run then sends its own
  cancellation tail (see `_response_run`);
* `CloseConnection` / `DropConnection` - scripted faults.

Timers (``idle_timeout_ms`` and the 60-minute session limit) are deadlines:
the shell sleeps until `SimSession.next_deadline` and calls
`SimSession.on_timer`.

Client errors never raise: they become ``error`` events shaped like the
real API's, echoing the client's ``event_id``. A ``null`` sent for an
optional field counts as absent, unless it clears a setting (see `_nulls`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import attrs

from ..._core.client_events import (
    ClientEvent,
    ConversationItemCreate,
    ConversationItemDelete,
    ConversationItemRetrieve,
    ConversationItemTruncate,
    InputAudioBufferAppend,
    InputAudioBufferClear,
    InputAudioBufferCommit,
    OutputAudioBufferClear,
    ResponseCancel,
    ResponseCreate,
    SessionUpdate,
)
from ..._core.errors import RemoteProtocolError
from ..._core.item_models import MessageItem, OutputAudio
from ..._core.sentinel import UNSET
from ..._core.serde import get_codec
from ..._core.server_events import (
    ConversationItemDeleted,
    ConversationItemRetrieved,
    ConversationItemTruncated,
    ErrorEvent,
    InputAudioBufferCleared,
    InputAudioBufferDtmfEventReceived,
    OutputAudioBufferCleared,
    SessionCreated,
    SessionUpdated,
)
from ..._core.session_models import AnySessionConfig
from .api_errors import ApiError, from_protocol_error
from .audio_turns import AudioTurnsMixin
from .conversation import Conversation
from .ids import IdFactory
from .input_audio import InputAudioBuffer
from .nulls import drop_absent_nulls
from .response_run import ResponseRun
from .scenario import CloseConnection, Scenario
from .session_config import (
    DEFAULT_MODEL,
    SESSION_LIFETIME_S,
    apply_update,
    default_session,
    default_transcription_session,
)
from .steps import CancelResponse, Emit, Output


@attrs.frozen(kw_only=True)
class SimSettings:
    """Simulator-wide settings that shape every session.

    Attributes:
        realtime: Pace output audio in real time.
        time_to_first_audio: Seconds before the first audio delta.
        audio_chunk_ms: Milliseconds of audio per delta.
        seed: The seed of ids and voices.
        max_message_size: Larger client messages get an ``error`` event.
        session_duration: Seconds until the session expires (60 minutes).
        scenario: What the simulated model does.
        load_wav: Reads a WAV file as PCM16 at 24 kHz (cached by the caller).
    """

    realtime: bool = False
    time_to_first_audio: float = 0.0
    audio_chunk_ms: int = 100
    seed: int = 0
    max_message_size: int = 16 * 2**20
    session_duration: float = float(SESSION_LIFETIME_S)
    scenario: Scenario = attrs.field(factory=Scenario)
    load_wav: Callable[[str], bytes] | None = None


class SimSession(AudioTurnsMixin):
    """The state of one simulated session (see the module docstring).

    Args:
        settings: Simulator-wide settings.
        ids: The connection's id factory.
        now: The trio time the connection was accepted.
        wall_time: Unix seconds now (for ``expires_at``).
        model: The model from ``?model=``.
        initial_config: A session configuration to start from (a call's
            ``accept`` body or a client secret's session), as wire JSON.
        transcription: Start a transcription session (``?intent=transcription``).
        sideband: The connection is attached to a call (``?call_id=``).
    """

    def __init__(
        self,
        settings: SimSettings,
        *,
        ids: IdFactory,
        now: float,
        wall_time: float,
        model: str | None = None,
        initial_config: Mapping[str, Any] | None = None,
        transcription: bool = False,
        sideband: bool = False,
    ) -> None:
        self.settings = settings
        self.scenario = settings.scenario
        self._ids = ids
        self.sideband = sideband
        expires_at = int(wall_time) + SESSION_LIFETIME_S
        session_id = ids.new("sess_")
        config = dict(initial_config or {})
        if transcription or config.get("type") == "transcription":
            self.session = default_transcription_session(
                session_id=session_id, expires_at=expires_at
            )
        else:
            model = str(config.pop("model", None) or model or DEFAULT_MODEL)
            self.session = default_session(
                session_id=session_id,
                model=model,
                expires_at=expires_at,
                instructions=self.scenario.instructions,
            )
        if config:
            config.setdefault("type", self.session["type"])
            self.session = apply_update(self.session, config, audio_produced=False)
        self.conversation = Conversation(ids.new("conv_"))
        self.buffer = InputAudioBuffer(self._input_format(), self._turn_detection())
        self.active: ResponseRun | None = None
        self.out_of_band: dict[str, ResponseRun] = {}
        self.last_response_id: str | None = None
        self.audio_produced = False
        self.turns = 0
        self.rule_uses: dict[int, int] = {}
        self._transcripts = list(self.scenario.transcripts)
        self._speech_item: str | None = None
        self._speech_start_ms = 0
        self._idle_deadline: float | None = None
        self._expires = now + settings.session_duration
        self._expired = False
        self._strict = get_codec(strict=True)
        self._codec = get_codec()
        #: The last client event `handle_message` parsed (None if it was invalid).
        self.last_client_event: ClientEvent | None = None

    # --- helpers ---------------------------------------------------------------

    @property
    def is_transcription(self) -> bool:
        """Whether this is a transcription session."""
        return bool(self.session.get("type") == "transcription")

    def _input_format(self) -> str:
        fmt = self.session.get("audio", {}).get("input", {}).get("format") or {}
        return str(fmt.get("type", "audio/pcm"))

    def _turn_detection(self) -> Mapping[str, Any] | None:
        td = self.session.get("audio", {}).get("input", {}).get("turn_detection")
        return td if isinstance(td, Mapping) else None

    def _session_record(self) -> AnySessionConfig:
        return self._codec.structure(self.session, cast(Any, AnySessionConfig))  # type: ignore[no-any-return]

    def _error(self, exc: ApiError, event_id: str | None = None) -> Emit:
        return Emit(ErrorEvent(event_id=self._ids.event(), error=exc.detail(event_id)))

    def next_transcript(self) -> str | None:
        """The scenario's transcript of the next audio turn, if it has one left."""
        return self._transcripts.pop(0) if self._transcripts else None

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> list[Output]:
        """The events that open the connection: ``session.created``."""
        return [
            Emit(
                SessionCreated(
                    event_id=self._ids.event(), session=self._session_record()
                )
            )
        ]

    def next_deadline(self) -> float | None:
        """When `on_timer` must be called next (trio time), or None."""
        if self._expired:
            return None
        if self._idle_deadline is None:
            return self._expires
        return min(self._idle_deadline, self._expires)

    def on_timer(self, now: float) -> list[Output]:
        """Fire the timers that are due."""
        if not self._expired and now >= self._expires:
            self._expired = True
            message = "Your session hit the maximum duration of 60 minutes."
            error = ApiError(message, code="session_expired")
            return [self._error(error), CloseConnection(code=1001, reason=message)]
        if self._idle_deadline is not None and now >= self._idle_deadline:
            self._idle_deadline = None
            if self.buffer.in_speech or self.active is not None:
                return []
            return self.idle_timeout()
        return []

    def response_finished(self, run: ResponseRun, now: float) -> None:
        """The shell's report that a run has ended (its ``response.done`` was sent)."""
        if self.active is run:
            self.active = None
        self.out_of_band.pop(run.id, None)
        td = self._turn_detection()
        if (
            run.in_conversation
            and td is not None
            and td.get("type") == "server_vad"
            and isinstance(td.get("idle_timeout_ms"), int)
        ):
            playback_end = max(now, (run.first_audio_at or now) + run.audio_ms / 1000)
            self._idle_deadline = playback_end + td["idle_timeout_ms"] / 1000

    # --- input -----------------------------------------------------------------

    def handle_message(self, data: str | bytes, now: float) -> list[Output]:
        """Handle one WebSocket message from the client."""
        self.last_client_event = None
        if isinstance(data, bytes):
            error = ApiError(
                "Binary messages are not supported: send each event as JSON text.",
                code="invalid_event",
            )
            return [self._error(error)]
        if len(data) > self.settings.max_message_size:
            error = ApiError(
                f"The message is too large: {len(data)} characters, the limit is "
                f"{self.settings.max_message_size}.",
                code="message_too_large",
            )
            return [self._error(error)]
        try:
            obj = self._strict.loads(data)
        except RemoteProtocolError as exc:
            return [self._error(from_protocol_error(exc))]
        if isinstance(obj, dict):
            obj = drop_absent_nulls(obj)
        event_id = obj.get("event_id") if isinstance(obj, dict) else None
        if not isinstance(event_id, str):
            event_id = None
        try:
            event = self._strict.parse(obj if isinstance(obj, dict) else data)
        except RemoteProtocolError as exc:
            return [self._error(from_protocol_error(exc), event_id)]
        assert isinstance(event, ClientEvent)
        self.last_client_event = event
        return self.handle_event(event, now)

    def handle_event(self, event: ClientEvent, now: float) -> list[Output]:
        """Handle one parsed client event."""
        event_id = event.event_id if isinstance(event.event_id, str) else None
        try:
            return self._dispatch(event, now)
        except ApiError as exc:
            return [self._error(exc, event_id)]

    def _dispatch(self, event: ClientEvent, now: float) -> list[Output]:
        if isinstance(event, SessionUpdate):
            return self._session_update(event)
        if isinstance(event, InputAudioBufferAppend):
            return self._append(event)
        if isinstance(event, InputAudioBufferCommit):
            return self.commit_buffer()
        if isinstance(event, InputAudioBufferClear):
            self.buffer.clear()
            self._speech_item = None
            return [Emit(InputAudioBufferCleared(event_id=self._ids.event()))]
        if isinstance(event, OutputAudioBufferClear):
            return self._output_clear()
        if isinstance(event, ConversationItemCreate):
            return self.create_item(event)
        if isinstance(event, ConversationItemRetrieve):
            return self._retrieve(event.item_id)
        if isinstance(event, ConversationItemTruncate):
            return self._truncate(event)
        if isinstance(event, ConversationItemDelete):
            self.conversation.delete(event.item_id)
            return [
                Emit(
                    ConversationItemDeleted(
                        event_id=self._ids.event(), item_id=event.item_id
                    )
                )
            ]
        if isinstance(event, ResponseCreate):
            params = UNSET if event.response is None else event.response
            return self.create_response(params, now)
        if isinstance(event, ResponseCancel):
            return self._cancel(event)
        raise ApiError(
            f"Unsupported event type '{event.TYPE}'.",
            code="invalid_value",
            param="type",
        )  # pragma: no cover

    def _session_update(self, event: SessionUpdate) -> list[Output]:
        update = self._codec.dump(event.session)
        update.pop("parallel_tool_calls", None)
        self.session = apply_update(
            self.session, update, audio_produced=self.audio_produced
        )
        self.buffer.configure(self._input_format(), self._turn_detection())
        return [
            Emit(
                SessionUpdated(
                    event_id=self._ids.event(), session=self._session_record()
                )
            )
        ]

    def _output_clear(self) -> list[Output]:
        if not self.sideband:
            raise ApiError(
                "output_audio_buffer.clear is only supported for WebRTC and SIP sessions.",
                code="invalid_value",
                param="type",
            )
        response_id = self.active.id if self.active else self.last_response_id
        return [
            Emit(
                OutputAudioBufferCleared(
                    event_id=self._ids.event(), response_id=response_id or ""
                )
            )
        ]

    def _retrieve(self, item_id: str) -> list[Output]:
        stored = self.conversation.find(item_id)
        if stored is None:
            raise ApiError(
                f"Error retrieving item: the item with id '{item_id}' does not exist.",
                code="item_retrieve_invalid_item_id",
                param="item_id",
            )
        return [
            Emit(
                ConversationItemRetrieved(
                    event_id=self._ids.event(), item=stored.with_audio()
                )
            )
        ]

    def _truncate(self, event: ConversationItemTruncate) -> list[Output]:
        stored = self.conversation.find(event.item_id)
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
                    event_id=self._ids.event(),
                    item_id=event.item_id,
                    content_index=index,
                    audio_end_ms=event.audio_end_ms,
                )
            )
        ]

    def _cancel(self, event: ResponseCancel) -> list[Output]:
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
        if run is None or run.done:
            raise ApiError(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
            )
        return [CancelResponse(run, "client_cancelled")]

    def dtmf(self, key: str, received_at: int) -> list[Output]:
        """A key was pressed on the call this session belongs to."""
        return [
            Emit(InputAudioBufferDtmfEventReceived(event=key, received_at=received_at))
        ]
