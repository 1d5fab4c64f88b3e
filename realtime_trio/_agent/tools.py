"""Function tools: `function_tool`, `ToolFunction`, arguments in and outputs out (no trio here).

``@function_tool`` turns an async function into a `ToolFunction`: the tool's
definition for the session (name, description, JSON schema of the
parameters; see ``schema.py``), and what running one call needs, without
the running itself (which is the trio layer's, ``tool_runner.py``):

* `ToolFunction.arguments` turns the model's JSON arguments into keyword
  arguments of the function's types (attrs classes, enums, lists, ...);
* `tool_output` turns the function's result into the text of the
  ``function_call_output`` item (a string as it is, anything else as JSON);
* `error_output` turns an exception into an output the model can read
  (``{"error": "..."}``), so that a tool that fails never crashes the
  conversation.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, Union, final, overload

import attrs
import cattrs
from cattrs.errors import ClassValidationError

from .._core.session_models import FunctionTool
from .schema import function_schema, optional_key, strip_key

__all__ = [
    "ToolArgumentsError",
    "ToolFunction",
    "error_output",
    "function_tool",
    "tool_output",
]

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class ToolArgumentsError(ValueError):
    """The model's arguments for a call do not fit the function (the model is told)."""


def _is_union(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is not Union and origin is not types.UnionType:
        return False
    return len([a for a in typing.get_args(hint) if a is not type(None)]) > 1


def _scalar(kind: type, accepts: tuple[type, ...]) -> Callable[[Any, Any], Any]:
    """A strict hook: the JSON value must already be of the kind (no coercion)."""

    def structure(value: Any, _: Any) -> Any:
        if isinstance(value, accepts) and not (
            isinstance(value, bool) and kind is not bool
        ):
            return kind(value)
        if kind is int and isinstance(value, float) and value.is_integer():
            return int(value)
        raise TypeError(f"expected {kind.__name__}, got {value!r}")

    return structure


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_structure_hook(str, _scalar(str, (str,)))
    converter.register_structure_hook(int, _scalar(int, (int,)))
    converter.register_structure_hook(float, _scalar(float, (int, float)))
    converter.register_structure_hook(bool, _scalar(bool, (bool,)))

    def union_hook(hint: Any) -> Callable[[Any, Any], Any]:
        members = typing.get_args(hint)

        def structure(value: Any, _: Any) -> Any:
            if value is None and type(None) in members:
                return None
            errors = []
            for member in members:
                if member is type(None):
                    continue
                try:
                    return converter.structure(value, member)
                except Exception as exc:
                    errors.append(exc)
            raise ValueError(f"{value!r} fits none of {hint}") from (
                errors[0] if errors else None
            )

        return structure

    def typeddict_hook(cls: Any) -> Callable[[Any, Any], Any]:
        # cattrs reads __required_keys__, which NotRequired misses under
        # `from __future__ import annotations` on Python 3.11: read the hints.
        hints = typing.get_type_hints(cls, include_extras=True)
        required = {
            name for name, hint in hints.items() if not optional_key(cls, name, hint)
        }

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"expected an object, got {value!r}")
            missing = sorted(required - value.keys())
            if missing:
                raise ValueError(f"missing {', '.join(missing)}")
            return {
                key: converter.structure(item, strip_key(hints[key]))
                for key, item in value.items()
                if key in hints
            }

        return structure

    converter.register_structure_hook_factory(_is_union, union_hook)
    converter.register_structure_hook_factory(typing.is_typeddict, typeddict_hook)
    return converter


#: The converter of tool arguments and results (this module's own; never cattrs' global one).
CONVERTER = _make_converter()


def tool_output(value: object) -> str:
    """The ``output`` text of a result: a string as it is, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(CONVERTER.unstructure(value), ensure_ascii=False, default=str)


def error_output(error: BaseException | str) -> str:
    """The ``output`` text that tells the model a call failed."""
    if isinstance(error, BaseException):
        text = str(error)
        error = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return json.dumps({"error": error}, ensure_ascii=False)


@final
@attrs.frozen(kw_only=True)
class ToolFunction:
    """A function tool: its definition for the session and the function that answers it.

    Make one with `function_tool`. Calling it calls the function.

    Attributes:
        name: The tool's name (the function's, unless given).
        description: What it does (from the docstring, unless given).
        parameters: The JSON schema of its parameters.
        function: The async function that answers a call.
        time_limit: Seconds a call may run before the layer cancels it and
            tells the model it took too long (None: no limit).

    .. versionadded:: 0.1.0
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    function: Callable[..., Awaitable[Any]] = attrs.field(repr=False)
    time_limit: float | None = None
    _hints: Mapping[str, Any] = attrs.field(factory=dict, repr=False, alias="hints")

    @property
    def definition(self) -> FunctionTool:
        """The tool's definition, for ``session.tools``."""
        return FunctionTool(
            name=self.name, description=self.description, parameters=self.parameters
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        return self.function(*args, **kwargs)

    def arguments(self, text: str) -> dict[str, Any]:
        """The keyword arguments of a call, from the model's JSON ``arguments``.

        Each argument is converted to its parameter's type; names the
        function does not take are dropped.

        Raises:
            ToolArgumentsError: not a JSON object, or an argument does not fit.
        """
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            raise ToolArgumentsError(f"the arguments are not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ToolArgumentsError("the arguments are not a JSON object")
        hints = self._hints
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            if name not in hints:
                continue
            hint = hints[name]
            try:
                kwargs[name] = (
                    value
                    if hint is inspect.Parameter.empty
                    else CONVERTER.structure(value, hint)
                )
            except ClassValidationError as exc:
                details = "; ".join(cattrs.transform_error(exc, path=name))
                raise ToolArgumentsError(
                    f"invalid argument {name!r}: {details}"
                ) from None
            except Exception as exc:
                raise ToolArgumentsError(f"invalid argument {name!r}: {exc}") from None
        return kwargs


def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    """Each parameter's type hint (``Parameter.empty`` when it has none)."""
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:
        hints = {}
    return {
        name: hints.get(name, inspect.Parameter.empty)
        for name, param in inspect.signature(function).parameters.items()
        if param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
    }


def _make(
    function: Callable[..., Awaitable[Any]],
    name: str | None,
    description: str | None,
    parameters: Mapping[str, Any] | None,
    time_limit: float | None,
) -> ToolFunction:
    if not inspect.iscoroutinefunction(function):
        raise TypeError(
            f"{function!r} is not an async function: a tool is `async def` "
            "(run blocking work with trio.to_thread.run_sync inside it)"
        )
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time_limit must be positive, got {time_limit!r}")
    if parameters is None:
        doc, parameters = function_schema(function)
    else:
        doc = inspect.getdoc(function) or ""
        doc = doc.split("\n\n")[0] if doc else ""
        parameters = dict(parameters)
    if description is None:
        description = doc
    return ToolFunction(
        name=name or function.__name__,
        description=description,
        parameters=parameters,
        function=function,
        time_limit=time_limit,
        hints=_hints(function),
    )


@overload
def function_tool(function: F, /) -> ToolFunction: ...


@overload
def function_tool(
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    time_limit: float | None = None,
) -> Callable[[F], ToolFunction]: ...


def function_tool(
    function: F | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    time_limit: float | None = None,
) -> ToolFunction | Callable[[F], ToolFunction]:
    """Turn an async function into a function tool (a `ToolFunction`).

    Use it bare or with arguments::

        @realtime_trio.function_tool
        async def get_weather(city: str, unit: Literal["c", "f"] = "c") -> dict[str, object]:
            \"\"\"The current weather in a city.

            Args:
                city: The city's name.
            \"\"\"

        @realtime_trio.function_tool(name="lookup", time_limit=5)
        async def look_up_order(order: OrderQuery) -> Order: ...

    The tool's name is the function's; its description is the docstring up
    to its first section (``Args:``...); its parameters' schema comes from
    the type hints (str, int, float, bool, Literal, Enum, lists, dicts,
    optional values, attrs classes, dataclasses, TypedDicts; see
    :doc:`/howto/tools`), with descriptions from ``Args:`` or ``Annotated``.
    The model's arguments are converted to those types before the call.

    Args:
        function: The async function (when used bare).
        name: The tool's name instead of the function's.
        description: The description instead of the docstring's.
        parameters: An explicit JSON schema instead of the one from the hints.
        time_limit: Cancel a call that runs longer than this many seconds and
            tell the model so (None, the default: no limit). Tools run in the
            conversation's nursery, where your cancel scopes cannot reach
            each call: this is the one way to bound them.

    Raises:
        TypeError: the function is not async, or a parameter has no JSON
            schema form (when ``parameters`` is not given).

    .. versionadded:: 0.1.0
    """

    def decorate(fn: F) -> ToolFunction:
        return _make(fn, name, description, parameters, time_limit)

    if function is not None:
        return decorate(function)
    return decorate
