"""Conversation-layer benchmark: CPU per streamed audio delta, with and without the layer.

Run it directly (pytest does not collect it)::

    python benchmarks/bench_agent.py [--quick] [--rounds N] [--events N] [--json out.json]

One server process (``bench_server.py``, as for ``bench_connection.py``)
streams ``response.output_audio.delta`` events of 100 ms of audio (4,800
PCM16 bytes) as fast as the socket takes them. In this process, one client
at a time reads a stream of ``--events`` deltas:

``bare``
    ``async for event in conn`` on the connection itself.
``layer``
    ``async for event in convo`` through `open_conversation` (no tools, no
    tracker, received audio not kept): the pump reads the connection,
    applies each event to the `ConversationState` (which counts the audio
    from the base64 length) and hands it on.
``layer+tracker``
    The same with a `PlaybackTracker` the application reports to (it counts
    the audio too).
``layer+keep``
    The same with ``keep_audio_bytes`` (the state decodes and keeps the audio).

Each consumer either only counts the deltas (``count``: the harshest ratio,
the layer's cost against the least a consumer can do) or decodes each to PCM
as a player would (``decode``). The figure is this process's CPU time per
delta (``time.process_time``; the server's is not counted) over ``--rounds``
rounds. Every client has a connection of its own, all open at once and
warmed up by an unmeasured stream; in each round every client reads one
stream, back to back, in an order that rotates. The primary figure is the
median, over the rounds, of each round's ratio to the bare client's figure of
the same round: the clients of one round share the machine's load, which on a
shared machine varies more from round to round than the layer's cost does.
The best and the median CPU time per delta are shown too. The target (issue 12): the
layer costs under 10% more CPU per event than the bare connection, with
audio keeping off.

A sans-IO figure is printed too: ``ConversationState.apply`` of one delta,
timed in a loop without an event loop.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import time
import timeit
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import trio

import realtime_trio
from realtime_trio import ConversationState, PlaybackTracker, open_realtime
from realtime_trio.audio import decode_audio
from realtime_trio.events import ResponseDone, ResponseOutputAudioDelta

HERE = Path(__file__).resolve().parent
SERVER = str(HERE / "bench_server.py")
API_KEY = "sk-bench"
TARGET = 1.10
CLIENTS = ("bare", "layer", "layer+tracker", "layer+keep")
MODES = ("count", "decode")


def stream_request(n: int) -> dict[str, Any]:
    return {
        "type": "response.create",
        "response": {"metadata": {"bench": f"stream:{n}"}},
    }


class Server:
    """``bench_server.py`` in its own process; it stops when our end of its stdin closes."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, SERVER, "--max-seconds", "1800", "--watch-stdin"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.process.kill()
            raise RuntimeError(f"bench_server.py did not report a port: {line!r}")
        self.url = f"ws://127.0.0.1:{int(line)}/v1/realtime?model=bench"

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def consume(source: Any, mode: str) -> int:
    """What the application does with each event: count the deltas (and decode them)."""
    decode = mode == "decode"
    delta = ResponseOutputAudioDelta
    n = 0
    async for event in source:
        if type(event) is delta:
            n += 1
            if decode:
                decode_audio(event.delta)
        elif type(event) is ResponseDone:
            break
    return n


async def stream_cpu(source: Any, conn: Any, mode: str, events: int) -> float:
    """CPU µs per delta of one stream of ``events`` deltas read from ``source``."""
    await conn.send(stream_request(events))
    cpu = time.process_time()
    n = await consume(source, mode)
    spent = time.process_time() - cpu
    assert n == events, (n, events)
    return spent / events * 1e6


async def run_mode(
    args: argparse.Namespace, url: str, mode: str
) -> dict[str, list[float]]:
    """Every client on a connection of its own, all open at once, taking turns.

    Each round measures one stream per client, back to back, so that the
    clients of one round see the same load on the machine.
    """
    samples: dict[str, list[float]] = {client: [] for client in CLIENTS}
    async with AsyncExitStack() as stack:
        sources: dict[str, tuple[Any, Any]] = {}
        for client in CLIENTS:
            conn = await stack.enter_async_context(
                open_realtime(model="bench", api_key=API_KEY, url=url)
            )
            if client == "bare":
                sources[client] = (conn, conn)
                continue
            options: dict[str, Any] = {}
            if client == "layer+tracker":
                options["playback"] = PlaybackTracker()
            if client == "layer+keep":
                options["keep_audio_bytes"] = 64 * 2**20
            convo = await stack.enter_async_context(
                realtime_trio.open_conversation(conn, **options)
            )
            sources[client] = (convo, conn)
        for source, conn in sources.values():  # warm-up: hooks, caches, allocator
            await stream_cpu(source, conn, mode, args.warmup)
        for round_ in range(args.rounds):
            shift = round_ % len(CLIENTS)
            for client in CLIENTS[shift:] + CLIENTS[:shift]:
                source, conn = sources[client]
                samples[client].append(
                    await stream_cpu(source, conn, mode, args.events)
                )
    return samples


def apply_figure() -> float:
    """µs per ``ConversationState.apply`` of one 100 ms delta (no event loop)."""
    state = ConversationState()
    delta = ResponseOutputAudioDelta(
        event_id="event_1",
        response_id="resp_1",
        item_id="item_1",
        output_index=0,
        content_index=0,
        delta=base64.b64encode(os.urandom(4_800)).decode(),
    )
    timer = timeit.Timer(lambda: state.apply(delta))
    loops, _ = timer.autorange()
    return min(timer.repeat(7, loops)) / loops * 1e6


async def run(args: argparse.Namespace, url: str) -> dict[str, dict[str, list[float]]]:
    samples = {}
    for mode in MODES:
        samples[mode] = await run_mode(args, url, mode)
        print(f"{mode}: done", file=sys.stderr)
    return samples


def report(
    samples: dict[str, dict[str, list[float]]], apply_us: float
) -> dict[str, Any]:
    figures: dict[str, Any] = {"apply_us_per_delta": apply_us}
    print(
        f"ConversationState.apply, one 100 ms delta: {apply_us:.2f} µs (no event loop)\n"
    )
    for mode in MODES:
        bare = samples[mode]["bare"]
        print(f"consumer: {mode} (CPU µs per delta)")
        print(
            f"| {'client':<14} | {'best':>6} | {'median':>6} "
            f"| {'x bare (median of rounds)':>25} | {'x bare, best':>12} |"
        )
        print(f"| {'-' * 14} | {'-' * 5}: | {'-' * 5}: | {'-' * 24}: | {'-' * 11}: |")
        for client in CLIENTS:
            values = samples[mode][client]
            best, median = min(values), statistics.median(values)
            # Each round's figure against the bare client's of the same round.
            paired = statistics.median(v / b for v, b in zip(values, bare, strict=True))
            print(
                f"| {client:<14} | {best:>6.2f} | {median:>6.2f} "
                f"| {paired:>25.3f} | {best / min(bare):>12.3f} |"
            )
            figures[f"{mode}.{client}.best_cpu_us_per_delta"] = best
            figures[f"{mode}.{client}.median_cpu_us_per_delta"] = median
            figures[f"{mode}.{client}.x_bare_paired"] = paired
            figures[f"{mode}.{client}.x_bare_best"] = best / min(bare)
        print()
    ratio = figures["count.layer.x_bare_paired"]
    verdict = "met" if ratio < TARGET else "NOT met"
    print(
        f"target: the layer under {TARGET:.2f} x the bare connection "
        f"(count, median of the rounds' ratios): {verdict} ({ratio:.3f})"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds of 1,000 deltas")
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--json", help="write every sample and figure to this file")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.events = 5, 1_000
    server = Server()
    try:
        samples = trio.run(run, args, server.url)
    finally:
        server.stop()
    figures = report(samples, apply_figure())
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"args": vars(args), "samples": samples, "figures": figures}, indent=2
            )
        )


if __name__ == "__main__":
    main()
