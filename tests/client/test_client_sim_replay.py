"""The simulator through our own client: determinism, and record and replay of our client."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

import realtime_trio
from realtime_trio import ConnectionRejected, RealtimeConnection, events
from realtime_trio.audio import encode_audio
from realtime_trio.testing import (
    CallTool,
    RealtimeSimulator,
    Recorder,
    Replay,
    Rule,
    Scenario,
    load_recording,
    silence,
    tone,
)
from realtime_trio.testing._server import simulator as simulator_module
from tests.helpers.client_sim import (
    TEXT_ONLY,
    connect,
    receive_until,
    user_text,
    wait_closed,
    wire_types,
)

# --- determinism ----------------------------------------------------------------------------


async def _scripted_session(seed: int, nursery: trio.Nursery) -> list[dict[str, Any]]:
    """One connection's server events: a text turn, a function call, a spoken VAD turn."""
    scenario = Scenario(
        transcripts=["What time is it?"],
        rules=[
            Rule(text="tool", steps=[CallTool(name="clock", arguments={"tz": "UTC"})])
        ],
    )
    sim = RealtimeSimulator(seed=seed, scenario=scenario)
    async with connect(sim, nursery) as conn:
        received = await receive_until(conn, events.SessionCreated)
        await conn.create_item(user_text("Hello", "item_hello"))
        await conn.create_response()
        received += await receive_until(conn, events.ResponseDone)
        await conn.create_item(user_text("Use the tool", "item_tool"))
        await conn.create_response()
        received += await receive_until(conn, events.ResponseDone)
        await conn.send_audio(silence(300) + tone(700) + silence(400))
        received += await receive_until(conn, events.ResponseDone)
    return [realtime_trio.dump_event(e) for e in received]


async def test_same_seed_same_events(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The one input that is not the seed: expires_at is wall-clock time.
    frozen = types.SimpleNamespace(time=lambda: 1_900_000_000.0)
    monkeypatch.setattr(simulator_module, "time", frozen)
    first = await _scripted_session(7, nursery)
    second = await _scripted_session(7, nursery)
    other = await _scripted_session(8, nursery)
    assert len(first) > 60
    assert first == second
    assert first[0]["session"]["expires_at"] == 1_900_003_600
    assert [e["type"] for e in other] == [e["type"] for e in first]
    assert other[0]["session"]["id"] != first[0]["session"]["id"]
    audio = [e["delta"] for e in first if e["type"] == "response.output_audio.delta"]
    assert audio and audio != [
        e["delta"] for e in other if e["type"] == "response.output_audio.delta"
    ]


# --- record and replay --------------------------------------------------------------------


async def _recorded_conversation(
    conn: RealtimeConnection, recorder: Recorder | None
) -> list[Any]:
    """A conversation, recorded from the client's side; returns what was received."""
    received: list[Any] = []

    def sent(event: Any) -> None:
        if recorder is not None:
            recorder.record("client", event)

    async def drain(kind: type) -> None:
        got = await receive_until(conn, kind)
        for event in got:
            if recorder is not None:
                recorder.record("server", event)
        received.extend(got)

    await drain(events.SessionCreated)
    sent(events.SessionUpdate(session=TEXT_ONLY))
    await conn.update_session(TEXT_ONLY)
    await drain(events.SessionUpdated)
    item = user_text("Hello", "item_hello")
    sent(events.ConversationItemCreate(item=item))
    await conn.create_item(item)
    await drain(events.ConversationItemDone)
    sent(events.ResponseCreate())
    await conn.create_response()
    await drain(events.ResponseDone)
    pcm = silence(300) + tone(600) + silence(400)
    # One append in the recording; the client sends it in 100 ms frames.
    sent({"type": "input_audio_buffer.append", "audio": encode_audio(pcm)})
    await conn.send_audio(pcm)
    await drain(events.ResponseDone)
    return received


async def test_record_our_client_then_replay_it(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    path = tmp_path / "client.jsonl"
    (tmp_path / "server").mkdir()  # see test_record_dir_is_created_when_missing
    sim = RealtimeSimulator(record_dir=tmp_path / "server")
    with Recorder(path) as recorder:
        async with connect(sim, nursery) as conn:
            original = await _recorded_conversation(conn, recorder)
    await wait_closed(sim)
    recording = load_recording(path)
    assert [line.direction for line in recording[:2]] == ["server", "client"]
    assert sum(line.direction == "client" for line in recording) == 4
    # What our client received is exactly what the simulator recorded sending.
    server_side = load_recording(tmp_path / "server" / "connection-0000.jsonl")
    assert [line.event for line in server_side if line.direction == "server"] == [
        line.event for line in recording if line.direction == "server"
    ]

    replayer = RealtimeSimulator(scenario=Replay.load(path))
    async with connect(replayer, nursery) as conn:
        replayed = await _recorded_conversation(conn, None)
    assert wire_types(replayed) == wire_types(original)
    assert "input_audio_buffer.speech_started" in wire_types(replayed)
    assert [realtime_trio.dump_event(e) for e in replayed] == [
        realtime_trio.dump_event(e) for e in original
    ]
    # The replay matched the client's 100 ms appends against the one recorded.
    appends = [
        e
        for e in replayer.connections[0].client_events
        if isinstance(e, events.InputAudioBufferAppend)
    ]
    assert len(appends) == 13


async def test_a_helper_gets_a_server_error_for_what_the_replay_lacks(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    path = tmp_path / "client.jsonl"
    sim = RealtimeSimulator()
    with Recorder(path) as recorder:
        async with connect(sim, nursery) as conn:
            recorder.record("server", await conn.receive())
    strict = RealtimeSimulator(scenario=Replay.load(path, unrecorded="error"))
    async with connect(strict, nursery) as conn:
        with pytest.raises(realtime_trio.ServerError) as info:
            await conn.update_session({"type": "realtime", "instructions": "new"})
        assert info.value.code == "replay_unrecorded_event"
    # By default the event is ignored: the helper waits, until the caller's scope ends it.
    lenient = RealtimeSimulator(scenario=Replay.load(path))
    async with connect(lenient, nursery) as conn:
        with trio.move_on_after(5) as scope:
            await conn.update_session({"type": "realtime", "instructions": "new"})
        assert scope.cancelled_caught


async def test_record_dir_is_created_when_missing(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    sim = RealtimeSimulator(record_dir=tmp_path / "new")
    async with connect(sim, nursery) as conn:
        assert isinstance(await conn.receive(), events.SessionCreated)
    await wait_closed(sim)
    assert load_recording(tmp_path / "new" / "connection-0000.jsonl")[0].type == (
        "session.created"
    )


async def test_a_failure_to_start_a_session_is_an_http_500(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    sim = RealtimeSimulator(record_dir=not_a_directory)
    with pytest.raises(ConnectionRejected) as info:
        async with connect(sim, nursery):
            pytest.fail("served without its recording")  # pragma: no cover
    assert info.value.status_code == 500
    assert info.value.body.startswith(b'{"error"')
    assert isinstance(sim.connections[0].error, OSError)


async def test_open_realtime_records_its_own_connection(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    path = tmp_path / "ours.jsonl"
    sim = RealtimeSimulator()
    with Recorder(path) as recorder:
        async with connect(sim, nursery, session=TEXT_ONLY, recorder=recorder) as conn:
            await conn.create_item(user_text("hello there"))
            await conn.create_response()
            first = await receive_until(conn, events.ResponseDone)
    recorded = load_recording(path)
    directions = [(e.direction, e.type) for e in recorded]
    assert directions[0] == ("server", "session.created")
    assert ("client", "session.update") in directions
    assert ("client", "conversation.item.create") in directions
    assert ("client", "response.create") in directions
    assert directions.index(("client", "response.create")) < directions.index(
        ("server", "response.created")
    )
    assert [t for d, t in directions if d == "server"] == [
        type(e).TYPE for e in sim.connections[0].server_events
    ]
    assert first[-1].response.status == "completed"


# --- record and replay through the helpers --------------------------------------------------


async def _through_the_helpers(
    conn: RealtimeConnection, *, warm_up: bool
) -> dict[str, Any]:
    """update_session (rejected, then accepted), create_item, create_response.

    ``warm_up`` first sends one more request, which shifts the event ids of
    every later request: a new run with new ids.
    """
    with trio.fail_after(10):
        if warm_up:
            await conn.clear_audio()
        with pytest.raises(realtime_trio.ServerError) as rejected:
            await conn.update_session(
                {"type": "realtime", "audio": {"output": {"voice": "nobody"}}}
            )
        await conn.update_session(TEXT_ONLY)
        # No id: the helper gives the item a fresh random one, every run.
        added = await conn.create_item(user_text("Hello"))
        created = await conn.create_response()
    done = await receive_until(
        conn, events.ResponseDone, where=lambda e: e.response.id == created.id
    )
    return {
        "error": rejected.value.code,
        "item_id": added.id,
        "metadata": dict(created.metadata),
        "status": done[-1].response.status,
    }


@pytest.mark.parametrize("side", ["client", "simulator"])
async def test_a_recording_made_through_the_helpers_replays_through_them(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
    tmp_path: Path,
    side: str,
) -> None:
    path = tmp_path / "connection-0000.jsonl"
    sim = RealtimeSimulator(record_dir=tmp_path if side == "simulator" else None)
    with Recorder(tmp_path / "client.jsonl") as recorder:
        if side == "client":
            path = tmp_path / "client.jsonl"
        async with connect(sim, nursery, recorder=recorder) as conn:
            recorded = await _through_the_helpers(conn, warm_up=True)
    await wait_closed(sim)

    replayer = RealtimeSimulator(scenario=Replay.load(path))
    async with connect(replayer, nursery) as conn:
        replayed = await _through_the_helpers(conn, warm_up=False)
    # Answered with the ids this run sent, not the recorded ones.
    sent = replayer.connections[0].client_events
    (create_item,) = [e for e in sent if isinstance(e, events.ConversationItemCreate)]
    (create_response,) = [e for e in sent if isinstance(e, events.ResponseCreate)]
    assert replayed["item_id"] == create_item.item.id != recorded["item_id"]
    assert replayed["metadata"] == {"realtime_trio_request": create_response.event_id}
    assert replayed["metadata"] != recorded["metadata"]
    assert replayed["error"] == recorded["error"] == "invalid_value"
    assert replayed["status"] == recorded["status"] == "completed"
