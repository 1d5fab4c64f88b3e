"""The sans-IO session state machine of the simulator, driven without an event loop."""

from __future__ import annotations

import re
from typing import Any

import pytest

from realtime_trio.audio import decode_audio, encode_audio, pcm16_to_ulaw
from realtime_trio.testing import (
    CallTool,
    CloseConnection,
    Fail,
    Rule,
    Say,
    Scenario,
    silence,
    synthesize_speech,
    tone,
)
from realtime_trio.testing._model.session_config import (
    DEFAULT_INSTRUCTIONS,
    server_vad_defaults,
)
from tests.helpers.simulator import SyncDriver, of_type, types, user_text

VAD_OFF = {
    "type": "session.update",
    "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
}
TEXT_ONLY = {
    "type": "session.update",
    "session": {"type": "realtime", "output_modalities": ["text"]},
}


def _error(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert types(events) == ["error"], types(events)
    error = events[0]["error"]
    assert isinstance(error, dict)
    return error


def _squash(names: list[str]) -> str:
    """Event types in order, runs of one type written once with a star."""
    out: list[str] = []
    for name in names:
        if out and out[-1].rstrip("*") == name:
            out[-1] = name + "*"
        else:
            out.append(name)
    return " ".join(out)


# --- session -------------------------------------------------------------------------


def test_session_created_has_the_real_defaults() -> None:
    driver = SyncDriver()
    (created,) = driver.events
    assert created["type"] == "session.created"
    assert re.fullmatch(r"event_[A-Za-z0-9]{22}", created["event_id"])
    session = created["session"]
    assert re.fullmatch(r"sess_[A-Za-z0-9]{22}", session["id"])
    assert session["object"] == "realtime.session"
    assert session["expires_at"] == 1_700_000_000 + 3600
    assert session["model"] == "gpt-realtime"
    assert session["instructions"] == DEFAULT_INSTRUCTIONS
    assert session["output_modalities"] == ["audio"]
    assert (session["tools"], session["tool_choice"], session["max_output_tokens"]) == (
        [],
        "auto",
        "inf",
    )
    assert (session["tracing"], session["prompt"], session["include"]) == (
        None,
        None,
        None,
    )
    audio = session["audio"]
    assert audio["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert audio["input"]["turn_detection"] == server_vad_defaults()
    assert (audio["input"]["transcription"], audio["input"]["noise_reduction"]) == (
        None,
        None,
    )
    assert audio["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "voice": "marin",
        "speed": 1,
    }


def test_session_update_merges_and_answers_updated() -> None:
    driver = SyncDriver()
    out = driver.send({
        "type": "session.update", "event_id": "evt_1",
        "session": {"type": "realtime", "instructions": "Be terse.", "audio": {"output": {"voice": "cedar"}}},
    })  # fmt: skip
    assert types(out) == ["session.updated"]
    session = out[0]["session"]
    assert session["instructions"] == "Be terse."
    assert session["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "voice": "cedar",
        "speed": 1,
    }
    assert session["id"] == driver.events[0]["session"]["id"]
    assert "evt_1" not in str(out)


def test_invalid_update_answers_an_error_and_changes_nothing() -> None:
    driver = SyncDriver()
    bad = {
        "type": "session.update",
        "event_id": "evt_bad",
        "session": {"type": "realtime", "audio": {"output": {"speed": 9}}},
    }
    error = _error(driver.send(bad))
    assert error == {
        "type": "invalid_request_error",
        "code": "decimal_above_max_value",
        "message": "Invalid 'session.audio.output.speed': decimal above maximum value. Expected a value <= 1.5, but got 9 instead.",
        "param": "session.audio.output.speed",
        "event_id": "evt_bad",
    }
    assert driver.session.state.config["audio"]["output"]["speed"] == 1


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", "invalid_json"),
        (b"\x00binary", "invalid_event"),
        ('{"event_id": "e"}', "invalid_event"),
        ('{"type": "response.creat", "event_id": "e"}', "invalid_value"),
        (
            '{"type": "response.create", "event_id": "e", "bogus": 1}',
            "unknown_parameter",
        ),
        (
            '{"type": "conversation.item.delete", "event_id": "e", "item_id": 5}',
            "invalid_type",
        ),
    ],
)
def test_bad_messages_answer_errors(message: str | bytes, code: str) -> None:
    error = _error(SyncDriver().send(message))
    assert error["code"] == code
    if isinstance(message, str) and '"event_id"' in message:
        assert error["event_id"] == "e"


def test_oversized_messages_answer_an_error() -> None:
    driver = SyncDriver(max_message_size=1000)
    error = _error(
        driver.send({"type": "input_audio_buffer.append", "audio": "A" * 2000})
    )
    assert error["code"] == "message_too_large"


# --- conversation items ---------------------------------------------------------------------


def test_item_create_retrieve_delete() -> None:
    driver = SyncDriver()
    out = driver.send(user_text("one"))
    assert types(out) == ["conversation.item.added", "conversation.item.done"]
    first = out[0]["item"]
    assert out[0]["previous_item_id"] is None
    assert "object" not in first and first["status"] == "completed"
    out = driver.send(
        {**user_text("two"), "item": {**user_text("two")["item"], "id": "my_item"}}
    )
    assert out[1]["item"]["id"] == "my_item"
    assert out[1]["previous_item_id"] == first["id"]
    out = driver.send({**user_text("zero"), "previous_item_id": "root"})
    assert out[0]["previous_item_id"] is None
    out = driver.send({"type": "conversation.item.retrieve", "item_id": "my_item"})
    assert types(out) == ["conversation.item.retrieved"]
    assert out[0]["item"]["object"] == "realtime.item"
    assert out[0]["item"]["content"] == [{"type": "input_text", "text": "two"}]
    out = driver.send({"type": "conversation.item.delete", "item_id": "my_item"})
    assert out == [
        {
            "type": "conversation.item.deleted",
            "event_id": out[0]["event_id"],
            "item_id": "my_item",
        }
    ]
    assert [s.id for s in driver.session.state.conversation][1:] == [first["id"]]


@pytest.mark.parametrize(
    ("event", "code", "param"),
    [
        ({"type": "conversation.item.retrieve", "item_id": "nope"}, "item_retrieve_invalid_item_id", "item_id"),
        ({"type": "conversation.item.delete", "item_id": "nope"}, "item_delete_invalid_item_id", "item_id"),
        ({"type": "conversation.item.truncate", "item_id": "nope", "content_index": 0, "audio_end_ms": 0}, "item_truncate_invalid_item_id", "item_id"),
        ({**user_text("x"), "previous_item_id": "nope"}, "item_create_invalid_previous_item_id", "previous_item_id"),
        ({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "id": "x" * 33, "content": []}}, "string_above_max_length", "item.id"),
        ({"type": "conversation.item.create", "item": {"type": "message", "role": "assistant", "content": [{"type": "input_text", "text": "hi"}]}}, "invalid_value", "item.content[0].type"),
    ],
)  # fmt: skip
def test_item_errors(event: dict[str, Any], code: str, param: str) -> None:
    error = _error(SyncDriver().send({**event, "event_id": "evt_x"}))
    assert (error["code"], error["param"], error["event_id"]) == (code, param, "evt_x")


def test_item_ids_must_be_unique() -> None:
    driver = SyncDriver()
    item = {
        "type": "message",
        "role": "user",
        "id": "dup",
        "content": [{"type": "input_text", "text": "a"}],
    }
    driver.send({"type": "conversation.item.create", "item": item})
    assert (
        _error(driver.send({"type": "conversation.item.create", "item": item}))["param"]
        == "item.id"
    )


# --- responses ---------------------------------------------------------------------------------


def test_text_response_event_order() -> None:
    driver = SyncDriver()
    driver.send(TEXT_ONLY)
    driver.send(user_text("hello there"))
    out = driver.send({"type": "response.create"})
    assert _squash(types(out)) == (
        "response.created rate_limits.updated response.output_item.added conversation.item.added "
        "response.content_part.added response.output_text.delta* response.output_text.done "
        "response.content_part.done response.output_item.done conversation.item.done response.done"
    )
    text = "".join(e["delta"] for e in of_type(out, "response.output_text.delta"))
    assert text == "You said: hello there"
    assert of_type(out, "response.output_text.done")[0]["text"] == text
    done = out[-1]["response"]
    assert done["status"] == "completed" and done["status_details"] is None
    assert done["output"][0]["content"] == [{"type": "output_text", "text": text}]
    assert done["output_modalities"] == ["text"]
    assert (
        done["usage"]["total_tokens"]
        == done["usage"]["input_tokens"] + done["usage"]["output_tokens"]
    )
    assert out[0]["response"]["usage"] is None and out[0]["response"]["output"] == []
    assert (
        out[3]["previous_item_id"]
        == of_type(driver.events, "conversation.item.added")[0]["item"]["id"]
    )


def test_audio_response_interleaves_transcript_and_audio() -> None:
    driver = SyncDriver(audio_chunk_ms=50)
    driver.send(user_text("hi"))
    out = driver.send({"type": "response.create"})
    assert _squash(types(out)).endswith(
        "response.output_audio.done response.output_audio_transcript.done response.content_part.done "
        "response.output_item.done conversation.item.done response.done"
    )
    deltas = [e for e in out if e["type"].startswith("response.output_audio")]
    assert deltas[0]["type"] == "response.output_audio_transcript.delta"
    transcript = "".join(
        e["delta"] for e in of_type(out, "response.output_audio_transcript.delta")
    )
    assert transcript == "You said: hi"
    audio = b"".join(
        decode_audio(e["delta"]) for e in of_type(out, "response.output_audio.delta")
    )
    assert audio == synthesize_speech("You said: hi")
    assert all(
        len(decode_audio(e["delta"])) <= 2400
        for e in of_type(out, "response.output_audio.delta")
    )
    part = of_type(out, "response.content_part.done")[0]["part"]
    assert part == {"type": "audio", "transcript": transcript}
    assert out[-1]["response"]["output"][0]["content"] == [
        {"type": "output_audio", "transcript": transcript}
    ]


def test_one_active_response_but_out_of_band_in_parallel() -> None:
    driver = SyncDriver(auto=False)
    driver.send(user_text("hi"))
    first = driver.send({"type": "response.create"})
    assert first == []  # pending: nothing sent yet
    (response_id,) = driver.pending
    error = _error(driver.send({"type": "response.create", "event_id": "evt_2"}))
    assert error["code"] == "conversation_already_has_active_response"
    assert response_id in error["message"] and error["event_id"] == "evt_2"
    driver.send({
        "type": "response.create",
        "response": {"conversation": "none", "output_modalities": ["text"], "metadata": {"topic": "summary"}},
    })  # fmt: skip
    assert len(driver.pending) == 2
    oob_id = next(r for r in driver.pending if r != response_id)
    n_items = len(driver.session.state.conversation)
    driver.finish(oob_id)
    oob = [
        e
        for e in driver.events
        if e.get("response", {}).get("id") == oob_id or e.get("response_id") == oob_id
    ]
    assert oob[0]["response"]["conversation_id"] is None
    assert oob[-1]["response"]["metadata"] == {"topic": "summary"}
    assert (
        len(driver.session.state.conversation) == n_items
    )  # out of band: nothing added
    driver.finish(response_id)
    assert driver.send({"type": "response.create"}) == []  # accepted again (pending)
    assert len(driver.pending) == 1


def test_response_input_and_item_references() -> None:
    driver = SyncDriver()
    driver.send(TEXT_ONLY)
    item_id = driver.send(user_text("remember me"))[0]["item"]["id"]
    out = driver.send({
        "type": "response.create",
        "response": {"conversation": "none", "input": [{"type": "item_reference", "id": item_id}]},
    })  # fmt: skip
    assert (
        "You said: remember me" in of_type(out, "response.output_text.done")[0]["text"]
    )
    error = _error(driver.send({
        "type": "response.create",
        "response": {"conversation": "none", "input": [{"type": "item_reference", "id": "gone"}]},
    }))  # fmt: skip
    assert error["param"] == "response.input[0].id"
    error = _error(
        driver.send({"type": "response.create", "response": {"conversation": "other"}})
    )
    assert error["param"] == "response.conversation"


def test_cancel_mid_response_sends_a_consistent_tail() -> None:
    driver = SyncDriver(auto=False)
    driver.send(user_text("please talk for a while"))
    driver.send({"type": "response.create"})
    (response_id,) = driver.pending
    driver.advance(response_id, 8)  # created .. part added, then some deltas
    sent_audio = sum(
        len(decode_audio(e["delta"]))
        for e in of_type(driver.events, "response.output_audio.delta")
    )
    out = driver.send({"type": "response.cancel", "event_id": "evt_c"})
    assert types(out) == [
        "response.output_audio.done", "response.output_audio_transcript.done", "response.content_part.done",
        "response.output_item.done", "conversation.item.done", "response.done",
    ]  # fmt: skip
    done = out[-1]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert done["output"][0]["status"] == "incomplete"
    stored = driver.session.state.conversation.find(done["output"][0]["id"])
    assert stored is not None and len(stored.audio) == sent_audio
    assert driver.session.responses.active is None
    assert (
        _error(driver.send({"type": "response.cancel"}))["code"]
        == "response_cancel_not_active"
    )


def test_cancel_by_id() -> None:
    driver = SyncDriver(auto=False)
    driver.send({"type": "response.create", "response": {"conversation": "none"}})
    (response_id,) = driver.pending
    assert (
        _error(driver.send({"type": "response.cancel", "response_id": "resp_nope"}))[
            "code"
        ]
        == "response_cancel_not_active"
    )
    out = driver.send({"type": "response.cancel", "response_id": response_id})
    assert out[-1]["response"]["status"] == "cancelled"
    assert out[0]["type"] == "response.done"  # nothing had been sent yet


def test_truncate_assistant_audio() -> None:
    driver = SyncDriver()
    driver.send(user_text("hi"))
    out = driver.send({"type": "response.create"})
    item_id = of_type(out, "response.output_item.done")[0]["item"]["id"]
    audio_ms = len(synthesize_speech("You said: hi")) // 48
    error = _error(driver.send({
        "type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": audio_ms + 500,
    }))  # fmt: skip
    assert (
        error["message"]
        == f"Audio content of {audio_ms}ms is already shorter than {audio_ms + 500}ms"
    )
    assert error["code"] == "invalid_value"
    out = driver.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 300,
        }
    )
    assert types(out) == ["conversation.item.truncated"]
    assert (out[0]["item_id"], out[0]["content_index"], out[0]["audio_end_ms"]) == (
        item_id,
        0,
        300,
    )
    (retrieved,) = driver.send(
        {"type": "conversation.item.retrieve", "item_id": item_id}
    )
    part = retrieved["item"]["content"][0]
    assert part["transcript"] is None
    assert len(decode_audio(part["audio"])) == 300 * 48
    user_id = of_type(driver.events, "conversation.item.added")[0]["item"]["id"]
    assert (
        _error(
            driver.send(
                {
                    "type": "conversation.item.truncate",
                    "item_id": user_id,
                    "content_index": 0,
                    "audio_end_ms": 0,
                }
            )
        )["param"]
        == "item_id"
    )
    assert (
        _error(
            driver.send(
                {
                    "type": "conversation.item.truncate",
                    "item_id": item_id,
                    "content_index": 3,
                    "audio_end_ms": 0,
                }
            )
        )["param"]
        == "content_index"
    )


def test_max_output_tokens_makes_an_incomplete_response() -> None:
    driver = SyncDriver()
    driver.send(TEXT_ONLY)
    driver.send(user_text("a fairly long sentence to echo back"))
    out = driver.send({"type": "response.create", "response": {"max_output_tokens": 2}})
    done = out[-1]["response"]
    assert done["status"] == "incomplete"
    assert done["status_details"] == {
        "type": "incomplete",
        "reason": "max_output_tokens",
    }
    assert done["output"][0]["content"][0]["text"] == "You said"
    assert done["max_output_tokens"] == 2


def test_g711_output_when_the_session_asks() -> None:
    driver = SyncDriver()
    driver.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"output": {"format": {"type": "audio/pcmu"}}},
            },
        }
    )
    driver.send(user_text("hi"))
    out = driver.send({"type": "response.create"})
    audio = b"".join(
        decode_audio(e["delta"]) for e in of_type(out, "response.output_audio.delta")
    )
    assert (
        len(audio) == len(synthesize_speech("You said: hi")) // 6
    )  # 8 kHz, one byte a sample
    assert out[0]["response"]["audio"]["output"]["format"] == {"type": "audio/pcmu"}


# --- input audio -----------------------------------------------------------------------------------


def test_manual_commit_clear_and_byte_accounting() -> None:
    driver = SyncDriver()
    driver.send(VAD_OFF)
    driver.append(silence(50))
    error = _error(
        driver.send({"type": "input_audio_buffer.commit", "event_id": "evt_c"})
    )
    assert error["code"] == "input_audio_buffer_commit_empty"
    assert "buffer only has 50.00ms of audio" in error["message"]
    assert types(driver.send({"type": "input_audio_buffer.clear"})) == [
        "input_audio_buffer.cleared"
    ]
    assert (
        _error(driver.send({"type": "input_audio_buffer.commit"}))["code"]
        == "input_audio_buffer_commit_empty"
    )
    audio = tone(200)
    driver.append(audio)
    out = driver.send({"type": "input_audio_buffer.commit"})
    assert types(out) == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    item = out[1]["item"]
    assert out[0]["item_id"] == item["id"]
    assert item["role"] == "user" and item["content"] == [
        {"type": "input_audio", "transcript": None}
    ]
    (retrieved,) = driver.send(
        {"type": "conversation.item.retrieve", "item_id": item["id"]}
    )
    assert decode_audio(retrieved["item"]["content"][0]["audio"]) == audio
    assert driver.session.state.buffer.total_ms == 250


def test_append_errors() -> None:
    driver = SyncDriver()
    error = _error(
        driver.send(
            {
                "type": "input_audio_buffer.append",
                "audio": "not base64!",
                "event_id": "e",
            }
        )
    )
    assert (error["code"], error["param"], error["event_id"]) == (
        "invalid_value",
        "audio",
        "e",
    )


def test_server_vad_turn() -> None:
    driver = SyncDriver()
    out = driver.append(silence(1000) + tone(800) + silence(500))
    assert types(out)[:5] == [
        "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed", "conversation.item.added", "conversation.item.done",
    ]  # fmt: skip
    started, stopped, committed = out[:3]
    assert (started["audio_start_ms"], stopped["audio_end_ms"]) == (700, 2000)
    assert (
        started["item_id"]
        == stopped["item_id"]
        == committed["item_id"]
        == out[3]["item"]["id"]
    )
    assert out[5]["type"] == "response.created"
    assert (
        "I heard 1.3 seconds of audio."
        in out[-1]["response"]["output"][0]["content"][0]["transcript"]
    )
    stored = driver.session.state.conversation.find(committed["item_id"])
    assert stored is not None and len(stored.audio) == 1300 * 48
    # Offsets keep counting from the start of the session.
    out = driver.append(tone(400) + silence(300))
    assert (
        of_type(out, "input_audio_buffer.speech_started")[0]["audio_start_ms"] == 2000
    )
    assert of_type(out, "input_audio_buffer.speech_stopped")[0]["audio_end_ms"] == 2900


def test_vad_without_create_response() -> None:
    driver = SyncDriver()
    driver.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {
                    "input": {
                        "turn_detection": {
                            "type": "server_vad",
                            "create_response": False,
                        }
                    }
                },
            },
        }
    )
    out = driver.append(tone(500) + silence(400))
    assert "input_audio_buffer.committed" in types(
        out
    ) and "response.created" not in types(out)


def test_barge_in_cancels_with_turn_detected() -> None:
    driver = SyncDriver(auto=False)
    driver.send(user_text("tell me a story"))
    driver.send({"type": "response.create"})
    (response_id,) = driver.pending
    driver.advance(response_id, 10)
    out = driver.append(tone(300))
    assert types(out)[0] == "input_audio_buffer.speech_started"
    assert out[-1]["type"] == "response.done"
    assert out[-1]["response"]["status_details"] == {
        "type": "cancelled",
        "reason": "turn_detected",
    }


def test_barge_in_can_be_disabled() -> None:
    driver = SyncDriver(auto=False)
    driver.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {
                    "input": {
                        "turn_detection": {
                            "type": "server_vad",
                            "interrupt_response": False,
                        }
                    }
                },
            },
        }
    )
    driver.send(user_text("x"))
    driver.send({"type": "response.create"})
    assert types(driver.append(tone(300))) == ["input_audio_buffer.speech_started"]


def test_input_transcription_uses_the_scenario_transcripts() -> None:
    driver = SyncDriver(scenario=Scenario(transcripts=["what time is it"]))
    driver.send({
        "type": "session.update",
        "session": {"type": "realtime", "include": ["item.input_audio_transcription.logprobs"],
                    "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}}},
    })  # fmt: skip
    out = driver.append(synthesize_speech("what time is it") + silence(400))
    deltas = of_type(out, "conversation.item.input_audio_transcription.delta")
    assert "".join(d["delta"] for d in deltas) == "what time is it"
    assert deltas[0]["logprobs"][0]["token"] == "what "
    (completed,) = of_type(out, "conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "what time is it"
    assert (
        completed["item_id"]
        == of_type(out, "input_audio_buffer.committed")[0]["item_id"]
    )
    assert completed["usage"]["type"] == "tokens"
    assert (
        out[-1]["response"]["output"][0]["content"][0]["transcript"]
        == "You said: what time is it"
    )


def test_idle_timeout_triggers_a_response() -> None:
    driver = SyncDriver()
    driver.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "output_modalities": ["text"],
                "audio": {
                    "input": {
                        "turn_detection": {
                            "type": "server_vad",
                            "idle_timeout_ms": 5000,
                        }
                    }
                },
            },
        }
    )
    driver.send(user_text("hi"))
    driver.send({"type": "response.create"})
    driver.append(silence(1000))
    assert driver.tick(4.9) == []
    out = driver.tick(5.0)
    assert types(out)[:4] == [
        "input_audio_buffer.timeout_triggered",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert (out[0]["audio_start_ms"], out[0]["audio_end_ms"]) == (0, 1000)
    assert "response.created" in types(out)
    assert driver.tick(6.0) == []  # once per response
    assert driver.session.next_deadline() == pytest.approx(5.0 + 5.0)


def test_session_expires_after_sixty_minutes() -> None:
    driver = SyncDriver()
    assert driver.session.next_deadline() == 3600.0
    out = driver.tick(3600.0)
    assert _error(out)["code"] == "session_expired"
    assert driver.faults == [
        CloseConnection(
            code=1001, reason="Your session hit the maximum duration of 60 minutes."
        )
    ]


def test_g711_input_with_vad() -> None:
    driver = SyncDriver()
    driver.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"format": {"type": "audio/pcmu"}}},
            },
        }
    )
    import numpy as np

    pcm = (
        np.frombuffer(silence(500) + tone(600) + silence(400), dtype="<i2")[::3]
        .astype("<i2")
        .tobytes()
    )
    out = driver.append(pcm16_to_ulaw(pcm), chunk=800)
    assert of_type(out, "input_audio_buffer.speech_started")[0]["audio_start_ms"] == 200
    assert of_type(out, "input_audio_buffer.speech_stopped")[0]["audio_end_ms"] == 1300


# --- scenario scripting ----------------------------------------------------------------------------


def test_function_call_and_follow_up() -> None:
    scenario = Scenario(rules=[
        Rule(text="weather", steps=[CallTool(name="get_weather", arguments={"city": "Paris"}, call_id="call_1")]),
        Rule(tool="get_weather", steps=[Say(text="It is sunny in Paris.")]),
    ])  # fmt: skip
    driver = SyncDriver(scenario=scenario)
    driver.send(TEXT_ONLY)
    driver.send(user_text("What's the weather?"))
    out = driver.send({"type": "response.create"})
    assert _squash(types(out)) == (
        "response.created rate_limits.updated response.output_item.added conversation.item.added "
        "response.function_call_arguments.delta* response.function_call_arguments.done "
        "response.output_item.done conversation.item.done response.done"
    )
    done = of_type(out, "response.function_call_arguments.done")[0]
    assert (done["name"], done["call_id"], done["arguments"]) == (
        "get_weather",
        "call_1",
        '{"city": "Paris"}',
    )
    assert (
        "".join(
            e["delta"] for e in of_type(out, "response.function_call_arguments.delta")
        )
        == done["arguments"]
    )
    item = out[-1]["response"]["output"][0]
    assert item["type"] == "function_call" and item["status"] == "completed"
    driver.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": "call_1",
                "output": '{"sky": "clear"}',
            },
        }
    )
    out = driver.send({"type": "response.create"})
    assert (
        of_type(out, "response.output_text.done")[0]["text"] == "It is sunny in Paris."
    )


def test_default_follow_up_after_a_tool_and_forced_tool_choice() -> None:
    driver = SyncDriver()
    driver.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"],
                 "tools": [{"type": "function", "name": "lookup"}], "tool_choice": {"type": "function", "name": "lookup"}}})  # fmt: skip
    driver.send(user_text("x"))
    out = driver.send({"type": "response.create"})
    call = of_type(out, "response.function_call_arguments.done")[0]
    assert (call["name"], call["arguments"]) == ("lookup", "{}")
    driver.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": call["call_id"],
                "output": "42",
            },
        }
    )
    out = driver.send({"type": "response.create"})
    assert (
        of_type(out, "response.output_text.done")[0]["text"]
        == "The lookup tool returned: 42"
    )


def test_fail_close_and_turn_rules() -> None:
    scenario = Scenario(rules=[
        Rule(turn=1, steps=[Fail(code="overloaded", message="Try later.")]),
        Rule(turn=2, times=1, steps=[Say(text="Bye."), CloseConnection(code=4001, reason="scripted")]),
    ])  # fmt: skip
    driver = SyncDriver(scenario=scenario)
    driver.send(TEXT_ONLY)
    out = driver.send({"type": "response.create"})
    assert types(out) == [
        "response.created",
        "rate_limits.updated",
        "error",
        "response.done",
    ]
    assert (
        out[2]["error"]["code"] == "overloaded"
        and out[2]["error"]["type"] == "server_error"
    )
    assert out[-1]["response"]["status"] == "failed"
    assert out[-1]["response"]["status_details"] == {
        "type": "failed",
        "error": {"type": "server_error", "code": "overloaded"},
    }
    out = driver.send({"type": "response.create"})
    assert driver.faults == [CloseConnection(code=4001, reason="scripted")]
    out = driver.send({"type": "response.create"})
    assert (
        of_type(out, "response.output_text.done")[0]["text"]
        == "Hello! How can I help you today?"
    )


def test_scenario_wav_audio(tmp_path: Any) -> None:
    from realtime_trio.audio import write_wav

    path = str(tmp_path / "reply.wav")
    pcm16k = tone(500)[: 16 * 2 * 500]
    write_wav(path, pcm16k, 16000)
    driver = SyncDriver(
        scenario=Scenario(
            rules=[Rule(steps=[Say(text="from a file", audio_file=path)])]
        )
    )
    out = driver.send({"type": "response.create"})
    audio = b"".join(
        decode_audio(e["delta"]) for e in of_type(out, "response.output_audio.delta")
    )
    assert len(audio) == 500 * 48  # resampled to 24 kHz
    assert (
        of_type(out, "response.output_audio_transcript.done")[0]["transcript"]
        == "from a file"
    )


def test_realtime_pacing_and_time_to_first_audio() -> None:
    driver = SyncDriver(realtime=True, time_to_first_audio=0.4, audio_chunk_ms=100)
    driver.send(user_text("hi"))
    driver.send({"type": "response.create"})
    chunks = len(of_type(driver.events, "response.output_audio.delta"))
    assert driver.sleeps[0] == 0.4
    assert driver.sleeps[1:] == [0.1] * (chunks - 1)


def test_audio_of_a_user_item_is_kept_for_retrieve() -> None:
    driver = SyncDriver()
    audio = encode_audio(tone(100))
    out = driver.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_audio", "audio": audio}],
            },
        }
    )
    assert out[0]["item"]["content"] == [{"type": "input_audio", "transcript": None}]
    (retrieved,) = driver.send(
        {"type": "conversation.item.retrieve", "item_id": out[0]["item"]["id"]}
    )
    assert retrieved["item"]["content"][0]["audio"] == audio


def test_function_call_output_needs_a_known_call_id() -> None:
    driver = SyncDriver()
    event = {
        "type": "conversation.item.create",
        "event_id": "e",
        "item": {
            "type": "function_call_output",
            "call_id": "call_nope",
            "output": "{}",
        },
    }
    error = _error(driver.send(event))
    assert (error["code"], error["param"]) == ("invalid_tool_call_id", "item.call_id")
    assert error["message"] == "Tool call ID 'call_nope' not found in conversation."


def _sideband_driver(**kwargs: Any) -> SyncDriver:
    driver = SyncDriver(**kwargs)
    driver.session.state.sideband = True
    return driver


def test_sideband_sessions_report_the_output_audio_buffer() -> None:
    driver = _sideband_driver()
    driver.send(user_text("hi"))
    out = driver.send({"type": "response.create"})
    names = types(out)
    assert (
        names.index("output_audio_buffer.started")
        == names.index("response.content_part.added") + 1
    )
    assert names[-2:] == ["response.done", "output_audio_buffer.stopped"]
    response_id = out[0]["response"]["id"]
    assert of_type(out, "output_audio_buffer.stopped")[0]["response_id"] == response_id
    assert (
        of_type(
            driver.send({"type": "output_audio_buffer.clear"}),
            "output_audio_buffer.cleared",
        )[0]["response_id"]
        == response_id
    )


def test_sideband_barge_in_clears_the_output_audio_buffer() -> None:
    driver = _sideband_driver(auto=False)
    driver.send(user_text("tell me a story"))
    driver.send({"type": "response.create"})
    (response_id,) = driver.pending
    driver.advance(response_id, 10)
    out = driver.append(tone(300))
    assert types(out)[-2:] == ["response.done", "output_audio_buffer.cleared"]


def test_output_audio_buffer_clear_needs_a_call() -> None:
    assert (
        _error(SyncDriver().send({"type": "output_audio_buffer.clear"}))["code"]
        == "invalid_value"
    )


def test_transcription_sessions() -> None:
    from realtime_trio.testing._model.ids import IdFactory
    from realtime_trio.testing._model.sim_session import SimSession
    from realtime_trio.testing._server.options import session_settings

    session = SimSession(
        session_settings(), ids=IdFactory(0), now=0.0, wall_time=0.0, transcription=True
    )
    (created,) = session.start()
    assert created.event.session.object == "realtime.transcription_session"  # type: ignore[union-attr]
    out = session.handle_message('{"type": "response.create"}', 0.0)
    assert out[0].event.error.code == "invalid_value"  # type: ignore[union-attr]
