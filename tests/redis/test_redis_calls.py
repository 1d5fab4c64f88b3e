"""Several SIP call servers sharing one real Redis: racing deliveries, hand-over, restarts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
import trio

from realtime_trio import calls
from realtime_trio.testing import RealtimeSimulator, open_simulator
from realtime_trio.webhooks import RedisWebhookIdStore
from tests.helpers.redis_server import RedisServer
from tests.helpers.sip import (
    API_KEY,
    SECRET,
    eventually,
    incoming_payload,
    post,
    signed_delivery,
)

LEASE = 0.3  # seconds: takeovers within ~0.4 s in these tests


class Handler:
    """Holds each call until it ends; remembers what it saw."""

    def __init__(self) -> None:
        self.calls: list[calls.IncomingCall] = []

    async def __call__(self, call: calls.IncomingCall) -> None:
        self.calls.append(call)
        async for _ in call.connection:
            pass


@asynccontextmanager
async def instances(
    redis: RedisServer, count: int, **options: Any
) -> AsyncIterator[tuple[RealtimeSimulator, list[calls.SipCallServer], list[Handler]]]:
    """A simulator and ``count`` servers, each with its own client of one Redis."""
    async with open_simulator() as sim, AsyncExitStack() as stack:
        servers, handlers = [], []
        for _ in range(count):
            store = await stack.enter_async_context(
                RedisWebhookIdStore.from_url(redis.url, lease_ttl=LEASE, timeout=0.5)
            )
            handler = Handler()
            server = await stack.enter_async_context(
                calls.open_sip_server(
                    handler,
                    webhook_secret=SECRET,
                    api_key=API_KEY,
                    api_base_url=sim.base_url,
                    realtime_url=sim.url,
                    attach_backoff=0.01,
                    store=store,
                    **options,
                )
            )
            servers.append(server)
            handlers.append(handler)
        yield sim, servers, handlers


def _sidebands(sim: RealtimeSimulator, call_id: str) -> int:
    return sum(1 for record in sim.connections if record.call_id == call_id)


async def test_racing_deliveries_accept_each_call_once(
    redis_server: RedisServer,
) -> None:
    async with instances(redis_server, 2) as (sim, (a, b), _):
        call_ids = [await sim.place_sip_call(None) for _ in range(4)]
        statuses: list[int] = []

        async def deliver(url: str, body: bytes, headers: dict[str, str]) -> None:
            statuses.append((await post(url, body, headers)).status_code)

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                for call_id in call_ids:
                    payload = incoming_payload(call_id)
                    first = signed_delivery(payload, webhook_id="wh_" + call_id)
                    again = signed_delivery(payload, webhook_id="wh_2_" + call_id)
                    for url in (a.url, b.url):
                        # the same delivery to every instance at once, its
                        # retries, and the call announced under another id
                        for body, headers in (first, first, again):
                            nursery.start_soon(deliver, url, body, headers)
            for call_id in call_ids:
                await eventually(lambda c=call_id: _sidebands(sim, c) == 1)
        assert statuses == [200] * 24
        for call_id in call_ids:
            assert sim.calls[call_id].history == ["incoming", "accepted"]
        stats = [a.statistics(), b.statistics()]
        assert sum(s.calls_received for s in stats) == 4
        assert sum(s.calls_accepted for s in stats) == 4
        assert sum(s.webhooks_duplicate for s in stats) == 20
        for call_id in call_ids:
            await sim.hang_up(call_id)


async def test_graceful_shutdown_hands_calls_over(redis_server: RedisServer) -> None:
    async with instances(redis_server, 2, on_shutdown="hand_over") as (
        sim,
        (a, b),
        (handler_a, handler_b),
    ):
        call_id = await sim.place_sip_call(a.url, SECRET)
        with trio.fail_after(10):
            await eventually(lambda: _sidebands(sim, call_id) == 1)
            await a.aclose()
            resumed = await b.wait_call(call_id)
            await eventually(lambda: _sidebands(sim, call_id) == 2)
        assert resumed.resumed and handler_b.calls == [resumed]
        assert handler_a.calls[0].outcome is calls.CallOutcome.HANDED_OVER
        assert not handler_a.calls[0].resumed
        # Accepted once, never hung up by the instance that left.
        assert sim.calls[call_id].history == ["incoming", "accepted"]
        assert (a.statistics().calls_handed_over, b.statistics().calls_taken_over) == (
            1,
            1,
        )
        await sim.hang_up(call_id)
        with trio.fail_after(10):
            await resumed.wait_ended()
        assert resumed.outcome is calls.CallOutcome.ENDED


async def test_wait_refuses_new_calls_then_hands_over_at_the_timeout(
    redis_server: RedisServer,
) -> None:
    async with instances(redis_server, 2, on_shutdown="wait", shutdown_timeout=0.5) as (
        sim,
        (a, b),
        _,
    ):
        call_id = await sim.place_sip_call(a.url, SECRET)
        with trio.fail_after(10):
            await eventually(lambda: _sidebands(sim, call_id) == 1)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(a.aclose)
                await eventually(lambda: a.statistics().active_calls == 1)
                late = await sim.place_sip_call(a.url, SECRET)
                # Waiting: the call goes on, a new one is refused for a retry.
                assert sim.calls[late].webhook_status == 503
                assert sim.calls[call_id].state == "accepted"
            resumed = await b.wait_call(call_id)
        assert resumed.resumed
        assert sim.calls[call_id].history == ["incoming", "accepted"]
        # The refused call was forgotten: OpenAI's retry reaches b.
        body, headers = signed_delivery(incoming_payload(late), webhook_id="wh_late")
        assert (await post(b.url, body, headers)).status_code == 200
        await sim.hang_up(call_id)


async def test_wait_ends_when_the_calls_end(redis_server: RedisServer) -> None:
    async with instances(redis_server, 1, on_shutdown="wait") as (sim, (a,), _):
        call_id = await sim.place_sip_call(a.url, SECRET)
        with trio.fail_after(10):
            await eventually(lambda: _sidebands(sim, call_id) == 1)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(a.aclose)
                await trio.sleep(0.2)
                assert sim.calls[call_id].state == "accepted"
                await sim.hang_up(call_id)  # the caller hangs up: aclose returns
        assert a.get_call(call_id).outcome is calls.CallOutcome.ENDED  # type: ignore[union-attr]


async def test_redis_restarting_under_a_running_server(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="realtime_trio")
    async with instances(redis_server, 1) as (sim, (a,), (handler,)):
        up = await sim.place_sip_call(a.url, SECRET)
        with trio.fail_after(10):
            await eventually(lambda: _sidebands(sim, up) == 1)
        up_delivery = signed_delivery(incoming_payload(up), webhook_id="wh_up")
        redis_server.stop()
        # Redis down: a new call is answered 503 (OpenAI retries it) and the
        # call in progress goes on.
        down = await sim.place_sip_call(None)
        delivery = signed_delivery(incoming_payload(down), webhook_id="wh_down")
        assert (await post(a.url, *delivery)).status_code == 503
        await trio.sleep(2 * LEASE)  # renewals fail meanwhile
        assert sim.calls[up].state == "accepted" and sim.calls[down].state == "incoming"
        assert a.statistics().store_errors >= 2
        redis_server.start()  # empty: no persistence
        with trio.fail_after(10):
            await eventually(
                lambda: any("restored" in r.getMessage() for r in caplog.records)
            )
            # The retry is acted on; a late delivery of the first call is not.
            assert (await post(a.url, *delivery)).status_code == 200
            assert (await post(a.url, *up_delivery)).status_code == 200
            await eventually(lambda: _sidebands(sim, down) == 1)
        assert sim.calls[up].history == ["incoming", "accepted"]
        assert sim.calls[down].history == ["incoming", "accepted"]
        assert a.statistics().calls_accepted == 2
        assert a.statistics().webhooks_duplicate == 1
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert any("503" in r.getMessage() for r in errors)
        assert len(handler.calls) == 2
        for call_id in (up, down):
            await sim.hang_up(call_id)


def test_hand_over_needs_a_store_with_leases() -> None:
    with pytest.raises(ValueError, match="call leases"):
        calls.SipCallServer(
            Handler(), webhook_secret=SECRET, api_key=API_KEY, on_shutdown="hand_over"
        )
    with pytest.raises(ValueError, match="on_shutdown"):
        calls.SipCallServer(
            Handler(),
            webhook_secret=SECRET,
            api_key=API_KEY,
            on_shutdown="later",  # type: ignore[typeddict-item]
        )
