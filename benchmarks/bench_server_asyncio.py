"""The benchmark protocol server on asyncio and `websockets` (the peer and scaling runs).

Run by ``bench_peers.py`` and ``bench_scale.py`` in a process of its own::

    python benchmarks/bench_server_asyncio.py [--port 0] [--max-seconds 900] [--watch-stdin]

It speaks the command set of ``bench_server.py`` (same events, same extra
fields), with one more command for the scaling run:

* ``response.create`` with ``response.metadata.bench = "paced:N:MS"`` →
  ``response.created``, then N deltas, one every MS milliseconds on an
  absolute schedule (no drift), each stamped with the server's
  ``time.monotonic_ns()`` at sending in its ``event_id`` (``t<ns>``), then
  ``response.done``. A client on the same machine subtracts the stamp from
  its own monotonic clock when its application gets the event: the
  event-to-application latency (Linux's monotonic clock is system-wide).

Why a second server: the reference figures of issue 16 were measured against
a websockets-asyncio server, and it costs less CPU per streamed frame than
the trio-websocket one (it writes pre-encoded bytes as text frames,
``send(bytes, text=True)``), so it stays ahead of the fastest client. Both
servers refuse compression, as the Realtime API does.
"""

from __future__ import annotations

import argparse
import asyncio
import binascii
import json
import os
import sys
import time
from typing import Any

from bench_server import MAX_MESSAGE_SIZE, Frames, append_audio_bytes, stream_count
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

_STAMP = '"event_id":"event_bench_delta"'


def paced(event: dict[str, Any]) -> tuple[int, float] | None:
    """(N, seconds between deltas) from ``metadata.bench = "paced:N:MS"``."""
    response = event.get("response")
    metadata = response.get("metadata") if isinstance(response, dict) else None
    bench = metadata.get("bench") if isinstance(metadata, dict) else None
    if not (isinstance(bench, str) and bench.startswith("paced:")):
        return None
    try:
        _, n, ms = bench.split(":")
        return max(0, int(n)), max(0.0, float(ms)) / 1000
    except ValueError:
        return None


class Encoded:
    """The server's texts as UTF-8 bytes, sent as text frames without re-encoding."""

    def __init__(self, frames: Frames) -> None:
        self.frames = frames
        self.session_created = frames.session_created.encode()
        self.session_updated = frames.session_updated.encode()
        self.response_created = frames.response_created.encode()
        self.audio_delta = frames.audio_delta.encode()
        before, found, after = frames.audio_delta.partition(_STAMP)
        assert found, "the delta's event_id moved"
        self.stamp_prefix = (before + '"event_id":"t').encode()
        self.stamp_suffix = ('"' + after).encode()

    def stamped_delta(self) -> bytes:
        return b"%s%d%s" % (self.stamp_prefix, time.monotonic_ns(), self.stamp_suffix)


async def serve_connection(ws: ServerConnection, enc: Encoded) -> None:
    frames = enc.frames
    received = 0
    commits = 0
    try:
        await ws.send(enc.session_created, text=True)
        async for message in ws:
            if isinstance(message, bytes):
                message = message.decode()
            nbytes = append_audio_bytes(message)
            if nbytes is not None:
                received += nbytes
                continue
            event = json.loads(message)
            kind = event.get("type") if isinstance(event, dict) else None
            if kind == "session.update":
                await ws.send(enc.session_updated, text=True)
            elif kind == "input_audio_buffer.append":
                received += len(binascii.a2b_base64(event["audio"]))
            elif kind == "input_audio_buffer.commit":
                commits += 1
                await ws.send(frames.committed(commits, received))
                received = 0
            elif kind == "response.create":
                wall, cpu = time.perf_counter(), time.process_time()
                await ws.send(enc.response_created, text=True)
                pace = paced(event)
                if pace is None:
                    delta = enc.audio_delta
                    send = ws.send
                    for _ in range(stream_count(event)):
                        await send(delta, text=True)
                else:
                    await send_paced(ws, enc, *pace)
                await ws.send(
                    frames.response_done_with(
                        time.process_time() - cpu, time.perf_counter() - wall
                    )
                )
    except ConnectionClosed:
        return


async def send_paced(
    ws: ServerConnection, enc: Encoded, n: int, interval: float
) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(n):
        delay = start + i * interval - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await ws.send(enc.stamped_delta(), text=True)


async def stop_at_eof(stop: asyncio.Event) -> None:
    """Set ``stop`` when stdin reaches end of file (the parent went away)."""
    loop = asyncio.get_running_loop()
    fd = os.dup(sys.stdin.fileno())
    while await loop.run_in_executor(None, os.read, fd, 4096):
        pass
    os.close(fd)
    stop.set()


async def main_async(port: int, max_seconds: float, watch_stdin: bool) -> None:
    enc = Encoded(Frames())
    stop = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await serve_connection(ws, enc)

    async with serve(
        handler,
        "127.0.0.1",
        port,
        compression=None,
        max_size=MAX_MESSAGE_SIZE,
        max_queue=None,
        ping_interval=None,
        backlog=1024,
    ) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        print(bound, flush=True)
        waiter = asyncio.ensure_future(stop_at_eof(stop)) if watch_stdin else None
        try:
            await asyncio.wait_for(stop.wait(), max_seconds)
        except TimeoutError:
            pass
        if waiter is not None:
            waiter.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--watch-stdin", action="store_true")
    args = parser.parse_args()
    try:
        asyncio.run(main_async(args.port, args.max_seconds, args.watch_stdin))
    except KeyboardInterrupt:
        pass
    os._exit(0)  # the stdin reader thread may still be blocked in read()


if __name__ == "__main__":
    main()
