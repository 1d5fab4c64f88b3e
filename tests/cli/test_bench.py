"""``realtime-trio bench`` end to end against the built-in simulator (a few turns each)."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from realtime_trio import TurnMetrics
from realtime_trio._cli.main import main


def bench(*argv: str) -> int:
    return main(["bench", *argv])


def test_the_table_the_turns_and_the_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib", reason="--plot needs the plot extra")
    jsonl = tmp_path / "turns.jsonl"
    png = tmp_path / "out.png"
    status = bench(
        "--turns",
        "3",
        "--server-delay",
        "0.05",
        "--jsonl",
        str(jsonl),
        "--plot",
        str(png),
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "time to first audio" in out and "endpointing" in out and "generation" in out
    assert "turns 3: censored 0" in out and "server delay 50 ms" in out
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [line["index"] for line in lines] == [0, 1, 2]
    for line in lines:
        assert (line["concurrency"], line["run"], line["conversation"]) == (1, 0, 0)
        turn = TurnMetrics.from_dict(line)
        assert turn.user_audio_end is not None and turn.speech_stopped is not None
        assert turn.user_audio_end < turn.speech_stopped < turn.first_audible  # type: ignore[operator]
        assert line["stages"]["time_to_first_audio"] == pytest.approx(
            turn.time_to_first_audio
        )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_with_manual_commit_concurrency_and_repeats(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = bench(
        "--turns",
        "2",
        "--turn-detection",
        "manual",
        "--concurrency",
        "1,2",
        "--repeat",
        "2",
        "--json",
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    document = json.loads(captured.out)
    assert document["config"]["turn_detection"] == "manual"
    assert document["config"]["target"] == "simulator"
    assert document["machine"]["cpus"] >= 1
    assert [level["concurrency"] for level in document["levels"]] == [1, 2]
    for level in document["levels"]:
        k = level["concurrency"]
        assert level["turns"] == 2 * 2 * k and level["censored"] == 0
        assert len(level["runs"]) == 2
        assert level["cpu_seconds_per_turn"] > 0
        summary = level["summary"]
        assert summary["time_to_first_audio"]["n"] == 4 * k
        # Manual commit: no server VAD wait, only what we sent after the speech (nothing).
        assert summary["endpointing"]["max"] == 0.0
        assert summary["connect"]["n"] == 2 * k
        spread = level["p50_spread"]["time_to_first_audio"]
        assert spread is not None and spread[0] <= spread[1]
    # p50 <= p90 where both exist; p99 needs 100 turns
    ttfa = document["levels"][1]["summary"]["time_to_first_audio"]
    assert ttfa["p99"] is None and document["p99_min_n"] == 100


def test_a_script_file_is_the_turn_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "talk.yaml"
    script.write_text(
        "turns:\n  - user: {say: Hello there}\n  - user: {text: And now in writing}\n"
    )
    status = bench("--script", str(script), "--turns", "2", "--json")
    captured = capsys.readouterr()
    assert status == 0, captured.err
    (level,) = json.loads(captured.out)["levels"]
    # The spoken turn has a time to first audio; the written one does not.
    assert level["summary"]["time_to_first_audio"]["n"] == 1
    assert level["summary"]["turn_total"]["n"] == 1
    assert level["turns"] == 2


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--turns", "0"], "--turns"),
        (["--concurrency", "1,x"], "--concurrency"),
        (["--turn-detection", "auto"], "--turn-detection"),
        (["--url", "http://example.com/v1/realtime"], "--url"),
        (
            ["--url", "ws://127.0.0.1:9/v1/realtime", "--server-delay", "1"],
            "--server-delay",
        ),
        (["--server-delay", "-1"], "--server-delay"),
        (["--jsonl", "/nonexistent-dir/turns.jsonl"], "--jsonl"),
        (["--script", "/nonexistent-dir/talk.yaml"], "--script"),
    ],
)
def test_user_errors_name_the_flag(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        status = bench(*argv)
        raise SystemExit(status)
    assert raised.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0], err


def test_url_without_a_key_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert bench("--url", "ws://127.0.0.1:9/v1/realtime") == 2
    assert "--url: needs an API key: set OPENAI_API_KEY" in capsys.readouterr().err


def test_a_script_that_cannot_be_benchmarked_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "quiet.yaml"
    script.write_text("turns:\n  - user: {silence: 1}\n")
    assert bench("--script", str(script)) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "--script" in line and "silence turn cannot be benchmarked" in line


def test_plot_without_matplotlib_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert bench("--plot", str(tmp_path / "out.png")) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "--plot: needs matplotlib: pip install 'realtime-trio[plot]'" in line


def test_an_unreachable_endpoint_could_not_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-never-shown")
    status = bench(
        "--url", f"ws://127.0.0.1:{_closed_port()}/v1/realtime", "--turns", "1"
    )
    err = capsys.readouterr().err
    assert status == 3  # as for realtime-trio run: the benchmark could not run
    assert len(err.strip().splitlines()) == 1 and "sk-secret" not in err
    assert err.startswith("realtime-trio bench: could not run: could not connect")
