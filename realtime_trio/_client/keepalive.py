"""The keepalive: a WebSocket ping every ``ping_interval``; silence fails the connection.

A network that dies silently (a laptop suspended, a NAT that forgot the
flow, a cable pulled) closes nothing: without a check, `receive` would wait
forever. So the engine's keepalive task pings the server every
``ping_interval`` seconds, as the ``websockets`` library does (20 s and
20 s by default), and when nothing arrives within ``ping_timeout`` it fails
the connection: a close frame with code 1011 (as ``websockets`` sends)
goes out if it can, the socket is closed, and the consumer gets
`ConnectionBroken` (``closed_by == "client"``) saying that the keepalive
ping timed out.

What counts as an answer: anything read from the socket after the ping,
its pong or any other data. Both show that the server and the network are
alive, and a pong may be queued behind a long message on a slow link.

A consumer that stops reading is not a dead network. While the events
buffer is full, the receive task does not read the socket (that is the
backpressure), so no answer could be seen. The keepalive then *pauses*: it
sends no ping, and the deadline of a ping already sent restarts, in full,
once the receive task reads again. (Reading on for control frames alone is
not possible: they come after the data frames in the same byte stream, and
reading those would mean buffering them without bound.)

A network that stops taking data is dead too: the ping's write then waits
behind writes stuck on full socket buffers, so the ping's ``ping_timeout``
counts from when it is due, its write included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import final

import trio

from .wsclient import WebSocketClient

#: The close code of a keepalive timeout (``websockets`` sends the same).
KEEPALIVE_CLOSE_CODE = 1011


@final
class KeepAlive:
    """The keepalive of one connection (see the module docstring).

    The engine says when its receive task stops reading the socket
    (`stalled`) and reads again (`resumed`); `run` is the keepalive task.
    """

    __slots__ = ("_close_timeout", "_resumed", "_wait_scope", "interval", "timeout")

    def __init__(
        self, interval: float | None, timeout: float | None, *, close_timeout: float
    ) -> None:
        self.interval = interval
        self.timeout = timeout
        self._close_timeout = close_timeout
        # An event while the receive task does not read, set when it reads again.
        self._resumed: trio.Event | None = None
        # The wait for an answer, cancelled when the receive task stops reading.
        self._wait_scope: trio.CancelScope | None = None

    def stalled(self) -> None:
        """The receive task stops reading the socket (the events buffer is full)."""
        if self._resumed is None:
            self._resumed = trio.Event()
        if self._wait_scope is not None:
            self._wait_scope.cancel()

    def resumed(self) -> None:
        """The receive task reads the socket again."""
        if self._resumed is not None:
            self._resumed.set()
            self._resumed = None

    async def _until_reading(self) -> None:
        while self._resumed is not None:
            await self._resumed.wait()

    async def run(
        self,
        ws: WebSocketClient,
        *,
        closing: Callable[[], bool],
        tick: Callable[[], None] | None = None,
    ) -> None:
        """Ping until the connection ends; fail it when a ping goes unanswered.

        ``closing`` says whether the connection is closing (no more pings,
        and no failure: closing has its own bound, ``close_timeout``).
        ``tick`` is called after every interval (the engine's expiry warning).
        """
        interval = self.interval
        timeout = self.timeout
        if interval is None:
            return
        while True:
            await trio.sleep(interval)
            if tick is not None:
                tick()
            await self._until_reading()
            if closing():
                return
            if timeout is None:
                await ws.ping()
                continue
            # The deadline counts from when the ping is due: on a dead network
            # the socket's buffers fill and the ping's write blocks behind the
            # others, which must not stop the keepalive.
            heard = None
            with trio.move_on_after(timeout):
                heard = await ws.ping()
            if heard is None:
                if closing():
                    return
                await ws.fail(
                    KEEPALIVE_CLOSE_CODE,
                    "the keepalive ping timed out: the network took no data "
                    f"for {timeout:g} s",
                    close_timeout=0,  # the writer is stuck: no close frame can go out
                )
                return
            while not heard.is_set():
                deadline = trio.current_time() + timeout
                with trio.CancelScope(deadline=deadline) as scope:
                    self._wait_scope = scope
                    if self._resumed is None:
                        await heard.wait()
                self._wait_scope = None
                if closing():
                    return
                if heard.is_set():
                    break
                if self._resumed is not None or trio.current_time() < deadline:
                    # The receive task stopped reading: pause, then a full
                    # ping_timeout once it reads again.
                    await self._until_reading()
                    continue
                await ws.fail(
                    KEEPALIVE_CLOSE_CODE,
                    f"the keepalive ping timed out: no answer within {timeout:g} s",
                    close_timeout=self._close_timeout,
                )
                return
