"""function_tool and the JSON schema builder, without an event loop."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, NotRequired, Optional, TypedDict

import attrs
import pytest
import trio

from realtime_trio import ToolFunction, events, function_tool
from realtime_trio._agent.schema import parse_docstring, type_schema
from realtime_trio._agent.tools import ToolArgumentsError, error_output, tool_output


class Unit(enum.Enum):
    CELSIUS = "c"
    FAHRENHEIT = "f"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@attrs.frozen
class Place:
    city: str
    country: str | None = None


@dataclasses.dataclass
class Window:
    days: int
    hourly: bool = False


class Options(TypedDict):
    detailed: bool
    language: NotRequired[str]


@attrs.frozen
class Node:
    name: str
    children: list[Node] = attrs.field(factory=list)


@pytest.mark.parametrize(
    ("hint", "schema"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (Any, {}),
        (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
        (Literal[1, "x"], {"enum": [1, "x"]}),
        (Unit, {"type": "string", "enum": ["c", "f"]}),
        (Level, {"type": "integer", "enum": [1, 2]}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (tuple[str, ...], {"type": "array", "items": {"type": "string"}}),
        (Sequence[bool], {"type": "array", "items": {"type": "boolean"}}),
        (set[str], {"type": "array", "items": {"type": "string"}}),
        (list, {"type": "array"}),
        (
            tuple[str, int],
            {
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "integer"}],
                "minItems": 2,
                "maxItems": 2,
            },
        ),
        (
            dict[str, float],
            {"type": "object", "additionalProperties": {"type": "number"}},
        ),
        (Mapping[str, Any], {"type": "object", "additionalProperties": {}}),
        (dict, {"type": "object"}),
        (int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        (Optional[str], {"anyOf": [{"type": "string"}, {"type": "null"}]}),  # noqa: UP045
        (int | str, {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
        (Annotated[int, "How many"], {"type": "integer", "description": "How many"}),
        (
            Place,
            {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "country": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                },
                "required": ["city"],
                "additionalProperties": False,
            },
        ),
        (
            Window,
            {
                "type": "object",
                "properties": {
                    "days": {"type": "integer"},
                    "hourly": {"type": "boolean"},
                },
                "required": ["days"],
                "additionalProperties": False,
            },
        ),
        (
            Options,
            {
                "type": "object",
                "properties": {
                    "detailed": {"type": "boolean"},
                    "language": {"type": "string"},
                },
                "required": ["detailed"],
                "additionalProperties": False,
            },
        ),
    ],
)
def test_type_schema(hint: Any, schema: dict[str, Any]) -> None:
    assert type_schema(hint) == schema


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        (bytes, "has no JSON schema form"),
        (dict[int, str], "keys are strings"),
        (Node, "contains itself"),
        (object(), "has no JSON schema form"),
    ],
)
def test_hints_without_a_json_form_are_refused(hint: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        type_schema(hint, "f(x)")


def test_docstring_sections() -> None:
    summary, args = parse_docstring(
        """Look up the weather.

        More about it.

        Args:
            city: The city,
                on two lines.
            unit (str): The unit.
            **extra: Ignored.

        Returns:
            city: not an argument.
        """
    )
    assert summary == "Look up the weather.\n\nMore about it."
    assert args == {
        "city": "The city, on two lines.",
        "unit": "The unit.",
        "extra": "Ignored.",
    }
    assert parse_docstring("") == ("", {})


@function_tool
async def get_weather(
    place: Place,
    unit: Unit = Unit.CELSIUS,
    days: Annotated[int, "Days ahead"] = 1,
    options: Options | None = None,
    mode: Literal["brief", "full"] = "brief",
) -> dict[str, Any]:
    """The weather at a place.

    Args:
        place: Where.
        unit: The unit of temperatures.
        days: Not this one (Annotated wins).
    """
    return {
        "place": place,
        "unit": unit,
        "days": days,
        "options": options,
        "mode": mode,
    }


def test_function_tool_definition() -> None:
    assert isinstance(get_weather, ToolFunction)
    assert get_weather.name == "get_weather"
    assert get_weather.description == "The weather at a place."
    assert get_weather.time_limit is None
    params = get_weather.parameters
    assert params["required"] == ["place"]
    assert params["additionalProperties"] is False
    assert params["properties"]["place"]["description"] == "Where."
    assert params["properties"]["unit"] == {
        "type": "string",
        "enum": ["c", "f"],
        "description": "The unit of temperatures.",
    }
    assert params["properties"]["days"]["description"] == "Days ahead"
    assert get_weather.definition == events.FunctionTool(
        name="get_weather", description="The weather at a place.", parameters=params
    )


def test_arguments_are_converted_to_the_parameters_types() -> None:
    kwargs = get_weather.arguments(
        '{"place": {"city": "Paris"}, "unit": "f", "options": {"detailed": true}, "surprise": 1}'
    )
    assert kwargs == {
        "place": Place(city="Paris"),
        "unit": Unit.FAHRENHEIT,
        "options": {"detailed": True},
    }  # an unknown name is dropped
    result = trio.run(lambda: get_weather(**kwargs))
    assert json.loads(tool_output(result)) == {
        "place": {"city": "Paris", "country": None},
        "unit": "f",
        "days": 1,
        "options": {"detailed": True},
        "mode": "brief",
    }
    assert get_weather.arguments("") == {}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"unit": "kelvin"}', "invalid argument 'unit'"),
        ('{"mode": "verbose"}', "invalid argument 'mode'"),
        ('{"place": {"town": "Paris"}}', "invalid argument 'place'"),
    ],
)
def test_arguments_that_do_not_fit(arguments: str, message: str) -> None:
    with pytest.raises(ToolArgumentsError, match=message):
        get_weather.arguments(arguments)


def test_explicit_schema_name_description_and_time_limit() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}

    @function_tool(
        name="search", description="Search the docs.", parameters=schema, time_limit=2.5
    )
    async def look_up(q, limit=3):  # type: ignore[no-untyped-def]  # no hints: raw JSON values
        """Ignored for the description."""
        return [q, limit]

    assert (look_up.name, look_up.description, look_up.time_limit) == (
        "search",
        "Search the docs.",
        2.5,
    )
    assert look_up.parameters == schema
    assert look_up.arguments('{"q": 5, "limit": [1]}') == {"q": 5, "limit": [1]}


def test_union_arguments_keep_their_type() -> None:
    @function_tool
    async def pick(value: int | str, maybe: float | None = None) -> str:
        """Pick."""
        return str(value)

    assert pick.arguments('{"value": "7", "maybe": null}') == {
        "value": "7",
        "maybe": None,
    }
    assert pick.arguments('{"value": 7, "maybe": 1}') == {"value": 7, "maybe": 1.0}
    with pytest.raises(ToolArgumentsError):
        pick.arguments('{"value": [1]}')


def test_what_function_tool_refuses() -> None:
    def not_async(x: int) -> int:
        return x

    with pytest.raises(TypeError, match="not an async function"):
        function_tool(not_async)  # type: ignore[arg-type]

    async def star(*args: int) -> None: ...

    with pytest.raises(TypeError, match="passable by name"):
        function_tool(star)

    async def unannotated(x) -> None: ...  # type: ignore[no-untyped-def]

    with pytest.raises(TypeError, match="annotate"):
        function_tool(unannotated)

    async def raw(data: bytes) -> None: ...

    with pytest.raises(TypeError, match=r"raw\(data\): .* has no JSON schema form"):
        function_tool(raw)
    with pytest.raises(ValueError, match="time_limit"):
        function_tool(time_limit=0)(get_weather.function)


def test_outputs() -> None:
    assert tool_output("plain text") == "plain text"
    assert tool_output(None) == "null"
    assert (
        tool_output([Unit.CELSIUS, Window(days=2)])
        == '["c", {"days": 2, "hourly": false}]'
    )
    assert json.loads(error_output(ValueError("no such city"))) == {
        "error": "ValueError: no such city"
    }
    assert json.loads(error_output(KeyError())) == {"error": "KeyError"}
    assert json.loads(error_output("too slow")) == {"error": "too slow"}
