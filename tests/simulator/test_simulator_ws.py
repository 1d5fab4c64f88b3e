"""The simulator over real WebSockets: loopback TCP, and memory streams under autojump_clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing
import trio_websocket

from realtime_trio.audio import encode_audio, write_wav
from realtime_trio.events import InputAudioBufferAppend as AppendEvent
from realtime_trio.testing import (
    CloseConnection,
    ConnectionFault,
    RealtimeSimulator,
    Rule,
    Say,
    Scenario,
    load_recording,
    open_simulator,
    silence,
    tone,
)
from tests.helpers.simulator import (
    AUTH,
    BIG,
    handshake,
    memory_connect,
    recv,
    send,
    types,
    until,
    user_text,
    ws_connect,
)

TEXT_ONLY = {
    "type": "session.update",
    "session": {"type": "realtime", "output_modalities": ["text"]},
}


async def _rejected(
    sim: RealtimeSimulator, target: str, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    response = await handshake(sim, target, headers)
    assert response.header("content-type") == "application/json"
    return response.status, response.json_body()


async def test_handshake_records_the_connection() -> None:
    async with open_simulator() as sim:
        headers = [*AUTH, (b"OpenAI-Safety-Identifier", b"user-hash-1")]
        async with ws_connect(sim, "?model=gpt-realtime-2", headers=headers) as ws:
            created = await recv(ws)
            assert created["type"] == "session.created"
            assert created["session"]["model"] == "gpt-realtime-2"
        (record,) = sim.connections
        with trio.fail_after(5):
            await record.closed.wait()
        assert record.path == "/v1/realtime" and record.query == {
            "model": "gpt-realtime-2"
        }
        assert (record.model, record.call_id, record.status) == (
            "gpt-realtime-2",
            None,
            101,
        )
        assert record.api_key == "sk-test"
        assert ("authorization", "Bearer <redacted>") in record.headers
        assert "sk-test" not in repr(record)
        assert record.safety_identifier == "user-hash-1"
        assert record.server_event_types() == ["session.created"]
        assert record.session["id"] == created["session"]["id"]
        assert (record.close_code, record.closed_by) == (1000, "client")
        assert sim.url.startswith("ws://127.0.0.1:") and sim.url.endswith(
            "/v1/realtime"
        )
        assert sim.base_url == sim.http_url + "/v1"


async def test_handshake_rejections() -> None:
    async with open_simulator(
        api_keys={"sk-good"}, require_safety_identifier=True
    ) as sim:
        good = {"authorization": "Bearer sk-good", "openai-safety-identifier": "u1"}
        status, body = await _rejected(sim, "/v1/realtime?model=m", {})
        assert status == 401 and body["error"]["code"] is None
        assert body["error"]["message"].startswith("You didn't provide an API key.")
        status, body = await _rejected(
            sim, "/v1/realtime?model=m", {"authorization": "Bearer sk-wrong-key"}
        )
        assert (status, body["error"]["code"], body["error"]["type"]) == (
            401,
            "invalid_api_key",
            "invalid_request_error",
        )
        assert "sk-wrong-key" not in body["error"]["message"]
        status, body = await _rejected(
            sim, "/v1/realtime?model=m", {"authorization": "Bearer sk-good"}
        )
        assert (status, body["error"]["code"]) == (400, "missing_safety_identifier")
        status, body = await _rejected(sim, "/v1/realtime?call_id=rtc_unknown", good)
        assert status == 404
        assert body == {
            "error": {
                "message": "No session found for the provided call_id",
                "type": "invalid_request_error",
                "param": "",
                "code": "call_id_not_found",
            }
        }
        status, body = await _rejected(sim, "/v1/realtime", good)
        assert (status, body["error"]["param"]) == (400, "model")
        status, body = await _rejected(sim, "/v1/elsewhere?model=m", good)
        assert status == 404
        headers = [(k.encode(), v.encode()) for k, v in good.items()]
        async with ws_connect(sim, "?model=m", headers=headers) as ws:
            assert (await recv(ws))["type"] == "session.created"
        assert [c.status for c in sim.connections] == [
            401,
            401,
            400,
            404,
            400,
            404,
            101,
        ]
        assert sim.connections[3].call_id == "rtc_unknown"


async def test_browser_subprotocol_authentication() -> None:
    async with open_simulator(api_keys={"sk-browser"}) as sim:
        protocols = ["realtime", "openai-insecure-api-key.sk-browser"]
        async with ws_connect(sim, headers=[], subprotocols=protocols) as ws:
            assert ws.subprotocol == "realtime"
            assert (await recv(ws))["type"] == "session.created"
        assert sim.connections[0].api_key == "sk-browser"


async def test_beta_header_is_closed_with_4000() -> None:
    async with (
        open_simulator() as sim,
        ws_connect(sim, headers=[*AUTH, (b"OpenAI-Beta", b"realtime=v1")]) as ws,
    ):
        with pytest.raises(trio_websocket.ConnectionClosed) as info:
            await ws.get_message()
        assert info.value.reason is not None
        assert info.value.reason.code == 4000
        assert (
            info.value.reason.reason == "invalid_request_error.beta_api_shape_disabled"
        )


async def test_bad_input_never_kills_the_connection() -> None:
    async with open_simulator() as sim, ws_connect(sim) as ws:
        await recv(ws)
        await ws.send_message("{not json")
        assert (await recv(ws))["error"]["code"] == "invalid_json"
        await ws.send_message(b"\x00\x01")
        assert (await recv(ws))["error"]["code"] == "invalid_event"
        await send(ws, {"type": "nope", "event_id": "e1"})
        error = (await recv(ws))["error"]
        assert (error["code"], error["param"], error["event_id"]) == (
            "invalid_value",
            "type",
            "e1",
        )
        await send(
            ws, {"type": "conversation.item.delete", "item_id": 7, "event_id": "e2"}
        )
        assert (await recv(ws))["error"]["code"] == "invalid_type"
        await send(ws, TEXT_ONLY)
        await send(ws, user_text("still there?"))
        await send(ws, {"type": "response.create"})
        events = await until(ws, "response.done")
        assert events[-1]["response"]["status"] == "completed"
        record = sim.connections[0]
        assert len(record.invalid_messages) == 4
        assert [type(e).TYPE for e in record.client_events] == [
            "session.update",
            "conversation.item.create",
            "response.create",
        ]


async def test_oversized_messages() -> None:
    async with open_simulator(max_message_size=1000) as sim, ws_connect(sim) as ws:
        await recv(ws)
        await send(ws, {"type": "input_audio_buffer.append", "audio": "A" * 2000})
        assert (await recv(ws))["error"]["code"] == "message_too_large"
        await send(ws, {"type": "input_audio_buffer.clear"})
        assert (await recv(ws))["type"] == "input_audio_buffer.cleared"
        # Beyond four times the limit trio-websocket closes with 1009.
        await send(ws, {"type": "input_audio_buffer.append", "audio": "A" * 5000})
        with pytest.raises(trio_websocket.ConnectionClosed) as info:
            await recv(ws)
        assert info.value.reason is not None and info.value.reason.code == 1009


async def test_many_concurrent_connections() -> None:
    done = 0

    async def one(sim: RealtimeSimulator, n: int) -> None:
        nonlocal done
        async with ws_connect(sim) as ws:
            await recv(ws)
            await send(ws, TEXT_ONLY)
            await send(ws, user_text(f"client {n}"))
            await send(ws, {"type": "response.create"})
            events = await until(ws, "response.done")
            assert (
                events[-1]["response"]["output"][0]["content"][0]["text"]
                == f"You said: client {n}"
            )
            done += 1

    async with open_simulator() as sim:
        with trio.fail_after(40):
            async with trio.open_nursery() as nursery:
                for n in range(200):
                    nursery.start_soon(one, sim, n)
        assert done == 200
        assert len(sim.connections) == 200
        ids = {c.session["id"] for c in sim.connections}
        assert len(ids) == 200


async def test_a_failing_connection_closes_with_1011_and_others_go_on(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    wav = tmp_path / "x.wav"
    write_wav(wav, silence(100), rate=24_000)
    scenario = Scenario(
        rules=[Rule(text="break", steps=[Say(text="x", audio_file=str(wav))])]
    )

    def gone(path: str) -> bytes:
        raise OSError(f"{path} went away")

    async with open_simulator(scenario=scenario) as sim:
        # The WAV was read at start; reading it again fails, in one connection.
        sim.settings = attrs.evolve(sim.settings, load_wav=gone)
        async with ws_connect(sim) as ws:
            await recv(ws)
            await send(ws, user_text("break please"))
            await send(ws, {"type": "response.create"})
            with pytest.raises(trio_websocket.ConnectionClosed) as info:
                while True:
                    await recv(ws)
            assert info.value.reason is not None and info.value.reason.code == 1011
        assert isinstance(sim.connections[0].error, OSError)
        assert "simulated connection 0 failed" in caplog.text
        async with ws_connect(sim) as ws:
            await recv(ws)
            await send(ws, user_text("fine"))
            await send(ws, {"type": "response.create"})
            assert (await until(ws, "response.done"))[-1]["response"][
                "status"
            ] == "completed"


async def test_fault_after_n_events() -> None:
    scenario = Scenario(
        faults=[ConnectionFault(after_events=3, code=4002, reason="fault")]
    )
    async with open_simulator(scenario=scenario) as sim:
        async with ws_connect(sim) as ws:
            await recv(ws)
            await send(ws, user_text("hello"))
            await recv(ws)
            await recv(ws)
            with pytest.raises(trio_websocket.ConnectionClosed) as info:
                await recv(ws)
            assert info.value.reason is not None
            assert (info.value.reason.code, info.value.reason.reason) == (4002, "fault")
        assert sim.connections[0].closed_by == "server"
        assert len(sim.connections[0].server_events) == 3


async def test_close_step() -> None:
    scenario = Scenario(
        rules=[
            Rule(
                text="bye",
                steps=[Say(text="Bye!"), CloseConnection(code=4100, reason="scripted")],
            )
        ]
    )
    async with open_simulator(scenario=scenario) as sim:
        async with ws_connect(sim) as ws:
            await recv(ws)
            await send(ws, TEXT_ONLY)
            await recv(ws)
            await send(ws, user_text("bye"))
            await send(ws, {"type": "response.create"})
            with pytest.raises(trio_websocket.ConnectionClosed) as info:
                while True:
                    await recv(ws)
            assert info.value.reason is not None and info.value.reason.code == 4100
        record = sim.connections[0]
        with trio.fail_after(5):
            await record.closed.wait()
        assert record.server_event_types()[-1] == "conversation.item.done"
        assert (record.close_code, record.close_reason, record.closed_by) == (
            4100,
            "scripted",
            "server",
        )


async def test_drop_fault_breaks_the_tcp_connection() -> None:
    async with (
        open_simulator(
            scenario=Scenario(faults=[ConnectionFault(after_events=1, drop=True)])
        ) as sim,
        ws_connect(sim) as ws,
    ):
        await recv(ws)
        with pytest.raises(trio_websocket.ConnectionClosed) as info:
            await recv(ws)
        assert info.value.reason is not None and info.value.reason.code == 1006


async def test_leaving_open_simulator_closes_connections_with_1001() -> None:
    async with trio.open_nursery() as nursery:
        closed = trio.Event()
        reason: list[Any] = []

        async def client(sim: RealtimeSimulator, ready: trio.Event) -> None:
            async with ws_connect(sim) as ws:
                await recv(ws)
                ready.set()
                try:
                    await ws.get_message()
                except trio_websocket.ConnectionClosed as exc:
                    reason.append(exc.reason)
            closed.set()

        async with open_simulator() as sim:
            ready = trio.Event()
            nursery.start_soon(client, sim, ready)
            await ready.wait()
        with trio.fail_after(5):
            await closed.wait()
    assert reason[0].code == 1001


# --- memory streams and the mock clock -------------------------------------------------------


async def test_handle_stream_with_realtime_pacing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sim = RealtimeSimulator(realtime=True, time_to_first_audio=0.5)
    async with trio.open_nursery() as nursery:
        ws = await memory_connect(nursery, sim)
        await recv(ws)
        await send(ws, user_text("hi"))
        await send(ws, {"type": "response.create"})
        start = trio.current_time()
        events = await until(ws, "response.done")
        elapsed = trio.current_time() - start
        chunks = types(events).count("response.output_audio.delta")
        # 0.5 s to the first audio, then one 100 ms chunk at a time.
        assert elapsed == pytest.approx(0.5 + 0.1 * (chunks - 1), abs=1e-6)
        await ws.aclose()
        nursery.cancel_scope.cancel()


async def test_barge_in_over_the_wire(autojump_clock: trio.testing.MockClock) -> None:
    sim = RealtimeSimulator(realtime=True)
    async with trio.open_nursery() as nursery:
        ws = await memory_connect(nursery, sim)
        await recv(ws)
        await send(ws, user_text("tell me a long story about many things"))
        await send(ws, {"type": "response.create"})
        await until(ws, "response.output_audio.delta")
        await send(
            ws, {"type": "input_audio_buffer.append", "audio": encode_audio(tone(300))}
        )
        events = await until(ws, "response.done")
        assert "input_audio_buffer.speech_started" in types(events)
        assert events[-1]["response"]["status_details"]["reason"] == "turn_detected"
        # The cancelled response is over: a new one is accepted at once.
        await send(ws, {"type": "input_audio_buffer.clear"})
        await send(
            ws, {"type": "response.create", "response": {"conversation": "auto"}}
        )
        events = await until(ws, "response.created")
        assert "error" not in types(events)
        await ws.aclose()
        nursery.cancel_scope.cancel()


async def test_response_cancel_over_the_wire(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sim = RealtimeSimulator(realtime=True)
    async with trio.open_nursery() as nursery:
        ws = await memory_connect(nursery, sim)
        await recv(ws)
        await send(ws, user_text("a long answer please"))
        await send(ws, {"type": "response.create"})
        await until(ws, "response.output_audio.delta")
        await send(ws, {"type": "response.cancel"})
        await send(ws, {"type": "response.create"})
        events = await until(ws, "response.done")
        assert events[-1]["response"]["status_details"]["reason"] == "client_cancelled"
        assert (await recv(ws))[
            "type"
        ] == "response.created"  # no active-response error
        await ws.aclose()
        nursery.cancel_scope.cancel()


async def test_idle_timeout_and_expiry_on_the_mock_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sim = RealtimeSimulator(session_duration=60.0)
    async with trio.open_nursery() as nursery:
        ws = await memory_connect(nursery, sim)
        await recv(ws)
        await send(
            ws,
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "output_modalities": ["text"],
                    "audio": {
                        "input": {
                            "turn_detection": {
                                "type": "server_vad",
                                "idle_timeout_ms": 6000,
                            }
                        }
                    },
                },
            },
        )
        await send(ws, {"type": "response.create"})
        await until(ws, "response.done")
        start = trio.current_time()
        events = await until(ws, "input_audio_buffer.timeout_triggered")
        assert trio.current_time() - start == pytest.approx(6.0)
        assert events[-1]["audio_start_ms"] == events[-1]["audio_end_ms"] == 0
        await until(ws, "response.done")
        error = await until(ws, "error")
        assert error[-1]["error"]["code"] == "session_expired"
        assert trio.current_time() == pytest.approx(60.0)
        with pytest.raises(trio_websocket.ConnectionClosed) as info:
            await recv(ws)
        assert info.value.reason is not None and info.value.reason.code == 1001
        nursery.cancel_scope.cancel()


async def test_vad_turn_over_the_wire(autojump_clock: trio.testing.MockClock) -> None:
    sim = RealtimeSimulator()
    async with trio.open_nursery() as nursery:
        ws = await memory_connect(nursery, sim)
        await recv(ws)
        pcm = silence(400) + tone(600) + silence(400)
        for start in range(0, len(pcm), 960):
            await send(
                ws,
                {
                    "type": "input_audio_buffer.append",
                    "audio": encode_audio(pcm[start : start + 960]),
                },
            )
        events = await until(ws, "response.done")
        assert types(events)[:3] == [
            "input_audio_buffer.speech_started",
            "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed",
        ]
        assert (events[0]["audio_start_ms"], events[1]["audio_end_ms"]) == (100, 1200)
        await ws.aclose()
        nursery.cancel_scope.cancel()


async def test_plain_http_garbage_is_answered_and_closed() -> None:
    async with open_simulator() as sim:
        stream = await trio.open_tcp_stream("127.0.0.1", sim.port)
        async with stream:
            await stream.send_all(b"NOT HTTP AT ALL\r\n\r\n")
            data = await stream.receive_some(BIG)
            assert data.startswith(b"HTTP/1.1 400")
        async with ws_connect(sim) as ws:
            assert (await recv(ws))["type"] == "session.created"


async def test_our_client_through_memory_streams(
    autojump_clock: trio.testing.MockClock,
) -> None:
    import functools

    import realtime_trio
    from realtime_trio import events

    sim = RealtimeSimulator(realtime=True)
    async with trio.open_nursery() as nursery:
        async with realtime_trio.open_realtime(
            model="gpt-realtime",
            api_key="sk-test",
            url="ws://simulator/v1/realtime",
            connect_stream=functools.partial(sim.open_memory_stream, nursery),
        ) as conn:
            item = events.MessageItem(
                role="user", content=(events.InputText(text="Hello"),)
            )
            await conn.send(events.ConversationItemCreate(item=item))
            await conn.send(events.ResponseCreate())
            transcript = ""
            async for event in conn:
                if isinstance(event, events.ResponseOutputAudioTranscriptDelta):
                    transcript += event.delta
                elif isinstance(event, events.ResponseDone):
                    break
        nursery.cancel_scope.cancel()
    assert transcript == "You said: Hello"
    (record,) = sim.connections
    assert (record.close_code, record.closed_by) == (1000, "client")


async def test_a_client_vanishing_mid_response_is_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with open_simulator(realtime=True) as sim:
        stream = await trio.open_tcp_stream("127.0.0.1", sim.port)
        async with trio.open_nursery() as nursery:
            ws = await trio_websocket.wrap_client_stream(
                nursery,
                stream,
                "127.0.0.1",
                "/v1/realtime?model=m",
                extra_headers=AUTH,
                max_message_size=BIG,
            )
            await recv(ws)
            await send(ws, user_text("talk to me"))
            await send(ws, {"type": "response.create"})
            await until(ws, "response.output_audio.delta")
            await trio.aclose_forcefully(stream)
            nursery.cancel_scope.cancel()
        record = sim.connections[0]
        with trio.fail_after(5):
            await record.closed.wait()
        assert record.error is None
        assert record.close_code == 1006
        assert "failed" not in caplog.text
        async with ws_connect(sim) as ws:
            assert (await recv(ws))["type"] == "session.created"


async def test_drop_step() -> None:
    from realtime_trio.testing import DropConnection

    scenario = Scenario(rules=[Rule(steps=[DropConnection()])])
    async with open_simulator(scenario=scenario) as sim, ws_connect(sim) as ws:
        await recv(ws)
        await send(ws, {"type": "response.create"})
        with pytest.raises(trio_websocket.ConnectionClosed) as info:
            while True:
                await recv(ws)
        assert info.value.reason is not None and info.value.reason.code == 1006


async def _first_response(seed: int) -> list[dict[str, Any]]:
    sim = RealtimeSimulator(seed=seed)
    async with trio.open_nursery() as nursery:
        ws = await memory_connect(nursery, sim)
        events = [await recv(ws)]
        await send(ws, user_text("same words"))
        await send(ws, {"type": "response.create"})
        events += await until(ws, "response.done")
        nursery.cancel_scope.cancel()
    for event in events:  # wall-clock fields
        event.get("session", {}).pop("expires_at", None)
    return events


async def test_same_seed_same_events(autojump_clock: trio.testing.MockClock) -> None:
    first = await _first_response(seed=7)
    assert first == await _first_response(seed=7)
    other = await _first_response(seed=8)
    assert [e["type"] for e in other] == [e["type"] for e in first]
    assert other[0]["event_id"] != first[0]["event_id"]
    audio = [e["delta"] for e in first if e["type"] == "response.output_audio.delta"]
    assert audio != [
        e["delta"] for e in other if e["type"] == "response.output_audio.delta"
    ]


# --- the end of a connection ----------------------------------------------------------------


async def test_every_message_before_the_clients_close_is_handled(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    # The simulator is busy streaming a response when the client's last appends
    # and its close frame arrive: it still takes every append, and knows who closed.
    no_vad = {
        "type": "session.update",
        "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
    }
    chunk = {"type": "input_audio_buffer.append", "audio": encode_audio(tone(100))}
    scenario = Scenario(rules=[Rule(steps=[Say(text="a long answer " * 15)])])
    for attempt in range(10):
        sim = RealtimeSimulator(scenario=scenario, record_dir=tmp_path / f"{attempt}")
        ws = await memory_connect(nursery, sim)
        await recv(ws)
        await send(ws, no_vad)
        await send(ws, {"type": "response.create"})
        await until(ws, "response.output_audio.delta")
        for _ in range(10):
            await send(ws, chunk)
        await ws.aclose()
        (record,) = sim.connections
        with trio.fail_after(10):
            await record.closed.wait()
        appended = [e for e in record.client_events if isinstance(e, AppendEvent)]
        assert (len(appended), record.closed_by, record.close_code) == (
            10,
            "client",
            1000,
        ), attempt
        recording = load_recording(tmp_path / f"{attempt}" / "connection-0000.jsonl")
        sent = [line.type for line in recording if line.direction == "client"]
        assert sent[-11:] == ["input_audio_buffer.append"] * 10 + [None], attempt
        assert recording[-1].close == (1000, "")
        assert recording[-1].direction == "client"
