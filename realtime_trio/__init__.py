"""realtime_trio: a Trio-native, structured-concurrency client for the OpenAI Realtime API.

Public namespaces: `realtime_trio` (this module), `realtime_trio.events` (every
event record), `realtime_trio.audio` (sans-IO audio helpers),
`realtime_trio.webhooks` (verifying webhooks), `realtime_trio.calls` (call
control over REST and the SIP call server) and `realtime_trio.testing` (the
local simulator).
"""

# ruff: noqa: F405 (the names of __all__ come from ._exports, on first use)

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

if TYPE_CHECKING:
    from . import calls as calls
    from ._exports import *  # noqa: F403 (the names of __all__)

__all__ = [
    "AudioSender",
    "AudioSink",
    "CallEnded",
    "ClientEvent",
    "CloseReason",
    "ConnectTimeout",
    "ConnectionBroken",
    "ConnectionClosed",
    "ConnectionRejected",
    "ConnectionStatistics",
    "ConversationMetrics",
    "ConversationState",
    "ConversationStatistics",
    "EventCodec",
    "HandshakeError",
    "Interruption",
    "InvalidEvent",
    "InvalidHeaderError",
    "InvalidOptionError",
    "ItemState",
    "LocalProtocolError",
    "MessageRecorder",
    "MetricSummary",
    "MetricsTracker",
    "PlaybackStatistics",
    "PlaybackTracker",
    "ProtocolError",
    "RealtimeConnection",
    "RealtimeConversation",
    "RealtimeError",
    "RealtimeInternalError",
    "ReceivedEvent",
    "Record",
    "RemoteProtocolError",
    "ResponseState",
    "ServerError",
    "ServerEvent",
    "SessionConfig",
    "ToolFunction",
    "TranscriptionTotals",
    "TurnMetrics",
    "UNSET",
    "UnknownEvent",
    "UnsetType",
    "UsageTotals",
    "__version__",
    "audio",
    "calls",
    "connect_realtime",
    "dump_event",
    "encode_event",
    "events",
    "function_tool",
    "open_conversation",
    "open_realtime",
    "parse_event",
    "summarize_turns",
    "webhooks",
]


def __getattr__(name: str) -> Any:
    # Nothing but the version is imported with the package: the first public
    # name asked for imports them all (about 0.4 s: trio, numpy, the event
    # records), so loading the pytest plugin or ``realtime_trio._version``
    # costs nothing. `calls` brings httpx and hypercorn, which a WebSocket
    # client does not need: it is imported only when asked for.
    import importlib

    if name == "calls":
        return importlib.import_module(".calls", __name__)
    if name in _LAZY:
        exports = importlib.import_module("._exports", __name__)
        namespace = globals()
        for exported in exports.EXPORTED:
            namespace.setdefault(exported, getattr(exports, exported))
        return namespace[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


_LAZY = frozenset(__all__) - {"calls", "__version__"}
