"""``sideband_grace``: a SIP call outlives a dropped sideband for a while and takes a new one."""

from __future__ import annotations

import pytest
import trio

from realtime_trio import ConnectionRejected, SessionConfig, calls, open_realtime
from realtime_trio.testing import RealtimeSimulator, open_simulator
from tests.helpers.sip import API_KEY, eventually


async def _accepted_call(sim: RealtimeSimulator) -> str:
    call_id = await sim.place_sip_call(None)
    async with calls.CallsClient(api_key=API_KEY, base_url=sim.base_url) as client:
        await client.accept(call_id, SessionConfig(instructions="Hi."))
    return call_id


async def _attach(sim: RealtimeSimulator, call_id: str) -> None:
    async with open_realtime(call_id=call_id, api_key=API_KEY, url=sim.url):
        pass


async def test_a_new_sideband_within_the_grace_keeps_the_call() -> None:
    async with open_simulator(sideband_grace=0.3) as sim:
        call_id = await _accepted_call(sim)
        with trio.fail_after(10):
            await _attach(sim, call_id)  # the first sideband goes away
            await trio.sleep(0.1)
            assert sim.calls[call_id].state == "accepted"
            async with open_realtime(call_id=call_id, api_key=API_KEY, url=sim.url):
                await trio.sleep(0.5)  # past the grace, but attached
                assert sim.calls[call_id].state == "accepted"
            # The last one closed: the call ends once the grace has passed.
            await eventually(lambda: sim.calls[call_id].state == "ended")
            with pytest.raises(ConnectionRejected) as refused:
                async with open_realtime(
                    call_id=call_id, api_key=API_KEY, url=sim.url, attach_attempts=1
                ):
                    pass
        assert refused.value.status_code == 404
        assert sim.calls[call_id].history == ["incoming", "accepted", "ended"]


async def test_without_a_grace_the_call_stays_up() -> None:
    async with open_simulator() as sim:
        call_id = await _accepted_call(sim)
        with trio.fail_after(10):
            await _attach(sim, call_id)
            await trio.sleep(0.3)
            assert sim.calls[call_id].state == "accepted"
            await _attach(sim, call_id)  # re-attaching works at any time


def test_a_negative_grace_is_refused() -> None:
    with pytest.raises(ValueError, match="sideband_grace"):
        RealtimeSimulator(sideband_grace=-1)
