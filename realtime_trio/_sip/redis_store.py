"""`RedisWebhookIdStore`: webhook ids and call leases shared by several instances, in Redis.

It is an `~realtime_trio.webhooks.AsyncWebhookIdStore` (``seen`` is ``SET
key 1 NX EX ttl``) and a `.leases.CallLeaseStore`: each operation on calls
is one Lua script, so it is atomic on the Redis server, and leases are
timed by the Redis server's clock (``TIME``), never by the instances'.

Keys, under ``prefix`` (``{realtime-trio}:`` by default; the braces are a
Redis Cluster hash tag, so every key lives in one slot and the scripts run
on a cluster too)::

    {prefix}webhook:{webhook_id}   "1", expires after ``ttl``
    {prefix}call:{call_id}         hash: owner, state, event, webhook_id, takeovers
    {prefix}leases                 sorted set: call id -> lease expiry (ms)

The client is coredis, which runs on trio through anyio (docs/explanation/
design.rst, "Dependencies"); it is imported only by this module, so only
``realtime_trio.webhooks.RedisWebhookIdStore`` needs the ``redis`` extra.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Sequence
from types import TracebackType
from typing import Any, Final, Self, TypeAlias, TypeVar, cast

import coredis
import coredis.exceptions
import trio

from .._webhooks.dedup import DEFAULT_WEBHOOK_ID_TTL, WebhookStoreError
from .leases import LeasedCall, LeaseState, Release, RenewResult

#: The default key prefix (a Redis Cluster hash tag: one slot for every key).
DEFAULT_PREFIX: Final = "{realtime-trio}:"
#: The default lease of a call, in seconds: an instance killed is noticed within ~4/3 of it.
DEFAULT_LEASE_TTL: Final = 5.0
#: The default bound on each Redis operation, in seconds.
DEFAULT_TIMEOUT: Final = 2.0

_T = TypeVar("_T")
_Arg: TypeAlias = str | int

# Every script reads the Redis server's clock, in milliseconds.
_NOW: Final = (
    "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "
)

# KEYS: leases, call, webhook. ARGV: owner, lease ms, ttl s, event, webhook id, call id.
_CLAIM: Final = (
    _NOW
    + """
redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[2], 'owner', ARGV[1], 'state', 'claimed', 'event', ARGV[4],
           'webhook_id', ARGV[5], 'takeovers', 0)
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[6])
return 1
"""
)
# KEYS: call. ARGV: owner, state.
_SET_STATE: Final = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
return 1
"""
# KEYS: leases. ARGV: owner, lease ms, prefix, call ids... Returns 1 renewed, 0 lost, -1 missing.
_RENEW: Final = (
    _NOW
    + """
local out = {}
for i = 4, #ARGV do
  local owner = redis.call('HGET', ARGV[3] .. 'call:' .. ARGV[i], 'owner')
  if owner == ARGV[1] then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[i])
    out[#out + 1] = 1
  elseif owner then out[#out + 1] = 0
  else out[#out + 1] = -1 end
end
return out
"""
)
# KEYS: leases, call. ARGV: owner, lease ms, ttl s, state, event, webhook id, call id.
_RESTORE: Final = (
    _NOW
    + """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[2], 'owner', ARGV[1], 'state', ARGV[4], 'event', ARGV[5],
           'webhook_id', ARGV[6], 'takeovers', 0)
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[7])
return 1
"""
)
# KEYS: leases. ARGV: owner, lease ms, prefix, limit. Returns {id, state, event, webhook id, owner}...
_TAKE: Final = (
    _NOW
    + """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[3] .. 'call:' .. id
  local r = redis.call('HMGET', key, 'state', 'event', 'webhook_id', 'owner')
  if r[1] and r[2] and r[1] ~= 'ended' then
    redis.call('HSET', key, 'owner', ARGV[1])
    redis.call('HINCRBY', key, 'takeovers', 1)
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    out[#out + 1] = {id, r[1], r[2], r[3] or '', r[4] or ''}
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""
)
# KEYS: leases, call, webhook. ARGV: owner, how, ttl s, call id.
_RELEASE: Final = """
if redis.call('HGET', KEYS[2], 'owner') ~= ARGV[1] then return 0 end
if ARGV[2] == 'handed_over' then
  redis.call('HSET', KEYS[2], 'owner', '')
  redis.call('ZADD', KEYS[1], 0, ARGV[4])
elseif ARGV[2] == 'abandoned' then
  if redis.call('HGET', KEYS[2], 'state') ~= 'claimed' then return 0 end
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('ZREM', KEYS[1], ARGV[4])
else
  redis.call('HSET', KEYS[2], 'state', 'ended')
  redis.call('HDEL', KEYS[2], 'event')
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  redis.call('ZREM', KEYS[1], ARGV[4])
end
return 1
"""
_RENEW_RESULTS: Final[dict[int, RenewResult]] = {1: "renewed", 0: "lost", -1: "missing"}


class RedisWebhookIdStore:
    """Webhook ids and call leases in Redis, shared by several SIP call servers.

    Give it to each `~realtime_trio.calls.SipCallServer` as ``store=``:
    instances sharing one Redis then accept each call at most once, however
    its deliveries race, and take over the calls of an instance that died
    (see the "Running several instances" guide). It is also an
    `AsyncWebhookIdStore` for webhook handlers of your own.

    ::

        async with RedisWebhookIdStore.from_url("redis://127.0.0.1:6379/0") as store:
            async with calls.open_sip_server(handler, store=store) as server:
                ...

    or with a coredis client you entered yourself: ``RedisWebhookIdStore(client)``
    (then ``async with`` the store is optional and leaves the client open).
    Needs the ``redis`` extra: ``pip install 'realtime-trio[redis]'``.

    Args:
        client: An entered ``coredis.Redis`` (or ``RedisCluster``) client.
        prefix: Put before every key. The default is a hash tag, so every
            key is in one Redis Cluster slot.
        ttl: Seconds a ``webhook-id``, and the record of an ended call, are
            remembered (72 hours: OpenAI's retry window).
        lease_ttl: Seconds a call's lease lasts unless its owner renews it
            (every ``lease_ttl / 3``). An instance killed is noticed, and its
            calls taken over, within about ``4/3 * lease_ttl``. Give every
            instance the same value.
        timeout: Bound on each Redis operation, in seconds (the webhook is
            answered 503 past it).

    Raises:
        ValueError: a bad ``ttl``, ``lease_ttl`` or ``timeout``.
    """

    def __init__(
        self,
        client: coredis.Redis[Any] | coredis.RedisCluster[Any],
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl: float = DEFAULT_WEBHOOK_ID_TTL,
        lease_ttl: float = DEFAULT_LEASE_TTL,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        for name, value in (
            ("ttl", ttl),
            ("lease_ttl", lease_ttl),
            ("timeout", timeout),
        ):
            if not (
                isinstance(value, int | float) and value > 0 and math.isfinite(value)
            ):
                raise ValueError(
                    f"{name} must be a positive number of seconds, not {value!r}"
                )
        if ttl < 1:
            raise ValueError(f"ttl must be at least 1 second, not {ttl!r}")
        self.prefix: Final = prefix
        self.ttl: Final = ttl
        self.lease_ttl: float = lease_ttl
        self.timeout: Final = timeout
        self._client = client
        self._owns_client = False
        self._leases_key = prefix + "leases"
        register = client.register_script
        self._claim = register(_CLAIM)
        self._set_state = register(_SET_STATE)
        self._renew = register(_RENEW)
        self._restore = register(_RESTORE)
        self._take = register(_TAKE)
        self._release = register(_RELEASE)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl: float = DEFAULT_WEBHOOK_ID_TTL,
        lease_ttl: float = DEFAULT_LEASE_TTL,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> RedisWebhookIdStore:
        """A store with a client of its own, for ``redis://HOST:PORT/DB`` (``rediss://`` for TLS).

        Use it as ``async with``: entering opens the client, leaving closes it.
        The other arguments are the constructor's.

        Raises:
            ValueError: ``url`` is not a Redis URL, or a bad option.
        """
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                "expected a redis://HOST:PORT/DB URL (or rediss://, unix://)"
            )
        client = coredis.Redis.from_url(
            url,
            decode_responses=True,
            connect_timeout=timeout,
            stream_timeout=timeout,
        )
        store = cls(
            client, prefix=prefix, ttl=ttl, lease_ttl=lease_ttl, timeout=timeout
        )
        store._owns_client = True
        return store

    async def __aenter__(self) -> Self:
        if self._owns_client:
            await self._client.__aenter__()
        else:
            await trio.lowlevel.checkpoint()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._owns_client:
            await self._client.__aexit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r}, lease_ttl={self.lease_ttl!r})"

    async def ping(self) -> None:
        """Check that Redis answers (``PING``).

        Raises:
            WebhookStoreError: it does not.
        """
        await self._run(self._client.ping())

    # --- AsyncWebhookIdStore ----------------------------------------------------

    async def seen(self, webhook_id: str, *, now: float) -> bool:
        """Check and remember ``webhook_id`` (``SET NX EX``); True if it was already there.

        ``now`` is not used: Redis expires the key on its own clock.

        Raises:
            WebhookStoreError: Redis did not answer.
        """
        created = await self._run(
            self._client.set(
                self._webhook_key(webhook_id),
                "1",
                condition=coredis.PureToken.NX,
                ex=math.ceil(self.ttl),
            )
        )
        return not created

    async def forget(self, webhook_id: str) -> None:
        """Forget ``webhook_id`` (``DEL``).

        Raises:
            WebhookStoreError: Redis did not answer.
        """
        await self._run(self._client.delete([self._webhook_key(webhook_id)]))

    # --- CallLeaseStore ---------------------------------------------------------

    async def claim_call(
        self, call_id: str, *, webhook_id: str, event_json: str, owner: str
    ) -> bool:
        """Claim a new call atomically; see `.leases.CallLeaseStore.claim_call`."""
        keys = [
            self._leases_key,
            self._call_key(call_id),
            self._webhook_key(webhook_id),
        ]
        args: list[_Arg] = [owner, self._lease_ms, self._ttl_s, event_json, webhook_id]
        return bool(await self._run(self._claim(keys=keys, args=[*args, call_id])))

    async def set_call_state(
        self, call_id: str, *, owner: str, state: LeaseState
    ) -> bool:
        """Record a call's state; see `.leases.CallLeaseStore.set_call_state`."""
        keys = [self._call_key(call_id)]
        return bool(await self._run(self._set_state(keys=keys, args=[owner, state])))

    async def renew_leases(
        self, owner: str, call_ids: Sequence[str]
    ) -> dict[str, RenewResult]:
        """Extend leases in one round trip; see `.leases.CallLeaseStore.renew_leases`."""
        if not call_ids:
            await trio.lowlevel.checkpoint()
            return {}
        args: list[_Arg] = [owner, self._lease_ms, self.prefix, *call_ids]
        codes = cast(
            "list[int]",
            await self._run(self._renew(keys=[self._leases_key], args=args)),
        )
        return {
            call_id: _RENEW_RESULTS[int(code)]
            for call_id, code in zip(call_ids, codes, strict=True)
        }

    async def restore_lease(
        self,
        call_id: str,
        *,
        owner: str,
        state: LeaseState,
        event_json: str,
        webhook_id: str,
    ) -> bool:
        """Write back a forgotten call; see `.leases.CallLeaseStore.restore_lease`."""
        keys = [self._leases_key, self._call_key(call_id)]
        args: list[_Arg] = [owner, self._lease_ms, self._ttl_s, state, event_json]
        args += [webhook_id, call_id]
        return bool(await self._run(self._restore(keys=keys, args=args)))

    async def take_expired(self, owner: str, limit: int) -> list[LeasedCall]:
        """Take calls whose lease expired; see `.leases.CallLeaseStore.take_expired`."""
        if limit < 1:
            await trio.lowlevel.checkpoint()
            return []
        args: list[_Arg] = [owner, self._lease_ms, self.prefix, limit]
        rows = cast(
            "list[list[Any]]",
            await self._run(self._take(keys=[self._leases_key], args=args)),
        )
        taken = []
        for row in rows:
            call_id, state, event, webhook_id, previous = (_text(v) for v in row)
            taken.append(
                LeasedCall(
                    call_id=call_id,
                    state=cast("LeaseState", state),
                    event_json=event,
                    webhook_id=webhook_id,
                    previous_owner=previous,
                )
            )
        return taken

    async def release_call(self, call_id: str, *, owner: str, how: Release) -> None:
        """Let a call go; see `.leases.CallLeaseStore.release_call`."""
        webhook_id = ""
        if how == "abandoned":
            webhook_id = _text(
                await self._run(
                    self._client.hget(self._call_key(call_id), "webhook_id")
                )
                or ""
            )
        keys = [
            self._leases_key,
            self._call_key(call_id),
            self._webhook_key(webhook_id),
        ]
        await self._run(
            self._release(keys=keys, args=[owner, how, self._ttl_s, call_id])
        )

    # --- helpers ------------------------------------------------------------------

    @property
    def _ttl_s(self) -> int:
        return math.ceil(self.ttl)

    @property
    def _lease_ms(self) -> int:
        return max(1, round(self.lease_ttl * 1000))

    def _webhook_key(self, webhook_id: str) -> str:
        return f"{self.prefix}webhook:{webhook_id}"

    def _call_key(self, call_id: str) -> str:
        return f"{self.prefix}call:{call_id}"

    async def _run(self, request: Awaitable[_T]) -> _T:
        """Await one Redis request, bounded by ``timeout``; its failures as `WebhookStoreError`."""
        try:
            with trio.fail_after(self.timeout):
                return await request
        except trio.TooSlowError:
            raise WebhookStoreError(
                f"Redis did not answer within {self.timeout:g} s"
            ) from None
        except coredis.exceptions.RedisError as exc:
            # coredis's messages name the host and port, never the password.
            raise WebhookStoreError(
                f"Redis failed: {type(exc).__name__}: {exc}"
            ) from exc
        except OSError as exc:
            raise WebhookStoreError(
                f"Redis unreachable: {exc.strerror or exc}"
            ) from exc


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


__all__ = [
    "DEFAULT_LEASE_TTL",
    "DEFAULT_PREFIX",
    "DEFAULT_TIMEOUT",
    "RedisWebhookIdStore",
]
