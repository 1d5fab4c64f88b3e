"""The turn metrics without an event loop: stages, offset mapping, flags, aggregates."""

from __future__ import annotations

import base64
import math
from typing import Any

import pytest

from realtime_trio import (
    Interruption,
    MetricsTracker,
    TurnMetrics,
    parse_event,
    summarize_turns,
)
from realtime_trio.testing import silence, tone

FRAME_MS = 20
LOUD = tone(FRAME_MS)
QUIET = silence(FRAME_MS)


def ev(kind: str, **fields: Any) -> Any:
    return parse_event({"type": kind, "event_id": "e", **fields})


def response(
    rid: str, status: str = "in_progress", output: list[Any] | None = None
) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "realtime.response",
        "status": status,
        "conversation_id": "conv_1",
        "output": output or [],
    }


def delta(rid: str, pcm: bytes) -> Any:
    return ev(
        "response.output_audio.delta",
        response_id=rid,
        item_id="item_a",
        output_index=0,
        content_index=0,
        delta=base64.b64encode(pcm).decode(),
    )


def send(tracker: MetricsTracker, start: float, pieces: list[bytes]) -> float:
    """Send 20 ms pieces, one every 20 ms from ``start``; return the time after the last."""
    now = start
    for pcm in pieces:
        tracker.audio_sent(now, pcm)
        now += FRAME_MS / 1000
    return now


def vad_turn(tracker: MetricsTracker, rid: str = "resp_1") -> TurnMetrics:
    # 500 ms of speech (25 pieces sent at 0.00 .. 0.48), then silence.
    send(tracker, 0.0, [LOUD] * 25 + [QUIET] * 15)
    tracker.received(
        0.05, ev("input_audio_buffer.speech_started", audio_start_ms=0, item_id="u1")
    )
    # The server's end of speech: 500 ms + its 200 ms silence window; the
    # sample at 700 ms went with the piece sent at 0.68.
    tracker.received(
        0.71, ev("input_audio_buffer.speech_stopped", audio_end_ms=700, item_id="u1")
    )
    tracker.received(0.72, ev("input_audio_buffer.committed", item_id="u1"))
    tracker.received(0.73, ev("response.created", response=response(rid)))
    tracker.received(0.80, delta(rid, QUIET))
    tracker.received(0.85, delta(rid, QUIET + LOUD))
    tracker.received(
        0.86,
        ev(
            "response.output_audio_transcript.delta",
            response_id=rid,
            item_id="item_a",
            output_index=0,
            content_index=0,
            delta="Sure",
        ),
    )
    tracker.received(0.90, ev("response.done", response=response(rid, "completed")))
    return tracker.completed[-1]


def test_the_stages_split_the_time_to_first_audio() -> None:
    tracker = MetricsTracker()
    turn = vad_turn(tracker)
    assert tracker.open_turns == 0 and tracker.turns_completed == 1
    assert turn.user_audio_end == pytest.approx(0.48)  # the last audible piece
    assert turn.endpoint_audio_sent == pytest.approx(0.68)  # the piece holding 700 ms
    assert turn.endpointing == pytest.approx(0.20)
    assert turn.network == pytest.approx(0.03)
    assert turn.generation == pytest.approx(0.85 - 0.71)
    assert turn.time_to_first_audio == pytest.approx(0.85 - 0.48)
    assert turn.time_to_first_audio == pytest.approx(
        turn.endpointing + turn.network + turn.generation
    )  # type: ignore[operator]
    assert turn.time_to_first_byte == pytest.approx(0.80 - 0.48)
    # 20 ms of silence in the first delta, 20 ms before the tone in the second.
    assert turn.leading_silence == pytest.approx(0.04)
    assert turn.response_start == pytest.approx(0.02)
    assert turn.first_transcript == pytest.approx(0.86 - 0.48)
    assert turn.turn_total == pytest.approx(0.90 - 0.48)
    assert (turn.audio_start_ms, turn.audio_end_ms) == (0, 700)
    assert turn.user_audio_start == 0.0
    assert not (turn.censored or turn.premature or turn.interrupted or turn.manual)
    assert turn.status == "completed" and turn.response_ids == ("resp_1",)


def test_the_offset_map_knows_only_what_it_sent() -> None:
    tracker = MetricsTracker()
    send(tracker, 1.0, [QUIET, LOUD, QUIET])
    assert tracker.sent_at(0) == 1.0
    assert tracker.sent_at(20) == 1.0  # the end of the first piece
    assert tracker.sent_at(21) == pytest.approx(1.02)
    assert tracker.sent_at(60) == pytest.approx(1.04)
    assert tracker.sent_at(61) is None  # not sent yet
    assert tracker.audible_end(60) == pytest.approx(1.02)
    assert tracker.audible_end(20) is None  # no audible piece started before 20 ms


def test_the_silence_threshold_is_configurable() -> None:
    quiet_tone = tone(FRAME_MS, dbfs=-55)
    tracker = MetricsTracker()
    send(tracker, 0.0, [quiet_tone])
    assert tracker.audible_end(20) is None  # below -50 dBFS
    tracker = MetricsTracker(silence_threshold_dbfs=-60)
    send(tracker, 0.0, [quiet_tone])
    assert tracker.audible_end(20) == 0.0


def test_manual_commit_measures_the_clients_own_wait() -> None:
    tracker = MetricsTracker()
    end = send(
        tracker, 0.0, [LOUD] * 10 + [QUIET] * 5
    )  # last audible 0.18, last piece 0.28
    tracker.received(end + 0.01, ev("input_audio_buffer.committed", item_id="u1"))
    tracker.received(end + 0.02, ev("response.created", response=response("r")))
    tracker.received(end + 0.10, delta("r", LOUD))
    tracker.received(
        end + 0.20, ev("response.done", response=response("r", "completed"))
    )
    (turn,) = tracker.completed
    assert turn.manual and turn.speech_stopped is None
    assert turn.endpointing == pytest.approx(0.10)  # our own trailing silence
    assert turn.network == pytest.approx(end + 0.01 - 0.28)
    assert turn.generation == pytest.approx(0.09)


def test_first_audio_while_the_user_still_speaks_is_premature() -> None:
    tracker = MetricsTracker()
    send(tracker, 0.0, [LOUD] * 10 + [QUIET] * 10)
    tracker.received(
        0.05, ev("input_audio_buffer.speech_started", audio_start_ms=0, item_id="u1")
    )
    tracker.received(
        0.41, ev("input_audio_buffer.speech_stopped", audio_end_ms=400, item_id="u1")
    )
    tracker.received(0.42, ev("response.created", response=response("r")))
    send(tracker, 0.40, [LOUD])  # the user goes on speaking
    tracker.received(0.45, delta("r", LOUD))
    tracker.received(0.50, ev("response.done", response=response("r", "completed")))
    (turn,) = tracker.completed
    assert turn.premature
    summary = summarize_turns([turn])
    assert summary["time_to_first_audio"].n == 0
    assert summary["time_to_first_audio"].premature == 1
    assert summary["generation"].n == 1  # not measured from the user's end


def test_a_turn_that_times_out_is_censored_not_dropped() -> None:
    tracker = MetricsTracker()
    send(tracker, 0.0, [LOUD] * 5 + [QUIET] * 12)
    tracker.received(
        0.05, ev("input_audio_buffer.speech_started", audio_start_ms=0, item_id="u1")
    )
    tracker.received(
        0.31, ev("input_audio_buffer.speech_stopped", audio_end_ms=300, item_id="u1")
    )
    (turn,) = tracker.censor_open(15.0)
    assert turn.censored and turn.ended == 15.0 and turn.first_audible is None
    assert tracker.completed[-1] is turn
    done = [vad_turn(MetricsTracker()) for _ in range(3)]
    summary = summarize_turns([*done, turn])
    ttfa = summary["time_to_first_audio"]
    assert ttfa.n == 4 and ttfa.censored == 1
    assert ttfa.p50 == pytest.approx(0.37) and math.isinf(ttfa.max)  # type: ignore[arg-type]
    assert summary["endpointing"].censored == 0  # it was measured
    assert ttfa.to_dict()["max"] is None


def test_a_barge_in_marks_the_turn_interrupted() -> None:
    tracker = MetricsTracker()
    send(tracker, 0.0, [LOUD] * 5 + [QUIET] * 12)
    tracker.received(
        0.05, ev("input_audio_buffer.speech_started", audio_start_ms=0, item_id="u1")
    )
    tracker.received(
        0.31, ev("input_audio_buffer.speech_stopped", audio_end_ms=300, item_id="u1")
    )
    tracker.received(0.32, ev("response.created", response=response("r")))
    tracker.received(0.40, delta("r", LOUD * 10))
    tracker.received(
        0.60, ev("input_audio_buffer.speech_started", audio_start_ms=500, item_id="u2")
    )
    tracker.interrupted(
        0.60,
        Interruption(
            reason="speech_started",
            response_id="r",
            item_id="item_a",
            discarded_ms=150.0,
        ),
    )
    tracker.received(0.62, delta("r", LOUD))  # arrives after the cut: discarded too
    tracker.received(0.70, ev("response.done", response=response("r", "cancelled")))
    (turn,) = tracker.completed
    assert turn.interrupted and turn.status == "cancelled"
    assert turn.interruption_settle == pytest.approx(0.10)
    assert turn.discarded_audio == pytest.approx(0.15 + 0.02)
    assert tracker.open_turns == 1  # the barge-in is the next turn


def test_a_tool_call_keeps_the_turn_open_until_the_follow_up() -> None:
    tracker = MetricsTracker()
    tracker.received(1.0, ev("response.created", response=response("r1")))
    tracker.received(
        1.1,
        ev(
            "response.function_call_arguments.done",
            response_id="r1",
            item_id="fc",
            output_index=0,
            call_id="call_1",
            name="f",
            arguments="{}",
        ),
    )
    call = {
        "type": "function_call",
        "id": "fc",
        "call_id": "call_1",
        "name": "f",
        "arguments": "{}",
    }
    tracker.received(
        1.2, ev("response.done", response=response("r1", "completed", [call]))
    )
    assert tracker.turns_completed == 0
    tracker.received(1.5, ev("response.created", response=response("r2")))
    tracker.received(1.6, delta("r2", LOUD))
    tracker.received(1.7, ev("response.done", response=response("r2", "completed")))
    (turn,) = tracker.completed
    assert turn.response_ids == ("r1", "r2")
    assert turn.tool_round_trips == (pytest.approx(0.4),)
    assert turn.first_audible == 1.6 and turn.time_to_first_audio is None  # a text turn


def test_on_a_sideband_only_server_stages_are_measured() -> None:
    tracker = MetricsTracker(sideband=True)
    tracker.received(
        0.0, ev("input_audio_buffer.speech_started", audio_start_ms=0, item_id="u1")
    )
    tracker.received(
        1.0, ev("input_audio_buffer.speech_stopped", audio_end_ms=900, item_id="u1")
    )
    tracker.received(1.1, ev("response.created", response=response("r")))
    tracker.received(1.4, ev("output_audio_buffer.started", response_id="r"))
    tracker.received(2.0, ev("response.done", response=response("r", "completed")))
    (turn,) = tracker.completed
    assert (
        turn.sideband
        and turn.user_audio_end is None
        and turn.endpoint_audio_sent is None
    )
    assert (
        turn.time_to_first_audio is None
        and turn.endpointing is None
        and turn.network is None
    )
    assert turn.generation == pytest.approx(0.4)
    assert turn.turn_total == pytest.approx(1.0)


def test_out_of_band_responses_are_not_turns() -> None:
    tracker = MetricsTracker()
    oob = response("r") | {"conversation_id": None}
    tracker.received(1.0, ev("response.created", response=oob))
    assert tracker.open_turns == 0


def test_percentiles_need_enough_turns() -> None:
    from realtime_trio._agent.metrics_summary import percentile, summarize_values

    values = [i / 1000 for i in range(1, 101)]
    assert percentile(values, 50) == 0.05  # nearest rank: a measured value
    assert percentile(values, 99) == 0.099
    small = summarize_values("x", values[:9])
    assert (small.n, small.p90, small.p99) == (9, None, None)
    ten = summarize_values("x", values[:10])
    assert ten.p90 == 0.009 and ten.p99 is None
    full = summarize_values("x", values)
    assert (full.p50, full.p90, full.p99, full.max) == (0.05, 0.09, 0.099, 0.1)
    assert summarize_values("x", []).p50 is None


def test_records_round_trip_through_json() -> None:
    turn = vad_turn(MetricsTracker())
    data = turn.to_dict()
    assert data["stages"]["time_to_first_audio"] == pytest.approx(0.37)
    assert data["stages"]["tool_round_trip"] == []
    assert TurnMetrics.from_dict(data) == turn
