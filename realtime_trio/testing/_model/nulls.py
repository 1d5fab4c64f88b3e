"""Which ``null``s of a client event mean something: the others are dropped.

Real clients send ``null`` for optional fields they do not set: LiveKit's
``response.create`` carries ``"instructions": null``, pydantic-based
clients dump unset ``Optional`` fields as ``null``. The real server treats
such a ``null`` as if the field were absent, so the simulator drops it
before it parses the event strictly.

A few ``null``s do mean something and are kept: in a session configuration
``null`` switches off voice activity detection (``audio.input.turn_detection``),
noise reduction, input transcription, tracing and the idle timeout, and
removes the stored prompt and the ``include`` list; in ``response.create``
``metadata: null`` and ``prompt: null`` give the response none. These paths
are `CLEARING_NULLS`; the how-to guide lists them too (docs/howto/simulator.rst).

Only fields that realtime_trio's records declare optional are dropped: a
``null`` where a value is required is still an error, and free-form objects
(a tool's JSON schema ``parameters``, ``metadata``, MCP ``headers``) are
left as they are.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, Final, Union

import attrs

from ..._core.client_events import CLIENT_EVENT_CLASSES
from ..._core.record import Record, UnknownObject
from ..._core.sentinel import UNSET
from ..._core.session_models import AnySessionConfig

#: A path of wire keys from the event object down (list indices left out).
Path = tuple[str, ...]

_SESSION_CLEARING: Final[tuple[Path, ...]] = (
    ("tracing",),
    ("prompt",),
    ("include",),
    ("audio", "input", "turn_detection"),
    ("audio", "input", "turn_detection", "idle_timeout_ms"),
    ("audio", "input", "noise_reduction"),
    ("audio", "input", "transcription"),
)

_EVENT_CLASSES: Final[Mapping[str, type[Record]]] = {
    cls.TYPE: cls for cls in CLIENT_EVENT_CLASSES
}
#: The fields of each record class, by wire name (see `_fields`).
_FIELDS: dict[type[Record], Mapping[str, tuple[bool, Any]]] = {}

#: The paths where ``null`` clears a setting, so it is kept.
CLEARING_NULLS: Final[frozenset[Path]] = frozenset(
    {("session", *path) for path in _SESSION_CLEARING}
    | {("response", "metadata"), ("response", "prompt")}
)


def drop_absent_nulls(event: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON of a client event without the ``null``s that mean "absent".

    ``event`` is not modified; when it has no such ``null`` it is returned as
    it is. An event of an unknown type is returned unchanged (parsing it
    reports the error).
    """
    tag = event.get("type")
    cls = _EVENT_CLASSES.get(tag) if isinstance(tag, str) else None
    if cls is None:
        return event
    return _drop_in_object(event, cls, ())


def drop_absent_nulls_in_session(config: dict[str, Any]) -> dict[str, Any]:
    """The same for a session configuration on its own (a REST request body)."""
    dropped = _drop(config, AnySessionConfig, ("session",))
    assert isinstance(dropped, dict)
    return dropped


def _drop(value: Any, tp: Any, path: Path) -> Any:
    if type(value) is dict:
        cls = _object_class(tp, value)
        return value if cls is None else _drop_in_object(value, cls, path)
    if type(value) is list:
        item_type = _item_type(tp)
        if item_type is None:
            return value
        items = [_drop(item, item_type, path) for item in value]
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return items if changed else value
    return value


def _drop_in_object(
    value: dict[str, Any], cls: type[Record], path: Path
) -> dict[str, Any]:
    fields = _fields(cls)
    out: dict[str, Any] | None = None
    for key, item in value.items():
        spec = fields.get(key)
        if spec is None:
            continue  # unknown: the strict parser reports it
        optional, field_type = spec
        where = (*path, key)
        if item is None:
            if optional and where not in CLEARING_NULLS:
                if out is None:
                    out = dict(value)
                del out[key]
            continue
        new = _drop(item, field_type, where)
        if new is not item:
            if out is None:
                out = dict(value)
            out[key] = new
    return value if out is None else out


def _fields(cls: type[Record]) -> Mapping[str, tuple[bool, Any]]:
    """Each field's wire name: (whether it may be left out, its type)."""
    fields = _FIELDS.get(cls)
    if fields is None:
        attrs.resolve_types(cls)
        fields = _FIELDS[cls] = {
            field.name: (field.default is UNSET, field.type)
            for field in attrs.fields(cls)
            if field.name != "extra_fields"
        }
    return fields


def _members(tp: Any) -> list[Any]:
    if typing.get_origin(tp) in (Union, types.UnionType):
        return [m for arg in typing.get_args(tp) for m in _members(arg)]
    return [tp]


def _object_class(tp: Any, value: Mapping[str, Any]) -> type[Record] | None:
    """The record class the codec parses ``value`` as (None: free-form or unknown)."""
    members = _members(tp)
    records = [
        m
        for m in members
        if isinstance(m, type) and issubclass(m, Record) and m is not UnknownObject
    ]
    tag = value.get("type")
    for cls in records:
        if cls.TYPE and tag == cls.TYPE:
            return cls
    untagged = [m for m in records if not m.TYPE]
    return untagged[0] if len(untagged) == 1 else None


def _item_type(tp: Any) -> Any:
    """The element type of the array member of ``tp`` (None if it has none)."""
    for member in _members(tp):
        args = typing.get_args(member)
        if typing.get_origin(member) is tuple and len(args) == 2 and args[1] is ...:
            return args[0]
    return None
