"""pytest collects ``realtime_*.yaml`` script files as tests (the plugin's hook)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

# pytester's in-process runs drop the modules they imported when they end, and
# numpy cannot be imported twice in one process: since ``import realtime_trio``
# is lazy, load the API (numpy with it) before the first run.
import realtime_trio.scripted  # noqa: F401
from realtime_trio._cli.main import main

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "scripts"
CAPITAL = (EXAMPLES / "capital.yaml").read_text(encoding="utf-8")


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A separate pytest run in ``folder``, which the plugin is loaded into."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_script_files_are_tests(tmp_path: Path) -> None:
    (tmp_path / "realtime_capital.yaml").write_text(CAPITAL)
    (tmp_path / "realtime_wrong.yaml").write_text(
        CAPITAL.replace("contains: Paris", "contains: Berlin")
    )
    # Not collected: other names, and other suffixes.
    (tmp_path / "capital.yaml").write_text("not: [a script")
    (tmp_path / "realtime_other.yml").write_text("not: [a script")
    result = pytest_in(tmp_path, "-rA")
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "1 failed, 1 passed" in out
    assert "PASSED realtime_capital.yaml::capital of France" in out
    assert "FAILED realtime_wrong.yaml::capital of France" in out
    # The failure reads like the conversation, with no Python traceback.
    assert "expected a reply containing 'Berlin'" in out
    assert "got the reply 'The capital of France is Paris.'" in out
    assert "FAIL  reply contains 'Berlin' within 10 s" in out
    assert "skip  response status 'completed'" in out
    assert "Traceback" not in out and "runner.py" not in out


def test_an_invalid_script_is_a_collection_error(tmp_path: Path) -> None:
    (tmp_path / "realtime_bad.yaml").write_text("turns:\n  - user: {sya: hi}\n")
    result = pytest_in(tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        f"{tmp_path / 'realtime_bad.yaml'}:2: turns[0].user.sya: unknown key 'sya'; "
        "did you mean 'say'?"
    ) in result.stdout


def test_record_with_pytest_then_replay_with_pytest_and_the_cli(
    tmp_path: Path,
) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "realtime_capital.yaml").write_text(CAPITAL)
    recordings = tmp_path / "recordings"
    result = pytest_in(tests, f"--realtime-record={recordings}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (recordings / "realtime_capital.jsonl").is_file()
    result = pytest_in(tests, f"--realtime-replay={recordings}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    # The CLI names recordings the same way, so it replays pytest's.
    status = main(
        [
            "run",
            str(tests / "realtime_capital.yaml"),
            "--replay",
            str(recordings),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert status == 0


def test_an_unreachable_url_fails_the_item_saying_so(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / "realtime_capital.yaml").write_text(CAPITAL)
    result = pytest_in(
        tmp_path,
        f"--realtime-url=ws://127.0.0.1:{port}/v1/realtime",
        "--realtime-api-key=sk-test-only",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the script could not run: could not open a session" in result.stdout
    assert "sk-test-only" not in result.stdout + result.stderr
