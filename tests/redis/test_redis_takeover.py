"""A ``sip-serve`` instance killed with SIGKILL, and the takeover of its calls by another."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from realtime_trio import calls
from realtime_trio.testing import RealtimeSimulator, open_simulator
from realtime_trio.webhooks import RedisWebhookIdStore
from tests.helpers.redis_server import RedisServer, free_port
from tests.helpers.sip import API_KEY, SECRET, eventually

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

LEASE = 0.6
APP = Path(__file__).with_name("takeover_app.py")


@asynccontextmanager
async def sip_serve(
    sim: RealtimeSimulator, redis: RedisServer, *flags: str
) -> AsyncIterator[tuple[trio.Process, str]]:
    """``realtime-trio sip-serve --redis-url`` in a subprocess; its webhook URL."""
    env = {
        **os.environ,
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_WEBHOOK_SECRET": SECRET,
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "realtime_trio", "sip-serve",
        "--port", "0",
        "--api-base", sim.base_url,
        "--realtime-url", sim.url,
        "--redis-url", redis.url,
        "--lease-seconds", str(LEASE),
        "--handler", f"{APP}:handler",
        *flags,
    ]  # fmt: skip
    process = await trio.lowlevel.open_process(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert process.stdout is not None
    try:
        with trio.fail_after(30):
            buffer = b""
            while b"\n" not in buffer:
                chunk = await process.stdout.receive_some()
                assert chunk, "sip-serve exited before printing its URL"
                buffer += chunk
        yield process, buffer.split(b"\n", 1)[0].decode()
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()


@asynccontextmanager
async def survivor(
    sim: RealtimeSimulator, redis: RedisServer, seen: list[calls.IncomingCall]
) -> AsyncIterator[calls.SipCallServer]:
    """The instance that stays: in this process, on the same Redis."""

    async def handler(call: calls.IncomingCall) -> None:
        seen.append(call)
        async for _ in call.connection:
            pass

    store = RedisWebhookIdStore.from_url(redis.url, lease_ttl=LEASE)
    async with (
        store,
        calls.open_sip_server(
            handler,
            webhook_secret=SECRET,
            api_key=API_KEY,
            api_base_url=sim.base_url,
            realtime_url=sim.url,
            attach_backoff=0.01,
            store=store,
        ) as server,
    ):
        yield server


async def test_a_killed_instance_s_call_is_taken_over_and_resumed(
    redis_server: RedisServer,
) -> None:
    seen: list[calls.IncomingCall] = []
    async with open_simulator() as sim, survivor(sim, redis_server, seen) as other:
        async with sip_serve(sim, redis_server) as (process, url):
            call_id = await sim.place_sip_call(url, SECRET)
            assert sim.calls[call_id].webhook_status == 200
            with trio.fail_after(20):
                (first,) = await sim.wait_connections(1)
                assert first.call_id == call_id
                process.send_signal(signal.SIGKILL)  # killed, not shut down
                await process.wait()
                await first.closed.wait()  # its sideband dropped with it
                call = await other.wait_call(call_id)
                await eventually(
                    lambda: sum(r.call_id == call_id for r in sim.connections) == 2
                )
        assert call.resumed and seen == [call]
        assert call.state == "connected"
        assert other.statistics().calls_taken_over == 1
        assert other.statistics().calls_accepted == 0  # resumed, not accepted again
        # The SIP call survived the dropped sideband and was accepted once.
        assert sim.calls[call_id].history == ["incoming", "accepted"]
        await sim.hang_up(call_id)
        with trio.fail_after(10):
            await call.wait_ended()
        assert call.outcome is calls.CallOutcome.ENDED


async def test_a_call_claimed_but_not_accepted_is_accepted_by_another(
    redis_server: RedisServer,
) -> None:
    seen: list[calls.IncomingCall] = []
    async with open_simulator() as sim, survivor(sim, redis_server, seen) as other:
        async with sip_serve(sim, redis_server, "--decide", f"{APP}:decide_never") as (
            process,
            url,
        ):
            call_id = await sim.place_sip_call(url, SECRET)
            assert sim.calls[call_id].webhook_status == 200  # OpenAI won't retry
            process.send_signal(signal.SIGKILL)
            with trio.fail_after(20):
                await process.wait()
                call = await other.wait_call(call_id)
                await eventually(lambda: sim.calls[call_id].state == "accepted")
                await eventually(lambda: call.state == "connected")
        assert not call.resumed and seen == [call]
        assert other.statistics().calls_taken_over == 1
        assert other.statistics().calls_accepted == 1
        assert sim.calls[call_id].history == ["incoming", "accepted"]
        await sim.hang_up(call_id)


async def test_sigterm_hands_the_calls_over_by_default(
    redis_server: RedisServer,
) -> None:
    seen: list[calls.IncomingCall] = []
    async with open_simulator() as sim, survivor(sim, redis_server, seen) as other:
        async with sip_serve(sim, redis_server) as (process, url):
            call_id = await sim.place_sip_call(url, SECRET)
            with trio.fail_after(20):
                await sim.wait_connections(1)
                process.send_signal(signal.SIGTERM)
                assert await process.wait() == 0
                call = await other.wait_call(call_id)
                await eventually(lambda: call.state == "connected")
        assert call.resumed
        assert sim.calls[call_id].history == ["incoming", "accepted"]  # not hung up
        await sim.hang_up(call_id)


@pytest.mark.parametrize(
    ("flags", "flag"),
    [
        (["--redis-url", "redis://:pa55word-x@127.0.0.1:{port}/0"], "--redis-url"),
        (["--redis-url", "http://127.0.0.1:{port}/0"], "--redis-url"),
        (["--on-shutdown", "hand-over"], "--on-shutdown"),
    ],
)
def test_usage_errors_name_the_flag(flags: list[str], flag: str) -> None:
    port = str(free_port())  # nothing listens there
    env = {**os.environ, "OPENAI_API_KEY": API_KEY, "OPENAI_WEBHOOK_SECRET": SECRET}
    env.pop("REALTIME_TRIO_REDIS_URL", None)
    command = [
        sys.executable, "-m", "realtime_trio", "sip-serve", "--port", "0",
        *(f.format(port=port) for f in flags),
    ]  # fmt: skip
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert flag in line and "pa55word" not in line
