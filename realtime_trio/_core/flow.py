"""Flow control of the received-events buffer: refill from low water (no trio here).

The connection's receive task puts events in a bounded buffer that the
consumer empties. When the buffer is full the receive task waits, and so does
the socket (that is the backpressure). Waking it as soon as one slot is free
would wake it once per event taken, only for it to fill that slot and sleep
again; waking it when the consumer has taken the buffer down to *low water*
(half of it) wakes it once per half buffer, and it then refills in one go.
`LowWater` counts the takes; the shell parks and wakes the task.
"""

from __future__ import annotations


class LowWater:
    """When a producer that found the buffer full may go on.

    Args:
        capacity: The size of the buffer, at least 1 (an unbuffered hand-over
            needs no refill policy).
    """

    __slots__ = ("_takes_left", "capacity", "mark", "waiting")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a buffer of at least one item has a low-water mark")
        self.capacity = capacity
        #: The producer goes on once this many items are left in the buffer.
        self.mark = capacity // 2
        #: The producer waits for room (from `full` until `taken` says go on):
        #: a plain attribute, so that a consumer checks it at no cost per take.
        self.waiting = False
        self._takes_left = 0

    def full(self, takes: int | None = None) -> None:
        """The producer found the buffer full and is about to wait.

        ``takes``: wake it after that many takes instead (the buffer is full
        by another measure, such as its bytes).
        """
        self._takes_left = self.capacity - self.mark if takes is None else takes
        self.waiting = True

    def taken(self) -> bool:
        """The consumer took one item while the producer waits: wake it now?"""
        self._takes_left -= 1
        if self._takes_left <= 0:
            self.waiting = False
            return True
        return False
