"""The generated structure hooks of records: the converter's code generation.

For each record class (and strictness) `RecordHookFactory` compiles, once,
a function that turns a JSON object into the record, as attrs and cattrs
generate their own code. Against a generic loop over the keys it does one
dict lookup per field, checks scalar fields inline, passes every field to the
class by keyword without building a dict, and gathers unknown keys only when
there are some: ``session.updated`` and ``response.done`` parse ~20% faster,
a small record (``audio/pcm``) about twice as fast. A ``null`` in a field
that accepts it is taken inline too, without the union's hook (about a
third of the fields of a typical ``session``).

What the generated hook does is what the generic loop did:

* a known key is structured with its field's hook (its ``Invalid`` gets the
  field name put in front of its path);
* a missing field takes its default; a missing required field is `UNSET`
  (strict mode: an error);
* a tagged record checks ``"type"`` if present;
* unknown keys are kept in ``extra_fields`` (strict mode: an error).

No name from a record is ever spliced into the code except as a ``repr``
literal; error messages are constants in the hook's namespace.
"""

from __future__ import annotations

import types
from typing import Any, Final

import attrs
import cattrs

from .record import NO_EXTRA, Record
from .sentinel import UNSET
from .serde_hooks import Hook, Invalid, is_union, kind_of, scalar_kinds

_MISSING: Final = object()

#: Compiled hook sources by (record class, strict), shared by every codec:
#: compiling is the slow part of building a codec.
_HOOK_CODE: dict[tuple[type[Record], bool], types.CodeType] = {}


@attrs.frozen
class RecordHookFactory:
    """Makes the structure hooks of record classes for one converter.

    Attributes:
        converter: Where the hooks of the fields' types are looked up.
        strict: Raise on missing required fields and unknown keys.
    """

    converter: cattrs.Converter
    strict: bool

    def __call__(self, cls: type[Record]) -> Hook:
        """Compile (or reuse) the structure hook of ``cls``."""
        attrs.resolve_types(cls)
        fields = _fields(cls)
        if cls.TYPE and any(f.name == "type" for f in fields):
            raise TypeError(
                f"{cls.__name__}: a tagged record cannot have a 'type' field"
            )
        namespace: dict[str, Any] = {
            "_Invalid": Invalid,
            "_kind": kind_of,
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
            namespace[f"kinds{index}"] = scalar_kinds(field.type)
            namespace[f"default{index}"] = field.default
        exec(record_hook_code(cls, self.strict), namespace)
        hook: Hook = namespace["structure_record"]
        return hook


def _fields(cls: type[Record]) -> list[attrs.Attribute[Any]]:
    return [f for f in attrs.fields(cls) if f.name != "extra_fields"]


def _accepts_null(tp: Any) -> bool:
    return is_union(tp) and type(None) in tp.__args__


def record_hook_code(cls: type[Record], strict: bool) -> types.CodeType:
    """The compiled source of the structure hook of ``cls`` (cached)."""
    code = _HOOK_CODE.get((cls, strict))
    if code is None:
        source = record_hook_source(cls, _fields(cls), strict=strict)
        code = compile(source, f"<realtime_trio structure {cls.__name__}>", "exec")
        _HOOK_CODE[cls, strict] = code
    return code


def record_hook_source(
    cls: type[Record], fields: list[attrs.Attribute[Any]], *, strict: bool
) -> str:
    """Python source of the structure hook of one record class.

    It defines ``structure_record(value, _)``, to be run in the namespace
    `RecordHookFactory` builds. Errors keep the generic loop's contract: an
    ``Invalid`` whose path starts with the field name.
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
        if scalar_kinds(field.type):
            # A JSON scalar of an accepted type is the value; the hook only
            # words the error.
            lines += [
                f"        if type(v) in kinds{index}:",
                f"            a{index} = v",
            ]
            lines += ["        else:"] + [" " * 12 + line for line in convert]
        elif _accepts_null(field.type):
            lines += ["        if v is None:", f"            a{index} = None"]
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
