"""The sans-IO protocol state, without an event loop."""

from __future__ import annotations

import json

import pytest

from realtime_trio import LocalProtocolError, RemoteProtocolError, SessionConfig, events
from realtime_trio._core.protocol import RealtimeProtocol, SessionState
from tests.helpers.fake_server import SESSION_CREATED


def created() -> str:
    return json.dumps(SESSION_CREATED)


def test_session_created_opens_and_sets_session() -> None:
    proto = RealtimeProtocol()
    assert proto.state is SessionState.CONNECTING
    assert proto.session is None
    event = proto.receive_message(created())
    assert isinstance(event, events.SessionCreated)
    assert proto.state is SessionState.OPEN
    assert isinstance(proto.session, SessionConfig)
    assert proto.events_received == 1


def test_session_updated_replaces_session() -> None:
    proto = RealtimeProtocol()
    proto.receive_message(created())
    updated = {
        **SESSION_CREATED,
        "type": "session.updated",
        "session": {**SESSION_CREATED["session"], "instructions": "new"},
    }
    proto.receive_message(json.dumps(updated))
    assert proto.session.instructions == "new"  # type: ignore[union-attr]


def test_responses_in_flight_are_tracked() -> None:
    proto = RealtimeProtocol()
    proto.receive_message(created())
    proto.receive_message(
        '{"type":"response.created","event_id":"e","response":{"id":"r1","status":"in_progress"}}'
    )
    proto.receive_message(
        '{"type":"response.created","event_id":"e","response":{"id":"r2","status":"in_progress"}}'
    )
    assert proto.responses_in_flight == {"r1", "r2"}
    proto.receive_message(
        '{"type":"response.done","event_id":"e","response":{"id":"r1","status":"completed"}}'
    )
    assert proto.responses_in_flight == {"r2"}


def test_input_audio_accounting() -> None:
    proto = RealtimeProtocol()
    proto.receive_message(created())
    frame = proto.append_frame("AAAA", 3)
    assert json.loads(frame) == {"type": "input_audio_buffer.append", "audio": "AAAA"}
    assert proto.input_audio_bytes == 3
    proto.receive_message(
        '{"type":"input_audio_buffer.committed","event_id":"e","item_id":"i"}'
    )
    assert proto.input_audio_bytes == 0
    proto.append_frame("AAAA", 3)
    proto.receive_message('{"type":"input_audio_buffer.cleared","event_id":"e"}')
    assert proto.input_audio_bytes == 0


def test_send_encodes_and_refuses_after_closing() -> None:
    proto = RealtimeProtocol()
    text = proto.send(events.ResponseCancel(event_id="x"))
    assert json.loads(text) == {"type": "response.cancel", "event_id": "x"}
    # Counted when the transport has written it, not when it is encoded.
    assert proto.events_sent == 0
    proto.append_frame("AAAA", 3)
    assert proto.events_sent == 0
    proto.message_written()
    proto.message_written()
    assert proto.events_sent == 2
    proto.start_closing()
    with pytest.raises(LocalProtocolError, match="closing"):
        proto.send(events.ResponseCancel())
    proto.connection_closed()
    assert proto.state is SessionState.CLOSED
    with pytest.raises(LocalProtocolError, match="closed"):
        proto.send({"type": "response.cancel"})


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("{", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"event_id": "e"}', 'no "type" field'),
    ],
)
def test_unreadable_message_is_an_invalid_event(
    message: str | bytes, error: str
) -> None:
    proto = RealtimeProtocol()
    event = proto.receive_message(message)
    assert isinstance(event, events.InvalidEvent)
    assert event.type is None
    assert event.raw == message
    assert isinstance(event.error, RemoteProtocolError)
    assert error in str(event.error)
    assert event.error.raw == message
    assert proto.state is SessionState.CONNECTING
    assert proto.events_received == 1


def test_invalid_event_keeps_what_can_be_read() -> None:
    proto = RealtimeProtocol()
    message = json.dumps(
        {
            "type": "response.output_item.added",
            "event_id": "ev_1",
            "response_id": "resp_1",
            "output_index": "zero",  # wrong type
            "item": {"id": "item_1", "type": "message", "role": "assistant"},
        }
    )
    event = proto.receive_message(message)
    assert isinstance(event, events.InvalidEvent)
    assert (event.type, event.event_id, event.response_id, event.item_id) == (
        "response.output_item.added",
        "ev_1",
        "resp_1",
        "item_1",
    )
    assert event.error.event_type == "response.output_item.added"
    assert event.error.path == ("output_index",)
    assert event.data == json.loads(message)
    assert event.lookup("item", "role") == "assistant"
    assert event.lookup("item", "role", "deeper") is None
    assert event.lookup("missing") is None
    assert repr(message)[:40] in repr(event)
    assert repr(message) not in repr(event)  # shortened: a frame may be megabytes


def test_malformed_messages_still_drive_the_state() -> None:
    proto = RealtimeProtocol()
    # A malformed session.created still opens (the session is not trusted).
    bad_created = {**SESSION_CREATED, "event_id": 5}
    assert isinstance(
        proto.receive_message(json.dumps(bad_created)), events.InvalidEvent
    )
    assert proto.state is SessionState.OPEN
    assert proto.session is None
    # A malformed response.created starts its response; a malformed
    # response.done ends it.
    created = {
        "type": "response.created",
        "event_id": "e1",
        "response": {"id": "r1", "status": 7, "conversation_id": "conv_1"},
    }
    assert isinstance(proto.receive_message(json.dumps(created)), events.InvalidEvent)
    assert proto.responses_in_flight == {"r1"}
    assert proto.default_response_id == "r1"
    done = {
        "type": "response.done",
        "event_id": "e2",
        "response": {"id": "r1", "status": "completed", "usage": "lots"},
    }
    invalid = proto.receive_message(json.dumps(done))
    assert isinstance(invalid, events.InvalidEvent)
    assert invalid.response_id == "r1"
    assert proto.responses_in_flight == set()
    assert proto.default_response_id is None
    # A malformed committed still empties the input buffer.
    proto.append_frame("AAAA", 3)
    proto.receive_message(
        '{"type":"input_audio_buffer.committed","event_id":"e3","item_id":1}'
    )
    assert proto.input_audio_bytes == 0
    assert proto.events_received == 4


def test_client_event_types_from_the_server_are_unknown() -> None:
    proto = RealtimeProtocol()
    message = {"type": "response.cancel", "event_id": "e", "response_id": "r"}
    event = proto.receive_message(json.dumps(message))
    assert isinstance(event, events.UnknownEvent)
    assert event.type == "response.cancel"
    assert event.raw == message


def test_event_ids_are_unique() -> None:
    proto = RealtimeProtocol()
    ids = {proto.next_event_id() for _ in range(100)}
    assert len(ids) == 100
    # Deterministic per connection (so seeded simulator runs repeat exactly).
    assert RealtimeProtocol().next_event_id() == "rt_trio_1"
    assert RealtimeProtocol(event_id_prefix="x-").next_event_id() == "x-1"
