"""Malformed server messages: events.InvalidEvent in the stream, helpers that fail.

Issue 9, point 2: a message that is not JSON or does not fit its record never
ends the consumer's loop (unless ``strict=True``), the protocol state applies
what it can read from it, and a helper whose answer it is raises instead of
waiting forever. Point 5: ``events_sent`` counts what reached the socket.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket

from realtime_trio import (
    RemoteProtocolError,
    ServerError,
    UnknownEvent,
    events,
    open_realtime,
)
from tests.helpers.fake_server import SESSION_CREATED, FakeServer, Seen

KEY = "sk-test-key"
URL = "ws://127.0.0.1:8123/v1/realtime"

NOT_JSON = "{not json"
#: A response.done whose ``usage`` has the wrong type: it does not fit its record.
BAD_DONE = json.dumps(
    {
        "type": "response.done",
        "event_id": "ev_bad_done",
        "response": {
            "object": "realtime.response",
            "id": "resp_1",
            "status": "completed",
            "conversation_id": "conv_1",
            "usage": "a lot",
        },
    }
)
BINARY = b"\xff\x00 not text"


def connect(server: FakeServer, **kwargs: Any) -> Any:
    return open_realtime(
        model="gpt-realtime",
        api_key=KEY,
        url=URL,
        connect_stream=server.connect_stream,
        **kwargs,
    )


def deleted(event_id: str) -> str:
    return json.dumps(
        {"type": "conversation.item.deleted", "event_id": event_id, "item_id": "i"}
    )


async def mixed_stream(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
    """Good, bad and unknown events, then a normal close."""
    await ws.send_message(
        json.dumps(
            {
                "type": "response.created",
                "event_id": "ev_created",
                "response": {
                    "id": "resp_1",
                    "status": "in_progress",
                    "conversation_id": "conv_1",
                },
            }
        )
    )
    await ws.send_message(NOT_JSON)
    await ws.send_message(BAD_DONE)
    await ws.send_message(BINARY)
    await ws.send_message('{"type":"brand.new.event","event_id":"ev_new"}')
    await ws.send_message(deleted("ev_last"))
    await ws.aclose(1000)


async def test_invalid_events_arrive_in_the_stream(nursery: trio.Nursery) -> None:
    server = FakeServer(nursery, script=mixed_stream)
    received: list[events.ReceivedEvent] = []
    async with connect(server) as conn:
        with trio.fail_after(5):
            async for event in conn:  # the loop survives the bad messages
                received.append(event)
                if isinstance(event, events.ResponseCreated):
                    assert conn.statistics().responses_in_flight == 1
        stats = conn.statistics()
    assert [type(e) for e in received] == [
        events.SessionCreated,
        events.ResponseCreated,
        events.InvalidEvent,
        events.InvalidEvent,
        events.InvalidEvent,
        UnknownEvent,
        events.ConversationItemDeleted,
    ]
    not_json, bad_done, binary = received[2:5]
    assert isinstance(not_json, events.InvalidEvent)
    assert not_json.raw == NOT_JSON
    assert not_json.type is None
    assert not_json.data is None
    assert isinstance(not_json.error, RemoteProtocolError)
    assert "not valid JSON" in str(not_json.error)
    assert not_json.error.raw == NOT_JSON

    assert isinstance(bad_done, events.InvalidEvent)
    assert bad_done.raw == BAD_DONE
    assert bad_done.type == "response.done"
    assert bad_done.event_id == "ev_bad_done"
    assert bad_done.response_id == "resp_1"
    assert bad_done.error.event_type == "response.done"
    assert bad_done.error.path == ("response", "usage")
    assert bad_done.lookup("response", "status") == "completed"

    assert isinstance(binary, events.InvalidEvent)
    assert binary.raw == BINARY
    assert binary.type is None

    # The malformed response.done still ended its response.
    assert stats.responses_in_flight == 0
    assert stats.events_received == 7


async def test_match_on_invalid_event(nursery: trio.Nursery) -> None:
    server = FakeServer(nursery, script=mixed_stream)
    seen: list[str] = []
    async with connect(server) as conn:
        async for event in conn:
            match event:
                case events.InvalidEvent(type="response.done", response_id=rid):
                    seen.append(f"bad done {rid}")
                case events.InvalidEvent(raw=raw):
                    seen.append(f"bad {raw!r}")
                case events.ConversationItemDeleted(event_id=eid):
                    seen.append(eid)
    assert seen == [
        f"bad {NOT_JSON!r}",
        "bad done resp_1",
        f"bad {BINARY!r}",
        "ev_last",
    ]


async def test_strict_raises_and_goes_on(nursery: trio.Nursery) -> None:
    server = FakeServer(nursery, script=mixed_stream)
    async with connect(server, strict=True) as conn:
        assert isinstance(await conn.receive(), events.SessionCreated)
        assert isinstance(await conn.receive(), events.ResponseCreated)
        with pytest.raises(RemoteProtocolError, match="not valid JSON") as info:
            await conn.receive()
        assert info.value.raw == NOT_JSON
        with pytest.raises(RemoteProtocolError, match=r"at response\.usage") as info:
            await conn.receive()
        assert info.value.raw == BAD_DONE
        assert info.value.event_type == "response.done"
        with pytest.raises(RemoteProtocolError) as info:
            await conn.receive()
        assert info.value.raw == BINARY
        assert isinstance(await conn.receive(), UnknownEvent)
        assert isinstance(await conn.receive(), events.ConversationItemDeleted)
        with pytest.raises(trio.EndOfChannel):
            await conn.receive()
        # Strict or not, the state applied what it could read.
        assert conn.statistics().responses_in_flight == 0


async def test_malformed_session_created_still_opens(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    bad_created = json.dumps({**SESSION_CREATED, "event_id": 5})

    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await ws.send_message(bad_created)
        await ws.send_message(deleted("ev_next"))
        await trio.sleep_forever()

    server = FakeServer(nursery, script=script, send_created=False)
    start = trio.current_time()
    async with connect(server, connect_timeout=10) as conn:
        assert trio.current_time() - start < 1  # no wait for connect_timeout
        first = await conn.receive()
        assert isinstance(first, events.InvalidEvent)
        assert first.type == "session.created"
        assert first.raw == bad_created
        assert conn.session is None  # not taken from a message that does not fit
        assert isinstance(await conn.receive(), events.ConversationItemDeleted)


async def test_malformed_session_created_strict(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        await ws.send_message(json.dumps({**SESSION_CREATED, "event_id": 5}))
        await trio.sleep_forever()

    server = FakeServer(nursery, script=script, send_created=False)
    async with connect(server, strict=True) as conn:
        with pytest.raises(RemoteProtocolError, match="at event_id"):
            await conn.receive()


# --- helpers whose answer is malformed ----------------------------------------------


class CorruptingServer(FakeServer):
    """Answers as FakeServer does, but breaks the answers of one wire type.

    The broken answer has a numeric ``event_id``, which fits no server event;
    its type and the ids inside it stay readable. ``response.create`` is
    answered with ``response.created`` only, and ``response.cancel`` with the
    ``response.done`` of the response in progress.
    """

    def __init__(self, nursery: trio.Nursery, corrupt: str) -> None:
        super().__init__(nursery)
        self.corrupt = corrupt
        self.in_progress: dict[str, Any] | None = None
        self.broken: list[str] = []

    def respond(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        kind = data.get("type")
        answers: list[dict[str, Any]]
        if kind == "response.cancel" and self.in_progress is not None:
            answers = [
                {
                    "type": "response.done",
                    "event_id": self.next_id(),
                    "response": {**self.in_progress, "status": "cancelled"},
                }
            ]
        else:
            answers = super().respond(data)
        if kind == "response.create":
            answers = answers[:1]
            self.in_progress = answers[0]["response"]
        out: list[dict[str, Any]] = []
        for answer in answers:
            if answer["type"] == self.corrupt:
                answer = {**answer, "event_id": 12345}
                self.broken.append(json.dumps(answer))
            out.append(answer)
        return out


async def _create_response(conn: Any) -> Any:
    return await conn.create_response()


async def _cancel_response(conn: Any) -> Any:
    await conn.create_response()
    return await conn.cancel_response()


async def _update_session(conn: Any) -> Any:
    return await conn.update_session({"type": "realtime", "instructions": "x"})


async def _rejected_update(conn: Any) -> Any:
    return await conn.update_session({"type": "realtime", "instructions": "reject me"})


async def _create_item(conn: Any) -> Any:
    item = events.MessageItem(
        id="item_mine", role="user", content=(events.InputText(text="hi"),)
    )
    return await conn.create_item(item)


async def _commit_audio(conn: Any) -> Any:
    return await conn.commit_audio()


async def _clear_audio(conn: Any) -> Any:
    return await conn.clear_audio()


HELPERS = [
    pytest.param(_update_session, "session.updated", id="update_session"),
    pytest.param(_rejected_update, "error", id="update_session-error"),
    pytest.param(_create_item, "conversation.item.added", id="create_item"),
    pytest.param(_create_response, "response.created", id="create_response"),
    pytest.param(_cancel_response, "response.done", id="cancel_response"),
    pytest.param(_commit_audio, "input_audio_buffer.committed", id="commit_audio"),
    pytest.param(_clear_audio, "input_audio_buffer.cleared", id="clear_audio"),
]


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize(("helper", "corrupt"), HELPERS)
async def test_helper_fails_when_its_answer_is_malformed(
    nursery: trio.Nursery, helper: Any, corrupt: str, strict: bool
) -> None:
    server = CorruptingServer(nursery, corrupt)
    async with connect(server, strict=strict) as conn:
        with trio.fail_after(5):  # fails rather than waiting forever
            with pytest.raises(RemoteProtocolError, match="not a valid event") as info:
                await helper(conn)
        # Not a ServerError, even for a malformed "error": it could not be read.
        assert not isinstance(info.value, ServerError)
        assert info.value.event_type == corrupt
        assert info.value.path == ("event_id",)
        [broken] = server.broken
        assert info.value.raw == broken
        # The consumer sees it too, in order, as it sees every message.
        await trio.testing.wait_all_tasks_blocked()
        delivered: list[Any] = []
        while True:
            try:
                delivered.append(conn.receive_nowait())
            except trio.WouldBlock:
                break
            except RemoteProtocolError as exc:
                delivered.append(exc)
        [bad] = [
            e
            for e in delivered
            if isinstance(e, events.InvalidEvent | RemoteProtocolError)
        ]
        if strict:
            assert isinstance(bad, RemoteProtocolError)
            assert bad.raw == broken
            assert bad is not info.value  # each keeps its own traceback
        else:
            assert isinstance(bad, events.InvalidEvent)
            assert bad.raw == broken
            assert bad.type == corrupt
        # A malformed response.created starts its response, a malformed
        # response.done ends it.
        in_flight = 1 if corrupt == "response.created" else 0
        assert conn.statistics().responses_in_flight == in_flight
        # The connection goes on: the next request is answered normally.
        server.corrupt = ""
        with trio.fail_after(5):
            await conn.update_session({"type": "realtime", "instructions": "again"})


async def test_unrelated_malformed_message_leaves_a_request_waiting(
    nursery: trio.Nursery,
) -> None:
    async def script(ws: trio_websocket.WebSocketConnection, seen: Seen) -> None:
        request = json.loads(await ws.get_message())
        await ws.send_message(NOT_JSON)
        await ws.send_message(  # another item's answer, malformed
            json.dumps(
                {
                    "type": "conversation.item.added",
                    "event_id": 1,
                    "item": {"id": "item_other"},
                }
            )
        )
        await ws.send_message(
            json.dumps(
                {
                    "type": "conversation.item.added",
                    "event_id": "ev_ok",
                    "previous_item_id": None,
                    "item": request["item"],
                }
            )
        )
        await trio.sleep_forever()

    server = FakeServer(nursery, script=script)
    async with connect(server) as conn:
        item = events.MessageItem(
            id="item_mine", role="user", content=(events.InputText(text="hi"),)
        )
        with trio.fail_after(5):
            added = await conn.create_item(item)
        assert added.id == "item_mine"


# --- statistics().events_sent ---------------------------------------------------------


async def test_events_sent_counts_messages_written(nursery: trio.Nursery) -> None:
    server = FakeServer(nursery)
    async with connect(server, max_buffered_messages=1) as conn:
        await trio.testing.wait_all_tasks_blocked()
        before = conn.statistics().events_sent
        written_before = len(server.connections[0].messages)
        event = events.ConversationItemDelete(item_id="x")  # the server is silent
        accepted = 0
        while True:  # no checkpoint: the send task cannot take any meanwhile
            try:
                conn.send_nowait(event)
            except trio.WouldBlock:
                break
            accepted += 1
        assert 1 <= accepted <= 2  # the buffer, and a hand-over to the send task
        for _ in range(19):
            with pytest.raises(trio.WouldBlock):
                conn.send_nowait(event)
        assert conn.statistics().events_sent == before  # nothing written yet
        await trio.testing.wait_all_tasks_blocked()
        assert len(server.connections[0].messages) == written_before + accepted
        assert conn.statistics().events_sent == before + accepted
