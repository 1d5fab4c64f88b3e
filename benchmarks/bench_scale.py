"""Scaling run: K = 1, 10, 100, 500 concurrent streaming connections in one process.

Run it directly (pytest does not collect it)::

    python benchmarks/bench_scale.py [--quick] [--ks 1,10,100,500] [--json scale.json]

One server process (``bench_server_asyncio.py``, pinned to the first CPU);
for each K and each client (realtime_trio with its defaults, and the asyncio
floor: raw `websockets` + ``json.loads``), a fresh process (pinned to the
second CPU) opens K connections and runs two phases (``realtime_trio_drain``
is realtime_trio whose consumers also take what is already buffered with
``receive_nowait()``, the burst pattern of the backpressure guide; the others
take one event per ``async for`` step, a scheduler trip each):

1. **flat out**: after a warm-up of 50 deltas each, every connection asks
   for N deltas of 100 ms of audio (K x N = 60,000, at least 300 each) at
   once, and the server sends them as fast as the sockets take them; one
   consumer task per connection parses each event and decodes its audio.
   Reported: the process's CPU time per event (``time.process_time``), how
   it grows from K = 1, and the process's peak resident memory
   (``ru_maxrss``) with the idle RSS before the streams for scale. The
   consumers are slower than the server, so each connection's buffers fill:
   this is what bounds the memory.
2. **paced**: each connection receives M deltas at real time (one every 100
   ms), the connections' starts spread over one interval; the server stamps
   each delta with its monotonic clock. Reported: the latency from the
   server's send to the application's hands (p50, p99, max), the latency
   the library adds (realtime_trio's p50 minus the floor's at the same K),
   and the process's CPU time per second of audio received.

With ``--repeat R`` (3 by default, 1 with ``--quick``) the whole sweep runs R
times and each figure is the median of its R runs (peak memory: the largest);
the growth from K = 1 is also shown run by run. On a shared machine a short
stretch drifts: with 20,000 events, K = 1 took a third of a second and read
11.6 to 18.4 µs per event in five runs of the same code; with 60,000 it
reads within about 10%.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import trio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_connection as bc  # noqa: E402
import bench_peers  # noqa: E402

SELF = str(HERE / "bench_scale.py")
CLIENTS = ("realtime_trio", "realtime_trio_drain", "floor")
INTERVAL_MS = 100
#: Deltas each connection streams first, unmeasured (caches, codec hooks).
WARMUP = 50
#: Deltas streamed flat out at each K in all (at least 300 per connection):
#: K = 1 gets as long a stretch as the others, so drift on this shared machine
#: moves its figure, the denominator of the growth, less (20,000, about 0.3 s,
#: read 11.6 to 18.4 µs per event run by run).
FLAT_EVENTS = 60_000
#: Issue 16's targets at K = 500.
CPU_GROWTH_LIMIT = 1.2
PEAK_MIB_LIMIT = 150.0


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def request(n: int, paced: bool) -> dict[str, Any]:
    bench = f"paced:{n}:{INTERVAL_MS}" if paced else f"stream:{n}"
    return {"type": "response.create", "response": {"metadata": {"bench": bench}}}


def summary(
    phase_cpu: float, events: int, latencies: list[float] | None = None
) -> dict[str, float]:
    out = {"events": events, "cpu_us_per_event": phase_cpu / events * 1e6}
    if latencies is not None:
        ordered = sorted(latencies)
        out.update(
            latency_p50_us=bc.percentile(ordered, 0.5) * 1e6,
            latency_p99_us=bc.percentile(ordered, 0.99) * 1e6,
            latency_max_us=ordered[-1] * 1e6,
            cpu_ms_per_audio_s=phase_cpu / (events * INTERVAL_MS / 1000) * 1e3,
        )
    return out


# --- realtime_trio (trio) ------------------------------------------------------------


async def scale_realtime_trio(
    port: int, k: int, n: int, m: int, drain: bool = False
) -> dict[str, Any]:
    from realtime_trio import connect_realtime
    from realtime_trio.audio import decode_audio
    from realtime_trio.events import ResponseDone, ResponseOutputAudioDelta

    out: dict[str, Any] = {}
    async with trio.open_nursery() as nursery:
        conns = []
        for _ in range(k):
            conn = await connect_realtime(
                nursery, model="bench", api_key=bc.API_KEY, url=bc.url_for(port)
            )
            await conn.receive()  # session.created
            conns.append(conn)
        out["idle_rss_kib"] = rss_kib()

        def handle(event: Any, lat: list[float] | None) -> int:
            """1 for a delta (handled), -1 at the end of the response, else 0."""
            if type(event) is ResponseOutputAudioDelta:
                if lat is not None:
                    lat.append((time.monotonic_ns() - int(event.event_id[1:])) / 1e9)
                decode_audio(event.delta)
                return 1
            return -1 if type(event) is ResponseDone else 0

        async def consume(conn: Any, paced: bool, lat: list[float] | None) -> int:
            got = 0
            async for event in conn:
                if (step := handle(event, lat)) < 0:
                    return got
                got += step
                # The burst pattern of the backpressure guide: take what is
                # already buffered without a scheduler trip per event.
                while drain:
                    try:
                        event = conn.receive_nowait()
                    except trio.WouldBlock:
                        break
                    if (step := handle(event, lat)) < 0:
                        return got
                    got += step
            raise AssertionError("stream ended early")

        async def one(
            conn: Any, count: int, paced: bool, delay: float, lat: Any
        ) -> None:
            await trio.sleep(delay)
            await conn.send(request(count, paced))
            assert await consume(conn, paced, lat) == count

        async with trio.open_nursery() as streams:  # warm-up, not measured
            for conn in conns:
                streams.start_soon(one, conn, WARMUP, False, 0.0, None)
        cpu = time.process_time()
        async with trio.open_nursery() as streams:
            for conn in conns:
                streams.start_soon(one, conn, n, False, 0.0, None)
        out["flat"] = summary(time.process_time() - cpu, k * n)
        out["peak_rss_kib"] = peak_kib()

        latencies: list[float] = []
        cpu = time.process_time()
        async with trio.open_nursery() as streams:
            for i, conn in enumerate(conns):
                delay = i * INTERVAL_MS / 1000 / k
                streams.start_soon(one, conn, m, True, delay, latencies)
        out["paced"] = summary(time.process_time() - cpu, k * m, latencies)
        for conn in conns:
            await conn.aclose()
    return out


# --- the asyncio floor ----------------------------------------------------------------


async def scale_floor(port: int, k: int, n: int, m: int) -> dict[str, Any]:
    from bench_floor import open_floor

    out: dict[str, Any] = {}
    conns = [await open_floor(port) for _ in range(k)]
    out["idle_rss_kib"] = rss_kib()

    async def one(ws: Any, count: int, paced: bool, delay: float, lat: Any) -> None:
        await asyncio.sleep(delay)
        await ws.send(json.dumps(request(count, paced)))
        got = 0
        while True:
            event = json.loads(await ws.recv())
            kind = event["type"]
            if kind == "response.output_audio.delta":
                if lat is not None:
                    lat.append((time.monotonic_ns() - int(event["event_id"][1:])) / 1e9)
                base64.b64decode(event["delta"])
                got += 1
            elif kind == "response.done":
                break
        assert got == count

    await asyncio.gather(*(one(ws, WARMUP, False, 0.0, None) for ws in conns))
    cpu = time.process_time()
    await asyncio.gather(*(one(ws, n, False, 0.0, None) for ws in conns))
    out["flat"] = summary(time.process_time() - cpu, k * n)
    out["peak_rss_kib"] = peak_kib()

    latencies: list[float] = []
    cpu = time.process_time()
    await asyncio.gather(
        *(
            one(ws, m, True, i * INTERVAL_MS / 1000 / k, latencies)
            for i, ws in enumerate(conns)
        )
    )
    out["paced"] = summary(time.process_time() - cpu, k * m, latencies)
    for ws in conns:
        await ws.close()
    return out


# --- the driver ------------------------------------------------------------------------


def run_child(client: str, port: int, k: int, n: int, m: int) -> dict[str, Any]:
    args = [client, str(port), str(k), str(n), str(m)]
    result = subprocess.run(
        [sys.executable, SELF, "--worker", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def combined(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of the runs of one client and K (peak memory: the largest)."""

    def med(section: str, key: str) -> float:
        return float(statistics.median(r[section][key] for r in runs))

    return {
        "idle_rss_kib": statistics.median(r["idle_rss_kib"] for r in runs),
        "peak_rss_kib": max(r["peak_rss_kib"] for r in runs),
        "flat": {"cpu_us_per_event": med("flat", "cpu_us_per_event")},
        "paced": {
            "latency_p50_us": med("paced", "latency_p50_us"),
            "latency_p99_us": med("paced", "latency_p99_us"),
            "latency_max_us": max(r["paced"]["latency_max_us"] for r in runs),
            "cpu_ms_per_audio_s": med("paced", "cpu_ms_per_audio_s"),
        },
    }


def print_report(
    runs: dict[str, dict[int, list[dict[str, Any]]]], ks: list[int]
) -> list[Any]:
    results = {
        c: {k: combined(rs) for k, rs in by_k.items()} for c, by_k in runs.items()
    }
    ours, floor = results["realtime_trio"], results.get("floor", {})
    if len(runs["realtime_trio"][ks[0]]) > 1:
        print(f"\nmedian of {len(runs['realtime_trio'][ks[0]])} runs of the sweep")
    print(
        "\n| K | client | flat: CPU µs/event | x K=1 | idle RSS MiB | peak RSS MiB "
        "| paced: latency p50 µs | p99 µs | max µs | CPU ms per audio s |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for k in ks:
        for name, rows in results.items():
            if k not in rows:
                continue
            r = rows[k]
            growth = (
                r["flat"]["cpu_us_per_event"] / rows[ks[0]]["flat"]["cpu_us_per_event"]
            )
            p = r["paced"]
            print(
                f"| {k} | {name} | {r['flat']['cpu_us_per_event']:.1f} | {growth:.2f} "
                f"| {r['idle_rss_kib'] / 1024:.1f} | {r['peak_rss_kib'] / 1024:.1f} "
                f"| {p['latency_p50_us']:.0f} | {p['latency_p99_us']:.0f} "
                f"| {p['latency_max_us']:.0f} | {p['cpu_ms_per_audio_s']:.2f} |"
            )
    if floor:
        print("\nlatency added by realtime_trio (its p50 minus the floor's, same K):")
        for k in ks:
            added = (
                ours[k]["paced"]["latency_p50_us"] - floor[k]["paced"]["latency_p50_us"]
            )
            print(f"  K = {k}: {added:+.0f} µs")
    checks = []
    big = max(ks)
    if big >= 500 and ks[0] == 1:
        growth = (
            ours[big]["flat"]["cpu_us_per_event"] / ours[1]["flat"]["cpu_us_per_event"]
        )
        peak = ours[big]["peak_rss_kib"] / 1024
        checks = [
            (
                f"CPU per event at K={big} <= {CPU_GROWTH_LIMIT}x K=1",
                growth,
                growth <= CPU_GROWTH_LIMIT,
            ),
            (
                f"peak RSS at K={big} <= {PEAK_MIB_LIMIT:g} MiB",
                peak,
                peak <= PEAK_MIB_LIMIT,
            ),
        ]
        if "realtime_trio_drain" in results:
            drained = results["realtime_trio_drain"]
            growth = (
                drained[big]["flat"]["cpu_us_per_event"]
                / drained[1]["flat"]["cpu_us_per_event"]
            )
            checks.append(
                (
                    f"the same, consumers draining bursts with receive_nowait() "
                    f"<= {CPU_GROWTH_LIMIT}x",
                    growth,
                    growth <= CPU_GROWTH_LIMIT,
                )
            )
        for c, by_k in runs.items():
            per_run = [
                b["flat"]["cpu_us_per_event"] / a["flat"]["cpu_us_per_event"]
                for a, b in zip(by_k[1], by_k[big], strict=True)
            ]
            print(
                f"CPU per event K={big} / K=1, run by run, {c}: "
                + " ".join(f"{x:.2f}" for x in per_run)
            )
        print("\nTargets (issue 16; medians of the runs):")
        for what, figure, ok in checks:
            print(f"- {'PASS' if ok else 'FAIL'}: {what}: {figure:.2f}")
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer events per K")
    parser.add_argument("--ks", default="1,10,100,500", help="the values of K")
    parser.add_argument("--no-floor", action="store_true", help="realtime_trio only")
    parser.add_argument(
        "--repeat", type=int, help="runs of the whole sweep (3; --quick 1)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        client, *numbers = args.worker
        port, k, n, m = map(int, numbers)
        if client == "floor":
            result = asyncio.run(scale_floor(port, k, n, m))
        else:
            drain = client == "realtime_trio_drain"
            result = trio.run(scale_realtime_trio, port, k, n, m, drain)
        print(json.dumps(result))
        return

    ks = [int(x) for x in args.ks.split(",")]
    clients = ["realtime_trio", "realtime_trio_drain"] + (
        [] if args.no_floor else ["floor"]
    )
    server = bc.Server(max_seconds=900, script=bench_peers.SERVER)
    try:
        placement = bc.place_processes(server, pin=True)
        info = {**bc.machine(), "cpu": bench_peers.cpu_model(), "placement": placement}
        print(
            f"{info['cpu']}, {info['cpus']} CPUs; Python {info['python']}; realtime_trio "
            f"{info['realtime_trio']}, trio {info['trio']}, websockets {info['websockets']}; "
            "load average "
            + ", ".join(f"{x:.2f}" for x in os.getloadavg())
            + f"; {placement}; server: asyncio + websockets"
        )
        load = bc.OtherLoad(server)
        started = time.perf_counter()
        runs: dict[str, dict[int, list[dict[str, Any]]]] = {
            c: {k: [] for k in ks} for c in clients
        }
        m = 20 if args.quick else 50
        repeat = args.repeat or (1 if args.quick else 3)
        for index in range(repeat):
            for k in ks:
                n = max(200, 5_000 // k) if args.quick else max(300, FLAT_EVENTS // k)
                shift = index % len(clients)
                for client in clients[shift:] + clients[:shift]:
                    r = run_child(client, server.port, k, n, m)
                    runs[client][k].append(r)
                    print(
                        f"run {index + 1} K={k:<4} {client:<14} flat "
                        f"{r['flat']['cpu_us_per_event']:.1f} µs/event "
                        f"({k}x{n}), peak {r['peak_rss_kib'] / 1024:.0f} MiB; paced p50 "
                        f"{r['paced']['latency_p50_us']:.0f} µs ({k}x{m})",
                        flush=True,
                    )
        others = load.cores_used_by_others()
        elapsed = time.perf_counter() - started
        checks = print_report(runs, ks)
        bc.print_elapsed(elapsed, others)
        if args.json:
            out = {
                "machine": info,
                "cpus_busy_with_other_processes": others,
                "runs": runs,
                "targets": checks,
            }
            Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
