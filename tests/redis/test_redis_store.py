"""`RedisWebhookIdStore` against a real ``redis-server``: ids, claims, leases, failures."""

from __future__ import annotations

import subprocess
import sys

import coredis
import pytest
import trio

from realtime_trio.webhooks import (
    AsyncWebhookIdStore,
    RedisWebhookIdStore,
    WebhookStoreError,
)
from tests.helpers.redis_server import RedisServer


def _store(server: RedisServer, **kwargs: float) -> RedisWebhookIdStore:
    return RedisWebhookIdStore.from_url(server.url, **kwargs)


async def test_webhook_ids_are_shared_between_instances(
    redis_server: RedisServer,
) -> None:
    async with _store(redis_server) as a, _store(redis_server) as b:
        store: AsyncWebhookIdStore = a
        assert await store.seen("wh_1", now=0) is False
        assert await b.seen("wh_1", now=0) is True  # another instance's client
        await b.forget("wh_1")
        assert await a.seen("wh_1", now=0) is False
        # SET NX EX: the id expires on Redis's clock after ``ttl``.
        async with coredis.Redis.from_url(redis_server.url) as client:
            ttl = await client.ttl(a.prefix + "webhook:wh_1")
        assert 0 < ttl <= 72 * 3600


async def test_a_call_is_claimed_once_however_deliveries_race(
    redis_server: RedisServer,
) -> None:
    async with _store(redis_server) as a, _store(redis_server) as b:
        wins: list[bool] = []

        async def claim(
            store: RedisWebhookIdStore, webhook_id: str, owner: str
        ) -> None:
            new = await store.claim_call(
                "rtc_1", webhook_id=webhook_id, event_json="{}", owner=owner
            )
            wins.append(new)

        async with trio.open_nursery() as nursery:
            for i in range(10):
                # the same webhook to both instances, and the call under a second id
                nursery.start_soon(claim, a, "wh_1", "A")
                nursery.start_soon(claim, b, "wh_1", "B")
                nursery.start_soon(claim, b, f"wh_other_{i}", "B")
        assert sorted(wins) == [False] * 29 + [True]
        # Every webhook id was remembered too.
        assert await a.seen("wh_other_3", now=0) is True


async def test_leases_renew_expire_and_are_taken_once(
    redis_server: RedisServer,
) -> None:
    async with (
        _store(redis_server, lease_ttl=0.3) as a,
        _store(redis_server, lease_ttl=0.3) as b,
    ):
        assert await a.claim_call("rtc_1", webhook_id="wh", event_json="{}", owner="A")
        assert await a.set_call_state("rtc_1", owner="A", state="accepted")
        assert not await b.set_call_state("rtc_1", owner="B", state="claimed")
        assert await a.renew_leases("A", ["rtc_1", "rtc_unknown"]) == {
            "rtc_1": "renewed",
            "rtc_unknown": "missing",
        }
        assert await b.take_expired("B", 10) == []  # not expired yet
        await trio.sleep(0.4)  # A stops renewing: the lease expires
        taken: list[object] = []

        async def take(owner: str) -> None:
            taken.extend(await b.take_expired(owner, 10))

        async with trio.open_nursery() as nursery:
            for owner in ("B", "C", "D", "E"):
                nursery.start_soon(take, owner)
        (leased,) = taken  # one taker wins
        assert leased.call_id == "rtc_1"  # type: ignore[attr-defined]
        assert leased.state == "accepted"  # type: ignore[attr-defined]
        assert leased.previous_owner == "A"  # type: ignore[attr-defined]
        assert (await a.renew_leases("A", ["rtc_1"]))["rtc_1"] == "lost"


async def test_release_ended_handed_over_and_abandoned(
    redis_server: RedisServer,
) -> None:
    async with _store(redis_server, lease_ttl=30) as store:
        for call_id in ("rtc_end", "rtc_hand", "rtc_drop"):
            assert await store.claim_call(
                call_id, webhook_id="wh_" + call_id, event_json="{}", owner="A"
            )
        await store.release_call("rtc_end", owner="A", how="ended")
        await store.release_call("rtc_hand", owner="A", how="handed_over")
        await store.release_call("rtc_drop", owner="A", how="abandoned")
        await store.release_call("rtc_drop", owner="B", how="ended")  # not B's: no-op
        # Handed over: its lease expired at once; ended: never taken again.
        (leased,) = await store.take_expired("B", 10)
        assert (leased.call_id, leased.previous_owner) == ("rtc_hand", "")
        # Ended: a tombstone, so a late delivery is a duplicate.
        assert not await store.claim_call(
            "rtc_end", webhook_id="wh_late", event_json="{}", owner="B"
        )
        # Abandoned: forgotten with its webhook id, so OpenAI's retry is new.
        assert await store.claim_call(
            "rtc_drop", webhook_id="wh_rtc_drop", event_json="{}", owner="B"
        )


async def test_a_forgotten_lease_is_restored(redis_server: RedisServer) -> None:
    async with _store(redis_server) as store:
        assert await store.claim_call(
            "rtc_1", webhook_id="wh", event_json="{}", owner="A"
        )
        redis_server.restart()  # no persistence: every key is gone
        assert await store.renew_leases("A", ["rtc_1"]) == {"rtc_1": "missing"}
        assert await store.restore_lease(
            "rtc_1", owner="A", state="accepted", event_json="{}", webhook_id="wh"
        )
        assert not await store.restore_lease(
            "rtc_1", owner="B", state="accepted", event_json="{}", webhook_id="wh"
        )
        assert await store.renew_leases("A", ["rtc_1"]) == {"rtc_1": "renewed"}
        assert await store.seen("wh", now=0) is False  # webhook ids were lost


async def test_failures_are_webhook_store_errors_that_hide_the_password() -> None:
    password = "s3cret-redis-passw0rd"
    with RedisServer(password=password) as server:
        url = f"redis://:{password}@127.0.0.1:{server.port}/0"
        async with RedisWebhookIdStore.from_url(url, timeout=0.5) as store:
            await store.ping()
            server.pause()  # frozen: the answer never comes
            try:
                with trio.fail_after(5):
                    with pytest.raises(WebhookStoreError, match=r"within 0\.5 s"):
                        await store.seen("wh_1", now=0)
            finally:
                server.resume()
            server.stop()
            with trio.fail_after(5):
                with pytest.raises(WebhookStoreError) as stopped:
                    await store.claim_call(
                        "rtc_1", webhook_id="wh", event_json="{}", owner="A"
                    )
        wrong = f"redis://:not-the-{password}@127.0.0.1:{server.port}/0"
        server.start()
        async with RedisWebhookIdStore.from_url(wrong) as store:
            with pytest.raises(WebhookStoreError) as refused:
                await store.ping()
    for exc in (stopped.value, refused.value):
        assert password not in str(exc) and password not in repr(exc)


async def test_a_client_entered_by_the_caller(redis_server: RedisServer) -> None:
    async with coredis.Redis.from_url(redis_server.url) as client:
        store = RedisWebhookIdStore(client, prefix="app:")
        assert await store.seen("wh_1", now=0) is False  # bytes replies work too
        async with store:  # optional, and leaves the client open
            pass
        assert await client.get("app:webhook:wh_1") == b"1"
        assert await store.claim_call("rtc", webhook_id="w", event_json="{}", owner="A")
        await store.release_call("rtc", owner="A", how="handed_over")
        (leased,) = await store.take_expired("B", 1)
        assert leased.call_id == "rtc"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="redis://"):
        RedisWebhookIdStore.from_url("http://127.0.0.1:6379")
    for bad in ({"lease_ttl": 0}, {"timeout": float("inf")}, {"ttl": 0.5}):
        with pytest.raises(ValueError):
            RedisWebhookIdStore.from_url("redis://127.0.0.1:1/0", **bad)


def test_importing_the_package_never_needs_coredis() -> None:
    code = (
        "import sys, realtime_trio, realtime_trio.webhooks, realtime_trio.calls\n"
        "from realtime_trio.webhooks import *\n"
        "assert 'coredis' not in sys.modules, 'coredis imported'\n"
        "from realtime_trio.webhooks import RedisWebhookIdStore\n"
        "assert 'coredis' in sys.modules\n"
        "assert RedisWebhookIdStore.__module__ == 'realtime_trio.webhooks'\n"
        "assert 'RedisWebhookIdStore' in dir(realtime_trio.webhooks)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
