"""Two SIP call servers sharing one Redis: a call survives the instance that answered it.

Starts two ``realtime-trio sip-serve`` instances against the local simulator,
both with ``--redis-url``; places one call to the first; kills that instance
with SIGKILL in the middle of the call; and shows the second one taking the
call over (``call.resumed``) and going on from the state the handler kept in
the same Redis. Needs a Redis server and the ``redis`` extra::

    pip install 'realtime-trio[redis]'
    redis-server --port 6379 &
    python docs/examples/several_instances.py --redis-url redis://127.0.0.1:6379/0

``handler`` below is what each instance runs for each call
(``--handler docs/examples/several_instances.py:handler``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import coredis
import trio

from realtime_trio import events
from realtime_trio.calls import IncomingCall
from realtime_trio.testing import RealtimeSimulator, Rule, Say, Scenario, open_simulator

SECRET = "whsec_ZXhhbXBsZS1zZWNyZXQtZm9yLXR3by1pbnN0YW5jZXM="
API_KEY = "sk-example"
HERE = Path(__file__).resolve()
LEASE_SECONDS = 1.0  # a dead instance's calls are taken over within ~1.3 s


async def handler(call: IncomingCall) -> None:
    """Greet a new call; on a resumed one, go on from what the last instance saved.

    No API lists a call's conversation: a resumed handler knows only what
    the application stored. Here that is a hash in the same Redis, per call.
    """
    url = os.environ["REALTIME_TRIO_REDIS_URL"]
    async with coredis.Redis.from_url(url, decode_responses=True) as redis:
        key = f"app:call:{call.call_id}"
        if call.resumed:
            saved = await redis.hgetall(key)
            await redis.hincrby(key, "resumed", 1)
            instructions = (
                "Say sorry for the pause. You were helping with: "
                + saved.get("topic", "their question")
            )
        else:
            await redis.hset(key, {"caller": call.caller or "", "topic": "order A123"})
            await redis.expire(key, 3600)
            instructions = "Greet the caller and ask for their order number."
        await call.connection.create_response(
            events.ResponseCreateParams(instructions=instructions)
        )
        async for event in call.connection:
            if isinstance(event, events.ResponseOutputAudioTranscriptDone):
                await redis.hset(key, {"last_said": event.transcript})


async def start_instance(
    sim: RealtimeSimulator, redis_url: str
) -> tuple[trio.Process, str]:
    """``realtime-trio sip-serve --redis-url`` in a process of its own; its webhook URL."""
    env = {
        **os.environ,
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_WEBHOOK_SECRET": SECRET,
        "REALTIME_TRIO_REDIS_URL": redis_url,
    }
    command = [
        sys.executable, "-m", "realtime_trio", "sip-serve", "--port", "0",
        "--api-base", sim.base_url, "--realtime-url", sim.url,
        "--lease-seconds", str(LEASE_SECONDS),
        "--handler", f"{HERE}:handler",
    ]  # fmt: skip
    process = await trio.lowlevel.open_process(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert process.stdout is not None
    line = b""
    while not line.endswith(b"\n"):
        chunk = await process.stdout.receive_some(1)
        if not chunk:
            raise RuntimeError("sip-serve exited at start (is Redis running?)")
        line += chunk
    return process, line.decode().strip()


async def main(argv: Sequence[str]) -> int:
    """Two instances, one Redis, one simulated call, one killed instance."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args(argv)
    scenario = Scenario(rules=[Rule(steps=[Say(text="Hello! Your order number?")])])
    async with open_simulator(scenario=scenario) as sim:
        first, first_url = await start_instance(sim, args.redis_url)
        second, _ = await start_instance(sim, args.redis_url)
        try:
            with trio.fail_after(30):
                call_id = await sim.place_sip_call(first_url, SECRET)
                print(
                    f"call placed to the first instance: {sim.calls[call_id].webhook_status}"
                )
                (sideband,) = await sim.wait_connections(1)
                async with coredis.Redis.from_url(
                    args.redis_url, decode_responses=True
                ) as redis:
                    key = f"app:call:{call_id}"
                    while not await redis.hget(key, "last_said"):  # noqa: ASYNC110
                        await trio.sleep(0.05)  # mid-call: it has said something
                    first.send_signal(signal.SIGKILL)
                await first.wait()
                print("first instance killed (SIGKILL)")
                await sideband.closed.wait()
                (_, resumed) = await sim.wait_connections(2)  # the second's sideband
                assert resumed.call_id == call_id
                print("the second instance re-attached a sideband to the call")
                async with coredis.Redis.from_url(
                    args.redis_url, decode_responses=True
                ) as redis:
                    while not await redis.hget(key, "resumed"):  # noqa: ASYNC110
                        await trio.sleep(0.05)  # the resumed handler read its state
                    print(
                        f"state it resumed from: topic={await redis.hget(key, 'topic')}"
                    )
                await sim.hang_up(call_id)
                print("the call went: " + " -> ".join(sim.calls[call_id].history))
        finally:
            for process in (first, second):
                if process.returncode is None:
                    process.terminate()
                    await process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(trio.run(main, sys.argv[1:]))
