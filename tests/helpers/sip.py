"""Shared helpers of the SIP and calls tests: signed deliveries, a simulator plus a server."""

from __future__ import annotations

import argparse
import base64
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import trio

from realtime_trio import calls
from realtime_trio._cli.sip_serve import add_sip_serve_arguments
from realtime_trio.testing import RealtimeSimulator, Scenario, open_simulator
from realtime_trio.webhooks import sign_webhook

SECRET = "whsec_" + base64.b64encode(b"sip-test-secret-0123456789abcdef").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-secret-0123456789abcdef!").decode()
API_KEY = "sk-test-sip-0123456789"


def sip_serve_args(*argv: str) -> argparse.Namespace:
    """The arguments of ``realtime-trio sip-serve`` parsed from ``argv``."""
    parser = argparse.ArgumentParser()
    add_sip_serve_arguments(parser)
    return parser.parse_args(list(argv))


def incoming_payload(
    call_id: str,
    *,
    event_type: str = "realtime.call.incoming",
    sip_headers: Sequence[tuple[str, str]] = (
        ("From", "<sip:+15551230000@example.com>"),
    ),
) -> dict[str, Any]:
    """The JSON of a webhook event as OpenAI sends it."""
    data: dict[str, Any]
    if event_type == "realtime.call.incoming":
        data = {
            "call_id": call_id,
            "sip_headers": [{"name": n, "value": v} for n, v in sip_headers],
        }
    elif event_type == "live.call.incoming":
        data = {
            "session_id": call_id,
            "sip_headers": [{"name": n, "value": v} for n, v in sip_headers],
        }
    else:
        data = {"id": "resp_123"}
    return {
        "object": "event",
        "id": "evt_" + call_id,
        "type": event_type,
        "created_at": int(time.time()),
        "data": data,
    }


def signed_delivery(
    payload: Mapping[str, Any] | bytes,
    *,
    secret: str = SECRET,
    webhook_id: str | None = None,
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A body and its Standard Webhooks headers."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = sign_webhook(body, secret, webhook_id=webhook_id, timestamp=timestamp)
    headers["content-type"] = "application/json"
    return body, headers


async def post(url: str, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
    """POST a delivery over loopback."""
    async with httpx.AsyncClient(timeout=None) as client:
        return await client.post(url, content=body, headers=dict(headers))


@asynccontextmanager
async def sim_and_server(
    handler: calls.CallHandler,
    *,
    scenario: Scenario | None = None,
    **options: Any,
) -> AsyncIterator[tuple[RealtimeSimulator, calls.SipCallServer]]:
    """A simulator and a SIP server pointed at it (fast attach retries)."""
    options.setdefault("webhook_secret", SECRET)
    options.setdefault("api_key", API_KEY)
    options.setdefault("attach_backoff", 0.01)
    async with open_simulator(scenario=scenario) as sim:
        options.setdefault("api_base_url", sim.base_url)
        options.setdefault("realtime_url", sim.url)
        async with calls.open_sip_server(handler, **options) as server:
            yield sim, server


async def eventually(predicate: Callable[[], bool], *, interval: float = 0.01) -> None:
    """Wait until ``predicate()`` holds, for simulator states that have no event to wait on.

    Bound it with the caller's ``trio.fail_after``.
    """
    while not predicate():  # noqa: ASYNC110 - nothing to wait on but the state
        await trio.sleep(interval)


async def place_call(
    sim: RealtimeSimulator,
    server: calls.SipCallServer,
    **kwargs: Any,
) -> calls.IncomingCall:
    """Have the simulator place a SIP call to ``server``; return the server's call."""
    call_id = await sim.place_sip_call(server.url, SECRET, **kwargs)
    assert sim.calls[call_id].webhook_status == 200
    return await server.wait_call(call_id)
