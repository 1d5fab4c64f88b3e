"""The standalone simulator: ``python -m realtime_trio.testing`` and its options."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

import realtime_trio.testing
from realtime_trio._cli.simulate import add_simulate_arguments, simulator_options
from realtime_trio.testing import Recorder, Replay, Scenario
from realtime_trio.testing._server.options import SIMULATOR_DEFAULTS
from tests.helpers.simulator import recv, send, until, user_text, ws_connect

DATA = Path(__file__).resolve().parents[1] / "data" / "sim"


def test_simulate_arguments() -> None:
    parser = argparse.ArgumentParser()
    add_simulate_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.api_keys, args.realtime, args.seed) == (
        "127.0.0.1",
        0,
        None,
        False,
        0,
    )
    args = parser.parse_args(
        [
            "--port",
            "8765",
            "--api-key",
            "a",
            "--api-key",
            "b",
            "--realtime",
            "--time-to-first-audio",
            "0.3",
            "--scenario",
            "s.json",
        ]
    )
    assert (
        args.port,
        args.api_keys,
        args.realtime,
        args.time_to_first_audio,
        args.scenario,
    ) == (8765, ["a", "b"], True, 0.3, "s.json")
    with pytest.raises(SystemExit):
        parser.parse_args(["--scenario", "a.json", "--replay", "b.jsonl"])
    args = parser.parse_args(["--replay", "b.jsonl", "--replay-unrecorded", "error"])
    assert (args.replay, args.replay_unrecorded) == ("b.jsonl", "error")
    assert parser.parse_args([]).replay_unrecorded == "ignore"


def test_the_command_line_fills_the_simulator_options(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_simulate_arguments(parser)
    defaults = simulator_options(parser.parse_args([]))
    assert defaults == {
        name: value
        for name, value in SIMULATOR_DEFAULTS.items()
        if name not in ("audio_chunk_ms", "session_duration")  # no flags
    }
    given = simulator_options(
        parser.parse_args(
            ["--seed", "4", "--elide-audio", "--scenario", str(DATA / "weather.json")]
        )
    )
    assert (given["seed"], given["elide_audio"]) == (4, True)
    assert isinstance(given["scenario"], Scenario)
    recording = tmp_path / "r.jsonl"
    with Recorder(recording) as recorder:
        recorder.record("client", {"type": "response.create"})
    given = simulator_options(parser.parse_args(["--replay", str(recording)]))
    assert isinstance(given["scenario"], Replay)


def test_the_example_scenario_loads() -> None:
    scenario = Scenario.load(DATA / "weather.json")
    assert len(scenario.rules) == 4 and scenario.transcripts


async def test_python_m_runs_until_interrupted() -> None:
    process = await trio.lowlevel.open_process(
        [
            sys.executable,
            "-m",
            "realtime_trio.testing",
            "--port",
            "0",
            "--scenario",
            str(DATA / "weather.json"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        data = b""
        with trio.fail_after(20):
            while b"\n" not in data:
                chunk = await process.stdout.receive_some(1024)
                assert chunk, "the simulator exited early"
                data += chunk
        url = data.split(b"\n", 1)[0].decode()
        assert url.startswith("ws://127.0.0.1:") and url.endswith("/v1/realtime")
        port = int(url.split(":")[2].split("/")[0])
        async with ws_connect(port) as ws:
            await recv(ws)
            await send(
                ws,
                {
                    "type": "session.update",
                    "session": {"type": "realtime", "output_modalities": ["text"]},
                },
            )
            await send(ws, user_text("How is the weather?"))
            await send(ws, {"type": "response.create"})
            events = await until(ws, "response.function_call_arguments.done")
            assert events[-1]["name"] == "get_weather"
        process.send_signal(signal.SIGINT)
        with trio.fail_after(20):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                await pipe.aclose()


def test_public_surface() -> None:
    names = realtime_trio.testing.__all__
    assert names == sorted(names)
    for name in names:
        obj = getattr(realtime_trio.testing, name)
        assert obj.__module__ == "realtime_trio.testing", name
    assert realtime_trio.testing.open_simulator.__name__ == "open_simulator"
