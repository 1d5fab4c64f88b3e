"""The one idiom for forwarded keyword options (`realtime_trio._core.options`)."""

from __future__ import annotations

import inspect
from typing import Any, TypedDict, Unpack

import pytest

from realtime_trio._core.options import fill_options, option_names, takes_options


class _Base(TypedDict, total=False):
    size: int


class _Opts(_Base, total=False):
    name: str | None
    ratio: float


DEFAULTS: _Opts = {"size": 3, "name": None, "ratio": 0.5}


@takes_options(_Opts, DEFAULTS)
def configure(
    target: str, *, verbose: bool = False, **options: Unpack[_Opts]
) -> dict[str, Any]:
    return fill_options("configure", _Opts, DEFAULTS, options)


def test_names_in_declaration_order_bases_first() -> None:
    assert option_names(_Opts) == ("size", "name", "ratio")


def test_signature_lists_every_option_with_its_default() -> None:
    params = inspect.signature(configure).parameters
    assert list(params) == ["target", "verbose", "size", "name", "ratio"]
    assert params["size"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["size"].default == 3
    assert params["name"].default is None
    assert params["ratio"].annotation == "float"
    assert "**" not in str(inspect.signature(configure))


def test_fill_options_merges_given_over_defaults() -> None:
    assert configure("x", ratio=2.0) == {"size": 3, "name": None, "ratio": 2.0}


def test_an_unknown_option_is_the_usual_type_error() -> None:
    with pytest.raises(
        TypeError, match=r"configure\(\) got an unexpected keyword argument 'sise'"
    ):
        configure("x", sise=4)  # type: ignore[call-arg]


def test_a_missing_default_is_refused_when_decorating() -> None:
    with pytest.raises(TypeError, match="no default for ratio"):
        takes_options(_Opts, {"size": 1, "name": None})


def test_a_function_without_options_is_refused() -> None:
    def plain(x: int) -> None:
        pass

    with pytest.raises(TypeError, match="takes no"):
        takes_options(_Opts, DEFAULTS)(plain)
