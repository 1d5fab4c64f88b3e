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

Several instances share their webhook ids (and the SIP call server its
calls) through `RedisWebhookIdStore`, in the ``redis`` extra. It is loaded
when first asked for, so this module never needs coredis; it is left out of
``__all__`` so that a star import does not need it either.

Signatures follow the Standard Webhooks scheme exactly as the openai SDK
checks them. Event records mirror the wire, like `realtime_trio.events`:
class names are the CamelCase of the ``type``, fields are the wire names.
"""

from __future__ import annotations

import typing as _typing

from ._core.util import fixup_module_metadata as _fixup_module_metadata
from ._webhooks.dedup import AsyncWebhookIdStore as AsyncWebhookIdStore
from ._webhooks.dedup import MemoryWebhookIdStore as MemoryWebhookIdStore
from ._webhooks.dedup import WebhookIdStore as WebhookIdStore
from ._webhooks.dedup import WebhookStoreError as WebhookStoreError
from ._webhooks.events import BatchCancelled as BatchCancelled
from ._webhooks.events import BatchCompleted as BatchCompleted
from ._webhooks.events import BatchExpired as BatchExpired
from ._webhooks.events import BatchFailed as BatchFailed
from ._webhooks.events import EvalRunCanceled as EvalRunCanceled
from ._webhooks.events import EvalRunFailed as EvalRunFailed
from ._webhooks.events import EvalRunSucceeded as EvalRunSucceeded
from ._webhooks.events import FineTuningJobCancelled as FineTuningJobCancelled
from ._webhooks.events import FineTuningJobFailed as FineTuningJobFailed
from ._webhooks.events import FineTuningJobSucceeded as FineTuningJobSucceeded
from ._webhooks.events import LiveCallIncoming as LiveCallIncoming
from ._webhooks.events import LiveCallIncomingData as LiveCallIncomingData
from ._webhooks.events import RealtimeCallIncoming as RealtimeCallIncoming
from ._webhooks.events import RealtimeCallIncomingData as RealtimeCallIncomingData
from ._webhooks.events import ResponseCancelled as ResponseCancelled
from ._webhooks.events import ResponseCompleted as ResponseCompleted
from ._webhooks.events import ResponseFailed as ResponseFailed
from ._webhooks.events import ResponseIncomplete as ResponseIncomplete
from ._webhooks.events import SipHeader as SipHeader
from ._webhooks.events import UnknownWebhookEvent as UnknownWebhookEvent
from ._webhooks.events import WebhookEvent as WebhookEvent
from ._webhooks.events import WebhookEventData as WebhookEventData
from ._webhooks.parse import DuplicateWebhookError as DuplicateWebhookError
from ._webhooks.parse import MalformedPayloadError as MalformedPayloadError
from ._webhooks.parse import dump_webhook_event as dump_webhook_event
from ._webhooks.parse import parse_webhook_event as parse_webhook_event
from ._webhooks.parse import verify_webhook as verify_webhook
from ._webhooks.signature import InvalidSecretError as InvalidSecretError
from ._webhooks.signature import MalformedHeaderError as MalformedHeaderError
from ._webhooks.signature import MissingHeaderError as MissingHeaderError
from ._webhooks.signature import SignatureMismatchError as SignatureMismatchError
from ._webhooks.signature import (
    TimestampOutOfToleranceError as TimestampOutOfToleranceError,
)
from ._webhooks.signature import WebhookVerificationError as WebhookVerificationError
from ._webhooks.signature import sign_webhook as sign_webhook
from ._webhooks.signature import verify_webhook_signature as verify_webhook_signature

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
    "WebhookStoreError",
    "WebhookVerificationError",
    "dump_webhook_event",
    "parse_webhook_event",
    "sign_webhook",
    "verify_webhook",
    "verify_webhook_signature",
]


if _typing.TYPE_CHECKING:
    from ._sip.redis_store import RedisWebhookIdStore as RedisWebhookIdStore


def __getattr__(name: str) -> _typing.Any:
    # RedisWebhookIdStore needs coredis (the ``redis`` extra): imported when
    # first asked for, so ``import realtime_trio.webhooks`` never needs it.
    if name == "RedisWebhookIdStore":
        try:
            from ._sip import redis_store
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.partition(".")[0] != "coredis":
                raise
            raise ModuleNotFoundError(
                "RedisWebhookIdStore needs coredis: pip install 'realtime-trio[redis]'",
                name="coredis",
            ) from None
        store = redis_store.RedisWebhookIdStore
        _fixup_module_metadata(__name__, {name: store}, [name])
        globals()[name] = store
        return store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "RedisWebhookIdStore"})


_fixup_module_metadata(__name__, globals(), __all__)
