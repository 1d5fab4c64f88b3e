"""The simulator's memory is bounded: a bounded history per connection, ended ones let go."""

from __future__ import annotations

import gc
import weakref

import pytest
import trio
import trio.testing

from realtime_trio.audio import encode_audio
from realtime_trio.testing import RealtimeSimulator, Rule, Say, Scenario, tone
from tests.helpers.simulator import memory_connect, recv, send, until

APPEND = {"type": "input_audio_buffer.append", "audio": encode_audio(tone(100))}
NO_VAD = {
    "type": "session.update",
    "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
}


async def _one_connection(
    nursery: trio.Nursery, sim: RealtimeSimulator, appends: int = 0
) -> None:
    ws = await memory_connect(nursery, sim)
    await recv(ws)
    record = sim.connections[-1]
    await send(ws, NO_VAD)
    for _ in range(appends):
        await send(ws, APPEND)
    await send(ws, {"type": "response.create"})
    await until(ws, "response.done")
    await ws.aclose()
    with trio.fail_after(10):
        await record.closed.wait()
    await trio.testing.wait_all_tasks_blocked()


async def test_a_record_keeps_the_last_events_only(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    scenario = Scenario(rules=[Rule(steps=[Say(text="a long answer " * 20)])])
    sim = RealtimeSimulator(scenario=scenario, history=5)
    await _one_connection(nursery, sim, appends=30)
    (record,) = sim.connections
    assert len(record.client_events) == 5
    assert (
        record.client_event_count == 32
    )  # session.update, 30 appends, response.create
    assert [e.TYPE for e in record.client_events][-1] == "response.create"
    assert len(record.server_events) == 5
    assert record.server_event_count > 100
    assert record.server_event_types()[-1] == "response.done"
    # The session, as last reported, is kept whatever the history.
    assert record.session["audio"]["input"]["turn_detection"] is None


async def test_audio_deltas_are_kept_without_their_audio(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    await _one_connection(nursery, sim, appends=2)
    (record,) = sim.connections
    deltas = record.events_of_type("response.output_audio.delta")
    assert deltas and all(d.delta == "" for d in deltas)  # type: ignore[union-attr]
    # The client's audio is kept (tests add up what was appended).
    appended = [e for e in record.client_events if APPEND["type"] == e.TYPE]
    assert [e.audio for e in appended] == [APPEND["audio"]] * 2  # type: ignore[attr-defined]


async def test_ended_connections_beyond_keep_ended_are_let_go(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(keep_ended=2)
    for _ in range(5):
        await _one_connection(nursery, sim)
    assert [r.index for r in sim.connections] == [3, 4]
    assert [r.index for r in await sim.wait_connections(5)] == [3, 4]
    forgetful = RealtimeSimulator(keep_ended=0)
    await _one_connection(nursery, forgetful)
    assert forgetful.connections == []


async def test_an_ended_connection_releases_its_session(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(keep_ended=0)
    ws = await memory_connect(nursery, sim)
    await recv(ws)
    (record,) = sim.connections
    (served,) = sim._live.values()
    session = weakref.ref(served.session)
    del served
    await ws.aclose()
    with trio.fail_after(10):
        await record.closed.wait()
    await trio.testing.wait_all_tasks_blocked()
    assert sim.connections == [] and not sim._live
    gc.collect()
    assert session() is None


@pytest.mark.parametrize("option", ["history", "keep_ended"])
def test_the_bounds_cannot_be_negative(option: str) -> None:
    with pytest.raises(ValueError, match=f"{option} must be >= 0"):
        RealtimeSimulator(**{option: -1})  # type: ignore[arg-type]
