"""How a connection ended, and what that means to its user (no trio here).

The WebSocket says *how* it closed: a close code and reason (`CloseReason`),
or 1006 when the socket was lost without a close frame. What the user of the
connection sees depends on more than that: who started closing, whether the
session was open yet, and whether the connection is a sideband of a call.
`classify_close` is that decision, in one place; the trio shell turns its
`ConnectionEnd` into the exception to raise (`ConnectionClosed`,
`ConnectionBroken` or `CallEnded`).

=====================================  =================  ====================================
how it closed                          `Ending`           what the user sees
=====================================  =================  ====================================
before ``session.created``             ``BROKEN``         opening fails with ConnectionBroken
we were closing (``aclose``)           ``CLOSED``         ConnectionClosed
we failed it (the server broke the     ``BROKEN``         ConnectionBroken, after the last event
protocol: 1002, 1007, 1009)
the server closed with 1000            ``SERVER_CLOSED``  the event stream ends; a pending
                                                          request fails with ConnectionBroken
a sideband, a close frame (not 1006)   ``CALL_ENDED``     CallEnded, after the last event
any other close, or lost (1006)        ``BROKEN``         ConnectionBroken, after the last event
lost while writing a message           ``BROKEN``         ConnectionBroken
=====================================  =================  ====================================

When realtime_trio itself fails the connection because the server broke the
protocol (a masked or malformed frame, invalid UTF-8, a message too big), the
`CloseReason` says so with ``closed_by="client"``, and the message says
"realtime_trio closed the connection" rather than "the server closed the
connection": the code alone (1002, 1007, 1009) could have come from either side.
The same holds when the keepalive ping went unanswered (1011, the reason says
so) and when the server sent more events before ``session.created`` than the
buffer holds (1008).

On a sideband a close frame from the server means the call ended (hangup by
either side); a socket lost without one is a network failure like any other.
"""

from __future__ import annotations

import enum
from typing import Literal, TypeAlias

import attrs

#: Which side closed the WebSocket (see `CloseReason.closed_by`).
ClosedBy: TypeAlias = Literal["server", "client"]


@attrs.frozen
class CloseReason:
    """Why a WebSocket closed: the close ``code`` and ``reason`` text.

    Attributes:
        code: The close code (1006 when the socket was lost without a close frame).
        reason: The close reason text, if any.
        closed_by: ``"client"`` when realtime_trio failed the connection itself
            because the server broke the protocol (1002 protocol error, 1007
            invalid UTF-8, 1009 message too big), did not answer the keepalive
            ping (1011) or sent too much before ``session.created`` (1008):
            ``code`` and ``reason`` are then the ones *we* sent. ``"server"`` otherwise: the server's close
            frame (or its echo of ours), or a lost socket (1006).
    """

    code: int | None
    reason: str | None = None
    closed_by: ClosedBy = attrs.field(default="server", kw_only=True)

    def __str__(self) -> str:
        if self.code is None:
            return "no close frame"
        return f"code {self.code}" + (f" ({self.reason})" if self.reason else "")


class Ending(enum.Enum):
    """The kinds of end of a connection (see the module's table)."""

    #: We closed it.
    CLOSED = "closed"
    #: The server closed it normally (1000): the event stream simply ends.
    SERVER_CLOSED = "server closed"
    #: The network or the server ended it unexpectedly.
    BROKEN = "broken"
    #: The call of a sideband ended.
    CALL_ENDED = "call ended"


#: Where the connection was when the WebSocket closed: waiting for
#: ``session.created``, reading events, or writing a message.
Phase: TypeAlias = Literal["connecting", "receiving", "sending"]


@attrs.frozen
class ConnectionEnd:
    """How one connection ended.

    Attributes:
        kind: The `Ending`.
        close_reason: How the WebSocket closed.
        message: The text of the exception that reports it.
    """

    kind: Ending
    close_reason: CloseReason
    message: str

    @property
    def is_failure(self) -> bool:
        """Whether the consumer gets an error after the last event (else the stream ends)."""
        return self.kind is Ending.BROKEN or self.kind is Ending.CALL_ENDED


def classify_close(
    reason: CloseReason, *, phase: Phase, we_closed: bool, sideband: bool
) -> ConnectionEnd:
    """Decide what the WebSocket closing as ``reason`` means (see the module's table).

    Args:
        reason: How the WebSocket closed (``reason.closed_by`` says whether
            we failed it ourselves).
        phase: What the connection was doing when it saw the close.
        we_closed: Whether we had started closing (``aclose``) by then.
        sideband: Whether the connection is attached to a call (``call_id=``).
    """
    if reason.closed_by == "client" and (phase == "connecting" or not we_closed):
        when = " before session.created" if phase == "connecting" else ""
        return ConnectionEnd(
            Ending.BROKEN,
            reason,
            f"realtime_trio closed the connection{when}: {_why_we_failed(reason)}",
        )
    if phase == "connecting":
        return ConnectionEnd(
            Ending.BROKEN,
            reason,
            "the server closed the connection before session.created "
            f"({_reason_text(reason)})",
        )
    if we_closed:
        return ConnectionEnd(Ending.CLOSED, reason, "the connection is closed")
    if phase == "sending":
        return ConnectionEnd(
            Ending.BROKEN, reason, f"the connection ended while sending: {reason}"
        )
    if reason.code == 1000:
        return ConnectionEnd(
            Ending.SERVER_CLOSED, reason, "the server closed the connection"
        )
    call_over = sideband and reason.code is not None and reason.code != 1006
    return ConnectionEnd(
        Ending.CALL_ENDED if call_over else Ending.BROKEN,
        reason,
        f"the connection ended: {reason}",
    )


#: The close codes of a server that broke the WebSocket protocol (see `FrameError`).
_PROTOCOL_CODES = frozenset({1002, 1007, 1009})


def _why_we_failed(reason: CloseReason) -> str:
    """Why realtime_trio failed the connection: a protocol violation, or what
    our close reason says (the keepalive ping timed out, 1011; too much before
    ``session.created``, 1008)."""
    if reason.code in _PROTOCOL_CODES or not reason.reason:
        return f"the server violated the WebSocket protocol ({_reason_text(reason)})"
    return f"{reason.reason} (code {reason.code})"


def _reason_text(reason: CloseReason) -> str:
    return f"code {reason.code}" + (f", {reason.reason}" if reason.reason else "")
