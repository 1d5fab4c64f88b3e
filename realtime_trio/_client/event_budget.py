"""The bytes in the received-events buffer, counted by its producer alone (no trio here).

The events buffer is bounded in events (``max_buffered_events``, the memory
channel's own capacity) and in bytes (``max_buffered_event_bytes``): a few
``conversation.item.retrieved`` or ``session.updated`` events can each weigh
megabytes, so a count alone does not bound memory.

The consumer's hot path (`RealtimeConnection.receive`) stays as it is: it
does not know the size of what it takes. The producer (the receive task)
remembers the size of every item it puts in the buffer, in order, and
*settles* now and then: told how many items are still buffered, it forgets
the sizes of the ones taken since. Per event that is one append and one
addition; settling pops each size once.

When the bytes are over the limit, the producer waits until the consumer has
taken the buffer down to half of it (`takes_to_low_water` items), the same
low-water refill as for a full buffer (`realtime_trio._core.flow`).
"""

from __future__ import annotations

from typing import final


@final
class ByteBudget:
    """The bytes of the items in a buffer that one producer fills.

    Args:
        limit: The most bytes the buffer should hold (it may hold one item
            more: an item is always accepted when the buffer is under the limit).
    """

    __slots__ = ("limit", "mark", "sizes", "total")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a byte budget of at least one byte")
        self.limit = limit
        #: The producer goes on once the buffer holds this many bytes or fewer.
        self.mark = limit // 2
        #: The size of every item put and not yet settled, oldest first (a
        #: list: a deque costs 700 bytes more per connection, and settling
        #: drops a slice at once).
        self.sizes: list[int] = []
        #: Their sum (the hot path adds to it directly).
        self.total = 0

    def add(self, size: int) -> None:
        """An item of ``size`` bytes went into the buffer."""
        self.sizes.append(size)
        self.total += size

    def settle(self, buffered: int) -> None:
        """``buffered`` items are left in the buffer: forget the sizes of those taken."""
        sizes = self.sizes
        taken = len(sizes) - buffered
        if taken > 0:
            self.total -= sum(sizes[:taken])
            del sizes[:taken]

    @property
    def over(self) -> bool:
        """Whether the buffer holds more than ``limit`` bytes (as of the last settle)."""
        return self.total > self.limit

    def takes_to_low_water(self) -> int:
        """How many items the consumer must take before the buffer is at low water."""
        left = self.total
        takes = 0
        for size in self.sizes:
            if left <= self.mark:
                break
            left -= size
            takes += 1
        return takes
