"""The handler and decider of the ``sip-serve`` subprocess in test_redis_takeover.py."""

from __future__ import annotations

import trio

from realtime_trio import calls


async def handler(call: calls.IncomingCall) -> None:
    """Hold the call until it ends."""
    async for _ in call.connection:
        pass


async def decide_never(call: calls.IncomingCall) -> None:
    """Never decide: the call stays claimed, not accepted, until the instance dies."""
    await trio.sleep_forever()
