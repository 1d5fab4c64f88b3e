"""Ctrl-C while streaming still closes the WebSocket with a close frame (issue 11).

A real SIGINT, at a random moment, to a client streaming audio up and
receiving audio deltas over loopback. Before issue 11 the close frame was
skipped in about half the runs on a busy machine (the server saw 1006):
trio raises `KeyboardInterrupt` in whatever code is running when the signal
arrives, and that was often one of the connection's own tasks (the send or
the receive task), which then died without closing. The tasks are now
protected: the interrupt reaches the main task at a checkpoint, and leaving
`open_realtime` sends the close frame.

The server runs in a thread with its own trio loop (a signal is handled in
the main thread only, so it never lands there); each run is a fresh
``trio.run`` in the main thread, as a program's would be.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from typing import Self

import pytest
import trio
import trio_websocket

from realtime_trio import open_realtime
from tests.helpers.fake_server import SESSION_CREATED

#: Before the fix the close frame was lost in 11 to 17 runs of 48 here (3
#: tries): 48 runs all passing on that code would happen less than once in a
#: million (0.77 ** 48). About 5 s.
RUNS = 48
CLOSE_TIMEOUT = 2.0

DELTA = json.dumps(
    {
        "type": "response.output_audio.delta",
        "event_id": "e",
        "response_id": "r",
        "item_id": "i",
        "output_index": 0,
        "content_index": 0,
        "delta": "A" * 6400,
    }
)


class Server:
    """A WebSocket server in a thread: streams deltas, records each close code."""

    def __init__(self) -> None:
        self.codes: list[int | None] = []
        self.port = 0
        self._ready = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._scope: trio.CancelScope | None = None
        self._thread = threading.Thread(
            target=trio.run, args=(self._main,), daemon=True
        )

    def __enter__(self) -> Self:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._token is not None and self._scope is not None
        trio.from_thread.run_sync(self._scope.cancel, trio_token=self._token)
        self._thread.join(10)

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        with trio.CancelScope() as self._scope:
            async with trio.open_nursery() as nursery:
                server = await nursery.start(
                    trio_websocket.serve_websocket, self._handle, "127.0.0.1", 0, None
                )
                self.port = server.port
                self._ready.set()

    async def _handle(self, request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        session = dict(SESSION_CREATED["session"], expires_at=int(time.time()) + 3600)
        await ws.send_message(json.dumps({**SESSION_CREATED, "session": session}))

        async def talk() -> None:
            try:
                while True:
                    await ws.send_message(DELTA)
                    await trio.sleep(0.005)
            except trio_websocket.ConnectionClosed:
                pass

        async with trio.open_nursery() as nursery:
            nursery.start_soon(talk)
            try:
                while True:
                    await ws.get_message()
            except trio_websocket.ConnectionClosed as exc:
                self.codes.append(exc.reason.code)
            nursery.cancel_scope.cancel()

    def wait_for_close(self, count: int) -> int | None:
        deadline = time.monotonic() + CLOSE_TIMEOUT + 5
        while len(self.codes) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.codes[count - 1] if len(self.codes) >= count else None


@pytest.fixture
def server() -> Iterator[Server]:
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("needs Python's own SIGINT handler (trio installs its own over it)")
    with Server() as running:
        yield running


def interrupted_stream(port: int, delay: float) -> float:
    """Stream until a SIGINT ``delay`` s after connecting; return how long leaving took."""
    connected = threading.Event()
    done = threading.Event()
    sent: list[float] = []

    def interrupt() -> None:
        if connected.wait(10) and not done.wait(delay):
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)

    async def main() -> None:
        async with open_realtime(
            model="m",
            url=f"ws://127.0.0.1:{port}/v1/realtime",
            api_key="sk-test",
            close_timeout=CLOSE_TIMEOUT,
        ) as conn:
            connected.set()

            async def receive() -> None:
                async for _ in conn:
                    pass

            async with trio.open_nursery() as nursery:
                nursery.start_soon(receive)
                chunk = os.urandom(4800)
                while True:
                    await conn.send_audio(chunk)
                    await trio.lowlevel.checkpoint()

    threading.Thread(target=interrupt, daemon=True).start()
    interrupted = False
    try:
        trio.run(main)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        done.set()
    assert interrupted and sent, "the run ended without the interrupt"
    return time.monotonic() - sent[0]


def test_ctrl_c_while_streaming_always_sends_the_close_frame(server: Server) -> None:
    rng = random.Random(11)
    codes = []
    for run in range(1, RUNS + 1):
        took = interrupted_stream(server.port, rng.uniform(0.01, 0.1))
        codes.append(server.wait_for_close(run))
        assert took < CLOSE_TIMEOUT + 1
    lost = sum(code != 1000 for code in codes)
    assert not lost, f"no close frame in {lost} of {RUNS} runs: {codes}"
