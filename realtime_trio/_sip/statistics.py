"""The SIP call server's counters, and the snapshot of them it hands out."""

from __future__ import annotations

import attrs


@attrs.frozen
class SipServerStatistics:
    """A snapshot of a `SipCallServer`'s counters (see `SipCallServer.statistics`).

    Every ``calls_*`` and ``webhooks_*`` number counts from the start of the
    server; ``active_calls`` and ``http_connections`` are the values now. The
    server logs them when it stops.

    Attributes:
        active_calls: Calls being decided, set up or handled now.
        calls_received: Calls announced by a verified, new webhook.
        calls_accepted: Calls accepted over REST.
        calls_rejected: Calls rejected (by a decision, or busy).
        calls_busy: Of ``calls_rejected``, those rejected with 486 because
            ``max_concurrent_calls`` were in progress.
        calls_failed: Calls whose setup or handler failed.
        calls_timed_out: Calls hung up because they reached ``max_call_seconds``.
        calls_taken_over: Calls of another instance whose lease expired, and
            that this one resumed (with a shared call store).
        calls_handed_over: Calls this instance left up for another one to
            take over (handed over at shutdown, or a lease it lost).
        webhooks_received: POSTs to the webhook path.
        webhooks_verified: Deliveries whose signature and timestamp verified
            (new, duplicate or of another event type).
        webhooks_invalid: Deliveries refused with 4xx (forged, tampered, stale, malformed, too big).
        webhooks_duplicate: Authentic deliveries seen before (answered 200, not acted on).
        webhooks_ignored: Authentic deliveries of other event types (answered 200).
        store_errors: Operations on the shared store (Redis) that failed; a
            delivery they concern is answered 503, for OpenAI to retry.
        http_connections: HTTP connections open now (at most ``max_connections``).
    """

    active_calls: int
    calls_received: int
    calls_accepted: int
    calls_rejected: int
    calls_busy: int
    calls_failed: int
    calls_timed_out: int
    calls_taken_over: int
    calls_handed_over: int
    webhooks_received: int
    webhooks_verified: int
    webhooks_invalid: int
    webhooks_duplicate: int
    webhooks_ignored: int
    store_errors: int
    http_connections: int

    def summary(self) -> str:
        """The numbers as one line of ``name=value`` pairs (what the server logs at shutdown)."""
        return " ".join(f"{k}={v}" for k, v in attrs.asdict(self).items())


@attrs.define
class Counters:
    """The live counters of one server (the HTTP side, the intake and the calls count)."""

    calls_received: int = 0
    calls_accepted: int = 0
    calls_rejected: int = 0
    calls_busy: int = 0
    calls_failed: int = 0
    calls_timed_out: int = 0
    calls_taken_over: int = 0
    calls_handed_over: int = 0
    webhooks_received: int = 0
    webhooks_verified: int = 0
    webhooks_invalid: int = 0
    webhooks_duplicate: int = 0
    webhooks_ignored: int = 0
    store_errors: int = 0
    #: A gauge, not a counter: the HTTP connections open now.
    http_connections: int = 0

    def snapshot(self, active_calls: int) -> SipServerStatistics:
        """The counters now, with the number of calls in progress."""
        return SipServerStatistics(
            active_calls=active_calls, **attrs.asdict(self, recurse=False)
        )


__all__ = ["Counters", "SipServerStatistics"]
