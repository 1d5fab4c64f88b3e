"""What a simulated response yields to the trio shell: its steps.

`Emit` also carries the events of the session itself (see `outputs`).
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

from ..._core.server_events import ServerEvent, UnknownEvent
from .scenario import CloseConnection, DropConnection


@attrs.frozen
class Emit:
    """Send this server event."""

    event: ServerEvent | UnknownEvent


@attrs.frozen
class Sleep:
    """Wait this many seconds on the trio clock."""

    seconds: float


RunStep: TypeAlias = Emit | Sleep | CloseConnection | DropConnection
