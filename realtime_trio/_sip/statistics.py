"""The SIP call server's counters, and the snapshot of them it hands out."""

from __future__ import annotations

import attrs


@attrs.frozen
class SipServerStatistics:
    """A snapshot of a `SipCallServer`'s counters (see `SipCallServer.statistics`).

    Attributes:
        active_calls: Calls being decided, set up or handled now.
        calls_received: Calls announced by a verified, new webhook.
        calls_accepted: Calls accepted over REST.
        calls_rejected: Calls rejected (by a decision, or busy).
        calls_failed: Calls whose setup or handler failed.
        webhooks_received: POSTs to the webhook path.
        webhooks_invalid: Deliveries refused with 4xx (forged, tampered, stale, malformed, too big).
        webhooks_duplicate: Authentic deliveries seen before (answered 200, not acted on).
        webhooks_ignored: Authentic deliveries of other event types (answered 200).
    """

    active_calls: int
    calls_received: int
    calls_accepted: int
    calls_rejected: int
    calls_failed: int
    webhooks_received: int
    webhooks_invalid: int
    webhooks_duplicate: int
    webhooks_ignored: int


@attrs.define
class Counters:
    """The live counters of one server (the HTTP app, the intake and the calls count)."""

    calls_received: int = 0
    calls_accepted: int = 0
    calls_rejected: int = 0
    calls_failed: int = 0
    webhooks_received: int = 0
    webhooks_invalid: int = 0
    webhooks_duplicate: int = 0
    webhooks_ignored: int = 0

    def snapshot(self, active_calls: int) -> SipServerStatistics:
        """The counters now, with the number of calls in progress."""
        return SipServerStatistics(
            active_calls=active_calls, **attrs.asdict(self, recurse=False)
        )


__all__ = ["Counters", "SipServerStatistics"]
