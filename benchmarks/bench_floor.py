"""The asyncio floor client: raw `websockets` (asyncio) + `json`, no types.

What the least a Python client can do costs: `websockets`' asyncio client
with its defaults (its C extension masks what it sends), ``json.loads``
of every message into dicts, ``base64.b64decode`` of every delta, one
``json.dumps`` append per chunk. ``bench_peers.py`` runs it in a process of
its own, against the same server and plan as the other clients, through the
functions here (the workers import this module; it is not run by itself).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from bench_connection import (
    API_KEY,
    SESSION,
    Meter,
    Plan,
    latency_result,
    measure_memory,
    pcm_chunks,
    stream_request,
    stream_result,
    upload_result,
    url_for,
)
from websockets.asyncio.client import ClientConnection, connect

HEADERS = {"Authorization": f"Bearer {API_KEY}"}


async def open_floor(port: int) -> ClientConnection:
    """A connection with the library's defaults, past its ``session.created``."""
    ws = await connect(url_for(port), additional_headers=HEADERS)
    first = json.loads(await ws.recv())
    assert first["type"] == "session.created", first
    return ws


async def round_floor(port: int, plan: Plan) -> dict[str, Any]:
    """One round of (a)-(c) (see ``bench_connection.py``) with the floor client."""
    audio = pcm_chunks(plan.upload_seconds)
    out: dict[str, Any] = {}
    ws = await open_floor(port)
    try:

        async def round_trip() -> None:
            await ws.send(json.dumps({"type": "session.update", "session": SESSION}))
            event = json.loads(await ws.recv())
            assert event["type"] == "session.updated", event

        async def stream(n: int, meter: Meter) -> tuple[int, dict[str, Any]]:
            pcm_bytes = 0
            with meter.measure():
                await ws.send(json.dumps(stream_request(n)))
                while True:
                    event = json.loads(await ws.recv())
                    kind = event["type"]
                    if kind == "response.output_audio.delta":
                        pcm_bytes += len(base64.b64decode(event["delta"]))
                    elif kind == "response.done":
                        break
            return pcm_bytes, event

        await stream(plan.warmup_events, Meter())
        for _ in range(plan.warmup_round_trips):
            await round_trip()

        samples: list[float] = []
        cpu = time.process_time()
        for _ in range(plan.round_trips):
            start = time.perf_counter()
            await round_trip()
            samples.append(time.perf_counter() - start)
        out["latency"] = latency_result(samples, time.process_time() - cpu)

        meter = Meter()
        pcm_bytes, done = await stream(plan.stream_events, meter)
        out["stream"] = stream_result(meter, plan.stream_events, pcm_bytes, done)

        with meter.measure():
            for chunk in audio:
                b64 = base64.b64encode(chunk).decode("ascii")
                await ws.send(
                    json.dumps({"type": "input_audio_buffer.append", "audio": b64})
                )
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
            while True:
                event = json.loads(await ws.recv())
                if event["type"] == "input_audio_buffer.committed":
                    break
        assert event["bench_bytes"] == sum(map(len, audio))
        out["upload"] = upload_result(meter, plan.upload_seconds, len(audio))
    finally:
        await ws.close()
    return out


async def memory_floor(port: int, count: int) -> dict[str, Any]:
    """Idle connections of the floor client (see ``measure_memory``)."""

    async def close_one(ws: ClientConnection) -> None:
        await ws.close()

    return await measure_memory(lambda: open_floor(port), close_one, count)
