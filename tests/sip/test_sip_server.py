"""The SIP call server end to end, on loopback, against the simulator."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import traceback
from typing import Any

import httpx
import pytest
import trio

from realtime_trio import CallEnded, ConnectionBroken, SessionConfig, events
from realtime_trio._core.headers import InvalidHeaderError
from realtime_trio.calls import (
    Accept,
    APIError,
    APIRedirectError,
    CallNotFoundError,
    CallOutcome,
    IncomingCall,
    Reject,
    SipCallServer,
    open_sip_server,
    serve_sip,
)
from realtime_trio.testing import (
    CallTool,
    ConnectionFault,
    Delay,
    Rule,
    Say,
    Scenario,
    open_simulator,
)
from realtime_trio.webhooks import InvalidSecretError, MemoryWebhookIdStore
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

WEATHER_TOOL = events.FunctionTool(
    name="get_weather",
    description="The weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


async def _hang_up(call: IncomingCall) -> None:
    await call.hangup()


# --- the whole flow ------------------------------------------------------------------


async def test_end_to_end_sip_call() -> None:
    """Simulated SIP call → signed webhook → verify → accept → sideband → handler → hang-up."""
    scenario = Scenario(
        rules=[
            Rule(tool="get_weather", steps=[Say(text="It is sunny in Paris.")]),
            Rule(
                text="weather",
                steps=[
                    CallTool(
                        name="get_weather",
                        arguments={"city": "Paris"},
                        call_id="call_1",
                    )
                ],
            ),
        ]
    )
    handled: dict[str, Any] = {}

    async def handler(call: IncomingCall) -> None:
        handled["from"] = call.caller
        handled["to"] = call.callee
        handled["state"] = call.state
        conn = call.connection
        assert conn.is_sideband
        await conn.update_session(
            SessionConfig(
                instructions="You are the weather line.", tools=(WEATHER_TOOL,)
            )
        )
        await conn.create_item(
            events.MessageItem(
                role="user", content=(events.InputText(text="What's the weather?"),)
            )
        )
        await conn.create_response()
        answer_id = None  # the response that answers with the tool's output
        async for event in conn:
            match event:
                case events.ResponseFunctionCallArgumentsDone(
                    name="get_weather", call_id=tool_call_id, arguments=arguments
                ):
                    handled["arguments"] = json.loads(arguments)
                    await conn.create_item(
                        events.FunctionCallOutputItem(
                            call_id=tool_call_id, output='{"sky": "sunny"}'
                        )
                    )
                    answer_id = (await conn.create_response()).id
                case events.ResponseOutputAudioTranscriptDone(
                    response_id=rid, transcript=text
                ) if rid == answer_id:
                    handled["answer"] = text
                case events.ResponseDone(response=response) if response.id == answer_id:
                    await call.hangup()
        handled["stream_ended"] = True

    async with sim_and_server(
        handler,
        scenario=scenario,
        session=SessionConfig(instructions="Answer the phone."),
    ) as (sim, server):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await call.wait_ended()

        # What the server saw.
        assert call.outcome is CallOutcome.HUNG_UP
        assert call.error is None
        assert handled == {
            "from": '"Caller" <sip:+15551230000@sip.example.com>;tag=1928301774',
            "to": "<sip:+15559870000@sip.api.openai.com>",
            "state": "connected",
            "arguments": {"city": "Paris"},
            "answer": "It is sunny in Paris.",
            "stream_ended": True,
        }
        # What the simulator observed, step by step.
        sim_call = sim.calls[call.call_id]
        assert sim_call.webhook_status == 200
        assert sim_call.history == ["incoming", "accepted", "ended"]
        assert sim_call.session == {
            "type": "realtime",
            "instructions": "Answer the phone.",
        }
        (record,) = [r for r in sim.connections if r.call_id == call.call_id]
        assert record.status == 101
        assert record.api_key == API_KEY
        sent = record.client_events
        assert [type(e).__name__ for e in sent] == [
            "SessionUpdate",
            "ConversationItemCreate",
            "ResponseCreate",
            "ConversationItemCreate",
            "ResponseCreate",
        ]
        assert sent[0].session.instructions == "You are the weather line."
        output = sent[3].item
        assert isinstance(output, events.FunctionCallOutputItem)
        assert (output.call_id, output.output) == ("call_1", '{"sky": "sunny"}')
        assert record.session["instructions"] == "You are the weather line."
        assert (record.close_code, record.close_reason, record.closed_by) == (
            1000,
            "call ended",
            "server",
        )
        stats = server.statistics()
        assert (stats.calls_received, stats.calls_accepted, stats.active_calls) == (
            1,
            1,
            0,
        )


async def test_webhook_is_answered_before_the_call_is_handled() -> None:
    release = trio.Event()

    async def decide(call: IncomingCall) -> None:
        await release.wait()

    async with sim_and_server(_hang_up, decide=decide) as (sim, server):
        with trio.fail_after(10):
            call_id = await sim.place_sip_call(server.url, SECRET)
            # 200 arrived while the call is still being decided.
            assert sim.calls[call_id].webhook_status == 200
            assert sim.calls[call_id].state == "incoming"
            call = server.calls[call_id]
            assert call.state == "incoming"
            with pytest.raises(RuntimeError, match="no connection"):
                call.connection  # noqa: B018
            release.set()
            await call.wait_ended()
        assert call.outcome is CallOutcome.HUNG_UP
        assert sim.calls[call_id].history == ["incoming", "accepted", "ended"]
        assert server.get_call(call_id) is call
        assert call_id not in server.calls


async def test_handler_returning_hangs_up() -> None:
    async def handler(call: IncomingCall) -> None:
        await call.connection.update_session(SessionConfig(instructions="hi"))

    async with sim_and_server(handler) as (sim, server):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await call.wait_ended()
        assert call.outcome is CallOutcome.HUNG_UP
        assert sim.calls[call.call_id].state == "ended"


async def test_far_end_hangup_ends_the_stream_and_the_call() -> None:
    attached = trio.Event()
    seen: list[str] = []

    async def handler(call: IncomingCall) -> None:
        attached.set()
        async for event in call.connection:
            seen.append(type(event).__name__)
        seen.append("end of stream")

    async with sim_and_server(handler) as (sim, server):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await attached.wait()
            await sim.hang_up(call.call_id)
            await call.wait_ended()
        assert call.outcome is CallOutcome.ENDED
        assert call.close_reason is not None and call.close_reason.code == 1000
        assert seen[-1] == "end of stream"
        assert sim.calls[call.call_id].history == ["incoming", "accepted", "ended"]


async def test_refer_transfers_the_call() -> None:
    async def handler(call: IncomingCall) -> None:
        await call.refer("tel:+14155550123")
        async for _ in call.connection:
            pass

    async with sim_and_server(handler) as (sim, server):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await call.wait_ended()
        assert call.outcome is CallOutcome.REFERRED
        sim_call = sim.calls[call.call_id]
        assert (sim_call.state, sim_call.refer_target) == (
            "referred",
            "tel:+14155550123",
        )


async def test_dtmf_reaches_the_handler() -> None:
    attached = trio.Event()
    keys: list[str] = []

    async def handler(call: IncomingCall) -> None:
        attached.set()
        async for event in call.connection:
            match event:
                case events.InputAudioBufferDtmfEventReceived(event=key):
                    keys.append(key)
                    if key == "#":
                        await call.hangup()

    async with sim_and_server(handler) as (sim, server):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await attached.wait()
            for key in "12#":
                await sim.send_dtmf(call.call_id, key)
            await call.wait_ended()
        assert keys == ["1", "2", "#"]
        assert call.outcome is CallOutcome.HUNG_UP


async def test_interrupt_on_the_call() -> None:
    scenario = Scenario(
        rules=[Rule(steps=[Say(text="A long story."), Delay(seconds=30)])]
    )
    answers: list[str] = []

    async def handler(call: IncomingCall) -> None:
        conn = call.connection
        await conn.create_response()
        async for event in conn:
            match event:
                case events.ResponseOutputAudioDelta(item_id=item_id) if not answers:
                    answers.append("audio")
                    await call.interrupt(item_id=item_id, audio_end_ms=0)
                case events.ResponseDone(response=response):
                    answers.append(f"done:{response.status}")
                case events.OutputAudioBufferCleared():
                    answers.append("cleared")
                    await call.hangup()

    async with sim_and_server(handler, scenario=scenario) as (sim, server):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await call.wait_ended()
        assert answers == ["audio", "done:cancelled", "cleared"]
        sent = [type(e).__name__ for e in sim.connections[0].client_events]
        assert sent == [
            "ResponseCreate",
            "ResponseCancel",
            "ConversationItemTruncate",
            "OutputAudioBufferClear",
        ]


# --- deciding ------------------------------------------------------------------------


async def test_decide_accepts_with_its_session_or_rejects() -> None:
    handled: list[str] = []

    async def decide(call: IncomingCall) -> Accept | Reject:
        if "+1555666" in (call.caller or ""):
            return Reject(486)
        if call.header("x-vip") == "yes":
            return Accept(SessionConfig(instructions="VIP line."))
        return Accept()

    async def handler(call: IncomingCall) -> None:
        handled.append(call.call_id)
        await call.hangup()

    async with sim_and_server(
        handler, decide=decide, session=SessionConfig(instructions="Default line.")
    ) as (sim, server):
        with trio.fail_after(10):
            spam = await place_call(
                sim, server, sip_headers={"From": "<sip:+15556660000@x>"}
            )
            vip = await place_call(
                sim, server, sip_headers={"From": "<sip:+1@x>", "X-VIP": "yes"}
            )
            plain = await place_call(sim, server, sip_headers={"From": "<sip:+2@x>"})
            for call in (spam, vip, plain):
                await call.wait_ended()
        assert spam.outcome is CallOutcome.REJECTED
        assert sim.calls[spam.call_id].reject_status_code == 486
        assert sim.calls[vip.call_id].session == {
            "type": "realtime",
            "instructions": "VIP line.",
        }
        assert sim.calls[plain.call_id].session == {
            "type": "realtime",
            "instructions": "Default line.",
        }
        assert handled == [vip.call_id, plain.call_id]
        stats = server.statistics()
        assert (stats.calls_received, stats.calls_accepted, stats.calls_rejected) == (
            3,
            2,
            1,
        )


async def test_decider_can_reject_itself() -> None:
    async def decide(call: IncomingCall) -> None:
        with pytest.raises(RuntimeError, match="reject it"):
            await call.hangup()
        await call.reject(404)

    async with sim_and_server(_hang_up, decide=decide) as (sim, server):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await call.wait_ended()
        assert call.outcome is CallOutcome.REJECTED
        assert sim.calls[call.call_id].reject_status_code == 404
        with pytest.raises(RuntimeError, match="only an incoming call"):
            await call.reject()
        with pytest.raises(RuntimeError, match="only an accepted call"):
            await call.refer("tel:+1")


async def test_failing_or_slow_decider_rejects_with_480(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def decide(call: IncomingCall) -> Any:
        if call.header("x-mode") == "boom":
            raise ZeroDivisionError("decider bug")
        if call.header("x-mode") == "bad":
            return "yes"
        await trio.sleep_forever()
        raise AssertionError  # pragma: no cover

    async with sim_and_server(_hang_up, decide=decide, setup_timeout=0.3) as (
        sim,
        server,
    ):
        with trio.fail_after(10):
            boom = await place_call(sim, server, sip_headers={"X-Mode": "boom"})
            bad = await place_call(sim, server, sip_headers={"X-Mode": "bad"})
            slow = await place_call(sim, server, sip_headers={"X-Mode": "slow"})
            for call in (boom, bad, slow):
                await call.wait_ended()
        assert isinstance(boom.error, ZeroDivisionError)
        assert isinstance(bad.error, TypeError)
        assert isinstance(slow.error, trio.TooSlowError)
        for call in (boom, bad, slow):
            assert call.outcome is CallOutcome.FAILED
            assert sim.calls[call.call_id].reject_status_code == 480
        assert server.statistics().calls_failed == 3
    assert any(
        boom.call_id in r.getMessage() and r.levelno == logging.ERROR
        for r in caplog.records
    )


async def test_accept_of_an_unknown_call_fails_the_call_only() -> None:
    called = False

    async def handler(call: IncomingCall) -> None:
        nonlocal called
        called = True

    async with sim_and_server(handler) as (sim, server):
        body, headers = signed_delivery(incoming_payload("rtc_unknown"))
        with trio.fail_after(10):
            response = await post(server.url, body, headers)
            assert response.status_code == 200
            call = await server.wait_call("rtc_unknown")
            await call.wait_ended()
        assert call.outcome is CallOutcome.FAILED
        assert isinstance(call.error, CallNotFoundError)
        assert call.error.code == "call_id_not_found"
        assert not called
        assert "rtc_unknown" not in sim.calls
        # The server is fine: the next call works.
        with trio.fail_after(10):
            good = await place_call(sim, server)
            await good.wait_ended()
        assert good.outcome is CallOutcome.HUNG_UP


async def test_attach_failure_fails_and_hangs_up() -> None:
    called = False

    async def handler(call: IncomingCall) -> None:
        nonlocal called
        called = True

    async with open_simulator() as sim:
        async with open_sip_server(
            handler,
            webhook_secret=SECRET,
            api_key=API_KEY,
            api_base_url=sim.base_url,
            realtime_url=sim.url + "/nowhere",
        ) as server:
            with trio.fail_after(10):
                call = await place_call(sim, server)
                await call.wait_ended()
        assert call.outcome is CallOutcome.FAILED
        assert not called
        assert sim.calls[call.call_id].history == ["incoming", "accepted", "ended"]


# --- isolation, capacity and shutdown ------------------------------------------------


async def test_a_bad_and_a_slow_call_do_not_disturb_a_good_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    slow_started = trio.Event()
    slow_cancelled = False

    async def handler(call: IncomingCall) -> None:
        nonlocal slow_cancelled
        mode = call.header("X-Mode")
        if mode == "bad":
            await call.connection.update_session(
                SessionConfig(instructions="about to fail")
            )
            raise ValueError("handler bug")
        if mode == "slow":
            slow_started.set()
            try:
                await trio.sleep_forever()
            except trio.Cancelled:
                slow_cancelled = True
                raise
        await call.connection.update_session(SessionConfig(instructions="fine"))
        await call.hangup()

    async with sim_and_server(handler) as (sim, server):
        with trio.fail_after(10):
            slow = await place_call(sim, server, sip_headers={"X-Mode": "slow"})
            await slow_started.wait()
            bad = await place_call(sim, server, sip_headers={"X-Mode": "bad"})
            good = await place_call(sim, server, sip_headers={"X-Mode": "good"})
            await bad.wait_ended()
            await good.wait_ended()
        assert good.outcome is CallOutcome.HUNG_UP
        assert bad.outcome is CallOutcome.FAILED and isinstance(bad.error, ValueError)
        assert sim.calls[bad.call_id].history == ["incoming", "accepted", "ended"]
        assert list(server.calls) == [slow.call_id]
        assert slow.state == "connected"
        with trio.fail_after(10):
            await server.aclose()
        assert slow_cancelled
        assert slow.outcome is CallOutcome.SHUTDOWN
        assert sim.calls[slow.call_id].state == "ended"
    failure = [
        r
        for r in caplog.records
        if bad.call_id in r.getMessage() and r.levelno == logging.ERROR
    ]
    assert failure and "handler bug" in failure[0].getMessage()
    for record in caplog.records:
        text = record.getMessage() + str(record.exc_info or "")
        assert SECRET not in text and API_KEY not in text


async def test_over_capacity_calls_are_busy() -> None:
    release = trio.Event()

    async def handler(call: IncomingCall) -> None:
        await release.wait()
        await call.hangup()

    async with sim_and_server(handler, max_concurrent_calls=1) as (sim, server):
        with trio.fail_after(10):
            first = await place_call(sim, server)
            second = await place_call(sim, server)
            await second.wait_ended()
            assert second.outcome is CallOutcome.REJECTED
            assert sim.calls[second.call_id].reject_status_code == 486
            release.set()
            await first.wait_ended()
            assert first.outcome is CallOutcome.HUNG_UP
            third = await place_call(sim, server)
            await third.wait_ended()
        assert third.outcome is CallOutcome.HUNG_UP


async def test_shutdown_ends_every_call_cleanly() -> None:
    running = 0
    cancelled = 0
    all_running = trio.Event()

    async def handler(call: IncomingCall) -> None:
        nonlocal running, cancelled
        running += 1
        if running == 3:
            all_running.set()
        try:
            async for _ in call.connection:
                pass
        except trio.Cancelled:
            cancelled += 1
            raise

    async with open_simulator() as sim:
        async with trio.open_nursery() as nursery:
            server: SipCallServer = await nursery.start(
                lambda task_status: serve_sip(
                    handler,
                    webhook_secret=SECRET,
                    api_key=API_KEY,
                    api_base_url=sim.base_url,
                    realtime_url=sim.url,
                    task_status=task_status,
                )
            )
            with trio.fail_after(10):
                calls = [await place_call(sim, server) for _ in range(3)]
                await all_running.wait()
            start = time.monotonic()
            nursery.cancel_scope.cancel()
        assert time.monotonic() - start < 5
        assert cancelled == 3
        for call in calls:
            assert call.outcome is CallOutcome.SHUTDOWN
            assert call.ended
            assert sim.calls[call.call_id].history == ["incoming", "accepted", "ended"]
        with trio.fail_after(5):
            for record in sim.connections:
                await record.closed.wait()
        assert {r.closed_by for r in sim.connections} == {"client"}


async def test_shutdown_without_hangup_leaves_calls_up() -> None:
    attached = trio.Event()

    async def handler(call: IncomingCall) -> None:
        attached.set()
        await trio.sleep_forever()

    async with sim_and_server(handler, hangup_on_shutdown=False) as (sim, server):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await attached.wait()
    assert call.outcome is CallOutcome.SHUTDOWN
    assert sim.calls[call.call_id].state == "accepted"


async def test_network_loss_is_told_apart_from_the_end_of_the_call() -> None:
    # The simulator drops the TCP connection after session.created and one more event.
    scenario = Scenario(faults=[ConnectionFault(after_events=2, drop=True)])
    errors: list[BaseException] = []

    async def handler(call: IncomingCall) -> None:
        try:
            await call.connection.update_session(SessionConfig(instructions="x"))
            async for _ in call.connection:
                pass
        except ConnectionBroken as exc:
            errors.append(exc)
            raise

    async with sim_and_server(handler, scenario=scenario) as (sim, server):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await call.wait_ended()
    assert call.outcome is CallOutcome.NETWORK_ERROR
    # A lost socket is a network failure, not the end of the call.
    assert not isinstance(errors[0], CallEnded)
    assert call.error is errors[0]
    assert call.close_reason is not None and call.close_reason.code == 1006
    # The call was still up on the API's side: the server hung it up.
    assert sim.calls[call.call_id].history == ["incoming", "accepted", "ended"]


async def test_server_error_close_is_ended_and_hung_up() -> None:
    scenario = Scenario(
        faults=[ConnectionFault(after_events=1, code=1011, reason="boom")]
    )

    async def handler(call: IncomingCall) -> None:
        async for _ in call.connection:
            pass

    async with sim_and_server(handler, scenario=scenario) as (sim, server):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await call.wait_ended()
    assert call.outcome is CallOutcome.ENDED
    assert call.close_reason is not None and call.close_reason.code == 1011
    assert sim.calls[call.call_id].state == "ended"


# --- the webhook endpoint ----------------------------------------------------------


async def test_tampered_wrong_secret_stale_and_missing_headers_are_400() -> None:
    called = False

    async def handler(call: IncomingCall) -> None:
        nonlocal called
        called = True

    async with sim_and_server(handler) as (sim, server):
        call_id = await sim.place_sip_call(None)
        payload = incoming_payload(call_id)
        body, headers = signed_delivery(payload)
        tampered = body.replace(call_id.encode(), b"rtc_" + b"0" * 32)
        cases = {
            "tampered": (tampered, headers),
            "wrong secret": signed_delivery(payload, secret=OTHER_SECRET),
            "stale": signed_delivery(payload, timestamp=int(time.time()) - 3600),
            "future": signed_delivery(payload, timestamp=int(time.time()) + 3600),
            "no signature": (
                body,
                {k: v for k, v in headers.items() if k != "webhook-signature"},
            ),
            "bad timestamp": (body, {**headers, "webhook-timestamp": "yesterday"}),
            "not json": signed_delivery(b"{not json"),
        }
        for name, (case_body, case_headers) in cases.items():
            response = await post(server.url, case_body, case_headers)
            assert response.status_code == 400, name
            assert response.text == "invalid webhook"
        assert not called
        assert sim.calls[call_id].state == "incoming"
        stats = server.statistics()
        assert (
            stats.webhooks_received,
            stats.webhooks_invalid,
            stats.calls_received,
        ) == (7, 7, 0)
        # The genuine delivery still works afterwards (no id was remembered for the bad ones).
        response = await post(server.url, body, headers)
        assert response.status_code == 200
        with trio.fail_after(10):
            call = await server.wait_call(call_id)
            await call.wait_ended()
        assert called


async def test_duplicate_delivery_is_200_and_not_acted_on() -> None:
    accepted: list[str] = []

    async def handler(call: IncomingCall) -> None:
        accepted.append(call.call_id)
        await call.hangup()

    async with sim_and_server(handler) as (sim, server):
        call_id = await sim.place_sip_call(None)
        payload = incoming_payload(call_id)
        body, headers = signed_delivery(payload, webhook_id="wh_fixed")
        assert (await post(server.url, body, headers)).status_code == 200
        # The same delivery again, and a retry (same id, new timestamp and signature).
        again = await post(server.url, body, headers)
        retry_body, retry_headers = signed_delivery(
            payload, webhook_id="wh_fixed", timestamp=int(time.time()) + 1
        )
        retry = await post(server.url, retry_body, retry_headers)
        assert (again.status_code, again.text) == (200, "duplicate")
        assert (retry.status_code, retry.text) == (200, "duplicate")
        with trio.fail_after(10):
            call = await server.wait_call(call_id)
            await call.wait_ended()
        assert accepted == [call_id]
        assert sim.calls[call_id].history == ["incoming", "accepted", "ended"]
        assert server.statistics().webhooks_duplicate == 2


async def test_a_shared_store_deduplicates_across_servers() -> None:
    store = MemoryWebhookIdStore()

    async with open_simulator() as sim:
        options: dict[str, Any] = {
            "webhook_secret": SECRET,
            "api_key": API_KEY,
            "api_base_url": sim.base_url,
            "realtime_url": sim.url,
            "store": store,
        }
        async with (
            open_sip_server(_hang_up, **options) as one,
            open_sip_server(_hang_up, **options) as two,
        ):
            call_id = await sim.place_sip_call(None)
            body, headers = signed_delivery(incoming_payload(call_id))
            assert (await post(one.url, body, headers)).text == "ok"
            assert (await post(two.url, body, headers)).text == "duplicate"
            with trio.fail_after(10):
                await (await one.wait_call(call_id)).wait_ended()
            assert two.get_call(call_id) is None


async def test_other_event_types_are_200_and_ignored() -> None:
    async with sim_and_server(_hang_up) as (_sim, server):
        for event_type in ("response.completed", "live.call.incoming", "something.new"):
            body, headers = signed_delivery(
                incoming_payload("rtc_x", event_type=event_type)
            )
            response = await post(server.url, body, headers)
            assert (response.status_code, response.text) == (200, "ignored"), event_type
        stats = server.statistics()
        assert (stats.webhooks_ignored, stats.calls_received) == (3, 0)


async def test_http_surface() -> None:
    async with sim_and_server(_hang_up, max_body_size=1000) as (_sim, server):
        import httpx

        async with httpx.AsyncClient() as client:
            response = await client.get(server.url)
            assert (response.status_code, response.headers["allow"]) == (405, "POST")
            response = await client.post(
                server.url.replace("/webhook", "/other"), content=b"{}"
            )
            assert response.status_code == 404
            response = await client.post(server.url, content=b"x" * 2000)
            assert response.status_code == 413

            async def chunks() -> Any:
                for _ in range(5):
                    yield b"x" * 300

            response = await client.post(server.url, content=chunks())
            assert response.status_code == 413
            assert "server" not in response.headers
        assert server.url.startswith("http://127.0.0.1:") and server.url.endswith(
            "/webhook"
        )
        assert repr(server).startswith("<SipCallServer http://127.0.0.1:")


async def test_failing_store_is_a_500_so_openai_retries() -> None:
    class BrokenStore:
        def seen(self, webhook_id: str, *, now: float) -> bool:
            raise ConnectionError("store down")

        def forget(self, webhook_id: str) -> None:
            pass

    async with sim_and_server(_hang_up, store=BrokenStore()) as (sim, server):
        call_id = await sim.place_sip_call(server.url, SECRET)
        assert sim.calls[call_id].webhook_status == 500
        assert sim.calls[call_id].state == "incoming"


def test_configuration_is_checked_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="webhook secret"):
        SipCallServer(_hang_up, api_key=API_KEY)
    with pytest.raises(InvalidSecretError):
        SipCallServer(_hang_up, webhook_secret="whsec_not base64!", api_key=API_KEY)
    with pytest.raises(ValueError, match="API key"):
        SipCallServer(_hang_up, webhook_secret=SECRET)
    with pytest.raises(ValueError, match="path"):
        SipCallServer(_hang_up, webhook_secret=SECRET, api_key=API_KEY, path="webhook")
    with pytest.raises(ValueError):
        SipCallServer(
            _hang_up, webhook_secret=SECRET, api_key=API_KEY, max_concurrent_calls=0
        )
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    server = SipCallServer(_hang_up)
    assert repr(server) == "<SipCallServer not serving active=0>"
    with pytest.raises(RuntimeError, match="not serving"):
        server.url  # noqa: B018


SECRET_KEY = "sk-proj-Leak0123456789abcdefLeak"


def _shown(exc: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    """Everything about ``exc`` a user could see: message, repr, traceback, logs."""
    texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    for record in caplog.records:
        texts.append(record.getMessage())
        if record.exc_info:
            texts.append("".join(traceback.format_exception(*record.exc_info)))
    return "\n".join(texts)


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
async def test_a_key_that_cannot_be_sent_is_refused_at_construction(
    ending: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    key = SECRET_KEY + ending
    with pytest.raises(InvalidHeaderError, match=r"^the API key cannot") as info:
        SipCallServer(_hang_up, webhook_secret=SECRET, api_key=key)
    assert info.value.header == "Authorization"
    assert SECRET_KEY not in _shown(info.value, caplog)
    # The entry points refuse it before listening.
    with pytest.raises(InvalidHeaderError) as info:
        async with open_sip_server(_hang_up, webhook_secret=SECRET, api_key=key):
            pytest.fail("served with a bad key")  # pragma: no cover
    assert SECRET_KEY not in _shown(info.value, caplog)
    with pytest.raises(InvalidHeaderError):
        await serve_sip(_hang_up, webhook_secret=SECRET, api_key=key)
    # From the environment, the message says where it came from.
    monkeypatch.setenv("OPENAI_API_KEY", key)
    with pytest.raises(InvalidHeaderError, match="OPENAI_API_KEY") as info:
        SipCallServer(_hang_up, webhook_secret=SECRET)
    assert SECRET_KEY not in _shown(info.value, caplog)
    with pytest.raises(InvalidHeaderError, match="safety identifier"):
        SipCallServer(
            _hang_up,
            webhook_secret=SECRET,
            api_key=API_KEY,
            safety_identifier="user\n42",
        )


class _RedirectSome(httpx.AsyncBaseTransport):
    """Loopback to the simulator, but the REST actions named get a redirect."""

    def __init__(self, actions: set[str], status: int = 307) -> None:
        self._actions = actions
        self._status = status
        self._real = httpx.AsyncHTTPTransport()
        self.redirected: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        action = request.url.path.rsplit("/", 1)[-1]
        if action in self._actions:
            self.redirected.append(action)
            return httpx.Response(
                self._status, headers={"location": "https://proxy.example/login"}
            )
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


async def test_a_redirected_accept_is_not_an_accepted_call() -> None:
    called = False

    async def handler(call: IncomingCall) -> None:
        nonlocal called  # pragma: no cover - the bug
        called = True  # pragma: no cover

    transport = _RedirectSome({"accept", "reject"}, status=302)
    async with (
        httpx.AsyncClient(transport=transport) as http,
        sim_and_server(handler, http_client=http) as (sim, server),
    ):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await call.wait_ended()
        assert call.outcome is CallOutcome.FAILED
        assert isinstance(call.error, APIRedirectError)
        assert call.error.location == "https://proxy.example/login"
        assert not called
        assert server.statistics().calls_accepted == 0
        # Not accepted: the server tried to reject it (redirected too).
        assert transport.redirected == ["accept", "reject"]
        assert sim.calls[call.call_id].state == "incoming"


async def test_a_redirected_hangup_is_not_a_hung_up_call() -> None:
    errors: list[BaseException] = []

    async def handler(call: IncomingCall) -> None:
        try:
            await call.hangup()
        except APIRedirectError as exc:
            errors.append(exc)
            raise

    transport = _RedirectSome({"hangup"})
    async with (
        httpx.AsyncClient(transport=transport) as http,
        sim_and_server(handler, http_client=http, close_timeout=1) as (sim, server),
    ):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await call.wait_ended()
        assert [type(e) for e in errors] == [APIRedirectError]
        assert call.outcome is CallOutcome.FAILED
        assert call.error is errors[0]
        # The call is still up at the API: nothing recorded it as hung up.
        assert sim.calls[call.call_id].state == "accepted"
        assert transport.redirected == ["hangup", "hangup"]


async def test_a_secret_without_whsec_is_used_raw_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    raw = "my-raw-signing-secret"
    caplog.set_level(logging.DEBUG, logger="realtime_trio")
    async with sim_and_server(_hang_up, webhook_secret=raw) as (_sim, server):
        # The secret's text is the key, as in the official SDK.
        body, headers = signed_delivery(incoming_payload("rtc_raw"), secret=raw)
        key = hmac.new(raw.encode(), digestmod=hashlib.sha256)
        key.update(f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode())
        key.update(body)
        assert (
            headers["webhook-signature"]
            == "v1," + base64.b64encode(key.digest()).decode()
        )
        response = await post(server.url, body, headers)
        assert response.status_code == 200
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if "whsec_" in w]) == 1, warnings
    assert all(raw not in r.getMessage() for r in caplog.records)
    # A whsec_ secret: no such warning.
    caplog.clear()
    async with sim_and_server(_hang_up):
        pass
    assert not [r for r in caplog.records if "whsec_" in r.getMessage()]


async def test_serve_only_once_and_port_in_use() -> None:
    async with sim_and_server(_hang_up) as (_sim, server):
        with pytest.raises(RuntimeError, match="only once"):
            await server.serve()
        port = int(server.url.rsplit(":", 1)[1].split("/")[0])
        with pytest.raises(OSError):
            async with open_sip_server(
                _hang_up, webhook_secret=SECRET, api_key=API_KEY, port=port
            ):
                pytest.fail("bound a port in use")  # pragma: no cover


async def test_open_sip_server_lets_the_body_error_out_alone() -> None:
    with pytest.raises(KeyError, match="mine"):
        async with open_sip_server(_hang_up, webhook_secret=SECRET, api_key=API_KEY):
            raise KeyError("mine")


async def test_slow_body_is_408(monkeypatch: pytest.MonkeyPatch) -> None:
    from realtime_trio._sip import http as _sip_http

    monkeypatch.setattr(_sip_http, "BODY_TIMEOUT", 0.2)
    async with sim_and_server(_hang_up) as (_sim, server):
        host, port = server.url.split("//")[1].split("/")[0].split(":")
        stream = await trio.open_tcp_stream(host, int(port))
        async with stream:
            await stream.send_all(
                b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
            )
            with trio.fail_after(5):
                answer = await stream.receive_some()
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert server.statistics().webhooks_invalid == 1


async def test_same_call_under_another_webhook_id_is_not_accepted_twice() -> None:
    handled: list[str] = []

    async def handler(call: IncomingCall) -> None:
        handled.append(call.call_id)
        await call.hangup()

    async with sim_and_server(handler) as (sim, server):
        call_id = await sim.place_sip_call(None)
        payload = incoming_payload(call_id)
        first = await post(server.url, *signed_delivery(payload, webhook_id="wh_a"))
        assert first.text == "ok"
        with trio.fail_after(10):
            await (await server.wait_call(call_id)).wait_ended()
        second = await post(server.url, *signed_delivery(payload, webhook_id="wh_b"))
        assert second.status_code == 200
        assert handled == [call_id]
        assert sim.calls[call_id].history == ["incoming", "accepted", "ended"]
        assert server.statistics().calls_received == 1


async def test_refused_accept_rejects_the_call() -> None:
    called = False

    async def handler(call: IncomingCall) -> None:
        nonlocal called
        called = True

    # An invalid session: the API refuses the accept with 400.
    async with sim_and_server(handler, session={"instructions": 42}) as (sim, server):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await call.wait_ended()
    assert call.outcome is CallOutcome.FAILED
    assert isinstance(call.error, APIError) and call.error.status_code == 400
    assert not called
    assert sim.calls[call.call_id].reject_status_code == 480


async def test_shutdown_while_attaching_does_not_hang() -> None:
    """Shut down at many moments around the sideband's handshake: never hangs."""
    async with open_simulator() as sim:
        for step in range(40):
            async with open_sip_server(
                _hang_up,
                webhook_secret=SECRET,
                api_key=API_KEY,
                api_base_url=sim.base_url,
                realtime_url=sim.url,
            ) as server:
                call_id = await sim.place_sip_call(server.url, SECRET)
                await trio.sleep(step * 0.0005)
                with trio.fail_after(10):
                    await server.aclose()
            call = server.get_call(call_id)
            assert call is not None and call.ended
            assert call.outcome in (CallOutcome.SHUTDOWN, CallOutcome.HUNG_UP)
