"""The converter between wire JSON and event records (the only module that uses cattrs).

Theory of operation
-------------------
An `EventCodec` owns one private `cattrs.Converter` (the preconf converter of
the JSON library in use: orjson when installed, else the stdlib's). Hooks are
registered by *factories*, so cattrs composes them for every type it meets:

* attrs records (subclasses of `Record`) get a compiled closure that walks the
  JSON object once, structures known keys with their field's hook, keeps
  unknown keys in ``extra_fields`` (or raises, in strict mode), and fills a
  missing required field with `UNSET` (or raises, in strict mode);
* unions dispatch on the *JSON kind* of the value (string, number, object,
  array, null) and, for objects, on their ``"type"`` tag; an unknown tag
  becomes `UnknownObject` in lenient mode;
* primitives are checked, never coerced: ``"1500"`` or ``true`` where an
  integer belongs is an error, and an integer stays an integer where a number
  belongs (so ``1`` does not come back as ``1.0``).

Dumping is the mirror image: `UNSET` fields are left out, ``None`` becomes
``null``, tuples become lists, and tagged records write their ``"type"``
first. ``dump(parse(x)) == x`` holds for every valid ``x``.

Errors inside hooks are raised as the private `_Invalid`, which collects the
path on its way out; the public entry points turn it into a `ProtocolError`
that names the event type and the path. Any other exception from this module
is a bug.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, TypeAlias, Union

import attrs
import cattrs

from .client_events import CLIENT_EVENT_CLASSES, ClientEvent
from .errors import LocalProtocolError, RemoteProtocolError
from .record import NO_EXTRA, Record, UnknownObject
from .sentinel import UNSET, _UnsetType
from .server_events import SERVER_EVENT_CLASSES, ServerEvent, UnknownEvent

_orjson: Any
try:  # the "fast" extra
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

Event: TypeAlias = ClientEvent | ServerEvent | UnknownEvent
_Hook: TypeAlias = Callable[[Any, Any], Any]

#: Every known event class by its wire type.
EVENT_CLASSES: Final[Mapping[str, type[Record]]] = {
    cls.TYPE: cls for cls in (*CLIENT_EVENT_CLASSES, *SERVER_EVENT_CLASSES)
}


class _Invalid(Exception):
    """A value does not fit its schema; ``path`` grows as it propagates out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str | int] = []


def _kind(value: object) -> str:
    """Name a JSON value's kind for error messages."""
    names = {
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean",
        dict: "object",
        list: "array",
        type(None): "null",
    }
    name = names.get(type(value), type(value).__name__)
    if name in ("string", "integer", "number", "boolean"):
        shown = repr(value)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        return f"{name} {shown}"
    return name


def format_path(path: typing.Sequence[str | int]) -> str:
    """Render a path like ``response.output[0].content[1].transcript``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


# --- primitive hooks: check, never coerce ---------------------------------


def _structure_str(value: Any, _: Any) -> str:
    if type(value) is str:
        return value
    raise _Invalid(f"expected string, got {_kind(value)}")


def _structure_int(value: Any, _: Any) -> int:
    if type(value) is int:
        return value
    raise _Invalid(f"expected integer, got {_kind(value)}")


def _structure_float(value: Any, _: Any) -> float:
    # JSON does not tell 1 from 1.0 apart; keep what was sent so dumps match.
    if type(value) is float or type(value) is int:
        return value
    raise _Invalid(f"expected number, got {_kind(value)}")


def _structure_bool(value: Any, _: Any) -> bool:
    if type(value) is bool:
        return value
    raise _Invalid(f"expected boolean, got {_kind(value)}")


def _structure_none(value: Any, _: Any) -> None:
    if value is None:
        return None
    raise _Invalid(f"expected null, got {_kind(value)}")


def _structure_any(value: Any, _: Any) -> Any:
    return value


_PRIMITIVE_HOOKS: Final[dict[Any, _Hook]] = {
    str: _structure_str,
    int: _structure_int,
    float: _structure_float,
    bool: _structure_bool,
    type(None): _structure_none,
    Any: _structure_any,
}


def _is_record(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Record)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _is_unset(tp: Any) -> bool:
    return typing.get_origin(tp) is Literal and typing.get_args(tp) == (UNSET,)


def _is_var_tuple(tp: Any) -> bool:
    args = typing.get_args(tp)
    return typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_mapping(tp: Any) -> bool:
    return typing.get_origin(tp) in (Mapping, dict, typing.Mapping)


def _wrap_index(hook: _Hook) -> Callable[[list[Any]], tuple[Any, ...]]:
    def structure_items(items: list[Any]) -> tuple[Any, ...]:
        out = []
        for index, item in enumerate(items):
            try:
                out.append(hook(item, None))
            except _Invalid as exc:
                exc.path.insert(0, index)
                raise
        return tuple(out)

    return structure_items


def _desc(tp: Any) -> str:
    if _is_record(tp):
        return f"object ({tp.__name__})"
    if _is_var_tuple(tp):
        return "array"
    if _is_mapping(tp):
        return "object"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(
        tp, "null" if tp is type(None) else repr(tp)
    )


class EventCodec:
    """Parses and dumps events with one private cattrs converter.

    Args:
        strict: Raise on unknown event types, unknown fields and missing
            required fields instead of tolerating them.
        json_library: ``"orjson"`` or ``"json"``; by default orjson when it is
            installed (the ``fast`` extra), else the standard library.

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
                raise ImportError(
                    "orjson is not installed (pip install 'realtime-trio[fast]')"
                )
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
        self._event_hooks: dict[str, _Hook] = {
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
                    f"message is not a JSON object but {_kind(obj)}", raw=data
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
        except _Invalid as exc:
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
        except _Invalid as exc:
            path = tuple(exc.path)
            where = f" at {format_path(path)}" if path else ""
            name = getattr(cls, "__name__", repr(cls))
            raise RemoteProtocolError(
                f"invalid {name}{where}: {exc.message}", path=path, raw=obj
            ) from None

    # --- hook factories ----------------------------------------------------

    def _configure(self, conv: cattrs.Converter) -> None:
        for tp, hook in _PRIMITIVE_HOOKS.items():
            conv.register_structure_hook(tp, hook)
        conv.register_structure_hook_factory(_is_record, self._record_structure_factory)
        conv.register_structure_hook_factory(_is_union, self._union_structure_factory)
        conv.register_structure_hook_factory(
            _is_var_tuple, self._tuple_structure_factory
        )
        conv.register_structure_hook_factory(
            _is_mapping, self._mapping_structure_factory
        )

        conv.register_unstructure_hook(UnknownObject, lambda obj: dict(obj.raw))
        conv.register_unstructure_hook(UnknownEvent, lambda obj: dict(obj.raw))
        conv.register_unstructure_hook_factory(
            _is_record, self._record_unstructure_factory
        )
        unstructure = conv.unstructure
        conv.register_unstructure_hook(tuple, lambda seq: [unstructure(x) for x in seq])
        conv.register_unstructure_hook(list, lambda seq: [unstructure(x) for x in seq])

    def _tuple_structure_factory(self, tp: Any) -> _Hook:
        item_type = typing.get_args(tp)[0]
        structure_items = _wrap_index(self.converter.get_structure_hook(item_type))

        def structure_tuple(value: Any, _: Any) -> tuple[Any, ...]:
            if type(value) is not list:
                raise _Invalid(f"expected array, got {_kind(value)}")
            return structure_items(value)

        return structure_tuple

    def _mapping_structure_factory(self, tp: Any) -> _Hook:
        args = typing.get_args(tp)
        value_type = args[1] if len(args) == 2 else Any
        value_hook = (
            None if value_type is Any else self.converter.get_structure_hook(value_type)
        )

        def structure_mapping(value: Any, _: Any) -> Mapping[str, Any]:
            if type(value) is not dict:
                raise _Invalid(f"expected object, got {_kind(value)}")
            if value_hook is not None:
                for key, item in value.items():
                    try:
                        value_hook(item, None)
                    except _Invalid as exc:
                        exc.path.insert(0, key)
                        raise
            return value

        return structure_mapping

    def _union_structure_factory(self, tp: Any) -> _Hook:
        members = [m for m in typing.get_args(tp) if not _is_unset(m)]
        if len(members) == 1:
            return self.converter.get_structure_hook(members[0])
        get_hook = self.converter.get_structure_hook
        by_kind: dict[type, _Hook] = {}
        by_tag: dict[str, _Hook] = {}
        untagged_object: _Hook | None = None
        unknown_ok = False
        for member in members:
            if member is UnknownObject:
                unknown_ok = True
            elif _is_record(member) and member.TYPE:
                by_tag[member.TYPE] = get_hook(member)
            elif _is_record(member) or _is_mapping(member):
                if untagged_object is not None:
                    raise TypeError(
                        f"ambiguous union {tp!r}: two untagged object members"
                    )
                untagged_object = get_hook(member)
            elif _is_var_tuple(member):
                by_kind[list] = get_hook(member)
            elif member in (str, int, bool, type(None)):
                by_kind[member] = get_hook(member)
            elif member is float:
                by_kind[float] = by_kind.setdefault(int, _structure_float)
            else:
                raise TypeError(f"unsupported union member {member!r} in {tp!r}")
        expected = " or ".join([_desc(m) for m in members if m is not UnknownObject])
        strict = self.strict
        tags = sorted(by_tag)

        def structure_union(value: Any, _: Any) -> Any:
            kind = type(value)
            if kind is dict:
                if by_tag:
                    tag = value.get("type")
                    hook = by_tag.get(tag) if type(tag) is str else None
                    if hook is not None:
                        return hook(value, None)
                    if untagged_object is not None:
                        return untagged_object(value, None)
                    if unknown_ok and not strict:
                        return UnknownObject(type=value.get("type", UNSET), raw=value)
                    raise _Invalid(
                        f"unknown object type {tag!r} (expected one of {tags})"
                    )
                if untagged_object is not None:
                    return untagged_object(value, None)
            else:
                hook = by_kind.get(kind)
                if hook is not None:
                    return hook(value, None)
            raise _Invalid(f"expected {expected}, got {_kind(value)}")

        return structure_union

    def _record_structure_factory(self, cls: type[Record]) -> _Hook:
        """Compile a hook for ``cls`` (see `_record_hook_source`)."""
        attrs.resolve_types(cls)
        fields = [f for f in attrs.fields(cls) if f.name != "extra_fields"]
        if cls.TYPE and any(f.name == "type" for f in fields):
            raise TypeError(
                f"{cls.__name__}: a tagged record cannot have a 'type' field"
            )
        namespace: dict[str, Any] = {
            "_Invalid": _Invalid,
            "_kind": _kind,
            "_MISSING": _MISSING,
            "UNSET": UNSET,
            "NO_EXTRA": NO_EXTRA,
            "cls": cls,
            # Error messages: constants, so no name is ever spliced into code.
            "NOT_AN_OBJECT": f"expected object ({cls.__name__}), got ",
            "MISSING_FIELD": f"missing required field %r of {cls.__name__}",
            "WRONG_TAG": f"expected type {cls.TYPE!r}, got ",
            "UNKNOWN_FIELD": f"unknown field %r in {cls.__name__}",
            "known": frozenset(
                [f.name for f in fields] + (["type"] if cls.TYPE else [])
            ),
        }
        for index, field in enumerate(fields):
            if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                raise TypeError(
                    f"{cls.__name__}.{field.name}: factory defaults are not supported"
                )
            namespace[f"hook{index}"] = self.converter.get_structure_hook(field.type)
            namespace[f"kinds{index}"] = _scalar_kinds(field.type)
            namespace[f"default{index}"] = field.default
        exec(_record_hook_code(cls, self.strict), namespace)
        hook: _Hook = namespace["structure_record"]
        return hook

    def _record_unstructure_factory(
        self, cls: type[Record]
    ) -> Callable[[Any], dict[str, Any]]:
        attrs.resolve_types(cls)
        unstructure = self.converter.unstructure
        plain: list[str] = []
        nested: list[str] = []
        for field in attrs.fields(cls):
            if field.name == "extra_fields":
                continue
            (plain if _is_plain(field.type) else nested).append(field.name)
        tag = cls.TYPE
        unset = UNSET

        def unstructure_record(obj: Any) -> dict[str, Any]:
            out: dict[str, Any] = {"type": tag} if tag else {}
            for key in plain:
                value = getattr(obj, key)
                if value is not unset:
                    out[key] = value
            for key in nested:
                value = getattr(obj, key)
                if value is not unset:
                    out[key] = unstructure(value)
            extra = obj.extra_fields
            if extra is not NO_EXTRA and extra:
                out.update(extra)
            return out

        return unstructure_record


#: The JSON types (as parsed) each scalar type accepts: a float field keeps
#: an integer as sent.
_SCALAR_KINDS: Final[dict[Any, frozenset[type]]] = {
    str: frozenset({str}),
    int: frozenset({int}),
    float: frozenset({float, int}),
    bool: frozenset({bool}),
    type(None): frozenset({type(None)}),
}


def _scalar_kinds(tp: Any) -> frozenset[type]:
    """The JSON types a field of type ``tp`` accepts as is (empty: not a scalar field)."""
    if _is_union(tp):
        members = [m for m in typing.get_args(tp) if not _is_unset(m)]
        kinds = [_SCALAR_KINDS.get(m) for m in members]
        if all(kinds):
            return frozenset().union(*kinds)  # type: ignore[arg-type]
        return frozenset()
    return _SCALAR_KINDS.get(tp, frozenset())


_MISSING: Final = object()


#: Compiled hook sources by (record class, strict), shared by every codec:
#: compiling is the slow part of building a codec.
_HOOK_CODE: dict[tuple[type[Record], bool], types.CodeType] = {}


def _record_hook_code(cls: type[Record], strict: bool) -> types.CodeType:
    code = _HOOK_CODE.get((cls, strict))
    if code is None:
        fields = [f for f in attrs.fields(cls) if f.name != "extra_fields"]
        source = _record_hook_source(cls, fields, strict=strict)
        code = compile(source, f"<realtime_trio structure {cls.__name__}>", "exec")
        _HOOK_CODE[cls, strict] = code
    return code


def _record_hook_source(
    cls: type[Record], fields: list[attrs.Attribute[Any]], *, strict: bool
) -> str:
    """Python source of the structure hook of one record class.

    Generated once per class (as attrs and cattrs do) so that parsing does
    one dict lookup per field, checks scalar fields inline, passes every
    field to ``cls`` by keyword without building a dict, and gathers
    unknown keys only when there are some. Against a generic loop over the
    keys: ``session.updated`` and ``response.done`` parse ~20% faster, a
    small record (``audio/pcm``) about twice as fast.

    Errors keep the generic loop's contract: an ``_Invalid`` whose path
    starts with the field name.
    """
    tag = cls.TYPE
    lines = [
        "def structure_record(value, _):",
        "    if type(value) is not dict:",
        "        raise _Invalid(NOT_AN_OBJECT + _kind(value))",
        "    seen = 0",
    ]
    for index, field in enumerate(fields):
        key = field.name
        lines += [
            f"    v = value.get({key!r}, _MISSING)",
            "    if v is _MISSING:",
        ]
        if field.default is not attrs.NOTHING:
            lines.append(f"        a{index} = default{index}")
        elif strict:
            lines += [
                f"        exc = _Invalid(MISSING_FIELD % ({key!r},))",
                f"        exc.path.append({key!r})",
                "        raise exc",
            ]
        else:
            lines.append(f"        a{index} = UNSET")
        convert = [
            "try:",
            f"    a{index} = hook{index}(v, None)",
            "except _Invalid as exc:",
            f"    exc.path.insert(0, {key!r})",
            "    raise",
        ]
        lines += ["    else:", "        seen += 1"]
        if _scalar_kinds(field.type):
            # A JSON scalar of an accepted type is the value; the hook only
            # words the error.
            lines += [
                f"        if type(v) in kinds{index}:",
                f"            a{index} = v",
            ]
            lines += ["        else:"] + [" " * 12 + line for line in convert]
        else:
            lines += [" " * 8 + line for line in convert]
    if tag:
        lines += [
            "    v = value.get('type', _MISSING)",
            "    if v is not _MISSING:",
            "        seen += 1",
            f"        if v != {tag!r}:",
            "            raise _Invalid(WRONG_TAG + _kind(v))",
        ]
    lines += ["    if seen == len(value):", "        extra = NO_EXTRA", "    else:"]
    if strict:
        lines += [
            "        for k in value:",
            "            if k not in known:",
            "                exc = _Invalid(UNKNOWN_FIELD % (k,))",
            "                exc.path.append(k)",
            "                raise exc",
        ]
    lines.append("        extra = {k: v for k, v in value.items() if k not in known}")
    arguments = ", ".join(f"{f.name}=a{i}" for i, f in enumerate(fields))
    lines.append(
        f"    return cls({arguments}{', ' if arguments else ''}extra_fields=extra)"
    )
    return "\n".join(lines) + "\n"


def _is_plain(tp: Any) -> bool:
    """A type whose values are already JSON: dumping leaves them as they are."""
    if tp in (str, int, float, bool, type(None), Any) or _is_unset(tp):
        return True
    if _is_union(tp):
        return all(_is_plain(m) for m in typing.get_args(tp))
    return _is_mapping(tp)


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
