"""What the openers need of a target, and the names of recordings (no trio here).

`opening` and `sip` open talks on a `Target` but do not import it (the
target imports them, to open its talks): they see it as a `TargetLike`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

__all__ = ["TargetLike", "recording_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def recording_name(name: str) -> str:
    """A file name (without ``.jsonl``) for a talk's name, such as a pytest node id."""
    safe = _UNSAFE.sub("_", name).strip("._")
    return safe or "talk"


class TargetLike(Protocol):
    """The parts of a `Target` that opening a talk reads."""

    @property
    def kind(self) -> str: ...
    @property
    def endpoint(self) -> str | None: ...
    @property
    def api_key(self) -> str | None: ...
    @property
    def model(self) -> str: ...
    @property
    def scenario_default(self) -> Any: ...
    @property
    def record(self) -> Path | None: ...
    @property
    def elide_audio(self) -> bool: ...

    def recording_path(self, name: str) -> Path | None: ...

    def replay_path(self, name: str) -> Path | None: ...
