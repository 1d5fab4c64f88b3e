"""Webhook verification, records and de-duplication, without an event loop.

The openai SDK is the oracle for the signature scheme: for generated bodies,
ids, timestamps, secrets and signature headers, `verify_webhook_signature`
accepts exactly when ``OpenAI(...).webhooks.verify_signature`` does (no
network is used; the SDK's clock is pinned).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import types
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from email.message import Message
from pathlib import Path
from typing import Any
from unittest import mock

import attrs
import openai
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openai.lib import _webhooks as sdk_webhooks

import realtime_trio
from realtime_trio import RealtimeError, webhooks
from realtime_trio._webhooks.events import WEBHOOK_EVENT_CLASSES
from realtime_trio._webhooks.signature import compute_signature, secret_key
from realtime_trio.webhooks import (
    DuplicateWebhookError,
    InvalidSecretError,
    LiveCallIncoming,
    MalformedHeaderError,
    MalformedPayloadError,
    MemoryWebhookIdStore,
    MissingHeaderError,
    RealtimeCallIncoming,
    RealtimeCallIncomingData,
    ResponseCompleted,
    SignatureMismatchError,
    SipHeader,
    TimestampOutOfToleranceError,
    UnknownWebhookEvent,
    WebhookEventData,
    WebhookVerificationError,
    dump_webhook_event,
    parse_webhook_event,
    sign_webhook,
    verify_webhook,
    verify_webhook_signature,
)
from tests.helpers.strategies import json_values

# protocol.md section 7 (from openai-python's tests).
VECTOR_SECRET = "whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c="
VECTOR_ID = "wh_685c059ae39c8190af8c71ed1022a24d"
VECTOR_TS = 1750861210
VECTOR_BODY = (
    b'{"id": "evt_685c059ae3a481909bdc86819b066fb6", "object": "event", '
    b'"created_at": 1750861210, "type": "response.completed", '
    b'"data": {"id": "resp_123"}}'
)
VECTOR_SIGNATURE = "gUAg4R2hWouRZqRQG4uJypNS8YK885G838+EHb4nKBY="
VECTOR_HEADERS = {
    "webhook-id": VECTOR_ID,
    "webhook-timestamp": str(VECTOR_TS),
    "webhook-signature": f"v1,{VECTOR_SIGNATURE}",
}

OTHER_SECRET = "whsec_" + base64.b64encode(b"another secret of 32 bytes......").decode()
GOLDEN = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "examples"
    / "realtime.call.incoming.json"
)
HEADER_NAMES = ("webhook-signature", "webhook-timestamp", "webhook-id")


def signed(
    body: bytes,
    *,
    secret: str = VECTOR_SECRET,
    timestamp: int = VECTOR_TS,
    webhook_id: str = VECTOR_ID,
) -> dict[str, str]:
    return sign_webhook(body, secret, webhook_id=webhook_id, timestamp=timestamp)


def sig(body: bytes, secret: str, *, ts: int = VECTOR_TS, wid: str = VECTOR_ID) -> str:
    return compute_signature(secret_key(secret), wid, str(ts), body)


def call_body(**changes: Any) -> bytes:
    obj = json.loads(GOLDEN.read_text())
    obj.update(changes)
    return json.dumps(obj).encode()


def sdk_accepts(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: int,
    now: int,
) -> bool:
    client = openai.OpenAI(api_key="sk-not-used", webhook_secret=secret)
    clock = types.SimpleNamespace(time=lambda: now)
    with mock.patch.object(sdk_webhooks, "time", clock):
        try:
            client.webhooks.verify_signature(
                body, headers, secret=secret, tolerance=tolerance
            )
        except ValueError:  # InvalidWebhookSignatureError is one
            return False
    return True


# --- the test vector and the happy path ----------------------------------------


def test_protocol_test_vector() -> None:
    event = verify_webhook(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=VECTOR_TS)
    assert event == ResponseCompleted(
        id="evt_685c059ae3a481909bdc86819b066fb6",
        object="event",
        created_at=1750861210,
        data=WebhookEventData(id="resp_123"),
    )
    assert dump_webhook_event(event) == json.loads(VECTOR_BODY)
    assert (
        verify_webhook_signature(
            VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=VECTOR_TS
        )
        == VECTOR_ID
    )
    assert signed(VECTOR_BODY) == VECTOR_HEADERS
    assert sdk_accepts(
        VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, tolerance=300, now=VECTOR_TS
    )


def test_realtime_call_incoming_end_to_end() -> None:
    body = GOLDEN.read_bytes()
    event = verify_webhook(body, signed(body), VECTOR_SECRET, now=VECTOR_TS)
    assert isinstance(event, RealtimeCallIncoming)
    assert event.data.call_id == "rtc_479a275623b54bdb9b6fbae2f7cbd408"
    assert event.data.sip_headers[1] == SipHeader(name="CSeq", value="851287 INVITE")
    match event:
        case RealtimeCallIncoming(data=RealtimeCallIncomingData(call_id=call_id)):
            assert call_id.startswith("rtc_")
        case _:  # pragma: no cover
            pytest.fail("no match")


def test_body_kinds_agree() -> None:
    headers = signed(VECTOR_BODY)
    for body in (VECTOR_BODY, VECTOR_BODY.decode(), bytearray(VECTOR_BODY)):
        assert verify_webhook(
            body, headers, VECTOR_SECRET, now=VECTOR_TS
        ).id.startswith("evt_")
    view = memoryview(VECTOR_BODY)
    assert verify_webhook_signature(view, headers, VECTOR_SECRET, now=VECTOR_TS)


def test_sign_webhook_defaults() -> None:
    headers = sign_webhook(b"{}", VECTOR_SECRET)
    assert re.fullmatch(r"wh_[0-9a-f]{32}", headers["webhook-id"])
    verify_webhook_signature(b"{}", headers, VECTOR_SECRET)  # now, within tolerance


# --- signatures -------------------------------------------------------------------


def test_rotation_several_signatures() -> None:
    header = f"v1,{sig(VECTOR_BODY, OTHER_SECRET)} v1,{VECTOR_SIGNATURE}"
    headers = {**VECTOR_HEADERS, "webhook-signature": header}
    for secret in (VECTOR_SECRET, OTHER_SECRET):
        verify_webhook(VECTOR_BODY, headers, secret, now=VECTOR_TS)
        assert sdk_accepts(VECTOR_BODY, headers, secret, tolerance=300, now=VECTOR_TS)
    third = "whsec_" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(SignatureMismatchError):
        verify_webhook(VECTOR_BODY, headers, third, now=VECTOR_TS)
    # any whitespace separates entries, as in the SDK
    headers["webhook-signature"] = (
        f"  v1,{sig(VECTOR_BODY, OTHER_SECRET)}\t\tv1,{VECTOR_SIGNATURE} "
    )
    verify_webhook(VECTOR_BODY, headers, VECTOR_SECRET, now=VECTOR_TS)


def test_bare_token_accepted_like_the_sdk() -> None:
    headers = {**VECTOR_HEADERS, "webhook-signature": VECTOR_SIGNATURE}
    verify_webhook(VECTOR_BODY, headers, VECTOR_SECRET, now=VECTOR_TS)
    assert sdk_accepts(
        VECTOR_BODY, headers, VECTOR_SECRET, tolerance=300, now=VECTOR_TS
    )


@pytest.mark.parametrize("prefix", ["v1a,", "v2,", "V1,", "v1;", ",", "v1,v1,"])
def test_other_versions_never_match(prefix: str) -> None:
    headers = {**VECTOR_HEADERS, "webhook-signature": prefix + VECTOR_SIGNATURE}
    with pytest.raises((MalformedHeaderError, SignatureMismatchError)):
        verify_webhook(VECTOR_BODY, headers, VECTOR_SECRET, now=VECTOR_TS)
    assert not sdk_accepts(
        VECTOR_BODY, headers, VECTOR_SECRET, tolerance=300, now=VECTOR_TS
    )


def test_v1a_only_is_malformed_but_wrong_v1_is_a_mismatch() -> None:
    headers = {**VECTOR_HEADERS, "webhook-signature": "v1a," + VECTOR_SIGNATURE}
    with pytest.raises(MalformedHeaderError, match="no v1 signature") as info:
        verify_webhook(VECTOR_BODY, headers, VECTOR_SECRET, now=VECTOR_TS)
    assert info.value.header == "webhook-signature"
    headers["webhook-signature"] += " v1," + sig(b"other", VECTOR_SECRET)
    with pytest.raises(SignatureMismatchError):
        verify_webhook(VECTOR_BODY, headers, VECTOR_SECRET, now=VECTOR_TS)


def test_wrong_secret() -> None:
    with pytest.raises(SignatureMismatchError) as info:
        verify_webhook(VECTOR_BODY, VECTOR_HEADERS, OTHER_SECRET, now=VECTOR_TS)
    message = str(info.value)
    assert VECTOR_SIGNATURE not in message
    assert sig(VECTOR_BODY, OTHER_SECRET) not in message  # never leak the expected one
    assert OTHER_SECRET[6:] not in message


@pytest.mark.parametrize(
    "body",
    [
        VECTOR_BODY.replace(b"resp_123", b"resp_124"),
        VECTOR_BODY + b" ",
        b" " + VECTOR_BODY,
        VECTOR_BODY + b"\n",
        json.dumps(json.loads(VECTOR_BODY))
        .encode()
        .replace(b" ", b""),  # re-serialized
        b"",
    ],
)
def test_tampered_body(body: bytes) -> None:
    with pytest.raises(SignatureMismatchError):
        verify_webhook(body, VECTOR_HEADERS, VECTOR_SECRET, now=VECTOR_TS)


def test_tampered_headers() -> None:
    headers = {**VECTOR_HEADERS, "webhook-id": VECTOR_ID + "x"}
    with pytest.raises(SignatureMismatchError):
        verify_webhook(VECTOR_BODY, headers, VECTOR_SECRET, now=VECTOR_TS)
    headers = {**VECTOR_HEADERS, "webhook-timestamp": str(VECTOR_TS + 1)}
    with pytest.raises(SignatureMismatchError):
        verify_webhook(VECTOR_BODY, headers, VECTOR_SECRET, now=VECTOR_TS)
    # leading zeros are part of the signed text (int() would hide them)
    headers = {**VECTOR_HEADERS, "webhook-timestamp": f"0{VECTOR_TS}"}
    with pytest.raises(SignatureMismatchError):
        verify_webhook(VECTOR_BODY, headers, VECTOR_SECRET, now=VECTOR_TS)


def test_plain_secret_is_used_as_bytes_like_the_sdk() -> None:
    headers = signed(VECTOR_BODY, secret="plain secret")
    verify_webhook(VECTOR_BODY, headers, "plain secret", now=VECTOR_TS)
    assert sdk_accepts(
        VECTOR_BODY, headers, "plain secret", tolerance=300, now=VECTOR_TS
    )


# --- timestamps ---------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamp_within_tolerance_inclusive(offset: int) -> None:
    verify_webhook(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=VECTOR_TS - offset)
    assert sdk_accepts(
        VECTOR_BODY,
        VECTOR_HEADERS,
        VECTOR_SECRET,
        tolerance=300,
        now=VECTOR_TS - offset,
    )


@pytest.mark.parametrize(("offset", "word"), [(301, "too old"), (-301, "too new")])
def test_timestamp_beyond_tolerance(offset: int, word: str) -> None:
    now = VECTOR_TS + offset
    with pytest.raises(TimestampOutOfToleranceError, match=word) as info:
        verify_webhook(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=now)
    assert (info.value.timestamp, info.value.now, info.value.tolerance) == (
        VECTOR_TS,
        now,
        300,
    )
    assert info.value.too_old is (offset > 0)
    assert "301 s" in str(info.value)
    assert not sdk_accepts(
        VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, tolerance=300, now=now
    )


def test_custom_tolerance() -> None:
    verify_webhook(
        VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=VECTOR_TS, tolerance=0
    )
    with pytest.raises(TimestampOutOfToleranceError):
        verify_webhook(
            VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=VECTOR_TS + 1, tolerance=0
        )
    verify_webhook(
        VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=VECTOR_TS + 3600, tolerance=3600
    )
    for bad in (-1, float("inf"), float("nan"), True, "300"):
        with pytest.raises(ValueError, match="tolerance") as info:
            verify_webhook(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, tolerance=bad)  # type: ignore[arg-type]
        assert not isinstance(info.value, WebhookVerificationError)


def test_stale_timestamp_even_when_signed() -> None:
    # A replay of a recorded delivery, an hour later: the signature is fine.
    with pytest.raises(TimestampOutOfToleranceError, match="too old"):
        verify_webhook(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=VECTOR_TS + 3600)


def test_now_as_float_is_compared_in_whole_seconds_like_the_sdk() -> None:
    verify_webhook(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=VECTOR_TS + 300.99)
    with pytest.raises(TimestampOutOfToleranceError):
        verify_webhook(
            VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=VECTOR_TS + 301.0
        )


def test_now_as_aware_datetime() -> None:
    at = datetime.fromtimestamp(VECTOR_TS, UTC)
    verify_webhook(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=at)
    tokyo = at.astimezone(timezone(timedelta(hours=9)))
    verify_webhook(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=tokyo)
    with pytest.raises(TimestampOutOfToleranceError, match="too new"):
        verify_webhook(
            VECTOR_BODY,
            VECTOR_HEADERS,
            VECTOR_SECRET,
            now=at - timedelta(seconds=301),
        )


def test_naive_datetime_is_a_clear_error() -> None:
    naive = datetime(2025, 6, 25, 14, 20, 10)
    with pytest.raises(ValueError, match="aware datetime") as info:
        verify_webhook(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=naive)
    assert not isinstance(info.value, WebhookVerificationError)  # our bug, not theirs
    with pytest.raises(TypeError):
        verify_webhook(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verify_webhook(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, now="1750861210")  # type: ignore[arg-type]


# --- headers ------------------------------------------------------------------------


@pytest.mark.parametrize("missing", HEADER_NAMES)
def test_missing_each_header(missing: str) -> None:
    headers = {k: v for k, v in VECTOR_HEADERS.items() if k != missing}
    with pytest.raises(MissingHeaderError, match=missing) as info:
        verify_webhook(VECTOR_BODY, headers, VECTOR_SECRET, now=VECTOR_TS)
    assert info.value.header == missing


def test_missing_headers_reported_in_sdk_order() -> None:
    with pytest.raises(MissingHeaderError) as info:
        verify_webhook(VECTOR_BODY, {}, VECTOR_SECRET, now=VECTOR_TS)
    assert info.value.header == "webhook-signature"


class _CaseSensitiveMapping(Mapping[str, str]):
    """A Mapping that is not a dict (and whose lookups are case-sensitive)."""

    def __init__(self, data: dict[str, str]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class _MultiDict:
    """httpx.Headers-like: items() merges repeats, multi_items() does not."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def items(self) -> list[tuple[str, str]]:
        raise AssertionError("multi_items() should be preferred")

    def multi_items(self) -> list[tuple[str, str]]:
        return self._pairs


def _header_objects() -> list[Any]:
    mixed = {
        "Webhook-Id": VECTOR_ID,
        "WEBHOOK-TIMESTAMP": str(VECTOR_TS),
        "webhook-SIGNATURE": f"v1,{VECTOR_SIGNATURE}",
        "Content-Type": "application/json",
        "X-Ünïcode": "välue",
    }
    message = Message()
    for k, v in mixed.items():
        if k.isascii():
            message[k] = v
    return [
        mixed,
        _CaseSensitiveMapping(mixed),
        list(mixed.items()),
        tuple(mixed.items()),
        [(k.encode(), v.encode()) for k, v in mixed.items()],  # ASGI scope["headers"]
        _MultiDict(list(mixed.items())),
        message,
    ]


@pytest.mark.parametrize("headers", _header_objects())
def test_header_containers_and_case_insensitive_names(headers: Any) -> None:
    event = verify_webhook(VECTOR_BODY, headers, VECTOR_SECRET, now=VECTOR_TS)
    assert isinstance(event, ResponseCompleted)


def test_non_ascii_lookalike_header_name_is_not_matched() -> None:
    # "\u212a" (Kelvin sign) lowers to "k" with str.lower().
    headers = {
        **{k: v for k, v in VECTOR_HEADERS.items() if k != "webhook-id"},
        "webhoo\u212a-id": VECTOR_ID,
    }
    with pytest.raises(MissingHeaderError, match="webhook-id"):
        verify_webhook(VECTOR_BODY, headers, VECTOR_SECRET, now=VECTOR_TS)


def test_repeated_headers() -> None:
    pairs = [*VECTOR_HEADERS.items(), ("Webhook-Id", VECTOR_ID)]
    verify_webhook(VECTOR_BODY, pairs, VECTOR_SECRET, now=VECTOR_TS)  # same value: fine
    pairs = [*VECTOR_HEADERS.items(), ("Webhook-Id", "wh_other")]
    with pytest.raises(MalformedHeaderError, match="more than once") as info:
        verify_webhook(VECTOR_BODY, pairs, VECTOR_SECRET, now=VECTOR_TS)
    assert info.value.header == "webhook-id"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("webhook-timestamp", "abc"),
        ("webhook-timestamp", ""),
        ("webhook-timestamp", " 1750861210"),
        ("webhook-timestamp", "+1750861210"),
        ("webhook-timestamp", "-1"),
        ("webhook-timestamp", "1_750_861_210"),
        ("webhook-timestamp", "1750861210.0"),
        (
            "webhook-timestamp",
            "\u0661\u0667\u0665",
        ),  # Arabic-Indic digits: int() takes them
        ("webhook-timestamp", "9" * 5000),  # int() would raise ValueError
        ("webhook-id", ""),
        ("webhook-id", "wh_ 1"),
        ("webhook-id", "wh_\x00"),
        ("webhook-id", "wh_é"),
        ("webhook-signature", ""),
        ("webhook-signature", "   "),
        ("webhook-signature", "v1,"),
        ("webhook-signature", "v1,é"),
        ("webhook-signature", f"v1,{VECTOR_SIGNATURE}\u00a0"),
        ("webhook-signature", 42),
        ("webhook-signature", None),
        ("webhook-signature", b"v1,\xff"),
    ],
)
def test_malformed_headers(name: str, value: Any) -> None:
    headers: dict[str, Any] = {**VECTOR_HEADERS, name: value}
    with pytest.raises(MalformedHeaderError) as info:
        verify_webhook(VECTOR_BODY, headers, VECTOR_SECRET, now=VECTOR_TS)
    assert info.value.header == name


def test_headers_of_the_wrong_kind_are_a_type_error() -> None:
    for bad in (None, 42, "webhook-id: x", b"", [("a", "b", "c")], ["abc"]):
        with pytest.raises(TypeError):
            verify_webhook(VECTOR_BODY, bad, VECTOR_SECRET, now=VECTOR_TS)


# --- secrets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [
        "whsec_!!!!",
        "whsec_abcde",  # 4n+1 characters: no padding completes it
        "whsec_ab=c",  # misplaced padding
        "whsec_ab-_",  # the URL-safe alphabet
        "whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c= ",  # SDK: ignored
        "whsec_Rdva\nYFYU",
        "whsec_",  # empty key
        "",
    ],
)
def test_malformed_secret(secret: str) -> None:
    with pytest.raises(InvalidSecretError) as info:
        verify_webhook(VECTOR_BODY, VECTOR_HEADERS, secret, now=VECTOR_TS)
    assert isinstance(info.value, WebhookVerificationError)
    assert info.value.__cause__ is None  # the cause would quote the secret
    # a configuration error shows even on requests without headers
    with pytest.raises(InvalidSecretError):
        verify_webhook(VECTOR_BODY, {}, secret, now=VECTOR_TS)
    # the old name still works
    with pytest.raises(webhooks.InvalidSecretError):
        sign_webhook(b"{}", secret)


@pytest.mark.parametrize("ending", ["\n", "\r\n", " "])
def test_a_whsec_secret_read_from_a_file_says_strip_it(ending: str) -> None:
    with pytest.raises(InvalidSecretError, match="strip it") as info:
        verify_webhook(VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET + ending)
    assert VECTOR_SECRET.removeprefix("whsec_") not in str(info.value)


def test_secret_must_be_a_string() -> None:
    with pytest.raises(TypeError):
        verify_webhook(VECTOR_BODY, VECTOR_HEADERS, b"whsec_x", now=VECTOR_TS)  # type: ignore[arg-type]


# --- payloads -----------------------------------------------------------------------


def test_non_utf8_body() -> None:
    body = b'{"type": "realtime.call.incoming", "x": "\xff"}'
    with pytest.raises(SignatureMismatchError):  # verify before parsing
        verify_webhook(body, VECTOR_HEADERS, VECTOR_SECRET, now=VECTOR_TS)
    with pytest.raises(MalformedPayloadError, match="UTF-8") as info:
        verify_webhook(body, signed(body), VECTOR_SECRET, now=VECTOR_TS)
    assert isinstance(info.value.__cause__, UnicodeDecodeError)
    # but it is authentic: the signature alone passes
    verify_webhook_signature(body, signed(body), VECTOR_SECRET, now=VECTOR_TS)


@pytest.mark.parametrize(
    ("body", "message", "path"),
    [
        (b"not json", "not valid JSON", ()),
        (b"[1, 2]", "not a JSON object", ()),
        (b"{}", 'no string "type"', ("type",)),
        (b'{"type": 3}', 'no string "type"', ("type",)),
        (b"[" * 100_000, "not valid JSON", ()),
        (
            call_body(created_at="1719168000"),
            "expected integer",
            ("created_at",),
        ),
        (call_body(data={"sip_headers": []}), "data.call_id", ("data", "call_id")),
        (call_body(data=None), "data", ("data",)),
        (
            call_body(data={"call_id": "rtc_1", "sip_headers": [{"name": "From"}]}),
            "sip_headers[0].value",
            ("data", "sip_headers", 0, "value"),
        ),
        (call_body(id=None), "id", ("id",)),
    ],
)
def test_malformed_payload_after_verification(
    body: bytes, message: str, path: tuple[Any, ...]
) -> None:
    with pytest.raises(MalformedPayloadError) as info:
        verify_webhook(body, signed(body), VECTOR_SECRET, now=VECTOR_TS)
    assert message in str(info.value)
    assert info.value.path == path


def test_unknown_type_parses_losslessly() -> None:
    raw = {
        "id": "evt_1",
        "object": "event",
        "type": "video.completed",
        "created_at": 1,
        "data": {"id": "video_1", "nested": [1, {"a": None}]},
    }
    body = json.dumps(raw).encode()
    event = verify_webhook(body, signed(body), VECTOR_SECRET, now=VECTOR_TS)
    assert event == UnknownWebhookEvent(type="video.completed", raw=raw)
    assert dump_webhook_event(event) == raw


def test_golden_round_trip_is_lossless() -> None:
    raw = json.loads(GOLDEN.read_text())
    assert dump_webhook_event(parse_webhook_event(GOLDEN.read_bytes())) == raw
    assert dump_webhook_event(parse_webhook_event(GOLDEN.read_text())) == raw
    assert dump_webhook_event(parse_webhook_event(raw)) == raw


def test_unknown_fields_are_kept() -> None:
    raw = json.loads(GOLDEN.read_text())
    raw["object"] = "event"
    raw["new_top"] = {"x": 1}
    raw["data"]["sip_media_security"] = "srtp"
    raw["data"]["new_data"] = [1, 2]
    raw["data"]["sip_headers"][0]["new_header_key"] = True
    event = parse_webhook_event(raw)
    assert isinstance(event, RealtimeCallIncoming)
    assert event.extra_fields == {"new_top": {"x": 1}}
    assert event.data.sip_media_security == "srtp"
    assert event.data.extra_fields == {"new_data": [1, 2]}
    assert dump_webhook_event(event) == raw


def test_live_call_incoming() -> None:
    raw = json.loads(GOLDEN.read_text())
    raw["type"] = "live.call.incoming"
    raw["data"]["session_id"] = raw["data"].pop("call_id")
    event = parse_webhook_event(raw)
    assert isinstance(event, LiveCallIncoming)
    assert event.data.session_id.startswith("rtc_")
    assert dump_webhook_event(event) == raw


def test_class_names_are_the_camel_case_of_the_type() -> None:
    for cls in WEBHOOK_EVENT_CLASSES:
        expected = "".join(p.capitalize() for p in re.split(r"[._]", cls.TYPE))
        assert cls.__name__ == expected
        assert getattr(webhooks, cls.__name__) is cls
    # protocol.md section 6.3
    types_ = {cls.TYPE for cls in WEBHOOK_EVENT_CLASSES}
    assert {"realtime.call.incoming", "live.call.incoming"} <= types_
    for prefix, n in [
        ("response.", 4),
        ("batch.", 4),
        ("eval.run.", 3),
        ("fine_tuning.job.", 3),
    ]:
        assert sum(t.startswith(prefix) for t in types_) == n


def _example(cls: type[Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "evt_1",
        "object": "event",
        "type": cls.TYPE,
        "created_at": 1750861210,
        "data": {"id": "obj_1"},
    }
    if cls is RealtimeCallIncoming:
        raw["data"] = json.loads(GOLDEN.read_text())["data"]
    elif cls is LiveCallIncoming:
        raw["data"] = {
            "session_id": "rtc_1",
            "sip_headers": [{"name": "To", "value": "x"}],
        }
    return raw


@pytest.mark.parametrize("cls", WEBHOOK_EVENT_CLASSES, ids=lambda c: c.TYPE)
def test_every_type_agrees_with_the_sdk(cls: type[Any]) -> None:
    raw = _example(cls)
    body = json.dumps(raw).encode()
    headers = sign_webhook(
        body, VECTOR_SECRET
    )  # signed now: the SDK uses the real clock
    ours = verify_webhook(body, headers, VECTOR_SECRET)
    assert type(ours) is cls
    assert dump_webhook_event(ours) == raw
    client = openai.OpenAI(api_key="sk-not-used")
    theirs = client.webhooks.unwrap(body, headers, secret=VECTOR_SECRET)
    assert type(theirs).__name__ == f"{cls.__name__}WebhookEvent"
    assert theirs.data.model_dump(exclude_unset=True) == raw["data"]
    for field in ("id", "created_at", "object"):
        assert getattr(theirs, field) == getattr(ours, field)


def test_dump_of_constructed_event() -> None:
    event = RealtimeCallIncoming(
        id="evt_1",
        created_at=2,
        data=RealtimeCallIncomingData(
            call_id="rtc_1", sip_headers=(SipHeader(name="From", value="<sip:a@b>"),)
        ),
    )
    assert dump_webhook_event(event) == {
        "type": "realtime.call.incoming",
        "id": "evt_1",
        "created_at": 2,
        "data": {
            "call_id": "rtc_1",
            "sip_headers": [{"name": "From", "value": "<sip:a@b>"}],
        },
    }
    assert attrs.evolve(event, id="evt_2").id == "evt_2"
    assert hash(event) == hash(parse_webhook_event(dump_webhook_event(event)))


def test_parse_rejects_non_json_kinds() -> None:
    with pytest.raises(TypeError):
        parse_webhook_event(42)  # type: ignore[arg-type]


# --- de-duplication ---------------------------------------------------------------


def test_memory_store_duplicates_and_expiry() -> None:
    store = MemoryWebhookIdStore(ttl=600)
    assert store.seen("wh_1", now=1000) is False
    assert store.seen("wh_1", now=1000) is True
    assert store.seen("wh_1", now=1599.9) is True
    assert store.seen("wh_2", now=1500) is False
    assert store.seen("wh_1", now=1600) is False  # expired: new again
    assert store.seen("wh_1", now=2199) is True
    assert store.seen("wh_2", now=2100) is False  # purged on the way
    assert len(store) == 2


def test_memory_store_repeat_does_not_extend_expiry() -> None:
    store = MemoryWebhookIdStore(ttl=10)
    store.seen("wh_1", now=0)
    assert store.seen("wh_1", now=9) is True
    assert store.seen("wh_1", now=10) is False  # like SET NX EX


def test_memory_store_is_bounded_oldest_first() -> None:
    store = MemoryWebhookIdStore(max_entries=3, ttl=1_000)
    for n in range(5):
        assert store.seen(f"wh_{n}", now=n) is False
    assert len(store) == 3
    assert store.seen("wh_4", now=10) is True
    assert store.seen("wh_2", now=10) is True
    assert store.seen("wh_0", now=10) is False  # forgotten, oldest first


def test_memory_store_with_a_clock_that_goes_back() -> None:
    store = MemoryWebhookIdStore(ttl=10)
    store.seen("wh_1", now=100)
    store.seen("wh_2", now=50)  # clock went backwards: wh_2 expires at 60
    assert store.seen("wh_2", now=60) is False
    assert store.seen("wh_1", now=105) is True


def test_memory_store_forget() -> None:
    store = MemoryWebhookIdStore()
    store.seen("wh_1", now=0)
    store.forget("wh_1")
    store.forget("wh_unknown")
    assert store.seen("wh_1", now=1) is False


def test_memory_store_defaults_and_validation() -> None:
    store = MemoryWebhookIdStore()
    assert store.max_entries == 10_000
    assert store.ttl == 72 * 3600  # OpenAI's retry window
    assert store.ttl >= 2 * 300  # and at least the replay window
    assert "remembered=0" in repr(store)
    for kwargs in ({"max_entries": 0}, {"ttl": 0}, {"ttl": float("inf")}, {"ttl": -1}):
        with pytest.raises(ValueError):
            MemoryWebhookIdStore(**kwargs)
    with pytest.raises(TypeError):
        MemoryWebhookIdStore(max_entries=1.5)  # type: ignore[arg-type]


def test_memory_store_is_atomic_across_threads() -> None:
    store = MemoryWebhookIdStore()
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(store.seen("wh_same", now=0))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] + [True] * 7


def test_verify_webhook_with_store_rejects_duplicates() -> None:
    store = MemoryWebhookIdStore()
    body = GOLDEN.read_bytes()
    first = verify_webhook(
        body, signed(body), VECTOR_SECRET, now=VECTOR_TS, store=store
    )
    # OpenAI's retry: same id, fresh timestamp and signature
    retry = signed(body, timestamp=VECTOR_TS + 60)
    with pytest.raises(DuplicateWebhookError) as info:
        verify_webhook(body, retry, VECTOR_SECRET, now=VECTOR_TS + 60, store=store)
    assert info.value.webhook_id == VECTOR_ID
    assert info.value.event == first
    assert isinstance(info.value, WebhookVerificationError)
    # a different delivery goes through
    other = signed(body, webhook_id="wh_other")
    verify_webhook(body, other, VECTOR_SECRET, now=VECTOR_TS, store=store)


def test_unverified_deliveries_are_not_remembered() -> None:
    store = MemoryWebhookIdStore()
    body = GOLDEN.read_bytes()
    forged = {**signed(body), "webhook-signature": "v1," + sig(body, OTHER_SECRET)}
    with pytest.raises(SignatureMismatchError):
        verify_webhook(body, forged, VECTOR_SECRET, now=VECTOR_TS, store=store)
    bad = b'{"type": 1}'
    with pytest.raises(MalformedPayloadError):
        verify_webhook(bad, signed(bad), VECTOR_SECRET, now=VECTOR_TS, store=store)
    assert len(store) == 0
    verify_webhook(body, signed(body), VECTOR_SECRET, now=VECTOR_TS, store=store)


def test_store_sees_the_verification_clock() -> None:
    store = MemoryWebhookIdStore(ttl=600)
    body = GOLDEN.read_bytes()
    verify_webhook(body, signed(body), VECTOR_SECRET, now=VECTOR_TS, store=store)
    later = VECTOR_TS + 600
    retry = signed(body, timestamp=later)
    verify_webhook(body, retry, VECTOR_SECRET, now=later, store=store)  # expired


# --- the SDK as an oracle -------------------------------------------------------


_ID_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
_NO_SURROGATES = st.characters(blacklist_categories=("Cs",))
_secrets = st.one_of(
    st.binary(min_size=1, max_size=48).map(
        lambda key: "whsec_" + base64.b64encode(key).decode()
    ),
    st.text(_NO_SURROGATES, min_size=1, max_size=20).filter(
        lambda s: not s.startswith("whsec_")
    ),
)


@st.composite
def _deliveries(draw: st.DrawFn) -> tuple[bytes | str, dict[str, str], str, int, int]:
    secret = draw(_secrets)
    body_text = draw(st.text(_NO_SURROGATES, max_size=200))
    webhook_id = draw(st.text(_ID_CHARS, min_size=1, max_size=40))
    now = draw(st.integers(0, 2**40))
    tolerance = draw(st.integers(0, 600))
    timestamp = max(0, now + draw(st.integers(-700, 700)))
    body = body_text.encode()
    good = compute_signature(secret_key(secret), webhook_id, str(timestamp), body)
    entries = draw(
        st.lists(
            st.sampled_from(
                [
                    "v1-good",
                    "bare-good",
                    "v1a-good",
                    "v1-other",
                    "v1-random",
                    "v1-tampered",
                ]
            ),
            min_size=1,
            max_size=4,
        )
    )
    tokens = []
    for entry in entries:
        if entry == "v1-good":
            tokens.append("v1," + good)
        elif entry == "bare-good":
            tokens.append(good)
        elif entry == "v1a-good":
            tokens.append("v1a," + good)
        elif entry == "v1-other":
            tokens.append("v1," + sig(body, OTHER_SECRET, ts=timestamp, wid=webhook_id))
        elif entry == "v1-random":
            tokens.append(
                "v1,"
                + base64.b64encode(draw(st.binary(min_size=32, max_size=32))).decode()
            )
        else:
            tokens.append("v1," + good[:-2] + ("A=" if good[-2] != "A" else "B="))
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": draw(st.sampled_from([" ", "  ", "\t"])).join(tokens),
    }
    received: bytes | str = body
    if draw(st.booleans()):  # tamper with what arrives
        received = body + b"x"
    elif draw(st.booleans()):  # the body as text (both APIs take str too)
        received = body_text
    return received, headers, secret, tolerance, now


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(_deliveries())
@example((VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, 300, VECTOR_TS + 300))
@example((VECTOR_BODY, VECTOR_HEADERS, VECTOR_SECRET, 300, VECTOR_TS - 301))
def test_signature_agrees_with_the_sdk(
    delivery: tuple[bytes | str, dict[str, str], str, int, int],
) -> None:
    body, headers, secret, tolerance, now = delivery
    try:
        verify_webhook_signature(body, headers, secret, tolerance=tolerance, now=now)
        ours = True
    except WebhookVerificationError:
        ours = False
    assert ours == sdk_accepts(body, headers, secret, tolerance=tolerance, now=now)


# --- fuzz: only WebhookVerificationError escapes --------------------------------------

_name_variants = st.sampled_from(HEADER_NAMES).flatmap(
    lambda name: st.sampled_from([name, name.upper(), name.title(), name.swapcase()])
)
_hostile_values = st.one_of(
    st.text(),
    st.text(st.characters(max_codepoint=0x7F)),
    st.binary(max_size=50),
    st.sampled_from(
        [
            "",
            "v1,",
            "v1," + "A" * 100_000,
            "9" * 100_000,
            str(VECTOR_TS),
            f"v1,{VECTOR_SIGNATURE}",
            VECTOR_ID,
            "\u0661\u0662",
            "\x00",
            "v1,\udcff",
        ]
    ),
    st.integers(),
    st.none(),
)
_hostile_headers = st.dictionaries(
    st.one_of(_name_variants, st.text(max_size=20), st.binary(max_size=20)),
    _hostile_values,
    max_size=6,
)
_hostile_bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300),
    st.just(VECTOR_BODY),
    st.just(b"\xff" * 10_000),
    st.just(b"{" * 50_000),
)


def _assert_only_ours(
    body: Any, headers: Any, secret: str = VECTOR_SECRET, now: float = VECTOR_TS
) -> None:
    try:
        verify_webhook(body, headers, secret, now=now, store=MemoryWebhookIdStore())
    except WebhookVerificationError:
        pass


@given(_hostile_bodies, _hostile_headers)
def test_fuzz_only_verification_errors_escape(
    body: Any, headers: dict[Any, Any]
) -> None:
    _assert_only_ours(body, headers)
    _assert_only_ours(body, list(headers.items()))


@given(
    _hostile_bodies,
    st.dictionaries(_name_variants, _hostile_values, min_size=3, max_size=3),
    st.text(max_size=60),
)
def test_fuzz_with_hostile_secrets(
    body: Any, headers: dict[Any, Any], secret: str
) -> None:
    _assert_only_ours(body, headers, secret=secret)


@given(st.one_of(json_values, st.binary(max_size=200)))
def test_fuzz_authentic_garbage(payload: Any) -> None:
    # Correctly signed, so only the payload checks stand between it and the caller.
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    _assert_only_ours(body, signed(body))


_tags = st.sampled_from([cls.TYPE for cls in WEBHOOK_EVENT_CLASSES] + ["x.unknown"])


@st.composite
def _event_like_objects(draw: st.DrawFn) -> dict[str, Any]:
    tag = draw(_tags)
    base = _example(RealtimeCallIncoming if tag == "x.unknown" else _by_type(tag))
    base["type"] = tag
    # Knock out, replace or add fields at the top level and inside data.
    for target in (base, base["data"]):
        for _ in range(draw(st.integers(0, 2))):
            key = draw(st.sampled_from([*target, "new", "data", "sip_headers"]))
            if draw(st.booleans()):
                target.pop(key, None)
            else:
                target[key] = draw(json_values)
    return base


def _by_type(tag: str) -> type[Any]:
    return next(cls for cls in WEBHOOK_EVENT_CLASSES if tag == cls.TYPE)


@given(_event_like_objects())
def test_fuzz_parse_is_lossless_or_malformed(raw: dict[str, Any]) -> None:
    body = json.dumps(raw).encode()
    try:
        event = verify_webhook(body, signed(body), VECTOR_SECRET, now=VECTOR_TS)
    except MalformedPayloadError:
        return
    assert dump_webhook_event(event) == raw
    assert parse_webhook_event(raw) == event


@settings(max_examples=20)
@given(_hostile_bodies)
def test_fuzz_parse_webhook_event(body: Any) -> None:
    try:
        parse_webhook_event(body)
    except MalformedPayloadError:
        pass


# --- the public surface --------------------------------------------------------------


def test_exports() -> None:
    assert webhooks.__all__ == sorted(webhooks.__all__)
    assert len(set(webhooks.__all__)) == len(webhooks.__all__)
    # "@py_builtins" and "@pytest_ar": pytest rewrites the asserts of a
    # plugin's distribution (ours registers one), when imported after it starts.
    public = {n for n in dir(webhooks) if not n.startswith(("_", "@"))}
    public -= {"annotations"}
    # RedisWebhookIdStore is loaded on first use (the redis extra): not in __all__.
    assert public == {*webhooks.__all__, "RedisWebhookIdStore"}
    for name in webhooks.__all__:
        obj = getattr(webhooks, name)
        if hasattr(obj, "__qualname__"):
            assert obj.__module__ == "realtime_trio.webhooks", name
    assert webhooks.WebhookEvent.__args__[-1] is UnknownWebhookEvent  # type: ignore[attr-defined]
    assert set(webhooks.WebhookEvent.__args__[:-1]) == set(WEBHOOK_EVENT_CLASSES)  # type: ignore[attr-defined]


def test_error_tree() -> None:
    leaves = [
        MissingHeaderError,
        MalformedHeaderError,
        InvalidSecretError,
        SignatureMismatchError,
        TimestampOutOfToleranceError,
        MalformedPayloadError,
        DuplicateWebhookError,
    ]
    assert len(set(leaves)) == len(leaves)
    for cls in leaves:
        assert issubclass(cls, WebhookVerificationError)
    assert issubclass(WebhookVerificationError, RealtimeError)
    assert issubclass(WebhookVerificationError, ValueError)
    assert realtime_trio.RealtimeError is RealtimeError
    err = TimestampOutOfToleranceError(timestamp=1, now=2, tolerance=0)
    assert "timestamp=1" in repr(err)


def test_sans_io_modules_do_not_import_trio() -> None:
    package = Path(realtime_trio.__file__).parent
    for name in (
        "webhooks.py",
        "_webhooks/signature.py",
        "_webhooks/events.py",
        "_webhooks/dedup.py",
    ):
        source = (package / name).read_text()
        assert not re.search(r"^\s*(import|from)\s+trio", source, re.MULTILINE), name
