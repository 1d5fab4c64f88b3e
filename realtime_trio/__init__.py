"""realtime_trio: a Trio-native, structured-concurrency client for the OpenAI Realtime API.

Public namespaces: `realtime_trio` (this module), `realtime_trio.events` (every
event record), `realtime_trio.audio` (sans-IO audio helpers),
`realtime_trio.webhooks` (verifying webhooks), `realtime_trio.calls` (call
control over REST and the SIP call server) and `realtime_trio.testing` (the
local simulator).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import audio as audio
from . import events as events
from . import webhooks as webhooks
from ._agent.conversation import ConversationStatistics as ConversationStatistics
from ._agent.conversation import RealtimeConversation as RealtimeConversation
from ._agent.conversation import open_conversation as open_conversation
from ._agent.records import Interruption as Interruption
from ._agent.records import ItemState as ItemState
from ._agent.records import ResponseState as ResponseState
from ._agent.records import TranscriptionTotals as TranscriptionTotals
from ._agent.records import UsageTotals as UsageTotals
from ._agent.state import ConversationState as ConversationState
from ._agent.tools import ToolFunction as ToolFunction
from ._agent.tools import function_tool as function_tool
from ._agent.tracker import AudioSink as AudioSink
from ._agent.tracker import PlaybackStatistics as PlaybackStatistics
from ._agent.tracker import PlaybackTracker as PlaybackTracker
from ._client.audio_input import AudioSender as AudioSender
from ._client.connection import ConnectionStatistics as ConnectionStatistics
from ._client.connection import RealtimeConnection as RealtimeConnection
from ._client.exceptions import CallEnded as CallEnded
from ._client.exceptions import CloseReason as CloseReason
from ._client.exceptions import ConnectionBroken as ConnectionBroken
from ._client.exceptions import ConnectionClosed as ConnectionClosed
from ._client.exceptions import ConnectionRejected as ConnectionRejected
from ._client.exceptions import ConnectTimeout as ConnectTimeout
from ._client.exceptions import HandshakeError as HandshakeError
from ._client.exceptions import ServerError as ServerError
from ._client.open import connect_realtime as connect_realtime
from ._client.open import open_realtime as open_realtime
from ._client.options import MessageRecorder as MessageRecorder
from ._core.client_events import ClientEvent as ClientEvent
from ._core.errors import LocalProtocolError as LocalProtocolError
from ._core.errors import ProtocolError as ProtocolError
from ._core.errors import RealtimeError as RealtimeError
from ._core.errors import RealtimeInternalError as RealtimeInternalError
from ._core.errors import RemoteProtocolError as RemoteProtocolError
from ._core.headers import InvalidHeaderError as InvalidHeaderError
from ._core.invalid import InvalidEvent as InvalidEvent
from ._core.invalid import ReceivedEvent as ReceivedEvent
from ._core.record import Record as Record
from ._core.sentinel import UNSET as UNSET
from ._core.sentinel import UnsetType as UnsetType
from ._core.serde import EventCodec as EventCodec
from ._core.serde import dump_event as dump_event
from ._core.serde import encode_event as encode_event
from ._core.serde import parse_event as parse_event
from ._core.server_events import ServerEvent as ServerEvent
from ._core.server_events import UnknownEvent as UnknownEvent
from ._core.session_models import SessionConfig as SessionConfig
from ._core.util import fixup_module_metadata as _fixup_module_metadata
from ._version import __version__ as __version__

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
    "ConversationState",
    "ConversationStatistics",
    "EventCodec",
    "HandshakeError",
    "Interruption",
    "InvalidEvent",
    "InvalidHeaderError",
    "ItemState",
    "LocalProtocolError",
    "MessageRecorder",
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
    "webhooks",
]


if TYPE_CHECKING:
    from . import calls as calls


def __getattr__(name: str) -> Any:
    # `calls` brings httpx and hypercorn (about 0.4 s of imports), which a
    # WebSocket client does not need: it is imported when first asked for.
    if name == "calls":
        import importlib

        return importlib.import_module(".calls", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_fixup_module_metadata(__name__, globals(), [n for n in __all__ if n != "calls"])
del _fixup_module_metadata
