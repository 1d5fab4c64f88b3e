"""Connection-engine benchmark: realtime_trio vs raw trio-websocket vs the openai SDK.

Run it directly (pytest does not collect it)::

    python benchmarks/bench_connection.py [--quick] [--json out.json]

One server process (``bench_server.py``, trio + trio-websocket on 127.0.0.1)
serves every client; the clients run in this process (the SDK's, which needs
asyncio, in child processes), one at a time, never concurrently. Measured:

(a) latency: sequential ``session.update`` → ``session.updated`` round trips,
    p50 and p99;
(b) streaming: the server sends N ``response.output_audio.delta`` events of
    100 ms of audio (4,800 PCM16 bytes), the client parses each and decodes
    its audio to PCM; events/s from sending ``response.create`` to receiving
    ``response.done``;
(c) upload: 10 minutes of PCM16 24 kHz audio sent in 100 ms chunks, then a
    commit; audio seconds per wall second until ``input_audio_buffer.committed``
    arrives (the server acknowledges only after it has counted every byte);
(d) memory: resident memory (RSS) per idle connection with 200 connections
    open in one process (a fresh child process per client; one connection is
    opened and closed first so one-time costs are not counted), and the Python
    heap per connection measured with `tracemalloc` on 200 more.

Clients: realtime_trio with default settings (and, for the upload only, with
``audio_frame_ms=100``, one append per 100 ms chunk instead of two); a raw
trio-websocket + json client with trio-websocket's defaults (4 KiB reads) and,
as context, "tuned" with 64 KiB reads; the openai SDK's asyncio client in a
child process per round (skipped if it cannot be imported). Each client runs
``--rounds`` times, round-robin (the starting client rotates every round), and
the median of each figure over the rounds is reported. Each round starts on a
fresh connection with an unmeasured warm-up (500 events, 20 round trips).

Besides wall time, the client's CPU time per event, chunk or round trip is
reported: it is much less sensitive to other load on the machine. So are the
server's CPU share of each round (near 100% would mean the server was the
bottleneck) and how many CPUs other processes kept busy during the run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import psutil  # type: ignore[import-untyped,unused-ignore]
import trio
import trio_websocket

import realtime_trio
from realtime_trio import connect_realtime, open_realtime
from realtime_trio.audio import decode_audio
from realtime_trio.events import (
    InputAudioBufferCommitted,
    ResponseDone,
    ResponseOutputAudioDelta,
    SessionUpdated,
)

HERE = Path(__file__).resolve().parent
SELF = str(HERE / "bench_connection.py")
SERVER = str(HERE / "bench_server.py")
API_KEY = "sk-bench"
BYTES_PER_SECOND = 48_000  # PCM16 mono 24 kHz
CHUNK_MS = 100
CHUNK_BYTES = BYTES_PER_SECOND * CHUNK_MS // 1000
SESSION = {"type": "realtime", "instructions": "bench"}
KIB = 1024

#: The issue's targets.
STREAM_VS_SDK = 1.5
STREAM_VS_RAW = 1.0
LATENCY_VS_RAW = 1.2
UPLOAD_REAL_TIME = 300.0

TRIO_CLIENTS = ("realtime_trio", "raw", "raw_tuned")
LABELS = {
    "realtime_trio": "realtime_trio (defaults)",
    "raw": "raw trio-websocket + json (defaults)",
    "raw_tuned": "raw trio-websocket + json, 64 KiB reads",
    "sdk": "openai SDK (asyncio, websockets)",
}


@attrs.frozen
class Plan:
    """How much each client does in one round."""

    round_trips: int
    stream_events: int
    upload_seconds: int
    warmup_events: int = 500
    warmup_round_trips: int = 20

    def to_json(self) -> str:
        return json.dumps(attrs.asdict(self))


def pcm_chunks(seconds: int) -> list[bytes]:
    """``seconds`` of random PCM16 audio in 100 ms chunks."""
    data = os.urandom(seconds * BYTES_PER_SECOND)
    return [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]


def url_for(port: int) -> str:
    return f"ws://127.0.0.1:{port}/v1/realtime?model=bench"


def stream_request(n: int) -> dict[str, Any]:
    return {
        "type": "response.create",
        "response": {"metadata": {"bench": f"stream:{n}"}},
    }


def percentile(samples: list[float], q: float) -> float:
    """The ``q``-quantile (0..1) by linear interpolation, as numpy's default."""
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


class Meter:
    """Wall and CPU time of one measured stretch (CPU: this process, all threads)."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    @contextmanager
    def measure(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.wall = time.perf_counter() - wall
        self.cpu = time.process_time() - cpu


def stream_result(
    meter: Meter, events: int, pcm_bytes: int, done: dict[str, Any]
) -> dict[str, float]:
    """The figures of one stream; ``done`` holds the extra fields of ``response.done``."""
    assert pcm_bytes == events * CHUNK_BYTES, (pcm_bytes, events)
    return {
        "events_per_s": events / meter.wall,
        "cpu_us_per_event": meter.cpu / events * 1e6,
        "wall_s": meter.wall,
        "server_cpu_share": done["bench_server_cpu_s"] / done["bench_server_wall_s"],
    }


def upload_result(meter: Meter, seconds: float, chunks: int) -> dict[str, float]:
    return {
        "x_real_time": seconds / meter.wall,
        "cpu_us_per_chunk": meter.cpu / chunks * 1e6,
        "wall_s": meter.wall,
    }


def latency_result(samples: list[float], cpu: float) -> dict[str, float]:
    return {
        "p50_us": percentile(samples, 0.5) * 1e6,
        "p99_us": percentile(samples, 0.99) * 1e6,
        "cpu_us_per_round_trip": cpu / len(samples) * 1e6,
    }


# --- (a)-(c) with realtime_trio -----------------------------------------------------


async def round_realtime_trio(
    port: int, plan: Plan, audio: list[bytes]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with open_realtime(model="bench", api_key=API_KEY, url=url_for(port)) as conn:
        await conn.receive()  # session.created

        async def send_and_receive() -> None:
            await conn.send({"type": "session.update", "session": SESSION})
            event = await conn.receive()
            assert isinstance(event, SessionUpdated), event

        async def stream(n: int, meter: Meter) -> tuple[int, dict[str, Any]]:
            pcm_bytes = 0
            with meter.measure():
                await conn.send(stream_request(n))
                async for event in conn:
                    if type(event) is ResponseOutputAudioDelta:
                        pcm_bytes += len(decode_audio(event.delta))
                    elif type(event) is ResponseDone:
                        break
            assert isinstance(event, ResponseDone)
            return pcm_bytes, dict(event.extra_fields)

        # Warm-up: codec hooks, caches, the allocator.
        await stream(plan.warmup_events, Meter())
        for _ in range(plan.warmup_round_trips):
            await send_and_receive()

        samples: list[float] = []
        cpu = time.process_time()
        for _ in range(plan.round_trips):
            start = time.perf_counter()
            await conn.update_session(SESSION)
            samples.append(time.perf_counter() - start)
            event = await conn.receive()  # the answer is on the event stream too
            assert isinstance(event, SessionUpdated), event
        out["latency"] = latency_result(samples, time.process_time() - cpu)

        out["latency_send_receive"] = await time_round_trips(
            send_and_receive, plan.round_trips
        )

        meter = Meter()
        pcm_bytes, done = await stream(plan.stream_events, meter)
        out["stream"] = stream_result(meter, plan.stream_events, pcm_bytes, done)

        out["upload"] = await upload_realtime_trio(conn, audio)

    # Context: the same upload with one append per 100 ms chunk instead of two.
    async with open_realtime(
        model="bench", api_key=API_KEY, url=url_for(port), audio_frame_ms=CHUNK_MS
    ) as conn:
        await conn.receive()  # session.created
        await upload_realtime_trio(conn, audio[:10])  # warm-up
        out["upload_frame_100ms"] = await upload_realtime_trio(conn, audio)
    return out


async def upload_realtime_trio(
    conn: realtime_trio.RealtimeConnection, audio: list[bytes]
) -> dict[str, float]:
    """Send ``audio`` with `send_audio`, commit, and time it until ``committed``."""
    meter = Meter()
    with meter.measure():
        for chunk in audio:
            await conn.send_audio(chunk)
        committed = await conn.commit_audio()
    assert committed.extra_fields["bench_bytes"] == sum(map(len, audio))
    event = await conn.receive()  # the answer is on the event stream too
    assert isinstance(event, InputAudioBufferCommitted), event
    seconds = len(audio) * CHUNK_MS / 1000
    return upload_result(meter, seconds, len(audio))


# --- (a)-(c) with a raw client: text in and out, json and base64 by hand -------------


async def raw_client_round(
    send: Callable[[str], Awaitable[object]],
    receive: Callable[[], Awaitable[str | bytes]],
    plan: Plan,
    audio: list[bytes],
) -> dict[str, Any]:
    """One round of (a)-(c) for a raw client, whatever its event loop.

    ``send`` and ``receive`` are the client's own text send and receive (the
    bound methods: no call is added to its path); everything else is
    ``json`` and ``base64`` in the caller's task, the same for every raw client.
    """

    async def round_trip() -> None:
        await send(json.dumps({"type": "session.update", "session": SESSION}))
        event = json.loads(await receive())
        assert event["type"] == "session.updated", event

    async def stream(n: int, meter: Meter) -> tuple[int, dict[str, Any]]:
        pcm_bytes = 0
        with meter.measure():
            await send(json.dumps(stream_request(n)))
            while True:
                event = json.loads(await receive())
                kind = event["type"]
                if kind == "response.output_audio.delta":
                    pcm_bytes += len(base64.b64decode(event["delta"]))
                elif kind == "response.done":
                    break
        return pcm_bytes, event

    async def upload(audio: list[bytes]) -> int:
        for chunk in audio:
            b64 = base64.b64encode(chunk).decode("ascii")
            await send(json.dumps({"type": "input_audio_buffer.append", "audio": b64}))
        await send(json.dumps({"type": "input_audio_buffer.commit"}))
        while True:
            event = json.loads(await receive())
            if event["type"] == "input_audio_buffer.committed":
                return int(event["bench_bytes"])

    return await measure_round(round_trip, stream, upload, plan, audio)


async def time_round_trips(
    round_trip: Callable[[], Awaitable[None]], count: int
) -> dict[str, float]:
    """``count`` round trips, one after the other: their latency and CPU figures."""
    samples: list[float] = []
    cpu = time.process_time()
    for _ in range(count):
        start = time.perf_counter()
        await round_trip()
        samples.append(time.perf_counter() - start)
    return latency_result(samples, time.process_time() - cpu)


async def measure_round(
    round_trip: Callable[[], Awaitable[None]],
    stream: Callable[[int, Meter], Awaitable[tuple[int, dict[str, Any]]]],
    upload: Callable[[list[bytes]], Awaitable[int]],
    plan: Plan,
    audio: list[bytes],
) -> dict[str, Any]:
    """The figures of one round of (a)-(c), from a peer client's own three steps.

    ``stream(n, meter)`` asks for ``n`` deltas and times them with ``meter``
    (the PCM bytes decoded, the extra fields of ``response.done``);
    ``upload(audio)`` appends the chunks, commits, and returns the bytes the
    server says it received.
    """
    out: dict[str, Any] = {}
    await stream(plan.warmup_events, Meter())
    for _ in range(plan.warmup_round_trips):
        await round_trip()

    out["latency"] = await time_round_trips(round_trip, plan.round_trips)

    meter = Meter()
    pcm_bytes, done = await stream(plan.stream_events, meter)
    out["stream"] = stream_result(meter, plan.stream_events, pcm_bytes, done)

    with meter.measure():
        received = await upload(audio)
    assert received == sum(map(len, audio)), received
    out["upload"] = upload_result(meter, plan.upload_seconds, len(audio))
    return out


# --- (a)-(c) with raw trio-websocket + json -----------------------------------------


async def round_raw(
    port: int, plan: Plan, audio: list[bytes], receive_buffer_size: int | None
) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if receive_buffer_size is not None:
        options["receive_buffer_size"] = receive_buffer_size
    headers = [(b"Authorization", f"Bearer {API_KEY}".encode())]
    async with trio_websocket.open_websocket_url(
        url_for(port), extra_headers=headers, **options
    ) as ws:
        first = json.loads(await ws.get_message())
        assert first["type"] == "session.created", first
        return await raw_client_round(ws.send_message, ws.get_message, plan, audio)


# --- (a)-(c) with the openai SDK (asyncio, in a child process) ----------------------


def sdk_import_error() -> str | None:
    """Why the SDK's realtime client cannot be used here (None if it can)."""
    try:
        import openai  # noqa: F401
        import websockets  # noqa: F401
    except Exception as exc:  # ImportError, or a broken install
        return f"{type(exc).__name__}: {exc}"
    return None


async def sdk_round(port: int, plan: Plan) -> dict[str, Any]:
    """One round with the SDK; runs under asyncio (``--sdk-worker``)."""
    import openai

    audio = pcm_chunks(plan.upload_seconds)
    client = openai.AsyncOpenAI(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v1")
    out: dict[str, Any] = {"openai": openai.__version__}
    async with client.realtime.connect(model="bench") as conn:
        first = await conn.recv()
        assert first.type == "session.created", first

        async def round_trip() -> None:
            await conn.session.update(session=SESSION)  # type: ignore[arg-type]
            event = await conn.recv()
            assert event.type == "session.updated", event

        async def stream(n: int, meter: Meter) -> tuple[int, dict[str, Any]]:
            pcm_bytes = 0
            with meter.measure():
                await conn.response.create(
                    response={"metadata": {"bench": f"stream:{n}"}}
                )
                async for event in conn:
                    if event.type == "response.output_audio.delta":
                        pcm_bytes += len(base64.b64decode(event.delta))
                    elif event.type == "response.done":
                        break
            extra = event.model_extra or {}
            return pcm_bytes, extra

        async def upload(audio: list[bytes]) -> int:
            for chunk in audio:
                b64 = base64.b64encode(chunk).decode("ascii")
                await conn.input_audio_buffer.append(audio=b64)
            await conn.input_audio_buffer.commit()
            while True:
                event = await conn.recv()
                if event.type == "input_audio_buffer.committed":
                    return int(getattr(event, "bench_bytes", -1))

        out.update(await measure_round(round_trip, stream, upload, plan, audio))
    return out


async def run_worker(args: list[str]) -> dict[str, Any]:
    """Run ``bench_connection.py <args>`` in a child process; return its JSON."""
    result = await trio.run_process(
        [sys.executable, SELF, *args],
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"worker {args[0]} failed ({result.returncode}):\n{result.stderr.decode()}"
        )
    return json.loads(result.stdout.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]


# --- (d) memory per idle connection (child processes) -------------------------------


def rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


async def measure_memory(
    open_one: Callable[[], Awaitable[Any]],
    close_one: Callable[[Any], Awaitable[object]],
    count: int,
) -> dict[str, Any]:
    """Open ``count`` idle connections; report the growth of RSS and of the Python heap.

    Runs under trio or asyncio (it only awaits the callables). One connection
    is opened and closed first, so one-time costs (imports, caches, codec
    hooks) are not charged to the connections. RSS is measured on ``count``
    connections; then ``count`` more are opened under `tracemalloc`, which
    counts the Python heap exactly (but would inflate RSS).
    """
    await close_one(await open_one())
    before = rss()
    conns = [await open_one() for _ in range(count)]
    after = rss()
    tracemalloc.start()
    traced = tracemalloc.get_traced_memory()[0]
    conns += [await open_one() for _ in range(count)]
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] - traced
    tracemalloc.stop()
    for conn in conns:
        await close_one(conn)
    return {
        "connections": count,
        "rss_before_kib": before / KIB,
        "rss_after_kib": after / KIB,
        "kib_per_connection": (after - before) / count / KIB,
        "heap_kib_per_connection": traced / count / KIB,
    }


async def memory_realtime_trio(port: int, count: int) -> dict[str, Any]:
    url = url_for(port)
    async with trio.open_nursery() as nursery:

        async def open_one() -> realtime_trio.RealtimeConnection:
            conn = await connect_realtime(
                nursery, model="bench", api_key=API_KEY, url=url
            )
            await conn.receive()  # session.created
            return conn

        async def close_one(conn: realtime_trio.RealtimeConnection) -> None:
            await conn.aclose()

        return await measure_memory(open_one, close_one, count)


async def memory_raw(port: int, count: int) -> dict[str, Any]:
    url = url_for(port)
    headers = [(b"Authorization", f"Bearer {API_KEY}".encode())]
    async with trio.open_nursery() as nursery:

        async def open_one() -> trio_websocket.WebSocketConnection:
            ws = await trio_websocket.connect_websocket_url(
                nursery, url, extra_headers=headers
            )
            await ws.get_message()  # session.created
            return ws

        async def close_one(ws: trio_websocket.WebSocketConnection) -> None:
            await ws.aclose()

        return await measure_memory(open_one, close_one, count)


async def memory_sdk(port: int, count: int) -> dict[str, Any]:
    import openai

    client = openai.AsyncOpenAI(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v1")

    async def open_one() -> Any:
        conn = await client.realtime.connect(model="bench").enter()
        await conn.recv()  # session.created
        return conn

    async def close_one(conn: Any) -> None:
        await conn.close()

    return await measure_memory(open_one, close_one, count)


MEMORY_WORKERS: dict[str, Callable[[int, int], Awaitable[dict[str, Any]]]] = {
    "realtime_trio": memory_realtime_trio,
    "raw": memory_raw,
    "sdk": memory_sdk,
}


# --- the server process ------------------------------------------------------------


class Server:
    """The benchmark server in its own process."""

    def __init__(self, max_seconds: float, script: str = SERVER) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                script,
                "--max-seconds",
                str(max_seconds),
                "--watch-stdin",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.process.kill()
            raise RuntimeError(f"{script} did not report a port: {line!r}")
        self.port = int(line)
        self.ps = psutil.Process(self.process.pid)

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # the server stops at end of file
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class OtherLoad:
    """How busy other processes kept the machine while we ran (in CPUs).

    The machine's busy CPU time minus ours (this process, its waited-for
    children, the server). A figure well above 0 means the benchmark shared
    the CPUs and its wall-clock figures are pessimistic; the CPU-time columns
    are much less affected.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self.wall = time.perf_counter()
        self.busy = self._busy()
        self.ours = self._ours()

    @staticmethod
    def _busy() -> float:
        t = psutil.cpu_times()
        return float(t.user + t.nice + t.system + getattr(t, "irq", 0.0))

    def _ours(self) -> float:
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        return own + self.server.cpu_seconds()

    def cores_used_by_others(self) -> float:
        busy = self._busy() - self.busy
        ours = self._ours() - self.ours
        return max(0.0, busy - ours) / (time.perf_counter() - self.wall)


def print_elapsed(elapsed: float, others: float) -> None:
    """The last line of a run: how long it took and how busy the machine was."""
    print(
        f"\n({elapsed:.0f} s; meanwhile other processes kept {others:.2f} of "
        f"{os.cpu_count()} CPUs busy)"
    )


# --- the driver --------------------------------------------------------------------


async def one_round(
    client: str, server: Server, plan: Plan, audio: list[bytes]
) -> dict[str, Any]:
    if client == "realtime_trio":
        return await round_realtime_trio(server.port, plan, audio)
    if client == "raw":
        return await round_raw(server.port, plan, audio, None)
    if client == "raw_tuned":
        return await round_raw(server.port, plan, audio, 64 * KIB)
    return await run_worker(
        ["--sdk-worker", "--port", str(server.port), "--plan", plan.to_json()]
    )


def median_of(rounds: list[dict[str, Any]], *keys: str) -> float:
    values = []
    for result in rounds:
        value: Any = result
        for key in keys:
            value = value[key]
        values.append(float(value))
    return statistics.median(values)


def summarize(rounds: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for client, results in rounds.items():
        row = {
            "latency_p50_us": median_of(results, "latency", "p50_us"),
            "latency_p99_us": median_of(results, "latency", "p99_us"),
            "latency_cpu_us": median_of(results, "latency", "cpu_us_per_round_trip"),
            "stream_events_per_s": median_of(results, "stream", "events_per_s"),
            "stream_cpu_us_per_event": median_of(results, "stream", "cpu_us_per_event"),
            "stream_server_cpu_share": median_of(results, "stream", "server_cpu_share"),
            "upload_x_real_time": median_of(results, "upload", "x_real_time"),
            "upload_cpu_us_per_chunk": median_of(results, "upload", "cpu_us_per_chunk"),
        }
        if "upload_frame_100ms" in results[0]:
            row["upload_frame_100ms_x_real_time"] = median_of(
                results, "upload_frame_100ms", "x_real_time"
            )
            row["upload_frame_100ms_cpu_us_per_chunk"] = median_of(
                results, "upload_frame_100ms", "cpu_us_per_chunk"
            )
        if "latency_send_receive" in results[0]:
            row["latency_sr_p50_us"] = median_of(
                results, "latency_send_receive", "p50_us"
            )
            row["latency_sr_p99_us"] = median_of(
                results, "latency_send_receive", "p99_us"
            )
            row["latency_sr_cpu_us"] = median_of(
                results, "latency_send_receive", "cpu_us_per_round_trip"
            )
        out[client] = row
    return out


def check_targets(
    summary: dict[str, dict[str, float]], memory: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    ours = summary["realtime_trio"]
    raw = summary["raw"]
    checks: list[dict[str, Any]] = []

    def add(target: str, figure: float, limit: float, higher_is_better: bool) -> None:
        ok = figure >= limit if higher_is_better else figure <= limit
        checks.append({"target": target, "figure": figure, "limit": limit, "pass": ok})

    if "sdk" in summary:
        add(
            f"streaming >= {STREAM_VS_SDK:g}x the SDK's (events/s ratio)",
            ours["stream_events_per_s"] / summary["sdk"]["stream_events_per_s"],
            STREAM_VS_SDK,
            True,
        )
    add(
        f"streaming >= {STREAM_VS_RAW:g}x raw trio-websocket, default settings",
        ours["stream_events_per_s"] / raw["stream_events_per_s"],
        STREAM_VS_RAW,
        True,
    )
    add(
        f"round-trip p50 <= {LATENCY_VS_RAW:g}x raw (update_session)",
        ours["latency_p50_us"] / raw["latency_p50_us"],
        LATENCY_VS_RAW,
        False,
    )
    add(
        f"round-trip p50 <= {LATENCY_VS_RAW:g}x raw (send + receive)",
        ours["latency_sr_p50_us"] / raw["latency_p50_us"],
        LATENCY_VS_RAW,
        False,
    )
    add(
        f"upload >= {UPLOAD_REAL_TIME:g}x real time",
        ours["upload_x_real_time"],
        UPLOAD_REAL_TIME,
        True,
    )
    del memory  # no target for memory; reported only
    return checks


def print_report(
    summary: dict[str, dict[str, float]],
    memory: dict[str, dict[str, Any]],
    checks: list[dict[str, Any]],
    rounds: dict[str, list[dict[str, Any]]],
    plan: Plan,
    n_rounds: int,
    memory_count: int,
    skipped: str | None,
) -> None:
    print(
        f"\nmedian of {n_rounds} round(s); streaming {plan.stream_events:,} events, "
        f"upload {plan.upload_seconds} s of audio in {CHUNK_MS} ms chunks, "
        f"{plan.round_trips} round trips\n"
    )
    header = (
        "| client | stream events/s | stream CPU µs/event | upload x real time "
        "| upload CPU µs/chunk | RTT p50 µs | RTT p99 µs | RTT CPU µs |"
    )
    print(header)
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for client, row in summary.items():
        print(
            f"| {LABELS[client]} | {row['stream_events_per_s']:,.0f} "
            f"| {row['stream_cpu_us_per_event']:.1f} | {row['upload_x_real_time']:,.0f} "
            f"| {row['upload_cpu_us_per_chunk']:.1f} | {row['latency_p50_us']:.0f} "
            f"| {row['latency_p99_us']:.0f} | {row['latency_cpu_us']:.0f} |"
        )
        if "latency_sr_p50_us" in row:
            print(
                "| realtime_trio, RTT with send() + receive() | | | | "
                f"| {row['latency_sr_p50_us']:.0f} | {row['latency_sr_p99_us']:.0f} "
                f"| {row['latency_sr_cpu_us']:.0f} |"
            )
        if "upload_frame_100ms_x_real_time" in row:
            print(
                "| realtime_trio, audio_frame_ms=100 (upload only) | | "
                f"| {row['upload_frame_100ms_x_real_time']:,.0f} "
                f"| {row['upload_frame_100ms_cpu_us_per_chunk']:.1f} | | | |"
            )
    if skipped:
        print(f"| {LABELS['sdk']} | skipped: {skipped} | | | | | | |")

    print(
        "\nper round (stream events/s | upload x real time | RTT p50 µs "
        "| server CPU share while streaming):"
    )
    for client, results in rounds.items():
        cells = [
            f"{r['stream']['events_per_s']:,.0f} | {r['upload']['x_real_time']:,.0f} "
            f"| {r['latency']['p50_us']:.0f} | {r['stream']['server_cpu_share']:.0%}"
            for r in results
        ]
        print(f"  {client:<14} " + "  ;  ".join(cells))

    print(
        f"\n| {memory_count} idle connections | RSS KiB per connection "
        "| Python heap KiB per connection | RSS before → after (MiB) |"
    )
    print("| --- | ---: | ---: | --- |")
    for client, row in memory.items():
        if "skipped" in row:
            print(f"| {LABELS[client]} | skipped: {row['skipped']} | | |")
            continue
        print(
            f"| {LABELS[client]} | {row['kib_per_connection']:.1f} "
            f"| {row['heap_kib_per_connection']:.1f} "
            f"| {row['rss_before_kib'] / KIB:.1f} → {row['rss_after_kib'] / KIB:.1f} |"
        )

    print("\nTargets:")
    for check in checks:
        print(
            f"- {'PASS' if check['pass'] else 'FAIL'}: {check['target']}: "
            f"{check['figure']:.2f} (limit {check['limit']:g})"
        )


def machine() -> dict[str, Any]:
    import importlib.metadata as md

    def version(dist: str) -> str:
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            return "not installed"

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "realtime_trio": realtime_trio.__version__,
        **{
            d: version(d)
            for d in (
                "trio",
                "trio-websocket",
                "wsproto",
                "orjson",
                "openai",
                "websockets",
                "pydantic",
            )
        },
    }


def place_processes(server: Server, *, pin: bool) -> str:
    """Pin the server to one CPU and this process (and the client processes
    it starts, which inherit it) to another.

    A request/answer round trip hands the CPU back and forth between two
    processes; left to the OS, each round lands the pair on the same CPU or
    on two (waking an idle virtual CPU costs tens of microseconds), and the
    p50 of one client swings by 2x between rounds. Pinned, every client
    meets the same placement, and streaming keeps a CPU for the server.
    """
    if not pin:
        return "unpinned (--no-pin)"
    if not hasattr(os, "sched_setaffinity"):
        return "unpinned (no sched_setaffinity on this platform)"
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return "unpinned (one CPU)"
    os.sched_setaffinity(server.process.pid, {cpus[0]})
    os.sched_setaffinity(0, {cpus[1]})
    return f"server on CPU {cpus[0]}, clients on CPU {cpus[1]}"


async def main_async(args: argparse.Namespace, server: Server) -> None:
    quick: bool = args.quick
    plan = Plan(
        round_trips=100 if quick else 2_000,
        stream_events=2_000 if quick else 20_000,
        upload_seconds=60 if quick else 600,
    )
    n_rounds: int = args.rounds or (1 if quick else 5)
    memory_count: int = args.connections or (50 if quick else 200)
    skipped = sdk_import_error() if not args.no_sdk else "--no-sdk"
    clients = [*TRIO_CLIENTS] + ([] if skipped else ["sdk"])
    info = machine()
    print(
        f"Python {info['python']}, {info['cpus']} CPUs; realtime_trio {info['realtime_trio']}, "
        f"trio {info['trio']}, trio-websocket {info['trio-websocket']}, "
        f"openai {info['openai']}, websockets {info['websockets']}; load average "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
        + f"; {args.placement}"
    )
    if skipped:
        print(f"openai SDK: skipped ({skipped})")

    audio = pcm_chunks(plan.upload_seconds)
    started = time.perf_counter()
    load = OtherLoad(server)
    rounds: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
    for index in range(n_rounds):
        order = clients[index % len(clients) :] + clients[: index % len(clients)]
        for client in order:
            result = await one_round(client, server, plan, audio)
            rounds[client].append(result)
            print(
                f"round {index + 1} {client:<14} stream "
                f"{result['stream']['events_per_s']:>8,.0f} ev/s  upload "
                f"{result['upload']['x_real_time']:>6,.0f}x  RTT p50 "
                f"{result['latency']['p50_us']:>5.0f} µs",
                flush=True,
            )
    memory: dict[str, dict[str, Any]] = {}
    for client in MEMORY_WORKERS:
        if client == "sdk" and skipped:
            memory[client] = {"skipped": skipped}
            continue
        memory[client] = await run_worker(
            [
                "--memory-worker",
                client,
                "--port",
                str(server.port),
                "--connections",
                str(memory_count),
            ]
        )
        print(
            f"memory {client:<14} RSS {memory[client]['kib_per_connection']:.1f} "
            f"KiB/conn, heap {memory[client]['heap_kib_per_connection']:.1f} KiB/conn",
            flush=True,
        )
    others = load.cores_used_by_others()
    elapsed = time.perf_counter() - started

    summary = summarize(rounds)
    checks = check_targets(summary, memory)
    print_report(summary, memory, checks, rounds, plan, n_rounds, memory_count, skipped)
    print_elapsed(elapsed, others)
    if args.json:
        out = {
            "machine": info,
            "load_average": os.getloadavg(),
            "elapsed_s": elapsed,
            "cpus_busy_with_other_processes": others,
            "placement": args.placement,
            "plan": attrs.asdict(plan),
            "rounds": n_rounds,
            "chunk_ms": CHUNK_MS,
            "sdk_skipped": skipped,
            "summary": summary,
            "per_round": rounds,
            "memory": memory,
            "targets": checks,
        }
        await trio.Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a ~20 s smoke run")
    parser.add_argument(
        "--rounds", type=int, help="rounds per client (median reported)"
    )
    parser.add_argument("--connections", type=int, help="idle connections for (d)")
    parser.add_argument("--no-sdk", action="store_true", help="skip the openai SDK")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the OS place the server and the clients (default: one CPU each)",
    )
    # Internal: child processes.
    parser.add_argument("--sdk-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--memory-worker", choices=list(MEMORY_WORKERS), help=argparse.SUPPRESS
    )
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.sdk_worker:
        plan = Plan(**json.loads(args.plan))
        print(json.dumps(asyncio.run(sdk_round(args.port, plan))))
    elif args.memory_worker:
        count = args.connections or 200
        result: dict[str, Any]
        if args.memory_worker == "sdk":
            result = asyncio.run(memory_sdk(args.port, count))
        else:
            result = trio.run(MEMORY_WORKERS[args.memory_worker], args.port, count)
        print(json.dumps(result))
    else:
        server = Server(max_seconds=900)
        try:
            args.placement = place_processes(server, pin=not args.no_pin)
            trio.run(main_async, args, server)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
