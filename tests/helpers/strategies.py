"""Hypothesis strategies that generate any record from its attrs type annotations."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

import attrs
from hypothesis import strategies as st

from realtime_trio import UNSET
from realtime_trio._core.record import Record, UnknownObject
from realtime_trio._core.serde import EVENT_CLASSES
from realtime_trio._core.serde_hooks import (
    is_mapping,
    is_record,
    is_union,
    is_unset,
    is_var_tuple,
)

json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
finite_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
_KNOWN_TAGS = {"type"}


def _unknown_objects() -> st.SearchStrategy[UnknownObject]:
    tags = st.text(min_size=1, max_size=6).map(lambda s: "x-unknown." + s)

    def build(tag: str, body: dict[str, Any]) -> UnknownObject:
        raw = {**body, "type": tag}
        return UnknownObject(type=tag, raw=raw)

    return st.builds(
        build,
        tags,
        st.dictionaries(
            st.text(max_size=4).filter(lambda k: k != "type"), json_values, max_size=3
        ),
    )


def for_type(tp: Any) -> st.SearchStrategy[Any]:
    if tp is str:
        return st.text(max_size=12)
    if tp is int:
        return st.integers(-(2**53), 2**53)
    if tp is float:
        return finite_floats | st.integers(-1000, 1000)
    if tp is bool:
        return st.booleans()
    if tp is type(None):
        return st.none()
    if tp is Any:
        return json_values
    if tp is UnknownObject:
        return _unknown_objects()
    if is_record(tp):
        return records(tp)
    if is_var_tuple(tp):
        return st.lists(for_type(typing.get_args(tp)[0]), max_size=3).map(tuple)
    if is_mapping(tp):
        args = typing.get_args(tp)
        value = json_values if not args or args[1] is Any else for_type(args[1])
        return st.dictionaries(st.text(max_size=6), value, max_size=3)
    if is_union(tp):
        members = [m for m in typing.get_args(tp) if not is_unset(m)]
        return st.one_of([for_type(m) for m in members])
    raise TypeError(f"no strategy for {tp!r}")


@st.composite
def _record(draw: st.DrawFn, cls: type[Record]) -> Record:
    attrs.resolve_types(cls)
    kwargs: dict[str, Any] = {}
    names = {f.name for f in attrs.fields(cls)}
    for field in attrs.fields(cls):
        if field.name == "extra_fields":
            continue
        optional = field.default is not attrs.NOTHING
        if optional and draw(st.booleans()):
            kwargs[field.name] = UNSET
            continue
        kwargs[field.name] = draw(for_type(field.type))
    extra_keys = st.text(min_size=1, max_size=6).filter(
        lambda k: k not in names and k not in _KNOWN_TAGS
    )
    extra = draw(st.dictionaries(extra_keys, json_values, max_size=2))
    if extra:
        kwargs["extra_fields"] = extra
    return cls(**kwargs)


def records(cls: type[Record]) -> st.SearchStrategy[Record]:
    return _record(cls)


def any_event() -> st.SearchStrategy[Record]:
    return st.sampled_from(
        sorted(EVENT_CLASSES.values(), key=lambda c: c.TYPE)
    ).flatmap(records)


__all__ = ["any_event", "for_type", "json_values", "records"]
_ = Mapping
