"""The standalone simulator: ``python -m realtime_trio.testing`` and its options."""

from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest
import trio

import realtime_trio.testing
from realtime_trio._cli import simulate as simulate_module
from realtime_trio._cli.main import main as cli_main
from realtime_trio._cli.simulate import add_simulate_arguments, simulator_options
from realtime_trio._cli.simulate import main as simulate_main
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
        **{
            name: value
            for name, value in SIMULATOR_DEFAULTS.items()
            if name not in ("audio_chunk_ms", "session_duration")  # no flags
        },
        # A long-running simulator keeps no history: nothing could read it.
        "history": 0,
        "keep_ended": 0,
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


# --- user errors: one line naming the flag, exit status 2 --------------------------------


def _scenario_file(tmp_path: Path, name: str, data: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def _user_error_cases(tmp_path: Path) -> dict[str, tuple[list[str], str, str]]:
    """Arguments, the flag named and a piece of the message, by case."""
    broken_wav = tmp_path / "broken.wav"
    broken_wav.write_bytes(b"RIFF, but not a WAV file")
    not_a_recording = tmp_path / "not-a-recording.jsonl"
    not_a_recording.write_text('{"hello": "world"}\n')
    bad_audio = tmp_path / "bad-audio.jsonl"
    bad_audio.write_text(
        '{"t": 0, "direction": "client", "event": '
        '{"type": "input_audio_buffer.append", "audio": "not base64!"}}\n'
    )
    say_broken = {"rules": [{"steps": [{"say": {"text": "x", "audio": "broken.wav"}}]}]}
    return {
        "port too large": (["--port", "99999"], "--port", "0-65535"),
        "port negative": (["--port", "-1"], "--port", "0-65535"),
        "port not a number": (["--port", "x"], "--port", "invalid"),
        "scenario missing": (
            ["--scenario", str(tmp_path / "nope.json")],
            "--scenario",
            "No such file",
        ),
        "scenario not JSON": (
            ["--scenario", _scenario_file(tmp_path, "a.json", "{")],
            "--scenario",
            "not valid JSON",
        ),
        "scenario invalid": (
            ["--scenario", _scenario_file(tmp_path, "b.json", {"rules": 3})],
            "--scenario",
            "scenario.rules must be a list",
        ),
        "scenario plays a broken WAV": (
            ["--scenario", _scenario_file(tmp_path, "c.json", say_broken)],
            "--scenario",
            "cannot play",
        ),
        "replay missing": (
            ["--replay", str(tmp_path / "nope.jsonl")],
            "--replay",
            "No such file",
        ),
        "replay not a recording": (
            ["--replay", str(not_a_recording)],
            "--replay",
            "line 1",
        ),
        "replay with bad audio": (["--replay", str(bad_audio)], "--replay", "audio"),
        "time to first audio negative": (
            ["--time-to-first-audio", "-1"],
            "--time-to-first-audio",
            ">= 0",
        ),
        "max message size zero": (
            ["--max-message-size", "0"],
            "--max-message-size",
            "at least 1",
        ),
    }


USER_ERRORS = [
    "port too large",
    "port negative",
    "port not a number",
    "scenario missing",
    "scenario not JSON",
    "scenario invalid",
    "scenario plays a broken WAV",
    "replay missing",
    "replay not a recording",
    "replay with bad audio",
    "time to first audio negative",
    "max message size zero",
]


@pytest.mark.parametrize("entry", ["realtime-trio simulate", "python -m"])
@pytest.mark.parametrize("case", USER_ERRORS)
def test_a_user_error_is_one_line_naming_the_flag(
    case: str,
    entry: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args, flag, detail = _user_error_cases(tmp_path)[case]

    def never(**options: Any) -> NoReturn:
        raise AssertionError("the simulator started despite a user error")

    # Found before anything starts.
    monkeypatch.setattr(simulate_module, "open_simulator", never)
    if entry == "python -m":
        status = _exit_status(lambda: simulate_main(args))
    else:
        status = _exit_status(lambda: cli_main(["simulate", *args]))
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(("realtime-trio simulate: ", "python -m realtime_trio"))
    assert flag in line and detail in line, line


def _exit_status(run: Callable[[], int]) -> int:
    try:
        return run()
    except SystemExit as exc:  # argparse's own errors
        return exc.code  # type: ignore[return-value]


def test_a_port_in_use_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert simulate_main(["--port", str(port)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        f"realtime-trio simulate: --port: could not listen on "
        f"127.0.0.1:{port}: address already in use"
    )


def test_sideband_grace_is_a_flag_checked_up_front() -> None:
    from realtime_trio._cli.errors import UsageError

    parser = argparse.ArgumentParser()
    add_simulate_arguments(parser)
    options = simulator_options(parser.parse_args(["--sideband-grace", "2.5"]))
    assert options["sideband_grace"] == 2.5
    for bad in ("-1", "inf", "nan"):
        with pytest.raises(UsageError, match="sideband-grace") as caught:
            simulator_options(parser.parse_args(["--sideband-grace", bad]))
        assert caught.value.flag == "--sideband-grace"
