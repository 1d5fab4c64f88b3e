"""What the sans-IO session asks the trio shell to do: its outputs."""

from __future__ import annotations

from typing import TypeAlias

import attrs

from .response_run import ResponseRun
from .scenario import CloseConnection, DropConnection
from .steps import Emit


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
