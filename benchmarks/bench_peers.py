"""Peer comparison in one run: realtime_trio vs the asyncio floor, raw trio-websocket and the SDK.

Run it directly (pytest does not collect it)::

    python benchmarks/bench_peers.py [--quick] [--rounds N] [--json peers.json]

One server process (``bench_server_asyncio.py``: asyncio + `websockets`, on
127.0.0.1, pinned to the first CPU) serves every client; each client runs in
a process of its own (pinned to the second CPU), one at a time, in an order
that rotates every round:

* ``realtime_trio``: `open_realtime` with its defaults (``bench_connection.py``'s round);
* ``floor``: the asyncio floor, raw `websockets` + ``json.loads``, no types
  (``bench_floor.py``);
* ``raw``: raw trio-websocket + json with its defaults;
* ``sdk``: the openai SDK's asyncio client (skipped if it cannot be imported).

Each round measures, on one fresh connection per client after a warm-up:
streaming (N deltas of 100 ms of audio, each parsed and decoded to PCM),
upload (audio in 100 ms chunks, then a commit, until ``committed``), and
sequential ``session.update`` round trips. Then the round trips again, in
interleaved blocks (``bench_rtt_paired.py``: every client keeps a connection
open and they take turns, a few hundred round trips each, so that all meet
the same machine; the per-round figure swings with the machine's own drift).
Then the idle-memory run: a fresh
process per client opens M idle connections (RSS and exact Python heap per
connection). Every ratio is realtime_trio's figure over the peer's *of the
same round* (throughput: higher is better; latency: lower is better); the
verdicts use the median of those per-round ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
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
import bench_rtt_paired as paired  # noqa: E402

SELF = str(HERE / "bench_peers.py")
SERVER = str(HERE / "bench_server_asyncio.py")
CLIENTS = ("realtime_trio", "floor", "raw", "sdk")
LABELS = {
    "realtime_trio": "realtime_trio (defaults)",
    "floor": "asyncio floor: websockets + json",
    "raw": "raw trio-websocket + json",
    "sdk": "openai SDK (asyncio)",
}
#: Issue 16's targets: (figure key, peer, limit, higher is better, what).
TARGETS = (
    ("upload", "floor", 0.9, True, "upload x real time >= 0.9x the asyncio floor"),
    ("upload", "sdk", 3.0, True, "upload x real time >= 3x the SDK"),
    ("stream", "floor", 1.2, True, "streaming events/s >= 1.2x the asyncio floor"),
    ("rtt", "floor", 1.1, False, "round-trip p50 (send + receive) <= 1.1x the floor"),
)
MEMORY_TARGET_KIB = 20.0


# --- workers (child processes) ---------------------------------------------------


def worker(client: str, port: int, plan: bc.Plan) -> dict[str, Any]:
    if client == "realtime_trio":
        audio = bc.pcm_chunks(plan.upload_seconds)
        return trio.run(bc.round_realtime_trio, port, plan, audio)
    if client == "raw":
        audio = bc.pcm_chunks(plan.upload_seconds)
        return trio.run(bc.round_raw, port, plan, audio, None)
    if client == "floor":
        from bench_floor import round_floor

        return asyncio.run(round_floor(port, plan))
    return asyncio.run(bc.sdk_round(port, plan))


def memory_worker(client: str, port: int, count: int) -> dict[str, Any]:
    if client == "floor":
        from bench_floor import memory_floor

        return asyncio.run(memory_floor(port, count))
    if client == "sdk":
        return asyncio.run(bc.memory_sdk(port, count))
    return trio.run(bc.MEMORY_WORKERS[client], port, count)


def run_child(args: list[str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, SELF, *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --- figures ---------------------------------------------------------------------


def figures(result: dict[str, Any]) -> dict[str, float]:
    """The compared figures of one client's round."""
    rtt = result.get("latency_send_receive", result["latency"])
    return {
        "stream": result["stream"]["events_per_s"],
        "stream_cpu": result["stream"]["cpu_us_per_event"],
        "upload": result["upload"]["x_real_time"],
        "upload_cpu": result["upload"]["cpu_us_per_chunk"],
        "rtt": rtt["p50_us"],
        "rtt_p99": rtt["p99_us"],
        "rtt_helper": result["latency"]["p50_us"],
        "server_share": result["stream"]["server_cpu_share"],
    }


def paired_ratios(
    rounds: list[dict[str, dict[str, float]]], key: str, peer: str
) -> list[float]:
    """realtime_trio's ``key`` over ``peer``'s, round by round."""
    return [r["realtime_trio"][key] / r[peer][key] for r in rounds if peer in r]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def print_paired(blocks: dict[str, list[dict[str, float]]], per_block: int) -> None:
    n = len(blocks["realtime_trio"])
    print(
        f"\nRound trips in {n} interleaved blocks of {per_block} "
        "(median over blocks of each block's p50):\n"
    )
    print("| client | RTT p50 µs | CPU µs per round trip |")
    print("| --- | ---: | ---: |")
    for c, row in paired.summary(blocks).items():
        print(f"| {LABELS[c]} | {row['p50_us']:.0f} | {row['cpu_us']:.0f} |")
    for peer in list(blocks)[1:]:
        ratios = sorted(paired.block_ratios(blocks, "realtime_trio", peer))
        q1, _, q3 = statistics.quantiles(ratios, n=4) if n > 1 else ratios * 3
        print(
            f"  vs {peer:<6} RTT p50 median {statistics.median(ratios):.2f}x "
            f"(quartiles {q1:.2f}-{q3:.2f}, blocks {ratios[0]:.2f}-{ratios[-1]:.2f})"
        )


def print_report(
    rounds: list[dict[str, dict[str, float]]],
    memory: dict[str, dict[str, Any]],
    clients: list[str],
    plan: bc.Plan,
    blocks: dict[str, list[dict[str, float]]] | None = None,
) -> list[dict[str, Any]]:
    n = len(rounds)
    print(
        f"\nmedian of {n} round(s): {plan.stream_events:,} streamed deltas, "
        f"{plan.upload_seconds} s of audio uploaded in 100 ms chunks, "
        f"{plan.round_trips:,} round trips\n"
    )
    print(
        "| client | stream events/s | CPU µs/event | upload x real time "
        "| CPU µs/chunk | RTT p50 µs | RTT p99 µs |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c in clients:

        def med(key: str, c: str = c) -> float:
            return statistics.median(r[c][key] for r in rounds)

        print(
            f"| {LABELS[c]} | {med('stream'):,.0f} | {med('stream_cpu'):.1f} "
            f"| {med('upload'):,.0f} | {med('upload_cpu'):.1f} | {med('rtt'):.0f} "
            f"| {med('rtt_p99'):.0f} |"
        )
    print(
        "\n(realtime_trio's RTT is send() + receive(); with update_session(): "
        f"{statistics.median(r['realtime_trio']['rtt_helper'] for r in rounds):.0f} µs p50)"
    )
    print(
        "\nrealtime_trio / peer, per round (throughput: higher is better; RTT: lower):"
    )
    for peer in clients[1:]:
        for key, what in (
            ("stream", "stream"),
            ("upload", "upload"),
            ("rtt", "RTT p50"),
        ):
            ratios = paired_ratios(rounds, key, peer)
            cells = " ".join(f"{x:.2f}" for x in ratios)
            print(
                f"  vs {peer:<6} {what:<8} median {statistics.median(ratios):.2f}x  [{cells}]"
            )
        cpu = [r[peer]["stream_cpu"] / r["realtime_trio"]["stream_cpu"] for r in rounds]
        up = [r[peer]["upload_cpu"] / r["realtime_trio"]["upload_cpu"] for r in rounds]
        print(
            f"  vs {peer:<6} CPU per event: peer/ours median {statistics.median(cpu):.2f}x;"
            f" CPU per chunk: peer/ours median {statistics.median(up):.2f}x"
        )

    print(
        "\n| idle connections | RSS KiB per connection | Python heap KiB per connection |"
    )
    print("| --- | ---: | ---: |")
    for c, row in memory.items():
        if "skipped" in row:
            print(f"| {LABELS[c]} | skipped: {row['skipped']} | |")
            continue
        print(
            f"| {LABELS[c]} ({row['connections']}) | {row['kib_per_connection']:.1f} "
            f"| {row['heap_kib_per_connection']:.1f} |"
        )

    checks: list[dict[str, Any]] = []
    for key, peer, limit, higher, what in TARGETS:
        ratios = paired_ratios(rounds, key, peer)
        if not ratios:
            continue
        figure = statistics.median(ratios)
        ok = figure >= limit if higher else figure <= limit
        checks.append(
            {"target": what, "figure": figure, "per_round": ratios, "pass": ok}
        )
    if blocks is not None and "floor" in blocks:
        ratios = paired.block_ratios(blocks, "realtime_trio", "floor")
        figure = statistics.median(ratios)
        checks.append(
            {
                "target": "round-trip p50 <= 1.1x the floor, in interleaved blocks",
                "figure": figure,
                "per_block": ratios,
                "pass": figure <= 1.1,
            }
        )
    if "realtime_trio" in memory:
        heap = memory["realtime_trio"]["heap_kib_per_connection"]
        checks.append(
            {
                "target": f"Python heap per idle connection <= {MEMORY_TARGET_KIB:g} KiB",
                "figure": heap,
                "pass": heap <= MEMORY_TARGET_KIB,
            }
        )
    print("\nTargets (issue 16; median of the per-round or per-block ratios):")
    for check in checks:
        print(
            f"- {'PASS' if check['pass'] else 'FAIL'}: {check['target']}: "
            f"{check['figure']:.2f}"
        )
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a ~30 s smoke run")
    parser.add_argument("--rounds", type=int, help="rounds (default 5; --quick 1)")
    parser.add_argument("--connections", type=int, help="idle connections (200)")
    parser.add_argument("--no-sdk", action="store_true", help="skip the openai SDK")
    parser.add_argument(
        "--peers",
        default="floor,raw,sdk",
        help="the peers to run beside realtime_trio (default: floor,raw,sdk)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the idle run")
    parser.add_argument(
        "--rtt-blocks", type=int, help="interleaved round-trip blocks (40; --quick 10)"
    )
    parser.add_argument(
        "--rtt-per-block", type=int, default=200, help="round trips per block (200)"
    )
    parser.add_argument("--rtt-worker", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    parser.add_argument("--worker", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--memory-worker", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        plan = bc.Plan(**json.loads(args.plan))
        print(json.dumps(worker(args.worker, args.port, plan)))
        return
    if args.rtt_worker:
        paired.worker(args.rtt_worker, args.port)
        return
    if args.memory_worker:
        print(
            json.dumps(memory_worker(args.memory_worker, args.port, args.connections))
        )
        return

    plan = bc.Plan(
        round_trips=100 if args.quick else 1_000,
        stream_events=2_000 if args.quick else 20_000,
        upload_seconds=60 if args.quick else 600,
    )
    n_rounds = args.rounds or (1 if args.quick else 5)
    count = args.connections or (50 if args.quick else 200)
    skipped = "--no-sdk" if args.no_sdk else bc.sdk_import_error()
    peers = set(args.peers.split(",")) - ({"sdk"} if skipped else set())
    clients = [c for c in CLIENTS if c == "realtime_trio" or c in peers]
    server = bc.Server(max_seconds=900, script=SERVER)
    try:
        placement = bc.place_processes(server, pin=True)
        info = {**bc.machine(), "cpu": cpu_model(), "placement": placement}
        print(
            f"{info['cpu']}, {info['cpus']} CPUs, {platform.platform()}; Python "
            f"{info['python']}; realtime_trio {info['realtime_trio']}, trio "
            f"{info['trio']}, websockets {info['websockets']}, openai {info['openai']}, "
            f"orjson {info['orjson']}; load average "
            + ", ".join(f"{x:.2f}" for x in os.getloadavg())
            + f"; {placement}; server: asyncio + websockets"
        )
        if skipped:
            print(f"openai SDK: skipped ({skipped})")
        load = bc.OtherLoad(server)
        started = time.perf_counter()
        raw_rounds: list[dict[str, Any]] = []
        rounds: list[dict[str, dict[str, float]]] = []
        for index in range(n_rounds):
            order = clients[index % len(clients) :] + clients[: index % len(clients)]
            results = {
                c: run_child(
                    [
                        "--worker",
                        c,
                        "--port",
                        str(server.port),
                        "--plan",
                        plan.to_json(),
                    ]
                )
                for c in order
            }
            raw_rounds.append(results)
            rounds.append({c: figures(results[c]) for c in clients})
            print(
                f"round {index + 1}: "
                + "; ".join(
                    f"{c} {rounds[-1][c]['stream']:,.0f} ev/s, "
                    f"{rounds[-1][c]['upload']:,.0f}x, {rounds[-1][c]['rtt']:.0f} µs"
                    for c in clients
                ),
                flush=True,
            )
        n_blocks = (
            args.rtt_blocks
            if args.rtt_blocks is not None
            else (10 if args.quick else 40)
        )
        blocks = None
        if n_blocks > 0:
            blocks = paired.run_paired(
                lambda c: [
                    sys.executable,
                    SELF,
                    "--rtt-worker",
                    c,
                    "--port",
                    str(server.port),
                ],
                clients,
                blocks=n_blocks,
                per_block=args.rtt_per_block,
            )
        memory: dict[str, dict[str, Any]] = {}
        if not args.no_memory:
            for c in clients:
                memory[c] = run_child(
                    [
                        "--memory-worker",
                        c,
                        "--port",
                        str(server.port),
                        "--connections",
                        str(count),
                    ]
                )
        others = load.cores_used_by_others()
        elapsed = time.perf_counter() - started
        checks = print_report(rounds, memory, clients, plan, blocks)
        if blocks is not None:
            print_paired(blocks, args.rtt_per_block)
        bc.print_elapsed(elapsed, others)
        if args.json:
            out = {
                "machine": info,
                "load_average": os.getloadavg(),
                "cpus_busy_with_other_processes": others,
                "elapsed_s": elapsed,
                "plan": json.loads(plan.to_json()),
                "figures": rounds,
                "per_round": raw_rounds,
                "memory": memory,
                "rtt_blocks": blocks,
                "targets": checks,
            }
            Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
