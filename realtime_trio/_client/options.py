"""The options of a connection, defined once (the idiom of `realtime_trio._core.options`).

`ConnectionOptions` names and types every keyword option of `open_realtime`
and `connect_realtime` (and of anything that forwards them);
`CONNECTION_DEFAULTS` gives their defaults. Both functions take
``**options: Unpack[ConnectionOptions]`` and show the options in their
signature. What each option does is documented once, in `open_realtime`.

`ConnectionSettings` is what the engine of one connection runs with, made
from the options of one call by `ConnectionSettings.from_options` (which
checks them).
"""

from __future__ import annotations

import math
import os
import ssl
from collections.abc import Mapping
from typing import Any, Literal, Protocol, TypedDict

import attrs

from .._audio.formats import PCM16_24K, AudioFormat
from .._core.session_models import AnySessionConfig
from .exceptions import InvalidOptionError
from .transport import (
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_RECEIVE_BUFFER_SIZE,
    Handshake,
    StreamOpener,
    build_handshake,
)


class MessageRecorder(Protocol):
    """Anything that records a connection's messages, such as `realtime_trio.testing.Recorder`.

    ``record`` is called from the connection's tasks with the text of every
    message, as sent or received, so it must not block for long.
    """

    def record(self, direction: Literal["client", "server"], event: str, /) -> None:
        """Record one message: ``direction`` is who sent it."""


class ConnectionOptions(TypedDict, total=False):
    """The keyword options of `open_realtime` and `connect_realtime` (documented at `open_realtime`)."""

    model: str | None
    call_id: str | None
    api_key: str | None
    url: str | None
    safety_identifier: str | None
    headers: Mapping[str, str] | None
    session: AnySessionConfig | Mapping[str, Any] | None
    input_audio_format: AudioFormat
    audio_frame_ms: int
    max_buffered_events: int
    max_buffered_event_bytes: int
    max_buffered_messages: int
    max_buffered_audio_ms: int
    connect_timeout: float
    close_timeout: float
    ping_interval: float | None
    ping_timeout: float | None
    max_message_size: int
    receive_buffer_size: int
    ssl_context: ssl.SSLContext | None
    connect_stream: StreamOpener | None
    attach_attempts: int
    attach_backoff: float
    recorder: MessageRecorder | None
    strict: bool


#: The default of every connection option.
CONNECTION_DEFAULTS: ConnectionOptions = {
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
    "max_message_size": DEFAULT_MAX_MESSAGE_SIZE,
    "receive_buffer_size": DEFAULT_RECEIVE_BUFFER_SIZE,
    "ssl_context": None,
    "connect_stream": None,
    "attach_attempts": 6,
    "attach_backoff": 0.25,
    "recorder": None,
    "strict": False,
}


@attrs.frozen(kw_only=True)
class ConnectionSettings:
    """What the engine of one connection runs with (the options it needs, checked)."""

    handshake: Handshake
    connect_stream: StreamOpener | None
    ssl_context: ssl.SSLContext | None
    input_audio_format: AudioFormat
    audio_frame_ms: int
    max_buffered_events: int
    max_buffered_event_bytes: int
    max_buffered_messages: int
    max_buffered_audio_ms: int
    connect_timeout: float
    close_timeout: float
    ping_interval: float | None
    ping_timeout: float | None
    max_message_size: int
    receive_buffer_size: int
    recorder: MessageRecorder | None
    strict: bool

    @classmethod
    def from_options(cls, options: ConnectionOptions) -> ConnectionSettings:
        """The settings of the filled ``options`` of one call.

        Raises:
            InvalidHeaderError: the API key, the safety identifier or a
                header cannot be sent (the message never shows the value).
            InvalidOptionError: an option that cannot work (a negative
                buffer size, a ``ping_interval`` that is not a positive number,
                a URL with a space...), named in the message and in ``option``.
            ValueError: both or neither of ``model`` / ``call_id``, no API key,
                the retired ``OpenAI-Beta`` header.
        """
        handshake = build_handshake(
            model=options["model"],
            call_id=options["call_id"],
            api_key=_api_key(options["api_key"]),
            api_key_from_env=options["api_key"] is None,
            url=options["url"],
            safety_identifier=options["safety_identifier"],
            headers=options["headers"],
        )
        _check_options(options)
        return cls(
            handshake=handshake,
            connect_stream=options["connect_stream"],
            ssl_context=options["ssl_context"],
            input_audio_format=options["input_audio_format"],
            audio_frame_ms=options["audio_frame_ms"],
            max_buffered_events=options["max_buffered_events"],
            max_buffered_event_bytes=options["max_buffered_event_bytes"],
            max_buffered_messages=options["max_buffered_messages"],
            max_buffered_audio_ms=options["max_buffered_audio_ms"],
            connect_timeout=options["connect_timeout"],
            close_timeout=options["close_timeout"],
            ping_interval=options["ping_interval"],
            ping_timeout=options["ping_timeout"],
            max_message_size=options["max_message_size"],
            receive_buffer_size=options["receive_buffer_size"],
            recorder=options["recorder"],
            strict=options["strict"],
        )


def _check_options(options: ConnectionOptions) -> None:
    """Refuse the options that cannot work, naming the option."""
    values: Mapping[str, Any] = options
    for name, least in (
        ("max_buffered_events", 0),
        ("max_buffered_messages", 0),
        ("max_buffered_event_bytes", 1),
        ("audio_frame_ms", 1),
    ):
        value = values[name]
        if not _is_int(value) or value < least:
            raise InvalidOptionError(name, f"must be an int >= {least}, not {value!r}")
    if values["max_buffered_events"] == 0 and values["session"] is not None:
        # The held session.created could never be handed over: nobody reads
        # while open_realtime waits for session.updated.
        raise InvalidOptionError(
            "max_buffered_events",
            "0 (an unbuffered hand-over) cannot be combined with session=: nobody "
            "reads events before the connection is returned, so the answer to "
            "the update could never be read; use max_buffered_events >= 1, or "
            "call update_session() while another task receives",
        )
    for name in ("ping_interval", "ping_timeout"):
        value = values[name]
        if value is not None and not _is_positive_number(value):
            raise InvalidOptionError(
                name, f"must be a positive number of seconds or None, not {value!r}"
            )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_positive_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _api_key(api_key: str | None) -> str:
    key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
    if not key:
        raise ValueError("no API key: pass api_key= or set OPENAI_API_KEY")
    return key


__all__ = [
    "CONNECTION_DEFAULTS",
    "ConnectionOptions",
    "ConnectionSettings",
    "MessageRecorder",
]
