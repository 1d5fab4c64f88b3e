"""Null where the official SDK allows it: a sweep derived from its pydantic types.

For every field that the openai SDK's realtime and webhook models declare
nullable (its annotation admits ``None``), this builds a valid payload with
``null`` there and checks that our parser accepts it in strict mode and dumps
it back unchanged: ``null`` is kept, distinct from an absent key.

The paths are found mechanically by walking the models reachable from the
``RealtimeServerEvent`` and ``RealtimeClientEvent`` unions (and from the
webhook event models we have records for): their ``model_fields``, through
nested models, lists, dicts and unions (discriminated or not). Nothing is
listed by hand except `ALLOWED`, the few paths where null cannot work, each
with its reason. An annotation the walker does not understand is an error, so
a new kind of SDK type fails this module instead of shrinking it.

The session objects the server reports (the SDK's ``*CreateResponse``
models, not reachable from the unions) add one nullable field,
``expires_at``, checked separately at the end.
"""

from __future__ import annotations

import functools
import itertools
import json
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, NamedTuple, Union

import pydantic
import pytest

# The reference: pinned in the test extra (setup.cfg), and not skipped when
# missing. A sweep that quietly ran against nothing would prove nothing.
from openai.types.realtime.realtime_client_event import RealtimeClientEvent
from openai.types.realtime.realtime_server_event import RealtimeServerEvent
from openai.types.realtime.realtime_session_create_response import (
    RealtimeSessionCreateResponse,
)
from openai.types.realtime.realtime_transcription_session_create_response import (
    RealtimeTranscriptionSessionCreateResponse,
)
from openai.types.webhooks.unwrap_webhook_event import UnwrapWebhookEvent

from realtime_trio import RemoteProtocolError, SessionConfig, dump_event, parse_event
from realtime_trio._core.serde import EVENT_CLASSES, get_codec
from realtime_trio._core.session_models import TranscriptionSessionConfig
from realtime_trio._webhooks.events import _BY_TYPE as WEBHOOK_RECORDS
from realtime_trio.webhooks import (
    UnknownWebhookEvent,
    dump_webhook_event,
    parse_webhook_event,
)

#: The golden payloads of the protocol reference (one per event type).
GOLDEN = Path(__file__).resolve().parents[1] / "data" / "examples"

#: Nullable SDK fields our records cannot take null in, by the SDK model's
#: name and the field: the ``type`` of an object whose ``type`` picks the
#: record. A null tag names no record, so lenient mode keeps the object as an
#: `UnknownObject` (lossless) and strict mode rejects it.
_TAG_REASON = "the type tag selects the record; a null tag names none"
ALLOWED: dict[tuple[str, str], str] = {
    ("AudioPCM", "type"): _TAG_REASON,
    ("AudioPCMU", "type"): _TAG_REASON,
    ("AudioPCMA", "type"): _TAG_REASON,
    ("RealtimeFunctionTool", "type"): _TAG_REASON,
    ("Content", "type"): _TAG_REASON,  # the content parts of message items
    ("Part", "type"): _TAG_REASON,  # the part of response.content_part.*
}


# --- walking the SDK's types -------------------------------------------------


def _members(tp: Any) -> list[Any]:
    """The members of a (possibly annotated, possibly nested) union."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return [m for arg in typing.get_args(tp) for m in _members(arg)]
    return [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def _is_list(tp: Any) -> bool:
    return typing.get_origin(tp) in (list, typing.List)  # noqa: UP006


def _is_dict(tp: Any) -> bool:
    return typing.get_origin(tp) in (dict, typing.Dict)  # noqa: UP006


_LEAVES = (str, int, float, bool, object, type(None))


def _is_leaf(tp: Any) -> bool:
    return tp in _LEAVES or typing.get_origin(tp) is Literal or tp is Any


class Step(NamedTuple):
    """One step of a path: into a field, a list item, a dict value or a variant."""

    kind: str  # "field", "item", "value" or "variant"
    name: str = ""
    model: type[pydantic.BaseModel] | None = None


def _wire_name(model: type[pydantic.BaseModel], name: str) -> str:
    alias = model.model_fields[name].alias
    return alias or name


def _nullable_paths(
    tp: Any, prefix: tuple[Step, ...], stack: tuple[type, ...]
) -> Iterator[tuple[Step, ...]]:
    """Yield the path of every nullable field reachable from a value of type ``tp``."""
    members = [m for m in _members(tp) if m is not type(None)]
    for member in members:
        if _is_model(member):
            if member in stack:
                continue  # a recursive type: its fields were visited already
            here = prefix + (
                (Step("variant", model=member),) if len(members) > 1 else ()
            )
            for name, field in member.model_fields.items():
                path = (*here, Step("field", _wire_name(member, name), member))
                if type(None) in _members(field.annotation):
                    yield path
                yield from _nullable_paths(field.annotation, path, (*stack, member))
        elif _is_list(member):
            (item,) = typing.get_args(member)
            yield from _nullable_paths(item, (*prefix, Step("item")), stack)
        elif _is_dict(member):
            _, value = typing.get_args(member)
            yield from _nullable_paths(value, (*prefix, Step("value")), stack)
        elif not _is_leaf(member):
            raise TypeError(f"the sweep cannot walk {member!r} (at {_show(prefix)})")


# --- building payloads -------------------------------------------------------

_MISSING: Any = object()


def _literal_type_choices(model: type[pydantic.BaseModel]) -> tuple[Any, ...]:
    """The values a model's ``type`` field may take (empty if it has none)."""
    field = model.model_fields.get("type")
    if field is None:
        return ()
    values: list[Any] = []
    for member in _members(field.annotation):
        if typing.get_origin(member) is Literal:
            values.extend(typing.get_args(member))
    return tuple(values)


def _minimal(tp: Any, tags: dict[type, Any]) -> Any:
    """A small valid JSON value of SDK type ``tp``."""
    members = [m for m in _members(tp) if m is not type(None)]
    tp = members[0]
    if _is_model(tp):
        return _minimal_object(tp, tags)
    if typing.get_origin(tp) is Literal:
        return typing.get_args(tp)[0]
    if _is_list(tp):
        return []
    if _is_dict(tp) or tp is object or tp is Any:
        return {}
    values = {str: "x", int: 1, float: 0.5, bool: True}
    if tp in values:
        return values[tp]
    raise TypeError(f"the sweep cannot build a {tp!r}")


def _minimal_object(model: type[pydantic.BaseModel], tags: dict[type, Any]) -> Any:
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = _wire_name(model, name)
        if key == "type" and _literal_type_choices(model):
            # Always sent: the tag is what picks the variant.
            out[key] = tags.get(model, _literal_type_choices(model)[0])
        elif field.is_required():
            out[key] = _minimal(field.annotation, tags)
    return out


def _fits(value: Any, model: type[pydantic.BaseModel], tags: dict[type, Any]) -> bool:
    """Whether a JSON value (from a golden payload) is the variant ``model`` wants."""
    if not isinstance(value, dict):
        return False
    fresh = _minimal_object(model, tags)
    return all(value.get(k) == fresh[k] for k in ("type", "role") if k in fresh)


def _with_null(
    value: Any, tp: Any, path: tuple[Step, ...], tags: dict[type, Any]
) -> Any:
    """Return ``value`` (a JSON value of type ``tp``) with null at ``path``."""
    if not path:
        return None
    step, rest = path[0], path[1:]
    members = [m for m in _members(tp) if m is not type(None)]
    if step.kind == "variant":
        assert step.model is not None
        if not _fits(value, step.model, tags):
            value = _minimal_object(step.model, tags)
        return _with_null(value, step.model, rest, tags)
    if step.kind == "field":
        assert step.model is not None and step.model in members
        if _fits(value, step.model, tags):
            obj = dict(value)
        else:
            obj = _minimal_object(step.model, tags)
        field = next(
            f
            for n, f in step.model.model_fields.items()
            if _wire_name(step.model, n) == step.name
        )
        obj[step.name] = _with_null(
            obj.get(step.name, _MISSING), field.annotation, rest, tags
        )
        return obj
    if step.kind == "item":
        (list_type,) = [m for m in members if _is_list(m)]
        (item_type,) = typing.get_args(list_type)
        items = list(value) if isinstance(value, list) else []
        first = items[0] if items else _MISSING
        items[:1] = [_with_null(first, item_type, rest, tags)]
        return items
    if step.kind == "value":
        (dict_type,) = [m for m in members if _is_dict(m)]
        _, value_type = typing.get_args(dict_type)
        return {"key": _with_null(_MISSING, value_type, rest, tags)}
    raise AssertionError(step)


def _show(path: tuple[Step, ...]) -> str:
    out = ""
    for step in path:
        if step.kind == "field":
            out += f".{step.name}" if out else step.name
        elif step.kind == "item":
            out += "[0]"
        elif step.kind == "value":
            out += "{key}"
        else:
            assert step.model is not None
            out += f"<{step.model.__name__}>"
    return out


class Case(NamedTuple):
    kind: str  # "event" or "webhook"
    tag: str  # the event's type
    model: type[pydantic.BaseModel]
    path: tuple[Step, ...]


def _event_models(union: Any) -> list[type[pydantic.BaseModel]]:
    models = _members(union)
    assert models and all(_is_model(m) for m in models), union
    return models


def _tag(model: type[pydantic.BaseModel]) -> str:
    (tag,) = _literal_type_choices(model)
    return str(tag)


def _cases() -> list[Case]:
    cases = []
    for kind, models in (
        ("event", _event_models(RealtimeServerEvent)),
        ("event", _event_models(RealtimeClientEvent)),
        (
            "webhook",
            [
                m
                for m in _event_models(UnwrapWebhookEvent)
                if _tag(m) in WEBHOOK_RECORDS
            ],
        ),
    ):
        for model in models:
            for path in _nullable_paths(model, (), ()):
                cases.append(Case(kind, _tag(model), model, path))
    return cases


CASES = _cases()


@functools.cache
def _golden(kind: str, tag: str, model: type[pydantic.BaseModel]) -> Any:
    """The golden payload of a type, if the SDK and we both take it as it is.

    Never mutated: `_with_null` copies what it changes.
    """
    path = GOLDEN / f"{tag}.json"
    if not path.is_file():
        return None
    payload = json.loads(path.read_text())
    try:
        model.model_validate(payload, strict=True)
        if kind == "event":
            parse_event(payload, strict=True)
    except (pydantic.ValidationError, RemoteProtocolError):
        # For example response.create's, whose input holds an item_reference
        # (not in the SDK's types), or conversation.item.retrieved's, whose
        # content part has a beta-era "format" (protocol.md section 10).
        return None
    return payload


def _start(case: Case, tags: dict[type, Any]) -> Any:
    golden = _golden(case.kind, case.tag, case.model)
    return _minimal_object(case.model, tags) if golden is None else golden


def _tag_choices(case: Case) -> Iterator[dict[type, Any]]:
    """Every way to tag the models on the path whose ``type`` has several values.

    The SDK has one model for, say, every content part of a user message
    (``type`` ``input_text``, ``input_audio`` or ``input_image``); our records
    have one per tag, so a field such as ``transcript`` exists only on some.
    """
    models = [s.model for s in case.path if s.model is not None]
    several = sorted({m for m in models if len(_literal_type_choices(m)) > 1}, key=repr)
    for values in itertools.product(*(_literal_type_choices(m) for m in several)):
        yield dict(zip(several, values, strict=True))


def _payload(case: Case, tags: dict[type, Any]) -> Any:
    """A payload with null at the case's path, checked against the SDK's types."""
    payload = _with_null(_start(case, tags), case.model, case.path, tags)
    case.model.model_validate(payload, strict=True)
    json.dumps(payload)
    return payload


def _round_trip(case: Case, payload: Any) -> None:
    """Parse strictly and dump: raises `RemoteProtocolError` if strict mode refuses."""
    if case.kind == "event":
        event = parse_event(payload, strict=True)
        assert dump_event(event) == payload
        assert parse_event(payload) == event
    else:
        get_codec(strict=True).structure(payload, WEBHOOK_RECORDS[case.tag])
        parsed = parse_webhook_event(payload)
        assert not isinstance(parsed, UnknownWebhookEvent)
        assert dump_webhook_event(parsed) == payload


def _case_id(case: Case) -> str:
    return f"{case.tag}:{_show(case.path)}"


def _allowed(case: Case) -> str | None:
    last = case.path[-1]
    assert last.model is not None
    return ALLOWED.get((last.model.__name__, last.name))


def test_the_sweep_found_the_fields() -> None:
    # Guards against a walker that silently finds nothing.
    assert len(CASES) > 500
    sdk_events = _event_models(RealtimeServerEvent) + _event_models(RealtimeClientEvent)
    assert {_tag(m) for m in sdk_events} == set(EVENT_CLASSES)
    sdk_webhooks = {_tag(m) for m in _event_models(UnwrapWebhookEvent)}
    assert set(WEBHOOK_RECORDS) <= sdk_webhooks
    types_seen = {c.tag for c in CASES}
    assert {"response.done", "response.create", "session.update"} <= types_seen
    assert set(WEBHOOK_RECORDS) <= types_seen
    shown = {_case_id(c) for c in CASES}
    assert "response.done:response.audio" in shown
    assert "response.create:response.instructions" in shown


def test_every_allowed_path_is_still_there() -> None:
    found = {
        (c.path[-1].model.__name__, c.path[-1].name)  # type: ignore[union-attr]
        for c in CASES
    }
    assert set(ALLOWED) <= found


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_null_round_trips_losslessly_in_strict_mode(case: Case) -> None:
    reason = _allowed(case)
    errors = []
    for tags in _tag_choices(case):
        payload = _payload(case, tags)
        try:
            _round_trip(case, payload)
        except RemoteProtocolError as exc:
            # Only a wrong variant for the field (or an allowed path) gets here.
            errors.append(f"{tags}: {exc}")
            if reason is not None:
                # Lenient mode still keeps the payload as it was.
                assert dump_event(parse_event(payload)) == payload
        else:
            if reason is not None:
                pytest.fail(f"allowed ({reason}) but accepted now: remove it")
            return
    if reason is None:
        pytest.fail("\n".join(errors))


@pytest.mark.parametrize(
    ("model", "record"),
    [
        (RealtimeSessionCreateResponse, SessionConfig),
        (RealtimeTranscriptionSessionCreateResponse, TranscriptionSessionConfig),
    ],
    ids=["realtime", "transcription"],
)
def test_server_reported_session_fields_take_null(
    model: type[pydantic.BaseModel], record: type[Any]
) -> None:
    # The SDK types session.created's session as the request model, but the
    # wire carries the response model (protocol.md section 4.3): its own
    # nullable field, expires_at, is not reachable from the unions above.
    payload = {**_minimal_object(model, {}), "expires_at": None}
    model.model_validate(payload, strict=True)
    session = get_codec(strict=True).structure(payload, record)
    assert session.expires_at is None
    assert get_codec().dump(session) == payload
