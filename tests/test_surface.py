"""The public API does not change: every name public before issue 10 is still there.

`PUBLIC` is frozen: the ``__all__`` of each public namespace at 2c08eaa, the
commit that moved the package into its layered folders (before issue 10).
New names may be added to a namespace; none of these may go. Each public
namespace's ``__all__`` is sorted, and every object it exports shows a
public module (the one ``__module__`` fix-up, ``realtime_trio._core.util``).
"""

from __future__ import annotations

import importlib

import pytest

PUBLIC: dict[str, list[str]] = {
    "realtime_trio": [
        "AudioSender",
        "CallEnded",
        "ClientEvent",
        "CloseReason",
        "ConnectTimeout",
        "ConnectionBroken",
        "ConnectionClosed",
        "ConnectionRejected",
        "ConnectionStatistics",
        "EventCodec",
        "HandshakeError",
        "InvalidEvent",
        "LocalProtocolError",
        "MessageRecorder",
        "ProtocolError",
        "RealtimeConnection",
        "RealtimeError",
        "RealtimeInternalError",
        "ReceivedEvent",
        "Record",
        "RemoteProtocolError",
        "ServerError",
        "ServerEvent",
        "SessionConfig",
        "UNSET",
        "UnknownEvent",
        "UnsetType",
        "__version__",
        "audio",
        "calls",
        "connect_realtime",
        "dump_event",
        "encode_event",
        "events",
        "open_realtime",
        "parse_event",
        "webhooks",
    ],
    "realtime_trio.events": [
        "AnySessionConfig",
        "AudioConfig",
        "AudioFormatConfig",
        "AudioInput",
        "AudioOutput",
        "AudioPCM",
        "AudioPCMA",
        "AudioPCMU",
        "AudioPart",
        "AudioTranscription",
        "CachedTokenDetails",
        "ClientEvent",
        "ContentPart",
        "Conversation",
        "ConversationCreated",
        "ConversationItem",
        "ConversationItemAdded",
        "ConversationItemCreate",
        "ConversationItemCreated",
        "ConversationItemDelete",
        "ConversationItemDeleted",
        "ConversationItemDone",
        "ConversationItemInputAudioTranscriptionCompleted",
        "ConversationItemInputAudioTranscriptionDelta",
        "ConversationItemInputAudioTranscriptionFailed",
        "ConversationItemInputAudioTranscriptionSegment",
        "ConversationItemRetrieve",
        "ConversationItemRetrieved",
        "ConversationItemTruncate",
        "ConversationItemTruncated",
        "EVENT_CLASSES",
        "ErrorDetail",
        "ErrorEvent",
        "FunctionCallItem",
        "FunctionCallOutputItem",
        "FunctionTool",
        "InputAudio",
        "InputAudioBufferAppend",
        "InputAudioBufferClear",
        "InputAudioBufferCleared",
        "InputAudioBufferCommit",
        "InputAudioBufferCommitted",
        "InputAudioBufferDtmfEventReceived",
        "InputAudioBufferSpeechStarted",
        "InputAudioBufferSpeechStopped",
        "InputAudioBufferTimeoutTriggered",
        "InputImage",
        "InputText",
        "InputTokenDetails",
        "InvalidEvent",
        "ItemReference",
        "LogProb",
        "McpApprovalRequestItem",
        "McpApprovalResponseItem",
        "McpCallItem",
        "McpError",
        "McpHttpError",
        "McpListToolsCompleted",
        "McpListToolsFailed",
        "McpListToolsInProgress",
        "McpListToolsItem",
        "McpListedTool",
        "McpProtocolError",
        "McpRequireApproval",
        "McpTool",
        "McpToolExecutionError",
        "McpToolFilter",
        "MessageItem",
        "NoiseReduction",
        "OutputAudio",
        "OutputAudioBufferClear",
        "OutputAudioBufferCleared",
        "OutputAudioBufferStarted",
        "OutputAudioBufferStopped",
        "OutputText",
        "OutputTokenDetails",
        "Prompt",
        "RateLimit",
        "RateLimitsUpdated",
        "Reasoning",
        "ReceivedEvent",
        "Record",
        "Response",
        "ResponseAudio",
        "ResponseAudioOutput",
        "ResponseCancel",
        "ResponseContentPartAdded",
        "ResponseContentPartDone",
        "ResponseCreate",
        "ResponseCreateParams",
        "ResponseCreated",
        "ResponseDone",
        "ResponseFunctionCallArgumentsDelta",
        "ResponseFunctionCallArgumentsDone",
        "ResponseMcpCallArgumentsDelta",
        "ResponseMcpCallArgumentsDone",
        "ResponseMcpCallCompleted",
        "ResponseMcpCallFailed",
        "ResponseMcpCallInProgress",
        "ResponseOutputAudioDelta",
        "ResponseOutputAudioDone",
        "ResponseOutputAudioTranscriptDelta",
        "ResponseOutputAudioTranscriptDone",
        "ResponseOutputItemAdded",
        "ResponseOutputItemDone",
        "ResponseOutputTextDelta",
        "ResponseOutputTextDone",
        "SemanticVad",
        "ServerEvent",
        "ServerVad",
        "SessionConfig",
        "SessionCreated",
        "SessionUpdate",
        "SessionUpdated",
        "StatusDetails",
        "StatusError",
        "TextPart",
        "TokenLimits",
        "Tool",
        "ToolChoice",
        "ToolChoiceFunction",
        "ToolChoiceMcp",
        "TracingConfig",
        "TranscriptDurationUsage",
        "TranscriptTokenDetails",
        "TranscriptTokenUsage",
        "TranscriptUsage",
        "TranscriptionError",
        "TranscriptionLanguage",
        "TranscriptionSessionConfig",
        "Truncation",
        "TruncationRetentionRatio",
        "TurnDetection",
        "UNSET",
        "UnknownEvent",
        "UnknownObject",
        "UnsetType",
        "Usage",
        "VoiceId",
    ],
    "realtime_trio.audio": [
        "AudioChunker",
        "AudioFormat",
        "AudioFormatError",
        "BYTES_PER_SAMPLE",
        "InputAudioPipeline",
        "OutputAudioDecoder",
        "PCM16_24K",
        "PCMA",
        "PCMU",
        "Resampler",
        "SAMPLE_RATE",
        "SUPPORTED_PCM_RATES",
        "WavAudio",
        "WavWriter",
        "alaw_to_pcm16",
        "bytes_for_duration",
        "decode_audio",
        "duration_ms",
        "encode_audio",
        "frame_bytes",
        "pcm16_to_alaw",
        "pcm16_to_ulaw",
        "read_wav",
        "ulaw_to_pcm16",
        "write_wav",
    ],
    "realtime_trio.webhooks": [
        "AsyncWebhookIdStore",
        "BatchCancelled",
        "BatchCompleted",
        "BatchExpired",
        "BatchFailed",
        "DuplicateWebhookError",
        "EvalRunCanceled",
        "EvalRunFailed",
        "EvalRunSucceeded",
        "FineTuningJobCancelled",
        "FineTuningJobFailed",
        "FineTuningJobSucceeded",
        "InvalidSecretError",
        "LiveCallIncoming",
        "LiveCallIncomingData",
        "MalformedHeaderError",
        "MalformedPayloadError",
        "MemoryWebhookIdStore",
        "MissingHeaderError",
        "RealtimeCallIncoming",
        "RealtimeCallIncomingData",
        "ResponseCancelled",
        "ResponseCompleted",
        "ResponseFailed",
        "ResponseIncomplete",
        "SignatureMismatchError",
        "SipHeader",
        "TimestampOutOfToleranceError",
        "UnknownWebhookEvent",
        "WebhookEvent",
        "WebhookEventData",
        "WebhookIdStore",
        "WebhookVerificationError",
        "dump_webhook_event",
        "parse_webhook_event",
        "sign_webhook",
        "verify_webhook",
        "verify_webhook_signature",
    ],
    "realtime_trio.calls": [
        "APIConnectionError",
        "APIError",
        "Accept",
        "CallHandler",
        "CallNotFoundError",
        "CallOutcome",
        "CallsClient",
        "ClientSecret",
        "CreatedCall",
        "Decider",
        "Decision",
        "ExpiresAfter",
        "IncomingCall",
        "Reject",
        "SipCallServer",
        "SipServerOptions",
        "SipServerStatistics",
        "interrupt_sideband",
        "open_sip_server",
        "serve_sip",
    ],
    "realtime_trio.scripted": [
        "ClosedRecord",
        "ErrorRecord",
        "ExpectationFailed",
        "ReplyRecord",
        "ScriptedError",
        "Talk",
        "Target",
        "TargetUnavailable",
        "ToolCallRecord",
        "TurnRecord",
    ],
    "realtime_trio.testing": [
        "CallTool",
        "CloseConnection",
        "ConnectionFault",
        "ConnectionRecord",
        "Delay",
        "DropConnection",
        "Fail",
        "RealtimeSimulator",
        "RecordedEvent",
        "Recorder",
        "Replay",
        "Rule",
        "Say",
        "Scenario",
        "ScenarioError",
        "SimCall",
        "load_recording",
        "open_simulator",
        "silence",
        "synthesize_speech",
        "tone",
    ],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_every_public_name_is_still_importable(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name in PUBLIC[module_name] if not hasattr(module, name)]
    assert missing == []
    for name in PUBLIC[module_name]:
        exec(f"from {module_name} import {name}", {})


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_all_is_sorted_and_keeps_every_public_name(module_name: str) -> None:
    exported = importlib.import_module(module_name).__all__
    assert list(exported) == sorted(exported)
    assert len(set(exported)) == len(exported)
    assert sorted(set(PUBLIC[module_name]) - set(exported)) == []


@pytest.mark.parametrize("module_name", ["realtime_trio", "realtime_trio.events"])
def test_invalid_and_received_events_are_public(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert {"InvalidEvent", "ReceivedEvent"} <= set(module.__all__)
    assert module.InvalidEvent is importlib.import_module("realtime_trio").InvalidEvent


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_exported_objects_show_a_public_module(module_name: str) -> None:
    module = importlib.import_module(module_name)
    private = []
    for name in module.__all__:
        obj = getattr(module, name)
        home = getattr(obj, "__module__", None)
        if (
            hasattr(obj, "__qualname__")
            and isinstance(home, str)
            and home.startswith("realtime_trio")
            and any(part.startswith("_") for part in home.split("."))
        ):
            private.append(f"{name}: {home}")
    assert private == []


#: Issue 14 (turn metrics, ``realtime-trio bench``): names fixed since, that may not go.
TURN_METRICS = [
    "ConversationMetrics",
    "MetricSummary",
    "MetricsTracker",
    "TurnMetrics",
    "summarize_turns",
]
BENCH_FLAGS = [
    "--turns",
    "--turn-detection",
    "--json",
    "--jsonl",
    "--plot",
    "--concurrency",
    "--repeat",
    "--url",
]


def test_turn_metrics_and_bench_flags_are_pinned() -> None:
    import realtime_trio
    from realtime_trio._cli.main import build_parser

    assert set(TURN_METRICS) <= set(realtime_trio.__all__)
    assert realtime_trio.TurnMetrics.__module__ == "realtime_trio"
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    flags = {
        flag for action in commands["bench"]._actions for flag in action.option_strings
    }
    assert set(BENCH_FLAGS) <= flags
    detection = next(
        a for a in commands["bench"]._actions if "--turn-detection" in a.option_strings
    )
    assert list(detection.choices) == ["server_vad", "semantic_vad", "manual"]


#: Issue 15 (several SIP instances sharing Redis): names fixed since, that may not go.
ISSUE_15: dict[str, list[str]] = {
    "realtime_trio.webhooks": ["WebhookStoreError"],
}
#: Loaded when first asked for (they need an extra), so left out of ``__all__``.
ISSUE_15_LAZY: dict[str, list[str]] = {
    "realtime_trio.webhooks": ["RedisWebhookIdStore"],
}


@pytest.mark.parametrize("module_name", sorted(ISSUE_15))
def test_issue_15_names_stay(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert sorted(set(ISSUE_15[module_name]) - set(module.__all__)) == []
    for name in ISSUE_15_LAZY.get(module_name, []):
        assert name not in module.__all__ and name in dir(module)
        assert getattr(module, name).__module__ == module_name
    from realtime_trio.calls import CallOutcome, SipServerStatistics

    assert CallOutcome("handed_over") is CallOutcome.HANDED_OVER
    assert {"calls_taken_over", "calls_handed_over", "store_errors"} <= set(
        SipServerStatistics.__annotations__
    )


def test_the_lazy_package_exports_exactly_its_all() -> None:
    """``realtime_trio/__init__`` names the API; ``realtime_trio._exports`` imports it on first use."""
    import realtime_trio
    from realtime_trio import _exports

    assert set(_exports.EXPORTED) == set(realtime_trio.__all__) - {"calls"}
    for name in realtime_trio.__all__:
        assert getattr(realtime_trio, name) is not None
    assert realtime_trio.ConnectionBroken.__module__ == "realtime_trio"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        realtime_trio.nope  # noqa: B018
