"""Matching answers to requests (`realtime_trio._core.requests`), without an event loop."""

from __future__ import annotations

import json
from typing import Any

import pytest

from realtime_trio import RemoteProtocolError, SessionConfig, events
from realtime_trio._core import requests
from realtime_trio._core.invalid import ReceivedEvent
from realtime_trio._core.requests import (
    MAX_METADATA_KEYS,
    REQUEST_METADATA_KEY,
    PendingRequest,
    PendingRequests,
)
from realtime_trio._core.serde import get_codec

CODEC = get_codec()


class Rejected(Exception):
    """Stands for the shell's ServerError."""

    def __init__(self, event: events.ErrorEvent) -> None:
        super().__init__(event.error.message)
        self.event = event


def received(data: dict[str, Any]) -> ReceivedEvent:
    """The event the protocol makes of ``data`` (an InvalidEvent if it does not fit)."""
    from realtime_trio._core.protocol import RealtimeProtocol

    return RealtimeProtocol().receive_message(json.dumps(data))


def malformed(data: dict[str, Any]) -> events.InvalidEvent:
    """``data`` made invalid by a wrong-typed ``event_id``."""
    event = received({**data, "event_id": 5})
    assert isinstance(event, events.InvalidEvent)
    return event


def error(event_id: object, message: str = "nope") -> dict[str, Any]:
    return {
        "type": "error",
        "event_id": "srv_1",
        "error": {
            "type": "invalid_request_error",
            "code": "bad",
            "message": message,
            "event_id": event_id,
        },
    }


def item_added(item_id: str, kind: str = "conversation.item.added") -> dict[str, Any]:
    return {
        "type": kind,
        "event_id": "srv_2",
        "previous_item_id": None,
        "item": {
            "id": item_id,
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_text", "text": "hi"}],
        },
    }


def response_event(
    kind: str,
    response_id: str,
    *,
    metadata: dict[str, str] | None = None,
    conversation_id: str | None = "conv_1",
    status: str = "in_progress",
) -> dict[str, Any]:
    return {
        "type": kind,
        "event_id": "srv_3",
        "response": {
            "object": "realtime.response",
            "id": response_id,
            "status": status,
            "conversation_id": conversation_id,
            "metadata": metadata,
            "output": [],
        },
    }


class Waiters:
    """A `PendingRequests` whose wake-ups are recorded (the shell sets a trio.Event)."""

    def __init__(self) -> None:
        self.pending = PendingRequests(Rejected)
        self.woken: list[str] = []

    def add(self, request: requests.Request[Any]) -> PendingRequest[Any]:
        event_id = request.event_id
        return self.pending.add(
            event_id, request.expects, lambda: self.woken.append(event_id)
        )


# --- building the requests ------------------------------------------------------------


def test_update_session_converts_a_dict_and_sets_the_event_id() -> None:
    request = requests.update_session(
        "rt_1", {"type": "realtime", "instructions": "hi"}, CODEC
    )
    assert isinstance(request.event, events.SessionUpdate)
    assert request.event_id == "rt_1"
    assert isinstance(request.event.session, SessionConfig)
    assert request.event.session.instructions == "hi"
    record = SessionConfig(instructions="x")
    assert requests.update_session("rt_2", record, CODEC).event.session is record  # type: ignore[attr-defined]


def test_create_item_gives_an_item_without_id_a_fresh_one() -> None:
    item = events.MessageItem(role="user", content=(events.InputText(text="hi"),))
    first = requests.create_item("rt_1", item).event
    second = requests.create_item("rt_2", item).event
    assert isinstance(first, events.ConversationItemCreate)
    assert isinstance(second, events.ConversationItemCreate)
    first_id = first.item.id  # type: ignore[union-attr]
    assert isinstance(first_id, str) and first_id.startswith("item_")
    assert first_id != second.item.id  # type: ignore[union-attr]
    named = events.MessageItem(id="mine", role="user", content=())
    assert requests.create_item("rt_3", named).event.item.id == "mine"  # type: ignore[attr-defined]


def test_create_response_tags_its_metadata_with_the_event_id() -> None:
    request = requests.create_response(
        "rt_7", events.ResponseCreateParams(metadata={"k": "v"})
    )
    assert isinstance(request.event, events.ResponseCreate)
    assert request.event.event_id == "rt_7"
    assert request.event.response.metadata == {"k": "v", REQUEST_METADATA_KEY: "rt_7"}  # type: ignore[union-attr]
    plain = requests.create_response("rt_8").event
    assert plain.response.metadata == {REQUEST_METADATA_KEY: "rt_8"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "metadata",
    [None, {f"k{i}": "v" for i in range(MAX_METADATA_KEYS)}],
    ids=["null", "full"],
)
def test_create_response_untaggable_takes_the_first_created(
    metadata: dict[str, str] | None,
) -> None:
    request = requests.create_response(
        "rt_1", events.ResponseCreateParams(metadata=metadata)
    )
    assert request.event.response.metadata == metadata  # type: ignore[attr-defined]
    assert request.expects.matches(
        received(response_event("response.created", "r1", metadata={"x": "y"}))
    )


# --- matching -----------------------------------------------------------------------


def test_an_answer_settles_its_request_and_wakes_it() -> None:
    waiters = Waiters()
    pending = waiters.add(requests.commit_audio("rt_1"))
    assert waiters.pending
    unrelated = received({"type": "input_audio_buffer.cleared", "event_id": "e"})
    assert waiters.pending.answer(unrelated) is None
    assert not pending.done
    answer = received(
        {
            "type": "input_audio_buffer.committed",
            "event_id": "e",
            "previous_item_id": None,
            "item_id": "item_1",
        }
    )
    assert waiters.pending.answer(answer) is pending
    assert pending.done and pending.result() is answer
    assert waiters.woken == ["rt_1"]
    assert not waiters.pending  # settled requests leave the list


def test_an_event_answers_the_oldest_request_only() -> None:
    waiters = Waiters()
    first = waiters.add(requests.clear_audio("rt_1"))
    second = waiters.add(requests.clear_audio("rt_2"))
    cleared = received({"type": "input_audio_buffer.cleared", "event_id": "e"})
    assert waiters.pending.answer(cleared) is first
    assert not second.done
    assert waiters.pending.answer(cleared) is second


def test_an_error_fails_the_request_it_names_only() -> None:
    waiters = Waiters()
    first = waiters.add(requests.clear_audio("rt_1"))
    second = waiters.add(requests.clear_audio("rt_2"))
    assert waiters.pending.answer(received(error("someone_else"))) is None
    assert waiters.pending.answer(received(error("rt_2", "bad clear"))) is second
    assert not first.done
    with pytest.raises(Rejected, match="bad clear") as info:
        second.result()
    assert info.value.event.error.event_id == "rt_2"


def test_create_item_matches_its_item_added_or_created() -> None:
    waiters = Waiters()
    item = events.MessageItem(id="item_a", role="user", content=())
    pending = waiters.add(requests.create_item("rt_1", item))
    assert waiters.pending.answer(received(item_added("item_b"))) is None
    answer = received(item_added("item_a", "conversation.item.created"))
    assert waiters.pending.answer(answer) is pending
    assert pending.result() is answer


def test_create_response_matches_its_tag_not_another_response() -> None:
    waiters = Waiters()
    pending = waiters.add(requests.create_response("rt_5"))
    vad = received(response_event("response.created", "r_vad"))
    other = received(
        response_event(
            "response.created", "r_other", metadata={REQUEST_METADATA_KEY: "rt_4"}
        )
    )
    ours = received(
        response_event(
            "response.created", "r_ours", metadata={REQUEST_METADATA_KEY: "rt_5"}
        )
    )
    assert waiters.pending.answer(vad) is None
    assert waiters.pending.answer(other) is None
    assert waiters.pending.answer(ours) is pending


def test_cancel_response_waits_for_the_target_or_the_default_conversation() -> None:
    waiters = Waiters()
    by_id = waiters.add(
        requests.cancel_response("rt_1", "r2", default_response_id="r1")
    )
    default = waiters.add(requests.cancel_response("rt_2", default_response_id=None))
    out_of_band = received(
        response_event("response.done", "r9", conversation_id=None, status="cancelled")
    )
    assert waiters.pending.answer(out_of_band) is None
    in_conversation = received(
        response_event("response.done", "r3", status="cancelled")
    )
    assert waiters.pending.answer(in_conversation) is default
    assert (
        waiters.pending.answer(
            received(response_event("response.done", "r2", status="cancelled"))
        )
        is by_id
    )


def test_cancel_response_defaults_to_the_response_in_progress() -> None:
    request = requests.cancel_response("rt_1", default_response_id="r1")
    assert isinstance(request.event, events.ResponseCancel)
    assert request.event.response_id is events.UNSET  # the server picks, as we do
    done = response_event("response.done", "r2", status="cancelled")
    assert not request.expects.matches(received(done))
    assert request.expects.matches(
        received(response_event("response.done", "r1", status="cancelled"))
    )


# --- malformed answers ----------------------------------------------------------------


def test_a_malformed_answer_fails_its_request_with_remote_protocol_error() -> None:
    waiters = Waiters()
    item = events.MessageItem(id="item_a", role="user", content=())
    pending = waiters.add(requests.create_item("rt_1", item))
    assert waiters.pending.answer(malformed(item_added("item_b"))) is None
    bad = malformed(item_added("item_a"))
    assert waiters.pending.answer(bad) is pending
    with pytest.raises(RemoteProtocolError, match="not a valid event") as info:
        pending.result()
    assert info.value is not bad.error  # a fresh error, its own traceback
    assert info.value.raw == bad.error.raw


def test_a_malformed_error_fails_the_request_it_names() -> None:
    waiters = Waiters()
    pending = waiters.add(requests.clear_audio("rt_1"))
    assert waiters.pending.answer(malformed(error("rt_2"))) is None
    assert waiters.pending.answer(malformed(error("rt_1"))) is pending
    with pytest.raises(RemoteProtocolError):  # not Rejected: it could not be read
        pending.result()


def test_malformed_response_answers_read_their_ids() -> None:
    tagged = requests.create_response("rt_5")
    assert tagged.expects.matches(
        malformed(
            response_event(
                "response.created", "r", metadata={REQUEST_METADATA_KEY: "rt_5"}
            )
        )
    )
    assert not tagged.expects.matches(
        malformed(response_event("response.created", "r"))
    )
    cancel = requests.cancel_response("rt_6", default_response_id=None)
    assert cancel.expects.matches(malformed(response_event("response.done", "r")))
    assert not cancel.expects.matches(
        malformed(response_event("response.done", "r", conversation_id=None))
    )
    by_id = requests.cancel_response("rt_7", "r1", default_response_id=None)
    assert by_id.expects.matches(malformed(response_event("response.done", "r1")))
    assert not by_id.expects.matches(malformed(response_event("response.done", "r2")))


# --- the connection ends --------------------------------------------------------------


def test_fail_all_settles_every_request_once() -> None:
    waiters = Waiters()
    first = waiters.add(requests.clear_audio("rt_1"))
    second = waiters.add(requests.commit_audio("rt_2"))
    ended = ConnectionError("gone")
    waiters.pending.fail_all(ended)
    assert waiters.woken == ["rt_1", "rt_2"]
    for pending in (first, second):
        with pytest.raises(ConnectionError) as info:
            pending.result()
        assert info.value is ended
    waiters.pending.fail_all(ended)
    assert waiters.woken == ["rt_1", "rt_2"]


def test_a_cancelled_waiter_is_discarded() -> None:
    waiters = Waiters()
    pending = waiters.add(requests.clear_audio("rt_1"))
    waiters.pending.discard(pending)
    waiters.pending.discard(pending)  # harmless twice
    cleared = received({"type": "input_audio_buffer.cleared", "event_id": "e"})
    assert waiters.pending.answer(cleared) is None
    assert not pending.done and waiters.woken == []
