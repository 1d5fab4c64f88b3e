"""The event model and converter, without an event loop."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import realtime_trio
from realtime_trio import (
    UNSET,
    EventCodec,
    LocalProtocolError,
    ProtocolError,
    RealtimeError,
    RemoteProtocolError,
    SessionConfig,
    UnknownEvent,
    dump_event,
    encode_event,
    events,
    parse_event,
)
from realtime_trio._core.client_events import CLIENT_EVENT_CLASSES
from realtime_trio._core.server_events import SERVER_EVENT_CLASSES
from tests.helpers.strategies import any_event, records

EXAMPLES = sorted(
    (Path(__file__).resolve().parents[1] / "data" / "examples").glob("*.json")
)
# Webhook payloads live in the same folder but are not Realtime socket events.
WEBHOOK_EXAMPLES = {"realtime.call.incoming"}
SOCKET_EXAMPLES = [p for p in EXAMPLES if p.stem not in WEBHOOK_EXAMPLES]

CODECS = [
    pytest.param(EventCodec(json_library="json"), id="json"),
    pytest.param(EventCodec(json_library="orjson"), id="orjson"),
]

# protocol.md section 3.8, the GA lists.
GA_CLIENT = [
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "output_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "conversation.item.delete",
    "response.create",
    "response.cancel",
]
GA_SERVER = [
    "error",
    "session.created",
    "session.updated",
    "conversation.created",
    "conversation.item.created",
    "conversation.item.added",
    "conversation.item.done",
    "conversation.item.retrieved",
    "conversation.item.truncated",
    "conversation.item.deleted",
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
    "conversation.item.input_audio_transcription.failed",
    "conversation.item.input_audio_transcription.segment",
    "input_audio_buffer.committed",
    "input_audio_buffer.cleared",
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.timeout_triggered",
    "input_audio_buffer.dtmf_event_received",
    "output_audio_buffer.started",
    "output_audio_buffer.stopped",
    "output_audio_buffer.cleared",
    "response.created",
    "response.done",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.content_part.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.output_audio.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.delta",
    "response.output_audio_transcript.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.mcp_call_arguments.delta",
    "response.mcp_call_arguments.done",
    "response.mcp_call.in_progress",
    "response.mcp_call.completed",
    "response.mcp_call.failed",
    "mcp_list_tools.in_progress",
    "mcp_list_tools.completed",
    "mcp_list_tools.failed",
    "rate_limits.updated",
]


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_every_ga_event_type_has_a_record() -> None:
    assert sorted(c.TYPE for c in CLIENT_EVENT_CLASSES) == sorted(GA_CLIENT)
    assert sorted(c.TYPE for c in SERVER_EVENT_CLASSES) == sorted(GA_SERVER)
    assert len(GA_CLIENT) == 11
    assert len(GA_SERVER) == 46


@pytest.mark.parametrize(
    "cls", CLIENT_EVENT_CLASSES + SERVER_EVENT_CLASSES, ids=lambda c: c.TYPE
)
def test_class_name_is_camel_case_of_wire_type(cls: type) -> None:
    expected = "".join(
        part[:1].upper() + part[1:] for part in re.split(r"[._]", cls.TYPE)
    )
    if cls.TYPE == "error":
        expected = "ErrorEvent"
    assert cls.__name__ == expected
    assert getattr(events, cls.__name__) is cls
    assert attrs.has(cls)
    assert cls.__module__ == "realtime_trio.events"


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_golden_examples_round_trip(codec: EventCodec, path: Path) -> None:
    text = path.read_text()
    expected = json.loads(text)
    for given_as in (expected, text, text.encode()):
        event = codec.parse(given_as)
        assert codec.dump(event) == expected
        assert json.loads(codec.encode(event)) == expected
    if path.stem in WEBHOOK_EXAMPLES:
        assert isinstance(event, UnknownEvent)
    else:
        assert expected["type"] == type(event).TYPE


@pytest.mark.parametrize("path", SOCKET_EXAMPLES, ids=lambda p: p.stem)
def test_golden_examples_in_strict_mode(path: Path) -> None:
    data = load(path)
    if path.stem == "conversation.item.retrieved":
        # The reference example carries a beta-era "format" key in the content
        # part (protocol.md section 10, item 3): schema drift strict mode must catch.
        with pytest.raises(
            RemoteProtocolError, match=r"item\.content\[0\]\.format"
        ) as info:
            parse_event(data, strict=True)
        assert info.value.path == ("item", "content", 0, "format")
        return
    event = parse_event(data, strict=True)
    assert dump_event(event) == data


def test_known_nested_shapes_become_records() -> None:
    created = parse_event(
        load(EXAMPLES[[p.stem for p in EXAMPLES].index("session.created")])
    )
    assert isinstance(created, events.SessionCreated)
    session = created.session
    assert isinstance(session, SessionConfig)
    assert session.expires_at == 1756324625
    assert session.tracing is None  # explicit null stays null
    assert session.audio is not UNSET
    assert session.audio.input is not UNSET
    vad = session.audio.input.turn_detection
    assert isinstance(vad, events.ServerVad)
    assert vad.idle_timeout_ms is None
    assert vad.create_response is True
    assert isinstance(session.audio.input.format, events.AudioPCM)
    assert session.audio.output is not UNSET
    speed = session.audio.output.speed
    assert speed == 1
    assert type(speed) is int

    done_path = next(p for p in EXAMPLES if p.stem == "response.done")
    done = parse_event(load(done_path))
    assert isinstance(done, events.ResponseDone)
    usage = done.response.usage
    assert isinstance(usage, events.Usage)
    assert usage.input_token_details is not UNSET
    assert usage.input_token_details.cached_tokens == 64
    item = done.response.output[0]  # type: ignore[index]
    assert isinstance(item, events.MessageItem)
    assert isinstance(item.content[0], events.OutputAudio)


def test_unknown_keys_are_kept_at_every_level() -> None:
    data = {
        "type": "response.output_audio_transcript.delta",
        "event_id": "e1",
        "response_id": "r",
        "item_id": "i",
        "output_index": 0,
        "content_index": 0,
        "delta": "hi",
        "obfuscation": "abc",
        "brand_new": {"nested": [1, True, None]},
    }
    event = parse_event(data)
    assert event.extra_fields == {"brand_new": {"nested": [1, True, None]}}
    assert dump_event(event) == data
    nested = {
        "type": "conversation.item.added",
        "event_id": "e2",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "x", "future": False}],
            "future_item_key": 0,
        },
    }
    event = parse_event(nested)
    assert dump_event(event) == nested
    assert event.item.extra_fields == {"future_item_key": 0}


def test_unknown_event_types_and_beta_names() -> None:
    beta = {"type": "response.audio.delta", "event_id": "e", "delta": "AAAA"}
    event = parse_event(beta)
    assert isinstance(event, UnknownEvent)
    assert event.type == "response.audio.delta"
    assert dump_event(event) == beta
    with pytest.raises(
        RemoteProtocolError, match=r"unknown event type 'response\.audio\.delta'"
    ):
        parse_event(beta, strict=True)


def test_unknown_nested_type_tags() -> None:
    data = {
        "type": "conversation.item.added",
        "event_id": "e",
        "item": {"type": "hologram", "payload": {"x": 1}},
    }
    event = parse_event(data)
    assert isinstance(event.item, events.UnknownObject)
    assert event.item.type == "hologram"
    assert dump_event(event) == data
    with pytest.raises(
        RemoteProtocolError, match=r"at item: unknown object type 'hologram'"
    ):
        parse_event(data, strict=True)


def test_lenient_missing_required_field_is_unset_and_strict_raises() -> None:
    data = {"type": "conversation.item.deleted", "event_id": "e"}
    event = parse_event(data)
    assert isinstance(event, events.ConversationItemDeleted)
    assert event.item_id is UNSET
    assert dump_event(event) == data
    with pytest.raises(
        RemoteProtocolError, match="missing required field 'item_id'"
    ) as info:
        parse_event(data, strict=True)
    assert info.value.path == ("item_id",)


def test_strict_mode_rejects_unknown_fields() -> None:
    data = {"type": "input_audio_buffer.cleared", "event_id": "e", "surprise": 1}
    assert parse_event(data).extra_fields == {"surprise": 1}
    with pytest.raises(RemoteProtocolError, match="unknown field 'surprise'"):
        parse_event(data, strict=True)


def test_unset_is_omitted_and_none_is_null() -> None:
    update = events.SessionUpdate(
        session=SessionConfig(
            instructions="Be brief.",
            audio=events.AudioConfig(input=events.AudioInput(turn_detection=None)),
            tracing=None,
        )
    )
    assert dump_event(update) == {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "instructions": "Be brief.",
            "audio": {"input": {"turn_detection": None}},
            "tracing": None,
        },
    }
    assert dump_event(events.InputAudioBufferCommit()) == {
        "type": "input_audio_buffer.commit"
    }
    assert dump_event(events.ResponseCancel(event_id="x")) == {
        "type": "response.cancel",
        "event_id": "x",
    }


def test_encode_accepts_plain_dicts_for_forward_compatibility() -> None:
    frame = encode_event({"type": "future.event", "x": 1})
    assert json.loads(frame) == {"type": "future.event", "x": 1}


def test_client_events_parse_too() -> None:
    event = parse_event(
        '{"type":"conversation.item.create","item":{"type":"function_call_output",'
        '"call_id":"c1","output":"{}"},"previous_item_id":null}'
    )
    assert event == events.ConversationItemCreate(
        item=events.FunctionCallOutputItem(call_id="c1", output="{}"),
        previous_item_id=None,
    )


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ("[1, 2]", "not a JSON object but array"),
        ('"text"', "not a JSON object but string"),
        ("{}", 'no "type" field'),
        ('{"type": 5}', 'non-string "type" field'),
        ('{"type": null}', 'no "type" field'),
    ],
)
def test_malformed_messages(codec: EventCodec, data: str | bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message) as info:
        codec.parse(data)
    assert info.value.raw == data
    assert isinstance(info.value, ProtocolError)
    assert isinstance(info.value, RealtimeError)


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        (
            {
                "type": "session.updated",
                "event_id": "e",
                "session": {
                    "type": "realtime",
                    "audio": {
                        "input": {
                            "turn_detection": {
                                "type": "server_vad",
                                "silence_duration_ms": "1500",
                            }
                        }
                    },
                },
            },
            ("session", "audio", "input", "turn_detection", "silence_duration_ms"),
            "expected integer or null, got string '1500'",
        ),
        (
            {
                "type": "conversation.item.truncated",
                "event_id": "e",
                "item_id": "i",
                "content_index": 0,
                "audio_end_ms": True,
            },
            ("audio_end_ms",),
            "expected integer, got boolean True",
        ),
        (
            {
                "type": "response.output_audio.delta",
                "event_id": "e",
                "response_id": "r",
                "item_id": "i",
                "output_index": 0,
                "content_index": 0,
                "delta": 12,
            },
            ("delta",),
            "expected string, got integer 12",
        ),
        (
            {
                "type": "rate_limits.updated",
                "event_id": "e",
                "rate_limits": [{"name": "tokens"}, {"limit": 1.5}],
            },
            ("rate_limits", 1, "limit"),
            "expected integer or null, got number 1.5",
        ),
        (
            {
                "type": "response.done",
                "event_id": "e",
                "response": {
                    "output": [
                        {
                            "type": "message",
                            "role": "assistant",
                            "content": [{"type": "output_audio", "transcript": 3}],
                        }
                    ]
                },
            },
            ("response", "output", 0, "content", 0, "transcript"),
            "expected string or null, got integer 3",
        ),
        (
            {"type": "session.created", "event_id": "e", "session": "nope"},
            ("session",),
            "got string 'nope'",
        ),
        (
            {
                "type": "response.created",
                "event_id": "e",
                "response": {"max_output_tokens": 1.5},
            },
            ("response", "max_output_tokens"),
            "expected integer or string or null, got number 1.5",
        ),
        (
            {
                "type": "error",
                "event_id": "e",
                "error": {"type": "x", "message": ["m"]},
            },
            ("error", "message"),
            "expected string, got array",
        ),
    ],
)
def test_wrong_field_types_name_event_and_path(
    data: dict[str, Any], path: tuple[Any, ...], message: str
) -> None:
    for strict in (False, True):
        with pytest.raises(RemoteProtocolError) as info:
            parse_event(data, strict=strict)
        err = info.value
        assert err.event_type == data["type"]
        assert err.path == path
        assert message in str(err)
        assert repr(data["type"]) in str(err)
        dotted = ".".join(str(p) for p in path if isinstance(p, str))
        assert dotted.split(".")[-1] in str(err)


def test_dumping_unencodable_values_is_a_local_protocol_error() -> None:
    bad = events.InputAudioBufferAppend(audio=b"raw bytes")  # type: ignore[arg-type]
    for lib in ("json", "orjson"):
        with pytest.raises(LocalProtocolError):
            EventCodec(json_library=lib).encode(bad)


@pytest.mark.parametrize(
    "cls", CLIENT_EVENT_CLASSES + SERVER_EVENT_CLASSES, ids=lambda c: c.TYPE
)
@settings(max_examples=20)
@given(data=st.data())
def test_generated_records_of_every_class_round_trip(
    cls: type, data: st.DataObject
) -> None:
    event = data.draw(records(cls))
    assert parse_event(dump_event(event)) == event
    assert parse_event(encode_event(event)) == event


@settings(max_examples=200)
@given(any_event())
def test_generated_records_round_trip(event: Any) -> None:
    data = dump_event(event)
    assert data["type"] == type(event).TYPE
    assert parse_event(data) == event
    for lib in ("json", "orjson"):
        codec = EventCodec(json_library=lib)
        assert codec.parse(codec.encode(event)) == event


def test_public_surface() -> None:
    assert realtime_trio.__all__ == sorted(realtime_trio.__all__)
    assert events.__all__ == sorted(events.__all__)
    for name in realtime_trio.__all__:
        assert hasattr(realtime_trio, name)
    for name in events.__all__:
        obj = getattr(events, name)
        if isinstance(obj, type) and obj is not realtime_trio.Record:
            assert obj.__module__ in ("realtime_trio.events", "realtime_trio"), name
