"""Every Realtime event and the objects nested in them, as frozen attrs records.

Class names are the CamelCase of the wire ``type`` (``session.update`` is
`SessionUpdate`, ``response.output_audio.delta`` is `ResponseOutputAudioDelta`),
except ``error``, which is `ErrorEvent`. Field names are the wire names.
Optional fields default to `UNSET` (left out of the JSON); ``None`` is an
explicit JSON ``null``. Events of types this version does not know, including
the retired beta names such as ``response.audio.delta``, parse as
`UnknownEvent`. A connection delivers a server message that is not a valid
event as `InvalidEvent`; `ReceivedEvent` is what it returns: a `ServerEvent`,
an `UnknownEvent` or an `InvalidEvent`.

Dispatch with ``match``::

    match event:
        case events.ResponseOutputAudioDelta(delta=b64):
            play(decode_audio(b64))
        case events.ResponseDone(response=response):
            print(response.status)
"""

from __future__ import annotations

import attrs

from ._core.client_events import ClientEvent as ClientEvent
from ._core.client_events import ConversationItemCreate as ConversationItemCreate
from ._core.client_events import ConversationItemDelete as ConversationItemDelete
from ._core.client_events import ConversationItemRetrieve as ConversationItemRetrieve
from ._core.client_events import ConversationItemTruncate as ConversationItemTruncate
from ._core.client_events import InputAudioBufferAppend as InputAudioBufferAppend
from ._core.client_events import InputAudioBufferClear as InputAudioBufferClear
from ._core.client_events import InputAudioBufferCommit as InputAudioBufferCommit
from ._core.client_events import OutputAudioBufferClear as OutputAudioBufferClear
from ._core.client_events import ResponseCancel as ResponseCancel
from ._core.client_events import ResponseCreate as ResponseCreate
from ._core.client_events import SessionUpdate as SessionUpdate
from ._core.invalid import InvalidEvent as InvalidEvent
from ._core.invalid import ReceivedEvent as ReceivedEvent
from ._core.item_models import AudioPart as AudioPart
from ._core.item_models import ContentPart as ContentPart
from ._core.item_models import ConversationItem as ConversationItem
from ._core.item_models import FunctionCallItem as FunctionCallItem
from ._core.item_models import FunctionCallOutputItem as FunctionCallOutputItem
from ._core.item_models import InputAudio as InputAudio
from ._core.item_models import InputImage as InputImage
from ._core.item_models import InputText as InputText
from ._core.item_models import ItemReference as ItemReference
from ._core.item_models import McpApprovalRequestItem as McpApprovalRequestItem
from ._core.item_models import McpApprovalResponseItem as McpApprovalResponseItem
from ._core.item_models import McpCallItem as McpCallItem
from ._core.item_models import McpError as McpError
from ._core.item_models import McpHttpError as McpHttpError
from ._core.item_models import McpListedTool as McpListedTool
from ._core.item_models import McpListToolsItem as McpListToolsItem
from ._core.item_models import McpProtocolError as McpProtocolError
from ._core.item_models import McpToolExecutionError as McpToolExecutionError
from ._core.item_models import MessageItem as MessageItem
from ._core.item_models import OutputAudio as OutputAudio
from ._core.item_models import OutputText as OutputText
from ._core.item_models import TextPart as TextPart
from ._core.record import Record as Record
from ._core.record import UnknownObject as UnknownObject
from ._core.response_models import CachedTokenDetails as CachedTokenDetails
from ._core.response_models import Conversation as Conversation
from ._core.response_models import ErrorDetail as ErrorDetail
from ._core.response_models import InputTokenDetails as InputTokenDetails
from ._core.response_models import LogProb as LogProb
from ._core.response_models import OutputTokenDetails as OutputTokenDetails
from ._core.response_models import RateLimit as RateLimit
from ._core.response_models import Response as Response
from ._core.response_models import ResponseAudio as ResponseAudio
from ._core.response_models import ResponseAudioOutput as ResponseAudioOutput
from ._core.response_models import ResponseCreateParams as ResponseCreateParams
from ._core.response_models import StatusDetails as StatusDetails
from ._core.response_models import StatusError as StatusError
from ._core.response_models import TranscriptDurationUsage as TranscriptDurationUsage
from ._core.response_models import TranscriptionError as TranscriptionError
from ._core.response_models import TranscriptionLanguage as TranscriptionLanguage
from ._core.response_models import TranscriptTokenDetails as TranscriptTokenDetails
from ._core.response_models import TranscriptTokenUsage as TranscriptTokenUsage
from ._core.response_models import TranscriptUsage as TranscriptUsage
from ._core.response_models import Usage as Usage
from ._core.sentinel import UNSET as UNSET
from ._core.sentinel import UnsetType as UnsetType
from ._core.serde import EVENT_CLASSES as EVENT_CLASSES
from ._core.server_events import ConversationCreated as ConversationCreated
from ._core.server_events import ConversationItemAdded as ConversationItemAdded
from ._core.server_events import ConversationItemCreated as ConversationItemCreated
from ._core.server_events import ConversationItemDeleted as ConversationItemDeleted
from ._core.server_events import ConversationItemDone as ConversationItemDone
from ._core.server_events import (
    ConversationItemInputAudioTranscriptionCompleted as ConversationItemInputAudioTranscriptionCompleted,
)
from ._core.server_events import (
    ConversationItemInputAudioTranscriptionDelta as ConversationItemInputAudioTranscriptionDelta,
)
from ._core.server_events import (
    ConversationItemInputAudioTranscriptionFailed as ConversationItemInputAudioTranscriptionFailed,
)
from ._core.server_events import (
    ConversationItemInputAudioTranscriptionSegment as ConversationItemInputAudioTranscriptionSegment,
)
from ._core.server_events import ConversationItemRetrieved as ConversationItemRetrieved
from ._core.server_events import ConversationItemTruncated as ConversationItemTruncated
from ._core.server_events import ErrorEvent as ErrorEvent
from ._core.server_events import InputAudioBufferCleared as InputAudioBufferCleared
from ._core.server_events import InputAudioBufferCommitted as InputAudioBufferCommitted
from ._core.server_events import (
    InputAudioBufferDtmfEventReceived as InputAudioBufferDtmfEventReceived,
)
from ._core.server_events import (
    InputAudioBufferSpeechStarted as InputAudioBufferSpeechStarted,
)
from ._core.server_events import (
    InputAudioBufferSpeechStopped as InputAudioBufferSpeechStopped,
)
from ._core.server_events import (
    InputAudioBufferTimeoutTriggered as InputAudioBufferTimeoutTriggered,
)
from ._core.server_events import McpListToolsCompleted as McpListToolsCompleted
from ._core.server_events import McpListToolsFailed as McpListToolsFailed
from ._core.server_events import McpListToolsInProgress as McpListToolsInProgress
from ._core.server_events import OutputAudioBufferCleared as OutputAudioBufferCleared
from ._core.server_events import OutputAudioBufferStarted as OutputAudioBufferStarted
from ._core.server_events import OutputAudioBufferStopped as OutputAudioBufferStopped
from ._core.server_events import RateLimitsUpdated as RateLimitsUpdated
from ._core.server_events import ResponseContentPartAdded as ResponseContentPartAdded
from ._core.server_events import ResponseContentPartDone as ResponseContentPartDone
from ._core.server_events import ResponseCreated as ResponseCreated
from ._core.server_events import ResponseDone as ResponseDone
from ._core.server_events import (
    ResponseFunctionCallArgumentsDelta as ResponseFunctionCallArgumentsDelta,
)
from ._core.server_events import (
    ResponseFunctionCallArgumentsDone as ResponseFunctionCallArgumentsDone,
)
from ._core.server_events import (
    ResponseMcpCallArgumentsDelta as ResponseMcpCallArgumentsDelta,
)
from ._core.server_events import (
    ResponseMcpCallArgumentsDone as ResponseMcpCallArgumentsDone,
)
from ._core.server_events import ResponseMcpCallCompleted as ResponseMcpCallCompleted
from ._core.server_events import ResponseMcpCallFailed as ResponseMcpCallFailed
from ._core.server_events import ResponseMcpCallInProgress as ResponseMcpCallInProgress
from ._core.server_events import ResponseOutputAudioDelta as ResponseOutputAudioDelta
from ._core.server_events import ResponseOutputAudioDone as ResponseOutputAudioDone
from ._core.server_events import (
    ResponseOutputAudioTranscriptDelta as ResponseOutputAudioTranscriptDelta,
)
from ._core.server_events import (
    ResponseOutputAudioTranscriptDone as ResponseOutputAudioTranscriptDone,
)
from ._core.server_events import ResponseOutputItemAdded as ResponseOutputItemAdded
from ._core.server_events import ResponseOutputItemDone as ResponseOutputItemDone
from ._core.server_events import ResponseOutputTextDelta as ResponseOutputTextDelta
from ._core.server_events import ResponseOutputTextDone as ResponseOutputTextDone
from ._core.server_events import ServerEvent as ServerEvent
from ._core.server_events import SessionCreated as SessionCreated
from ._core.server_events import SessionUpdated as SessionUpdated
from ._core.server_events import UnknownEvent as UnknownEvent
from ._core.session_models import AnySessionConfig as AnySessionConfig
from ._core.session_models import AudioConfig as AudioConfig
from ._core.session_models import AudioFormatConfig as AudioFormatConfig
from ._core.session_models import AudioInput as AudioInput
from ._core.session_models import AudioOutput as AudioOutput
from ._core.session_models import AudioPCM as AudioPCM
from ._core.session_models import AudioPCMA as AudioPCMA
from ._core.session_models import AudioPCMU as AudioPCMU
from ._core.session_models import AudioTranscription as AudioTranscription
from ._core.session_models import FunctionTool as FunctionTool
from ._core.session_models import McpRequireApproval as McpRequireApproval
from ._core.session_models import McpTool as McpTool
from ._core.session_models import McpToolFilter as McpToolFilter
from ._core.session_models import NoiseReduction as NoiseReduction
from ._core.session_models import Prompt as Prompt
from ._core.session_models import Reasoning as Reasoning
from ._core.session_models import SemanticVad as SemanticVad
from ._core.session_models import ServerVad as ServerVad
from ._core.session_models import SessionConfig as SessionConfig
from ._core.session_models import TokenLimits as TokenLimits
from ._core.session_models import Tool as Tool
from ._core.session_models import ToolChoice as ToolChoice
from ._core.session_models import ToolChoiceFunction as ToolChoiceFunction
from ._core.session_models import ToolChoiceMcp as ToolChoiceMcp
from ._core.session_models import TracingConfig as TracingConfig
from ._core.session_models import (
    TranscriptionSessionConfig as TranscriptionSessionConfig,
)
from ._core.session_models import Truncation as Truncation
from ._core.session_models import TruncationRetentionRatio as TruncationRetentionRatio
from ._core.session_models import TurnDetection as TurnDetection
from ._core.session_models import VoiceId as VoiceId
from ._core.util import fixup_module_metadata as _fixup_module_metadata

__all__ = [
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
]

# Resolve the string annotations while the classes still point at the modules
# that define them; then show them as realtime_trio.events.X. `Record` keeps
# its home: it is shown as ``realtime_trio.Record`` (the package's own name).
for _name in __all__:
    if attrs.has(globals()[_name]):
        attrs.resolve_types(globals()[_name])
del _name
_fixup_module_metadata(__name__, globals(), [n for n in __all__ if n != "Record"])
del _fixup_module_metadata
