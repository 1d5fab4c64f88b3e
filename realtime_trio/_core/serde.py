"""The converter between wire JSON and event records (the only code that uses cattrs).

Theory of operation
-------------------
An `EventCodec` owns one private `cattrs.Converter` (the preconf converter of
the JSON library in use: orjson, a default dependency, else the stdlib's). Hooks are
registered by *factories*, so cattrs composes them for every type it meets:

* attrs records (subclasses of `Record`) get a compiled closure that walks the
  JSON object once, structures known keys with their field's hook, keeps
  unknown keys in ``extra_fields`` (or raises, in strict mode), and fills a
  missing required field with `UNSET` (or raises, in strict mode): the code
  generation is in `.serde_codegen`;
* unions dispatch on the *JSON kind* of the value (string, number, object,
  array, null) and, for objects, on their ``"type"`` tag; an unknown tag
  becomes `UnknownObject` in lenient mode;
* primitives are checked, never coerced: ``"1500"`` or ``true`` where an
  integer belongs is an error, and an integer stays an integer where a number
  belongs (so ``1`` does not come back as ``1.0``).

Those hooks (all but the generated ones) are in `.serde_hooks`.

Dumping is the mirror image: `UNSET` fields are left out, ``None`` becomes
``null``, tuples become lists, and tagged records write their ``"type"``
first. ``dump(parse(x)) == x`` holds for every valid ``x``.

Errors inside hooks are raised as `Invalid` (internal), which collects the
path on its way out; the public entry points here turn it into a
`ProtocolError` that names the event type and the path. Any other exception
from the converter is a bug.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias

import cattrs

from .client_events import CLIENT_EVENT_CLASSES, ClientEvent
from .errors import LocalProtocolError, RemoteProtocolError
from .record import Record, UnknownObject
from .sentinel import UNSET, _UnsetType
from .serde_codegen import RecordHookFactory
from .serde_hooks import (
    PRIMITIVE_HOOKS,
    Hook,
    HookFactories,
    Invalid,
    format_path,
    is_mapping,
    is_record,
    is_union,
    is_var_tuple,
    kind_of,
)
from .server_events import SERVER_EVENT_CLASSES, ServerEvent, UnknownEvent

_orjson: Any
try:  # a default dependency; the stdlib's json if it cannot be imported
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

Event: TypeAlias = ClientEvent | ServerEvent | UnknownEvent

#: Every known event class by its wire type.
EVENT_CLASSES: Final[Mapping[str, type[Record]]] = {
    cls.TYPE: cls for cls in (*CLIENT_EVENT_CLASSES, *SERVER_EVENT_CLASSES)
}


class EventCodec:
    """Parses and dumps events with one private cattrs converter.

    Args:
        strict: Raise on unknown event types, unknown fields and missing
            required fields instead of tolerating them.
        json_library: ``"orjson"`` or ``"json"``; by default orjson (a
            dependency) when it can be imported, else the standard library.

    `parse_event`, `dump_event` and `encode_event` use shared instances.
    """

    def __init__(
        self, *, strict: bool = False, json_library: str | None = None
    ) -> None:
        if json_library is None:
            json_library = "orjson" if _orjson is not None else "json"
        self.strict = strict
        self.json_library = json_library
        if json_library == "orjson":
            if _orjson is None:
                raise ImportError("orjson cannot be imported (pip install orjson)")
            from cattrs.preconf.orjson import make_converter as make_orjson

            self.converter: cattrs.Converter = make_orjson()
            orjson_mod: Any = _orjson
            self._loads: Callable[[str | bytes], Any] = orjson_mod.loads
            dumps_bytes: Callable[[Any], bytes] = orjson_mod.dumps
            self._dumps: Callable[[Any], str] = lambda obj: dumps_bytes(obj).decode()
            self._decode_errors: tuple[type[BaseException], ...] = (ValueError,)
        elif json_library == "json":
            from cattrs.preconf.json import make_converter as make_json

            self.converter = make_json()
            self._loads = json.loads
            encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
            self._dumps = encoder.encode
            self._decode_errors = (ValueError, RecursionError)
        else:
            raise ValueError(
                f"json_library must be 'orjson' or 'json', not {json_library!r}"
            )
        self._configure(self.converter)
        structure = self.converter.get_structure_hook
        self._event_hooks: dict[str, Hook] = {
            tag: structure(cls) for tag, cls in EVENT_CLASSES.items()
        }

    # --- public API -------------------------------------------------------

    def parse(
        self, data: str | bytes | bytearray | memoryview | Mapping[str, Any]
    ) -> Event:
        """Turn one wire message (text, bytes or an already decoded dict) into a record.

        Raises:
            RemoteProtocolError: the data is not JSON, not an object, has no
                string ``type``, or a field has the wrong type (and, in strict
                mode, on unknown types, unknown fields and missing fields).
        """
        if type(data) is dict:
            obj: Any = data
        elif isinstance(data, str | bytes | bytearray | memoryview):
            try:
                obj = self._loads(
                    data if isinstance(data, str | bytes) else bytes(data)
                )
            except self._decode_errors as exc:
                raise RemoteProtocolError(
                    f"message is not valid JSON: {exc}", raw=data
                ) from exc
            if type(obj) is not dict:
                raise RemoteProtocolError(
                    f"message is not a JSON object but {kind_of(obj)}", raw=data
                )
        elif isinstance(data, Mapping):
            obj = dict(data)
        else:
            raise TypeError(
                f"parse() takes str, bytes or dict, not {type(data).__name__}"
            )
        tag = obj.get("type")
        if type(tag) is not str:
            raise RemoteProtocolError(
                f'event has {"no" if tag is None else "a non-string"} "type" field',
                path=("type",),
                raw=data,
            )
        hook = self._event_hooks.get(tag)
        if hook is None:
            if self.strict:
                raise RemoteProtocolError(
                    f"unknown event type {tag!r}", event_type=tag, raw=data
                )
            return UnknownEvent(type=tag, raw=obj)
        try:
            return hook(obj, None)  # type: ignore[no-any-return]
        except Invalid as exc:
            path = tuple(exc.path)
            where = f" at {format_path(path)}" if path else ""
            raise RemoteProtocolError(
                f"invalid {tag!r} event{where}: {exc.message}",
                event_type=tag,
                path=path,
                raw=data,
            ) from None

    def dump(self, event: Record) -> dict[str, Any]:
        """Turn a record (an event, or any nested record) into its JSON object."""
        try:
            return self.converter.unstructure(event)  # type: ignore[no-any-return]
        except Exception as exc:  # a record holding something it should not
            raise LocalProtocolError(
                f"cannot dump {type(event).__name__}: {exc}",
                event_type=getattr(event, "TYPE", None) or None,
            ) from exc

    def encode(self, event: Record | Mapping[str, Any]) -> str:
        """Turn an event (record or plain dict) into the text of one WebSocket message."""
        obj = event if isinstance(event, Mapping) else self.dump(event)
        try:
            return self._dumps(obj)
        except (TypeError, ValueError, OverflowError) as exc:
            raise LocalProtocolError(
                f"cannot encode event as JSON: {exc}",
                event_type=obj.get("type") if isinstance(obj, Mapping) else None,
            ) from exc

    def loads(self, text: str | bytes) -> Any:
        """Decode JSON text with this codec's library (errors as `RemoteProtocolError`)."""
        try:
            return self._loads(text)
        except self._decode_errors as exc:
            raise RemoteProtocolError(f"not valid JSON: {exc}", raw=text) from exc

    def dumps(self, obj: Any) -> str:
        """Encode a JSON-compatible object with this codec's library."""
        return self._dumps(obj)

    def structure(self, obj: Any, cls: type[Any]) -> Any:
        """Structure a plain JSON value into ``cls`` (a record or a union alias)."""
        try:
            return self.converter.get_structure_hook(cls)(obj, cls)
        except Invalid as exc:
            path = tuple(exc.path)
            where = f" at {format_path(path)}" if path else ""
            name = getattr(cls, "__name__", repr(cls))
            raise RemoteProtocolError(
                f"invalid {name}{where}: {exc.message}", path=path, raw=obj
            ) from None

    # --- hooks ---------------------------------------------------------------

    def _configure(self, conv: cattrs.Converter) -> None:
        factories = HookFactories(conv, self.strict)
        for tp, hook in PRIMITIVE_HOOKS.items():
            conv.register_structure_hook(tp, hook)
        conv.register_structure_hook_factory(
            is_record, RecordHookFactory(conv, self.strict)
        )
        conv.register_structure_hook_factory(is_union, factories.union_structure)
        conv.register_structure_hook_factory(is_var_tuple, factories.tuple_structure)
        conv.register_structure_hook_factory(is_mapping, factories.mapping_structure)

        conv.register_unstructure_hook(UnknownObject, lambda obj: dict(obj.raw))
        conv.register_unstructure_hook(UnknownEvent, lambda obj: dict(obj.raw))
        conv.register_unstructure_hook_factory(is_record, factories.record_unstructure)
        unstructure = conv.unstructure
        conv.register_unstructure_hook(tuple, lambda seq: [unstructure(x) for x in seq])
        conv.register_unstructure_hook(list, lambda seq: [unstructure(x) for x in seq])


# --- module-level shortcuts -------------------------------------------------

_codecs: dict[tuple[bool, str | None], EventCodec] = {}


def get_codec(*, strict: bool = False, json_library: str | None = None) -> EventCodec:
    """Return the shared codec for these settings, creating it on first use."""
    key = (strict, json_library)
    codec = _codecs.get(key)
    if codec is None:
        codec = _codecs[key] = EventCodec(strict=strict, json_library=json_library)
    return codec


def parse_event(
    data: str | bytes | bytearray | Mapping[str, Any], *, strict: bool = False
) -> Event:
    """Parse one event (client or server) from JSON text, bytes or a dict.

    Unknown event types become `UnknownEvent` (or, with ``strict=True``, an
    error). Lossless: ``dump_event(parse_event(x)) == x``.

    Raises:
        RemoteProtocolError: the data is not a valid event; the message names
            the event type and the path of the bad field.
    """
    return get_codec(strict=strict).parse(data)


def dump_event(event: Record) -> dict[str, Any]:
    """Dump an event (client or server) to its JSON object, ``"type"`` included.

    `UNSET` fields are left out; ``None`` fields become ``null``.
    """
    return get_codec().dump(event)


def encode_event(event: Record | Mapping[str, Any]) -> str:
    """Encode an event (record or plain dict) as the text of one WebSocket message."""
    return get_codec().encode(event)


# Guard: the shared sentinel must be the one the records use.
assert isinstance(UNSET, _UnsetType)

__all__ = [
    "EVENT_CLASSES",
    "Event",
    "EventCodec",
    "dump_event",
    "encode_event",
    "format_path",
    "get_codec",
    "parse_event",
]
