"""A replay keeps the recording's causality and timing (see `ReplaySession`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio.testing

from realtime_trio import events
from realtime_trio._core.serde import get_codec
from realtime_trio.audio import encode_audio
from realtime_trio.testing import RealtimeSimulator, Replay
from realtime_trio.testing._model.recording import RecordedEvent
from realtime_trio.testing._model.replay_session import ReplaySession
from realtime_trio.testing._model.scenario import CloseConnection
from realtime_trio.testing._model.steps import Emit
from tests.helpers.client_sim import connect, receive_until


def _server(t: float, kind: str, **fields: Any) -> RecordedEvent:
    return RecordedEvent(
        t=t, direction="server", event={"type": kind, "event_id": kind, **fields}
    )


def _client(t: float, kind: str, **fields: Any) -> RecordedEvent:
    return RecordedEvent(t=t, direction="client", event={"type": kind, **fields})


def _append(t: float, nbytes: int) -> RecordedEvent:
    return RecordedEvent(
        t=t,
        direction="client",
        event={"type": "input_audio_buffer.append", "audio": ""},
        elided={"audio": nbytes},
    )


def _types(outputs: list[Any]) -> list[str]:
    codec = get_codec()
    return [
        codec.dump(output.event)["type"] if isinstance(output, Emit) else "close"
        for output in outputs
    ]


def _message(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})


def _audio(nbytes: int) -> str:
    return _message("input_audio_buffer.append", audio=encode_audio(b"\0" * nbytes))


def test_server_events_keep_their_delay_after_the_client_event_that_preceded_them() -> (
    None
):
    session = ReplaySession(
        Replay(
            events=[
                _server(0.0, "session.created", session={}),
                _client(5.0, "response.create"),
                _server(5.0, "response.created"),
                _server(5.5, "response.output_text.delta"),
                _server(7.0, "response.done"),
                RecordedEvent(t=7.25, direction="server", close=(4000, "bye")),
            ]
        )
    )
    assert _types(session.start()) == ["session.created"]
    assert session.next_deadline() is None
    # The client asks 95 s later than recorded: the answers follow it, not the recording.
    assert _types(session.handle_message(_message("response.create"), 100.0)) == [
        "response.created"
    ]
    assert session.next_deadline() == 100.5
    assert session.on_timer(100.4) == []
    assert _types(session.on_timer(100.5)) == ["response.output_text.delta"]
    assert session.next_deadline() == 102.0
    assert _types(session.on_timer(102.0)) == ["response.done"]
    (close,) = session.on_timer(102.3)
    assert close == CloseConnection(code=4000, reason="bye")
    assert session.next_deadline() is None


def test_a_client_event_sent_early_does_not_overtake_what_was_recorded_before_it() -> (
    None
):
    session = ReplaySession(
        Replay(
            events=[
                _client(0.0, "response.create"),
                _server(2.0, "response.done"),
                _client(3.0, "conversation.item.create"),
                _server(3.0, "conversation.item.added"),
            ]
        )
    )
    assert session.handle_message(_message("response.create"), 10.0) == []
    # Sent before the response.done it came after when recorded: it waits for it.
    assert session.handle_message(_message("conversation.item.create"), 10.5) == []
    assert session.next_deadline() == 12.0
    assert _types(session.on_timer(12.0)) == [
        "response.done",
        "conversation.item.added",
    ]


def test_appends_are_matched_when_the_client_has_sent_as_many_bytes() -> None:
    session = ReplaySession(
        Replay(
            events=[
                _append(1.0, 3200),
                _server(1.0, "input_audio_buffer.speech_started"),
                _append(1.1, 3200),
                _server(1.3, "input_audio_buffer.speech_stopped"),
            ]
        )
    )
    # Other chunks than recorded: 1600 bytes do not reach the first append's 3200.
    assert session.handle_message(_audio(1600), 20.0) == []
    assert _types(session.handle_message(_audio(1600), 20.05)) == [
        "input_audio_buffer.speech_started"
    ]
    assert session.handle_message(_audio(3200), 20.15) == []
    # Due 0.2 s after the append that reached the recorded 6400 bytes.
    assert session.next_deadline() == pytest.approx(20.35)
    assert _types(session.on_timer(20.35)) == ["input_audio_buffer.speech_stopped"]


def test_appends_sent_before_a_late_client_event_are_matched_right_after_it() -> None:
    session = ReplaySession(
        Replay(
            events=[
                _client(0.0, "input_audio_buffer.clear"),
                _server(0.0, "input_audio_buffer.cleared"),
                _append(0.1, 100),
                _server(0.1, "input_audio_buffer.speech_started"),
            ]
        )
    )
    # The append overtook the clear: it counts once the clear is matched.
    assert session.handle_message(_audio(100), 1.0) == []
    assert _types(
        session.handle_message(_message("input_audio_buffer.clear"), 1.0)
    ) == [
        "input_audio_buffer.cleared",
        "input_audio_buffer.speech_started",
    ]


def test_an_unrecorded_event_is_answered_at_once_and_due_events_go_first() -> None:
    session = ReplaySession(
        Replay(
            events=[
                _client(0.0, "response.create"),
                _server(1.0, "response.done"),
            ],
            unrecorded="error",
        )
    )
    assert session.handle_message(_message("response.create"), 0.0) == []
    outputs = session.handle_message(_message("response.cancel", event_id="c1"), 1.0)
    assert _types(outputs) == ["response.done", "error"]


async def test_the_simulator_sends_a_replayed_event_at_its_recorded_delay(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    replay = Replay(
        events=[
            _server(0.0, "session.created", session={"type": "realtime"}),
            _client(0.5, "response.create"),
            _server(3.0, "future.event"),
        ]
    )
    sim = RealtimeSimulator(scenario=replay)
    async with connect(sim, nursery) as conn:
        await receive_until(conn, events.SessionCreated)
        await trio.sleep(10)
        await conn.send(events.ResponseCreate())
        asked = trio.current_time()
        (received,) = await receive_until(
            conn, events.UnknownEvent, where=lambda e: e.type == "future.event"
        )
        assert trio.current_time() - asked == pytest.approx(2.5)
        assert received.raw["event_id"] == "future.event"


def _text_item(text: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
        **fields,
    }


def _errors(outputs: list[Any]) -> list[str]:
    return [
        output.event.error.message
        for output in outputs
        if isinstance(output, Emit) and isinstance(output.event, events.ErrorEvent)
    ]


def _text_recording(*, strict: bool) -> Replay:
    return Replay(
        events=[
            _client(
                0.0,
                "conversation.item.create",
                event_id="evt_1",
                item=_text_item("hello", id="item_rec"),
            ),
            _server(0.1, "conversation.item.added", item={"id": "item_rec"}),
        ],
        unrecorded="error",
        strict=strict,
    )


def test_a_strict_replay_answers_other_content_as_unrecorded() -> None:
    session = ReplaySession(_text_recording(strict=True))
    sent = _message(
        "conversation.item.create",
        event_id="c1",
        item=_text_item("tell me about tax law"),
    )
    outputs = session.handle_message(sent, 0.0)
    assert _errors(outputs) == [
        "the test sent conversation.item.create with text 'tell me about tax law'; "
        "the recording has 'hello' here"
    ]
    assert session.mismatch == _errors(outputs)[0]
    assert session.handle_message("", 1.0) == []  # nothing was released


def test_a_strict_replay_sets_the_client_ids_aside() -> None:
    session = ReplaySession(_text_recording(strict=True))
    sent = _message(
        "conversation.item.create",
        event_id="c1",
        item=_text_item("hello", id="item_mine"),
    )
    assert session.handle_message(sent, 0.0) == []
    (output,) = session.on_timer(0.1)
    assert get_codec().dump(output.event)["item"]["id"] == "item_mine"
    assert session.mismatch is None


def test_a_replay_that_is_not_strict_matches_by_type() -> None:
    session = ReplaySession(_text_recording(strict=False))
    sent = _message("conversation.item.create", item=_text_item("something else"))
    assert session.handle_message(sent, 0.0) == []
    assert _types(session.on_timer(0.1)) == ["conversation.item.added"]
    assert session.mismatch is None


def test_a_strict_replay_names_the_recorded_event_when_the_type_differs() -> None:
    session = ReplaySession(
        Replay(events=[_append(0.0, 4), _client(0.1, "response.create")], strict=True)
    )
    sent = _message("conversation.item.create", item=_text_item("hello"))
    assert session.handle_message(sent, 0.0) == []  # ignored: the default policy
    assert session.mismatch == (
        "the test sent conversation.item.create with text 'hello'; "
        "the recording has input_audio_buffer.append here"
    )


def test_a_strict_replay_compares_audio_with_the_recorded_audio() -> None:
    recorded = RecordedEvent(
        t=0.0,
        direction="client",
        event={
            "type": "input_audio_buffer.append",
            "audio": encode_audio(b"\1\2\3\4"),
        },
    )
    replay = Replay(events=[recorded], unrecorded="error", strict=True)
    # The same audio in other chunks matches.
    session = ReplaySession(replay)
    for chunk in (b"\1\2", b"\3\4\0\0"):
        assert (
            session.handle_message(
                _message("input_audio_buffer.append", audio=encode_audio(chunk)), 0.0
            )
            == []
        )
    assert session.mismatch is None
    session = ReplaySession(replay)
    outputs = session.handle_message(
        _message("input_audio_buffer.append", audio=encode_audio(b"\1\2\5\4")), 0.0
    )
    assert _errors(outputs) == [
        "the test sent input_audio_buffer.append with other audio than the "
        "recording has at byte 2 of its input audio"
    ]
    # Said once: the rest of the audio differs too.
    assert session.handle_message(_audio(4), 0.0) == []


def test_a_strict_replay_compares_elided_audio_by_length() -> None:
    item = {"type": "message", "role": "user", "content": [{"type": "input_audio"}]}

    def recorded(nbytes: int) -> RecordedEvent:
        content = [{"type": "input_audio", "audio": ""}]
        return RecordedEvent(
            t=0.0,
            direction="client",
            event={
                "type": "conversation.item.create",
                "item": {**item, "content": content},
            },
            elided={"item.content[0].audio": nbytes},
        )

    sent = _message(
        "conversation.item.create",
        item={
            **item,
            "content": [{"type": "input_audio", "audio": encode_audio(b"\0" * 6)}],
        },
    )
    session = ReplaySession(Replay(events=[recorded(6)], strict=True))
    session.handle_message(sent, 0.0)
    assert session.mismatch is None
    session = ReplaySession(Replay(events=[recorded(8)], strict=True))
    session.handle_message(sent, 0.0)
    assert session.mismatch == (
        "the test sent conversation.item.create with audio of 6 bytes; "
        "the recording has 8 bytes here"
    )
