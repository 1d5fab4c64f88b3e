"""The simulator's REST endpoints, calls, sideband connections and simulated SIP calls."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import h11
import pytest
import trio
import trio_websocket

from realtime_trio._webhooks.signature import verify_webhook_signature
from realtime_trio.testing import RealtimeSimulator, open_simulator
from realtime_trio.testing._server.http import (
    MAX_BODY_BYTES,
    HttpRequest,
    HttpResponse,
    HttpServerConnection,
    http_request,
    serve_rest,
)
from tests.helpers.simulator import handshake, recv, send, until, ws_connect

AUTH = {"authorization": "Bearer sk-test"}
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


async def _post(
    sim: RealtimeSimulator,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> HttpResponse:
    data = (
        raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    )
    all_headers = {**AUTH, "content-type": "application/json", **(headers or {})}
    return await http_request(
        "POST", sim.base_url + path, headers=all_headers, body=data
    )


async def _webhook_receiver(
    nursery: trio.Nursery, status: int = 200
) -> tuple[str, list[HttpRequest]]:
    received: list[HttpRequest] = []

    async def handler(request: HttpRequest) -> HttpResponse:
        received.append(request)
        return HttpResponse(status=status)

    async def serve(stream: trio.SocketStream) -> None:
        async with stream:
            http = HttpServerConnection(stream)
            head = await http.read_head()
            if head is not None:
                await serve_rest(http, head, handler)

    listeners = await nursery.start(trio.serve_tcp, serve, 0)
    port = listeners[0].socket.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/openai", received


async def test_sip_call_webhook_is_signed_like_openai() -> None:
    async with trio.open_nursery() as nursery, open_simulator() as sim:
        url, received = await _webhook_receiver(nursery)
        headers = [("From", "<sip:+1555@example.com>"), ("X-Custom", "42")]
        call_id = await sim.place_sip_call(url, SECRET, sip_headers=headers)
        (request,) = received
        assert request.path == "/hooks/openai" and request.method == "POST"
        assert request.header("content-type") == "application/json"
        assert (request.header("user-agent") or "").startswith("OpenAI/1.0")
        assert verify_webhook_signature(
            request.body, request.headers, SECRET
        ) == request.header("webhook-id")
        payload = json.loads(request.body)
        assert (
            payload["type"] == "realtime.call.incoming" and payload["object"] == "event"
        )
        assert payload["id"].startswith("evt_")
        assert payload["data"] == {
            "call_id": call_id,
            "sip_headers": [
                {"name": "From", "value": "<sip:+1555@example.com>"},
                {"name": "X-Custom", "value": "42"},
            ],
        }
        call = sim.calls[call_id]
        assert (call.kind, call.state, call.webhook_status) == ("sip", "incoming", 200)
        assert call_id.startswith("rtc_")
        nursery.cancel_scope.cancel()


async def test_sip_webhook_passes_the_official_sdk_verification() -> None:
    openai = pytest.importorskip("openai")
    async with trio.open_nursery() as nursery, open_simulator() as sim:
        url, received = await _webhook_receiver(nursery, status=204)
        call_id = await sim.place_sip_call(url, SECRET)
        (request,) = received
        client = openai.OpenAI(api_key="sk-test", webhook_secret=SECRET)
        event = client.webhooks.unwrap(request.body.decode(), dict(request.headers))
        assert event.type == "realtime.call.incoming"
        assert event.data.call_id == call_id
        assert [h.name for h in event.data.sip_headers][:2] == ["From", "To"]
        assert sim.calls[call_id].webhook_status == 204
        nursery.cancel_scope.cancel()


async def test_accept_then_sideband_then_hangup() -> None:
    async with open_simulator() as sim:
        call_id = await sim.place_sip_call(None)
        response = await handshake(sim, f"/v1/realtime?call_id={call_id}", AUTH)
        assert response.status == 404  # not accepted yet
        response = await _post(sim, f"/realtime/calls/{call_id}/accept", {
            "type": "realtime", "model": "gpt-realtime-2", "instructions": "You answer the phone.",
            "audio": {"output": {"voice": "cedar"}},
        })  # fmt: skip
        assert (response.status, response.body) == (200, b"")
        assert sim.calls[call_id].state == "accepted"
        async with ws_connect(sim, f"?call_id={call_id}") as ws:
            created = await recv(ws)
            session = created["session"]
            assert (session["model"], session["instructions"]) == (
                "gpt-realtime-2",
                "You answer the phone.",
            )
            assert session["audio"]["output"]["voice"] == "cedar"
            await sim.send_dtmf(call_id, "5")
            dtmf = await recv(ws)
            assert (
                dtmf["type"] == "input_audio_buffer.dtmf_event_received"
                and dtmf["event"] == "5"
            )
            assert "event_id" not in dtmf
            await send(ws, {"type": "output_audio_buffer.clear"})
            assert (await recv(ws))["type"] == "output_audio_buffer.cleared"
            response = await _post(sim, f"/realtime/calls/{call_id}/hangup")
            assert response.status == 200
            with pytest.raises(trio_websocket.ConnectionClosed) as info:
                await recv(ws)
            assert info.value.reason is not None and info.value.reason.code == 1000
        assert sim.calls[call_id].history == ["incoming", "accepted", "ended"]
        assert sim.connections[-1].call_id == call_id
        response = await _post(sim, f"/realtime/calls/{call_id}/hangup")
        assert (
            response.status == 400
            and response.json_body()["error"]["code"] == "invalid_call_state"
        )


async def test_reject_refer_and_errors() -> None:
    async with open_simulator() as sim:
        a = await sim.place_sip_call(None)
        assert (
            await _post(sim, f"/realtime/calls/{a}/reject", {"status_code": 486})
        ).status == 200
        assert (sim.calls[a].state, sim.calls[a].reject_status_code) == (
            "rejected",
            486,
        )
        b = await sim.place_sip_call(None)
        assert (await _post(sim, f"/realtime/calls/{b}/reject")).status == 200
        assert sim.calls[b].reject_status_code == 603
        c = await sim.place_sip_call(None)
        response = await _post(
            sim, f"/realtime/calls/{c}/refer", {"target_uri": "tel:+14155550123"}
        )
        assert response.status == 400  # not accepted yet
        await _post(sim, f"/realtime/calls/{c}/accept", {"type": "realtime"})
        response = await _post(sim, f"/realtime/calls/{c}/refer", {})
        assert response.json_body()["error"]["code"] == "missing_required_parameter"
        response = await _post(
            sim, f"/realtime/calls/{c}/refer", {"target_uri": "tel:+14155550123"}
        )
        assert response.status == 200
        assert (sim.calls[c].state, sim.calls[c].refer_target) == (
            "referred",
            "tel:+14155550123",
        )
        response = await _post(
            sim, "/realtime/calls/rtc_nope/accept", {"type": "realtime"}
        )
        assert response.status == 404
        assert response.json_body()["error"]["code"] == "call_id_not_found"
        d = await sim.place_sip_call(None)
        response = await _post(
            sim, f"/realtime/calls/{d}/accept", {"type": "realtime", "voice": "alloy"}
        )
        assert response.status == 400
        assert response.json_body()["error"] == {
            "message": "Unknown parameter: 'voice'.", "type": "invalid_request_error", "param": "voice", "code": "unknown_parameter",
        }  # fmt: skip
        response = await _post(
            sim, f"/realtime/calls/{d}/accept", {"model": "gpt-realtime"}
        )
        assert response.json_body()["error"]["param"] == "type"
        response = await _post(sim, f"/realtime/calls/{d}/accept", raw=b"{nope")
        assert response.json_body()["error"]["code"] == "invalid_json"
        assert sim.calls[d].state == "incoming"
        response = await _post(sim, "/realtime/nothing", {})
        assert (
            response.status == 404
            and "Invalid URL" in response.json_body()["error"]["message"]
        )
        response = await _post(
            sim,
            f"/realtime/calls/{d}/accept",
            {"type": "realtime"},
            headers={"authorization": ""},
        )
        assert response.status == 401


async def test_client_secrets_authenticate_and_configure_sessions() -> None:
    async with open_simulator(api_keys={"sk-server"}) as sim:
        server_key = {"authorization": "Bearer sk-server"}
        response = await _post(sim, "/realtime/client_secrets", {
            "expires_after": {"anchor": "created_at", "seconds": 120},
            "session": {"type": "realtime", "model": "gpt-realtime-mini", "output_modalities": ["text"]},
        }, headers=server_key)  # fmt: skip
        assert response.status == 200
        secret = response.json_body()
        assert secret["value"].startswith("ek_")
        assert secret["session"]["model"] == "gpt-realtime-mini"
        assert secret["session"]["object"] == "realtime.session"
        assert secret["session"]["id"].startswith("sess_")
        headers = [(b"Authorization", f"Bearer {secret['value']}".encode())]
        async with ws_connect(sim, "", headers=headers) as ws:
            session = (await recv(ws))["session"]
            assert (session["model"], session["output_modalities"]) == (
                "gpt-realtime-mini",
                ["text"],
            )
            await send(ws, {"type": "response.create"})
            assert (await until(ws, "response.done"))[-1]["response"][
                "status"
            ] == "completed"
        response = await _post(
            sim,
            "/realtime/client_secrets",
            {"expires_after": {"seconds": 5}},
            headers=server_key,
        )
        assert response.json_body()["error"]["code"] == "integer_below_min_value"
        response = await _post(
            sim,
            "/realtime/client_secrets",
            {"session": {"type": "transcription"}},
            headers=server_key,
        )
        assert (
            response.json_body()["session"]["object"]
            == "realtime.transcription_session"
        )
        response = await _post(
            sim,
            "/realtime/client_secrets",
            {},
            headers={"authorization": f"Bearer {secret['value']}"},
        )
        assert response.status == 401  # an ephemeral key only creates calls


async def test_webrtc_call_from_an_sdp_offer() -> None:
    async with open_simulator() as sim:
        offer = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        response = await _post(
            sim,
            "/realtime/calls",
            raw=offer,
            headers={"content-type": "application/sdp"},
        )
        assert response.status == 201
        assert response.header("content-type") == "application/sdp"
        location = response.header("location")
        assert location is not None and location.startswith("/v1/realtime/calls/rtc_")
        call_id = location.rsplit("/", 1)[1]
        assert response.body.startswith(b"v=0\r\n") and b"m=audio" in response.body
        assert (
            sim.calls[call_id].state == "accepted"
            and sim.calls[call_id].kind == "webrtc"
        )
        # The unified interface: multipart with a session part.
        boundary = "XyZ"
        session = json.dumps({"type": "realtime", "instructions": "From the form."})
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="sdp"\r\nContent-Type: application/sdp\r\n\r\n'
            f'{offer.decode()}\r\n--{boundary}\r\nContent-Disposition: form-data; name="session"\r\n'
            f"Content-Type: application/json\r\n\r\n{session}\r\n--{boundary}--\r\n"
        ).encode()
        response = await _post(
            sim,
            "/realtime/calls",
            raw=body,
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
        assert response.status == 201
        call_id = response.header("location").rsplit("/", 1)[1]  # type: ignore[union-attr]
        async with ws_connect(sim, f"?call_id={call_id}") as ws:
            assert (await recv(ws))["session"]["instructions"] == "From the form."
        response = await _post(
            sim,
            "/realtime/calls",
            raw=b"not sdp",
            headers={"content-type": "application/sdp"},
        )
        assert response.status == 400


async def test_keep_alive_serves_several_requests() -> None:
    async with open_simulator() as sim:
        stream = await trio.open_tcp_stream("127.0.0.1", sim.port)
        async with stream:
            request = b"POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk\r\nContent-Length: 2\r\n\r\n{}"
            await stream.send_all(request + request)
            data = b""
            with trio.fail_after(5):
                while data.count(b"HTTP/1.1 200") < 2:
                    data += await stream.receive_some(65536)


async def test_caller_hangs_up_and_wait_connections() -> None:
    async with open_simulator() as sim:
        call_id = await sim.place_sip_call(None)
        await _post(sim, f"/realtime/calls/{call_id}/accept", {"type": "realtime"})
        async with ws_connect(sim, f"?call_id={call_id}") as ws:
            (record,) = await sim.wait_connections(1)
            assert record.call_id == call_id
            await recv(ws)
            await sim.hang_up(call_id)
            with pytest.raises(trio_websocket.ConnectionClosed):
                await recv(ws)
        assert sim.calls[call_id].state == "ended"
        with pytest.raises(ValueError, match="DTMF"):
            await sim.send_dtmf(call_id, "x")
        with pytest.raises(KeyError):
            await sim.send_dtmf("rtc_nope", "1")
        with pytest.raises(ValueError, match="secret"):
            await sim.place_sip_call("http://127.0.0.1:1/hook")


@pytest.mark.parametrize("chunked", [False, True])
async def test_an_oversized_body_gets_413(chunked: bool) -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)
    async with open_simulator() as sim:
        stream = await trio.open_tcp_stream("127.0.0.1", sim.port)
        async with stream:
            conn = h11.Connection(h11.CLIENT)
            length = (
                ("transfer-encoding", "chunked")
                if chunked
                else (
                    "content-length",
                    str(len(body)),
                )
            )
            head = h11.Request(
                method="POST",
                target="/v1/realtime/calls/rtc_x/accept",
                headers=[("host", "sim"), ("authorization", "Bearer sk-test"), length],
            )
            data = conn.send(head) or b""
            data += conn.send(h11.Data(data=body)) or b""
            data += conn.send(h11.EndOfMessage()) or b""

            async def send_body() -> None:
                with contextlib.suppress(trio.BrokenResourceError):
                    await stream.send_all(data)

            with trio.fail_after(10):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(send_body)
                    event = conn.next_event()
                    while event is h11.NEED_DATA:
                        conn.receive_data(await stream.receive_some(65536))
                        event = conn.next_event()
                    nursery.cancel_scope.cancel()
    assert isinstance(event, h11.Response), event
    assert event.status_code == 413
    assert (b"connection", b"close") in event.headers
