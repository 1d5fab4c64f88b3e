"""The connection options: defined once, shown in both signatures, checked."""

from __future__ import annotations

import inspect
import math
from typing import Any

import pytest
import trio

from realtime_trio import (
    InvalidOptionError,
    RealtimeError,
    connect_realtime,
    open_realtime,
)
from realtime_trio._client.options import (
    CONNECTION_DEFAULTS,
    ConnectionOptions,
    ConnectionSettings,
)
from realtime_trio._core.options import fill_options, option_names
from realtime_trio.audio import PCM16_24K

OPTIONS = option_names(ConnectionOptions)

#: The keyword arguments (and their defaults) open_realtime had when it spelt
#: them out: the options must keep every one, in this order (keyword-only, so
#: new ones may come in between: max_buffered_event_bytes, ping_interval and
#: ping_timeout came with issue 11).
BEFORE = {
    "model": None,
    "call_id": None,
    "api_key": None,
    "url": None,
    "safety_identifier": None,
    "headers": None,
    "session": None,
    "input_audio_format": PCM16_24K,
    "audio_frame_ms": 100,
    "max_buffered_events": 128,
    "max_buffered_event_bytes": 64 * 2**10,
    "max_buffered_messages": 64,
    "max_buffered_audio_ms": 2_000,
    "connect_timeout": 30.0,
    "close_timeout": 5.0,
    "ping_interval": 20.0,
    "ping_timeout": 20.0,
    "max_message_size": 64 * 2**20,
    "receive_buffer_size": 64 * 2**10,
    "ssl_context": None,
    "connect_stream": None,
    "attach_attempts": 6,
    "attach_backoff": 0.25,
    "recorder": None,
    "strict": False,
}


def test_the_defaults_cover_every_option_and_have_not_changed() -> None:
    assert dict(CONNECTION_DEFAULTS) == BEFORE
    assert tuple(BEFORE) == OPTIONS


@pytest.mark.parametrize("func", [open_realtime, connect_realtime])
def test_the_signature_shows_every_option_and_nothing_private(func: Any) -> None:
    params = inspect.signature(func).parameters
    shown = {
        name: p.default
        for name, p in params.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert shown == BEFORE
    assert list(shown) == list(BEFORE)
    assert not any(name.startswith("_") for name in params)
    assert all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in params.values())


def test_connect_realtime_takes_the_nursery_first() -> None:
    first = next(iter(inspect.signature(connect_realtime).parameters.values()))
    assert first.name == "nursery"
    assert first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD


def test_every_option_is_documented_once_at_open_realtime() -> None:
    doc = inspect.getdoc(open_realtime) or ""
    args = doc.split("Args:")[1].split("Raises:")[0]
    for name in OPTIONS:
        assert f"\n{name}: " in "\n" + args.replace("\n    ", "\n"), name
    assert "open_realtime" in (inspect.getdoc(connect_realtime) or "")
    assert "open_realtime" in (ConnectionOptions.__doc__ or "")


async def test_an_unknown_option_is_the_usual_type_error(
    nursery: trio.Nursery,
) -> None:
    with pytest.raises(
        TypeError, match=r"open_realtime\(\) got an unexpected keyword argument 'modle'"
    ):
        async with open_realtime(modle="gpt-realtime"):  # type: ignore[call-arg]
            pass  # pragma: no cover
    with pytest.raises(TypeError, match=r"connect_realtime\(\) got an unexpected"):
        await connect_realtime(nursery, modle="x")  # type: ignore[call-arg]


def settings(**given: Any) -> ConnectionSettings:
    options = fill_options("test", ConnectionOptions, CONNECTION_DEFAULTS, given)
    return ConnectionSettings.from_options(options)  # type: ignore[arg-type]


def test_settings_carry_the_options_the_engine_needs() -> None:
    made = settings(model="m", api_key="sk-x", max_buffered_events=3, strict=True)
    assert made.max_buffered_events == 3 and made.strict
    assert made.handshake.url == "wss://api.openai.com/v1/realtime?model=m"
    assert made.input_audio_format == PCM16_24K


@pytest.mark.parametrize(
    "bad",
    [
        {"max_buffered_events": -1},
        {"max_buffered_messages": -1},
        {"audio_frame_ms": 0},
        {"max_buffered_event_bytes": 0},
        {"max_buffered_event_bytes": 1.5},
        {"max_buffered_events": True},
        {"ping_interval": 0},
        {"ping_interval": -1.0},
        {"ping_interval": math.inf},
        {"ping_interval": math.nan},
        {"ping_timeout": 0.0},
        {"ping_timeout": "20"},
        {"ping_timeout": False},
    ],
)
def test_settings_refuse_options_that_cannot_work(bad: dict[str, Any]) -> None:
    ((name, _value),) = bad.items()
    with pytest.raises(InvalidOptionError) as info:
        settings(model="m", api_key="sk-x", **bad)
    assert info.value.option == name
    assert str(info.value).startswith(f"{name}: ")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, RealtimeError)


@pytest.mark.parametrize("option", ["ping_interval", "ping_timeout"])
def test_keepalive_options_take_none_and_positive_numbers(option: str) -> None:
    assert (
        getattr(settings(model="m", api_key="sk-x", **{option: None}), option) is None
    )
    assert getattr(settings(model="m", api_key="sk-x", **{option: 1}), option) == 1
    assert getattr(settings(model="m", api_key="sk-x", **{option: 0.5}), option) == 0.5


def test_an_unbuffered_connection_refuses_session_before_connecting() -> None:
    # It used to hang: the held session.created could never be handed over.
    with pytest.raises(InvalidOptionError, match="max_buffered_events: 0") as info:
        settings(model="m", api_key="sk-x", max_buffered_events=0, session={})
    assert info.value.option == "max_buffered_events"
    assert (
        settings(model="m", api_key="sk-x", max_buffered_events=0).max_buffered_events
        == 0
    )


async def test_open_realtime_with_an_unbuffered_buffer_and_a_session_does_not_hang() -> (
    None
):
    with trio.fail_after(5), pytest.raises(InvalidOptionError):
        async with open_realtime(
            model="m",
            api_key="sk-x",
            url="ws://127.0.0.1:9/",
            max_buffered_events=0,
            session={},
        ):
            pytest.fail("opened")  # pragma: no cover


def test_settings_need_an_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="no API key"):
        settings(model="m")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert ("Authorization", "Bearer sk-env") in settings(model="m").handshake.headers
