"""The keyword options of the SIP call server, defined once, and what they resolve to.

`SipServerOptions` names each option and its type, `SIP_SERVER_DEFAULTS`
gives its default; `SipCallServer`, `open_sip_server` and `serve_sip` take
them as ``**options: Unpack[SipServerOptions]`` and show them in their
signatures (`realtime_trio._core.options`). `ServerConfig.from_options`
turns the options of one call into what a server runs with: every option,
the secret and the API key read from the environment when not given, and
every value checked (the API key and the safety identifier as HTTP header
values, so a key with a trailing newline is refused at construction with
`InvalidHeaderError`, which never shows it, rather than at the first call).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any, Final, TypedDict, cast

import attrs
import httpx

from .._core.headers import check_header_value
from .._core.options import fill_options
from .._core.session_models import SessionConfig
from .._webhooks.dedup import MemoryWebhookIdStore, WebhookIdStore
from .._webhooks.signature import DEFAULT_TOLERANCE, is_raw_secret, secret_key
from .call import Decider
from .rest import DEFAULT_BASE_URL

#: The default largest webhook body accepted (OpenAI's are a few KiB).
DEFAULT_MAX_BODY_SIZE: Final = 1 * 2**20


class SipServerOptions(TypedDict, total=False):
    """The keyword options of `SipCallServer` (also taken by `open_sip_server` and `serve_sip`).

    Each is described, with its default, under `SipCallServer`.
    """

    webhook_secret: str | None
    api_key: str | None
    api_base_url: str
    realtime_url: str | None
    host: str
    port: int
    path: str
    decide: Decider | None
    session: SessionConfig | Mapping[str, Any] | None
    store: WebhookIdStore | None
    tolerance: float
    max_concurrent_calls: int
    setup_timeout: float
    close_timeout: float
    hangup_on_shutdown: bool
    attach_attempts: int
    attach_backoff: float
    connect_timeout: float
    safety_identifier: str | None
    max_body_size: int
    http_client: httpx.AsyncClient | None
    keep_ended_calls: int


#: The default of every option of `SipServerOptions`.
SIP_SERVER_DEFAULTS: Final[SipServerOptions] = {
    "webhook_secret": None,
    "api_key": None,
    "api_base_url": DEFAULT_BASE_URL,
    "realtime_url": None,
    "host": "127.0.0.1",
    "port": 0,
    "path": "/webhook",
    "decide": None,
    "session": None,
    "store": None,
    "tolerance": DEFAULT_TOLERANCE,
    "max_concurrent_calls": 100,
    "setup_timeout": 30.0,
    "close_timeout": 5.0,
    "hangup_on_shutdown": True,
    "attach_attempts": 6,
    "attach_backoff": 0.25,
    "connect_timeout": 10.0,
    "safety_identifier": None,
    "max_body_size": DEFAULT_MAX_BODY_SIZE,
    "http_client": None,
    "keep_ended_calls": 256,
}


@attrs.frozen
class ServerConfig:
    """What one server runs with: its options, complete and checked, and what they resolve to.

    Attributes:
        options: Every option: the given ones over `SIP_SERVER_DEFAULTS`.
        secret: The webhook secret (the option, else ``OPENAI_WEBHOOK_SECRET``).
        api_key: The API key (the option, else ``OPENAI_API_KEY``).
        store: The ``webhook-id`` store (the option, else a new memory store).
    """

    options: SipServerOptions
    secret: str
    api_key: str
    store: WebhookIdStore

    @property
    def raw_secret(self) -> bool:
        """Whether the secret has no ``whsec_`` prefix (its text is then the key)."""
        return is_raw_secret(self.secret)

    @classmethod
    def from_options(cls, given: Mapping[str, Any]) -> ServerConfig:
        """Fill, resolve and check the options of one server.

        Raises:
            TypeError: an unknown option.
            InvalidSecretError: the webhook secret is malformed.
            InvalidHeaderError: the API key or the safety identifier cannot
                be sent as an HTTP header (the message never shows it).
            ValueError: no webhook secret or API key, or a bad option.
        """
        options = cast(
            "SipServerOptions",
            fill_options("SipCallServer", SipServerOptions, SIP_SERVER_DEFAULTS, given),
        )
        secret = options["webhook_secret"]
        if secret is None:
            secret = os.environ.get("OPENAI_WEBHOOK_SECRET")
        if not secret:
            raise ValueError(
                "no webhook secret: pass webhook_secret= or set OPENAI_WEBHOOK_SECRET"
            )
        secret_key(secret)  # InvalidSecretError now rather than 500s later
        key = options["api_key"]
        if key is None:
            key = os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ValueError("no API key: pass api_key= or set OPENAI_API_KEY")
        check_header_value(
            "Authorization",
            key,
            what="the API key"
            if options["api_key"] is not None
            else "the API key (OPENAI_API_KEY)",
        )
        identifier = options["safety_identifier"]
        if identifier is not None:
            check_header_value(
                "OpenAI-Safety-Identifier", identifier, what="the safety identifier"
            )
        _check(options)
        store = options["store"]
        return cls(
            options=options,
            secret=secret,
            api_key=key,
            store=store if store is not None else MemoryWebhookIdStore(),
        )


def _check(options: SipServerOptions) -> None:
    path = options["path"]
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/', not {path!r}")
    if (
        options["max_concurrent_calls"] < 1
        or options["max_body_size"] < 1
        or options["keep_ended_calls"] < 0
    ):
        raise ValueError(
            "max_concurrent_calls and max_body_size must be >= 1, keep_ended_calls >= 0"
        )
    if not (
        options["setup_timeout"] > 0
        and options["close_timeout"] > 0
        and options["connect_timeout"] > 0
    ):
        raise ValueError("timeouts must be positive")
    if math.isnan(options["tolerance"]):
        raise ValueError("tolerance must be a number")


__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "SIP_SERVER_DEFAULTS",
    "ServerConfig",
    "SipServerOptions",
]
