"""The simulator through our own client: responses, cancellation, barge-in, tools, output audio."""

from __future__ import annotations

import itertools
import json
from typing import Any
from unittest.mock import ANY

import pytest
import trio
import trio.testing

from realtime_trio import ServerError, events
from realtime_trio.audio import alaw_to_pcm16, ulaw_to_pcm16
from realtime_trio.testing import (
    CallTool,
    RealtimeSimulator,
    Rule,
    Say,
    Scenario,
    silence,
    tone,
)
from tests.helpers.client_sim import (
    TEXT_ONLY,
    WAIT,
    connect,
    level_dbfs,
    of_type,
    output_audio,
    receive_until,
    user_text,
    wire_types,
)


def _from_created(received: list[Any]) -> list[Any]:
    """The events of the (last) response: from its response.created on."""
    starts = [
        i for i, e in enumerate(received) if isinstance(e, events.ResponseCreated)
    ]
    return received[starts[-1] :]


async def _ask(conn: Any, text: str, **params: Any) -> list[Any]:
    """Add a user message, ask for a response, return its events up to response.done."""
    await conn.create_item(user_text(text))
    created = await conn.create_response(
        events.ResponseCreateParams(**params) if params else None
    )
    received = await receive_until(
        conn, events.ResponseDone, where=lambda e: e.response.id == created.id
    )
    return _from_created(received)


# --- one response, event by event ------------------------------------------------------


async def test_text_response_events_in_exact_order(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery, session=TEXT_ONLY) as conn:
        received = await _ask(conn, "Hello")
    assert wire_types(received) == [
        "response.created",
        "rate_limits.updated",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    created, done = received[0].response, received[-1].response
    assert (created.status, created.output, created.usage) == ("in_progress", (), None)
    assert created.id == done.id and created.id.startswith("resp_")
    assert done.status == "completed" and done.status_details is None
    assert done.conversation_id.startswith("conv_")
    assert [d.delta for d in of_type(received, events.ResponseOutputTextDelta)] == [
        "You ",
        "said: ",
        "Hello",
    ]
    (item,) = done.output
    assert item.content == (events.OutputText(text="You said: Hello"),)
    assert (item.role, item.status) == ("assistant", "completed")
    assert done.usage.output_tokens == done.usage.output_token_details.text_tokens == 4
    ids = {e.item_id for e in received if hasattr(e, "item_id")}
    assert ids == {item.id}
    assert {e.response_id for e in received if hasattr(e, "response_id")} == {done.id}


async def test_audio_response_events_in_exact_order_with_real_pcm16(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery) as conn:
        received = await _ask(conn, "Hi")
    transcript, audio = (
        "response.output_audio_transcript.delta",
        "response.output_audio.delta",
    )
    # "You said: Hi": 12 characters of 60 ms = 720 ms in 100 ms deltas; each
    # word's transcript delta comes just before the delta its audio starts in
    # ("You " at 0 ms, "said: " at 240 ms, "Hi" at 600 ms).
    assert wire_types(received) == [
        "response.created",
        "rate_limits.updated",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        *[transcript, audio, audio],
        *[transcript, audio, audio, audio, audio],
        *[transcript, audio, audio],
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    (part_added,) = of_type(received, events.ResponseContentPartAdded)
    assert part_added.part == events.AudioPart(transcript="")
    words = of_type(received, events.ResponseOutputAudioTranscriptDelta)
    assert "".join(w.delta for w in words) == "You said: Hi"
    (transcript_done,) = of_type(received, events.ResponseOutputAudioTranscriptDone)
    assert transcript_done.transcript == "You said: Hi"
    pcm = output_audio(received)
    assert len(pcm) == 720 * 48  # PCM16 mono at 24 kHz: 48 bytes per ms
    assert level_dbfs(pcm) == pytest.approx(-20, abs=3)
    assert max(abs(s) for s in memoryview(pcm).cast("h")) > 1000
    done = received[-1].response
    assert done.audio.output.format == events.AudioPCM(rate=24000)
    (item,) = done.output
    # response.done never carries the audio bytes.
    assert item.content == (events.OutputAudio(transcript="You said: Hi"),)
    assert done.usage.output_token_details.audio_tokens == 720 // 50


async def test_max_output_tokens_makes_the_response_incomplete(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery, session=TEXT_ONLY) as conn:
        received = await _ask(conn, "Hello", max_output_tokens=2)
    done = received[-1].response
    assert (done.status, done.status_details.reason) == (
        "incomplete",
        "max_output_tokens",
    )
    assert done.max_output_tokens == 2
    (text_done,) = of_type(received, events.ResponseOutputTextDone)
    assert text_done.text == "You said"  # 2 tokens of 4 characters


# --- concurrency of responses ------------------------------------------------------------


async def test_one_active_response_and_out_of_band_ones_in_parallel(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    async with connect(sim, nursery) as conn:
        await conn.create_item(user_text("Tell me a story"))
        first = await conn.create_response()
        with pytest.raises(ServerError) as info:
            await conn.create_response()
        assert info.value.code == "conversation_already_has_active_response"
        assert info.value.event.error.message == (
            f"Conversation already has an active response in progress: {first.id}. "
            "Wait until the response is finished before creating a new one."
        )
        assert conn.statistics().responses_in_flight == 1
        side = await conn.create_response(
            events.ResponseCreateParams(
                conversation="none",
                input=(user_text("Summarize the story so far"),),
                output_modalities=("text",),
                metadata={"purpose": "summary"},
            )
        )
        assert side.id != first.id
        assert side.conversation_id is None
        assert side.metadata == {"purpose": "summary", "realtime_trio_request": ANY}
        assert conn.statistics().responses_in_flight == 2
        received = await receive_until(
            conn, events.ResponseDone, where=lambda e: e.response.id == first.id
        )
        dones = of_type(received, events.ResponseDone)
        # The text side response finished while the spoken one was still going.
        assert [d.response.id for d in dones] == [side.id, first.id]
        assert [d.response.status for d in dones] == ["completed", "completed"]
        side_item = dones[0].response.output[0]
        assert side_item.content == (
            events.OutputText(text="You said: Summarize the story so far"),
        )
        # Out of band: no conversation.item.* events, not in the conversation.
        conversation_items = {
            e.item.id
            for e in received
            if isinstance(e, events.ConversationItemAdded | events.ConversationItemDone)
        }
        assert side_item.id not in conversation_items
        assert dones[1].response.output[0].id in conversation_items
        await conn.send(events.ConversationItemRetrieve(item_id=side_item.id))
        error = (await receive_until(conn, events.ErrorEvent))[-1]
        assert error.error.code == "item_retrieve_invalid_item_id"
        assert conn.statistics().responses_in_flight == 0


async def test_cancel_response_reports_it_cancelled(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    async with connect(sim, nursery) as conn:
        await conn.create_item(user_text("A long answer, please."))
        created = await conn.create_response()
        await receive_until(conn, events.ResponseOutputAudioDelta)
        cancelled = await conn.cancel_response()
        assert cancelled.id == created.id
        assert cancelled.status == "cancelled"
        assert cancelled.status_details == events.StatusDetails(
            type="cancelled", reason="client_cancelled"
        )
        assert cancelled.output[0].status == "incomplete"
        tail = await receive_until(conn, events.ResponseDone)
        # The open part and item are closed before response.done.
        assert wire_types(tail)[-6:] == [
            "response.output_audio.done",
            "response.output_audio_transcript.done",
            "response.content_part.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
        ]
        with pytest.raises(ServerError) as info:
            await conn.cancel_response()
        assert info.value.code == "response_cancel_not_active"
        assert (
            info.value.event.error.message
            == "Cancellation failed: no active response found"
        )
        # Nothing is active any more: a new response starts at once.
        again = await conn.create_response()
        assert again.status == "in_progress"
        # An out-of-band response is cancelled by its id.
        side = await conn.create_response(
            events.ResponseCreateParams(conversation="none")
        )
        side_done = await conn.cancel_response(side.id)
        assert (side_done.id, side_done.status, side_done.conversation_id) == (
            side.id,
            "cancelled",
            None,
        )


async def test_barge_in_cancels_the_response_with_turn_detected(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    async with connect(sim, nursery, audio_frame_ms=20) as conn:
        await conn.create_item(user_text("Tell me a long story about the sea"))
        speaking = await conn.create_response()
        before = await receive_until(conn, events.ResponseOutputAudioDelta)
        start = trio.current_time()
        await conn.send_audio(tone(400) + silence(400))
        received = await receive_until(
            conn, events.ResponseDone, where=lambda e: e.response.id == speaking.id
        )
        assert trio.current_time() == start  # the barge-in is immediate
        (started,) = of_type(received, events.InputAudioBufferSpeechStarted)
        assert started.audio_start_ms == 0
        assert (
            wire_types(received).index("input_audio_buffer.speech_started")
            < len(received) - 1
        )
        done = received[-1].response
        assert (done.status, done.status_details.reason) == (
            "cancelled",
            "turn_detected",
        )
        assert done.output[0].status == "incomplete"
        # The application stops playback and truncates to what was played.
        played_ms = len(output_audio(before + received)) // 48
        assert 0 < played_ms < 2000
        assistant_id = done.output[0].id
        await conn.send(
            events.ConversationItemTruncate(
                item_id=assistant_id, content_index=0, audio_end_ms=played_ms
            )
        )
        later = await receive_until(conn, events.ConversationItemTruncated)
        truncated = later[-1]
        assert (truncated.item_id, truncated.audio_end_ms) == (assistant_id, played_ms)
        # The user's turn ends and is answered (server_vad create_response).
        answer = await receive_until(conn, events.ResponseDone)
        (stopped,) = of_type(later + answer, events.InputAudioBufferSpeechStopped)
        assert stopped.audio_end_ms == 600
        assert answer[-1].response.status == "completed"
        transcript = answer[-1].response.output[0].content[0].transcript
        assert transcript == "I heard 0.6 seconds of audio."


async def test_no_barge_in_when_interrupt_response_is_off(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    session = events.SessionConfig(
        audio=events.AudioConfig(
            input=events.AudioInput(
                turn_detection=events.ServerVad(interrupt_response=False)
            )
        )
    )
    async with connect(sim, nursery, session=session) as conn:
        await conn.create_item(user_text("Tell me a long story about the sea"))
        speaking = await conn.create_response()
        await receive_until(conn, events.ResponseOutputAudioDelta)
        await conn.send_audio(tone(400) + silence(400))
        received = await receive_until(
            conn, events.ResponseDone, where=lambda e: e.response.id == speaking.id
        )
        assert "input_audio_buffer.speech_started" in wire_types(received)
        assert received[-1].response.status == "completed"


# --- function calls ------------------------------------------------------------------------


async def test_function_call_round_trip(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    arguments = {"city": "Paris", "unit": "celsius"}
    scenario = Scenario(
        rules=[
            Rule(
                text="weather",
                steps=[CallTool(name="get_weather", arguments=arguments)],
            ),
            Rule(
                tool="get_weather",
                steps=[Say(text="It is sunny in Paris, 24 degrees.")],
            ),
        ]
    )
    tool = events.FunctionTool(
        name="get_weather",
        description="The weather in a city.",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
    session = events.SessionConfig(output_modalities=("text",), tools=(tool,))
    sim = RealtimeSimulator(scenario=scenario)
    async with connect(sim, nursery, session=session) as conn:
        assert conn.session.tools == (tool,)  # type: ignore[union-attr]
        received = await _ask(conn, "What's the weather in Paris?")
        assert wire_types(received) == [
            "response.created",
            "rate_limits.updated",
            "response.output_item.added",
            "conversation.item.added",
            *["response.function_call_arguments.delta"] * 3,  # 16 characters each
            "response.function_call_arguments.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
        ]
        (added,) = of_type(received, events.ResponseOutputItemAdded)
        call = added.item
        assert isinstance(call, events.FunctionCallItem)
        assert (call.name, call.arguments, call.status) == (
            "get_weather",
            "",
            "in_progress",
        )
        deltas = of_type(received, events.ResponseFunctionCallArgumentsDelta)
        (args_done,) = of_type(received, events.ResponseFunctionCallArgumentsDone)
        assert {d.call_id for d in deltas} == {args_done.call_id} == {call.call_id}
        assert "".join(d.delta for d in deltas) == args_done.arguments
        assert json.loads(args_done.arguments) == arguments
        assert args_done.name == "get_weather"
        (final,) = received[-1].response.output
        assert final == events.FunctionCallItem(
            id=call.id,
            status="completed",
            name="get_weather",
            call_id=call.call_id,
            arguments=args_done.arguments,
        )
        # The application runs the function and returns its output.
        output = await conn.create_item(
            events.FunctionCallOutputItem(
                call_id=args_done.call_id, output=json.dumps({"temperature_c": 24})
            )
        )
        assert isinstance(output, events.FunctionCallOutputItem)
        await conn.create_response()
        follow_up = await receive_until(conn, events.ResponseDone)
        (text,) = of_type(follow_up, events.ResponseOutputTextDone)
        assert text.text == "It is sunny in Paris, 24 degrees."
        with pytest.raises(ServerError) as info:
            await conn.create_item(
                events.FunctionCallOutputItem(call_id="call_unknown", output="{}")
            )
        assert (info.value.code, info.value.event.error.param) == (
            "invalid_tool_call_id",
            "item.call_id",
        )


# --- output audio formats and pacing ---------------------------------------------------------


async def test_g711_output_when_the_session_or_the_response_asks(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    session = events.SessionConfig(
        audio=events.AudioConfig(output=events.AudioOutput(format=events.AudioPCMU()))
    )
    async with connect(sim, nursery, session=session) as conn:
        ulaw_turn = await _ask(conn, "Hi")
        override = events.ResponseAudio(
            output=events.ResponseAudioOutput(format=events.AudioPCMA())
        )
        alaw_turn = await _ask(conn, "Hi", audio=override)
    assert ulaw_turn[0].response.audio.output.format == events.AudioPCMU()
    assert alaw_turn[0].response.audio.output.format == events.AudioPCMA()
    for turn, decode in ((ulaw_turn, ulaw_to_pcm16), (alaw_turn, alaw_to_pcm16)):
        g711 = output_audio(turn)
        # 720 ms at 8 kHz, one byte per sample.
        assert len(g711) == 720 * 8
        assert level_dbfs(decode(g711)) == pytest.approx(-20, abs=3)
    # The two companding laws really differ on the wire.
    assert output_audio(ulaw_turn) != output_audio(alaw_turn)


@pytest.mark.parametrize("realtime", [True, False])
async def test_paced_output_takes_the_audio_duration_on_the_trio_clock(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, realtime: bool
) -> None:
    sim = RealtimeSimulator(realtime=realtime, time_to_first_audio=0.5)
    async with connect(sim, nursery) as conn:
        await conn.create_item(user_text("Hello"))
        await conn.create_response()
        times: dict[str, list[float]] = {}
        received = []
        with trio.fail_after(WAIT):
            async for event in conn:
                received.append(event)
                times.setdefault(wire_types([event])[0], []).append(trio.current_time())
                if isinstance(event, events.ResponseDone):
                    break
    deltas = times["response.output_audio.delta"]
    seconds = len(output_audio(received)) / 48_000
    # "You said: Hello": 15 characters, 900 ms, in nine 100 ms deltas.
    assert (seconds, len(deltas)) == (pytest.approx(0.9), 9)
    part_added = times["response.content_part.added"][0]
    assert deltas[0] - part_added == pytest.approx(0.5)  # time_to_first_audio
    if realtime:
        # Each delta is sent when the previous one has played: from the first
        # delta to the end of the last, the stream lasts as long as its audio.
        assert deltas[-1] + 0.1 - deltas[0] == pytest.approx(seconds)
        assert [b - a for a, b in itertools.pairwise(deltas)] == pytest.approx(
            [0.1] * 8
        )
    else:
        assert deltas[-1] == deltas[0]  # as fast as possible
    assert times["response.done"][0] - times["response.created"][0] == pytest.approx(
        0.5 + (0.8 if realtime else 0.0)
    )
