"""Errors of the sans-IO core (no trio import here).

The connection errors that inherit from trio's resource errors live in
``_client/exceptions.py``; together they form this tree::

    RealtimeError
    ├── ProtocolError                 an event could not be parsed or dumped
    │   ├── LocalProtocolError        we were asked to send something invalid
    │   └── RemoteProtocolError       the peer sent something we cannot parse
    ├── HandshakeError                the connection could not be established
    │   ├── ConnectTimeout
    │   └── ConnectionRejected
    ├── ConnectionClosed              we closed the connection
    ├── ConnectionBroken              the network or the server ended it
    ├── ServerError                   a correlated request was answered by ``error``
    └── RealtimeInternalError         a bug in realtime_trio: please report it
"""

from __future__ import annotations

from typing import Any


class RealtimeError(Exception):
    """Root of every exception realtime_trio raises on purpose."""


class ProtocolError(RealtimeError):
    """An event could not be converted to or from the wire format.

    Attributes:
        event_type: The wire ``type`` of the event involved, when known.
        path: Where in the event the problem is, as a tuple of keys and
            indices (empty for the event as a whole).
        raw: The raw frame or object that failed, kept so nothing is lost.
    """

    def __init__(
        self,
        message: str,
        *,
        event_type: str | None = None,
        path: tuple[str | int, ...] = (),
        raw: Any = None,
    ) -> None:
        super().__init__(message)
        self.event_type = event_type
        self.path = path
        self.raw = raw

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self)!r}, event_type={self.event_type!r}, "
            f"path={self.path!r})"
        )


class LocalProtocolError(ProtocolError):
    """We were asked to send an event that is not valid."""


class RemoteProtocolError(ProtocolError):
    """The peer sent data that is not a valid event (bad JSON, bad field type, ...)."""


class RealtimeInternalError(RealtimeError):
    """Something happened that should be impossible: a bug in realtime_trio.

    Please report it, with the traceback (its ``__cause__`` holds the original).
    """
