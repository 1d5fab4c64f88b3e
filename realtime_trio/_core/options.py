"""Keyword options defined once and shown everywhere (no I/O here).

A family of functions that take the same keyword options (`open_realtime`,
`connect_realtime`, the SIP call server's three entry points, the
simulator's...) defines them once:

* a ``TypedDict`` (``total=False``) names each option and its type; the
  functions take ``**options: Unpack[TheOptions]``, so a type checker checks
  every option at every call site;
* a mapping of defaults, typed by the same ``TypedDict``, gives each
  option's default (a test checks it covers every option);
* `takes_options` gives each function a ``__signature__`` that lists every
  option as a keyword-only parameter with its default, so ``help()``,
  `inspect.signature` and the API docs show them, not ``**options``;
* `fill_options` turns the keyword arguments of one call into the full set,
  refusing an unknown name with the `TypeError` Python itself would raise.

This is the one idiom for forwarded options in the package (the other,
writing the keyword list out at each function, had four copies drift apart).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def option_names(options: type) -> tuple[str, ...]:
    """The option names of a ``TypedDict`` class, in declaration order."""
    names: list[str] = []
    for klass in reversed(options.__mro__):
        for name in getattr(klass, "__annotations__", {}):
            if name not in names:
                names.append(name)
    return tuple(names)


def takes_options(options: type, defaults: Mapping[str, Any]) -> Callable[[F], F]:
    """Show the options of ``options`` in the signature of the decorated function.

    The function's ``**options`` parameter is replaced, in its
    ``__signature__``, by one keyword-only parameter per option (annotation
    as written in the ``TypedDict``, default from ``defaults``). Its other
    parameters stay as they are.
    """
    names = option_names(options)
    missing = [name for name in names if name not in defaults]
    if missing:
        raise TypeError(f"{options.__name__}: no default for {', '.join(missing)}")
    annotations: dict[str, Any] = {}
    for klass in reversed(options.__mro__):
        for name, hint in getattr(klass, "__annotations__", {}).items():
            # A TypedDict keeps postponed annotations as ForwardRef: show the text.
            annotations[name] = getattr(hint, "__forward_arg__", hint)

    def decorate(func: F) -> F:
        signature = inspect.signature(func)
        params = [
            p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD
        ]
        if len(params) == len(signature.parameters):
            raise TypeError(f"{func.__qualname__} takes no **options")
        own = {p.name for p in params}
        params += [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=defaults[name],
                annotation=annotations[name],
            )
            for name in names
            if name not in own
        ]
        func.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        return func

    return decorate


def fill_options(
    func_name: str, options: type, defaults: Mapping[str, Any], given: Mapping[str, Any]
) -> dict[str, Any]:
    """The options of one call: ``given`` over ``defaults``.

    Raises:
        TypeError: a name that is not an option, worded as Python words it
            (``open_realtime() got an unexpected keyword argument 'x'``).
    """
    names = option_names(options)
    for name in given:
        if name not in names:
            raise TypeError(
                f"{func_name}() got an unexpected keyword argument {name!r}"
            )
    return {**defaults, **given}
