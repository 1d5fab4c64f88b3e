"""The received-events buffer of a connection: bounded in events and in bytes.

The receive task (``engine.py``) puts every event here; the consumer
(`RealtimeConnection.receive`) takes them. The buffer holds at most
``max_buffered_events`` events (the memory channel's capacity) and about
``max_buffered_event_bytes`` bytes (`ByteBudget`; one message more at
most). When either is reached the receive task waits, so it stops reading
the socket (that is the backpressure), until the consumer has taken the
buffer down to low water (`LowWater`): woken once per half buffer rather
than once per event. While it waits, the keepalive pauses (`KeepAlive`):
a consumer that does not read is not a dead network.

The consumer's side is the hot path and stays free of any of this: it
takes an item and, only while the receive task waits, counts the take.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import final

import attrs
import trio

from .._core.flow import LowWater
from .._core.invalid import ReceivedEvent
from .event_budget import ByteBudget
from .keepalive import KeepAlive


@attrs.define(eq=False)
class Failure:
    """An error delivered in order through the events buffer, raised in place of an event."""

    error: Exception


#: What the events buffer holds.
Item = ReceivedEvent | Failure

#: The fewest events held before ``session.created`` (see `EventsBuffer.too_much`).
HELD_EVENTS_FLOOR = 128


@final
class EventsBuffer:
    """The events buffer, its bounds and its refill (see the module docstring)."""

    __slots__ = (
        "_scope",
        "budget",
        "closing",
        "dropped",
        "keepalive",
        "low_water",
        "max_events",
        "receive_channel",
        "room",
        "send_channel",
        "settle_every",
    )

    def __init__(self, max_events: int, max_bytes: int, keepalive: KeepAlive) -> None:
        self.send_channel, self.receive_channel = trio.open_memory_channel[Item](
            max_events
        )
        # The receive task parks here while the buffer is full, until the
        # consumer takes it down to low water (None: unbuffered, a hand-over).
        self.room = trio.lowlevel.ParkingLot()
        self.max_events = max_events
        self.low_water = LowWater(max_events) if max_events else None
        self.budget = ByteBudget(max_bytes)
        #: The receive task settles the byte count at least every so many
        #: events, so that the sizes it remembers stay few.
        self.settle_every = max_events + 2 if max_events else 64
        self.keepalive = keepalive
        #: The connection is closing: an item that does not fit is dropped.
        self.closing = False
        #: How many were dropped so.
        self.dropped = 0
        self._scope: trio.CancelScope | None = None

    def too_much(self, count: int, size: int) -> str | None:
        """What ``count`` events of ``size`` bytes exceed, if they are too many to
        hold before ``session.created`` (nobody can take them yet, so the
        receive task cannot wait): the bytes of the buffer, and its events but
        at least `HELD_EVENTS_FLOOR` (a small buffer still gets the few events
        a server may send first)."""
        most = max(self.max_events, HELD_EVENTS_FLOOR)
        if count > most:
            return f"{most} events (max_buffered_events)"
        if size > self.budget.limit:
            return f"{self.budget.limit} bytes of events (max_buffered_event_bytes)"
        return None

    def stop_waiting(self) -> None:
        """Closing: nobody will make room, so the receive task stops waiting for it
        (and reads on, so that the server's close frame is seen)."""
        self.closing = True
        if self._scope is not None:
            self._scope.cancel()

    async def deliver(self, item: Item | None, size: int) -> None:
        """Queue ``item`` (``size`` bytes), waiting for room when the buffer is
        full, then while it holds too many bytes (``item`` None: only that).

        Only the receive task sends on the channel, so the room found on
        waking is still there.
        """
        events = self.send_channel
        budget = self.budget
        with self._closable() as scope:
            if item is not None:
                try:
                    events.send_nowait(item)
                except trio.WouldBlock:
                    with self._stalled():
                        await self._wait_for_room(item)
                budget.add(size)
            budget.settle(events.statistics().current_buffer_used)
            if budget.over and self.low_water is not None:
                with self._stalled():
                    self.low_water.full(budget.takes_to_low_water())
                    await self.room.park()
                budget.settle(events.statistics().current_buffer_used)
        if scope.cancelled_caught and item is not None:
            self.dropped += 1

    async def _wait_for_room(self, item: Item) -> None:
        if self.low_water is None:
            await self.send_channel.send(item)  # unbuffered: a direct hand-over
            return
        while True:
            self.low_water.full()
            await self.room.park()
            with contextlib.suppress(trio.WouldBlock):
                self.send_channel.send_nowait(item)
                return

    @contextlib.contextmanager
    def _closable(self) -> Iterator[trio.CancelScope]:
        """A wait for the consumer, which `stop_waiting` cancels."""
        with trio.CancelScope() as scope:
            self._scope = scope
            if self.closing:
                scope.cancel()
            try:
                yield scope
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # the consumer's end is closed: nobody will read it
            finally:
                self._scope = None

    @contextlib.contextmanager
    def _stalled(self) -> Iterator[None]:
        """The receive task does not read the socket meanwhile: pause the keepalive."""
        self.keepalive.stalled()
        try:
            yield
        finally:
            self.keepalive.resumed()
