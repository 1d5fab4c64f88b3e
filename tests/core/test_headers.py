"""Header values checked before they go on the wire, never shown (`_core/headers.py`)."""

from __future__ import annotations

import h11
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from realtime_trio import RealtimeError
from realtime_trio._core.headers import (
    InvalidHeaderError,
    check_header_name,
    check_header_value,
)

KEY = "sk-proj-abcDEF123_secret"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (KEY + "\n", r"ends with a line break \(\\n\)"),
        (KEY + "\r\n", r"ends with a line break \(\\r\\n\)"),
        (KEY + " ", "white space"),
        (" " + KEY, "white space"),
        ("", "empty"),
        ("sk-\x00abc", "control character U\\+0000"),
        ("sk-\u201cabc\u201d", "U\\+201C"),
        ("sk-a\nb", "control character U\\+000A"),
    ],
)
def test_bad_values_are_refused_without_showing_them(value: str, problem: str) -> None:
    with pytest.raises(InvalidHeaderError, match=problem) as info:
        check_header_value("Authorization", value, what="the API key")
    err = info.value
    assert isinstance(err, RealtimeError)
    assert isinstance(err, ValueError)
    assert err.header == "Authorization"
    assert str(err).startswith("the API key cannot be sent: ")
    secret = value.strip()
    if secret:
        assert secret not in str(err)
        assert secret not in repr(err)


def test_good_values_pass_unchanged() -> None:
    assert check_header_value("Authorization", f"Bearer {KEY}") == f"Bearer {KEY}"
    assert check_header_value("X-Note", "caf\xe9 au\tlait") == "caf\xe9 au\tlait"


@given(st.text(max_size=20))
def test_agrees_with_h11(value: str) -> None:
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        with pytest.raises(InvalidHeaderError):
            check_header_value("X-Test", value)
        return
    try:
        h11.Request(method="GET", target="/", headers=[("Host", "x"), ("X-Test", raw)])
        h11_ok = True
    except h11.LocalProtocolError:
        h11_ok = False
    try:
        check_header_value("X-Test", value)
        ours = True
    except InvalidHeaderError:
        ours = False
    # We are stricter than h11, never looser: RFC 9110 forbids every control
    # character (h11 lets most through) and we refuse an empty value (an empty
    # key is always a mistake).
    if ours:
        assert h11_ok
    if any(c in value for c in "\r\n\x00"):
        assert not ours


@pytest.mark.parametrize("name", ["X-Trace", "user-agent", "A1!#$%&'*+.^_`|~-"])
def test_good_names_pass_unchanged(name: str) -> None:
    assert check_header_name(name) == name


@pytest.mark.parametrize("name", ["", "X Trace", "X-Trace:", "X-Trace\n", "X-Tr\xe4ce"])
def test_bad_names_are_refused_and_shown(name: str) -> None:
    with pytest.raises(InvalidHeaderError) as info:
        check_header_name(name)
    assert info.value.header == name
    assert str(info.value).startswith(f"the header name {name!r} cannot be sent")


@given(st.text(st.characters(max_codepoint=0x7F), max_size=12) | st.text(max_size=6))
def test_names_agree_with_h11(name: str) -> None:
    # h11 also judges what some headers mean (a second Host, a Transfer-Encoding
    # of "1"): compare on the name alone, with a request that needs no Host.
    assume(name.lower() not in {"host", "content-length", "transfer-encoding"})
    try:
        raw = name.encode("latin-1")
        h11.Request(method="GET", target="/", headers=[(raw, "1")], http_version="1.0")
        h11_ok = True
    except (UnicodeEncodeError, h11.LocalProtocolError):
        h11_ok = False
    try:
        check_header_name(name)
        ours = True
    except InvalidHeaderError:
        ours = False
    assert ours == h11_ok
