"""The SIP call server's webhook intake: verify, drop duplicates, hand new calls on.

Synchronous on purpose: nothing here may wait, so the answer to a delivery
goes out at once whatever the calls are doing (OpenAI retries deliveries
not answered with a 2xx within a few seconds).

* a new ``realtime.call.incoming``: 200 ``ok``, and the call is handed on;
* another event type: 200 ``ignored``;
* a ``webhook-id`` seen before: 200 ``duplicate`` (OpenAI stops retrying);
* a forged, stale or malformed delivery: 400;
* a new call while the server shuts down: 503, and its ``webhook-id`` is
  forgotten, so OpenAI's retry may reach a live instance;
* our own secret is malformed: 500 (a configuration error, logged).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from .._webhooks.events import RealtimeCallIncoming
from .._webhooks.parse import DuplicateWebhookError, verify_webhook
from .._webhooks.signature import InvalidSecretError, WebhookVerificationError
from .call import logger
from .http import Headers, header
from .options import ServerConfig
from .statistics import Counters

#: Takes a new call (its event and ``webhook-id``); False if the server is shutting down.
CallStarter: TypeAlias = Callable[[RealtimeCallIncoming, str], bool]


class WebhookIntake:
    """Answers each webhook body; a `.http.WebhookHandler`.

    Args:
        config: The server's secret, store and ``tolerance``.
        counters: Counts duplicate, invalid and ignored deliveries.
        start_call: Takes each new call.
    """

    def __init__(
        self, config: ServerConfig, counters: Counters, start_call: CallStarter
    ) -> None:
        self._config = config
        self._counters = counters
        self._start_call = start_call

    def __call__(self, body: bytes, headers: Headers) -> tuple[int, bytes]:
        """Verify one delivery and hand its call on; return the HTTP status and body."""
        config = self._config
        counters = self._counters
        try:
            event = verify_webhook(
                body,
                headers,
                config.secret,
                tolerance=config.options["tolerance"],
                store=config.store,
            )
        except DuplicateWebhookError as exc:
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
        webhook_id = header(headers, "webhook-id") or ""
        if not isinstance(event, RealtimeCallIncoming):
            counters.webhooks_ignored += 1
            logger.debug("webhook of type %s ignored", type(event).__name__)
            return 200, b"ignored"
        if not self._start_call(event, webhook_id):
            config.store.forget(webhook_id)  # let OpenAI's retry reach a live instance
            return 503, b"shutting down"
        return 200, b"ok"


__all__ = ["CallStarter", "WebhookIntake"]
