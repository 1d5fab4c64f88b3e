"""Round trips measured in interleaved blocks: every client meets the same noise.

``bench_peers.py`` runs each client's 1,000 round trips in one stretch of a
fraction of a second, one client after the other. On a shared machine (a
virtual CPU whose host runs other guests) the speed of the machine itself
drifts on that scale: in one run the asyncio floor's own median went from 110
to 185 µs between rounds, so a per-round ratio also measures which client was
unlucky (single rounds ranged 0.8-2.2x with nothing changed in between).

Here every client keeps one connection open in its own process, idle between
blocks (waiting on its standard input), and the parent has them take turns:
block 1: A then B then C, block 2: B then C then A, and so on, each block a
couple of hundred round trips. Neighbouring blocks of different clients are
milliseconds apart, so a ratio of one block's p50s compares the clients under
the same conditions, and the median of many such ratios says which is faster.

Used by ``bench_peers.py`` (``--rtt-worker`` runs a client's side); the round
trip is the same as there: ``session.update`` sent, ``session.updated``
received and parsed by each client in its own way (realtime_trio: ``send()``
and ``receive()``, a typed record).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import bench_connection as bc

RoundTrip = Callable[[], Awaitable[None]]


# --- the worker: one client, driven from its standard input ------------------------


async def serve_blocks(round_trip: RoundTrip, warmup: int) -> None:
    """Warm up, say "ready", then run one block per line read (a count); stop at EOF.

    Reading standard input blocks the event loop on purpose: nothing of the
    client runs between blocks, as nothing would between requests.
    """
    for _ in range(warmup):
        await round_trip()
    print("ready", flush=True)
    for line in sys.stdin:
        n = int(line)
        samples = []
        cpu = time.process_time()
        for _ in range(n):
            start = time.perf_counter()
            await round_trip()
            samples.append(time.perf_counter() - start)
        cpu = time.process_time() - cpu
        result = {"p50_us": statistics.median(samples) * 1e6, "cpu_us": cpu / n * 1e6}
        print(json.dumps(result), flush=True)


async def _realtime_trio(port: int, warmup: int) -> None:
    from realtime_trio import open_realtime
    from realtime_trio.events import SessionUpdated

    async with open_realtime(
        model="bench", api_key=bc.API_KEY, url=bc.url_for(port)
    ) as conn:
        await conn.receive()  # session.created

        async def round_trip() -> None:
            await conn.send({"type": "session.update", "session": bc.SESSION})
            event = await conn.receive()
            assert isinstance(event, SessionUpdated), event

        await serve_blocks(round_trip, warmup)


async def _raw(port: int, warmup: int) -> None:
    import trio_websocket

    headers = [(b"Authorization", f"Bearer {bc.API_KEY}".encode())]
    async with trio_websocket.open_websocket_url(
        bc.url_for(port), extra_headers=headers
    ) as ws:
        await ws.get_message()

        async def round_trip() -> None:
            await ws.send_message(
                json.dumps({"type": "session.update", "session": bc.SESSION})
            )
            event = json.loads(await ws.get_message())
            assert event["type"] == "session.updated", event

        await serve_blocks(round_trip, warmup)


async def _floor(port: int, warmup: int) -> None:
    from bench_floor import open_floor

    ws = await open_floor(port)

    async def round_trip() -> None:
        await ws.send(json.dumps({"type": "session.update", "session": bc.SESSION}))
        event = json.loads(await ws.recv())
        assert event["type"] == "session.updated", event

    try:
        await serve_blocks(round_trip, warmup)
    finally:
        await ws.close()


async def _sdk(port: int, warmup: int) -> None:
    import openai

    client = openai.AsyncOpenAI(
        api_key=bc.API_KEY, base_url=f"http://127.0.0.1:{port}/v1"
    )
    async with client.realtime.connect(model="bench") as conn:
        await conn.recv()

        async def round_trip() -> None:
            await conn.session.update(session=bc.SESSION)  # type: ignore[arg-type]
            event = await conn.recv()
            assert event.type == "session.updated", event

        await serve_blocks(round_trip, warmup)


def worker(client: str, port: int, warmup: int = 200) -> None:
    """Run ``client``'s side (in its own process)."""
    if client == "realtime_trio":
        import trio

        trio.run(_realtime_trio, port, warmup)
    elif client == "raw":
        import trio

        trio.run(_raw, port, warmup)
    elif client == "floor":
        asyncio.run(_floor(port, warmup))
    else:
        asyncio.run(_sdk(port, warmup))


# --- the parent: take turns ---------------------------------------------------------


def run_paired(
    command: Callable[[str], list[str]],
    clients: list[str],
    *,
    blocks: int,
    per_block: int,
) -> dict[str, list[dict[str, float]]]:
    """Each client's block results, block by block (in rotating order within a block).

    ``command(client)`` is the command line of that client's worker.
    """
    workers = {
        c: subprocess.Popen(
            command(c), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for c in clients
    }
    try:
        for c, process in workers.items():
            assert process.stdout is not None
            line = process.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"the {c} round-trip worker did not start: {line!r}")
        results: dict[str, list[dict[str, float]]] = {c: [] for c in clients}
        for index in range(blocks):
            shift = index % len(clients)
            for c in clients[shift:] + clients[:shift]:
                process = workers[c]
                assert process.stdin is not None and process.stdout is not None
                process.stdin.write(f"{per_block}\n")
                process.stdin.flush()
                results[c].append(json.loads(process.stdout.readline()))
        return results
    finally:
        for process in workers.values():
            if process.stdin is not None:
                process.stdin.close()
        for process in workers.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def block_ratios(
    results: dict[str, list[dict[str, float]]], ours: str, peer: str
) -> list[float]:
    """Our p50 over the peer's, block by block (lower is better)."""
    return [
        a["p50_us"] / b["p50_us"]
        for a, b in zip(results[ours], results[peer], strict=True)
    ]


def summary(results: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, Any]]:
    """Per client: the median over blocks of the block p50 and of CPU per round trip."""
    return {
        c: {
            "p50_us": statistics.median(r["p50_us"] for r in rs),
            "cpu_us": statistics.median(r["cpu_us"] for r in rs),
        }
        for c, rs in results.items()
    }
