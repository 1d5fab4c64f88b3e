"""Refilling the events buffer from low water (`realtime_trio._core.flow`)."""

from __future__ import annotations

import pytest

from realtime_trio._core.flow import LowWater


@pytest.mark.parametrize(("capacity", "takes"), [(1, 1), (2, 1), (3, 2), (128, 64)])
def test_the_producer_wakes_once_the_buffer_is_down_to_half(
    capacity: int, takes: int
) -> None:
    flow = LowWater(capacity)
    assert flow.mark == capacity // 2
    flow.full()
    woken = [flow.taken() for _ in range(takes)]
    assert woken == [False] * (takes - 1) + [True]


def test_each_wait_counts_afresh() -> None:
    flow = LowWater(4)
    flow.full()
    assert [flow.taken(), flow.taken()] == [False, True]
    assert flow.taken()  # more takes while it wakes: still free to go
    flow.full()
    assert [flow.taken(), flow.taken()] == [False, True]


def test_waiting_is_set_while_the_producer_waits() -> None:
    # The consumer reads `waiting` on every take, and calls `taken` only then.
    flow = LowWater(4)
    assert not flow.waiting
    flow.full()
    assert flow.waiting
    assert not flow.taken()
    assert flow.waiting
    assert flow.taken()
    assert not flow.waiting


def test_an_unbuffered_channel_has_no_low_water() -> None:
    with pytest.raises(ValueError, match="at least one"):
        LowWater(0)
