"""This instance's side of the call leases: claim, record progress, renew, take over, release.

::

    LeaseKeeper.run (one task per server), every lease_ttl / 3:
      renew the leases of this instance's calls (one round trip)
        lost    → another instance has the call: stop controlling it (no hang-up)
        missing → the store forgot it (Redis restarted empty): write it back
      take the calls whose lease expired (at most the free call slots)
        claimed              → set it up from the start (decide, accept)
        accepting / accepted → re-attach a sideband, handler with call.resumed

The intake claims each new call (`LeaseKeeper.claim`) before answering its
webhook; the runner records ``accepting`` before the accept request and
``accepted`` after it (`LeaseKeeper.mark`); the server releases each call
when its task ends (`LeaseKeeper.release`). A store failure is logged and
counted (``store_errors``) and never ends a call: a renewal that fails is
tried again at the next tick, and a lease that Redis forgot is written back.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from typing import Protocol

import attrs
import trio

from .._webhooks.dedup import WebhookStoreError
from .._webhooks.events import RealtimeCallIncoming
from .._webhooks.parse import (
    MalformedPayloadError,
    dump_webhook_event,
    parse_webhook_event,
)
from .call import IncomingCall, logger
from .leases import CallLeaseStore, LeasedCall, LeaseState, Release
from .statistics import Counters


def new_owner_id() -> str:
    """An id for one server instance: host, process, and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@attrs.define
class _Lease:
    state: LeaseState
    event_json: str
    webhook_id: str


class LeaseHost(Protocol):
    """What the keeper needs of the server."""

    def free_slots(self) -> int:
        """How many more calls this instance would take now (0 while shutting down)."""
        ...

    def lose_call(self, call_id: str) -> None:
        """Another instance has the call: stop controlling it, leave it up."""
        ...

    def resume_call(self, leased: LeasedCall, event: RealtimeCallIncoming) -> bool:
        """Start the task of a call taken over; False if it cannot now."""
        ...


class LeaseKeeper:
    """Holds one server instance's call leases in a `CallLeaseStore`.

    Args:
        store: The shared store.
        counters: Counts ``store_errors`` and ``calls_taken_over``.
        owner: This instance's id (`new_owner_id`).
    """

    def __init__(
        self, store: CallLeaseStore, counters: Counters, *, owner: str
    ) -> None:
        self.store = store
        self.owner = owner
        self._counters = counters
        self._leases: dict[str, _Lease] = {}
        self._failing = False

    @property
    def interval(self) -> float:
        """Seconds between two renewals (and two looks for expired leases)."""
        return self.store.lease_ttl / 3

    # --- one call -------------------------------------------------------------------

    async def claim(self, event: RealtimeCallIncoming, webhook_id: str) -> bool:
        """Claim a new call; False if it was claimed before.

        Raises:
            WebhookStoreError: the store did not answer (answer 503).
        """
        event_json = json.dumps(dump_webhook_event(event), separators=(",", ":"))
        call_id = event.data.call_id
        new = await self.store.claim_call(
            call_id, webhook_id=webhook_id, event_json=event_json, owner=self.owner
        )
        if new:
            self._leases[call_id] = _Lease("claimed", event_json, webhook_id)
        return new

    async def mark(self, call: IncomingCall, state: LeaseState) -> None:
        """Record how far a call got; a failure is logged (the renewal writes it back)."""
        lease = self._leases.get(call.call_id)
        if lease is None:
            await trio.lowlevel.checkpoint()
            return
        lease.state = state
        try:
            await self.store.set_call_state(call.call_id, owner=self.owner, state=state)
        except WebhookStoreError as exc:
            self._store_failed(f"call {call.call_id}: recording {state!r} failed", exc)

    async def abandon(self, call_id: str) -> None:
        """Forget a call claimed but not started (shutting down), for OpenAI's retry.

        Raises:
            WebhookStoreError: the store did not answer.
        """
        self._leases.pop(call_id, None)
        await self.store.release_call(call_id, owner=self.owner, how="abandoned")

    async def release(self, call_id: str, how: Release) -> None:
        """Let a call go when its task ends (shielded: it runs while cancelled too)."""
        if self._leases.pop(call_id, None) is None:
            await trio.lowlevel.checkpoint()
            return
        with trio.CancelScope(shield=True):  # bounded by the store's timeout
            try:
                await self.store.release_call(call_id, owner=self.owner, how=how)
            except WebhookStoreError as exc:
                # The lease expires on its own: another instance then finds the
                # call ended (its takeover's sideband is refused) or takes it.
                self._store_failed(f"call {call_id}: releasing it failed", exc)

    def forget(self, call_id: str) -> None:
        """Stop renewing a call another instance owns now."""
        self._leases.pop(call_id, None)

    def adopt(self, leased: LeasedCall) -> None:
        """Renew a call taken over from now on."""
        self._leases[leased.call_id] = _Lease(
            leased.state, leased.event_json, leased.webhook_id
        )

    # --- the task -------------------------------------------------------------------

    async def run(self, host: LeaseHost) -> None:
        """Renew and take over every `interval` until cancelled; never raises `Exception`."""
        while True:
            await trio.sleep(self.interval)
            try:
                await self.tick(host)
            except WebhookStoreError as exc:
                self._store_failed("renewing the call leases failed", exc)
            else:
                if self._failing:
                    self._failing = False
                    logger.warning("the shared store answers again")

    async def tick(self, host: LeaseHost) -> None:
        """Renew this instance's leases, then take over expired ones.

        Raises:
            WebhookStoreError: the store did not answer.
        """
        results = await self.store.renew_leases(self.owner, list(self._leases))
        for call_id, result in results.items():
            lease = self._leases.get(call_id)
            if lease is None or result == "renewed":
                continue
            if result == "missing" and await self.store.restore_lease(
                call_id,
                owner=self.owner,
                state=lease.state,
                event_json=lease.event_json,
                webhook_id=lease.webhook_id,
            ):
                logger.warning("call %s: the store had forgotten it; restored", call_id)
                continue
            logger.warning("call %s: another instance has taken it over", call_id)
            self.forget(call_id)
            host.lose_call(call_id)
        free = host.free_slots()
        if free < 1:
            return
        for leased in await self.store.take_expired(self.owner, free):
            self._take(host, leased)

    def _take(self, host: LeaseHost, leased: LeasedCall) -> None:
        try:
            event = parse_webhook_event(leased.event_json)
        except MalformedPayloadError:  # pragma: no cover - only we write records
            event = None
        if not isinstance(event, RealtimeCallIncoming):
            logger.error("call %s: its stored event is unreadable", leased.call_id)
            return
        self.adopt(leased)
        if not host.resume_call(leased, event):
            self.forget(leased.call_id)
            return
        self._counters.calls_taken_over += 1
        logger.warning(
            "call %s taken over (%s) from %s",
            leased.call_id,
            leased.state,
            leased.previous_owner or "a handover",
        )

    def _store_failed(self, what: str, exc: WebhookStoreError) -> None:
        self._counters.store_errors += 1
        if self._failing:
            logger.debug("%s: %s", what, exc)
        else:
            self._failing = True
            logger.error("%s: %s", what, exc)


__all__ = ["LeaseHost", "LeaseKeeper", "new_owner_id"]
