"""`realtime_trio.calls.CallsClient` against the simulator (loopback), and the WebRTC sideband flow."""

from __future__ import annotations

import functools
import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import trio

from realtime_trio import (
    ConnectionRejected,
    LocalProtocolError,
    RealtimeError,
    RemoteProtocolError,
    SessionConfig,
    events,
    open_realtime,
)
from realtime_trio._core.headers import InvalidHeaderError
from realtime_trio.calls import (
    APIConnectionError,
    APIError,
    APIRedirectError,
    CallNotFoundError,
    CallsClient,
    ClientSecret,
    ExpiresAfter,
    interrupt_sideband,
)
from realtime_trio.testing import Delay, Rule, Say, Scenario, open_simulator
from tests.helpers.sip import API_KEY

SDP_OFFER = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=mid:0\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n"
)


# --- call control ------------------------------------------------------------------


async def test_accept_reject_refer_hangup_change_the_calls_state() -> None:
    async with (
        open_simulator() as sim,
        CallsClient(api_key=API_KEY, base_url=sim.base_url) as client,
    ):
        accepted = await sim.place_sip_call(None)
        await client.accept(
            accepted, SessionConfig(instructions="Be brief.", model="gpt-realtime")
        )
        assert sim.calls[accepted].state == "accepted"
        assert sim.calls[accepted].session == {
            "type": "realtime",
            "model": "gpt-realtime",
            "instructions": "Be brief.",
        }

        rejected = await sim.place_sip_call(None)
        await client.reject(rejected, status_code=486)
        assert (sim.calls[rejected].state, sim.calls[rejected].reject_status_code) == (
            "rejected",
            486,
        )

        declined = await sim.place_sip_call(None)
        await client.reject(declined)
        assert sim.calls[declined].reject_status_code == 603

        await client.refer(accepted, "tel:+14155550123")
        assert (sim.calls[accepted].state, sim.calls[accepted].refer_target) == (
            "referred",
            "tel:+14155550123",
        )

        hung = await sim.place_sip_call(None)
        await client.accept(hung, {"instructions": "dict sessions work too"})
        assert sim.calls[hung].session == {
            "type": "realtime",
            "instructions": "dict sessions work too",
        }
        await client.hangup(hung)
        assert sim.calls[hung].history == ["incoming", "accepted", "ended"]


async def test_accept_without_session_sends_the_realtime_type() -> None:
    async with (
        open_simulator() as sim,
        CallsClient(api_key=API_KEY, base_url=sim.base_url) as client,
    ):
        call_id = await sim.place_sip_call(None)
        await client.accept(call_id)
        assert sim.calls[call_id].session == {"type": "realtime"}


async def test_unknown_call_is_call_not_found_with_status_code_and_message() -> None:
    async with (
        open_simulator() as sim,
        CallsClient(api_key=API_KEY, base_url=sim.base_url) as client,
    ):
        for action in (
            lambda: client.accept("rtc_unknown", SessionConfig()),
            lambda: client.reject("rtc_unknown"),
            lambda: client.refer("rtc_unknown", "tel:+1"),
            lambda: client.hangup("rtc_unknown"),
        ):
            with pytest.raises(CallNotFoundError) as info:
                await action()
            error = info.value
            assert (error.status_code, error.code, error.error_type) == (
                404,
                "call_id_not_found",
                "invalid_request_error",
            )
            assert error.message == "No session found for the provided call_id"
            assert error.path.startswith("/realtime/calls/rtc_unknown/")
            assert "404" in str(error) and "call_id_not_found" in str(error)
            assert API_KEY not in str(error) + repr(error)


async def test_call_in_the_wrong_state_is_an_api_error() -> None:
    async with (
        open_simulator() as sim,
        CallsClient(api_key=API_KEY, base_url=sim.base_url) as client,
    ):
        call_id = await sim.place_sip_call(None)
        await client.accept(call_id, SessionConfig())
        with pytest.raises(APIError) as info:
            await client.reject(call_id)
        assert not isinstance(info.value, CallNotFoundError)
        assert (info.value.status_code, info.value.code) == (400, "invalid_call_state")
        await client.hangup(call_id)
        with pytest.raises(APIError, match="invalid_call_state"):
            await client.hangup(call_id)


async def test_invalid_session_is_a_400_with_param() -> None:
    async with (
        open_simulator() as sim,
        CallsClient(api_key=API_KEY, base_url=sim.base_url) as client,
    ):
        call_id = await sim.place_sip_call(None)
        with pytest.raises(APIError) as info:
            await client.accept(call_id, {"instructions": 42})
        assert info.value.status_code == 400
        assert info.value.param == "instructions"
        assert sim.calls[call_id].state == "incoming"


async def test_bad_key_is_a_401() -> None:
    async with (
        open_simulator(api_keys=[API_KEY]) as sim,
        CallsClient(api_key="sk-wrong-key-123456", base_url=sim.base_url) as client,
    ):
        call_id = await sim.place_sip_call(None)
        with pytest.raises(APIError) as info:
            await client.accept(call_id)
        assert (info.value.status_code, info.value.code) == (401, "invalid_api_key")
        assert not isinstance(info.value, CallNotFoundError)
        assert "sk-wrong-key-123456" not in str(info.value)


async def test_wrong_base_url_is_not_call_not_found() -> None:
    async with (
        open_simulator() as sim,
        CallsClient(api_key=API_KEY, base_url=sim.http_url + "/v2") as client,
    ):
        with pytest.raises(APIError) as info:
            await client.hangup("rtc_x")
        assert info.value.status_code == 404
        assert not isinstance(info.value, CallNotFoundError)


async def test_nothing_listening_is_an_api_connection_error() -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    await listeners[0].aclose()
    async with CallsClient(
        api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v1"
    ) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.hangup("rtc_x")
        assert isinstance(info.value.__cause__, httpx.HTTPError)
        assert API_KEY not in str(info.value)


async def test_timeouts_come_from_the_callers_cancel_scope() -> None:
    """A server that never answers: the request waits until the caller's scope says stop."""
    accepted = trio.Event()

    async def silent(stream: trio.SocketStream) -> None:
        accepted.set()
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, silent, 0, host="127.0.0.1")
        )
        port = listeners[0].socket.getsockname()[1]
        async with CallsClient(
            api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v1"
        ) as client:
            start = trio.current_time()
            with trio.move_on_after(0.3) as scope:
                await client.hangup("rtc_x")
            assert scope.cancelled_caught
            assert accepted.is_set()
            assert trio.current_time() - start < 5
            with pytest.raises(trio.TooSlowError):
                with trio.fail_after(0.2):
                    await client.accept("rtc_x")
        nursery.cancel_scope.cancel()


def test_no_key_is_a_value_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="API key"):
        CallsClient()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    client = CallsClient()
    assert "sk-from-env" not in repr(client)


# A key as read from a file: the secret part must never show, newline or not.
SECRET_KEY = "sk-proj-Leak0123456789abcdefLeak"


def assert_never_shown(
    exc: BaseException, secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``secret`` is nowhere in the message, repr, traceback (with its chain) or logs."""
    assert secret not in str(exc)
    assert secret not in repr(exc)
    assert secret not in "".join(traceback.format_exception(exc))
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert secret not in repr(record.args)
        if record.exc_info:
            assert secret not in "".join(traceback.format_exception(*record.exc_info))


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\x00", " "])
async def test_a_key_that_cannot_be_sent_is_refused_before_any_request(
    ending: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[httpx.Request] = []
    async with _recording_client([httpx.Response(200)], seen) as http:
        with pytest.raises(InvalidHeaderError) as info:
            CallsClient(api_key=SECRET_KEY + ending, http_client=http)
    assert seen == []
    error = info.value
    assert isinstance(error, RealtimeError) and isinstance(error, ValueError)
    assert error.header == "Authorization"
    assert str(error).startswith("the API key cannot be sent: ")
    assert_never_shown(error, SECRET_KEY, caplog)


def test_a_key_from_the_environment_is_checked_too(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_KEY + "\n")
    with pytest.raises(InvalidHeaderError, match="OPENAI_API_KEY") as info:
        CallsClient()
    assert "line break" in str(info.value)
    assert_never_shown(info.value, SECRET_KEY, caplog)


async def test_other_header_values_are_checked_when_the_client_is_made() -> None:
    with pytest.raises(InvalidHeaderError, match="safety identifier") as info:
        CallsClient(api_key=API_KEY, safety_identifier="user-42\n")
    assert info.value.header == "OpenAI-Safety-Identifier"
    async with httpx.AsyncClient(headers={"X-Token": "tok-Leak\r\n"}) as http:
        with pytest.raises(InvalidHeaderError, match="X-Token") as info:
            CallsClient(api_key=API_KEY, http_client=http)
    assert "tok-Leak" not in str(info.value)


REDIRECTS = [301, 302, 303, 307, 308]


@pytest.mark.parametrize("status", REDIRECTS)
async def test_a_redirect_is_an_error_never_followed_never_success(
    status: int,
) -> None:
    seen: list[httpx.Request] = []
    elsewhere = "https://login.example/sso?next=/v1/realtime"

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "login.example":  # pragma: no cover - the bug
            return httpx.Response(200, json={})
        return httpx.Response(
            status, headers={"location": elsewhere, "x-request-id": "req_3"}
        )

    # Even an http_client that follows redirects does not follow these.
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(handle), follow_redirects=True
    ) as http:
        client = CallsClient(
            api_key=API_KEY, base_url="https://api.example/v1", http_client=http
        )
        actions: list[Callable[[], Awaitable[object]]] = [
            functools.partial(client.accept, "rtc_1"),
            functools.partial(client.reject, "rtc_1"),
            functools.partial(client.refer, "rtc_1", "tel:+14155550123"),
            functools.partial(client.hangup, "rtc_1"),
            client.create_client_secret,
            functools.partial(client.create_call, SDP_OFFER),
        ]
        for action in actions:
            with pytest.raises(APIRedirectError) as info:
                await action()
            error = info.value
            assert isinstance(error, APIError)
            assert (error.status_code, error.location, error.request_id) == (
                status,
                elsewhere,
                "req_3",
            )
            assert f"HTTP {status} to {elsewhere}" in str(error)
            assert "not followed" in str(error)
    assert [r.url.host for r in seen] == ["api.example"] * len(actions)
    assert repr(error) == (
        f"APIRedirectError(status_code={status}, location={elsewhere!r})"
    )


async def test_a_redirect_without_location_is_an_error_too() -> None:
    seen: list[httpx.Request] = []
    async with _recording_client([httpx.Response(304)], seen) as http:
        client = CallsClient(api_key=API_KEY, http_client=http)
        with pytest.raises(APIRedirectError, match="without a Location") as info:
            await client.hangup("rtc_1")
    assert (info.value.status_code, info.value.location) == (304, None)


async def test_client_methods_are_checkpoints() -> None:
    async with open_simulator() as sim:
        with trio.testing.assert_checkpoints():
            client = await CallsClient(
                api_key=API_KEY, base_url=sim.base_url
            ).__aenter__()
        call_id = await sim.place_sip_call(None)
        with trio.testing.assert_checkpoints():
            await client.reject(call_id)
        with trio.testing.assert_checkpoints():
            await client.aclose()


# --- requests on the wire (a mock transport) ---------------------------------------


def _recording_client(
    responses: list[httpx.Response], seen: list[httpx.Request]
) -> httpx.AsyncClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses.pop(0)

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


async def test_request_headers_and_safety_identifier() -> None:
    seen: list[httpx.Request] = []
    answer = {
        "value": "ek_abc",
        "expires_at": 1,
        "session": {"type": "realtime", "object": "realtime.session"},
    }
    responses = [
        httpx.Response(200),
        httpx.Response(200, json=answer),
        httpx.Response(
            201, text="v=0\r\n", headers={"location": "/v1/realtime/calls/rtc_1"}
        ),
    ]
    async with _recording_client(responses, seen) as http:
        client = CallsClient(
            api_key=API_KEY,
            base_url="https://api.example/v1/",
            safety_identifier="user-42",
            http_client=http,
        )
        await client.hangup("rtc/../x")
        await client.create_client_secret()
        await client.create_call(SDP_OFFER)
        await client.aclose()  # not ours: stays open
        assert not http.is_closed
    hangup, secret, create = seen
    assert (
        str(hangup.url) == "https://api.example/v1/realtime/calls/rtc%2F..%2Fx/hangup"
    )
    assert hangup.headers["authorization"] == f"Bearer {API_KEY}"
    assert hangup.headers["accept"] == "*/*"
    assert hangup.headers["user-agent"].startswith("realtime_trio/")
    assert "openai-safety-identifier" not in hangup.headers
    assert hangup.content == b""
    assert secret.headers["openai-safety-identifier"] == "user-42"
    assert json.loads(secret.content) == {}
    assert create.headers["content-type"] == "application/sdp"
    assert create.headers["accept"] == "application/sdp"
    assert create.content == SDP_OFFER.encode()


async def test_create_call_with_session_sends_the_multipart_form() -> None:
    seen: list[httpx.Request] = []
    responses = [
        httpx.Response(
            201, text="v=0\r\n", headers={"location": "/v1/realtime/calls/rtc_9"}
        )
    ]
    async with _recording_client(responses, seen) as http:
        client = CallsClient(api_key=API_KEY, http_client=http)
        call = await client.create_call(
            SDP_OFFER, session=SessionConfig(instructions="hi")
        )
    assert call.call_id == "rtc_9"
    (request,) = seen
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    body = request.content.decode()
    assert 'name="sdp"' in body and "Content-Type: application/sdp" in body
    assert 'name="session"' in body and "Content-Type: application/json" in body
    assert '{"type": "realtime", "instructions": "hi"}' in body


async def test_unusable_answers_are_remote_protocol_errors() -> None:
    seen: list[httpx.Request] = []
    responses = [
        httpx.Response(200, text="not json"),
        httpx.Response(200, json=["a list"]),
        httpx.Response(201, text="v=0\r\n"),
        httpx.Response(
            500, text="<html>oops</html>", headers={"x-request-id": "req_1"}
        ),
    ]
    async with _recording_client(responses, seen) as http:
        client = CallsClient(api_key=API_KEY, http_client=http)
        with pytest.raises(RemoteProtocolError, match="not JSON"):
            await client.create_client_secret()
        with pytest.raises(RemoteProtocolError, match="not a JSON object"):
            await client.create_client_secret()
        with pytest.raises(RemoteProtocolError, match="Location"):
            await client.create_call(SDP_OFFER)
        with pytest.raises(APIError) as info:
            await client.hangup("rtc_1")
    error = info.value
    assert (error.status_code, error.code, error.message, error.request_id) == (
        500,
        None,
        "<html>oops</html>",
        "req_1",
    )
    assert error.body == b"<html>oops</html>"
    assert (
        repr(error)
        == "APIError(status_code=500, code=None, message='<html>oops</html>')"
    )


async def test_empty_call_id_is_refused() -> None:
    async with CallsClient(api_key=API_KEY, base_url="http://127.0.0.1:9/v1") as client:
        with pytest.raises(ValueError, match="call_id"):
            await client.hangup("")


# --- client secrets ----------------------------------------------------------------


async def test_client_secret_request_and_response_are_typed() -> None:
    async with (
        open_simulator() as sim,
        CallsClient(api_key=API_KEY, base_url=sim.base_url) as client,
    ):
        secret = await client.create_client_secret(
            session=SessionConfig(instructions="From the key.", model="gpt-realtime"),
            expires_after=ExpiresAfter(anchor="created_at", seconds=120),
        )
        assert isinstance(secret, ClientSecret)
        assert secret.value.startswith("ek_")
        assert isinstance(secret.session, SessionConfig)
        assert secret.session.instructions == "From the key."
        assert secret.value not in repr(secret) and "ek_..." in repr(secret)
        short = await client.create_client_secret(expires_after=60)
        assert short.expires_at < secret.expires_at
        assert isinstance(short.session, SessionConfig)

        with pytest.raises(APIError) as info:
            await client.create_client_secret(expires_after=5)
        assert (info.value.status_code, info.value.param) == (
            400,
            "expires_after.seconds",
        )

        # The key opens a session configured as asked.
        async with open_realtime(
            model="gpt-realtime", url=sim.url, api_key=secret.value
        ) as conn:
            assert conn.session is not None
            assert getattr(conn.session, "instructions", None) == "From the key."


# --- WebRTC: create the call, attach the sideband ---------------------------------


async def test_webrtc_flow_create_call_then_attach_by_call_id() -> None:
    async with (
        open_simulator() as sim,
        CallsClient(api_key=API_KEY, base_url=sim.base_url) as client,
    ):
        created = await client.create_call(
            SDP_OFFER,
            session=SessionConfig(instructions="WebRTC agent.", model="gpt-realtime"),
        )
        assert created.call_id.startswith("rtc_")
        assert created.location == f"/v1/realtime/calls/{created.call_id}"
        assert (
            created.sdp_answer.startswith("v=0")
            and "a=setup:passive" in created.sdp_answer
        )
        assert sim.calls[created.call_id].kind == "webrtc"
        assert sim.calls[created.call_id].sdp_offer == SDP_OFFER

        async with open_realtime(
            call_id=created.call_id, url=sim.url, api_key=API_KEY
        ) as conn:
            assert conn.is_sideband
            assert getattr(conn.session, "instructions", None) == "WebRTC agent."
            updated = await conn.update_session(
                SessionConfig(instructions="Updated from the server.")
            )
            assert getattr(updated, "instructions", None) == "Updated from the server."
            await client.hangup(created.call_id)
            seen = [type(event).__name__ async for event in conn]
            # The call ended: the server closed the sideband cleanly, iteration stopped.
            assert conn.close_reason is not None and conn.close_reason.code == 1000
            assert "SessionUpdated" in seen
        record = sim.connections[0]
        assert record.call_id == created.call_id
        assert record.session["instructions"] == "Updated from the server."
        assert sim.calls[created.call_id].history == ["accepted", "ended"]


async def test_webrtc_call_with_an_ephemeral_key() -> None:
    async with (
        open_simulator() as sim,
        CallsClient(api_key=API_KEY, base_url=sim.base_url) as server_side,
    ):
        secret = await server_side.create_client_secret(
            session=SessionConfig(instructions="Browser session.")
        )
        # What a browser does with the ephemeral key: plain application/sdp.
        async with CallsClient(api_key=secret.value, base_url=sim.base_url) as browser:
            created = await browser.create_call(SDP_OFFER)
        assert sim.calls[created.call_id].session == {
            "type": "realtime",
            "instructions": "Browser session.",
        }
        async with open_realtime(
            call_id=created.call_id, url=sim.url, api_key=API_KEY
        ) as conn:
            assert getattr(conn.session, "instructions", None) == "Browser session."


async def test_invalid_offer_is_a_400() -> None:
    async with (
        open_simulator() as sim,
        CallsClient(api_key=API_KEY, base_url=sim.base_url) as client,
    ):
        with pytest.raises(APIError) as info:
            await client.create_call("not sdp")
        assert (info.value.status_code, info.value.code, info.value.param) == (
            400,
            "invalid_offer",
            "sdp",
        )


# --- sideband ends ----------------------------------------------------------------


async def test_sideband_to_an_ended_call_is_rejected_404() -> None:
    async with (
        open_simulator() as sim,
        CallsClient(api_key=API_KEY, base_url=sim.base_url) as client,
    ):
        created = await client.create_call(SDP_OFFER)
        await client.hangup(created.call_id)
        with pytest.raises(ConnectionRejected) as info:
            async with open_realtime(
                call_id=created.call_id,
                url=sim.url,
                api_key=API_KEY,
                attach_attempts=3,
                attach_backoff=0.01,
            ):
                pytest.fail("attached to an ended call")  # pragma: no cover
        assert (info.value.status_code, info.value.error_code) == (
            404,
            "call_id_not_found",
        )
        assert "after 3 attempts" in str(info.value)
        assert len(sim.connections) == 3


async def test_sideband_of_a_call_ended_by_the_far_end_just_stops() -> None:
    async with (
        open_simulator() as sim,
        CallsClient(api_key=API_KEY, base_url=sim.base_url) as client,
    ):
        call_id = await sim.place_sip_call(None)
        await client.accept(call_id)
        async with open_realtime(call_id=call_id, url=sim.url, api_key=API_KEY) as conn:
            await sim.hang_up(call_id)
            async for _ in conn:
                pass
            assert conn.close_reason is not None
            assert (conn.close_reason.code, conn.close_reason.reason) == (
                1000,
                "call ended",
            )


async def test_dtmf_is_a_first_class_event_on_the_sideband() -> None:
    async with (
        open_simulator() as sim,
        CallsClient(api_key=API_KEY, base_url=sim.base_url) as client,
    ):
        call_id = await sim.place_sip_call(None)
        await client.accept(call_id)
        async with open_realtime(call_id=call_id, url=sim.url, api_key=API_KEY) as conn:
            await sim.send_dtmf(call_id, "#")
            async for event in conn:
                if isinstance(event, events.InputAudioBufferDtmfEventReceived):
                    assert event.event == "#"
                    assert event.received_at > 0
                    break


# --- interruption ------------------------------------------------------------------


async def _interrupt_once(**kwargs: Any) -> tuple[list[str], list[Any]]:
    scenario = Scenario(
        rules=[Rule(steps=[Say(text="A long answer that goes on."), Delay(seconds=30)])]
    )
    async with (
        open_simulator(scenario=scenario) as sim,
        CallsClient(api_key=API_KEY, base_url=sim.base_url) as client,
    ):
        call_id = await sim.place_sip_call(None)
        await client.accept(call_id, SessionConfig(output_modalities=("audio",)))
        answers: list[Any] = []
        async with open_realtime(call_id=call_id, url=sim.url, api_key=API_KEY) as conn:
            await conn.create_response()
            item_id = None
            async for event in conn:
                if (
                    isinstance(event, events.ResponseOutputAudioDelta)
                    and item_id is None
                ):
                    item_id = event.item_id
                    if kwargs.pop("truncate", False):
                        kwargs.update(item_id=item_id, audio_end_ms=0)
                    await interrupt_sideband(conn, **kwargs)
                if isinstance(
                    event,
                    events.ResponseDone
                    | events.ConversationItemTruncated
                    | events.OutputAudioBufferCleared
                    | events.ErrorEvent,
                ):
                    answers.append(event)
                if isinstance(event, events.OutputAudioBufferCleared):
                    break
        sent = [type(e).__name__ for e in sim.connections[0].client_events]
        return sent, answers


async def test_interrupt_sends_cancel_truncate_clear_in_that_order() -> None:
    sent, answers = await _interrupt_once(truncate=True)
    assert sent[-3:] == [
        "ResponseCancel",
        "ConversationItemTruncate",
        "OutputAudioBufferClear",
    ]
    kinds = [type(a).__name__ for a in answers]
    assert kinds == [
        "ResponseDone",
        "ConversationItemTruncated",
        "OutputAudioBufferCleared",
    ]
    assert answers[0].response.status == "cancelled"


async def test_interrupt_without_truncation_cancels_and_clears() -> None:
    sent, answers = await _interrupt_once()
    assert sent[-2:] == ["ResponseCancel", "OutputAudioBufferClear"]
    assert "ConversationItemTruncate" not in sent
    assert [type(a).__name__ for a in answers] == [
        "ResponseDone",
        "OutputAudioBufferCleared",
    ]


async def test_interrupt_with_nothing_in_progress_only_clears() -> None:
    async with (
        open_simulator() as sim,
        CallsClient(api_key=API_KEY, base_url=sim.base_url) as client,
    ):
        call_id = await sim.place_sip_call(None)
        await client.accept(call_id)
        async with open_realtime(call_id=call_id, url=sim.url, api_key=API_KEY) as conn:
            await interrupt_sideband(conn)
            async for event in conn:
                if isinstance(event, events.OutputAudioBufferCleared):
                    break
                assert not isinstance(event, events.ErrorEvent)
        assert [type(e).__name__ for e in sim.connections[0].client_events] == [
            "OutputAudioBufferClear"
        ]
        with pytest.raises(ValueError, match="both"):
            await interrupt_sideband(conn, item_id="item_1")


async def test_interrupt_sideband_refuses_a_connection_opened_with_model() -> None:
    # The API answers output_audio_buffer.clear on such a connection with an
    # invalid_value error: refused up front, with nothing sent.
    async with (
        open_simulator() as sim,
        open_realtime(model="gpt-realtime", url=sim.url, api_key=API_KEY) as conn,
    ):
        assert not conn.is_sideband
        with pytest.raises(LocalProtocolError, match="call_id=") as info:
            await interrupt_sideband(conn)
        assert info.value.event_type == "output_audio_buffer.clear"
        with pytest.raises(LocalProtocolError):
            await interrupt_sideband(conn, response_id="resp_1")
        # Nothing went out, so no error event comes back.
        await conn.send(events.SessionUpdate(session=SessionConfig(instructions="x")))
        async for event in conn:
            assert not isinstance(event, events.ErrorEvent), event
            if isinstance(event, events.SessionUpdated):
                break
        assert [type(e).__name__ for e in sim.connections[0].client_events] == [
            "SessionUpdate"
        ]
