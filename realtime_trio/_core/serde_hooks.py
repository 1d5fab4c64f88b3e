"""The converter's hooks: JSON kinds, type predicates, and the hook factories.

`EventCodec` (in `.serde`) registers these on its private
`cattrs.Converter`; cattrs composes them for every type it meets:

* primitives are checked, never coerced: ``"1500"`` or ``true`` where an
  integer belongs is an error, and an integer stays an integer where a number
  belongs (so ``1`` does not come back as ``1.0``);
* unions dispatch on the *JSON kind* of the value (string, number, object,
  array, null) and, for objects, on their ``"type"`` tag; an unknown tag
  becomes `UnknownObject` in lenient mode;
* tuples and mappings check their items, and name the index or key of a bad one;
* records dump with `UNSET` fields left out and their ``"type"`` first.

The structure hooks of records are generated code: see `.serde_codegen`.

Errors inside hooks are raised as `Invalid`, which collects the path on its
way out; the codec turns it into a `ProtocolError` that names the event type
and the path.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, TypeAlias, Union

import attrs
import cattrs

from .record import NO_EXTRA, Record, UnknownObject
from .sentinel import UNSET

Hook: TypeAlias = Callable[[Any, Any], Any]


class Invalid(Exception):
    """A value does not fit its schema; ``path`` grows as it propagates out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str | int] = []


def kind_of(value: object) -> str:
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
    raise Invalid(f"expected string, got {kind_of(value)}")


def _structure_int(value: Any, _: Any) -> int:
    if type(value) is int:
        return value
    raise Invalid(f"expected integer, got {kind_of(value)}")


def structure_float(value: Any, _: Any) -> float:
    """The hook of ``float``: a number, kept as sent."""
    # JSON does not tell 1 from 1.0 apart; keep what was sent so dumps match.
    if type(value) is float or type(value) is int:
        return value
    raise Invalid(f"expected number, got {kind_of(value)}")


def _structure_bool(value: Any, _: Any) -> bool:
    if type(value) is bool:
        return value
    raise Invalid(f"expected boolean, got {kind_of(value)}")


def _structure_none(value: Any, _: Any) -> None:
    if value is None:
        return None
    raise Invalid(f"expected null, got {kind_of(value)}")


def _structure_any(value: Any, _: Any) -> Any:
    return value


#: The structure hooks of the primitive types.
PRIMITIVE_HOOKS: Final[dict[Any, Hook]] = {
    str: _structure_str,
    int: _structure_int,
    float: structure_float,
    bool: _structure_bool,
    type(None): _structure_none,
    Any: _structure_any,
}


# --- type predicates --------------------------------------------------------


def is_record(tp: Any) -> bool:
    """``tp`` is a `Record` class."""
    return isinstance(tp, type) and issubclass(tp, Record)


def is_union(tp: Any) -> bool:
    """``tp`` is a union (``X | Y`` or ``Union[X, Y]``)."""
    return typing.get_origin(tp) in (Union, types.UnionType)


def is_unset(tp: Any) -> bool:
    """``tp`` is the type of `UNSET` (``Literal[UNSET]``)."""
    return typing.get_origin(tp) is Literal and typing.get_args(tp) == (UNSET,)


def is_var_tuple(tp: Any) -> bool:
    """``tp`` is ``tuple[X, ...]`` (a JSON array)."""
    args = typing.get_args(tp)
    return typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def is_mapping(tp: Any) -> bool:
    """``tp`` is a mapping type (a JSON object without a record)."""
    return typing.get_origin(tp) in (Mapping, dict, typing.Mapping)


def is_plain(tp: Any) -> bool:
    """A type whose values are already JSON: dumping leaves them as they are."""
    if tp in (str, int, float, bool, type(None), Any) or is_unset(tp):
        return True
    if is_union(tp):
        return all(is_plain(m) for m in typing.get_args(tp))
    return is_mapping(tp)


#: The JSON types (as parsed) each scalar type accepts: a float field keeps
#: an integer as sent.
_SCALAR_KINDS: Final[dict[Any, frozenset[type]]] = {
    str: frozenset({str}),
    int: frozenset({int}),
    float: frozenset({float, int}),
    bool: frozenset({bool}),
    type(None): frozenset({type(None)}),
}


def scalar_kinds(tp: Any) -> frozenset[type]:
    """The JSON types a field of type ``tp`` accepts as is (empty: not a scalar field)."""
    if is_union(tp):
        members = [m for m in typing.get_args(tp) if not is_unset(m)]
        kinds = [_SCALAR_KINDS.get(m) for m in members]
        if all(kinds):
            return frozenset().union(*kinds)  # type: ignore[arg-type]
        return frozenset()
    return _SCALAR_KINDS.get(tp, frozenset())


def _describe(tp: Any) -> str:
    if is_record(tp):
        return f"object ({tp.__name__})"
    if is_var_tuple(tp):
        return "array"
    if is_mapping(tp):
        return "object"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(
        tp, "null" if tp is type(None) else repr(tp)
    )


# --- hook factories -----------------------------------------------------------


@attrs.frozen
class HookFactories:
    """The hook factories of one converter, in one strictness.

    Attributes:
        converter: The converter the hooks are registered on (they look the
            hooks of the types they hold up in it).
        strict: Refuse what lenient mode tolerates (here: unknown object
            types in a union that allows `UnknownObject`).
    """

    converter: cattrs.Converter
    strict: bool

    def tuple_structure(self, tp: Any) -> Hook:
        """The structure hook of ``tuple[X, ...]``: a JSON array of X."""
        item_hook = self.converter.get_structure_hook(typing.get_args(tp)[0])

        def structure_tuple(value: Any, _: Any) -> tuple[Any, ...]:
            if type(value) is not list:
                raise Invalid(f"expected array, got {kind_of(value)}")
            out = []
            for index, item in enumerate(value):
                try:
                    out.append(item_hook(item, None))
                except Invalid as exc:
                    exc.path.insert(0, index)
                    raise
            return tuple(out)

        return structure_tuple

    def mapping_structure(self, tp: Any) -> Hook:
        """The structure hook of a mapping: a JSON object, its values checked."""
        args = typing.get_args(tp)
        value_type = args[1] if len(args) == 2 else Any
        value_hook = (
            None if value_type is Any else self.converter.get_structure_hook(value_type)
        )

        def structure_mapping(value: Any, _: Any) -> Mapping[str, Any]:
            if type(value) is not dict:
                raise Invalid(f"expected object, got {kind_of(value)}")
            if value_hook is not None:
                for key, item in value.items():
                    try:
                        value_hook(item, None)
                    except Invalid as exc:
                        exc.path.insert(0, key)
                        raise
            return value

        return structure_mapping

    def union_structure(self, tp: Any) -> Hook:
        """The structure hook of a union: by JSON kind, then by ``"type"`` tag."""
        members = [m for m in typing.get_args(tp) if not is_unset(m)]
        if len(members) == 1:
            return self.converter.get_structure_hook(members[0])
        get_hook = self.converter.get_structure_hook
        by_kind: dict[type, Hook] = {}
        by_tag: dict[str, Hook] = {}
        untagged_object: Hook | None = None
        unknown_ok = False
        for member in members:
            if member is UnknownObject:
                unknown_ok = True
            elif is_record(member) and member.TYPE:
                by_tag[member.TYPE] = get_hook(member)
            elif is_record(member) or is_mapping(member):
                if untagged_object is not None:
                    raise TypeError(
                        f"ambiguous union {tp!r}: two untagged object members"
                    )
                untagged_object = get_hook(member)
            elif is_var_tuple(member):
                by_kind[list] = get_hook(member)
            elif member in (str, int, bool, type(None)):
                by_kind[member] = get_hook(member)
            elif member is float:
                by_kind[float] = by_kind.setdefault(int, structure_float)
            else:
                raise TypeError(f"unsupported union member {member!r} in {tp!r}")
        expected = " or ".join(
            [_describe(m) for m in members if m is not UnknownObject]
        )
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
                    raise Invalid(
                        f"unknown object type {tag!r} (expected one of {tags})"
                    )
                if untagged_object is not None:
                    return untagged_object(value, None)
            else:
                hook = by_kind.get(kind)
                if hook is not None:
                    return hook(value, None)
            raise Invalid(f"expected {expected}, got {kind_of(value)}")

        return structure_union

    def record_unstructure(self, cls: type[Record]) -> Callable[[Any], dict[str, Any]]:
        """The unstructure hook of a record: its JSON object, `UNSET` fields left out."""
        attrs.resolve_types(cls)
        unstructure = self.converter.unstructure
        plain: list[str] = []
        nested: list[str] = []
        for field in attrs.fields(cls):
            if field.name == "extra_fields":
                continue
            (plain if is_plain(field.type) else nested).append(field.name)
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
