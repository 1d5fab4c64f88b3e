"""One incoming SIP call as a call handler sees it: `IncomingCall`, decisions, outcomes.

A call goes through these states (`IncomingCall.state`)::

    incoming ──decide──▶ accepted ──attach──▶ connected ──▶ ended
        └──── reject ────────────────────────────────────────▲

and ends with exactly one `CallOutcome`, the first that happened: a
`~IncomingCall.hangup` or `~IncomingCall.refer` by the handler, the far end
hanging up, a network failure, a failure of the handler or of the setup, or
the server shutting down.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeAlias, final

import attrs
import trio

from .._client.exceptions import CallEnded, CloseReason, ConnectionBroken
from .._core.client_events import (
    ConversationItemTruncate,
    OutputAudioBufferClear,
    ResponseCancel,
)
from .._core.errors import LocalProtocolError
from .._core.logs import get_logger
from .._core.sentinel import UNSET, UnsetType
from .._core.session_models import SessionConfig
from .._webhooks.events import RealtimeCallIncoming, SipHeader
from .errors import APIError

if TYPE_CHECKING:
    from .._client.connection import RealtimeConnection
    from .rest import CallsClient

logger = get_logger("sip")

#: Close codes that mean the connection was lost rather than closed by the server.
NETWORK_CLOSE_CODES: Final = frozenset({None, 1006})


class CallOutcome(enum.Enum):
    """How a call ended (`IncomingCall.outcome`); the first cause wins.

    Attributes:
        REJECTED: We rejected it: the decision said so, or the server was at
            ``max_concurrent_calls`` (486 Busy Here).
        HUNG_UP: We hung up: the handler called `IncomingCall.hangup`, or it
            returned while the call was still up and the server hung up.
        REFERRED: The handler transferred it with `IncomingCall.refer`.
        ENDED: It ended on the far side: the caller hung up, or the API ended
            the session (the sideband was closed by the server, cleanly or
            with an error code such as 1001 at the 60-minute cap).
        NETWORK_ERROR: The sideband connection was lost (no close frame);
            the server then tried to hang up, so the call does not go on
            uncontrolled.
        FAILED: Setting it up failed (the accept or the attach was refused,
            the decision raised or took too long) or the handler raised; see
            `IncomingCall.error`. A call that was accepted is then hung up,
            one still ringing is rejected with 480.
        SHUTDOWN: The server shut down while the call was up (and hung it up,
            unless ``hangup_on_shutdown=False``).
        HANDED_OVER: Another instance sharing the server's Redis store
            controls the call now: this one handed it over when shutting down
            (``on_shutdown="hand_over"``), or lost its lease (it could not
            renew it in time). The call was not hung up.
    """

    REJECTED = "rejected"
    HUNG_UP = "hung_up"
    REFERRED = "referred"
    ENDED = "ended"
    NETWORK_ERROR = "network_error"
    FAILED = "failed"
    SHUTDOWN = "shutdown"
    HANDED_OVER = "handed_over"


@attrs.frozen
class Accept:
    """The decision to accept a call.

    Attributes:
        session: The session to accept it with; None uses the server's
            ``session``. A `SessionConfig` or its JSON object (``type``
            defaults to ``"realtime"``).
    """

    session: SessionConfig | Mapping[str, Any] | None = None


@attrs.frozen
class Reject:
    """The decision to reject a call.

    Attributes:
        status_code: The SIP status: 603 Decline by default, 486 Busy Here,
            404 Not Found, ...
    """

    status_code: int = 603


#: What a decider returns: accept (with a session) or reject (with a SIP status).
Decision: TypeAlias = Accept | Reject
#: ``async def decide(call: IncomingCall) -> Accept | Reject | None`` (None: accept).
Decider: TypeAlias = Callable[["IncomingCall"], Awaitable[Decision | None]]
#: ``async def handler(call: IncomingCall) -> None``: drives one connected call.
CallHandler: TypeAlias = Callable[["IncomingCall"], Awaitable[None]]


def classify_close(close_reason: CloseReason | None) -> CallOutcome:
    """The outcome of a sideband the server (or the network) ended with ``close_reason``."""
    if close_reason is None or close_reason.code in NETWORK_CLOSE_CODES:
        return CallOutcome.NETWORK_ERROR
    return CallOutcome.ENDED


def outcome_of_error(exc: BaseException) -> CallOutcome | None:
    """The outcome a connection error from the handler means, or None for a handler bug."""
    if isinstance(exc, CallEnded | ConnectionBroken):
        return classify_close(exc.close_reason)
    return None


@final
class IncomingCall:
    """A SIP call received through the ``realtime.call.incoming`` webhook.

    The server creates it and passes it to your decider (state
    ``"incoming"``) and then to your handler (state ``"connected"``, with
    `connection` attached). Its methods are the call's REST controls.

    Everything the caller sent (SIP headers, the transcript of what they
    say) is untrusted input.

    Attributes:
        call_id: The ``rtc_...`` id of the call.
        event: The verified webhook event.
        webhook_id: The ``webhook-id`` of the delivery that announced it.
        state: ``"incoming"``, ``"accepted"``, ``"connected"`` or ``"ended"``.
        outcome: How it ended (None until it has).
        error: The exception behind a `CallOutcome.FAILED` (or
            `CallOutcome.NETWORK_ERROR`) outcome, if any.
        close_reason: How the server closed the sideband, if it did.
        resumed: True when this instance took the call over from one that
            died or handed it over, and re-attached a sideband: the handler
            runs again on a call already in progress. The conversation so
            far is not available (no API lists it); only what your
            application stored is (see the "Running several instances" guide).
    """

    def __init__(
        self,
        event: RealtimeCallIncoming,
        *,
        webhook_id: str,
        calls: CallsClient,
        resumed: bool = False,
    ) -> None:
        self.call_id: str = event.data.call_id
        self.event = event
        self.webhook_id = webhook_id
        self.state: str = "incoming"
        self.outcome: CallOutcome | None = None
        self.error: BaseException | None = None
        self.close_reason: CloseReason | None = None
        self.resumed = resumed
        # Set before the call's task is cancelled when another instance
        # takes it over: the call is left up (not hung up, not rejected).
        self._handing_over = False
        self._calls = calls
        self._connection: RealtimeConnection | None = None
        self._ended = trio.Event()

    def __repr__(self) -> str:
        outcome = f" {self.outcome.value}" if self.outcome is not None else ""
        resumed = " resumed" if self.resumed else ""
        return f"<IncomingCall {self.call_id} {self.state}{outcome}{resumed}>"

    # --- what the INVITE said -------------------------------------------------

    @property
    def sip_headers(self) -> tuple[SipHeader, ...]:
        """The SIP INVITE's headers, in order (untrusted: the caller's side sets them)."""
        return self.event.data.sip_headers

    def header(self, name: str) -> str | None:
        """The value of the first SIP header called ``name`` (case-insensitive), or None."""
        folded = name.casefold()
        for header in self.event.data.sip_headers:
            if header.name.casefold() == folded:
                return header.value
        return None

    @property
    def caller(self) -> str | None:
        """The ``From`` header, for example ``"Ann" <sip:+15551230000@carrier.example>;tag=1``."""
        return self.header("From")

    @property
    def callee(self) -> str | None:
        """The ``To`` header: the number or address that was dialled."""
        return self.header("To")

    # --- the sideband ---------------------------------------------------------

    @property
    def connection(self) -> RealtimeConnection:
        """The sideband `RealtimeConnection` of the call (from state ``"connected"``).

        Iterate it for the call's events; when the call ends, iteration stops
        (the server closed the sideband cleanly) or raises `CallEnded`.

        Raises:
            RuntimeError: the call is not connected yet (in the decider).
        """
        if self._connection is None:
            raise RuntimeError(
                f"call {self.call_id} has no connection in state {self.state!r}"
            )
        return self._connection

    @property
    def ended(self) -> bool:
        """True once the call has ended and the server has finished with it."""
        return self._ended.is_set()

    async def wait_ended(self) -> None:
        """Wait until the call has ended and the server has finished with it (a checkpoint)."""
        await self._ended.wait()

    # --- call control -----------------------------------------------------------

    async def reject(self, status_code: int = 603) -> None:
        """Reject the call with a SIP status (only while ``"incoming"``: in a decider).

        Returning ``Reject(status_code)`` from the decider does the same.
        This is a checkpoint.

        Raises:
            RuntimeError: the call was already accepted or has ended.
            APIError: the API refused (`CallNotFoundError`: no such call).
            APIConnectionError: no answer.
        """
        if self.state != "incoming":
            raise RuntimeError(
                f"call {self.call_id} is {self.state}: only an incoming call can be rejected"
            )
        await self._calls.reject(self.call_id, status_code=status_code)
        self.state = "ended"
        self._set_outcome(CallOutcome.REJECTED)

    async def refer(self, target_uri: str) -> None:
        """Transfer the call (SIP REFER) to ``target_uri``, e.g. ``tel:+14155550123``.

        The API then ends the sideband, so the handler's event stream ends.
        This is a checkpoint.

        Raises:
            RuntimeError: the call is not accepted yet, or has ended.
            APIError: the API refused.
            APIConnectionError: no answer.
        """
        if self.state not in ("accepted", "connected"):
            raise RuntimeError(
                f"call {self.call_id} is {self.state}: only an accepted call can be transferred"
            )
        await self._calls.refer(self.call_id, target_uri)
        self._set_outcome(CallOutcome.REFERRED)

    async def hangup(self) -> None:
        """Hang up the call. The API then ends the sideband, so the event stream ends.

        Idempotent: once the call has an outcome, this does nothing but
        checkpoint. If the far end hung up at the same moment (the sideband is
        already closed by the server), the API's refusal is ignored.

        Raises:
            RuntimeError: the call is still incoming (reject it instead).
            APIError: the API refused (and the call was not already over).
            APIConnectionError: no answer.
        """
        if self.state == "incoming":
            raise RuntimeError(
                f"call {self.call_id} is incoming: reject it instead of hanging up"
            )
        if self.outcome is not None:
            await trio.lowlevel.checkpoint()
            return
        try:
            await self._calls.hangup(self.call_id)
        except APIError:
            reason = self._server_close_reason()
            if reason is None:
                raise
            self.close_reason = reason
            self._set_outcome(classify_close(reason))
            return
        self._set_outcome(CallOutcome.HUNG_UP)

    async def interrupt(
        self,
        *,
        response_id: str | UnsetType = UNSET,
        item_id: str | None = None,
        audio_end_ms: int | None = None,
        content_index: int = 0,
    ) -> None:
        """Cut off the assistant, in the documented order for calls.

        See `interrupt_sideband`, which this calls with `connection`.
        """
        await interrupt_sideband(
            self.connection,
            response_id=response_id,
            item_id=item_id,
            audio_end_ms=audio_end_ms,
            content_index=content_index,
        )

    # --- for the server ---------------------------------------------------------

    def _attach(self, connection: RealtimeConnection) -> None:
        self._connection = connection
        self.state = "connected"

    def _server_close_reason(self) -> CloseReason | None:
        """How the server closed the sideband, if it did (not if we closed it)."""
        conn = self._connection
        if conn is None or conn.closed:
            return self.close_reason
        return conn.close_reason

    def _set_outcome(
        self, outcome: CallOutcome, error: BaseException | None = None
    ) -> None:
        if self.outcome is None:
            self.outcome = outcome
            if error is not None:
                self.error = error

    def _finish(self) -> None:
        self.state = "ended"
        self._ended.set()


async def interrupt_sideband(
    connection: RealtimeConnection,
    *,
    response_id: str | UnsetType = UNSET,
    item_id: str | None = None,
    audio_end_ms: int | None = None,
    content_index: int = 0,
) -> None:
    """Cut off the assistant on a SIP or WebRTC call, in the documented order.

    1. ``response.cancel``: stop generating (skipped when no response is in
       progress, so no harmless ``error`` event is provoked);
    2. ``conversation.item.truncate``: if you know how much of the
       assistant's item the caller heard (``item_id`` and ``audio_end_ms``),
       cut the item there so the model's context holds only what was heard;
    3. ``output_audio_buffer.clear``: drop the audio the server is still
       playing out on the call.

    The events are sent in that order (the server handles them in order);
    their answers (``response.done`` with ``status: "cancelled"``,
    ``conversation.item.truncated``, ``output_audio_buffer.cleared``, or an
    ``error``) arrive on the event stream as usual. With server VAD and
    ``interrupt_response`` the API already does all this when the caller
    talks over the assistant; call this for interruptions of your own (a
    DTMF key, a supervisor's command).

    This is a checkpoint. Cancelling it may leave some of the three unsent.

    Only a sideband (a connection opened with ``call_id=``) has an output
    audio buffer to clear: on a connection opened with ``model=`` the API
    would answer ``output_audio_buffer.clear`` with an ``invalid_value``
    error, so nothing is sent and `LocalProtocolError` is raised. There, use
    `~realtime_trio.RealtimeConnection.cancel_response` and stop playing
    the audio yourself.

    Args:
        connection: The sideband connection of the call.
        response_id: The response to cancel (default: the one in progress).
        item_id: The assistant item being played, to truncate.
        audio_end_ms: How much of it was played, in milliseconds.
        content_index: The item's audio content part (0).

    Raises:
        LocalProtocolError: ``connection`` is not a sideband (nothing was sent).
        ConnectionClosed / ConnectionBroken: the connection is over.
    """
    if (item_id is None) != (audio_end_ms is None):
        raise ValueError("give both item_id and audio_end_ms to truncate, or neither")
    if not connection.is_sideband:
        raise LocalProtocolError(
            "interrupt_sideband() needs a sideband connection (opened with "
            "call_id=): on a connection opened with model= the API refuses "
            "output_audio_buffer.clear; use cancel_response() there",
            event_type="output_audio_buffer.clear",
        )
    if response_id is not UNSET or connection.statistics().responses_in_flight:
        await connection.send(ResponseCancel(response_id=response_id))
    if item_id is not None and audio_end_ms is not None:
        await connection.send(
            ConversationItemTruncate(
                item_id=item_id, content_index=content_index, audio_end_ms=audio_end_ms
            )
        )
    await connection.send(OutputAudioBufferClear())


__all__ = [
    "Accept",
    "CallHandler",
    "CallOutcome",
    "Decider",
    "Decision",
    "IncomingCall",
    "Reject",
    "interrupt_sideband",
]
