"""Everything `realtime_trio` exports, imported at once (on first use).

`realtime_trio/__init__.py` names the public API in ``__all__`` and imports
this module the first time one of those names is asked for, so that
``import realtime_trio`` alone (as pytest does to load the
``realtime_trio.pytest_plugin`` entry point in every run) costs almost
nothing. Keep the two in step: tests/test_surface.py checks they agree.
"""

from __future__ import annotations

from . import audio as audio
from . import events as events
from . import webhooks as webhooks
from ._agent.conversation import ConversationStatistics as ConversationStatistics
from ._agent.conversation import RealtimeConversation as RealtimeConversation
from ._agent.conversation import open_conversation as open_conversation
from ._agent.conversation_metrics import ConversationMetrics as ConversationMetrics
from ._agent.metrics import TurnMetrics as TurnMetrics
from ._agent.metrics_summary import MetricSummary as MetricSummary
from ._agent.metrics_summary import summarize_turns as summarize_turns
from ._agent.metrics_tracker import MetricsTracker as MetricsTracker
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
from ._client.exceptions import InvalidOptionError as InvalidOptionError
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

#: The names this module provides to `realtime_trio` (``calls`` is imported
#: only when asked for: it brings httpx and hypercorn). Identifiers only: under
#: pytest, whose assertion rewriting covers the modules of a plugin's
#: distribution, the module also holds ``@py_builtins``.
EXPORTED = (
    *(
        n
        for n in dir()
        if n.isidentifier() and not n.startswith("_") and n != "annotations"
    ),
    "__version__",
)

_fixup_module_metadata(
    "realtime_trio", globals(), [n for n in EXPORTED if n != "__version__"]
)
del _fixup_module_metadata
