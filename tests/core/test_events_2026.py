"""The 2026 additions to the protocol, one golden payload per field.

Each payload is first validated by the official SDK's types (pydantic, in
strict mode), then parsed by realtime_trio in strict mode, which refuses
unknown fields: so a field that passes is declared in our records, not kept
as an extra. The dump must give the payload back exactly.

Two fields are not in the pinned SDK (openai 3.57.0) yet: ``phase`` on
message items and ``reasoning_tokens`` in the output token details. Its
models accept unknown keys, so for those the SDK check covers the rest of
the payload only; `_undeclared` names them, so that every other key is
known to be declared by the SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from typing import Any

import pydantic
import pytest
from openai.types.realtime.call_accept_params import CallAcceptParams
from openai.types.realtime.conversation_item_create_event import (
    ConversationItemCreateEvent,
)
from openai.types.realtime.conversation_item_input_audio_transcription_completed_event import (
    ConversationItemInputAudioTranscriptionCompletedEvent,
)
from openai.types.realtime.response_create_event import ResponseCreateEvent
from openai.types.realtime.response_done_event import ResponseDoneEvent
from openai.types.realtime.response_output_item_done_event import (
    ResponseOutputItemDoneEvent,
)
from openai.types.realtime.session_update_event import SessionUpdateEvent
from openai.types.webhooks.live_call_incoming_webhook_event import (
    LiveCallIncomingWebhookEvent,
)

from realtime_trio import SessionConfig, dump_event, events, parse_event
from realtime_trio._core.serde import get_codec
from realtime_trio.webhooks import (
    LiveCallIncoming,
    dump_webhook_event,
    parse_webhook_event,
)

EFFORTS = ["minimal", "low", "medium", "high", "xhigh"]
MODELS = ["gpt-realtime-2", "gpt-realtime-2.1", "gpt-realtime-2.1-mini"]


def _undeclared(model: pydantic.BaseModel, path: str = "") -> set[str]:
    """The keys an SDK model accepted without declaring them (dotted paths)."""
    found = {f"{path}{key}" for key in model.model_extra or {}}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, pydantic.BaseModel):
            found |= _undeclared(value, f"{path}{name}.")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, pydantic.BaseModel):
                    found |= _undeclared(item, f"{path}{name}[{index}].")
    return found


def _golden_event(
    sdk_model: type[pydantic.BaseModel],
    payload: dict[str, Any],
    *,
    not_in_sdk: AbstractSet[str] = frozenset(),
) -> Any:
    """Validate ``payload`` with the SDK, then round-trip it strictly; return ours."""
    validated = sdk_model.model_validate(payload, strict=True)
    assert _undeclared(validated) == not_in_sdk
    event = parse_event(payload, strict=True)
    assert dump_event(event) == payload
    assert parse_event(payload) == event
    return event


def _session_update(**session: Any) -> dict[str, Any]:
    return {"type": "session.update", "session": {"type": "realtime", **session}}


def _response_create(**response: Any) -> dict[str, Any]:
    return {"type": "response.create", "response": response}


# --- reasoning and parallel tool calls ----------------------------------------


@pytest.mark.parametrize("effort", EFFORTS)
def test_reasoning_effort_on_the_session(effort: str) -> None:
    event = _golden_event(
        SessionUpdateEvent, _session_update(reasoning={"effort": effort})
    )
    assert event.session.reasoning == events.Reasoning(effort=effort)


@pytest.mark.parametrize("effort", EFFORTS)
def test_reasoning_effort_on_response_create(effort: str) -> None:
    event = _golden_event(
        ResponseCreateEvent, _response_create(reasoning={"effort": effort})
    )
    assert event.response.reasoning == events.Reasoning(effort=effort)


@pytest.mark.parametrize("parallel", [True, False])
def test_parallel_tool_calls(parallel: bool) -> None:
    event = _golden_event(
        SessionUpdateEvent, _session_update(parallel_tool_calls=parallel)
    )
    assert event.session.parallel_tool_calls is parallel
    event = _golden_event(
        ResponseCreateEvent, _response_create(parallel_tool_calls=parallel)
    )
    assert event.response.parallel_tool_calls is parallel


@pytest.mark.parametrize("effort", EFFORTS)
def test_reasoning_and_parallel_tool_calls_on_call_accept(effort: str) -> None:
    # The body of POST /v1/realtime/calls/{call_id}/accept is a SessionConfig.
    session = SessionConfig(
        model="gpt-realtime-2",
        reasoning=events.Reasoning(effort=effort),
        parallel_tool_calls=True,
    )
    body = get_codec().dump(session)
    assert body == {
        "type": "realtime",
        "model": "gpt-realtime-2",
        "reasoning": {"effort": effort},
        "parallel_tool_calls": True,
    }
    pydantic.TypeAdapter(CallAcceptParams).validate_python(body, strict=True)
    assert get_codec(strict=True).structure(body, SessionConfig) == session


# --- models --------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_new_realtime_models(model: str) -> None:
    event = _golden_event(SessionUpdateEvent, _session_update(model=model))
    assert event.session.model == model


# --- input transcription -------------------------------------------------------


@pytest.mark.parametrize(
    "transcription",
    [
        {"model": "gpt-realtime-whisper", "delay": "low"},
        {"model": "gpt-realtime-whisper", "delay": "xhigh"},
        {"model": "gpt-transcribe", "languages": ["en", "de"], "keywords": ["trio"]},
        {"model": "gpt-live-transcribe", "languages": ["fr"], "keywords": ["SIP"]},
    ],
    ids=lambda t: f"{t['model']}-{'-'.join(sorted(t))}",
)
def test_input_transcription(transcription: dict[str, Any]) -> None:
    payload = _session_update(audio={"input": {"transcription": transcription}})
    event = _golden_event(SessionUpdateEvent, payload)
    record = event.session.audio.input.transcription
    for key, value in transcription.items():
        assert getattr(record, key) == (
            tuple(value) if isinstance(value, list) else value
        )


def test_detected_languages_of_a_transcription() -> None:
    payload = {
        "type": "conversation.item.input_audio_transcription.completed",
        "event_id": "event_1",
        "item_id": "item_1",
        "content_index": 0,
        "transcript": "Bonjour, hello.",
        "usage": {"type": "duration", "seconds": 1.5},
        "languages": [{"code": "fr"}, {"code": "en"}],
    }
    event = _golden_event(
        ConversationItemInputAudioTranscriptionCompletedEvent, payload
    )
    assert event.languages == (
        events.TranscriptionLanguage(code="fr"),
        events.TranscriptionLanguage(code="en"),
    )


# --- usage and items -------------------------------------------------------------


def test_reasoning_tokens_in_usage() -> None:
    payload = {
        "type": "response.done",
        "event_id": "event_2",
        "response": {
            "id": "resp_1",
            "object": "realtime.response",
            "status": "completed",
            "usage": {
                "total_tokens": 60,
                "input_tokens": 20,
                "output_tokens": 40,
                "output_token_details": {
                    "text_tokens": 10,
                    "audio_tokens": 18,
                    "reasoning_tokens": 12,
                },
            },
        },
    }
    event = _golden_event(
        ResponseDoneEvent,
        payload,
        not_in_sdk={"response.usage.output_token_details.reasoning_tokens"},
    )
    assert event.response.usage.output_token_details.reasoning_tokens == 12


@pytest.mark.parametrize("phase", ["commentary", "final_answer"])
def test_phase_of_message_items(phase: str) -> None:
    item = {
        "id": "item_2",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "phase": phase,
        "content": [{"type": "output_audio", "transcript": "Let me check."}],
    }
    done = {
        "type": "response.output_item.done",
        "event_id": "event_3",
        "response_id": "resp_2",
        "output_index": 0,
        "item": item,
    }
    event = _golden_event(ResponseOutputItemDoneEvent, done, not_in_sdk={"item.phase"})
    assert event.item.phase == phase
    # Sent back as it came, as the Responses API asks for reasoning models.
    create = {"type": "conversation.item.create", "item": item}
    event = _golden_event(
        ConversationItemCreateEvent, create, not_in_sdk={"item.phase"}
    )
    assert event.item.phase == phase


# --- MCP -------------------------------------------------------------------------

MCP_TOOL = {
    "type": "mcp",
    "server_label": "crm",
    "tunnel_id": "tunnel_123",
    "allowed_callers": ["direct", "programmatic"],
    "defer_loading": True,
}


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda t: _session_update(tools=[t]), id="session"),
        pytest.param(lambda t: _response_create(tools=[t]), id="response.create"),
    ],
)
def test_mcp_tunnel_allowed_callers_and_deferred_loading(
    wrap: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    payload = wrap(MCP_TOOL)
    sdk = (
        SessionUpdateEvent
        if payload["type"] == "session.update"
        else ResponseCreateEvent
    )
    event = _golden_event(sdk, payload)
    params = event.session if payload["type"] == "session.update" else event.response
    (tool,) = params.tools
    assert tool == events.McpTool(
        server_label="crm",
        tunnel_id="tunnel_123",
        allowed_callers=("direct", "programmatic"),
        defer_loading=True,
    )


# --- null, as real peers send it -------------------------------------------------


def test_response_done_with_null_audio() -> None:
    # Seen from the server: "audio": null in a response.done.
    payload = {
        "type": "response.done",
        "event_id": "event_4",
        "response": {"id": "resp_3", "status": "completed", "audio": None},
    }
    event = _golden_event(ResponseDoneEvent, payload)
    assert event.response.audio is None
    assert dump_event(parse_event(payload)) == payload  # lenient mode too


def test_response_create_with_null_instructions() -> None:
    # LiveKit's OpenAI plugin sends this after every tool call.
    payload = {
        "type": "response.create",
        "event_id": "response_create_1",
        "response": {"instructions": None, "metadata": {"client_event_id": "x"}},
    }
    event = _golden_event(ResponseCreateEvent, payload)
    assert event.response.instructions is None
    assert dump_event(parse_event(payload)) == payload  # lenient mode too


# --- webhooks --------------------------------------------------------------------


def test_live_call_incoming_webhook() -> None:
    payload = {
        "id": "evt_1",
        "object": "event",
        "type": "live.call.incoming",
        "created_at": 1780000000,
        "data": {
            "session_id": "live_abc",
            "sip_headers": [{"name": "From", "value": "<sip:+15550100@example.com>"}],
            "sip_media_security": "srtp",
        },
    }
    validated = LiveCallIncomingWebhookEvent.model_validate(payload, strict=True)
    assert _undeclared(validated) == set()
    get_codec(strict=True).structure(payload, LiveCallIncoming)
    event = parse_webhook_event(payload)
    assert isinstance(event, LiveCallIncoming)
    assert event.data.session_id == "live_abc"
    assert dump_webhook_event(event) == payload
