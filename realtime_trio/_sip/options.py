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
from typing import Any, Final, Literal, TypeAlias, TypedDict, cast

import attrs
import httpx

from .._core.headers import check_header_value
from .._core.options import fill_options
from .._core.session_models import SessionConfig
from .._webhooks.dedup import (
    AsyncWebhookIdStore,
    MemoryWebhookIdStore,
    WebhookIdStore,
)
from .._webhooks.signature import DEFAULT_TOLERANCE, is_raw_secret, secret_key
from .call import Decider
from .leases import CallLeaseStore
from .rest import DEFAULT_BASE_URL

#: The default largest webhook body accepted (OpenAI's are a few KiB).
DEFAULT_MAX_BODY_SIZE: Final = 1 * 2**20
#: The default number of HTTP connections served at once (more wait in the backlog).
DEFAULT_MAX_CONNECTIONS: Final = 256
#: The default seconds a connection may take to send a request's headers.
DEFAULT_HEADER_TIMEOUT: Final = 10.0
#: The default per-call time limit, in seconds (a hung handler is hung up).
DEFAULT_MAX_CALL_SECONDS: Final = 3600.0

#: What a graceful shutdown does with the calls in progress (``on_shutdown``).
ShutdownMode: TypeAlias = Literal["hang_up", "hand_over", "wait"]
SHUTDOWN_MODES: Final = ("hang_up", "hand_over", "wait")


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
    store: WebhookIdStore | AsyncWebhookIdStore | None
    tolerance: float
    max_concurrent_calls: int
    setup_timeout: float
    close_timeout: float
    hangup_on_shutdown: bool
    on_shutdown: ShutdownMode
    shutdown_timeout: float | None
    attach_attempts: int
    attach_backoff: float
    connect_timeout: float
    safety_identifier: str | None
    max_body_size: int
    max_connections: int
    header_timeout: float
    max_call_seconds: float | None
    health_path: str | None
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
    "on_shutdown": "hang_up",
    "shutdown_timeout": None,
    "attach_attempts": 6,
    "attach_backoff": 0.25,
    "connect_timeout": 10.0,
    "safety_identifier": None,
    "max_body_size": DEFAULT_MAX_BODY_SIZE,
    "max_connections": DEFAULT_MAX_CONNECTIONS,
    "header_timeout": DEFAULT_HEADER_TIMEOUT,
    "max_call_seconds": DEFAULT_MAX_CALL_SECONDS,
    "health_path": "/healthz",
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
    store: WebhookIdStore | AsyncWebhookIdStore

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
    health = options["health_path"]
    if health is not None and (not health.startswith("/") or health == path):
        raise ValueError(
            f"health_path must start with '/' and differ from path, not {health!r}"
        )
    for name in ("max_concurrent_calls", "max_body_size", "max_connections"):
        value = options[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, not {value!r}")
    if options["keep_ended_calls"] < 0:
        raise ValueError("keep_ended_calls must be >= 0")
    _check_shutdown(options)
    if not (
        options["setup_timeout"] > 0
        and options["close_timeout"] > 0
        and options["connect_timeout"] > 0
    ):
        raise ValueError("timeouts must be positive")
    header_timeout = options["header_timeout"]
    if not (header_timeout > 0 and math.isfinite(header_timeout)):
        raise ValueError(
            f"header_timeout must be a finite number of seconds > 0, not {header_timeout!r}"
        )
    limit = options["max_call_seconds"]
    if limit is not None and not limit > 0:  # NaN too; inf is no limit
        raise ValueError(
            f"max_call_seconds must be > 0 seconds (or None), not {limit!r}"
        )
    if math.isnan(options["tolerance"]):
        raise ValueError("tolerance must be a number")


def _check_shutdown(options: SipServerOptions) -> None:
    """``on_shutdown`` is known, ``hand_over`` has a store with call leases."""
    mode = options["on_shutdown"]
    if mode not in SHUTDOWN_MODES:
        raise ValueError(f"on_shutdown must be one of {SHUTDOWN_MODES}, not {mode!r}")
    if mode == "hand_over" and not isinstance(options["store"], CallLeaseStore):
        raise ValueError(
            "on_shutdown='hand_over' needs a store with call leases "
            "(store=RedisWebhookIdStore(...)) for another instance to take the calls"
        )
    timeout = options["shutdown_timeout"]
    if timeout is not None and not timeout > 0:
        raise ValueError(
            f"shutdown_timeout must be > 0 seconds (or None), not {timeout!r}"
        )


__all__ = [
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_MAX_CALL_SECONDS",
    "DEFAULT_MAX_CONNECTIONS",
    "SHUTDOWN_MODES",
    "SIP_SERVER_DEFAULTS",
    "ServerConfig",
    "ShutdownMode",
    "SipServerOptions",
]
