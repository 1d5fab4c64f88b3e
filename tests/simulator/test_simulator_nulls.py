"""Client ``null``s in the simulator, and the shapes recorded real sessions show (issue 9).

A ``null`` sent for an optional field counts as absent, except where it
clears a setting (`realtime_trio.testing._model.nulls.CLEARING_NULLS`).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from realtime_trio import events, parse_event
from realtime_trio._core.serde import get_codec
from realtime_trio.testing import CallTool, Rule, Scenario, silence, synthesize_speech
from realtime_trio.testing._model.ids import IdFactory
from realtime_trio.testing._model.nulls import drop_absent_nulls
from realtime_trio.testing._server.calls import parse_session_config
from tests.helpers.simulator import (
    LIVEKIT_RESPONSE_CREATE,
    SyncDriver,
    of_type,
    types,
    user_text,
)

WEATHER = Scenario(
    rules=[Rule(text="weather", steps=[CallTool(name="get_weather", arguments={})])]
)


def _without(obj: Any, *keys: str) -> Any:
    """``obj`` without the ``keys`` whose value is null, at any depth."""
    if isinstance(obj, dict):
        return {
            k: _without(v, *keys)
            for k, v in obj.items()
            if not (k in keys and v is None)
        }
    if isinstance(obj, list):
        return [_without(v, *keys) for v in obj]
    return obj


def _tool_turn(driver: SyncDriver) -> str:
    """A user asks for the weather, the model calls the tool; return the call id."""
    driver.send(user_text("What's the weather?"))
    out = driver.send({"type": "response.create"})
    (call,) = of_type(out, "response.function_call_arguments.done")
    driver.send({
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": call["call_id"], "output": '{"sky": "clear"}'},
    })  # fmt: skip
    return str(call["call_id"])


# --- LiveKit's response.create ---------------------------------------------------


def test_livekit_response_create_parses_with_a_null_instructions() -> None:
    event = parse_event(LIVEKIT_RESPONSE_CREATE)
    assert isinstance(event, events.ResponseCreate)
    assert isinstance(event.response, events.ResponseCreateParams)
    assert event.response.instructions is None
    assert event.response.metadata == {
        "client_event_id": "response_create_5f0c8e1a9b2d"
    }


def test_livekit_response_create_gets_a_normal_response() -> None:
    driver = SyncDriver(scenario=WEATHER)
    _tool_turn(driver)
    out = driver.send(LIVEKIT_RESPONSE_CREATE)
    assert not of_type(out, "error")
    assert types(out)[:2] == ["response.created", "rate_limits.updated"]
    (done,) = of_type(out, "response.done")
    assert done["response"]["status"] == "completed"
    assert (
        done["response"]["metadata"] == LIVEKIT_RESPONSE_CREATE["response"]["metadata"]
    )  # type: ignore[index]
    (transcript,) = of_type(out, "response.output_audio_transcript.done")
    assert transcript["transcript"] == 'The get_weather tool returned: {"sky": "clear"}'
    # The client's event is recorded as understood: instructions absent.
    event = driver.session.last_client_event
    assert isinstance(event, events.ResponseCreate)
    assert isinstance(event.response, events.ResponseCreateParams)
    assert event.response.instructions is events.UNSET


def test_livekit_null_is_exactly_like_an_absent_field() -> None:
    with_null, without = SyncDriver(scenario=WEATHER), SyncDriver(scenario=WEATHER)
    for driver in (with_null, without):
        _tool_turn(driver)
    absent = copy.deepcopy(LIVEKIT_RESPONSE_CREATE)
    del absent["response"]["instructions"]
    # Same seed, same events: the instructions of the session were used alike
    # (the input token count depends on them).
    assert with_null.send(LIVEKIT_RESPONSE_CREATE) == without.send(absent)


# --- null means absent ---------------------------------------------------------------


def test_null_session_fields_change_nothing() -> None:
    driver = SyncDriver()
    before = driver.events[0]["session"]
    out = driver.send({
        "type": "session.update", "event_id": None,
        "session": {
            "type": "realtime", "model": None, "instructions": None, "output_modalities": None,
            "tools": None, "tool_choice": None, "max_output_tokens": None, "truncation": None,
            "reasoning": None, "parallel_tool_calls": None,
            "audio": {
                "input": {"format": None, "turn_detection": {"type": "server_vad", "threshold": None, "silence_duration_ms": 800}},
                "output": {"format": None, "voice": None, "speed": None},
            },
        },
    })  # fmt: skip
    assert types(out) == ["session.updated"]
    after = out[0]["session"]
    before["audio"]["input"]["turn_detection"]["silence_duration_ms"] = 800
    assert after == before


def test_null_response_fields_use_the_session_settings() -> None:
    driver = SyncDriver()
    driver.send(user_text("hello"))
    out = driver.send({
        "type": "response.create",
        "response": {
            "conversation": None, "input": None, "instructions": None, "output_modalities": None,
            "audio": {"output": {"format": None, "voice": None}}, "tools": None, "tool_choice": None,
            "max_output_tokens": None, "reasoning": None, "parallel_tool_calls": None,
        },
    })  # fmt: skip
    assert not of_type(out, "error")
    (done,) = of_type(out, "response.done")
    response = done["response"]
    assert response["status"] == "completed"
    assert response["conversation_id"] is not None  # conversation: null is "auto"
    assert response["output_modalities"] == ["audio"]
    assert response["audio"]["output"]["voice"] == "marin"
    (transcript,) = of_type(out, "response.output_audio_transcript.done")
    assert transcript["transcript"] == "You said: hello"


def test_null_item_fields_get_the_server_values() -> None:
    driver = SyncDriver()
    driver.send(user_text("first"))
    out = driver.send({
        "type": "conversation.item.create", "event_id": None, "previous_item_id": None,
        "item": {
            "id": None, "object": None, "status": None, "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "second"}],
        },
    })  # fmt: skip
    assert types(out) == ["conversation.item.added", "conversation.item.done"]
    item = out[0]["item"]
    assert re.fullmatch(r"item_[A-Za-z0-9]{22}", item["id"])
    assert item["status"] == "completed"
    assert out[0]["previous_item_id"] is not None  # appended after "first"
    out = driver.send({
        "type": "response.create",
        "response": {"conversation": "none", "input": [{
            "type": "message", "role": "user", "id": None,
            "content": [{"type": "input_audio", "audio": None, "transcript": None}],
        }]},
    })  # fmt: skip
    assert not of_type(out, "error")


def test_nulls_in_free_form_objects_are_kept() -> None:
    parameters = {"type": "object", "properties": {"unit": {"default": None}}}
    out = SyncDriver().send({
        "type": "session.update",
        "session": {"type": "realtime", "tools": [{"type": "function", "name": "f", "description": None, "parameters": parameters}]},
    })  # fmt: skip
    (tool,) = out[0]["session"]["tools"]
    assert tool == {"type": "function", "name": "f", "parameters": parameters}


def test_a_null_where_a_value_is_required_is_still_an_error() -> None:
    out = SyncDriver().send(
        {"type": "conversation.item.delete", "event_id": "e", "item_id": None}
    )
    (error,) = of_type(out, "error")
    assert (error["error"]["param"], error["error"]["event_id"]) == ("item_id", "e")


def test_drop_absent_nulls_returns_the_same_object_without_such_nulls() -> None:
    event = {"type": "session.update", "session": {"type": "realtime", "tracing": None}}
    assert drop_absent_nulls(event) is event
    for kind in ("session.upgrade", ["session.update"], None):
        unknown = {"type": kind, "session": None}
        assert drop_absent_nulls(unknown) is unknown
    (error,) = SyncDriver().send({"type": ["session.update"], "session": None})
    assert error["type"] == "error"
    livekit = copy.deepcopy(LIVEKIT_RESPONSE_CREATE)
    assert drop_absent_nulls(livekit) == _without(livekit, "instructions")
    assert livekit == LIVEKIT_RESPONSE_CREATE  # not modified


def test_rest_session_configs_drop_absent_nulls() -> None:
    body = {
        "type": "realtime", "instructions": None, "tracing": None,
        "audio": {"input": {"turn_detection": None, "format": None}, "output": {"voice": None}},
    }  # fmt: skip
    assert parse_session_config(body) == {
        "type": "realtime",
        "tracing": None,
        "audio": {"input": {"turn_detection": None}, "output": {}},
    }


# --- null clears ------------------------------------------------------------------


def test_null_turn_detection_still_switches_vad_off() -> None:
    driver = SyncDriver()
    out = driver.send({
        "type": "session.update",
        "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
    })  # fmt: skip
    assert out[0]["session"]["audio"]["input"]["turn_detection"] is None
    speech = silence(300) + synthesize_speech("Are you there?") + silence(800)
    assert driver.append(speech) == []  # no VAD: nothing happens


def test_null_clears_transcription_noise_reduction_idle_timeout_and_include() -> None:
    driver = SyncDriver()
    driver.send({
        "type": "session.update",
        "session": {
            "type": "realtime", "include": ["item.input_audio_transcription.logprobs"],
            "prompt": {"id": "pmpt_123"},
            "audio": {"input": {
                "transcription": {"model": "gpt-4o-transcribe"}, "noise_reduction": {"type": "near_field"},
                "turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000},
            }},
        },
    })  # fmt: skip
    out = driver.send({
        "type": "session.update",
        "session": {
            "type": "realtime", "include": None, "prompt": None,
            "audio": {"input": {
                "transcription": None, "noise_reduction": None,
                "turn_detection": {"type": "server_vad", "idle_timeout_ms": None},
            }},
        },
    })  # fmt: skip
    session = out[0]["session"]
    assert (session["include"], session["prompt"]) == (None, None)
    audio_in = session["audio"]["input"]
    assert (audio_in["transcription"], audio_in["noise_reduction"]) == (None, None)
    assert audio_in["turn_detection"]["idle_timeout_ms"] is None


def test_tracing_null_is_kept_so_enabled_tracing_stays_immutable() -> None:
    driver = SyncDriver()
    driver.send(
        {"type": "session.update", "session": {"type": "realtime", "tracing": "auto"}}
    )
    out = driver.send(
        {"type": "session.update", "session": {"type": "realtime", "tracing": None}}
    )
    (error,) = of_type(out, "error")
    assert error["error"]["param"] == "session.tracing"


# --- recorded shapes -----------------------------------------------------------------


def test_default_session_has_truncation_and_a_float_speed() -> None:
    driver = SyncDriver()
    (created,) = driver.session.start()
    text = get_codec().encode(created.event)  # type: ignore[attr-defined]
    assert '"truncation":"auto"' in text.replace(" ", "")
    assert '"speed":1.0' in text.replace(" ", "")
    session = json.loads(text)["session"]
    assert session["truncation"] == "auto"
    assert isinstance(session["audio"]["output"]["speed"], float)


def test_item_added_and_done_carry_no_object_but_retrieved_and_output_items_do() -> (
    None
):
    driver = SyncDriver()
    out = driver.send(user_text("hello")) + driver.send({"type": "response.create"})
    added = of_type(out, "conversation.item.added") + of_type(
        out, "conversation.item.done"
    )
    assert len(added) == 4 and all("object" not in e["item"] for e in added)
    output = of_type(out, "response.output_item.added") + of_type(
        out, "response.output_item.done"
    )
    assert len(output) == 2
    assert all(e["item"]["object"] == "realtime.item" for e in output)
    (done,) = of_type(out, "response.done")
    assert all("object" not in item for item in done["response"]["output"])
    item_id = added[0]["item"]["id"]
    (retrieved,) = driver.send(
        {"type": "conversation.item.retrieve", "item_id": item_id}
    )
    assert retrieved["item"]["object"] == "realtime.item"


def test_usage_has_cached_tokens_details() -> None:
    driver = SyncDriver()
    driver.send(user_text("hello"))
    (done,) = of_type(driver.send({"type": "response.create"}), "response.done")
    details = done["response"]["usage"]["input_token_details"]
    assert details["cached_tokens"] == 0
    assert details["cached_tokens_details"] == {
        "text_tokens": 0,
        "audio_tokens": 0,
        "image_tokens": 0,
    }


def _transcript_deltas() -> list[dict[str, Any]]:
    scenario = Scenario(transcripts=["What is the weather like?"])
    driver = SyncDriver(scenario=scenario)
    driver.send({
        "type": "session.update",
        "session": {"type": "realtime", "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}}},
    })  # fmt: skip
    speech = synthesize_speech("What is the weather like?")
    out = driver.append(silence(300) + speech + silence(800))
    deltas = of_type(out, "conversation.item.input_audio_transcription.delta")
    return deltas + of_type(out, "response.output_audio_transcript.delta")


def test_transcript_deltas_carry_an_obfuscation_string() -> None:
    deltas = _transcript_deltas()
    kinds = {d["type"] for d in deltas}
    assert kinds == {
        "conversation.item.input_audio_transcription.delta",
        "response.output_audio_transcript.delta",
    }
    for delta in deltas:
        assert re.fullmatch(r"[A-Za-z0-9]{1,16}", delta["obfuscation"])
        assert (len(delta["delta"]) + len(delta["obfuscation"])) % 16 == 0
    assert len({d["obfuscation"] for d in deltas}) == len(deltas)
    assert _transcript_deltas() == deltas  # deterministic


@pytest.mark.parametrize("delta", ["", "Hey", "x" * 16, "y" * 17])
def test_obfuscation_pads_to_a_multiple_of_16_and_leaves_ids_alone(delta: str) -> None:
    padded, plain = IdFactory(7, 3), IdFactory(7, 3)
    padding = padded.obfuscation(delta)
    assert (len(delta) + len(padding)) % 16 == 0
    assert padded.new("item_") == plain.new("item_")
    # The padding comes from the seed (and the connection's stream).
    assert IdFactory(7, 3).obfuscation(delta) == padding
    assert IdFactory(8, 3).obfuscation(delta) != padding
