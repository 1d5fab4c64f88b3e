"""``realtime-trio run``: the shipped examples, exit statuses, reports and user errors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from realtime_trio._cli import run as run_module
from realtime_trio._cli.main import main

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "scripts"

CAPITAL = """\
name: capital
session: {output_modalities: [text]}
simulator:
  rules:
    - when: {text: France}
      steps: [{say: "The capital of France is Paris."}]
turns:
  - user: {text: "What is the capital of France?"}
    expect:
      - reply: {contains: %s, within: 5}
      - response: {status: completed}
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    try:
        status = main(["run", *map(str, argv)])
    except SystemExit as exc:  # argparse's own errors
        status = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def write(tmp_path: Path, name: str, text: str) -> Path:
    file = tmp_path / name
    file.write_text(text, encoding="utf-8")
    return file


@pytest.mark.parametrize(
    "example", sorted(p.name for p in EXAMPLES.glob("*.yaml")), ids=str
)
def test_every_example_script_passes_against_the_simulator(
    example: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, EXAMPLES / example, "--out", tmp_path, "--json")
    summary = json.loads(out)
    assert status == 0, out + err
    assert summary == json.loads((tmp_path / "summary.json").read_text())
    (script,) = summary["scripts"]
    assert (script["outcome"], script["passes"]) == ("passed", 1)
    (only_run,) = script["runs"]
    expectations = [e for turn in only_run["turns"] for e in turn["expectations"]]
    assert expectations and all(e["status"] == "passed" for e in expectations)
    assert Path(only_run["recording"]).exists()
    # One progress line per turn, on stderr.
    assert err.count(f"{script['name']}: turn ") == len(only_run["turns"])


def test_the_weather_example_reports_what_it_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, EXAMPLES / "weather.yaml", "--out", tmp_path)
    assert status == 0, out + err
    assert out.startswith("PASS  weather in Paris")
    assert "ok    tool_call get_weather {'city': 'Paris'}" in out
    assert "ok    reply contains '22' within 10 s" in out
    assert "turn 3  say 'Stop' (barge in after 0.3 s)" in out
    assert "ok    response status 'cancelled'" in out
    assert "first audio " in out and " ms" in out
    assert out.endswith("1 script: 1 passed, 0 failed, 0 could not run\n")
    assert (tmp_path / "summary.txt").read_text() == out
    recording = tmp_path / "weather.jsonl"
    lines = [json.loads(line) for line in recording.read_text().splitlines()]
    assert any(
        line.get("event", {}).get("type") == "response.function_call_arguments.done"
        for line in lines
    )


def test_a_failed_expectation_exits_1_saying_expected_and_seen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write(tmp_path, "capital.yaml", CAPITAL % "Berlin")
    junit = tmp_path / "junit.xml"
    status, out, err = run(capsys, script, "--out", tmp_path / "out", "--junit", junit)
    assert status == 1, out + err
    assert out.startswith("FAIL  capital")
    assert "FAIL  reply contains 'Berlin' within 5 s" in out
    assert "expected a reply containing 'Berlin'" in out
    assert "The capital of France is Paris." in out  # what came instead
    assert "skip  response status 'completed'" in out
    assert "0 passed, 1 failed, 0 could not run" in out
    assert "Traceback" not in err
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == (
        "1",
        "1",
        "0",
    )
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert "expected a reply containing 'Berlin'" in (failure.get("message") or "")


def test_repeat_and_min_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write(tmp_path, "capital.yaml", CAPITAL % "Paris")
    args = ("--out", tmp_path / "out", "--json", "--repeat", "3", "--min-pass", "2")
    status, out, err = run(capsys, script, *args)
    assert status == 0, out + err
    (result,) = json.loads(out)["scripts"]
    # Decided after two passes: the third run is not made.
    assert (result["passes"], result["repeat"], result["min_pass"]) == (2, 3, 2)
    assert [r["status"] for r in result["runs"]] == ["passed", "passed"]
    assert [Path(r["recording"]).name for r in result["runs"]] == [
        "capital.jsonl",
        "capital-run2.jsonl",
    ]
    assert "capital: run 2 of 3" in err

    failing = write(tmp_path, "failing.yaml", CAPITAL % "Berlin")
    status, out, _ = run(
        capsys, failing, "--out", tmp_path / "out", "--repeat", "3", "--min-pass", "3"
    )
    assert status == 1
    assert "0 of 1 runs passed (3 of 3 needed)" in out  # one failure decides it


def test_record_then_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = EXAMPLES / "capital.yaml"
    status, out, err = run(
        capsys, script, "--record", tmp_path / "rec", "--out", tmp_path
    )
    assert status == 0, out + err
    assert (tmp_path / "rec" / "capital.jsonl").is_file()
    status, out, err = run(
        capsys, script, "--replay", tmp_path / "rec", "--out", tmp_path / "r", "--json"
    )
    assert status == 0, out + err
    (result,) = json.loads(out)["scripts"]
    assert result["outcome"] == "passed"
    assert result["runs"][0]["recording"] is None  # a replay is not recorded again


def test_the_weather_example_replays_its_barge_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = EXAMPLES / "weather.yaml"
    status, recorded, err = run(
        capsys, script, "--record", tmp_path / "rec", "--out", tmp_path
    )
    assert status == 0, recorded + err
    status, replayed, err = run(
        capsys, script, "--replay", tmp_path / "rec", "--out", tmp_path / "r"
    )
    assert status == 0, replayed + err
    # The same report, latencies included, but for the recording line.
    assert "turn 3  say 'Stop' (barge in after 0.3 s)" in replayed
    assert [line for line in recorded.splitlines() if "recording:" not in line] == (
        replayed.splitlines()
    )


def test_a_failure_says_to_record_with_the_cli_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write(tmp_path, "capital.yaml", CAPITAL % "Paris")
    status, out, err = run(
        capsys, script, "--record", tmp_path / "rec", "--out", tmp_path
    )
    assert status == 0, out + err
    # Replayed (so not recorded again), the script now expects another answer.
    write(tmp_path, "capital.yaml", CAPITAL % "Berlin")
    status, out, err = run(
        capsys, script, "--replay", tmp_path / "rec", "--out", tmp_path / "r"
    )
    assert status == 1, out + err
    assert "(replayed; record again with --record DIR)" in out
    assert "--realtime-record" not in out


def test_a_stale_recording_says_what_the_script_sent_instead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write(tmp_path, "capital.yaml", CAPITAL % "Paris")
    status, out, err = run(
        capsys, script, "--record", tmp_path / "rec", "--out", tmp_path
    )
    assert status == 0, out + err
    # The question changed since the recording: the replay refuses it.
    script.write_text(
        (CAPITAL % "Paris").replace("capital of France?", "capital of France, please?")
    )
    status, out, err = run(
        capsys, script, "--replay", tmp_path / "rec", "--out", tmp_path / "r"
    )
    assert status == 1, out + err
    assert "  failed: expected what the recording has\n" in out
    assert "'What is the capital of France, please?'" in out
    assert "the recording has 'What is the capital of France?' here" in out


@pytest.mark.parametrize(
    ("simulator", "message"),
    [
        (
            "{rulez: []}",
            "s.yaml:1: simulator: unknown key 'rulez' in scenario; "
            "did you mean 'rules'?",
        ),
        (
            "{rules: [{when: {txt: hi}, steps: []}]}",
            "s.yaml:1: simulator.rules[0].when: unknown key 'txt' in rules[0].when; "
            "did you mean 'text'?",
        ),
        (
            "{rules: [{steps: [{sya: hi}]}]}",
            "s.yaml:1: simulator.rules[0].steps[0]: unknown step 'sya' in "
            "rules[0].steps[0]; did you mean 'say'?",
        ),
        (
            "{zzz: 1}",
            "s.yaml:1: simulator: unknown key 'zzz' in scenario; "
            "expected one of faults, instructions, rules, transcripts",
        ),
    ],
)
def test_a_typo_in_the_simulator_section_suggests_the_key(
    simulator: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path, "s.yaml", f"simulator: {simulator}\nturns: [{{user: {{text: hi}}}}]\n"
    )
    status, out, err = run(capsys, "s.yaml", "--out", tmp_path / "out")
    assert (status, out, err) == (2, "", f"realtime-trio run: {message}\n")


def test_an_unreachable_url_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("MY_KEY", "sk-not-a-real-key")
    script = write(tmp_path, "capital.yaml", CAPITAL % "Paris")
    status, out, err = run(
        capsys,
        script,
        "--url",
        f"ws://127.0.0.1:{port}/v1/realtime",
        "--api-key-env",
        "MY_KEY",
        "--out",
        tmp_path / "out",
    )
    assert status == 3, out + err
    assert "ERROR  capital" in out
    assert "could not run: could not open a session" in out
    lines = err.strip().splitlines()
    assert lines[-1].startswith(f"realtime-trio run: {script} could not run: ")
    assert "sk-not-a-real-key" not in out + err
    assert "Traceback" not in err


def test_ctrl_c_exits_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "run_script", interrupted)
    status, _, err = run(capsys, EXAMPLES / "capital.yaml", "--out", tmp_path)
    assert status == 130
    assert err.strip() == "realtime-trio run: interrupted"


USAGE_ERRORS = {
    "bad YAML": (
        ["{script_bad}"],
        "realtime-trio run: {tmp}/bad.yaml:4: not valid YAML: expected ',' or '}}', "
        "but got '<stream end>' (while parsing a flow mapping at line 2)",
    ),
    "unknown key": (
        ["{script_unknown}"],
        "realtime-trio run: {tmp}/unknown.yaml:4: turns[0].expect[0].reply.contain: "
        "unknown key 'contain'; did you mean 'contains'?",
    ),
    "missing file": (
        ["{tmp}/missing.yaml"],
        "realtime-trio run: {tmp}/missing.yaml: No such file or directory",
    ),
    "min-pass over repeat": (
        ["{script_good}", "--repeat", "2", "--min-pass", "3"],
        "realtime-trio run: --min-pass: 3 passes out of --repeat 2 runs cannot happen",
    ),
    "repeat zero": (
        ["{script_good}", "--repeat", "0"],
        "realtime-trio run: --repeat: must be at least 1, not 0",
    ),
    "url and replay": (
        ["{script_good}", "--url", "ws://127.0.0.1:1/", "--replay", "{tmp}"],
        "realtime-trio run: --replay: not allowed with argument --url",
    ),
    "bad url": (
        ["{script_good}", "--url", "http://example.invalid/"],
        "realtime-trio run: --url: must be ws:// or wss:// with a host",
    ),
    "no key": (
        ["{script_good}", "--url", "ws://127.0.0.1:1/", "--api-key-env", "NO_SUCH_VAR"],
        "realtime-trio run: --api-key-env: needs an API key in $NO_SUCH_VAR, which is not set",
    ),
    "replay dir missing": (
        ["{script_good}", "--replay", "{tmp}/nowhere"],
        "realtime-trio run: --replay: {tmp}/nowhere: no such directory",
    ),
    "replay without the recording": (
        ["{script_good}", "--replay", "{tmp}"],
        "realtime-trio run: --replay: {tmp} has no recording good.jsonl",
    ),
    "record with replay": (
        ["{script_good}", "--replay", "{tmp}", "--record", "{tmp}"],
        "realtime-trio run: --record: cannot be used with --replay",
    ),
    "junit folder missing": (
        ["{script_good}", "--junit", "{tmp}/no/such/junit.xml"],
        "realtime-trio run: --junit: {tmp}/no/such/junit.xml: its folder does not exist",
    ),
    "out is a file": (
        ["{script_good}", "--out", "{script_good}"],
        "realtime-trio run: --out: {tmp}/good.yaml: File exists",
    ),
    "same stem twice": (
        ["{script_good}", "{tmp}/other/good.yaml"],
        "realtime-trio run: {tmp}/other/good.yaml and {tmp}/good.yaml would both be "
        "recorded as good.jsonl",
    ),
    "sip handler missing": (
        ["{script_sip}"],
        "realtime-trio run: {tmp}/sip.yaml: sip.handler: {tmp}/nope.py: no such file",
    ),
}


@pytest.mark.parametrize("case", sorted(USAGE_ERRORS))
def test_usage_errors_are_one_line_naming_the_flag(
    case: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    good = write(tmp_path, "good.yaml", CAPITAL % "Paris")
    (tmp_path / "other").mkdir()
    write(tmp_path / "other", "good.yaml", CAPITAL % "Paris")
    names = {
        "tmp": str(tmp_path),
        "script_good": str(good),
        "script_bad": str(
            write(tmp_path, "bad.yaml", "turns:\n  - user: {say: hi\n  - x\n")
        ),
        "script_unknown": str(
            write(
                tmp_path,
                "unknown.yaml",
                "turns:\n  - user: {say: hi}\n    expect:\n      - reply: {contain: x}\n",
            )
        ),
        "script_sip": str(
            write(
                tmp_path,
                "sip.yaml",
                "sip: {handler: 'nope.py:handler'}\nturns:\n  - user: {dtmf: '1'}\n",
            )
        ),
    }
    argv, expected = USAGE_ERRORS[case]
    status, out, err = run(capsys, *(arg.format(**names) for arg in argv))
    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(expected.format(**names)), err
    assert not (tmp_path / "realtime-trio-results" / "summary.json").exists()


def test_the_console_script(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "realtime_trio",
            "run",
            str(EXAMPLES / "capital.yaml"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS  capital of France" in result.stdout
