"""`open_simulator`: a `RealtimeSimulator` on a TCP port for the duration of a block."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final, Unpack

import trio

from ..._core.options import takes_options
from ..._trio.unwrap import open_hidden_nursery
from .listening import listen, serve_listeners
from .options import SIMULATOR_DEFAULTS, SimulatorOptions, fill_simulator_options
from .simulator import RealtimeSimulator

#: How long `open_simulator` waits for connections to close when it exits.
SHUTDOWN_TIMEOUT: Final = 2.0


@asynccontextmanager
@takes_options(SimulatorOptions, SIMULATOR_DEFAULTS)
async def open_simulator(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    **options: Unpack[SimulatorOptions],
) -> AsyncIterator[RealtimeSimulator]:
    """Run a `RealtimeSimulator` on a local TCP port for the duration of the block.

    Entering blocks until the port is bound (``sim.url`` is then valid);
    exiting cancels the listener and every connection (open WebSockets are
    closed with 1001). See `RealtimeSimulator` for the arguments; ``host``
    and ``port`` say where to listen (port 0 picks a free one).

    No exception group comes out: what the block raises comes out as it was
    raised (`KeyboardInterrupt` first).

    Raises:
        OSError: The port cannot be bound (``could not listen on
            127.0.0.1:8000: address already in use``).
        ValueError: An option is not valid (``port`` not 0-65535, say).
        ScenarioError: A WAV file the scenario plays cannot be read.
    """
    sim = RealtimeSimulator(**fill_simulator_options("open_simulator", options))
    listeners = await listen(host, port)
    sim._bound(host, listeners)
    try:
        async with open_hidden_nursery() as nursery:
            nursery.start_soon(serve_listeners, sim.handle_stream, listeners)
            try:
                yield sim
            finally:
                with trio.move_on_after(SHUTDOWN_TIMEOUT, shield=True):
                    await sim.close_connections(1001, "simulator shutting down")
                nursery.cancel_scope.cancel()
    finally:
        for listener in listeners:
            listener.socket.close()
