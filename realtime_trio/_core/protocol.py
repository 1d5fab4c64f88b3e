"""The client side of a Realtime session as a sans-IO state machine (no trio here).

Theory of operation
-------------------
`RealtimeProtocol` knows only what a client must know, and nothing about
sockets: feed it each WebSocket text message with `receive_message`, which
returns the parsed event and updates the state; ask it for the text of an
event to send with `send`, and tell it with `message_written` when the
transport has written one. It tracks:

* the connection state (table below);
* the latest session the server reported (``session.created``/``updated``);
* the responses in flight (``response.created`` until ``response.done``);
* the bytes of input audio appended since the last commit or clear.

It does not re-implement the server's validation: the server answers bad
requests with ``error`` events, which are ordinary events. Nor does it let a
bad server message stop anything: a message that is not a valid event comes
back as `InvalidEvent`, and the state applies what can be read from it (its
``type`` and ids), so that a malformed ``response.done`` still ends its
response.

===============  ==============================  ===============
state            event                           next state
===============  ==============================  ===============
CONNECTING       ``session.created`` received    OPEN
CONNECTING/OPEN  `start_closing`                 CLOSING
any              `connection_closed`             CLOSED
===============  ==============================  ===============

Sending is allowed in CONNECTING (``session.update`` may be sent before the
server's first event arrives) and OPEN; in CLOSING and CLOSED `send` raises
`LocalProtocolError`. Any exception other than the documented ones is a bug.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Mapping
from typing import Any

from . import server_events as sev
from .client_events import ClientEvent
from .errors import LocalProtocolError, RemoteProtocolError
from .invalid import InvalidEvent, ReceivedEvent, invalid_event
from .record import Record
from .serde import EventCodec, get_codec
from .session_models import AnySessionConfig


class SessionState(enum.Enum):
    """Where a connection is in its life."""

    CONNECTING = "connecting"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


#: The start of every input_audio_buffer.append frame built by the fast path.
_APPEND_HEAD = '{"type":"input_audio_buffer.append","audio":"'


class RealtimeProtocol:
    """Client-side protocol state of one connection.

    Args:
        codec: The converter to use (default: the shared lenient one).
        event_id_prefix: Prefix of the ids `next_event_id` makes.
    """

    __slots__ = (
        "_id_prefix",
        "_ids",
        "codec",
        "default_response_id",
        "events_received",
        "events_sent",
        "input_audio_bytes",
        "responses_in_flight",
        "session",
        "state",
    )

    def __init__(
        self, *, codec: EventCodec | None = None, event_id_prefix: str | None = None
    ) -> None:
        self.codec = codec or get_codec()
        self.state = SessionState.CONNECTING
        #: The session as the server last reported it (None before ``session.created``).
        self.session: AnySessionConfig | None = None
        #: Ids of responses created and not yet done.
        self.responses_in_flight: set[str] = set()
        #: The response in progress in the default conversation, if any.
        self.default_response_id: str | None = None
        #: Bytes of input audio appended since the last commit or clear.
        self.input_audio_bytes = 0
        #: Server messages received, invalid ones included.
        self.events_received = 0
        #: Client messages the transport has written (see `message_written`).
        self.events_sent = 0
        self._ids = itertools.count(1)
        # Deterministic, so that runs against a seeded simulator repeat exactly;
        # ids only need to be unique within one connection.
        self._id_prefix = event_id_prefix or "rt_trio_"

    def next_event_id(self) -> str:
        """Return a fresh client ``event_id`` (used to match ``error`` events)."""
        return f"{self._id_prefix}{next(self._ids)}"

    # --- receiving ----------------------------------------------------------

    def receive_message(self, message: str | bytes) -> ReceivedEvent:
        """Parse one server message and update the state.

        Never raises for what the server sends. A message that is not a valid
        event (not JSON, or a field that does not fit its record) comes back
        as `InvalidEvent`, and the state applies what can be read from it:
        its ``type`` and ids (a malformed ``response.done`` still ends its
        response; a malformed ``session.created`` still opens the
        connection, though `session` is not set from it). A message of a
        client event type, which no server sends, is an `UnknownEvent`.
        """
        try:
            event = self.codec.parse(message)
        except RemoteProtocolError as exc:
            invalid = invalid_event(message, exc, self.codec.loads)
            self.events_received += 1
            self._observe_invalid(invalid)
            return invalid
        self.events_received += 1
        if type(event) is sev.ResponseOutputAudioDelta:
            return event  # the hot path: nothing to track
        if isinstance(event, ClientEvent):
            return sev.UnknownEvent(type=event.TYPE, raw=self.codec.dump(event))
        self._observe(event)
        return event

    def _observe(self, event: sev.ServerEvent | sev.UnknownEvent) -> None:
        if isinstance(event, sev.SessionCreated | sev.SessionUpdated):
            self.session = event.session
            if self.state is SessionState.CONNECTING:
                self.state = SessionState.OPEN
        elif isinstance(event, sev.ResponseCreated):
            response = event.response
            if isinstance(response.id, str):
                self._response_created(
                    response.id, isinstance(response.conversation_id, str)
                )
        elif isinstance(event, sev.ResponseDone):
            if isinstance(event.response.id, str):
                self._response_done(event.response.id)
        elif isinstance(
            event, sev.InputAudioBufferCommitted | sev.InputAudioBufferCleared
        ):
            self.input_audio_bytes = 0

    def _observe_invalid(self, event: InvalidEvent) -> None:
        """Apply what a malformed message says, as far as it can be read."""
        kind = event.type
        if kind == sev.SessionCreated.TYPE or kind == sev.SessionUpdated.TYPE:
            # The session itself cannot be trusted: keep the last good one.
            if self.state is SessionState.CONNECTING:
                self.state = SessionState.OPEN
        elif kind == sev.ResponseCreated.TYPE:
            if event.response_id is not None:
                self._response_created(
                    event.response_id,
                    isinstance(event.lookup("response", "conversation_id"), str),
                )
        elif kind == sev.ResponseDone.TYPE:
            if event.response_id is not None:
                self._response_done(event.response_id)
        elif (
            kind == sev.InputAudioBufferCommitted.TYPE
            or kind == sev.InputAudioBufferCleared.TYPE
        ):
            self.input_audio_bytes = 0

    def _response_created(self, response_id: str, in_conversation: bool) -> None:
        self.responses_in_flight.add(response_id)
        if in_conversation:
            self.default_response_id = response_id

    def _response_done(self, response_id: str) -> None:
        self.responses_in_flight.discard(response_id)
        if response_id == self.default_response_id:
            self.default_response_id = None

    # --- sending ------------------------------------------------------------

    def check_send(self) -> None:
        """Raise `LocalProtocolError` if nothing may be sent in this state."""
        if self.state is SessionState.CLOSING or self.state is SessionState.CLOSED:
            raise LocalProtocolError(
                f"cannot send: the connection is {self.state.value}"
            )

    def send(self, event: Record | Mapping[str, Any]) -> str:
        """Check the state and return the text frame for ``event`` (a record or a dict)."""
        self.check_send()
        return self.codec.encode(event)

    def append_frame(self, audio_b64: str, nbytes: int) -> str:
        """Return the frame of an ``input_audio_buffer.append`` of base64 audio.

        The fast path of audio upload: base64 text needs no JSON escaping, so
        the frame is built by concatenation instead of a JSON encoder. It is
        not refused while closing: closing flushes the audio already queued.
        """
        self.input_audio_bytes += nbytes
        return f'{_APPEND_HEAD}{audio_b64}"}}'

    def message_written(self) -> None:
        """The transport wrote one message that `send` or `append_frame` made.

        `events_sent` counts these: a message made but never written (the
        buffer was full, the connection ended) was not sent.
        """
        self.events_sent += 1

    # --- closing ------------------------------------------------------------

    def start_closing(self) -> None:
        """We are closing: refuse further sends."""
        if self.state is not SessionState.CLOSED:
            self.state = SessionState.CLOSING

    def connection_closed(self) -> None:
        """The transport is gone."""
        self.state = SessionState.CLOSED
        self.responses_in_flight.clear()
        self.default_response_id = None
