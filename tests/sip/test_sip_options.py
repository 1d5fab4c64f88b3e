"""The SIP server's options: defined once (`SipServerOptions` and its defaults), shown everywhere."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from realtime_trio import calls
from realtime_trio._core.options import option_names
from realtime_trio._sip.options import SIP_SERVER_DEFAULTS, ServerConfig
from tests.helpers.sip import API_KEY, SECRET

ENTRY_POINTS = [calls.SipCallServer, calls.open_sip_server, calls.serve_sip]


def test_the_defaults_cover_every_option_and_nothing_else() -> None:
    assert list(SIP_SERVER_DEFAULTS) == list(option_names(calls.SipServerOptions))


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda f: f.__name__)
def test_every_entry_point_shows_every_option_with_its_default(entry: Any) -> None:
    params = inspect.signature(entry).parameters
    assert "options" not in params
    for name, default in SIP_SERVER_DEFAULTS.items():
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert params[name].default == default, name
    assert next(iter(params)) == "handler"


async def _handler(call: calls.IncomingCall) -> None:
    raise AssertionError("never called")  # pragma: no cover


def test_an_unknown_option_is_the_usual_type_error() -> None:
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'prot'"):
        calls.SipCallServer(
            _handler,
            webhook_secret=SECRET,
            api_key=API_KEY,
            prot=80,  # type: ignore[call-arg]
        )


def test_the_config_resolves_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    config = ServerConfig.from_options({"port": 8080})
    assert (config.secret, config.api_key) == (SECRET, API_KEY)
    assert config.options == {**SIP_SERVER_DEFAULTS, "port": 8080}
    assert config.store is not None
    given = ServerConfig.from_options({"webhook_secret": SECRET, "api_key": "sk-x"})
    assert given.api_key == "sk-x"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"path": "webhook"}, "must start with '/'"),
        ({"max_concurrent_calls": 0}, ">= 1"),
        ({"keep_ended_calls": -1}, ">= 0"),
        ({"setup_timeout": 0}, "positive"),
        ({"tolerance": float("nan")}, "a number"),
    ],
)
def test_bad_values_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServerConfig.from_options(
            {"webhook_secret": SECRET, "api_key": API_KEY, **options}
        )
