"""The ``UNSET`` sentinel: "not given", as distinct from JSON ``null``.

On the Realtime wire, sending ``"turn_detection": null`` *clears* a server
setting, while leaving the key out keeps it. So every optional field of every
record defaults to `UNSET`, which is omitted when the record is dumped, and
``None`` always means an explicit JSON ``null``.
"""

from __future__ import annotations

import enum
from typing import Final, Literal, TypeAlias


class _UnsetType(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


#: The value of a field that was not given (and is left out of the JSON).
UNSET: Final = _UnsetType.UNSET

#: The type of `UNSET`, for annotations: ``x: int | UnsetType = UNSET``.
UnsetType: TypeAlias = Literal[_UnsetType.UNSET]
