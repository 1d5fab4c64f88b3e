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
from ._audio_input import AudioSender as AudioSender
from ._client_events import ClientEvent as ClientEvent
from ._connection import ConnectionStatistics as ConnectionStatistics
from ._connection import MessageRecorder as MessageRecorder
from ._connection import RealtimeConnection as RealtimeConnection
from ._errors import LocalProtocolError as LocalProtocolError
from ._errors import ProtocolError as ProtocolError
from ._errors import RealtimeError as RealtimeError
from ._errors import RealtimeInternalError as RealtimeInternalError
from ._errors import RemoteProtocolError as RemoteProtocolError
from ._exceptions import CallEnded as CallEnded
from ._exceptions import CloseReason as CloseReason
from ._exceptions import ConnectionBroken as ConnectionBroken
from ._exceptions import ConnectionClosed as ConnectionClosed
from ._exceptions import ConnectionRejected as ConnectionRejected
from ._exceptions import ConnectTimeout as ConnectTimeout
from ._exceptions import HandshakeError as HandshakeError
from ._exceptions import ServerError as ServerError
from ._invalid import InvalidEvent as InvalidEvent
from ._invalid import ReceivedEvent as ReceivedEvent
from ._open import connect_realtime as connect_realtime
from ._open import open_realtime as open_realtime
from ._record import Record as Record
from ._sentinel import UNSET as UNSET
from ._sentinel import UnsetType as UnsetType
from ._serde import EventCodec as EventCodec
from ._serde import dump_event as dump_event
from ._serde import encode_event as encode_event
from ._serde import parse_event as parse_event
from ._server_events import ServerEvent as ServerEvent
from ._server_events import UnknownEvent as UnknownEvent
from ._session_models import SessionConfig as SessionConfig
from ._util import fixup_module_metadata as _fixup_module_metadata
from ._version import __version__ as __version__

__all__ = [
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
