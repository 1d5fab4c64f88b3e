"""Call leases: what a shared store offers so several SIP servers share their calls.

A store that implements `CallLeaseStore` besides `AsyncWebhookIdStore`
(`~realtime_trio.webhooks.RedisWebhookIdStore` does) lets the call server
claim each call once across instances and take over the calls of an
instance that died. Each call then has a record in the store::

    call id -> owner (an instance id), state, the webhook event, its webhook-id
    leases   -> call id scored by its lease's expiry (the store's clock)

and moves through these states (the instance that owns it writes them)::

    claimed ──▶ accepting ──▶ accepted ──▶ ended (a tombstone: no event, no lease)

The owner renews the leases of its calls every `CallLeaseStore.lease_ttl`
/ 3 seconds. A lease that expires (its owner was killed, or handed the call
over) can be taken by any instance, atomically: one taker wins. A taker
that finds ``claimed`` knows no accept was sent and sets the call up from
the start; ``accepting`` or ``accepted`` means it may be up, so the taker
re-attaches a sideband and runs the handler with ``call.resumed`` true.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, TypeAlias, runtime_checkable

import attrs

#: A call's state in the store.
LeaseState: TypeAlias = Literal["claimed", "accepting", "accepted"]
#: What `CallLeaseStore.renew_leases` says of each call.
RenewResult: TypeAlias = Literal["renewed", "lost", "missing"]
#: How `CallLeaseStore.release_call` lets a call go.
Release: TypeAlias = Literal["ended", "handed_over", "abandoned"]


@attrs.frozen
class LeasedCall:
    """A call whose expired lease an instance just took (`CallLeaseStore.take_expired`).

    Attributes:
        call_id: The ``rtc_...`` call id.
        state: Its state when the lease was taken.
        event_json: The verified ``realtime.call.incoming`` event, as JSON.
        webhook_id: The ``webhook-id`` that announced it.
        previous_owner: The instance that held it ("" if it was handed over).
    """

    call_id: str
    state: LeaseState
    event_json: str
    webhook_id: str
    previous_owner: str


@runtime_checkable
class CallLeaseStore(Protocol):
    """Call claims and leases shared by several SIP servers (see the module docstring).

    Every method raises `~realtime_trio.webhooks.WebhookStoreError` when the
    store cannot answer. ``owner`` is the id of one server instance.
    """

    lease_ttl: float

    async def claim_call(
        self, call_id: str, *, webhook_id: str, event_json: str, owner: str
    ) -> bool:
        """Claim a new call and remember its ``webhook_id``, atomically.

        Returns:
            True if the call is now ``owner``'s (``claimed``, leased); False
            if it was claimed before (under this or another webhook id).
        """
        ...

    async def set_call_state(
        self, call_id: str, *, owner: str, state: LeaseState
    ) -> bool:
        """Record a call's new state; False if ``owner`` no longer owns it."""
        ...

    async def renew_leases(
        self, owner: str, call_ids: Sequence[str]
    ) -> dict[str, RenewResult]:
        """Extend the leases of ``owner``'s calls, in one round trip.

        Returns, for each call: ``renewed``; ``lost`` (another instance owns
        it now: stop controlling it); ``missing`` (the store forgot it, as
        a restarted Redis without persistence does: `restore_lease` it).
        """
        ...

    async def restore_lease(
        self,
        call_id: str,
        *,
        owner: str,
        state: LeaseState,
        event_json: str,
        webhook_id: str,
    ) -> bool:
        """Write back the record of a call the store forgot; False if another has it now."""
        ...

    async def take_expired(self, owner: str, limit: int) -> list[LeasedCall]:
        """Take up to ``limit`` calls whose lease expired; each is ``owner``'s afterwards."""
        ...

    async def release_call(self, call_id: str, *, owner: str, how: Release) -> None:
        """Let a call go, if ``owner`` still owns it.

        ``ended``: it is over (a tombstone stays, so a late delivery of it is
        a duplicate). ``handed_over``: its lease expires now, for another
        instance to take. ``abandoned``: it was claimed but never started
        (shutting down): forget it and its webhook id, so OpenAI's retry
        finds it new.
        """
        ...


__all__ = ["CallLeaseStore", "LeaseState", "LeasedCall", "Release", "RenewResult"]
