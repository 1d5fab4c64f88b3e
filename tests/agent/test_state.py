"""ConversationState without an event loop: event sequences in, a mirror out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import realtime_trio
from realtime_trio import ConversationState, UsageTotals, events
from realtime_trio._core.protocol import RealtimeProtocol
from realtime_trio.audio import PCMU

from . import builders as b

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


def fed(*evs: object, **kwargs: object) -> ConversationState:
    state = ConversationState(**kwargs)  # type: ignore[arg-type]
    for event in evs:
        state.apply(event)  # type: ignore[arg-type]
    return state


def voice_turn(
    user: str = "item_u1", bot: str = "item_a1", rid: str = "resp_1"
) -> list[object]:
    """A server-VAD voice turn in the order of the protocol reference (section 9)."""
    return [
        events.InputAudioBufferSpeechStarted(
            event_id=b.eid(), audio_start_ms=0, item_id=user
        ),
        events.InputAudioBufferSpeechStopped(
            event_id=b.eid(), audio_end_ms=900, item_id=user
        ),
        b.committed(user, None),
        b.added(b.user_audio(user), None),
        b.item_done(b.user_audio(user), None),
        b.created(rid),
        b.output_item_added(rid, b.assistant(bot)),
        b.added(b.assistant(bot), user),
        events.ResponseContentPartAdded(
            part=events.AudioPart(transcript=""), **b.ids(rid, bot)
        ),
        b.transcript_delta(rid, bot, "Hello "),
        b.audio_delta(rid, bot, 4800),
        b.transcript_delta(rid, bot, "there."),
        b.audio_delta(rid, bot, 2401),
        b.transcript_done(rid, bot, "Hello there."),
        b.item_done(b.assistant(bot, "Hello there.", "completed"), user),
        b.done(
            rid,
            usage=b.usage(100, 20),
            output=(b.assistant(bot, "Hello there.", "completed"),),
        ),
    ]


def test_every_golden_server_example_applies() -> None:
    state = ConversationState()
    for path in sorted(EXAMPLES.glob("*.json")):
        event = realtime_trio.parse_event(path.read_text())
        if isinstance(event, realtime_trio.ServerEvent):
            state.apply(event)
    assert state.events_applied > 40
    done = json.loads((EXAMPLES / "response.done.json").read_text())
    usage = done["response"]["usage"]
    assert state.usage.total_tokens == usage["total_tokens"]
    assert state.usage.cached_tokens == usage["input_token_details"]["cached_tokens"]
    assert (
        state.usage.output_audio_tokens == usage["output_token_details"]["audio_tokens"]
    )


def test_a_voice_turn() -> None:
    state = fed(*voice_turn())
    user, bot = state.items
    assert (user.id, user.role, user.type, user.status) == (
        "item_u1",
        "user",
        "message",
        "completed",
    )
    assert (bot.role, bot.status, bot.response_id) == (
        "assistant",
        "completed",
        "resp_1",
    )
    assert bot.transcript == "Hello there."
    # Counted from the base64 length, not decoded: 7201 bytes of PCM16 at 24 kHz.
    assert bot.audio_bytes == 7201
    assert bot.audio_ms == pytest.approx(7201 / 48)
    response = state.response("resp_1")
    assert response is not None
    assert (response.status, response.done, response.output_item_ids) == (
        "completed",
        True,
        ["item_a1"],
    )
    assert state.active_response is None
    assert state.transcript() == [("assistant", "Hello there.")]
    assert state.usage == UsageTotals(
        responses=1,
        total_tokens=120,
        input_tokens=100,
        output_tokens=20,
        input_text_tokens=100,
        output_audio_tokens=20,
    )


def test_deltas_before_the_output_item_is_known() -> None:
    # The deltas name an item before response.output_item.added made it known:
    # it is a placeholder, filled in and placed by the events that follow.
    state = fed(
        b.added(b.user_text("item_u1", "Hi"), None),
        b.created("resp_1"),
        b.transcript_delta("resp_1", "item_a1", "Hel"),
        b.audio_delta("resp_1", "item_a1", 960),
        events.ResponseOutputTextDelta(delta="x", **b.ids("resp_1", "item_t")),
    )
    placeholder = state.item("item_a1")
    assert placeholder is not None
    assert (placeholder.type, placeholder.role, placeholder.status) == (
        "message",
        "assistant",
        None,
    )
    assert (placeholder.transcript, placeholder.audio_bytes) == ("Hel", 960)
    state.apply(b.output_item_added("resp_1", b.assistant("item_a1")))
    state.apply(b.added(b.assistant("item_a1"), "item_u1"))
    state.apply(b.transcript_delta("resp_1", "item_a1", "lo"))
    assert state.item("item_a1") is placeholder  # one item, not two
    assert placeholder.status == "in_progress"
    assert placeholder.transcript == "Hello"
    assert [i.id for i in state.items][:2] == ["item_u1", "item_a1"]
    assert state.response("resp_1").output_item_ids[0] == "item_a1"  # type: ignore[union-attr]


def test_transcripts_after_the_response_is_done() -> None:
    # The input transcription comes long after the answer; the output
    # transcript's done too (a straggler): both land on their items.
    turn = voice_turn()
    state = fed(*turn)
    state.apply(b.transcription("item_u1", "Hi, who are you?"))
    state.apply(b.transcript_done("resp_1", "item_a1", "Hello there!"))
    user, bot = state.items
    assert (user.input_transcript, user.transcription_status) == (
        "Hi, who are you?",
        "completed",
    )
    assert bot.transcript == "Hello there!"
    assert state.transcript() == [
        ("user", "Hi, who are you?"),
        ("assistant", "Hello there!"),
    ]
    assert state.transcription_usage.total_tokens == 12


def test_transcription_before_its_item_and_out_of_order_across_turns() -> None:
    state = fed(
        b.committed("item_u1", None),
        b.transcription_delta("item_u2", "sec"),  # turn 2 before it was even committed
        b.transcription("item_u2", "second"),
        b.transcription_delta("item_u1", "fir"),
        b.committed("item_u2", "item_u1"),
        b.added(b.user_audio("item_u2"), "item_u1"),
        b.added(b.user_audio("item_u1"), None),
        b.transcription("item_u1", "first"),
        b.transcription_delta("item_u2", " (late delta)"),  # after completed: ignored
    )
    assert [(i.id, i.input_transcript) for i in state.items] == [
        ("item_u1", "first"),
        ("item_u2", "second"),
    ]
    assert state.transcript() == [("user", "first"), ("user", "second")]


def test_previous_item_id_orders_the_conversation() -> None:
    state = fed(
        b.added(b.user_text("a", "1"), None),
        b.added(b.user_text("c", "3"), "a"),
        b.added(b.user_text("b", "2"), "a"),  # inserted between a and c
        b.added(b.user_text("root", "0"), None),  # inserted at the start
        b.added(b.user_text("z", "9")),  # no previous_item_id: at the end
        b.added(b.user_text("y", "8"), "unknown"),  # unknown previous: at the end
        b.item_done(b.user_text("b", "2"), "a"),  # done: already in place
    )
    assert [i.id for i in state.items] == ["root", "a", "b", "c", "z", "y"]
    assert state.items_added == 6
    state.apply(events.ConversationItemDeleted(event_id=b.eid(), item_id="b"))
    assert [i.id for i in state.items] == ["root", "a", "c", "z", "y"]
    deleted = state.item("b")
    assert deleted is not None and deleted.deleted and deleted.done


def test_a_late_response_done_after_a_cancel_ends_only_its_own_response() -> None:
    state = fed(
        b.created("resp_A"),
        b.audio_delta("resp_A", "item_A", 4800),
        # The application cancelled A and a new response B started before
        # A's response.done arrived.
        b.created("resp_B"),
    )
    active = state.active_response
    assert active is not None and active.id == "resp_B"
    state.apply(
        b.done("resp_A", "cancelled", reason="client_cancelled", usage=b.usage(10, 5))
    )
    a, bee = state.response("resp_A"), state.response("resp_B")
    assert a is not None and bee is not None
    assert (a.status, a.done) == ("cancelled", True)
    assert a.status_details == events.StatusDetails(
        type="cancelled", reason="client_cancelled"
    )
    assert (bee.status, bee.done) == ("in_progress", False)
    assert state.active_response is bee
    # The same response.done again (a duplicate) counts its usage once.
    state.apply(b.done("resp_A", "cancelled", usage=b.usage(10, 5)))
    assert state.usage.responses == 1
    state.apply(b.done("resp_B", usage=b.usage(20, 5)))
    assert state.active_response is None
    assert state.usage.total_tokens == 40


def _invalid_done(response_id: str | None) -> events.InvalidEvent:
    payload: dict[str, object] = {
        "type": "response.done",
        "event_id": "ev_bad",
        "response": {
            "status": "completed",
            "conversation_id": "conv_1",
            "usage": "lots",
        },
    }
    if response_id is not None:
        payload["response"]["id"] = response_id  # type: ignore[index]
    event = RealtimeProtocol().receive_message(json.dumps(payload))
    assert isinstance(event, events.InvalidEvent)
    return event


def test_a_malformed_response_done_still_ends_its_response() -> None:
    state = fed(b.created("resp_1"), b.created("resp_oob", conversation=None))
    state.apply(_invalid_done("resp_1"))
    response = state.response("resp_1")
    assert response is not None and response.done and response.status == "completed"
    assert state.active_response is None
    # Without a readable id it ends the default conversation's active response.
    state.apply(b.created("resp_2"))
    state.apply(_invalid_done(None))
    assert state.active_response is None
    assert [r.id for r in state.responses_in_progress] == ["resp_oob"]


def test_out_of_band_items_are_not_in_the_conversation() -> None:
    state = fed(
        b.added(b.user_text("u", "Hi"), None),
        b.created("resp_oob", conversation=None),
        b.output_item_added("resp_oob", b.assistant("item_oob")),
        events.ResponseOutputTextDelta(
            delta="Summary", **b.ids("resp_oob", "item_oob")
        ),
        b.done(
            "resp_oob",
            conversation=None,
            usage=b.usage(5, 5),
            output=(b.assistant("item_oob", status="completed"),),
        ),
    )
    assert [i.id for i in state.items] == ["u"]
    side = state.item("item_oob")
    assert side is not None and not side.in_conversation and side.text == "Summary"
    response = state.response("resp_oob")
    assert response is not None and not response.in_conversation
    assert state.usage.total_tokens == 10


def test_function_calls_and_their_outputs() -> None:
    call = events.FunctionCallItem(
        id="fc_1",
        name="get_weather",
        arguments="",
        call_id="call_1",
        status="in_progress",
    )
    state = fed(
        b.created("resp_1"),
        b.output_item_added("resp_1", call),
        events.ResponseFunctionCallArgumentsDelta(
            event_id=b.eid(),
            response_id="resp_1",
            item_id="fc_1",
            output_index=0,
            call_id="call_1",
            delta='{"city":',
        ),
        events.ResponseFunctionCallArgumentsDelta(
            event_id=b.eid(),
            response_id="resp_1",
            item_id="fc_1",
            output_index=0,
            call_id="call_1",
            delta=' "Paris"}',
        ),
    )
    item = state.call("call_1")
    assert item is not None and item.arguments == '{"city": "Paris"}'
    state.apply(
        events.ResponseFunctionCallArgumentsDone(
            event_id=b.eid(),
            response_id="resp_1",
            item_id="fc_1",
            output_index=0,
            call_id="call_1",
            name="get_weather",
            arguments='{"city":"Paris"}',
        )
    )
    state.apply(
        b.added(
            events.FunctionCallOutputItem(
                id="out_1", call_id="call_1", output='{"sky":"blue"}'
            )
        )
    )
    assert (item.name, item.arguments, item.output) == (
        "get_weather",
        '{"city":"Paris"}',
        '{"sky":"blue"}',
    )
    assert [i.type for i in state.items] == ["function_call", "function_call_output"]
    assert state.transcript() == []


def test_truncation_and_output_format() -> None:
    session = events.SessionConfig(
        audio=events.AudioConfig(output=events.AudioOutput(format=events.AudioPCMU())),
    )
    state = fed(
        events.SessionUpdated(event_id=b.eid(), session=session),
        b.created("resp_1"),
        b.audio_delta("resp_1", "a", 8000),
        events.ConversationItemTruncated(
            event_id=b.eid(), item_id="a", content_index=0, audio_end_ms=400
        ),
    )
    item = state.item("a")
    assert item is not None
    assert state.output_format == PCMU
    assert item.audio_format == PCMU and item.audio_ms == 1000.0
    assert item.audio_end_ms == 400
    # A response may override the format.
    state.apply(b.created("resp_2", fmt=events.AudioPCM(rate=24000)))
    state.apply(b.audio_delta("resp_2", "b", 4800))
    assert state.item("b").audio_ms == 100.0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("turn_detection", "interrupts"),
    [
        (events.ServerVad(), True),
        (events.ServerVad(interrupt_response=True), True),
        (events.ServerVad(interrupt_response=False), False),
        (events.SemanticVad(interrupt_response=False), False),
        (None, False),
    ],
)
def test_interrupt_response_is_read_from_the_session(
    turn_detection: object, interrupts: bool
) -> None:
    session = events.SessionConfig(
        audio=events.AudioConfig(input=events.AudioInput(turn_detection=turn_detection))  # type: ignore[arg-type]
    )
    assert ConversationState(session=session).interrupt_response is interrupts


def test_keeping_audio_is_opt_in_and_bounded() -> None:
    assert fed(b.audio_delta("r", "a", 100)).item("a").audio is None  # type: ignore[union-attr]
    state = fed(
        b.audio_delta("r", "a", 1000),
        b.audio_delta("r", "b", 600),
        keep_audio_bytes=1200,
    )
    a, bee = state.item("a"), state.item("b")
    assert a is not None and bee is not None
    # 1600 received, 1200 kept: the oldest item lost its first 400 bytes.
    assert len(a.audio or b"") == 600 and len(bee.audio or b"") == 600
    state.apply(b.audio_delta("r", "c", 1200))
    assert (
        a.audio is None
        and bee.audio is None
        and len(state.item("c").audio or b"") == 1200
    )  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        ConversationState(keep_audio_bytes=-1)


def test_mcp_approval_requests() -> None:
    request = events.McpApprovalRequestItem(
        id="mcpr_1", server_label="docs", name="search", arguments="{}"
    )
    state = fed(
        b.created("resp_1"), b.output_item_added("resp_1", request), b.added(request)
    )
    assert [r.id for r in state.approval_requests] == ["mcpr_1"]
    answer = events.McpApprovalResponseItem(
        id="mcpa_1", approval_request_id="mcpr_1", approve=False
    )
    state.apply(b.added(answer, "mcpr_1"))
    assert state.approval_requests == []
    assert state.item("mcpr_1").approved is False  # type: ignore[union-attr]


_counts = st.integers(min_value=0, max_value=10_000)


@given(
    st.lists(st.tuples(_counts, _counts, _counts, _counts, st.booleans()), max_size=12)
)
def test_usage_totals_are_the_sum_of_the_responses_usage(
    usages: list[tuple[int, int, int, int, bool]],
) -> None:
    state = ConversationState()
    for n, (inp, out, audio, cached, oob) in enumerate(usages):
        rid = f"resp_{n}"
        state.apply(b.created(rid, conversation=None if oob else b.CONV))
        state.apply(
            b.done(
                rid,
                conversation=None if oob else b.CONV,
                usage=b.usage(inp, out, input_audio=audio, cached=cached),
            )
        )
    totals = state.usage
    responses = state.responses
    assert totals.responses == len(responses)
    for field in ("total_tokens", "input_tokens", "output_tokens"):
        assert getattr(totals, field) == sum(getattr(r.usage, field) for r in responses)
    assert totals.input_audio_tokens == sum(
        r.usage.input_token_details.audio_tokens for r in responses
    )  # type: ignore[union-attr]
    assert totals.cached_tokens == sum(
        r.usage.input_token_details.cached_tokens for r in responses
    )  # type: ignore[union-attr]
