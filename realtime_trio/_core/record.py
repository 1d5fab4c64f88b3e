"""The base of every wire record (events and the objects nested in them)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import attrs

#: The shared, immutable "no extra fields" value.
NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


@attrs.frozen(kw_only=True)
class Record:
    """Base class of all records that mirror a JSON object on the wire.

    Field names are the wire names. Optional fields default to `UNSET` and are
    left out of the JSON; ``None`` is an explicit JSON ``null``.

    Attributes:
        extra_fields: Keys the schema does not know, kept as received so that
            parsing and dumping is lossless (for example the ``obfuscation``
            key that the server adds to some delta events). You may also pass
            it to send a field this version of realtime_trio does not model.
    """

    #: The wire ``type`` tag of records that carry one ("" for untagged ones).
    TYPE: ClassVar[str] = ""

    extra_fields: Mapping[str, Any] = attrs.field(
        default=NO_EXTRA, repr=False, hash=False
    )


@attrs.frozen(kw_only=True)
class UnknownObject(Record):
    """A nested object whose ``type`` tag this version does not know.

    Only produced in lenient mode; it dumps back to exactly ``raw``.
    """

    type: Any
    raw: Mapping[str, Any]
