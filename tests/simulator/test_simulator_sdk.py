"""The official ``openai`` SDK (asyncio + websockets) holds a conversation with the simulator.

The SDK runs in a worker thread with its own asyncio loop while the
simulator serves from the trio loop of the test. Every server event the SDK
receives is validated strictly (no coercion) against the SDK's own pydantic
union (``openai.types.realtime.RealtimeServerEvent``), and the keys the SDK
does not declare are checked against the few the real server is known to add.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import re
from typing import Any

import pytest
import trio

from realtime_trio._core.serde import get_codec
from realtime_trio.testing import (
    CallTool,
    Delay,
    Fail,
    Rule,
    Say,
    Scenario,
    open_simulator,
    silence,
    synthesize_speech,
)
from realtime_trio.testing._model.ids import IdFactory
from realtime_trio.testing._model.sim_session import SimSession
from realtime_trio.testing._server.options import session_settings
from tests.helpers.simulator import (
    LIVEKIT_RESPONSE_CREATE,
    SyncDriver,
    of_type,
    user_text,
)

openai = pytest.importorskip(
    "openai", reason="the openai SDK is a test-only dependency"
)
pytest.importorskip("websockets", reason="openai's realtime client needs websockets")
from openai.types.realtime import RealtimeServerEvent  # noqa: E402
from pydantic import BaseModel, TypeAdapter  # noqa: E402

SERVER_EVENT = TypeAdapter(RealtimeServerEvent)
#: Keys the real server sends that the SDK's types do not declare, by event type.
UNDECLARED = {
    # The SDK types the session of these events as the *request* model.
    "session.created": {"session.id", "session.object", "session.expires_at"},
    "session.updated": {"session.id", "session.object", "session.expires_at"},
    # Declared only on response.mcp_call_arguments.delta in the SDK.
    "conversation.item.input_audio_transcription.delta": {"obfuscation"},
    "response.output_audio_transcript.delta": {"obfuscation"},
}
SCENARIO = Scenario(
    transcripts=["What is the weather in Paris?"],
    rules=[
        Rule(
            text="weather",
            steps=[CallTool(name="get_weather", arguments={"city": "Paris"})],
        ),
        Rule(tool="get_weather", steps=[Say(text="It is sunny in Paris.")]),
        Rule(text="slowly", steps=[Delay(seconds=5), Say(text="Too late.")]),
    ],
)
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


class Conversation:
    """Receives and validates server events for the SDK client."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.types: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self.undeclared: set[tuple[str, str]] = set()
        self.validated = 0

    async def recv(self) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.conn.recv_bytes(), timeout=10)
        # Raises if the SDK's types disagree, without coercing any value.
        model = SERVER_EVENT.validate_json(raw, strict=True)
        self.validated += 1
        event = json.loads(raw)
        assert isinstance(event, dict)
        self.undeclared.update((event["type"], key) for key in _undeclared(model))
        self.types.append(event["type"])
        self.events.append(event)
        self.raw.append(raw)
        return event

    async def until(self, kind: str) -> list[dict[str, Any]]:
        events = []
        while True:
            event = await self.recv()
            events.append(event)
            if event["type"] == kind:
                return events


def _undeclared(model: Any, path: str = "") -> list[str]:
    """The paths of the keys the SDK's models kept as extras."""
    if isinstance(model, list):
        return [key for item in model for key in _undeclared(item, path)]
    if not isinstance(model, BaseModel):
        return []
    keys = [path + key for key in model.model_extra or {}]
    for name in type(model).model_fields:
        keys += _undeclared(getattr(model, name), f"{path}{name}.")
    return keys


async def _conversation(base_url: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    async with (
        openai.AsyncOpenAI(base_url=base_url, api_key="sk-test") as client,
        client.realtime.connect(model="gpt-realtime") as conn,
    ):
        talk = Conversation(conn)
        created = await talk.recv()
        result["created"] = created["session"]
        await conn.session.update(session={
            "type": "realtime", "tools": [WEATHER_TOOL],
            "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
        })  # fmt: skip
        result["updated"] = (await talk.until("session.updated"))[-1]["session"]

        # A voice turn: server VAD, transcription, then a function call.
        pcm = (
            silence(300)
            + synthesize_speech("What is the weather in Paris?")
            + silence(500)
        )
        for start in range(0, len(pcm), 4800):
            await conn.input_audio_buffer.append(
                audio=base64.b64encode(pcm[start : start + 4800]).decode()
            )
        turn = await talk.until("response.done")
        result["voice_turn"] = [e["type"] for e in turn]
        result["transcript"] = next(
            e["transcript"]
            for e in turn
            if e["type"] == "conversation.item.input_audio_transcription.completed"
        )
        call = next(
            e for e in turn if e["type"] == "response.function_call_arguments.done"
        )
        result["call"] = (call["name"], json.loads(call["arguments"]))
        await conn.conversation.item.create(
            item={
                "type": "function_call_output",
                "call_id": call["call_id"],
                "output": '{"sky": "clear"}',
            }
        )
        await talk.until("conversation.item.done")
        await conn.send(LIVEKIT_RESPONSE_CREATE)
        follow_up = await talk.until("response.done")
        result["follow_up_metadata"] = follow_up[-1]["response"]["metadata"]
        result["follow_up"] = "".join(
            e["delta"]
            for e in follow_up
            if e["type"] == "response.output_audio_transcript.delta"
        )
        audio = b"".join(
            base64.b64decode(e["delta"])
            for e in follow_up
            if e["type"] == "response.output_audio.delta"
        )
        result["audio_bytes"] = len(audio)
        item_id = next(
            e["item"]["id"]
            for e in follow_up
            if e["type"] == "response.output_item.done"
        )

        # Truncate what "was played", then read the item back with its audio.
        await conn.conversation.item.truncate(
            item_id=item_id, content_index=0, audio_end_ms=500
        )
        await talk.until("conversation.item.truncated")
        await conn.conversation.item.retrieve(item_id=item_id)
        retrieved = (await talk.until("conversation.item.retrieved"))[-1]
        result["retrieved_audio"] = len(
            base64.b64decode(retrieved["item"]["content"][0]["audio"])
        )

        # A text turn, text only, out of band.
        await conn.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "hello"}],
            }
        )
        await conn.response.create(
            response={
                "conversation": "none",
                "output_modalities": ["text"],
                "metadata": {"kind": "oob"},
            }
        )
        text_turn = await talk.until("response.done")
        result["text"] = next(
            e["text"] for e in text_turn if e["type"] == "response.output_text.done"
        )
        result["oob_conversation_id"] = text_turn[-1]["response"]["conversation_id"]

        # Cancel a slow response, and provoke errors.
        await conn.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "answer slowly"}],
            }
        )
        await conn.response.create()
        await talk.until("response.created")
        await conn.response.create(event_id="evt_second")
        error = (await talk.until("error"))[-1]["error"]
        result["busy_error"] = (error["code"], error["event_id"])
        await conn.response.cancel()
        result["cancelled"] = (await talk.until("response.done"))[-1]["response"][
            "status"
        ]
        await conn.send(
            {
                "type": "conversation.item.delete",
                "item_id": "item_nope",
                "event_id": "evt_del",
            }
        )
        error = (await talk.until("error"))[-1]["error"]
        result["delete_error"] = (error["code"], error["event_id"])
        result["types"] = talk.types
        result["events"] = talk.events
        result["raw_created"] = talk.raw[0]
        result["undeclared"] = talk.undeclared
        result["validated"] = talk.validated
    return result


async def _rest(base_url: str, call_id: str) -> dict[str, Any]:
    from openai.types.realtime import ClientSecretCreateResponse

    async with openai.AsyncOpenAI(
        base_url=base_url, api_key="sk-test", max_retries=0
    ) as client:
        secret = await client.realtime.client_secrets.create(
            expires_after={"anchor": "created_at", "seconds": 600},
            session={
                "type": "realtime",
                "model": "gpt-realtime",
                "instructions": "Hi.",
            },
        )
        ClientSecretCreateResponse.model_validate(secret.model_dump())
        await client.realtime.calls.accept(
            call_id, type="realtime", instructions="Answer the phone."
        )
        await client.realtime.calls.hangup(call_id)
    rejected = None
    async with openai.AsyncOpenAI(
        base_url=base_url, api_key="sk-wrong", max_retries=0
    ) as bad:
        try:
            async with bad.realtime.connect(model="gpt-realtime") as conn:
                await conn.recv_bytes()
        except Exception as exc:  # websockets' InvalidStatus
            response = getattr(exc, "response", None)
            rejected = getattr(response, "status_code", None)
    return {
        "secret": secret.value,
        "session": secret.session.model_dump(),
        "rejected": rejected,
    }


def _in_asyncio(coroutine_function: Any, *args: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coroutine_function(*args), timeout=45)

    return asyncio.run(bounded())


async def test_openai_sdk_holds_a_conversation() -> None:
    async with open_simulator(scenario=SCENARIO) as sim:
        result = await trio.to_thread.run_sync(
            functools.partial(_in_asyncio, _conversation, sim.base_url)
        )
    assert result["created"]["object"] == "realtime.session"
    assert [t["name"] for t in result["updated"]["tools"]] == ["get_weather"]
    assert result["voice_turn"][:3] == [
        "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped", "input_audio_buffer.committed",
    ]  # fmt: skip
    assert result["transcript"] == "What is the weather in Paris?"
    assert result["call"] == ("get_weather", {"city": "Paris"})
    assert result["follow_up"] == "It is sunny in Paris."
    assert result["audio_bytes"] == len(synthesize_speech("It is sunny in Paris."))
    assert result["retrieved_audio"] == 500 * 48
    assert result["text"] == "You said: hello"
    assert result["oob_conversation_id"] is None
    assert result["busy_error"] == (
        "conversation_already_has_active_response",
        "evt_second",
    )
    assert result["cancelled"] == "cancelled"
    assert result["delete_error"] == ("item_delete_invalid_item_id", "evt_del")
    assert result["validated"] == len(result["types"]) > 50
    # Everything a conversation uses came by, and validated.
    expected = {
        "session.created", "session.updated", "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed", "conversation.item.added", "conversation.item.done",
        "conversation.item.input_audio_transcription.delta", "conversation.item.input_audio_transcription.completed",
        "response.created", "rate_limits.updated", "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done", "response.done",
        "response.content_part.added", "response.output_audio_transcript.delta", "response.output_audio.delta",
        "response.output_audio.done", "response.output_audio_transcript.done", "response.content_part.done",
        "conversation.item.truncated", "conversation.item.retrieved", "response.output_text.delta",
        "response.output_text.done", "error",
    }  # fmt: skip
    assert expected <= set(result["types"])
    # LiveKit's response.create ("instructions": null) got a normal answer.
    assert result["follow_up_metadata"] == {
        "client_event_id": "response_create_5f0c8e1a9b2d"
    }
    # Beyond the SDK's types, only what the real server is known to add.
    assert result["undeclared"] == {
        (kind, key) for kind, keys in UNDECLARED.items() for key in keys
    }
    _assert_recorded_shapes(result["events"], result["raw_created"])


def _assert_recorded_shapes(events: list[dict[str, Any]], raw_created: bytes) -> None:
    """The shapes recorded real sessions show (issue 9, point 4)."""

    def of(*kinds: str) -> list[dict[str, Any]]:
        return [e for e in events if e["type"] in kinds]

    added = of("conversation.item.added", "conversation.item.done")
    assert len(added) >= 8
    assert all("object" not in e["item"] for e in added)
    retrieved = of(
        "conversation.item.retrieved",
        "response.output_item.added",
        "response.output_item.done",
    )
    assert all(e["item"]["object"] == "realtime.item" for e in retrieved)
    session = events[0]["session"]
    assert session["truncation"] == "auto"
    speed = session["audio"]["output"]["speed"]
    assert isinstance(speed, float) and speed == 1.0
    assert re.search(rb'"speed": ?1\.0[,}]', raw_created)
    done = of("response.done")
    assert len(done) == 4
    for event in done:
        details = event["response"]["usage"]["input_token_details"]
        assert details["cached_tokens_details"] == {
            "text_tokens": 0,
            "audio_tokens": 0,
            "image_tokens": 0,
        }
    deltas = of(
        "response.output_audio_transcript.delta",
        "conversation.item.input_audio_transcription.delta",
    )
    assert len(deltas) >= 10
    for delta in deltas:
        assert re.fullmatch(r"[A-Za-z0-9]+", delta["obfuscation"])
        assert (len(delta["delta"]) + len(delta["obfuscation"])) % 16 == 0


async def test_openai_sdk_rest_endpoints() -> None:
    async with open_simulator(api_keys={"sk-test"}) as sim:
        call_id = await sim.place_sip_call(None)
        result = await trio.to_thread.run_sync(
            functools.partial(_in_asyncio, _rest, sim.base_url, call_id)
        )
        assert result["secret"].startswith("ek_")
        assert result["session"]["instructions"] == "Hi."
        assert result["rejected"] == 401
        assert sim.calls[call_id].history == ["incoming", "accepted", "ended"]
        assert sim.calls[call_id].session == {
            "type": "realtime",
            "instructions": "Answer the phone.",
        }


#: Every type of server event the simulator sends.
SIMULATOR_EVENT_TYPES = {
    "session.created", "session.updated", "error", "rate_limits.updated",
    "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped", "input_audio_buffer.committed",
    "input_audio_buffer.cleared", "input_audio_buffer.timeout_triggered", "input_audio_buffer.dtmf_event_received",
    "output_audio_buffer.started", "output_audio_buffer.stopped", "output_audio_buffer.cleared",
    "conversation.item.added", "conversation.item.done", "conversation.item.retrieved",
    "conversation.item.truncated", "conversation.item.deleted",
    "conversation.item.input_audio_transcription.delta", "conversation.item.input_audio_transcription.completed",
    "response.created", "response.done", "response.output_item.added", "response.output_item.done",
    "response.content_part.added", "response.content_part.done", "response.output_text.delta",
    "response.output_text.done", "response.output_audio.delta", "response.output_audio.done",
    "response.output_audio_transcript.delta", "response.output_audio_transcript.done",
    "response.function_call_arguments.delta", "response.function_call_arguments.done",
}  # fmt: skip


def _every_kind_of_event() -> list[dict[str, Any]]:
    """Drive the sans-IO session through every kind of server event it sends."""
    scenario = Scenario(
        transcripts=["What is the weather in Paris?"],
        rules=[
            Rule(text="weather", steps=[CallTool(name="get_weather", arguments={"city": "Paris"})]),
            Rule(text="crash", steps=[Fail(message="The simulated model crashed.")]),
        ],
    )  # fmt: skip
    driver = SyncDriver(scenario=scenario)
    driver.session.state.sideband = True  # a call's session: output_audio_buffer.*
    driver.send({
        "type": "session.update",
        "session": {
            "type": "realtime", "tools": [WEATHER_TOOL], "include": ["item.input_audio_transcription.logprobs"],
            "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"},
                                "turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000}}},
        },
    })  # fmt: skip
    speech = synthesize_speech("What is the weather in Paris?")
    out = driver.append(silence(300) + speech + silence(500))
    (call,) = of_type(out, "response.function_call_arguments.done")
    driver.send({
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": call["call_id"], "output": "{}"},
    })  # fmt: skip
    out = driver.send({"type": "response.create"})
    item_id = of_type(out, "response.output_item.done")[0]["item"]["id"]
    driver.send({"type": "output_audio_buffer.clear"})
    driver.send({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 100})  # fmt: skip
    driver.send({"type": "conversation.item.retrieve", "item_id": item_id})
    driver.send({"type": "conversation.item.delete", "item_id": item_id})
    driver.send({"type": "input_audio_buffer.append", "audio": ""})
    driver.send({"type": "input_audio_buffer.clear"})
    driver.send(user_text("crash"))
    driver.send({"type": "response.create"})
    driver.send(user_text("hello"))
    driver.send({
        "type": "response.create",
        "response": {"conversation": "none", "output_modalities": ["text"], "max_output_tokens": 1, "metadata": {"k": "v"}},
    })  # fmt: skip
    driver.send(user_text("hi"))
    driver.send({"type": "response.create"})
    driver.append(silence(1000))
    driver.tick(60.0)  # idle_timeout_ms: timeout_triggered, commit, response
    driver._apply(driver.session.dtmf("5", 1_700_000_000))
    transcription = SimSession(
        session_settings(), ids=IdFactory(0), now=0.0, wall_time=0.0, transcription=True
    )
    created = [get_codec().dump(output.event) for output in transcription.start()]  # type: ignore[attr-defined]
    return driver.events + created


def test_every_kind_of_simulator_event_validates_strictly_with_the_sdk() -> None:
    sent = _every_kind_of_event()
    assert {event["type"] for event in sent} == SIMULATOR_EVENT_TYPES
    for event in sent:
        SERVER_EVENT.validate_json(json.dumps(event), strict=True)
    added = of_type(sent, "conversation.item.added") + of_type(
        sent, "conversation.item.done"
    )
    assert added and all("object" not in event["item"] for event in added)
