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
  cancellation tail (see `response_run`);
* `Deferred` - make more outputs once the ones before it were carried out
  (a caller's barge-in truncates an item after the cancelled response's tail);
* `CloseConnection` / `DropConnection` - scripted faults.

Timers (``idle_timeout_ms`` and the 60-minute session limit) are deadlines:
the shell sleeps until `SimSession.next_deadline` and calls
`SimSession.on_timer`.

`SimSession` parses each message and hands the event to the part that
handles it: `items` for ``conversation.item.*``, `Responses` for
``response.*`` and `AudioTurns` for ``input_audio_buffer.*`` (and voice
activity). The parts share one `SessionState`; `AudioTurns` also holds
`Responses`, since a turn interrupts one response and asks for the next.

Client errors never raise: they become ``error`` events shaped like the
real API's, echoing the client's ``event_id``. A ``null`` sent for an
optional field counts as absent, unless it clears a setting (see `nulls`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

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
from ..._core.sentinel import UNSET
from ..._core.serde import get_codec
from ..._core.server_events import (
    ErrorEvent,
    InputAudioBufferDtmfEventReceived,
    SessionCreated,
    SessionUpdated,
)
from ..._core.session_models import AnySessionConfig
from . import items
from .api_errors import ApiError, from_protocol_error
from .audio_turns import AudioTurns
from .call_media import CallerVoice, audible_ms, heard_ms
from .conversation import Conversation
from .ids import IdFactory
from .input_audio import InputAudioBuffer
from .nulls import drop_absent_nulls
from .outputs import Output
from .response_run import ResponseRun
from .responses import Responses
from .scenario import CloseConnection
from .session_config import (
    DEFAULT_MODEL,
    SESSION_LIFETIME_S,
    apply_update,
    default_session,
    default_transcription_session,
    input_format,
    turn_detection,
)
from .state import SessionState, SimSettings
from .steps import Emit


class SimSession:
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

    Attributes:
        state: What the parts of the session share (its configuration,
            conversation, input audio buffer...).
        responses: The session's responses (``active`` is the one in progress).
        audio_turns: The session's input audio and voice activity.
        last_client_event: The last client event `handle_message` parsed
            (None if it was invalid).
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
        expires_at = int(wall_time) + SESSION_LIFETIME_S
        session_id = ids.new("sess_")
        config = dict(initial_config or {})
        if transcription or config.get("type") == "transcription":
            session = default_transcription_session(
                session_id=session_id, expires_at=expires_at
            )
        else:
            model = str(config.pop("model", None) or model or DEFAULT_MODEL)
            session = default_session(
                session_id=session_id,
                model=model,
                expires_at=expires_at,
                instructions=settings.scenario.instructions,
            )
        if config:
            config.setdefault("type", session["type"])
            session = apply_update(session, config, audio_produced=False)
        self.state = SessionState(
            settings=settings,
            ids=ids,
            config=session,
            conversation=Conversation(ids.new("conv_")),
            buffer=InputAudioBuffer(input_format(session), turn_detection(session)),
            sideband=sideband,
            transcripts=list(settings.scenario.transcripts),
        )
        self.responses = Responses(self.state)
        self.audio_turns = AudioTurns(self.state, self.responses)
        self.last_client_event: ClientEvent | None = None
        self._expires = now + settings.session_duration
        self._expired = False
        self._strict = get_codec(strict=True)
        self._caller = CallerVoice()

    def _session_record(self) -> AnySessionConfig:
        state = self.state
        return state.codec.structure(state.config, cast(Any, AnySessionConfig))  # type: ignore[no-any-return]

    def _error(self, exc: ApiError, event_id: str | None = None) -> Emit:
        error = exc.detail(event_id)
        return Emit(ErrorEvent(event_id=self.state.ids.event(), error=error))

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> list[Output]:
        """The events that open the connection: ``session.created``."""
        return [
            Emit(
                SessionCreated(
                    event_id=self.state.ids.event(), session=self._session_record()
                )
            )
        ]

    def next_deadline(self) -> float | None:
        """When `on_timer` must be called next (trio time), or None."""
        if self._expired:
            return None
        idle = self.audio_turns.idle_deadline
        return self._expires if idle is None else min(idle, self._expires)

    def on_timer(self, now: float) -> list[Output]:
        """Fire the timers that are due."""
        if not self._expired and now >= self._expires:
            self._expired = True
            message = "Your session hit the maximum duration of 60 minutes."
            error = ApiError(message, code="session_expired")
            return [self._error(error), CloseConnection(code=1001, reason=message)]
        return self.audio_turns.on_timer(now)

    def response_finished(self, run: ResponseRun, now: float) -> None:
        """The shell's report that a run has ended (its ``response.done`` was sent)."""
        self.responses.finished(run)
        self.audio_turns.response_finished(run, now)

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
        if len(data) > self.state.settings.max_message_size:
            error = ApiError(
                f"The message is too large: {len(data)} characters, the limit is "
                f"{self.state.settings.max_message_size}.",
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
        state = self.state
        if isinstance(event, SessionUpdate):
            return self._session_update(event)
        if isinstance(event, InputAudioBufferAppend):
            return self.audio_turns.append(event, now)
        if isinstance(event, InputAudioBufferCommit):
            return self.audio_turns.commit_buffer()
        if isinstance(event, InputAudioBufferClear):
            return self.audio_turns.clear()
        if isinstance(event, OutputAudioBufferClear):
            return self.responses.clear_output_audio(now)
        if isinstance(event, ConversationItemCreate):
            return items.create_item(state, event)
        if isinstance(event, ConversationItemRetrieve):
            return items.retrieve_item(state, event.item_id)
        if isinstance(event, ConversationItemTruncate):
            return items.truncate_item(state, event)
        if isinstance(event, ConversationItemDelete):
            return items.delete_item(state, event)
        if isinstance(event, ResponseCreate):
            return self.responses.create(
                UNSET if event.response is None else event.response
            )
        if isinstance(event, ResponseCancel):
            return self.responses.cancel(event)
        raise ApiError(
            f"Unsupported event type '{event.TYPE}'.",
            code="invalid_value",
            param="type",
        )  # pragma: no cover

    def _session_update(self, event: SessionUpdate) -> list[Output]:
        state = self.state
        update = state.codec.dump(event.session)
        update.pop("parallel_tool_calls", None)
        state.config = apply_update(
            state.config, update, audio_produced=self.responses.audio_produced
        )
        state.buffer.configure(input_format(state.config), turn_detection(state.config))
        return [
            Emit(
                SessionUpdated(
                    event_id=state.ids.event(), session=self._session_record()
                )
            )
        ]

    def dtmf(self, key: str, received_at: int) -> list[Output]:
        """A key was pressed on the call this session belongs to."""
        return [
            Emit(InputAudioBufferDtmfEventReceived(event=key, received_at=received_at))
        ]

    def caller_audio(self, pcm: bytes, now: float) -> list[Output]:
        """The caller of the call this session belongs to said ``pcm`` (PCM16 24 kHz mono).

        It reaches the model as the call's media, not through the sideband:
        the input audio buffer takes it in the session's input format.
        """
        audio = self._caller.convert(pcm, input_format(self.state.config))
        return self.audio_turns.feed(audio, now)

    def caller_heard(self, response_id: str, now: float) -> tuple[float, float] | None:
        """What the caller heard of a response's audio, and will have heard, in ms.

        None if no audio of that response went out (or it is forgotten).
        """
        run = self.responses.find_played(response_id)
        if run is None:
            return None
        return heard_ms(run.state, now), audible_ms(run.state)
