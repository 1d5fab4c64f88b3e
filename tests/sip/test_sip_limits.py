"""The SIP server's limits (connections, slow headers, call length), health check and counters."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from realtime_trio.calls import (
    CallOutcome,
    IncomingCall,
    Reject,
    SipCallServer,
    open_sip_server,
)
from tests.helpers.sip import (
    API_KEY,
    OTHER_SECRET,
    SECRET,
    incoming_payload,
    place_call,
    post,
    signed_delivery,
    sim_and_server,
)


async def _hang_up(call: IncomingCall) -> None:
    await call.hangup()


def _address(server: SipCallServer) -> tuple[str, int]:
    host, port = server.url.split("//")[1].split("/")[0].split(":")
    return host, int(port)


def _origin(server: SipCallServer) -> str:
    return server.url.removesuffix("/webhook")


# --- connections ----------------------------------------------------------------------


async def test_slow_header_clients_cannot_exhaust_the_connections(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """More slow-header sockets than ``max_connections``: a good client is still answered."""
    async with open_sip_server(
        _hang_up,
        webhook_secret=SECRET,
        api_key=API_KEY,
        max_connections=3,
        header_timeout=5.0,
    ) as server:
        host, port = _address(server)
        start = trio.current_time()
        slow = []
        for _ in range(5):  # two more than the limit: they wait in the backlog
            stream = await trio.open_tcp_stream(host, port)
            await stream.send_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            slow.append(stream)
        await trio.testing.wait_all_tasks_blocked()
        assert server.statistics().http_connections == 3

        async with httpx.AsyncClient(timeout=None) as client:
            with trio.fail_after(60):
                response = await client.get(_origin(server) + "/healthz")
        answered = trio.current_time() - start
        assert response.status_code == 200
        # Answered once the first three slow clients were dropped at the
        # header timeout, not after the last two too.
        assert 5.0 <= answered < 10.0

        closed_at = []
        for stream in slow:
            async with stream:
                assert await stream.receive_some() == b""  # closed by the server
                closed_at.append(trio.current_time() - start)
        assert all(5.0 <= t < 11.0 for t in closed_at), closed_at
        await trio.testing.wait_all_tasks_blocked()
        assert server.statistics().http_connections == 0


async def test_a_client_trickling_its_headers_is_dropped_at_the_header_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_sip_server(
        _hang_up, webhook_secret=SECRET, api_key=API_KEY, header_timeout=3.0
    ) as server:
        stream = await trio.open_tcp_stream(*_address(server))
        start = trio.current_time()
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * 100
        async with stream:
            with pytest.raises(trio.BrokenResourceError):
                for byte in request:  # one byte a second, never the end
                    await stream.send_all(bytes([byte]))
                    await trio.sleep(1)
            # Data, even steady, does not extend the deadline.
            assert 3.0 <= trio.current_time() - start < 6.0


async def test_a_keep_alive_connection_serves_several_requests() -> None:
    async with (
        open_sip_server(
            _hang_up, webhook_secret=SECRET, api_key=API_KEY, max_connections=1
        ) as server,
        httpx.AsyncClient() as client,
    ):
        for _ in range(3):
            response = await client.get(_origin(server) + "/healthz")
            assert response.status_code == 200
        assert server.statistics().http_connections == 1


# --- the call time limit --------------------------------------------------------------


async def test_a_hung_handler_is_hung_up_at_the_limit_and_frees_its_slot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started: list[str] = []

    async def hang(call: IncomingCall) -> None:
        started.append(call.call_id)
        await trio.sleep_forever()

    async with sim_and_server(hang, max_call_seconds=0.5, max_concurrent_calls=1) as (
        sim,
        server,
    ):
        with trio.fail_after(10):
            first = await place_call(sim, server)
            await first.wait_ended()
            # The slot is free: the next call is accepted, not busy.
            second = await place_call(sim, server)
            await second.wait_ended()
        for call in (first, second):
            assert call.outcome is CallOutcome.HUNG_UP
            # The simulator's REST side saw the hang-up.
            assert sim.calls[call.call_id].history == ["incoming", "accepted", "ended"]
        assert started == [first.call_id, second.call_id]
        stats = server.statistics()
        assert (stats.calls_timed_out, stats.calls_busy, stats.active_calls) == (
            2,
            0,
            0,
        )
    assert any(
        "time limit reached" in r.getMessage() and first.call_id in r.getMessage()
        for r in caplog.records
    )


async def test_no_limit_with_none() -> None:
    release = trio.Event()

    async def wait(call: IncomingCall) -> None:
        await release.wait()

    async with sim_and_server(wait, max_call_seconds=None) as (sim, server):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await sim.wait_connections(1)
            await trio.sleep(0.3)
            assert call.outcome is None
            release.set()
            await call.wait_ended()
        assert server.statistics().calls_timed_out == 0


# --- health ---------------------------------------------------------------------------


async def test_the_health_check() -> None:
    async with open_sip_server(
        _hang_up, webhook_secret=SECRET, api_key=API_KEY
    ) as server:
        async with httpx.AsyncClient() as client:
            response = await client.get(_origin(server) + "/healthz")
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json"
            assert response.json() == {"status": "ok", "active_calls": 0}
            response = await client.post(_origin(server) + "/healthz")
            assert (response.status_code, response.headers["allow"]) == (405, "GET")
        assert server.statistics().webhooks_received == 0


async def test_the_health_check_is_503_while_shutting_down() -> None:
    """While a graceful shutdown waits for its calls, load balancers are told to stop."""
    release = trio.Event()

    async def handler(call: IncomingCall) -> None:
        await release.wait()

    async with (
        sim_and_server(handler, on_shutdown="wait") as (sim, server),
        httpx.AsyncClient() as client,
    ):
        health = _origin(server) + "/healthz"
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await sim.wait_connections(1)
            response = await client.get(health)
            assert response.json() == {"status": "ok", "active_calls": 1}
            async with trio.open_nursery() as nursery:
                nursery.start_soon(server.aclose)
                await trio.testing.wait_all_tasks_blocked()  # aclose is waiting
                response = await client.get(health)
                assert response.status_code == 503
                assert response.json() == {"status": "shutting_down"}
                release.set()
            assert call.outcome is not None


async def test_the_health_path_can_move_or_go() -> None:
    async with (
        open_sip_server(
            _hang_up, webhook_secret=SECRET, api_key=API_KEY, health_path="/live"
        ) as server,
        httpx.AsyncClient() as client,
    ):
        assert (await client.get(_origin(server) + "/live")).status_code == 200
        assert (await client.get(_origin(server) + "/healthz")).status_code == 404
    async with (
        open_sip_server(
            _hang_up, webhook_secret=SECRET, api_key=API_KEY, health_path=None
        ) as server,
        httpx.AsyncClient() as client,
    ):
        assert (await client.get(_origin(server) + "/healthz")).status_code == 404


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"health_path": "healthz"}, "health_path must start with '/'"),
        ({"health_path": "/webhook"}, "differ from path"),
        ({"max_connections": 0}, "max_connections must be an int >= 1"),
        ({"max_body_size": 0}, "max_body_size must be an int >= 1"),
        ({"header_timeout": 0}, "header_timeout must be"),
        ({"header_timeout": float("inf")}, "header_timeout must be"),
        ({"max_call_seconds": 0}, "max_call_seconds must be > 0"),
        ({"max_call_seconds": float("nan")}, "max_call_seconds must be > 0"),
    ],
)
def test_bad_limits_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SipCallServer(_hang_up, webhook_secret=SECRET, api_key=API_KEY, **options)


# --- counters -------------------------------------------------------------------------


async def test_counters_after_a_mix_of_calls_and_deliveries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="realtime_trio")
    release = trio.Event()

    async def handler(call: IncomingCall) -> None:
        await release.wait()
        await call.hangup()

    async def decide(call: IncomingCall) -> Reject | None:
        return Reject(603) if call.call_id == rejected_id else None

    rejected_id = ""
    async with sim_and_server(handler, decide=decide, max_concurrent_calls=1) as (
        sim,
        server,
    ):
        with trio.fail_after(10):
            held = await place_call(sim, server)  # accepted, held by the handler
            await sim.wait_connections(1)
            busy = await place_call(sim, server)  # over the limit: 486
            await busy.wait_ended()
            release.set()
            await held.wait_ended()
            # Registered by the simulator, delivered (twice) by hand.
            rejected_id = await sim.place_sip_call(None)
            body, headers = signed_delivery(incoming_payload(rejected_id))
            assert (await post(server.url, body, headers)).status_code == 200
            assert (await post(server.url, body, headers)).text == "duplicate"
            await (await server.wait_call(rejected_id)).wait_ended()
            forged, forged_headers = signed_delivery(
                incoming_payload("rtc_forged"), secret=OTHER_SECRET
            )
            assert (await post(server.url, forged, forged_headers)).status_code == 400
            other, other_headers = signed_delivery(
                incoming_payload("x", event_type="response.completed")
            )
            assert (await post(server.url, other, other_headers)).text == "ignored"
        stats = server.statistics()
        assert (held.outcome, busy.outcome) == (
            CallOutcome.HUNG_UP,
            CallOutcome.REJECTED,
        )
    expected = {
        "active_calls": 0,
        "calls_received": 3,
        "calls_accepted": 1,
        "calls_rejected": 2,  # the busy one and the decided one
        "calls_busy": 1,
        "calls_failed": 0,
        "calls_timed_out": 0,
        "calls_taken_over": 0,
        "webhooks_received": 6,  # 2 from the simulator, 4 posted here
        "webhooks_verified": 5,  # all but the forged one
        "webhooks_invalid": 1,
        "webhooks_duplicate": 1,
        "webhooks_ignored": 1,
    }
    assert {k: getattr(stats, k) for k in expected} == expected
    # The same numbers in the log at shutdown.
    (stopped,) = [r for r in caplog.records if "SIP server stopped" in r.getMessage()]
    for name, value in expected.items():
        assert f"{name}={value}" in stopped.getMessage()
