"""Fifty concurrent SIP calls through one server, on loopback."""

from __future__ import annotations

import time

import trio

from realtime_trio import SessionConfig, events
from realtime_trio.calls import CallOutcome, IncomingCall
from realtime_trio.testing import Rule, Say, Scenario
from tests.helpers.sip import SECRET, sim_and_server

CALLS = 50


async def test_fifty_concurrent_calls_through_one_server() -> None:
    scenario = Scenario(rules=[Rule(steps=[Say(text="Hello, how can I help?")])])
    in_call = 0
    peak = 0
    all_in = trio.Event()

    async def handler(call: IncomingCall) -> None:
        nonlocal in_call, peak
        in_call += 1
        peak = max(peak, in_call)
        if in_call == CALLS:
            all_in.set()
        try:
            conn = call.connection
            await conn.update_session(
                SessionConfig(instructions=f"Call {call.call_id}.")
            )
            # Hold every call open until all fifty are connected at once.
            await all_in.wait()
            response = await conn.create_response()
            async for event in conn:
                if (
                    isinstance(event, events.ResponseDone)
                    and event.response.id == response.id
                ):
                    await call.hangup()
        finally:
            in_call -= 1

    start = time.monotonic()
    async with sim_and_server(handler, scenario=scenario) as (sim, server):
        call_ids: list[str] = []

        async def place() -> None:
            call_ids.append(await sim.place_sip_call(server.url, SECRET))

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                for _ in range(CALLS):
                    nursery.start_soon(place)
            assert len(call_ids) == CALLS
            for call_id in call_ids:
                await (await server.wait_call(call_id)).wait_ended()

        assert peak == CALLS
        for call_id in call_ids:
            call = server.get_call(call_id)
            assert call is not None and call.outcome is CallOutcome.HUNG_UP, call
            sim_call = sim.calls[call_id]
            assert sim_call.webhook_status == 200
            assert sim_call.history == ["incoming", "accepted", "ended"]
            assert sim_call.session == {"type": "realtime"}
        records = [r for r in sim.connections if r.call_id is not None]
        assert sorted(r.call_id for r in records) == sorted(call_ids)
        for record in records:
            assert record.session["instructions"] == f"Call {record.call_id}."
            assert record.close_code == 1000
        stats = server.statistics()
        assert (stats.calls_received, stats.calls_accepted, stats.active_calls) == (
            CALLS,
            CALLS,
            0,
        )
        assert stats.calls_failed == stats.calls_rejected == 0
    assert time.monotonic() - start < 20
