"""The sans-IO protocol state, without an event loop."""

from __future__ import annotations

import json

import pytest

from realtime_trio import LocalProtocolError, RemoteProtocolError, SessionConfig, events
from realtime_trio._protocol import RealtimeProtocol, SessionState

from .fake_server import SESSION_CREATED


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
    assert proto.events_sent == 1
    proto.start_closing()
    with pytest.raises(LocalProtocolError, match="closing"):
        proto.send(events.ResponseCancel())
    proto.connection_closed()
    assert proto.state is SessionState.CLOSED
    with pytest.raises(LocalProtocolError, match="closed"):
        proto.send({"type": "response.cancel"})


def test_malformed_message_leaves_state_unchanged() -> None:
    proto = RealtimeProtocol()
    with pytest.raises(RemoteProtocolError):
        proto.receive_message("{")
    assert proto.state is SessionState.CONNECTING
    assert proto.events_received == 0


def test_event_ids_are_unique() -> None:
    proto = RealtimeProtocol()
    ids = {proto.next_event_id() for _ in range(100)}
    assert len(ids) == 100
    # Deterministic per connection (so seeded simulator runs repeat exactly).
    assert RealtimeProtocol().next_event_id() == "rt_trio_1"
    assert RealtimeProtocol(event_id_prefix="x-").next_event_id() == "x-1"
