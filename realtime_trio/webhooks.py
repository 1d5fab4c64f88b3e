"""Verifying and parsing the webhooks OpenAI sends, such as ``realtime.call.incoming``.

Sans-IO: bring the raw body and headers from any HTTP server::

    from realtime_trio import webhooks

    store = webhooks.MemoryWebhookIdStore()

    def handle(body: bytes, headers) -> int:
        try:
            event = webhooks.verify_webhook(body, headers, SECRET, store=store)
        except webhooks.DuplicateWebhookError:
            return 200  # already handled
        except webhooks.InvalidSecretError:
            return 500  # our configuration is wrong
        except webhooks.WebhookVerificationError:
            return 400
        match event:
            case webhooks.RealtimeCallIncoming(data=call):
                schedule_accept(call.call_id)
        return 200

Signatures follow the Standard Webhooks scheme exactly as the openai SDK
checks them. Event records mirror the wire, like `realtime_trio.events`:
class names are the CamelCase of the ``type``, fields are the wire names.
"""

from __future__ import annotations

from ._util import fixup_module_metadata as _fixup_module_metadata
from ._webhook_dedup import AsyncWebhookIdStore as AsyncWebhookIdStore
from ._webhook_dedup import MemoryWebhookIdStore as MemoryWebhookIdStore
from ._webhook_dedup import WebhookIdStore as WebhookIdStore
from ._webhook_events import BatchCancelled as BatchCancelled
from ._webhook_events import BatchCompleted as BatchCompleted
from ._webhook_events import BatchExpired as BatchExpired
from ._webhook_events import BatchFailed as BatchFailed
from ._webhook_events import DuplicateWebhookError as DuplicateWebhookError
from ._webhook_events import EvalRunCanceled as EvalRunCanceled
from ._webhook_events import EvalRunFailed as EvalRunFailed
from ._webhook_events import EvalRunSucceeded as EvalRunSucceeded
from ._webhook_events import FineTuningJobCancelled as FineTuningJobCancelled
from ._webhook_events import FineTuningJobFailed as FineTuningJobFailed
from ._webhook_events import FineTuningJobSucceeded as FineTuningJobSucceeded
from ._webhook_events import LiveCallIncoming as LiveCallIncoming
from ._webhook_events import LiveCallIncomingData as LiveCallIncomingData
from ._webhook_events import MalformedPayloadError as MalformedPayloadError
from ._webhook_events import RealtimeCallIncoming as RealtimeCallIncoming
from ._webhook_events import RealtimeCallIncomingData as RealtimeCallIncomingData
from ._webhook_events import ResponseCancelled as ResponseCancelled
from ._webhook_events import ResponseCompleted as ResponseCompleted
from ._webhook_events import ResponseFailed as ResponseFailed
from ._webhook_events import ResponseIncomplete as ResponseIncomplete
from ._webhook_events import SipHeader as SipHeader
from ._webhook_events import UnknownWebhookEvent as UnknownWebhookEvent
from ._webhook_events import WebhookEvent as WebhookEvent
from ._webhook_events import WebhookEventData as WebhookEventData
from ._webhook_events import dump_webhook_event as dump_webhook_event
from ._webhook_events import parse_webhook_event as parse_webhook_event
from ._webhook_events import verify_webhook as verify_webhook
from ._webhook_signature import InvalidSecretError as InvalidSecretError
from ._webhook_signature import MalformedHeaderError as MalformedHeaderError
from ._webhook_signature import MissingHeaderError as MissingHeaderError
from ._webhook_signature import SignatureMismatchError as SignatureMismatchError
from ._webhook_signature import (
    TimestampOutOfToleranceError as TimestampOutOfToleranceError,
)
from ._webhook_signature import WebhookVerificationError as WebhookVerificationError
from ._webhook_signature import sign_webhook as sign_webhook
from ._webhook_signature import verify_webhook_signature as verify_webhook_signature

__all__ = [
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
]


_fixup_module_metadata(__name__, globals(), __all__)
del _fixup_module_metadata
