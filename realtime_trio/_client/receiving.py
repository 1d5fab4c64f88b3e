"""The engine's receive task: the socket → the protocol → the events buffer.

``self`` is the `ConnectionEngine` (typed `Any`, as in ``writing.py``: the
engine imports this module, and no import goes back up). The engine's own
task, ``run``, runs this loop in its nursery's body, so the receive task
costs no task of its own.

The hot path, per message: `WebSocketClient.get_message` (which reads the
socket only when no message is buffered, and is the checkpoint), the
protocol's parse, and a hand-over to the events buffer without another trip
through the scheduler when there is room. A streamed audio delta answers no
request, so it skips the matching; the bytes of what is buffered are
counted (`ByteBudget`) and settled now and then.
"""

from __future__ import annotations

from typing import Any

import trio

from .._core import server_events as sev
from .events_buffer import Item
from .wsclient import WebSocketClosed


@trio.lowlevel.enable_ki_protection  # as the engine's tasks are
async def receive_loop(self: Any, held: list[tuple[Item, int]]) -> None:
    """Deliver the events held while opening, then every message received,
    until the socket closes."""
    ws = self._ws
    assert ws is not None
    recorder = self._recorder
    parse = self.protocol.receive_message
    delta = sev.ResponseOutputAudioDelta
    deliver = self.buffer.deliver
    budget = self.buffer.budget
    limit = budget.limit
    sizes = budget.sizes
    settle_every = self.buffer.settle_every
    with self.events_send as events:
        for item, size in held:
            await deliver(item, size)
        while True:
            try:
                message = await ws.get_message()
            except WebSocketClosed as exc:
                await self._on_closed(exc.reason)
                return
            event = parse(message) if recorder is None else self._parse(message)
            # The hot path: a streamed delta answers nothing.
            item = event if type(event) is delta else self._settled(event)
            # ws.get_message() was a checkpoint already: hand the event
            # over without another trip through the scheduler when there
            # is room, and wait (backpressure) only when there is not.
            size = len(message)
            try:
                events.send_nowait(item)
            except (trio.WouldBlock, trio.BrokenResourceError):
                await deliver(item, size)
            else:
                # Its bytes (`EventsBuffer`): settled and waited for when
                # over the limit, settled now and then anyway.
                sizes.append(size)
                budget.total += size
                if budget.total > limit or len(sizes) > settle_every:
                    await deliver(None, 0)
