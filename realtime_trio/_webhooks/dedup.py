"""Remembering ``webhook-id`` values, so a delivery is acted on once (sans-IO, sync).

Why deliveries repeat, and for how long
---------------------------------------
*Retries.* OpenAI redelivers a webhook that did not get a 2xx within a few
seconds, with exponential backoff for up to 72 hours. Every attempt keeps the
``webhook-id`` but carries a fresh ``webhook-timestamp`` and signature, so the
timestamp check does not stop them: only remembering the id does. A handler
that accepted a call and then answered too slowly would otherwise accept it
again on the retry.

*Replays.* Someone who records a delivery can send it again, byte for byte,
for as long as its timestamp is within the tolerance of the receiver's clock:
from ``timestamp - tolerance`` to ``timestamp + tolerance``, so at most
``2 * tolerance`` seconds (ten minutes with the default of 300 s) after it is
first seen. Remembering ids for ``2 * tolerance`` stops replays; after that
the timestamp check does.

So the default time to live is 72 hours, the retry window, which also covers
the replay window many times over. It must never be shorter than
``2 * tolerance``. A store holding ``max_entries`` ids forgets the oldest
first, so size it for the peak number of deliveries in the time to live:
ten thousand entries of about 100 bytes each is about a megabyte.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Final, Protocol

from .._core.errors import RealtimeError

#: The default time to live of a remembered ``webhook-id``: OpenAI's retry window.
DEFAULT_WEBHOOK_ID_TTL: Final = 72 * 60 * 60


class WebhookIdStore(Protocol):
    """Where ``webhook-id`` values are remembered: the interface.

    `MemoryWebhookIdStore` is the in-process implementation. It is enough for
    one process. When several instances sit behind a load balancer, a retry
    may reach a different instance than the first delivery, so they must
    share one store: `~realtime_trio.webhooks.RedisWebhookIdStore` (an
    `AsyncWebhookIdStore` over Redis, in the ``redis`` extra). ``seen`` must
    be a single atomic step (Redis ``SET key 1 NX EX ttl``; a SQL table with
    a unique ``webhook_id`` column and ``INSERT ... ON CONFLICT DO NOTHING``),
    so two instances that receive the same delivery at the same moment
    cannot both act on it. Methods that do network I/O must not run on the
    event loop thread: in a trio application implement `AsyncWebhookIdStore`
    with an async client, or use `trio.to_thread.run_sync`.
    """

    def seen(self, webhook_id: str, *, now: float) -> bool:
        """Check and remember ``webhook_id`` in one atomic step.

        Args:
            webhook_id: The ``webhook-id`` header of an authentic delivery.
                Never record ids of deliveries that failed verification.
            now: The current time in unix seconds (`verify_webhook` passes
                the ``now`` it verified with, so tests can inject a clock).

        Returns:
            True if the id was already remembered and has not expired (a
            duplicate: do not act on it), False if it is new (it is now
            remembered).
        """
        ...

    def forget(self, webhook_id: str) -> None:
        """Forget ``webhook_id``, so that its next delivery is treated as new.

        Call it when handling a delivery failed after `seen` returned False and
        you answer with an error, so OpenAI's retry is acted on rather than
        dropped as a duplicate. Forgetting an unknown id does nothing.
        """
        ...


class WebhookStoreError(RealtimeError):
    """A shared store (Redis) did not answer: down, unreachable, too slow, or refusing.

    The SIP call server answers the delivery with 503, so OpenAI retries
    it, and acts on nothing it could not record. The message names the
    failure, never the store's address or password.
    """


class AsyncWebhookIdStore(Protocol):
    """`WebhookIdStore` for stores that do I/O, with the same meaning, awaited.

    The SIP call server (``store=``) accepts either kind.
    `~realtime_trio.webhooks.RedisWebhookIdStore` is one. Raise
    `WebhookStoreError` when the store cannot answer.

    `verify_webhook` is synchronous and takes only a `WebhookIdStore`; with an
    async store, verify without one and then ask the store yourself::

        event = verify_webhook(body, headers, secret)
        if await store.seen(headers["webhook-id"], now=time.time()):
            return 200  # a duplicate: acknowledge, do nothing
    """

    async def seen(self, webhook_id: str, *, now: float) -> bool:
        """Check and remember ``webhook_id`` atomically; True if it was already there."""
        ...

    async def forget(self, webhook_id: str) -> None:
        """Forget ``webhook_id``, so that its next delivery is treated as new."""
        ...


class MemoryWebhookIdStore:
    """A bounded, in-process `WebhookIdStore` with expiry.

    Each id is remembered until ``ttl`` seconds after it was first seen (a
    repeat does not extend that, like Redis ``SET NX EX``). When more than
    ``max_entries`` ids are remembered, the oldest are forgotten first. It is
    thread-safe, and does no I/O.

    It is per process: with several instances behind a load balancer, share a
    store instead (see `WebhookIdStore`).

    Args:
        max_entries: The most ids to remember.
        ttl: Seconds to remember each id: 72 hours by default, OpenAI's retry
            window. Never less than twice the verification tolerance, or a
            recorded delivery could be replayed after its id was forgotten
            but while its timestamp is still accepted.

    Raises:
        ValueError: ``max_entries`` is below 1, or ``ttl`` is not a positive,
            finite number.
        TypeError: ``max_entries`` is not an int, or ``ttl`` not a number.
    """

    def __init__(
        self, *, max_entries: int = 10_000, ttl: float = DEFAULT_WEBHOOK_ID_TTL
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int):
            raise TypeError(f"max_entries must be an int, not {max_entries!r}")
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        if isinstance(ttl, bool) or not isinstance(ttl, int | float):
            raise TypeError(f"ttl must be a number of seconds, not {ttl!r}")
        if not (ttl > 0 and math.isfinite(ttl)):
            raise ValueError(f"ttl must be a positive number of seconds, not {ttl!r}")
        self.max_entries: Final = max_entries
        self.ttl: Final = ttl
        # webhook id -> expiry time, in insertion order (= expiry order while
        # the clock moves forward, so the oldest sit at the front).
        self._expiries: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, webhook_id: str, *, now: float) -> bool:
        """Check and remember ``webhook_id``; True if it was already remembered.

        See `WebhookIdStore.seen`.
        """
        with self._lock:
            self._expire(now)
            expiry = self._expiries.get(webhook_id)
            if expiry is not None:
                if now < expiry:
                    return True
                # Expired but not yet purged (the clock went backwards).
                del self._expiries[webhook_id]
            self._expiries[webhook_id] = now + self.ttl
            while len(self._expiries) > self.max_entries:
                self._expiries.popitem(last=False)
            return False

    def forget(self, webhook_id: str) -> None:
        """Forget ``webhook_id``; see `WebhookIdStore.forget`."""
        with self._lock:
            self._expiries.pop(webhook_id, None)

    def __len__(self) -> int:
        """The number of ids remembered (expired ones may linger until the next `seen`)."""
        return len(self._expiries)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(max_entries={self.max_entries!r}, "
            f"ttl={self.ttl!r}, remembered={len(self)})"
        )

    def _expire(self, now: float) -> None:
        expiries = self._expiries
        while expiries:
            webhook_id, expiry = next(iter(expiries.items()))
            if expiry > now:
                break
            del expiries[webhook_id]
