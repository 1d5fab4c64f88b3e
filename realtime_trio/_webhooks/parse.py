"""Parsing webhook bodies into records, and `verify_webhook` (verify, then parse).

The nested records go through the shared `EventCodec` converter: unknown keys
are kept in ``extra_fields`` and types are checked without coercion. Unlike
socket events, webhook events never hold `UNSET` in a required field: a
webhook that lacks ``data.call_id`` is rejected here rather than handed to
code that would then accept call ``UNSET``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._core.errors import RemoteProtocolError
from .._core.record import Record
from .._core.sentinel import UNSET
from .._core.serde import format_path, get_codec
from .dedup import WebhookIdStore
from .events import _BY_TYPE, UnknownWebhookEvent, WebhookEvent
from .signature import (
    DEFAULT_TOLERANCE,
    HeadersLike,
    NowLike,
    WebhookVerificationError,
    resolve_now,
    verify_webhook_signature,
)

# --- errors -----------------------------------------------------------------


class MalformedPayloadError(WebhookVerificationError):
    """The body is authentic but is not a webhook event.

    It is not UTF-8, not a JSON object, has no string ``type``, or a field of
    a known event type is missing or has the wrong type. Raised only after the
    signature was verified (or by `parse_webhook_event`). The cause, if any,
    is in ``__cause__``.

    Attributes:
        path: Where in the object the problem is, as keys and indices.
    """

    def __init__(self, message: str, *, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.path = path


class DuplicateWebhookError(WebhookVerificationError):
    """An authentic delivery whose ``webhook-id`` the store has already seen.

    OpenAI redelivers a webhook it thinks was not received (no 2xx in time),
    with the same ``webhook-id``; a recorded delivery may also be replayed
    within the timestamp tolerance. Answer it with a **2xx** (so the retries
    stop) and do not act on it again. Catch it *before*
    `WebhookVerificationError`.

    Attributes:
        webhook_id: The repeated ``webhook-id``.
        event: The parsed event, for logging.
    """

    def __init__(self, webhook_id: str, event: WebhookEvent) -> None:
        super().__init__(f"webhook {webhook_id!r} was already delivered")
        self.webhook_id = webhook_id
        self.event = event


# --- parsing ----------------------------------------------------------------


def _first_unset_required(record: Record) -> tuple[str | int, ...] | None:
    """Return the path of a required field holding `UNSET`, if there is one."""
    for field in attrs.fields(type(record)):
        value = getattr(record, field.name)
        if value is UNSET:
            if field.default is attrs.NOTHING:
                return (field.name,)
        elif isinstance(value, Record):
            inner = _first_unset_required(value)
            if inner is not None:
                return (field.name, *inner)
        elif isinstance(value, tuple):
            for index, item in enumerate(value):
                if isinstance(item, Record):
                    inner = _first_unset_required(item)
                    if inner is not None:
                        return (field.name, index, *inner)
    return None


def parse_webhook_event(
    data: bytes | bytearray | memoryview | str | Mapping[str, Any],
) -> WebhookEvent:
    """Parse a webhook body (or its decoded JSON object) into a record.

    This does not verify anything: call it only on a body that
    `verify_webhook_signature` accepted, or use `verify_webhook`.

    Args:
        data: The body as bytes (UTF-8) or text, or an already decoded object.

    Returns:
        The known record for its ``type``, else an `UnknownWebhookEvent`.
        Lossless: ``dump_webhook_event(parse_webhook_event(x)) == x``.

    Raises:
        MalformedPayloadError: The data is not UTF-8, not a JSON object, has
            no string ``type``, or a field is missing or of the wrong type.
    """
    codec = get_codec()
    obj: Any
    if isinstance(data, Mapping):
        obj = dict(data)
    elif isinstance(data, bytes | bytearray | memoryview | str):
        if isinstance(data, str):
            text = data
        else:
            try:
                text = bytes(data).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MalformedPayloadError("the webhook body is not UTF-8") from exc
        try:
            obj = codec.loads(text)
        except RemoteProtocolError as exc:
            raise MalformedPayloadError("the webhook body is not valid JSON") from exc
        if type(obj) is not dict:
            raise MalformedPayloadError("the webhook body is not a JSON object")
    else:
        raise TypeError(
            f"parse_webhook_event() takes bytes, str or a mapping, not {type(data).__name__}"
        )
    tag = obj.get("type")
    if type(tag) is not str:
        raise MalformedPayloadError(
            'the webhook event has no string "type" field', path=("type",)
        )
    cls = _BY_TYPE.get(tag)
    if cls is None:
        return UnknownWebhookEvent(type=tag, raw=obj)
    try:
        event: WebhookEvent = codec.structure(obj, cls)
    except RemoteProtocolError as exc:
        raise MalformedPayloadError(
            f"invalid {tag!r} webhook event: {exc}", path=exc.path
        ) from exc
    missing = _first_unset_required(event)
    if missing is not None:
        raise MalformedPayloadError(
            f"invalid {tag!r} webhook event: missing required field "
            f"{format_path(missing)}",
            path=missing,
        )
    return event


def dump_webhook_event(event: WebhookEvent) -> dict[str, Any]:
    """Return the JSON object of a webhook event, ``"type"`` included.

    An `UnknownWebhookEvent` dumps to (a copy of) its ``raw`` object.
    """
    if isinstance(event, UnknownWebhookEvent):
        return dict(event.raw)
    return get_codec().dump(event)


# --- verify, then parse -------------------------------------------------------


def verify_webhook(
    body: bytes | bytearray | memoryview | str,
    headers: HeadersLike,
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: NowLike = None,
    store: WebhookIdStore | None = None,
) -> WebhookEvent:
    """Verify a webhook delivery, then parse it; optionally reject duplicates.

    The Standard Webhooks scheme exactly as OpenAI uses it: see
    `verify_webhook_signature` for the checks and their order. Nothing is
    parsed before the signature is verified.

    .. code-block:: python

        try:
            event = verify_webhook(body, request.headers, secret, store=store)
        except DuplicateWebhookError:
            return 200  # already handled: acknowledge, do nothing
        except InvalidSecretError:
            return 500  # our configuration is wrong
        except WebhookVerificationError:
            return 400
        match event:
            case RealtimeCallIncoming(data=call):
                ...  # accept or reject call.call_id
        return 200

    Args:
        body: The raw request body, exactly as received.
        headers: The request headers (any mapping, names case-insensitive, or
            an iterable of ``(name, value)`` pairs).
        secret: The endpoint's ``whsec_...`` signing secret.
        tolerance: The largest allowed distance in seconds between the
            ``webhook-timestamp`` and now, either way (inclusive).
        now: Unix seconds or an aware `datetime.datetime`, for tests.
        store: Where ``webhook-id`` values are remembered. Given one, the
            ``webhook-id`` of a delivery that verified and parsed is recorded
            in it, and a repeat raises `DuplicateWebhookError`. For an async or
            shared store, leave this out and call the store yourself (see
            `WebhookIdStore`).

    Returns:
        The event: a known record such as `RealtimeCallIncoming`, or an
        `UnknownWebhookEvent`.

    Raises:
        WebhookVerificationError: In one of its subclasses, for any body and
            headers that are not an authentic, fresh, well-formed and (given a
            store) new delivery.
    """
    now_value = resolve_now(now)
    webhook_id = verify_webhook_signature(
        body, headers, secret, tolerance=tolerance, now=now_value
    )
    event = parse_webhook_event(body)
    if store is not None and store.seen(webhook_id, now=now_value):
        raise DuplicateWebhookError(webhook_id, event)
    return event
