"""The SIP call server's webhook intake: verify, drop duplicates, hand new calls on.

Nothing here waits for a call, so the answer to a delivery goes out at
once whatever the calls are doing (OpenAI retries deliveries not answered
with a 2xx within a few seconds). The one wait is on a shared store: an
`AsyncWebhookIdStore` remembers the ``webhook-id``, and a store with call
leases (`.leases.CallLeaseStore`, such as Redis) claims the call itself,
so a call announced twice, to two instances at once or under two webhook
ids, is acted on once. Each store operation is bounded by the store's own
timeout.

* a new ``realtime.call.incoming``: 200 ``ok``, and the call is handed on;
* another event type: 200 ``ignored``;
* a ``webhook-id`` seen before, or a call claimed before: 200 ``duplicate``
  (OpenAI stops retrying);
* the shared store fails (down, too slow): 503 ``store unavailable``, logged,
  and nothing is acted on, so OpenAI's retry is;
* a forged, stale or malformed delivery: 400;
* a new call while the server shuts down: 503, and its ``webhook-id`` (or its
  claim) is forgotten, so OpenAI's retry may reach a live instance;
* our own secret is malformed: 500 (a configuration error, logged).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias, cast

from .._webhooks.dedup import AsyncWebhookIdStore, WebhookIdStore, WebhookStoreError
from .._webhooks.events import RealtimeCallIncoming
from .._webhooks.parse import DuplicateWebhookError, verify_webhook
from .._webhooks.signature import InvalidSecretError, WebhookVerificationError
from .call import logger
from .http import Headers, header
from .options import ServerConfig
from .statistics import Counters

if TYPE_CHECKING:
    from .takeover import LeaseKeeper

#: Takes a new call (its event and ``webhook-id``); False if the server is shutting down.
CallStarter: TypeAlias = Callable[[RealtimeCallIncoming, str], bool]


def is_async_store(store: object) -> bool:
    """Whether ``store`` is an `AsyncWebhookIdStore` (its ``seen`` is a coroutine function)."""
    return inspect.iscoroutinefunction(getattr(store, "seen", None))


class WebhookIntake:
    """Answers each webhook body; a `.http.WebhookHandler`.

    Args:
        config: The server's secret, store and ``tolerance``.
        counters: Counts duplicate, invalid and ignored deliveries.
        start_call: Takes each new call.
        leases: Claims each new call in the shared store, when the server's
            store has call leases.
    """

    def __init__(
        self,
        config: ServerConfig,
        counters: Counters,
        start_call: CallStarter,
        *,
        leases: LeaseKeeper | None = None,
    ) -> None:
        self._config = config
        self._counters = counters
        self._start_call = start_call
        self._leases = leases
        store: object = config.store
        self._async_store = (
            cast("AsyncWebhookIdStore", store) if is_async_store(store) else None
        )
        self._sync_store = (
            None if self._async_store is not None else cast("WebhookIdStore", store)
        )

    async def __call__(self, body: bytes, headers: Headers) -> tuple[int, bytes]:
        """Verify one delivery and hand its call on; return the HTTP status and body."""
        config = self._config
        counters = self._counters
        try:
            event = verify_webhook(
                body,
                headers,
                config.secret,
                tolerance=config.options["tolerance"],
                store=self._sync_store,
            )
        except DuplicateWebhookError as exc:  # authentic: verified, then seen
            counters.webhooks_verified += 1
            counters.webhooks_duplicate += 1
            logger.info("duplicate webhook %s ignored", exc.webhook_id)
            return 200, b"duplicate"
        except InvalidSecretError:
            logger.error("the webhook secret is invalid: check the configuration")
            return 500, b"server misconfigured"
        except WebhookVerificationError as exc:
            counters.webhooks_invalid += 1
            logger.warning("webhook refused: %s: %s", type(exc).__name__, exc)
            return 400, b"invalid webhook"
        counters.webhooks_verified += 1
        webhook_id = header(headers, "webhook-id") or ""
        if not isinstance(event, RealtimeCallIncoming):
            counters.webhooks_ignored += 1
            logger.debug("webhook of type %s ignored", type(event).__name__)
            return 200, b"ignored"
        try:
            new = await self._admit(event, webhook_id)
        except WebhookStoreError as exc:
            counters.store_errors += 1
            logger.error(
                "webhook %s (call %s): answered 503 for a retry: %s",
                webhook_id,
                event.data.call_id,
                exc,
            )
            return 503, b"store unavailable"
        if not new:
            counters.webhooks_duplicate += 1
            logger.info(
                "duplicate webhook %s (call %s) ignored", webhook_id, event.data.call_id
            )
            return 200, b"duplicate"
        if not self._start_call(event, webhook_id):
            await self._unadmit(event, webhook_id)
            return 503, b"shutting down"
        return 200, b"ok"

    async def _admit(self, event: RealtimeCallIncoming, webhook_id: str) -> bool:
        """Record a new delivery in the async store, or claim its call; False if seen before."""
        if self._leases is not None:
            return await self._leases.claim(event, webhook_id)
        if self._async_store is not None:
            return not await self._async_store.seen(webhook_id, now=time.time())
        return True  # verify_webhook recorded it in the synchronous store

    async def _unadmit(self, event: RealtimeCallIncoming, webhook_id: str) -> None:
        """Forget a delivery not acted on, so OpenAI's retry may reach a live instance."""
        try:
            if self._leases is not None:
                await self._leases.abandon(event.data.call_id)
            elif self._async_store is not None:
                await self._async_store.forget(webhook_id)
            elif self._sync_store is not None:
                self._sync_store.forget(webhook_id)
        except WebhookStoreError as exc:
            self._counters.store_errors += 1
            logger.error("webhook %s: could not be forgotten: %s", webhook_id, exc)


__all__ = ["CallStarter", "WebhookIntake", "is_async_store"]
