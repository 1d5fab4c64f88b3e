"""Recording connections as JSONL and replaying recordings as scenarios."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import trio

from realtime_trio._core.serde import get_codec
from realtime_trio.audio import decode_audio, encode_audio
from realtime_trio.events import ErrorEvent
from realtime_trio.testing import (
    Recorder,
    Replay,
    load_recording,
    open_simulator,
    silence,
    tone,
)
from realtime_trio.testing._model.recording import elide_audio, parse_recording
from realtime_trio.testing._model.replay_session import ReplaySession
from realtime_trio.testing._model.steps import Emit
from tests.helpers.simulator import recv, send, until, user_text, ws_connect


def test_recorder_lines_and_elision() -> None:
    out = io.StringIO()
    now = [100.0]
    recorder = Recorder(out, elide_audio=True, clock=lambda: now[0])
    recorder.record(
        "server", {"type": "session.created", "event_id": "e0", "session": {}}
    )
    now[0] = 100.5
    audio = encode_audio(b"\x01\x02" * 100)
    recorder.record(
        "client", json.dumps({"type": "input_audio_buffer.append", "audio": audio})
    )
    recorder.record("client", "not json")
    recorder.record(
        "server",
        {"type": "response.output_audio.delta", "delta": audio, "event_id": "e1"},
    )
    recorder.record("server", {
        "type": "conversation.item.retrieved", "event_id": "e2",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_audio", "audio": audio}]},
    })  # fmt: skip
    now[0] = 101.0
    recorder.record_close(1000, "", direction="client")
    with pytest.raises(ValueError, match="direction"):
        recorder.record("nobody", {})  # type: ignore[arg-type]
    recorder.close()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["t"] for line in lines] == [0.0, 0.5, 0.5, 0.5, 0.5, 1.0]
    assert lines[1] == {
        "t": 0.5,
        "direction": "client",
        "event": {"type": "input_audio_buffer.append", "audio": ""},
        "elided": {"audio": 200},
    }
    assert lines[2] == {"t": 0.5, "direction": "client", "raw": "not json"}
    assert lines[3]["elided"] == {"delta": 200}
    assert lines[4]["elided"] == {"item.content[0].audio": 200}
    assert lines[5] == {
        "t": 1.0,
        "direction": "client",
        "close": {"code": 1000, "reason": ""},
    }
    parsed = parse_recording(out.getvalue().splitlines())
    assert parsed[1].type == "input_audio_buffer.append"
    restored = parsed[4].restored(lambda n: b"\x00" * n)
    assert decode_audio(restored["item"]["content"][0]["audio"]) == b"\x00" * 200
    assert parsed[5].close == (1000, "")
    assert parsed[2].raw == "not json"


def test_recorder_accepts_records_and_paths(tmp_path: Path) -> None:
    from realtime_trio._core.response_models import ErrorDetail as Detail

    path = tmp_path / "r.jsonl"
    with Recorder(path) as recorder:
        recorder.record(
            "server", ErrorEvent(event_id="e", error=Detail(type="t", message="m"))
        )
    (line,) = load_recording(path)
    assert line.event == {
        "type": "error",
        "event_id": "e",
        "error": {"type": "t", "message": "m"},
    }
    with pytest.raises(ValueError, match="line 1"):
        parse_recording(["{not json"])


def test_elide_audio_leaves_other_events_alone() -> None:
    event = {"type": "response.output_text.delta", "delta": "hello"}
    assert elide_audio(event) == (event, {})


async def _conversation(sim: Any, chunk: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with ws_connect(sim) as ws:
        events.append(await recv(ws))
        await send(
            ws,
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {"input": {"transcription": {"model": "whisper-1"}}},
                },
            },
        )
        events += await until(ws, "session.updated")
        await send(ws, user_text("hello"))
        await send(ws, {"type": "response.create"})
        events += await until(ws, "response.done")
        pcm = silence(300) + tone(500) + silence(400)
        for start in range(0, len(pcm), chunk):
            await send(
                ws,
                {
                    "type": "input_audio_buffer.append",
                    "audio": encode_audio(pcm[start : start + chunk]),
                },
            )
        events += await until(ws, "response.done")
    return events


async def test_record_then_replay(tmp_path: Path) -> None:
    async with open_simulator(record_dir=tmp_path, elide_audio=True) as sim:
        original = await _conversation(sim, chunk=4800)
        with trio.fail_after(5):
            await sim.connections[0].closed.wait()
    path = tmp_path / "connection-0000.jsonl"
    assert await trio.Path(path).exists()
    recording = load_recording(path)
    assert recording[0].direction == "server" and recording[0].type == "session.created"
    server = [
        line.event
        for line in recording
        if line.direction == "server" and line.event is not None
    ]
    assert [e["type"] for e in server] == [e["type"] for e in original]  # type: ignore[index]
    assert recording[-1].close == (1000, "") and recording[-1].direction == "client"
    assert all(line.t >= 0 for line in recording)
    deltas = [line for line in recording if line.type == "response.output_audio.delta"]
    assert deltas and all(
        line.event["delta"] == "" and line.elided["delta"] > 0 for line in deltas
    )  # type: ignore[index]

    # Replay, with the audio appended in other chunk sizes.
    async with open_simulator(scenario=Replay.load(path)) as sim:
        replayed = await _conversation(sim, chunk=960)
    assert [e["type"] for e in replayed] == [e["type"] for e in original]
    assert [e["event_id"] for e in replayed] == [e["event_id"] for e in original]
    for before, after in zip(original, replayed, strict=True):
        if before["type"] == "response.output_audio.delta":
            assert len(decode_audio(after["delta"])) == len(
                decode_audio(before["delta"])
            )
            assert set(decode_audio(after["delta"])) == {0}


def _one_response_recording(path: Path, *more: dict[str, Any]) -> Path:
    """session.created, then one response.create answered by a future event."""
    lines = [
        {
            "t": 0,
            "direction": "server",
            "event": {
                "type": "session.created",
                "event_id": "e0",
                "session": {"type": "realtime"},
            },
        },
        {"t": 1, "direction": "client", "event": {"type": "response.create"}},
        {
            "t": 1.01,  # replayed 10 ms after the client's response.create
            "direction": "server",
            "event": {"type": "future.event", "event_id": "e1", "x": 1},
        },
        *more,
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


async def test_replay_replays_a_server_close(tmp_path: Path) -> None:
    path = _one_response_recording(
        tmp_path / "closed.jsonl",
        {"t": 1.02, "direction": "server", "close": {"code": 4321, "reason": "bye"}},
    )
    import trio_websocket

    async with open_simulator(scenario=Replay.load(path)) as sim, ws_connect(sim) as ws:
        assert (await recv(ws))["event_id"] == "e0"
        await send(
            ws, {"type": "session.update", "session": {"type": "realtime"}}
        )  # not recorded: ignored
        await send(ws, {"type": "response.create"})
        assert await recv(ws) == {"type": "future.event", "event_id": "e1", "x": 1}
        with pytest.raises(trio_websocket.ConnectionClosed) as info:
            await recv(ws)
        assert info.value.reason is not None and info.value.reason.code == 4321


async def test_replay_can_answer_unrecorded_client_events_with_an_error(
    tmp_path: Path,
) -> None:
    replay = Replay.load(
        _one_response_recording(tmp_path / "r.jsonl"), unrecorded="error"
    )
    async with open_simulator(scenario=replay) as sim, ws_connect(sim) as ws:
        assert (await recv(ws))["event_id"] == "e0"
        await send(ws, {"type": "session.update", "event_id": "c1", "session": {}})
        error = await recv(ws)
        assert error["type"] == "error"
        assert error["error"]["code"] == "replay_unrecorded_event"
        assert error["error"]["event_id"] == "c1"
        assert "'session.update'" in error["error"]["message"]
        # The recording still plays on; once used up, response.create is unrecorded too.
        await send(ws, {"type": "response.create"})
        assert (await recv(ws))["event_id"] == "e1"
        await send(ws, {"type": "response.create", "event_id": "c2"})
        assert (await recv(ws))["error"]["event_id"] == "c2"
        # Appends are matched by bytes and never answered with an error.
        await send(
            ws, {"type": "input_audio_buffer.append", "audio": encode_audio(b"\0\0")}
        )
        await send(ws, {"type": "response.cancel", "event_id": "c3"})
        assert (await recv(ws))["error"]["event_id"] == "c3"


def test_replay_refuses_an_unknown_unrecorded_policy(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unrecorded"):
        Replay.load(_one_response_recording(tmp_path / "r.jsonl"), unrecorded="raise")  # type: ignore[arg-type]


def _create_item(event_id: str, item_id: str) -> dict[str, Any]:
    item = {"id": item_id, **user_text("hi")["item"]}
    return {"type": "conversation.item.create", "event_id": event_id, "item": item}


def _create_response(event_id: str) -> dict[str, Any]:
    # As create_response tags it: the event id in response.metadata.
    metadata = {"realtime_trio_request": event_id}
    return {
        "type": "response.create",
        "event_id": event_id,
        "response": {"metadata": metadata},
    }


def test_replay_answers_with_the_ids_the_client_sent() -> None:
    out = io.StringIO()
    recorder = Recorder(out, clock=lambda: 0.0)  # each answer due at once
    recorder.record("server", {"type": "session.created", "session": {}})
    recorder.record("client", _create_item("rec_1", "item_recorded"))
    item = _create_item("rec_1", "item_recorded")["item"]
    recorder.record("server", {"type": "conversation.item.added", "item": item})
    recorder.record("client", _create_response("rec_2"))
    error = {"type": "invalid_request_error", "message": "m", "event_id": "rec_2"}
    recorder.record("server", {"type": "error", "error": error})
    response = {
        "id": "resp_1",
        "status": "in_progress",
        "metadata": {"realtime_trio_request": "rec_2"},
    }
    recorder.record("server", {"type": "response.created", "response": response})
    replay = Replay(events=parse_recording(out.getvalue().splitlines()))

    # A new run, with other ids: the answers carry them.
    session = ReplaySession(replay)
    session.start()
    message = json.dumps(_create_item("new_1", "item_new"))
    (added,) = _dumped(session.handle_message(message, 0.0))
    assert added["item"]["id"] == "item_new"
    message = json.dumps(_create_response("new_2"))
    rejected, created = _dumped(session.handle_message(message, 0.0))
    assert rejected["error"]["event_id"] == "new_2"
    assert created["response"]["metadata"] == {"realtime_trio_request": "new_2"}
    # The ids the server made stay as recorded.
    assert created["response"]["id"] == "resp_1"


def _dumped(outputs: list[Any]) -> list[dict[str, Any]]:
    codec = get_codec()
    return [codec.dump(output.event) for output in outputs if isinstance(output, Emit)]
