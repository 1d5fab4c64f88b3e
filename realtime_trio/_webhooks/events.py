"""Webhook event records: one frozen attrs record per known webhook ``type``.

A webhook body is one JSON object, ``{"id", "object", "type", "created_at",
"data"}`` (protocol reference section 6.3). Each known ``type`` is a frozen
attrs record named after it, as the socket events are
(``realtime.call.incoming`` is `RealtimeCallIncoming`); the rest become
`UnknownWebhookEvent`, which keeps the object as received. The records mirror
the wire, so the call id is ``event.data.call_id``.

Parsing them, and `verify_webhook` (verify, then parse), are in `.parse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeAlias

import attrs

from .._core import record as _record
from .._core.record import Record
from .._core.sentinel import UNSET, UnsetType

# --- records ----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SipHeader(Record):
    """One header of the SIP INVITE of an incoming call.

    Attributes:
        name: The header name as sent, for example ``"From"`` (SIP header
            names are case-insensitive).
        value: The header value. The caller controls it: treat it as untrusted.
    """

    name: str
    value: str


@attrs.frozen(kw_only=True)
class RealtimeCallIncomingData(Record):
    """The ``data`` of ``realtime.call.incoming``: the pending SIP call.

    Attributes:
        call_id: The ``rtc_...`` id to accept, reject, refer or hang up the
            call with, and to open its sideband connection (``?call_id=``).
        sip_headers: The INVITE's headers in order, repeats kept, SIP
            authorization headers removed.
        sip_media_security: ``"srtp"`` (encrypted media) or ``"rtp"``, or a
            value this version does not know; omitted when unknown.
    """

    call_id: str
    sip_headers: tuple[SipHeader, ...]
    sip_media_security: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class LiveCallIncomingData(Record):
    """The ``data`` of ``live.call.incoming``: the same pending SIP call, for the Live API.

    Attributes:
        session_id: The ``live_...`` id of the pending call, for the Live
            API's call controls and sideband connections (the matching
            ``realtime.call.incoming`` carries a separate ``rtc_...`` call id).
        sip_headers: The INVITE's headers in order, repeats kept, SIP
            authorization headers removed.
        sip_media_security: ``"srtp"`` (encrypted media) or ``"rtp"``, or a
            value this version does not know; omitted when unknown.
    """

    session_id: str
    sip_headers: tuple[SipHeader, ...]
    sip_media_security: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class WebhookEventData(Record):
    """The ``data`` of the events about one API object: fetch it by ``id``.

    Used by the ``response.*``, ``batch.*``, ``eval.run.*`` and
    ``fine_tuning.job.*`` events.

    Attributes:
        id: The id of the response, batch, eval run or fine-tuning job.
    """

    id: str


@attrs.frozen(kw_only=True)
class _WebhookEventBase(Record):
    """The fields every known webhook event has (see `RealtimeCallIncoming`)."""

    id: str
    created_at: int
    object: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class RealtimeCallIncoming(_WebhookEventBase):
    """A SIP call arrived for the Realtime API: accept or reject ``data.call_id``.

    The same call may also be offered to the Live API (``live.call.incoming``
    or ``live.transport.incoming``); the first successful accept, Realtime
    or Live, wins.

    Attributes:
        id: The event id, ``evt_...`` (not the ``webhook-id`` of the delivery).
        created_at: When the event happened, in unix seconds.
        object: ``"event"`` when present (the SDK also allows ``null``).
        data: The call.
    """

    TYPE = "realtime.call.incoming"
    data: RealtimeCallIncomingData


@attrs.frozen(kw_only=True)
class LiveCallIncoming(_WebhookEventBase):
    """A SIP call arrived for the Live API: accept or reject ``data.session_id``.

    OpenAI keeps sending it to existing subscriptions while the Live API
    moves to ``live.transport.incoming`` (not modelled: it parses as an
    `UnknownWebhookEvent`); new subscriptions cannot choose it. The SIP call
    server answers it 200 ``ignored`` and leaves the call to its
    ``realtime.call.incoming``.

    Attributes:
        id: The event id, ``evt_...`` (not the ``webhook-id`` of the delivery).
        created_at: When the event happened, in unix seconds.
        object: ``"event"`` when present (the SDK also allows ``null``).
        data: The call.
    """

    TYPE = "live.call.incoming"
    data: LiveCallIncomingData


@attrs.frozen(kw_only=True)
class _ObjectWebhookEvent(_WebhookEventBase):
    """An event about one API object, named by ``data.id``.

    The fields are those of `RealtimeCallIncoming`, with a `WebhookEventData`.
    """

    data: WebhookEventData


@attrs.frozen(kw_only=True)
class ResponseCompleted(_ObjectWebhookEvent):
    """A background response completed (``data.id`` is its ``resp_...`` id)."""

    TYPE = "response.completed"


@attrs.frozen(kw_only=True)
class ResponseCancelled(_ObjectWebhookEvent):
    """A background response was cancelled."""

    TYPE = "response.cancelled"


@attrs.frozen(kw_only=True)
class ResponseFailed(_ObjectWebhookEvent):
    """A background response failed."""

    TYPE = "response.failed"


@attrs.frozen(kw_only=True)
class ResponseIncomplete(_ObjectWebhookEvent):
    """A background response ended incomplete."""

    TYPE = "response.incomplete"


@attrs.frozen(kw_only=True)
class BatchCompleted(_ObjectWebhookEvent):
    """A batch completed."""

    TYPE = "batch.completed"


@attrs.frozen(kw_only=True)
class BatchCancelled(_ObjectWebhookEvent):
    """A batch was cancelled."""

    TYPE = "batch.cancelled"


@attrs.frozen(kw_only=True)
class BatchExpired(_ObjectWebhookEvent):
    """A batch expired before it completed."""

    TYPE = "batch.expired"


@attrs.frozen(kw_only=True)
class BatchFailed(_ObjectWebhookEvent):
    """A batch failed."""

    TYPE = "batch.failed"


@attrs.frozen(kw_only=True)
class EvalRunSucceeded(_ObjectWebhookEvent):
    """An eval run succeeded."""

    TYPE = "eval.run.succeeded"


@attrs.frozen(kw_only=True)
class EvalRunFailed(_ObjectWebhookEvent):
    """An eval run failed."""

    TYPE = "eval.run.failed"


@attrs.frozen(kw_only=True)
class EvalRunCanceled(_ObjectWebhookEvent):
    """An eval run was canceled (one ``l``, as on the wire)."""

    TYPE = "eval.run.canceled"


@attrs.frozen(kw_only=True)
class FineTuningJobSucceeded(_ObjectWebhookEvent):
    """A fine-tuning job succeeded."""

    TYPE = "fine_tuning.job.succeeded"


@attrs.frozen(kw_only=True)
class FineTuningJobFailed(_ObjectWebhookEvent):
    """A fine-tuning job failed."""

    TYPE = "fine_tuning.job.failed"


@attrs.frozen(kw_only=True)
class FineTuningJobCancelled(_ObjectWebhookEvent):
    """A fine-tuning job was cancelled."""

    TYPE = "fine_tuning.job.cancelled"


@attrs.frozen(kw_only=True)
class UnknownWebhookEvent(Record):
    """A webhook event whose ``type`` this version does not know.

    It keeps the whole object in ``raw``, and `dump_webhook_event` returns it
    unchanged. A handler should ignore (and 2xx) types it does not handle.

    Attributes:
        type: The wire ``type``.
        raw: The whole event object as received.
    """

    type: str
    raw: Mapping[str, Any]


#: Every known webhook event class, in protocol reference order.
WEBHOOK_EVENT_CLASSES: Final[tuple[type[_WebhookEventBase], ...]] = (
    RealtimeCallIncoming,
    LiveCallIncoming,
    ResponseCompleted,
    ResponseCancelled,
    ResponseFailed,
    ResponseIncomplete,
    BatchCompleted,
    BatchCancelled,
    BatchExpired,
    BatchFailed,
    EvalRunSucceeded,
    EvalRunFailed,
    EvalRunCanceled,
    FineTuningJobSucceeded,
    FineTuningJobFailed,
    FineTuningJobCancelled,
)
_BY_TYPE: Final[Mapping[str, type[_WebhookEventBase]]] = {
    cls.TYPE: cls for cls in WEBHOOK_EVENT_CLASSES
}

#: Any webhook event: one of the known records (each has ``id``,
#: ``created_at``, ``object`` and ``data``), or `UnknownWebhookEvent`.
WebhookEvent: TypeAlias = (
    RealtimeCallIncoming
    | LiveCallIncoming
    | ResponseCompleted
    | ResponseCancelled
    | ResponseFailed
    | ResponseIncomplete
    | BatchCompleted
    | BatchCancelled
    | BatchExpired
    | BatchFailed
    | EvalRunSucceeded
    | EvalRunFailed
    | EvalRunCanceled
    | FineTuningJobSucceeded
    | FineTuningJobFailed
    | FineTuningJobCancelled
    | UnknownWebhookEvent
)


def _resolve_annotations() -> None:
    # The string annotations (``from __future__ import annotations``) must be
    # resolved now: the public namespaces rename ``Record``'s ``__module__``
    # (to ``realtime_trio``), so resolving later (as the codec would, lazily)
    # looks up ``Record``'s own annotations in the wrong namespace and fails.
    namespace = {**vars(_record), **globals()}
    for cls in (
        SipHeader,
        RealtimeCallIncomingData,
        LiveCallIncomingData,
        WebhookEventData,
        _WebhookEventBase,
        _ObjectWebhookEvent,
        *WEBHOOK_EVENT_CLASSES,
        UnknownWebhookEvent,
    ):
        attrs.resolve_types(cls, globalns=namespace)


_resolve_annotations()
