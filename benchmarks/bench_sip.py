"""SIP call server: webhooks per second and call set-up latency, one and two instances.

Each configuration runs ``realtime-trio sip-serve`` instances as subprocesses
(one process each, as in production) against the simulator, which lives in
this process and sends its signed ``realtime.call.incoming`` webhooks:

* ``1 instance, memory``: one instance, the in-process webhook-id store;
* ``1 instance, Redis``: one instance with ``--redis-url`` (claims, leases);
* ``2 instances, Redis``: two instances sharing one Redis; the webhooks
  alternate between them, as a load balancer would send them.

Measured:

* webhooks/s: ``--calls`` new calls placed with ``--concurrency`` in flight,
  divided by the time until every webhook is answered (200). Each call is
  then accepted, gets its sideband, and is hung up at once by the handler,
  so the instances do that work meanwhile;
* set-up latency: one call at a time, from the webhook's POST to the
  sideband's handshake reaching the simulator (verify, claim, accept,
  attach); median and 95th percentile.

A real ``redis-server`` (the system's: ``apt-get install redis-server``) is
started on a free loopback port and stopped at the end. Bounded in count and
time; everything stays on 127.0.0.1.

    python benchmarks/bench_sip.py [--quick] [--calls N] [--json sip.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import trio

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from realtime_trio import calls  # noqa: E402
from realtime_trio.testing import RealtimeSimulator, open_simulator  # noqa: E402
from tests.helpers.redis_server import RedisServer  # noqa: E402

SECRET = "whsec_YmVuY2gtc2lwLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm"
API_KEY = "sk-bench-sip"


async def handler(call: calls.IncomingCall) -> None:
    """The instances' handler: return at once (the server then hangs up)."""
    await trio.lowlevel.checkpoint()


@asynccontextmanager
async def instance(sim: RealtimeSimulator, redis_url: str | None) -> AsyncIterator[str]:
    """One ``sip-serve`` subprocess; yields its webhook URL."""
    env = {**os.environ, "OPENAI_API_KEY": API_KEY, "OPENAI_WEBHOOK_SECRET": SECRET}
    env.pop("REALTIME_TRIO_REDIS_URL", None)
    command = [
        sys.executable, "-m", "realtime_trio", "sip-serve", "--port", "0",
        "--api-base", sim.base_url, "--realtime-url", sim.url,
        "--handler", f"{HERE}:handler",
        "--max-calls", "1000",
        *(["--redis-url", redis_url] if redis_url else []),
    ]  # fmt: skip
    process = await trio.lowlevel.open_process(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert process.stdout is not None
    try:
        with trio.fail_after(60):
            buffer = b""
            while b"\n" not in buffer:
                chunk = await process.stdout.receive_some()
                if not chunk:
                    raise RuntimeError("sip-serve exited before printing its URL")
                buffer += chunk
        yield buffer.split(b"\n", 1)[0].decode()
    finally:
        process.terminate()
        with trio.move_on_after(20) as waiting, trio.CancelScope(shield=True):
            await process.wait()
        if waiting.cancelled_caught:
            process.kill()


async def throughput(
    sim: RealtimeSimulator, urls: list[str], count: int, concurrency: int
) -> float:
    """Webhooks answered per second, ``concurrency`` in flight."""
    limit = trio.CapacityLimiter(concurrency)
    statuses: list[int | None] = []

    async def one(i: int) -> None:
        async with limit:
            call_id = await sim.place_sip_call(urls[i % len(urls)], SECRET)
            statuses.append(sim.calls[call_id].webhook_status)

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for i in range(count):
            nursery.start_soon(one, i)
    elapsed = time.perf_counter() - start
    if statuses != [200] * count:
        raise RuntimeError(f"webhooks not all answered 200: {set(statuses)}")
    return count / elapsed


async def latency(sim: RealtimeSimulator, urls: list[str], count: int) -> list[float]:
    """Seconds from each webhook's POST to its sideband's handshake, one call at a time."""
    handshakes = 1 + max((r.index for r in sim.connections), default=-1)
    figures = []
    for i in range(count):
        start = time.perf_counter()
        call_id = await sim.place_sip_call(urls[i % len(urls)], SECRET)
        with trio.fail_after(30):
            while not any(
                r.call_id == call_id for r in await sim.wait_connections(handshakes + 1)
            ):
                handshakes += 1
        handshakes += 1
        figures.append(time.perf_counter() - start)
        await trio.sleep(0.02)  # let the hang-up go by
    return figures


async def settle(sim: RealtimeSimulator) -> None:
    """Wait until every call has ended (the instances hung them up)."""
    with trio.fail_after(120):
        while any(c.state == "accepted" for c in sim.calls.values()):  # noqa: ASYNC110
            await trio.sleep(0.05)  # nothing to wait on but the simulator's state


async def run_config(
    name: str,
    instances: int,
    redis: RedisServer | None,
    args: argparse.Namespace,
    seed: int,
) -> dict[str, Any]:
    # A seed per configuration: its call ids must be new to the shared Redis,
    # which remembers every call it saw (a repeat would be a duplicate).
    sim_cm = open_simulator(keep_ended=10, seed=seed)
    async with sim_cm as sim, AsyncExitStack() as stack:
        urls = [
            await stack.enter_async_context(instance(sim, redis.url if redis else None))
            for _ in range(instances)
        ]
        await throughput(sim, urls, 20, args.concurrency)  # warm-up
        await settle(sim)
        rates = []
        for _ in range(args.rounds):
            rates.append(await throughput(sim, urls, args.calls, args.concurrency))
            await settle(sim)
        delays = await latency(sim, urls, args.latency_calls)
        await settle(sim)
    delays.sort()
    return {
        "config": name,
        "webhooks_per_s": rates,
        "webhooks_per_s_median": statistics.median(rates),
        "setup_ms_median": 1000 * statistics.median(delays),
        "setup_ms_p95": 1000 * delays[int(0.95 * (len(delays) - 1))],
        "setup_ms": [1000 * d for d in delays],
    }


async def main(args: argparse.Namespace) -> None:
    results = []
    with RedisServer() as redis:
        for seed, (name, count, store) in enumerate(
            (
                ("1 instance, memory", 1, None),
                ("1 instance, Redis", 1, redis),
                ("2 instances, Redis", 2, redis),
            )
        ):
            print(f"running: {name} ...", file=sys.stderr, flush=True)
            with trio.fail_after(600):
                results.append(await run_config(name, count, store, args, seed))
    print()
    print(
        "| configuration | webhooks/s (median of rounds) | set-up median | set-up p95 |"
    )
    print("| --- | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['config']} | {r['webhooks_per_s_median']:.0f} "
            f"({', '.join(f'{x:.0f}' for x in r['webhooks_per_s'])}) "
            f"| {r['setup_ms_median']:.1f} ms | {r['setup_ms_p95']:.1f} ms |"
        )
    if args.json:
        machine = {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load": os.getloadavg(),
        }
        await trio.Path(args.json).write_text(
            json.dumps({"machine": machine, "results": results}, indent=2)
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (~30 s)")
    parser.add_argument(
        "--calls", type=int, default=300, help="calls per throughput round"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-calls", type=int, default=60)
    parser.add_argument("--json", default=None, metavar="PATH")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.rounds, args.latency_calls = 60, 1, 15
    return args


if __name__ == "__main__":
    trio.run(main, parse_args())
