"""JSON schemas from Python type hints, for function tools (no trio here).

`function_schema` describes a function's parameters as the JSON Schema
object a function tool's ``parameters`` holds. What each hint becomes:

=====================================  ===============================================
hint                                   schema
=====================================  ===============================================
``str``, ``int``, ``float``, ``bool``  ``{"type": "string" | "integer" | "number" | "boolean"}``
``Literal["a", "b"]``                  ``{"type": "string", "enum": ["a", "b"]}``
an `enum.Enum`                         ``{"type": ..., "enum": [the members' values]}``
``list[X]``, ``tuple[X, ...]``,        ``{"type": "array", "items": X}``
``Sequence[X]``, ``set[X]``
``tuple[X, Y]``                        ``{"type": "array", "prefixItems": [X, Y], ...}``
``dict[str, X]``, ``Mapping[str, X]``  ``{"type": "object", "additionalProperties": X}``
``X | None``, ``Optional[X]``          ``{"anyOf": [X, {"type": "null"}]}``
``X | Y``                              ``{"anyOf": [X, Y]}``
an attrs class, a dataclass,           ``{"type": "object", "properties": ..., "required": ...,
a ``TypedDict``                        "additionalProperties": false}``
``Annotated[X, "text"]``               X, with ``"description": "text"``
``Any``                                ``{}`` (anything)
=====================================  ===============================================

A parameter without a default is required; a parameter's description comes
from ``Annotated`` or from the ``Args:`` section of the function's docstring
(Google style), and the tool's description from the docstring's text before
its sections. Anything else (``*args``, a hint with no JSON form, a class
that contains itself) raises `TypeError` when the tool is defined, naming
the parameter.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import enum
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union, get_args, get_origin

import attrs

__all__ = [
    "function_schema",
    "optional_key",
    "parse_docstring",
    "strip_key",
    "type_schema",
]

_SCALARS: dict[Any, str] = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
}
_ARRAYS = (
    list,
    set,
    frozenset,
    cabc.Sequence,
    cabc.MutableSequence,
    cabc.Set,
    cabc.MutableSet,
    cabc.Iterable,
    cabc.Collection,
)
_MAPPINGS = (dict, cabc.Mapping, cabc.MutableMapping)
_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Returns|Yields|Raises|Examples?|Notes?|Attributes):\s*$"
)


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    return "string"


def _enum(values: list[Any]) -> dict[str, Any]:
    kinds = sorted({_json_type(v) for v in values})
    schema: dict[str, Any] = {"enum": values}
    if len(kinds) == 1:
        schema = {"type": kinds[0], "enum": values}
    return schema


def type_schema(
    hint: Any, where: str = "value", *, _seen: tuple[type, ...] = ()
) -> dict[str, Any]:
    """The JSON schema of one type hint (see the module docstring).

    Raises:
        TypeError: the hint has no JSON form (``where`` names it in the message).
    """
    origin = get_origin(hint)
    args = get_args(hint)
    if hint is Any or hint is object:
        return {}
    if origin is typing.Annotated:
        schema = type_schema(args[0], where, _seen=_seen)
        texts = [a for a in args[1:] if isinstance(a, str)]
        if texts:
            schema = {**schema, "description": " ".join(texts)}
        return schema
    if origin in (typing.Required, typing.NotRequired):
        return type_schema(args[0], where, _seen=_seen)
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    if hint is None or hint is type(None):
        return {"type": "null"}
    if origin is Literal:
        return _enum(list(args))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum([member.value for member in hint])
    if origin is Union or origin is types.UnionType:
        members = [a for a in args if a is not type(None)]
        schemas = [type_schema(a, where, _seen=_seen) for a in members]
        if len(members) < len(args):
            schemas.append({"type": "null"})
        return {"anyOf": schemas}
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": type_schema(args[0], where, _seen=_seen)}
        items = [type_schema(a, where, _seen=_seen) for a in args]
        n = len(items)
        return {"type": "array", "prefixItems": items, "minItems": n, "maxItems": n}
    if hint in _ARRAYS or hint is tuple:
        return {"type": "array"}
    if origin in _ARRAYS:
        return {"type": "array", "items": type_schema(args[0], where, _seen=_seen)}
    if hint in _MAPPINGS:
        return {"type": "object"}
    if origin in _MAPPINGS:
        if args[0] is not str:
            raise TypeError(
                f"{where}: a JSON object's keys are strings, not {args[0]!r}"
            )
        return {
            "type": "object",
            "additionalProperties": type_schema(args[1], where, _seen=_seen),
        }
    if isinstance(hint, type) and (
        attrs.has(hint) or dataclasses.is_dataclass(hint) or typing.is_typeddict(hint)
    ):
        if hint in _seen:
            raise TypeError(f"{where}: {hint.__qualname__} contains itself")
        return _class_schema(hint, where, (*_seen, hint))
    raise TypeError(f"{where}: {hint!r} has no JSON schema form")


def _class_schema(cls: type, where: str, seen: tuple[type, ...]) -> dict[str, Any]:
    """An attrs class, a dataclass or a TypedDict as a JSON object."""
    hints = typing.get_type_hints(cls, include_extras=True)
    if typing.is_typeddict(cls):
        names = list(hints)
        required = [n for n in names if not optional_key(cls, n, hints[n])]
    elif attrs.has(cls):
        fields = attrs.fields(cls)
        names = [f.alias or f.name for f in fields if f.init]
        required = [
            f.alias or f.name for f in fields if f.init and f.default is attrs.NOTHING
        ]
        hints = {(f.alias or f.name): hints[f.name] for f in fields if f.init}
    else:
        fields_ = [f for f in dataclasses.fields(cls) if f.init]
        names = [f.name for f in fields_]
        required = [
            f.name
            for f in fields_
            if f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
    properties = {
        name: type_schema(hints[name], f"{where}.{name}", _seen=seen) for name in names
    }
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def strip_key(hint: Any) -> Any:
    """A TypedDict value's hint without ``Required``/``NotRequired``."""
    if get_origin(hint) in (typing.Required, typing.NotRequired):
        return get_args(hint)[0]
    return hint


def optional_key(cls: type, name: str, hint: Any) -> bool:
    """Whether the key ``name`` of the TypedDict ``cls`` may be left out.

    Read from the hint itself, since ``__required_keys__`` misses
    ``NotRequired`` written under ``from __future__ import annotations``
    before Python 3.12.
    """
    origin = get_origin(hint)
    if origin is typing.NotRequired:
        return True
    if origin is typing.Required:
        return False
    return name in getattr(cls, "__optional_keys__", ())


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The description and the ``Args:`` descriptions of a Google-style docstring."""
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    entry_indent: int | None = None
    current: str | None = None
    for line in inspect.cleandoc(doc).splitlines() if doc else []:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        match = _SECTION.match(stripped) if indent == 0 else None
        if match:
            section, entry_indent, current = match.group(1), None, None
            continue
        if section is None:
            summary.append(line)
            continue
        if section not in ("Args", "Arguments", "Parameters") or not stripped:
            continue
        if entry_indent is None:
            entry_indent = indent
        entry = _ENTRY.match(stripped) if indent == entry_indent else None
        if entry:
            current = entry.group(1)
            args[current] = entry.group(2).strip()
        elif current is not None and indent > entry_indent:
            args[current] = f"{args[current]} {stripped}".strip()
    return "\n".join(summary).strip(), args


def function_schema(function: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    """The description and the parameters schema of ``function``.

    Raises:
        TypeError: a parameter cannot be described (``*args``, ``**kwargs``,
            positional-only, no annotation, or a hint with no JSON form).
    """
    signature = inspect.signature(function)
    hints = typing.get_type_hints(function, include_extras=True)
    description, arg_docs = parse_docstring(inspect.getdoc(function) or "")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, param in signature.parameters.items():
        where = f"{getattr(function, '__qualname__', function)}({name})"
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            raise TypeError(f"{where}: a tool's parameters must be passable by name")
        if name not in hints:
            raise TypeError(
                f"{where}: annotate the parameter (its type makes the schema)"
            )
        schema = type_schema(hints[name], where)
        if name in arg_docs and "description" not in schema:
            schema = {**schema, "description": arg_docs[name]}
        properties[name] = schema
        if param.default is param.empty:
            required.append(name)
    return description, {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
