"""What the sans-IO session asks the trio shell to do: its outputs."""

from __future__ import annotations

from collections.abc import Callable
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


@attrs.frozen
class Deferred:
    """Outputs to make once the outputs before this one were carried out.

    A caller's barge-in on a call truncates the item after the cancelled
    response's tail went out (the tail reports the item as it was sent).
    """

    make: Callable[[], list[Output]]


Output: TypeAlias = (
    Emit | StartResponse | CancelResponse | Deferred | CloseConnection | DropConnection
)
