"""Handshake headers that cannot go on the wire are refused before connecting, unseen.

A key read from a file keeps its trailing newline; sent as is, h11 refused
it with an untyped error that quoted the whole ``Authorization`` header,
key included. `open_realtime` now checks every header first and raises
`InvalidHeaderError`, whose message, repr and traceback never show the key,
and connects nowhere.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

import pytest
import trio
import trio.testing

import realtime_trio
from realtime_trio import (
    InvalidHeaderError,
    RealtimeError,
    connect_realtime,
    open_realtime,
)
from realtime_trio._client.transport import build_handshake
from realtime_trio._core import headers as core_headers

SECRET = "sk-proj-Hk2SECRETxyz0987654321"
URL = "ws://127.0.0.1:8123/v1/realtime"


class RecordingOpener:
    """A ``connect_stream=`` that records whether a connection was attempted."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> trio.abc.Stream:
        self.calls += 1
        client, _server = trio.testing.memory_stream_pair()
        return client


def shown(error: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    """Everything a user or a log could see of ``error``."""
    records = [
        f"{r.getMessage()} {r.exc_text or ''} "
        + ("".join(traceback.format_exception(*r.exc_info)) if r.exc_info else "")
        for r in caplog.records
    ]
    return "\n".join(
        [str(error), repr(error), *traceback.format_exception(error), *records]
    )


async def refused(caplog: pytest.LogCaptureFixture, **options: Any) -> str:
    """Open with ``options``: assert the refusal, and return what it shows."""
    caplog.set_level(logging.DEBUG)
    opener = RecordingOpener()
    options.setdefault("api_key", SECRET)
    with trio.fail_after(5):
        with pytest.raises(InvalidHeaderError) as info:
            async with open_realtime(
                model="gpt-realtime", url=URL, connect_stream=opener, **options
            ):
                pytest.fail("connected")  # pragma: no cover
    assert opener.calls == 0  # refused before any connection was attempted
    error = info.value
    assert isinstance(error, RealtimeError)
    assert isinstance(error, ValueError)
    return shown(error, caplog)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (SECRET + "\n", "ends with a line break"),
        (SECRET + "\r\n", "ends with a line break (\\r\\n)"),
        (SECRET[:10] + "\x00" + SECRET[10:], "control character U+0000"),
        (SECRET[:10] + "\n" + SECRET[10:], "control character U+000A"),
        (SECRET + " ", "white space"),
        ("\u201c" + SECRET + "\u201d", "U+201C"),
    ],
)
async def test_a_key_that_cannot_be_sent_is_refused_before_connecting(
    key: str, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    text = await refused(caplog, api_key=key)
    assert "the API key cannot be sent" in text
    assert problem in text
    for part in (SECRET, SECRET[:10], SECRET[10:], key.strip()):
        assert part not in text
    assert "OPENAI_API_KEY" not in text


async def test_a_key_from_the_environment_is_named_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET + "\n")
    text = await refused(caplog, api_key=None)
    assert "the API key (OPENAI_API_KEY) cannot be sent" in text
    assert SECRET not in text


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"headers": {"X-Trace": f"{SECRET}\nX-Evil: 1"}}, "header X-Trace"),
        ({"headers": {"Authorization": f"Bearer {SECRET}\n"}}, "header Authorization"),
        ({"safety_identifier": f"{SECRET}\n"}, "the safety identifier"),
        ({"safety_identifier": ""}, "the safety identifier"),
    ],
)
async def test_a_header_value_that_cannot_be_sent_is_refused_unseen(
    options: dict[str, Any], named: str, caplog: pytest.LogCaptureFixture
) -> None:
    text = await refused(caplog, **options)
    assert named in text
    assert SECRET not in text


@pytest.mark.parametrize("name", ["X Trace", "X-Trace:", "X-Trace\n", "", "X-Tr\xe4ce"])
async def test_a_header_name_that_cannot_be_sent_is_refused(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    text = await refused(caplog, headers={name: "1"})
    assert f"the header name {name!r} cannot be sent" in text
    assert SECRET not in text


async def test_connect_realtime_refuses_too(nursery: trio.Nursery) -> None:
    opener = RecordingOpener()
    with trio.fail_after(5), pytest.raises(InvalidHeaderError) as info:
        await connect_realtime(
            nursery,
            model="gpt-realtime",
            api_key=SECRET + "\n",
            url=URL,
            connect_stream=opener,
        )
    assert opener.calls == 0
    assert SECRET not in "".join(traceback.format_exception(info.value))


def test_build_handshake_checks_every_header() -> None:
    args: dict[str, Any] = {
        "model": "m",
        "call_id": None,
        "url": None,
        "safety_identifier": None,
        "headers": None,
    }
    with pytest.raises(InvalidHeaderError) as info:
        build_handshake(api_key=SECRET + "\n", **args)
    assert info.value.header == "Authorization"
    with pytest.raises(InvalidHeaderError, match="OPENAI_API_KEY"):
        build_handshake(api_key=SECRET + "\n", api_key_from_env=True, **args)
    args["headers"] = {"X-Ok": "caf\xe9 au\tlait", "X-Token": "a b"}
    hs = build_handshake(api_key=SECRET, **args)
    assert dict(hs.headers)["X-Ok"] == "caf\xe9 au\tlait"


def test_invalid_header_error_is_public() -> None:
    assert realtime_trio.InvalidHeaderError is core_headers.InvalidHeaderError
    assert "InvalidHeaderError" in realtime_trio.__all__
    assert InvalidHeaderError.__module__ == "realtime_trio"
