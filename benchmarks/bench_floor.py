"""The asyncio floor client: raw `websockets` (asyncio) + `json`, no types.

What the least a Python client can do costs: `websockets`' asyncio client
with its defaults (its C extension masks what it sends), ``json.loads``
of every message into dicts, ``base64.b64decode`` of every delta, one
``json.dumps`` append per chunk. ``bench_peers.py`` runs it in a process of
its own, against the same server and plan as the other clients, through the
functions here (the workers import this module; it is not run by itself).
"""

from __future__ import annotations

import json
from typing import Any

from bench_connection import (
    API_KEY,
    Plan,
    measure_memory,
    pcm_chunks,
    raw_client_round,
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
    ws = await open_floor(port)
    try:
        return await raw_client_round(ws.send, ws.recv, plan, audio)
    finally:
        await ws.close()


async def memory_floor(port: int, count: int) -> dict[str, Any]:
    """Idle connections of the floor client (see ``measure_memory``)."""

    async def close_one(ws: ClientConnection) -> None:
        await ws.close()

    return await measure_memory(lambda: open_floor(port), close_one, count)
