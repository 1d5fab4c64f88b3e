"""What the sans-IO parts of the simulator ask the trio shell to do."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import attrs

from ..._core.server_events import ServerEvent, UnknownEvent
from .scenario import CloseConnection, DropConnection

if TYPE_CHECKING:
    from .response_run import ResponseRun


@attrs.frozen
class Emit:
    """Send this server event."""

    event: ServerEvent | UnknownEvent


@attrs.frozen
class Sleep:
    """Wait this many seconds on the trio clock."""

    seconds: float


RunStep: TypeAlias = Emit | Sleep | CloseConnection | DropConnection


@attrs.frozen
class StartResponse:
    """Run this response in a task of its own."""

    run: ResponseRun


@attrs.frozen
class CancelResponse:
    """Cancel this running response (``reason``: ``client_cancelled``/``turn_detected``)."""

    run: ResponseRun
    reason: str


Output: TypeAlias = (
    Emit | StartResponse | CancelResponse | CloseConnection | DropConnection
)
