"""Standard Webhooks signatures (HMAC-SHA256, ``v1``): signing and verification, sans-IO.

Theory of operation
-------------------
OpenAI signs each webhook delivery the way the Standard Webhooks
specification says, and the way ``openai.lib._webhooks`` checks it
(protocol reference section 7):

* the key is the base64 part of a ``whsec_`` secret, padded or not (the
  Standard Webhooks reference library adds the missing ``=``; the official
  SDK refuses an unpadded one); a secret without that prefix is used as its
  UTF-8 bytes, as the official SDK does;
* the signed content is ``{webhook-id}.{webhook-timestamp}.{body}``, with the
  header texts exactly as received and the raw body bytes;
* the signature is the padded, standard-alphabet base64 of the HMAC-SHA256;
* the ``webhook-signature`` header holds one or more space-separated
  ``v1,<base64>`` entries (several during a secret rotation), and a delivery
  is authentic when any of them equals the expected value under a
  constant-time comparison. A bare ``<base64>`` token counts as a ``v1``
  entry, as in the SDK; other versions (``v1a,`` is ed25519) never match;
* ``webhook-timestamp`` (unix seconds) must be within ``tolerance`` seconds of
  now, in both directions, inclusive at exactly ``±tolerance``.

We are deliberately stricter than the SDK where its leniency comes from
Python's parsers rather than from the scheme: the timestamp must be ASCII
digits (``int()`` would also take ``" +1_0 "`` or Arabic-Indic digits), the
three header values must be printable ASCII, a ``whsec_`` secret must be
valid standard-alphabet base64 (its ``=`` padding may be left out, but not
misplaced) and must not be empty. On every input the SDK accepts
from OpenAI, the two agree (``tests/webhooks/test_webhooks.py`` uses the SDK as an
oracle).

The checks run in this order, and the first failure is raised: the secret
(a configuration error, reported even for requests without headers), the
presence and form of the three headers, the timestamp window, the
signatures. Nothing is parsed before the signature is verified.

The error tree (all are also `ValueError`, as the SDK's
``InvalidWebhookSignatureError`` is)::

    RealtimeError
    └── WebhookVerificationError
        ├── MissingHeaderError              a webhook-* header is absent
        ├── MalformedHeaderError            present but unusable (.header says which)
        ├── InvalidSecretError              *our* secret is malformed: a server bug, not the request's
        ├── TimestampOutOfToleranceError    too old or too new (.timestamp, .now, .tolerance)
        ├── SignatureMismatchError          no signature matches: forged, tampered or wrong secret
        ├── MalformedPayloadError           authentic, but not a valid webhook event
        └── DuplicateWebhookError           authentic, but this webhook-id was already seen

Any other exception from `verify_webhook_signature` on any body or headers is
a bug. (A headers *object* of the wrong kind, or a naive ``now``, are the
caller's mistakes and raise `TypeError` or `ValueError`.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final, TypeAlias

from .._core.errors import RealtimeError

#: The three Standard Webhooks headers, in the order they are looked up.
WEBHOOK_ID: Final = "webhook-id"
WEBHOOK_TIMESTAMP: Final = "webhook-timestamp"
WEBHOOK_SIGNATURE: Final = "webhook-signature"
_REQUIRED: Final = (WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, WEBHOOK_ID)

#: The replay window of the SDK and of the Standard Webhooks libraries.
DEFAULT_TOLERANCE: Final = 300

_SECRET_PREFIX: Final = "whsec_"
# Unix seconds; 20 digits is far beyond any real clock, and the cap keeps
# int() away from its 4300-digit limit (and its ValueError) on hostile input.
_TIMESTAMP_RE: Final = re.compile(r"[0-9]{1,20}")
# webhook-id: visible ASCII, no spaces or control characters.
_WEBHOOK_ID_RE: Final = re.compile(r"[\x21-\x7e]+")

#: What `verify_webhook_signature` accepts as the request headers.
HeadersLike: TypeAlias = (
    Mapping[str, str]
    | Mapping[bytes, bytes]
    | Iterable[tuple[str | bytes, str | bytes]]
)
#: What ``now=`` accepts: unix seconds, or an aware `datetime.datetime`.
NowLike: TypeAlias = int | float | datetime | None


# --- errors -----------------------------------------------------------------


class WebhookVerificationError(RealtimeError, ValueError):
    """A webhook delivery could not be verified: answer it with an HTTP 4xx.

    The root of every error `verify_webhook` raises for any body and headers.
    It is also a `ValueError`, like the SDK's ``InvalidWebhookSignatureError``.
    Messages never contain the secret or the expected signature, so they are
    safe to log (but see `InvalidSecretError`, which is not the sender's fault,
    and `DuplicateWebhookError`, which deserves a 2xx).
    """


class MissingHeaderError(WebhookVerificationError):
    """A required ``webhook-*`` header is absent.

    Attributes:
        header: The missing header's name, lower case.
    """

    def __init__(self, header: str) -> None:
        super().__init__(f"the {header} header is missing")
        self.header = header


class MalformedHeaderError(WebhookVerificationError):
    """A ``webhook-*`` header is present but unusable.

    For example: a timestamp that is not ASCII digits, a signature header with
    no ``v1`` entry, a value that is empty or not printable ASCII, or the same
    header given twice with different values.

    Attributes:
        header: The header's name, lower case.
    """

    def __init__(self, header: str, problem: str) -> None:
        super().__init__(f"the {header} header is malformed: {problem}")
        self.header = header


class InvalidSecretError(WebhookVerificationError):
    """The webhook secret we were given is malformed.

    A ``whsec_`` secret must be followed by non-empty, valid base64. This is a
    configuration problem on the receiving server, not a property of the
    request: answer with a 5xx (so OpenAI retries later) and fix the secret.
    """


class SignatureMismatchError(WebhookVerificationError):
    """No signature in the ``webhook-signature`` header matches.

    The body or a header was altered, the request was not sent by OpenAI, or
    the secret is not the one of this webhook endpoint.
    """

    def __init__(self) -> None:
        super().__init__("no webhook signature matches the expected signature")


class TimestampOutOfToleranceError(WebhookVerificationError):
    """The ``webhook-timestamp`` is further than ``tolerance`` from now.

    A stale timestamp defeats replays of a recorded delivery; a timestamp in
    the future usually means a clock is wrong (keep servers on NTP).

    Attributes:
        timestamp: The header's timestamp, in unix seconds.
        now: The receiver's time it was compared with, in whole unix seconds.
        tolerance: The allowed distance, in seconds.
    """

    def __init__(self, *, timestamp: int, now: int, tolerance: float) -> None:
        if timestamp < now:
            what = f"too old: {now - timestamp} s before now"
        else:
            what = f"too new: {timestamp - now} s after now"
        super().__init__(
            f"the webhook timestamp {timestamp} is {what} (tolerance {tolerance:g} s)"
        )
        self.timestamp = timestamp
        self.now = now
        self.tolerance = tolerance

    @property
    def too_old(self) -> bool:
        """Whether the timestamp is in the past (else it is in the future)."""
        return self.timestamp < self.now

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(timestamp={self.timestamp!r}, now={self.now!r}, "
            f"tolerance={self.tolerance!r})"
        )


# Kept for the name this module exported first; the same class.
WebhookSecretError = InvalidSecretError


# --- signing ----------------------------------------------------------------


def secret_key(secret: str) -> bytes:
    """Return the HMAC key of a Standard Webhooks secret.

    The base64 of a ``whsec_`` secret may lack its ``=`` padding: such a
    secret gives the same key as the padded one, as in the Standard Webhooks
    reference library. A secret without the prefix is its own UTF-8 bytes.

    Raises:
        InvalidSecretError: ``secret`` is empty, or is ``whsec_`` followed by
            something that is not non-empty, valid base64.
    """
    if not isinstance(secret, str):
        raise TypeError(
            f"the webhook secret must be a str, not {type(secret).__name__}"
        )
    if not secret.startswith(_SECRET_PREFIX):
        if not secret:
            raise InvalidSecretError("the webhook secret is empty")
        return secret.encode("utf-8", "surrogatepass")
    if secret != secret.strip():
        # Read from a file or pasted, with its line break: say so (the
        # generic message below would send the user hunting in the base64).
        raise InvalidSecretError(
            "the webhook secret starts or ends with white space or a line "
            "break (as a value read from a file often does): strip it"
        )
    encoded = secret[len(_SECRET_PREFIX) :]
    if "=" not in encoded:
        # Unpadded, as the reference library accepts: restore the padding. A
        # length of 4n+1 stays invalid (no padding can complete it).
        encoded += "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        # ``from None``: the cause would quote the secret's characters.
        raise InvalidSecretError(
            "the webhook secret is not 'whsec_' followed by valid base64"
        ) from None
    if not key:
        raise InvalidSecretError("the webhook secret 'whsec_' has an empty key")
    return key


def is_raw_secret(secret: str) -> bool:
    """Whether ``secret`` lacks the ``whsec_`` prefix, so that its UTF-8 text is the key.

    The official SDK accepts such a secret, and so does `secret_key`; but the
    secrets OpenAI issues all have the prefix, so a raw one is more often a
    mistake (a secret of another service, a truncated paste) than a choice.
    """
    return not secret.startswith(_SECRET_PREFIX)


def compute_signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    """Return the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` (no ``v1,`` tag)."""
    signed = b"%s.%s.%s" % (
        webhook_id.encode("utf-8", "surrogatepass"),
        timestamp.encode("utf-8", "surrogatepass"),
        body,
    )
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign_webhook(
    body: bytes | str,
    secret: str,
    *,
    webhook_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Return the three Standard Webhooks headers that sign ``body``.

    This is what OpenAI does when it delivers a webhook; use it to test your
    handler, or in a simulator.

    Args:
        body: The exact request body (a `str` is encoded as UTF-8).
        secret: The ``whsec_...`` secret of the endpoint.
        webhook_id: The delivery id; by default a fresh random ``wh_...``.
        timestamp: Unix seconds; by default now.

    Returns:
        ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``.

    Raises:
        InvalidSecretError: The secret is malformed.

    .. versionchanged:: 0.1
       ``webhook_id`` and ``timestamp`` became optional.
    """
    if webhook_id is None:
        webhook_id = "wh_" + secrets.token_hex(16)
    if timestamp is None:
        timestamp = int(time.time())
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    signature = compute_signature(secret_key(secret), webhook_id, str(timestamp), raw)
    return {
        WEBHOOK_ID: webhook_id,
        WEBHOOK_TIMESTAMP: str(timestamp),
        WEBHOOK_SIGNATURE: f"v1,{signature}",
    }


# --- verification -------------------------------------------------------------


def resolve_now(now: NowLike) -> float:
    """Return ``now`` as unix seconds (the current time when it is None).

    Raises:
        ValueError: ``now`` is a naive datetime, or not finite.
        TypeError: ``now`` is not a number or datetime.
    """
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(
                "now= must be an aware datetime (for example "
                "datetime.now(timezone.utc)); a naive one has no defined instant"
            )
        return now.timestamp()
    if isinstance(now, bool) or not isinstance(now, int | float):
        raise TypeError(
            f"now= must be unix seconds or an aware datetime, not {type(now).__name__}"
        )
    if not math.isfinite(now):
        raise ValueError(f"now= must be finite, not {now!r}")
    return float(now)


def _check_tolerance(tolerance: float) -> None:
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float)
        or not math.isfinite(tolerance)
        or tolerance < 0
    ):
        raise ValueError(
            f"tolerance= must be a finite number of seconds >= 0, not {tolerance!r}"
        )


def _header_items(headers: Any) -> Iterable[tuple[Any, Any]]:
    # httpx.Headers.items() merges repeated headers; multi_items() does not.
    multi_items = getattr(headers, "multi_items", None)
    if callable(multi_items):
        return multi_items()  # type: ignore[no-any-return]
    items = getattr(headers, "items", None)
    if callable(items):  # dict, starlette Headers, email.message.Message, ...
        return items()  # type: ignore[no-any-return]
    if isinstance(headers, str | bytes | bytearray) or not isinstance(
        headers, Iterable
    ):
        raise TypeError(
            "headers must be a mapping or an iterable of (name, value) pairs, "
            f"not {type(headers).__name__}"
        )
    return headers  # ASGI scope["headers"]: [(b"name", b"value"), ...]


def _header_name(key: object) -> str | None:
    # ASCII-only lowering: str.lower() maps the Kelvin sign to "k", which would
    # let a hostile "webhoo\u212a-id" pass for "webhook-id".
    if isinstance(key, bytes | bytearray):
        try:
            key = bytes(key).decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(key, str) or not key.isascii():
        return None
    name = key.lower()
    return name if name in _REQUIRED else None


def _find_headers(headers: HeadersLike) -> dict[str, str]:
    """Pick the three webhook headers out of ``headers``, names case-insensitive."""
    found: dict[str, str] = {}
    for pair in _header_items(headers):
        try:
            key, value = pair
        except (TypeError, ValueError):
            raise TypeError(
                f"headers must yield (name, value) pairs, got {type(pair).__name__}"
            ) from None
        name = _header_name(key)
        if name is None:
            continue
        if isinstance(value, bytes | bytearray):
            try:
                value = bytes(value).decode("ascii")
            except UnicodeDecodeError:
                raise MalformedHeaderError(name, "not ASCII") from None
        elif not isinstance(value, str):
            raise MalformedHeaderError(name, f"not a string but {type(value).__name__}")
        if not value.isascii():
            raise MalformedHeaderError(name, "not ASCII")
        previous = found.setdefault(name, value)
        if previous != value:
            raise MalformedHeaderError(
                name, "given more than once, with different values"
            )
    for name in _REQUIRED:
        if name not in found:
            raise MissingHeaderError(name)
    return found


def _signature_candidates(header: str) -> list[bytes]:
    candidates = []
    for token in header.split():  # any whitespace, as the SDK splits
        if token.startswith("v1,"):
            token = token[3:]
        elif "," in token:
            continue  # another scheme, e.g. "v1a," (ed25519): never ours
        if token:
            candidates.append(token.encode("ascii"))
    if not candidates:
        raise MalformedHeaderError(WEBHOOK_SIGNATURE, "no v1 signature")
    return candidates


def verify_webhook_signature(
    body: bytes | bytearray | memoryview | str,
    headers: HeadersLike,
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: NowLike = None,
) -> str:
    """Check that a webhook delivery is authentic and fresh, without parsing it.

    `verify_webhook` does this and then parses the body; use this function
    alone when you only need the yes/no (for example before handing the body
    to other code).

    Args:
        body: The raw request body, exactly as received. Never pass JSON you
            decoded and encoded again: it will not match.
        headers: The request headers: any mapping (names are matched
            case-insensitively; values `str` or ASCII `bytes`) or an iterable
            of ``(name, value)`` pairs such as an ASGI ``scope["headers"]``.
            The same header given twice with different values is rejected.
        secret: The endpoint's signing secret, ``whsec_...``. Keep it on the
            server, out of logs and out of source control.
        tolerance: The largest allowed distance, in seconds, between the
            ``webhook-timestamp`` and now, in either direction.
        now: The time to compare with, as unix seconds or an aware
            `datetime.datetime`; the current time by default. For tests. It is
            compared in whole seconds, as the SDK does.

    Returns:
        The ``webhook-id`` of the delivery, the key to de-duplicate on.

    Raises:
        InvalidSecretError: ``secret`` is malformed.
        MissingHeaderError: ``webhook-signature``, ``webhook-timestamp`` or
            ``webhook-id`` is absent (looked up in that order).
        MalformedHeaderError: One of them is unusable.
        TimestampOutOfToleranceError: The timestamp is too old or too new.
        SignatureMismatchError: No signature matches.
        ValueError: ``now`` is a naive datetime, or ``tolerance`` is negative.
        TypeError: ``headers`` is not a mapping or iterable of pairs.
    """
    _check_tolerance(tolerance)
    now_seconds = math.floor(resolve_now(now))
    key = secret_key(secret)
    found = _find_headers(headers)
    signature_header = found[WEBHOOK_SIGNATURE]
    timestamp_text = found[WEBHOOK_TIMESTAMP]
    webhook_id = found[WEBHOOK_ID]
    if not _TIMESTAMP_RE.fullmatch(timestamp_text):
        raise MalformedHeaderError(WEBHOOK_TIMESTAMP, "not unix seconds")
    if not _WEBHOOK_ID_RE.fullmatch(webhook_id):
        raise MalformedHeaderError(WEBHOOK_ID, "empty, or not printable ASCII")
    candidates = _signature_candidates(signature_header)

    timestamp = int(timestamp_text)
    if now_seconds - timestamp > tolerance or timestamp - now_seconds > tolerance:
        raise TimestampOutOfToleranceError(
            timestamp=timestamp, now=now_seconds, tolerance=tolerance
        )

    if isinstance(body, str):
        raw = body.encode("utf-8", "surrogatepass")
    elif isinstance(body, bytes | bytearray | memoryview):
        raw = bytes(body)
    else:
        raise TypeError(f"body must be bytes or str, not {type(body).__name__}")
    expected = compute_signature(key, webhook_id, timestamp_text, raw).encode()
    matched = False
    for candidate in candidates:
        # No early exit: the time taken does not depend on which entry matched.
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureMismatchError
    return webhook_id
