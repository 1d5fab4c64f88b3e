"""Connection errors (they inherit trio's resource errors, so this module imports trio).

The whole tree, with the core errors of ``_core/errors.py``::

    RealtimeError
    ├── ProtocolError
    │   ├── LocalProtocolError
    │   └── RemoteProtocolError
    ├── InvalidOptionError             an option of open_realtime cannot work (also ValueError)
    ├── HandshakeError                 the connection could not be established
    │   ├── ConnectTimeout             connect_timeout expired
    │   └── ConnectionRejected         HTTP 401/403/404/429... on the upgrade
    ├── ConnectionClosed               *we* closed it (also trio.ClosedResourceError)
    ├── ConnectionBroken               the network or the server ended it (also trio.BrokenResourceError)
    │   └── CallEnded                  a sideband's call ended (hangup or server close)
    ├── ServerError                    a correlated request was answered with ``error``
    └── RealtimeInternalError          a bug: please report it
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import trio

from .._core.closing import ClosedBy, CloseReason, ConnectionEnd, Ending
from .._core.errors import RealtimeError

if TYPE_CHECKING:
    from .._core.server_events import ErrorEvent


class InvalidOptionError(RealtimeError, ValueError):
    """An option of `open_realtime` / `connect_realtime` has a value that cannot work.

    Raised before anything connects. It is also a `ValueError`.

    Attributes:
        option: The name of the option (``"ping_interval"``, ``"url"``...).
    """

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


class HandshakeError(RealtimeError):
    """The connection could not be established (network error, timeout, rejection)."""


class ConnectTimeout(HandshakeError):
    """Opening the connection took longer than ``connect_timeout``."""


class ConnectionRejected(HandshakeError):
    """The server answered the WebSocket upgrade with an HTTP error.

    Attributes:
        status_code: The HTTP status (401 bad key, 403, 404 ``call_id_not_found``, 429...).
        headers: The response headers (name, value) as text.
        body: The response body (bytes, possibly empty): at most its first
            64 KiB, the rest is never read.
        body_truncated: Whether ``body`` is only the start of a longer body.
    """

    def __init__(
        self,
        status_code: int,
        *,
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
        body_truncated: bool = False,
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body
        self.body_truncated = body_truncated
        detail = self.error_message
        super().__init__(
            f"connection rejected with HTTP {status_code}"
            + (f" ({self.error_code}): {detail}" if detail else "")
            + (
                f" (body truncated to its first {len(body)} bytes)"
                if body_truncated
                else ""
            )
        )

    @property
    def error(self) -> Mapping[str, Any]:
        """The OpenAI-style ``{"error": {...}}`` object of the body, or ``{}``."""
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return {}
        error = data.get("error") if isinstance(data, dict) else None
        return error if isinstance(error, dict) else {}

    @property
    def error_code(self) -> str | None:
        """The OpenAI error ``code`` of the body (for example ``call_id_not_found``)."""
        code = self.error.get("code")
        return code if isinstance(code, str) else None

    @property
    def error_message(self) -> str | None:
        """The OpenAI error ``message`` of the body."""
        message = self.error.get("message")
        return message if isinstance(message, str) else None

    def __repr__(self) -> str:
        return f"ConnectionRejected(status_code={self.status_code}, error_code={self.error_code!r})"


class ConnectionClosed(RealtimeError, trio.ClosedResourceError):
    """The connection was closed by this side (``aclose()`` or leaving ``open_realtime``)."""

    def __init__(
        self,
        message: str = "the connection is closed",
        *,
        close_reason: CloseReason | None = None,
    ) -> None:
        super().__init__(message)
        self.close_reason = close_reason


class ConnectionBroken(RealtimeError, trio.BrokenResourceError):
    """The network or the server ended the connection unexpectedly.

    ``close_reason`` has the close code and reason when the server sent a close
    frame (for example 1001 after ``session_expired``); ``__cause__`` holds the
    underlying error.

    Attributes:
        close_reason: How the WebSocket closed, or None.
        closed_by: ``"client"`` when realtime_trio failed the connection itself:
            the server broke the WebSocket protocol (``close_reason`` then
            holds the 1002, 1007 or 1009 that *we* sent), the keepalive ping
            went unanswered (1011, see ``ping_timeout``) or the server sent
            more than the events buffer holds before ``session.created``
            (1008); ``"server"`` otherwise (the server closed it, or the
            network lost it).
    """

    def __init__(
        self, message: str, *, close_reason: CloseReason | None = None
    ) -> None:
        super().__init__(message)
        self.close_reason = close_reason

    @property
    def closed_by(self) -> ClosedBy:
        """Which side closed the connection (see the class's attributes)."""
        if self.close_reason is None:
            return "server"
        return self.close_reason.closed_by

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self)!r}, close_reason={self.close_reason!r})"
        )


class CallEnded(ConnectionBroken):
    """The call of a sideband connection ended (hangup by either side, or server close).

    On ``call_id`` connections, a close frame from the server other than 1000
    raises this instead of a plain `ConnectionBroken`, and a clean 1000 close
    simply ends iteration; a socket lost without a close frame (1006) stays a
    plain `ConnectionBroken`. So the end of a call can be told apart from a
    network failure.
    """


class ServerError(RealtimeError):
    """The server answered a correlated request with an ``error`` event.

    Only the helpers that wait for an answer raise this; ``error`` events are
    otherwise delivered as events.

    Attributes:
        event: The `ErrorEvent`.
    """

    def __init__(self, event: ErrorEvent) -> None:
        self.event = event
        error = event.error
        super().__init__(f"{error.type} ({error.code}): {error.message}")

    @property
    def code(self) -> str | None:
        """The error ``code`` (for example ``conversation_already_has_active_response``)."""
        code = self.event.error.code
        return code if isinstance(code, str) else None


def connection_error(end: ConnectionEnd) -> ConnectionClosed | ConnectionBroken:
    """The exception that reports ``end`` (see `realtime_trio._core.closing`)."""
    if end.kind is Ending.CLOSED:
        return ConnectionClosed(end.message, close_reason=end.close_reason)
    cls = CallEnded if end.kind is Ending.CALL_ENDED else ConnectionBroken
    return cls(end.message, close_reason=end.close_reason)


__all__ = [
    "CallEnded",
    "CloseReason",
    "ConnectTimeout",
    "ConnectionBroken",
    "ConnectionClosed",
    "ConnectionRejected",
    "HandshakeError",
    "InvalidOptionError",
    "ServerError",
    "connection_error",
]
