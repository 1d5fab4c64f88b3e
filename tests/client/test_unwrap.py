"""The exception-group policy of open_realtime, exhaustively, without a connection."""

from __future__ import annotations

import pytest
import trio

from realtime_trio import ConnectionBroken, RealtimeInternalError
from realtime_trio._trio.unwrap import collapse, leaves, reraise


def cancelled() -> trio.Cancelled:
    return trio.Cancelled._create(source="deadline")


def test_leaves_flattens_nested_groups() -> None:
    a, b, c = ValueError(), KeyError(), OSError()
    group = BaseExceptionGroup(
        "g", [a, BaseExceptionGroup("h", [b, ExceptionGroup("i", [c])])]
    )
    assert leaves(group) == [a, b, c]
    assert leaves(a) == [a]


def test_body_exception_alone_comes_out() -> None:
    body = ValueError("mine")
    assert collapse(BaseExceptionGroup("n", [body]), body) is body


def test_body_exception_beside_cancelled_comes_out() -> None:
    body = ValueError("mine")
    group = BaseExceptionGroup(
        "n", [cancelled(), body, BaseExceptionGroup("t", [cancelled()])]
    )
    assert collapse(group, body) is body


def test_body_group_comes_out_whole_even_when_rederived() -> None:
    a, b = ValueError("a"), KeyError("b")
    body = ExceptionGroup("mine", [a, b])
    rederived = ExceptionGroup("mine", [a, b])  # trio splits groups to strip Cancelled
    assert collapse(BaseExceptionGroup("n", [rederived, cancelled()]), body) is body


def test_library_error_from_setup_comes_out() -> None:
    setup = ConnectionBroken("gone")
    assert (
        collapse(BaseExceptionGroup("n", [BaseExceptionGroup("inner", [setup])]), setup)
        is setup
    )


@pytest.mark.parametrize("where", ["top", "nested", "beside-body"])
def test_keyboard_interrupt_wins(where: str) -> None:
    ki = KeyboardInterrupt()
    body = ValueError()
    if where == "top":
        group = BaseExceptionGroup("n", [body, ki])
    elif where == "nested":
        group = BaseExceptionGroup("n", [BaseExceptionGroup("t", [cancelled(), ki])])
    else:
        group = BaseExceptionGroup("n", [ki, body, cancelled()])
    assert collapse(group, body) is ki


def test_only_cancelled_propagates_cancelled() -> None:
    first = cancelled()
    assert collapse(BaseExceptionGroup("n", [first, cancelled()]), None) is first


def test_unexpected_task_error_is_internal_error() -> None:
    bug = ZeroDivisionError()
    result = collapse(BaseExceptionGroup("n", [bug, cancelled()]), None)
    assert isinstance(result, RealtimeInternalError)
    assert isinstance(result.__cause__, BaseExceptionGroup)
    assert bug in leaves(result.__cause__)


def test_body_error_with_a_task_bug_keeps_the_body_and_attaches_the_bug() -> None:
    body, bug = ValueError("mine"), ZeroDivisionError()
    result = collapse(BaseExceptionGroup("n", [body, bug]), body)
    assert result is body
    assert isinstance(body.__context__, RealtimeInternalError)


def test_two_unrelated_errors_without_body_are_internal() -> None:
    result = collapse(BaseExceptionGroup("n", [ValueError(), KeyError()]), None)
    assert isinstance(result, RealtimeInternalError)


def test_reraise_keeps_the_original_context() -> None:
    original = ValueError("x")
    marker = KeyError("context")
    original.__context__ = marker
    with pytest.raises(ValueError) as info:
        try:
            raise RuntimeError("being handled")
        except RuntimeError:
            reraise(original)
    assert info.value is original
    assert info.value.__context__ is marker
