"""The connection engine over real trio-websocket framing on in-memory streams."""

from __future__ import annotations

import json
import logging
import signal
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket

import realtime_trio
from realtime_trio import (
    CallEnded,
    ConnectionBroken,
    ConnectionClosed,
    ConnectionRejected,
    ConnectTimeout,
    HandshakeError,
    RealtimeError,
    RemoteProtocolError,
    ServerError,
    SessionConfig,
    events,
    open_realtime,
)
from realtime_trio._client.transport import build_handshake
from tests.helpers.fake_server import SESSION_CREATED, FakeServer, Seen

KEY = "sk-test-SECRET-key-1234567890"
URL = "ws://127.0.0.1:8123/v1/realtime"


@pytest.fixture
async def server(nursery: trio.Nursery) -> FakeServer:
    return FakeServer(nursery)


def connect(server: FakeServer, **kwargs: Any) -> Any:
    kwargs.setdefault("model", "gpt-realtime")
    return open_realtime(
        api_key=KEY, url=URL, connect_stream=server.connect_stream, **kwargs
    )


def user_text(text: str) -> events.MessageItem:
    return events.MessageItem(role="user", content=(events.InputText(text=text),))


# --- handshake -----------------------------------------------------------------


def test_handshake_url_and_headers_for_model() -> None:
    hs = build_handshake(
        model="gpt-realtime",
        call_id=None,
        api_key=KEY,
        url=None,
        safety_identifier=None,
        headers=None,
    )
    assert hs.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert hs.resource == "/v1/realtime?model=gpt-realtime"
    assert (hs.host, hs.port, hs.secure) == ("api.openai.com", 443, True)
    assert dict(hs.headers)["Authorization"] == f"Bearer {KEY}"
    assert "OpenAI-Safety-Identifier" not in dict(hs.headers)
    assert not any(k.lower() == "openai-beta" for k, _ in hs.headers)
    assert KEY not in repr(hs)


def test_handshake_url_and_headers_for_call_id() -> None:
    hs = build_handshake(
        model=None,
        call_id="rtc_u1_9c6574da8b8a41a18da9308f4ad974ce",
        api_key=KEY,
        url="ws://127.0.0.1:9000/v1/realtime?region=x",
        safety_identifier="user-hash-1",
        headers={"X-Trace": "abc", "user-agent": "mine/1"},
    )
    assert (
        hs.url
        == "ws://127.0.0.1:9000/v1/realtime?region=x&call_id=rtc_u1_9c6574da8b8a41a18da9308f4ad974ce"
    )
    headers = dict(hs.headers)
    assert headers["OpenAI-Safety-Identifier"] == "user-hash-1"
    assert headers["X-Trace"] == "abc"
    assert headers["user-agent"] == "mine/1"
    assert "User-Agent" not in headers  # the caller's replaces ours


@pytest.mark.parametrize(
    "kwargs",
    [
        {"model": "m", "call_id": "c"},
        {},
        {"model": "m", "url": "https://api.openai.com/v1/realtime"},
        {"model": "m", "headers": {"OpenAI-Beta": "realtime=v1"}},
    ],
)
def test_handshake_rejects_bad_arguments(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {
        "model": None,
        "call_id": None,
        "url": None,
        "headers": None,
    }
    args.update(kwargs)
    with pytest.raises(ValueError):
        build_handshake(api_key=KEY, safety_identifier=None, **args)


async def test_handshake_sends_documented_request(server: FakeServer) -> None:
    async with connect(
        server,
        model=None,
        call_id="rtc_abc",
        safety_identifier="sid-7",
        headers={"X-App": "1"},
    ):
        pass
    seen = server.connections[0]
    assert seen.path == "/v1/realtime?call_id=rtc_abc"
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.headers["openai-safety-identifier"] == "sid-7"
    assert seen.headers["x-app"] == "1"
    assert "openai-beta" not in seen.headers


async def test_missing_api_key_is_a_clear_error(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        async with open_realtime(
            model="m", url=URL, connect_stream=server.connect_stream
        ):
            pass


async def test_api_key_defaults_to_environment(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    async with open_realtime(model="m", url=URL, connect_stream=server.connect_stream):
        pass
    assert server.connections[0].headers["authorization"] == "Bearer sk-from-env"


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (
            401,
            b'{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}',
            "invalid_api_key",
        ),
        (
            404,
            b'{"error":{"message":"No session found for the provided call_id","type":"invalid_request_error","code":"call_id_not_found","param":""}}',
            "call_id_not_found",
        ),
        (429, b"slow down", None),
        (403, b"", None),
    ],
)
async def test_rejected_handshake_is_one_typed_error(
    nursery: trio.Nursery, status: int, body: bytes, code: str | None
) -> None:
    server = FakeServer(nursery, reject=(status, body))
    with pytest.raises(ConnectionRejected) as info:
        async with connect(server):
            pytest.fail("must not enter")
    err = info.value
    assert err.status_code == status
    assert err.body == body
    assert err.error_code == code
    assert isinstance(err, HandshakeError)
    assert isinstance(err, RealtimeError)
    assert KEY not in str(err)
    assert KEY not in repr(err)


NOT_FOUND = (
    404,
    b'{"error":{"message":"No session found for the provided call_id","type":"invalid_request_error","code":"call_id_not_found","param":""}}',
)


async def test_sideband_retries_call_id_not_found(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = FakeServer(nursery, reject=NOT_FOUND, reject_times=3)
    start = trio.current_time()
    async with connect(
        server, model=None, call_id="rtc_new", attach_backoff=0.5
    ) as conn:
        assert isinstance(await conn.receive(), events.SessionCreated)
    assert len(server.connections) == 4
    assert trio.current_time() - start == pytest.approx(0.5 + 1 + 2)


async def test_sideband_retry_is_bounded(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = FakeServer(nursery, reject=NOT_FOUND)
    with pytest.raises(ConnectionRejected, match="after 3 attempts") as info:
        async with connect(server, model=None, call_id="rtc_gone", attach_attempts=3):
            pytest.fail("must not enter")
    assert info.value.error_code == "call_id_not_found"
    assert len(server.connections) == 3


async def test_other_rejections_and_model_sessions_are_not_retried(
    nursery: trio.Nursery,
) -> None:
    server = FakeServer(nursery, reject=(401, b"{}"))
    with pytest.raises(ConnectionRejected):
        async with connect(server, model=None, call_id="rtc_x"):
            pass
    assert len(server.connections) == 1
    server = FakeServer(nursery, reject=NOT_FOUND)
    with pytest.raises(ConnectionRejected):
        async with connect(server):
            pass
    assert len(server.connections) == 1


async def test_network_failure_is_a_handshake_error() -> None:
    async def refuse() -> trio.abc.Stream:
        raise OSError(111, "Connection refused")

    with pytest.raises(HandshakeError, match="could not connect") as info:
        async with open_realtime(
            model="m", api_key=KEY, url=URL, connect_stream=refuse
        ):
            pass
    assert isinstance(info.value.__cause__, OSError)


async def test_connect_timeout_without_session_created(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async def silent(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await trio.sleep_forever()

    server = FakeServer(nursery, send_created=False, script=silent)
    start = trio.current_time()
    with pytest.raises(ConnectTimeout):
        async with connect(server, connect_timeout=7):
            pass
    assert trio.current_time() - start == pytest.approx(7)


async def test_server_closing_before_session_created_is_broken(
    nursery: trio.Nursery,
) -> None:
    async def beta_close(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await ws.aclose(4000, "invalid_request_error.beta_api_shape_disabled")

    server = FakeServer(nursery, send_created=False, script=beta_close)
    with pytest.raises(ConnectionBroken) as info:
        async with connect(server):
            pass
    assert info.value.close_reason is not None
    assert info.value.close_reason.code == 4000
    assert "beta_api_shape_disabled" in str(info.value)


@pytest.mark.parametrize("max_buffered_events", [0, 1, 128])
async def test_events_before_session_created_come_first_in_order(
    nursery: trio.Nursery, max_buffered_events: int
) -> None:
    early = {
        "type": "error",
        "event_id": "srv_0",
        "error": {"type": "server_error", "code": "early", "message": "before"},
    }

    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await ws.send_message(json.dumps(early))
        await ws.send_message("not json")
        await ws.send_message(json.dumps(SESSION_CREATED))
        await ws.send_message(json.dumps({**early, "event_id": "srv_1"}))
        await trio.sleep_forever()

    server = FakeServer(nursery, send_created=False, script=script)
    async with connect(server, max_buffered_events=max_buffered_events) as conn:
        got = [await conn.receive() for _ in range(4)]
    assert [type(e) for e in got] == [
        events.ErrorEvent,
        events.InvalidEvent,
        events.SessionCreated,
        events.ErrorEvent,
    ]
    assert [getattr(e, "event_id", None) for e in got] == [
        "srv_0",
        None,
        SESSION_CREATED["event_id"],
        "srv_1",
    ]


async def test_strict_failure_before_session_created_is_raised_in_order(
    nursery: trio.Nursery,
) -> None:
    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await ws.send_message("not json")
        await ws.send_message(json.dumps(SESSION_CREATED))
        await trio.sleep_forever()

    server = FakeServer(nursery, send_created=False, script=script)
    async with connect(server, strict=True) as conn:
        with pytest.raises(RemoteProtocolError):
            await conn.receive()
        assert isinstance(await conn.receive(), events.SessionCreated)


# --- events --------------------------------------------------------------------


async def test_session_created_is_delivered_and_session_reflected(
    server: FakeServer,
) -> None:
    async with connect(server) as conn:
        first = await conn.receive()
        assert isinstance(first, events.SessionCreated)
        assert isinstance(conn.session, SessionConfig)
        assert conn.session.id == SESSION_CREATED["session"]["id"]


async def test_session_argument_updates_before_the_body(server: FakeServer) -> None:
    async with connect(server, session=SessionConfig(instructions="Be terse.")) as conn:
        assert isinstance(conn.session, SessionConfig)
        assert conn.session.instructions == "Be terse."
        kinds = [type(await conn.receive()) for _ in range(2)]
        assert kinds == [events.SessionCreated, events.SessionUpdated]
    assert server.connections[0].messages[0]["type"] == "session.update"


async def test_helpers_return_answers_and_every_event_is_delivered(
    server: FakeServer,
) -> None:
    async with connect(server) as conn:
        session = await conn.update_session({"type": "realtime", "instructions": "x"})
        assert isinstance(session, SessionConfig)
        assert session.instructions == "x"
        item = await conn.create_item(user_text("hi"))
        assert isinstance(item, events.MessageItem)
        assert item.id is not realtime_trio.UNSET
        response = await conn.create_response()
        assert response.status == "in_progress"
        received = []
        with trio.move_on_after(1):
            async for event in conn:
                received.append(type(event).__name__)
                if isinstance(event, events.ResponseDone):
                    break
    assert received == [
        "SessionCreated",
        "SessionUpdated",
        "ConversationItemAdded",
        "ConversationItemDone",
        "ResponseCreated",
        "ResponseDone",
    ]


async def test_server_error_matched_by_event_id(server: FakeServer) -> None:
    async with connect(server) as conn:
        with pytest.raises(ServerError) as info:
            await conn.update_session(SessionConfig(instructions="reject me"))
        assert info.value.code == "invalid_value"
        assert isinstance(info.value.event, events.ErrorEvent)
        sent = server.connections[0].messages[-1]
        assert info.value.event.error.event_id == sent["event_id"]
        # The error is still an event on the stream, and the connection goes on.
        assert isinstance(await conn.receive(), events.SessionCreated)
        assert isinstance(await conn.receive(), events.ErrorEvent)
        assert (
            await conn.update_session(SessionConfig(instructions="ok"))
        ).instructions == "ok"  # type: ignore[union-attr]


async def test_cancel_response_with_nothing_active_raises_server_error(
    server: FakeServer,
) -> None:
    async with connect(server) as conn:
        with pytest.raises(ServerError, match="response_cancel_not_active"):
            await conn.cancel_response()


async def test_plain_dicts_can_be_sent(server: FakeServer) -> None:
    async with connect(server) as conn:
        await conn.send(
            {"type": "response.create", "response": {"future_option": True}}
        )
        await conn.send(events.ConversationItemDelete(item_id="x"))
        await trio.testing.wait_all_tasks_blocked()
    messages = server.connections[0].messages
    assert messages[0] == {
        "type": "response.create",
        "response": {"future_option": True},
    }
    assert messages[1] == {"type": "conversation.item.delete", "item_id": "x"}


async def test_strict_malformed_server_message_raises_and_loses_nothing(
    nursery: trio.Nursery,
) -> None:
    # The default delivers events.InvalidEvent (tests/test_connection_invalid.py).
    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await ws.send_message("{not json")
        await ws.send_message(
            '{"type":"conversation.item.deleted","event_id":"e","item_id":5}'
        )
        await ws.send_message('{"type":"brand.new.event","event_id":"e2"}')
        await ws.send_message(
            '{"type":"conversation.item.deleted","event_id":"e3","item_id":"ok"}'
        )
        await trio.sleep_forever()

    server = FakeServer(nursery, script=script)
    async with connect(server, strict=True) as conn:
        assert isinstance(await conn.receive(), events.SessionCreated)
        with pytest.raises(RemoteProtocolError, match="not valid JSON") as info:
            await conn.receive()
        assert info.value.raw == "{not json"
        with pytest.raises(
            RemoteProtocolError, match=r"item_id: expected string"
        ) as info:
            await conn.receive()
        assert info.value.event_type == "conversation.item.deleted"
        unknown = await conn.receive()
        assert isinstance(unknown, realtime_trio.UnknownEvent)
        assert unknown.type == "brand.new.event"
        last = await conn.receive()
        assert isinstance(last, events.ConversationItemDeleted)
        assert last.item_id == "ok"


async def test_clean_server_close_ends_iteration(nursery: trio.Nursery) -> None:
    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await ws.send_message(
            json.dumps({"type": "input_audio_buffer.cleared", "event_id": "e"})
        )
        await ws.aclose(1000)

    server = FakeServer(nursery, script=script)
    async with connect(server) as conn:
        received = [type(e) async for e in conn]
        assert received == [events.SessionCreated, events.InputAudioBufferCleared]
        with pytest.raises(trio.EndOfChannel):
            await conn.receive()
        assert conn.close_reason is not None
        assert conn.close_reason.code == 1000


async def test_unexpected_close_is_broken_after_buffered_events(
    nursery: trio.Nursery,
) -> None:
    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await ws.send_message(
            json.dumps(
                {
                    "type": "error",
                    "event_id": "e",
                    "error": {
                        "type": "invalid_request_error",
                        "code": "session_expired",
                        "message": "Your session hit the maximum duration of 60 minutes.",
                    },
                }
            )
        )
        await ws.aclose(1001, "Your session hit the maximum duration of 60 minutes.")

    server = FakeServer(nursery, script=script)
    async with connect(server) as conn:
        assert isinstance(await conn.receive(), events.SessionCreated)
        error = await conn.receive()
        assert isinstance(error, events.ErrorEvent)
        assert error.error.code == "session_expired"
        with pytest.raises(ConnectionBroken) as info:
            await conn.receive()
        assert not isinstance(info.value, CallEnded)
        assert info.value.close_reason is not None
        assert info.value.close_reason.code == 1001
        assert isinstance(info.value, trio.BrokenResourceError)
        with pytest.raises(ConnectionBroken):
            await conn.send(events.ResponseCreate())
        with pytest.raises(ConnectionBroken):
            await conn.update_session(SessionConfig())


async def test_async_for_raises_the_terminal_error_after_buffered_events(
    nursery: trio.Nursery,
) -> None:
    # `async for` reads the events buffer itself (not through receive()):
    # it must end the same way receive() does.
    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await ws.send_message(
            json.dumps({"type": "input_audio_buffer.cleared", "event_id": "e"})
        )
        await ws.aclose(1011, "server error")

    server = FakeServer(nursery, script=script)
    async with connect(server) as conn:
        received = []
        with pytest.raises(ConnectionBroken) as info:
            async for event in conn:
                received.append(type(event))
        assert received == [events.SessionCreated, events.InputAudioBufferCleared]
        assert info.value.close_reason is not None
        assert info.value.close_reason.code == 1011
    with pytest.raises(ConnectionClosed):
        async for _ in conn:
            pass


async def test_sideband_lost_socket_is_broken_not_call_ended(
    nursery: trio.Nursery,
) -> None:
    async def vanish(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await ws._stream.aclose()  # no close frame: the network failed

    server = FakeServer(nursery, script=vanish)
    async with connect(server, model=None, call_id="rtc_1") as conn:
        assert isinstance(await conn.receive(), events.SessionCreated)
        with pytest.raises(ConnectionBroken) as info:
            await conn.receive()
        assert not isinstance(info.value, CallEnded)
        assert info.value.close_reason is not None
        assert info.value.close_reason.code == 1006


async def test_sideband_call_end_is_call_ended(nursery: trio.Nursery) -> None:
    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await ws.aclose(1011, "call ended")

    server = FakeServer(nursery, script=script)
    async with connect(server, model=None, call_id="rtc_1") as conn:
        assert conn.is_sideband
        assert isinstance(await conn.receive(), events.SessionCreated)
        with pytest.raises(CallEnded):
            await conn.receive()


# --- lifetime, exceptions, cancellation ----------------------------------------


async def test_leaving_sends_a_close_frame(server: FakeServer) -> None:
    async with connect(server) as conn:
        pass
    seen = server.connections[0]
    with trio.fail_after(1):
        await seen.closed.wait()
    assert seen.close_code == 1000
    assert conn.closed
    with pytest.raises(ConnectionClosed):
        await conn.send(events.ResponseCreate())
    with pytest.raises(trio.ClosedResourceError):
        await conn.receive()


async def test_user_exception_comes_out_alone_and_closes(server: FakeServer) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom) as info:
        async with connect(server):
            raise Boom("mine")
    assert not isinstance(info.value, BaseExceptionGroup)
    assert info.value.__context__ is None
    seen = server.connections[0]
    with trio.fail_after(1):
        await seen.closed.wait()
    assert seen.close_code == 1000


async def test_user_exception_group_comes_out_whole(server: FakeServer) -> None:
    group = ExceptionGroup("mine", [ValueError("a"), KeyError("b")])
    with pytest.raises(ExceptionGroup) as info:
        async with connect(server):
            raise group
    assert info.value is group


async def test_keyboard_interrupt_comes_out_alone(server: FakeServer) -> None:
    with pytest.raises(KeyboardInterrupt):
        async with connect(server) as conn:
            await conn.receive()
            signal.raise_signal(signal.SIGINT)
            await trio.sleep(10)
    seen = server.connections[0]
    with trio.fail_after(1):
        await seen.closed.wait()
    assert seen.close_code == 1000


async def test_cancel_during_connect(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async def silent(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await ws.get_message()  # raises once the client is gone

    server = FakeServer(nursery, send_created=False, script=silent)
    with trio.move_on_after(2) as scope:
        async with connect(server):
            pytest.fail("must not enter")
    assert scope.cancelled_caught
    with trio.fail_after(1):
        await server.connections[0].closed.wait()


async def test_cancel_during_receive_then_close(
    server: FakeServer, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.move_on_after(5) as scope:
        async with connect(server) as conn:
            await conn.receive()
            await conn.receive()  # nothing more comes
    assert scope.cancelled_caught
    assert conn.closed
    with trio.fail_after(1):
        await server.connections[0].closed.wait()
    assert server.connections[0].close_code == 1000


async def test_cancel_during_blocked_send(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async def deaf(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await trio.sleep_forever()  # never reads: the socket and our buffers fill

    server = FakeServer(nursery, script=deaf, lockstep=True)
    with trio.move_on_after(5) as scope:
        async with connect(server, max_buffered_messages=1, close_timeout=1) as conn:
            big = {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "x" * 100_000}],
                },
            }
            while True:
                await conn.send(big)
    assert scope.cancelled_caught
    assert conn.closed


async def test_cancel_inside_close_is_bounded(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async def no_close_ack(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await trio.sleep_forever()

    server = FakeServer(nursery, script=no_close_ack)
    start = trio.current_time()
    async with connect(server, close_timeout=3) as conn:
        await conn.send(events.ResponseCreate())
    assert trio.current_time() - start <= 6.1
    assert conn.closed


async def test_aclose_is_idempotent(server: FakeServer) -> None:
    async with connect(server) as conn:
        await conn.aclose()
        await conn.aclose()
        assert conn.closed


async def test_connect_realtime_in_caller_nursery(server: FakeServer) -> None:
    async with trio.open_nursery() as nursery:
        conn = await realtime_trio.connect_realtime(
            nursery,
            model="m",
            api_key=KEY,
            url=URL,
            connect_stream=server.connect_stream,
        )
        async with conn:
            assert isinstance(await conn.receive(), events.SessionCreated)
    assert conn.closed


async def test_connect_realtime_lets_groups_through(server: FakeServer) -> None:
    async def fail() -> None:
        raise KeyError("task")

    with pytest.RaisesGroup(KeyError):
        async with trio.open_nursery() as nursery:
            conn = await realtime_trio.connect_realtime(
                nursery,
                model="m",
                api_key=KEY,
                url=URL,
                connect_stream=server.connect_stream,
            )
            nursery.start_soon(fail)
            await conn.receive()
            await trio.sleep_forever()


# --- checkpoints -----------------------------------------------------------------


async def test_checkpoints(server: FakeServer) -> None:
    async with connect(server) as conn:
        with trio.testing.assert_checkpoints():
            await conn.send(events.ResponseCreate())
        with trio.testing.assert_checkpoints():
            await conn.send(events.InputAudioBufferClear())
        with trio.testing.assert_checkpoints():
            await conn.receive()
        with trio.testing.assert_checkpoints():
            await conn.send_audio(b"\x00\x00" * 100)
        await trio.testing.wait_all_tasks_blocked()
        with trio.testing.assert_no_checkpoints():
            conn.send_nowait(events.ResponseCreate())
            conn.send_audio_nowait(b"\x00\x00" * 10)
            conn.statistics()
            assert isinstance(conn.receive_nowait(), events.ResponseCreated)
        with trio.testing.assert_checkpoints():
            await conn.update_session({"type": "realtime", "instructions": "x"})
        with trio.testing.assert_checkpoints():
            await conn.aclose()


async def test_calls_cancelled_before_they_start_send_nothing(
    server: FakeServer,
) -> None:
    async with connect(server) as conn:
        sent = conn.statistics().events_sent
        with trio.CancelScope() as scope:
            scope.cancel()
            await conn.update_session({"type": "realtime", "instructions": "x"})
        assert scope.cancelled_caught
        with trio.CancelScope() as scope:
            scope.cancel()
            await conn.send(events.ResponseCreate())
        assert scope.cancelled_caught
        assert conn.statistics().events_sent == sent


# --- secrets -------------------------------------------------------------------


async def test_api_key_never_logged_or_shown(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with connect(server) as conn:
        await conn.create_response()
        text = repr(conn) + str(conn.statistics()) + conn.url
    assert KEY not in text
    assert KEY not in caplog.text
    assert caplog.records  # the test would be vacuous with no logging at all


# --- backpressure and big messages -----------------------------------------------


def flood(count: int) -> Any:
    """A server script that sends ``count`` events (ids e0, e1, ...) at once,
    then reads until the client closes."""

    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        for i in range(count):
            await ws.send_message(
                json.dumps({"type": "input_audio_buffer.cleared", "event_id": f"e{i}"})
            )
        while True:
            await ws.get_message()

    return script


async def test_slow_consumer_stalls_the_reader_with_bounded_memory(
    nursery: trio.Nursery,
) -> None:
    server = FakeServer(nursery, script=flood(200))
    async with connect(server, max_buffered_events=8) as conn:
        await trio.testing.wait_all_tasks_blocked()
        stats = conn.statistics()
        assert stats.events_buffered == 8
        assert stats.peak_events_buffered == 8
        received = 0
        with trio.move_on_after(1):
            async for _ in conn:
                received += 1
                if received == 201:
                    break
        assert received == 201


async def test_a_full_buffer_is_refilled_from_low_water_not_per_event(
    nursery: trio.Nursery,
) -> None:
    server = FakeServer(nursery, script=flood(100))
    async with connect(server, max_buffered_events=8) as conn:
        await trio.testing.wait_all_tasks_blocked()
        assert conn.statistics().events_buffered == 8
        got = []
        # Taking events down to low water (4 of 8) does not wake the reader...
        for taken in range(1, 5):
            got.append(conn.receive_nowait())
            await trio.testing.wait_all_tasks_blocked()
            if taken < 4:
                assert conn.statistics().events_buffered == 8 - taken
        # ...reaching it does: the buffer is full again, in order.
        assert conn.statistics().events_buffered == 8
        for _ in range(97):
            got.append(await conn.receive())
        assert isinstance(got[0], events.SessionCreated)
        assert [e.event_id for e in got[1:]] == [f"e{i}" for i in range(100)]  # type: ignore[union-attr]


async def test_an_unbuffered_connection_hands_events_over_directly(
    nursery: trio.Nursery,
) -> None:
    server = FakeServer(nursery, script=flood(20))
    async with connect(server, max_buffered_events=0) as conn:
        assert isinstance(await conn.receive(), events.SessionCreated)
        ids = [(await conn.receive()).event_id for _ in range(20)]  # type: ignore[union-attr]
        assert ids == [f"e{i}" for i in range(20)]
        assert conn.statistics().peak_events_buffered == 0


@pytest.mark.parametrize("max_buffered_events", [8, 0])
async def test_leaving_while_the_buffer_is_full_closes_cleanly_at_once(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
    max_buffered_events: int,
) -> None:
    # Breaking out of `async for` mid-stream leaves the reader waiting for
    # room; closing must not wait for it (close_timeout) nor abort.
    server = FakeServer(nursery, script=flood(500))
    start = trio.current_time()
    async with connect(server, max_buffered_events=max_buffered_events) as conn:
        async for event in conn:
            if isinstance(event, events.InputAudioBufferCleared):
                break
        await trio.testing.wait_all_tasks_blocked()
    assert trio.current_time() - start < 1
    with trio.fail_after(1):
        await server.connections[0].closed.wait()
    assert server.connections[0].close_code == 1000
    assert conn.close_reason is not None and conn.close_reason.code == 1000


async def test_messages_larger_than_one_mib(nursery: trio.Nursery) -> None:
    huge = "x" * (3 * 2**20)

    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        session = dict(SESSION_CREATED["session"], instructions=huge)
        await ws.send_message(
            json.dumps({"type": "session.updated", "event_id": "e", "session": session})
        )
        await trio.sleep_forever()

    server = FakeServer(nursery, script=script)
    async with connect(server) as conn:
        await conn.receive()
        updated = await conn.receive()
        assert isinstance(updated, events.SessionUpdated)
        assert len(updated.session.instructions) == len(huge)  # type: ignore[union-attr, arg-type]


async def test_message_size_limit_is_configurable(nursery: trio.Nursery) -> None:
    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await ws.send_message(json.dumps({"type": "x", "pad": "y" * 5000}))
        await trio.sleep_forever()

    server = FakeServer(nursery, script=script)
    async with connect(server, max_message_size=4096) as conn:
        await conn.receive()
        with pytest.raises(ConnectionBroken) as info:
            await conn.receive()
        assert info.value.close_reason is not None
        assert info.value.close_reason.code == 1009


# --- a real socket -----------------------------------------------------------------


async def test_loopback_smoke(nursery: trio.Nursery) -> None:
    server = FakeServer(nursery)
    listeners = await nursery.start(server.serve_tcp)
    port = listeners.port
    async with open_realtime(
        model="gpt-realtime", api_key=KEY, url=f"ws://127.0.0.1:{port}/v1/realtime"
    ) as conn:
        item = await conn.create_item(user_text("over TCP"))
        assert isinstance(item, events.MessageItem)
    with trio.fail_after(2):
        await server.connections[0].closed.wait()
    assert server.connections[0].close_code == 1000


async def test_cancelling_at_any_moment_of_connect_never_hangs(
    nursery: trio.Nursery,
) -> None:
    # Regression: the tasks' shield used to be set before task_status.started(),
    # so a cancellation landing in that window left them in start()'s nursery
    # for ever. Sweep the cancellation over the whole connect phase.
    server = FakeServer(nursery)
    outcomes = set()
    for step in range(60):
        with trio.fail_after(5):  # a hang fails the test instead of stalling it
            with trio.move_on_after(step * 0.0001) as scope:
                async with connect(server, model=None, call_id="rtc_sweep"):
                    await trio.sleep_forever()
        outcomes.add(scope.cancelled_caught)
    assert outcomes == {True}
    for seen in server.connections:
        with trio.fail_after(2):
            await seen.closed.wait()
