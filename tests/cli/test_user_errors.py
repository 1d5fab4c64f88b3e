"""Every subcommand's user errors: one line on stderr, the flag, an exit status.

Each case runs ``python -m realtime_trio`` in a subprocess, as a user would,
and checks the contract of `realtime_trio._cli.errors`: the exit status (2 a
usage error, 1 a failure, 130 Ctrl-C), exactly one non-empty line on stderr,
no traceback, the flag named when a flag is to blame, and never a secret
(an API key, a webhook secret) that the command was given.
"""

from __future__ import annotations

import base64
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import pytest
import trio

from realtime_trio import RealtimeInternalError
from realtime_trio._cli.errors import exit_status
from realtime_trio._core.headers import InvalidHeaderError, check_header_value
from realtime_trio.testing import ConnectionFault, Scenario, open_simulator

ROOT = Path(__file__).resolve().parents[2]
FAKE_KEY = "sk-fake-key-0123456789-must-never-be-printed"
FAKE_SECRET = "whsec_!!!not-base64-and-secret!!!"
GOOD_SECRET = "whsec_" + base64.b64encode(b"a webhook secret of 24 b").decode()
USAGE, FAILURE, INTERRUPTED = 2, 1, 130


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a case: none of the user's keys or secrets."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_API_KEY", "OPENAI_WEBHOOK_SECRET")
    }
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "realtime_trio", *args]


def run_cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # A case that wrongly starts a server would run forever: the timeout
    # kills it and fails the test.
    return subprocess.run(
        command(*args),
        capture_output=True,
        text=True,
        timeout=60,
        env=env if env is not None else cli_env(),
        cwd=cwd,
        check=False,
    )


def assert_one_line(
    proc: subprocess.CompletedProcess[str] | subprocess.Popen[str],
    stdout: str,
    stderr: str,
    *,
    status: int,
    subcommand: str,
    flag: str | None,
    secrets: tuple[str, ...] = (FAKE_KEY, FAKE_SECRET),
) -> str:
    """Check the contract; return the one line."""
    assert proc.returncode == status, stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith(f"realtime-trio {subcommand}: "), line
    assert line.removeprefix(f"realtime-trio {subcommand}: ").strip(), line
    if flag is not None:
        assert flag in line, line
    for secret in secrets:
        assert secret.strip() not in stderr
        assert secret.strip() not in stdout
    return line


@attrs.frozen
class Case:
    args: tuple[str, ...]
    status: int
    flag: str | None
    env: tuple[tuple[str, str], ...] = ()

    @property
    def subcommand(self) -> str:
        return self.args[0]


CLOSED_PORT_URL = "ws://127.0.0.1:1/v1/realtime"

CASES = {
    # demo: checked before anything starts or connects.
    "demo --url http://": Case(
        ("demo", "--url", "http://127.0.0.1:1/v1/realtime", "--api-key", FAKE_KEY),
        USAGE,
        "--url",
    ),
    "demo --url not-a-url": Case(
        ("demo", "--url", "not-a-url", "--api-key", FAKE_KEY), USAGE, "--url"
    ),
    "demo --url with a space": Case(
        ("demo", "--url", "ws://127.0.0.1:1/v1/real time", "--api-key", FAKE_KEY),
        USAGE,
        "--url",
    ),
    "demo --url with a non-ASCII host": Case(
        (
            "demo",
            "--url",
            "wss://h\u00e9llo.example/v1/realtime",
            "--api-key",
            FAKE_KEY,
        ),
        USAGE,
        "--url",
    ),
    "demo --url ws:// bad port": Case(
        ("demo", "--url", "ws://127.0.0.1:99999/", "--api-key", FAKE_KEY),
        USAGE,
        "--url",
    ),
    "demo --out in a missing directory": Case(
        ("demo", "--fast", "--out", "/nonexistent/x.wav"), USAGE, "--out"
    ),
    "demo --timeout -1": Case(("demo", "--timeout", "-1"), USAGE, "--timeout"),
    "demo --timeout 0": Case(("demo", "--timeout", "0"), USAGE, "--timeout"),
    "demo --model ''": Case(("demo", "--fast", "--model", ""), USAGE, "--model"),
    "demo --api-key with a newline": Case(
        ("demo", "--url", CLOSED_PORT_URL, "--api-key", FAKE_KEY + "\n"),
        USAGE,
        "--api-key",
    ),
    "demo OPENAI_API_KEY with a newline": Case(
        ("demo", "--url", CLOSED_PORT_URL),
        USAGE,
        "OPENAI_API_KEY",
        env=(("OPENAI_API_KEY", FAKE_KEY + "\r\n"),),
    ),
    "demo --url elsewhere without a key": Case(
        ("demo", "--url", "wss://realtime.example.invalid/v1/realtime"),
        USAGE,
        "--api-key",
    ),
    "demo connection refused": Case(
        ("demo", "--fast", "--url", CLOSED_PORT_URL, "--api-key", FAKE_KEY),
        FAILURE,
        None,
    ),
    # simulate
    "simulate --port 99999": Case(("simulate", "--port", "99999"), USAGE, "--port"),
    "simulate --scenario missing": Case(
        ("simulate", "--scenario", "/nonexistent.yaml"), USAGE, "--scenario"
    ),
    "simulate --replay missing": Case(
        ("simulate", "--replay", "/nonexistent.jsonl"), USAGE, "--replay"
    ),
    # sip-serve: given a key, so that the secret is what is wrong.
    "sip-serve --webhook-secret ''": Case(
        ("sip-serve", "--port", "0", "--webhook-secret", ""),
        USAGE,
        "--webhook-secret",
        env=(("OPENAI_API_KEY", FAKE_KEY),),
    ),
    "sip-serve --webhook-secret malformed": Case(
        ("sip-serve", "--port", "0", "--webhook-secret", FAKE_SECRET),
        USAGE,
        "--webhook-secret",
        env=(("OPENAI_API_KEY", FAKE_KEY),),
    ),
    "sip-serve --port out of range": Case(
        ("sip-serve", "--port", "99999", "--webhook-secret", GOOD_SECRET),
        USAGE,
        "--port",
        env=(("OPENAI_API_KEY", FAKE_KEY),),
    ),
    "sip-serve --handler in a missing file": Case(
        (
            "sip-serve",
            "--port",
            "0",
            "--webhook-secret",
            GOOD_SECRET,
            "--handler",
            "/nonexistent/agent.py:handle",
        ),
        USAGE,
        "--handler",
        env=(("OPENAI_API_KEY", FAKE_KEY),),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_user_error_is_one_line(case: Case, tmp_path: Path) -> None:
    proc = run_cli(list(case.args), tmp_path, cli_env(**dict(case.env)))
    assert_one_line(
        proc,
        proc.stdout,
        proc.stderr,
        status=case.status,
        subcommand=case.subcommand,
        flag=case.flag,
    )
    if case.status == USAGE:  # told before anything started
        assert not (tmp_path / "assistant.wav").exists()


def test_simulate_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_cli(["simulate", "--port", str(port)], tmp_path)
    line = assert_one_line(
        proc,
        proc.stdout,
        proc.stderr,
        status=USAGE,
        subcommand="simulate",
        flag="--port",
    )
    assert str(port) in line


@contextmanager
def accept_and_close() -> Iterator[int]:
    """A raw TCP server on 127.0.0.1 that hangs up on every connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # the server socket was closed: done
                return
            conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        server.shutdown(socket.SHUT_RDWR)
        server.close()
        thread.join(10)


def test_demo_connection_closed_by_the_server(tmp_path: Path) -> None:
    with accept_and_close() as port:
        args = ["demo", "--fast", "--url", f"ws://127.0.0.1:{port}/v1/realtime"]
        proc = run_cli([*args, "--api-key", FAKE_KEY], tmp_path)
    assert_one_line(
        proc, proc.stdout, proc.stderr, status=FAILURE, subcommand="demo", flag=None
    )


@contextmanager
def simulator_in_a_thread(scenario: Scenario) -> Iterator[str]:
    """A simulator with ``scenario``, served by a thread of this process."""
    ready: queue.Queue[tuple[str, trio.lowlevel.TrioToken, trio.CancelScope]] = (
        queue.Queue()
    )

    async def serve() -> None:
        with trio.CancelScope() as scope:
            async with open_simulator(scenario=scenario) as sim:
                ready.put((sim.url, trio.lowlevel.current_trio_token(), scope))
                await trio.sleep_forever()

    thread = threading.Thread(target=trio.run, args=(serve,))
    thread.start()
    url, token, scope = ready.get(timeout=30)
    try:
        yield url
    finally:
        trio.from_thread.run_sync(scope.cancel, trio_token=token)
        thread.join(30)


def test_demo_connection_dropped_mid_conversation(tmp_path: Path) -> None:
    # Dropped without a closing handshake after session.created,
    # session.updated and speech_started.
    scenario = Scenario(faults=[ConnectionFault(after_events=3, drop=True)])
    with simulator_in_a_thread(scenario) as url:
        args = ["demo", "--fast", "--url", url, "--api-key", FAKE_KEY]
        proc = run_cli(args, tmp_path)
    line = assert_one_line(
        proc, proc.stdout, proc.stderr, status=FAILURE, subcommand="demo", flag=None
    )
    assert f"lost the connection to {url}" in line


@pytest.mark.parametrize(
    "when", ["talking to the built-in simulator", "[vad] speech started"]
)
def test_demo_ctrl_c(tmp_path: Path, when: str) -> None:
    # The built-in simulator paces in real time: there is time to interrupt.
    with subprocess.Popen(
        command("demo"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        cwd=tmp_path,
    ) as proc:
        try:
            assert proc.stdout is not None
            seen = []
            for line in proc.stdout:
                seen.append(line)
                if when in line:
                    break
            else:
                pytest.fail(f"the demo ended before {when!r}: {''.join(seen)}")
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=30)
        finally:
            proc.kill()
    line = assert_one_line(
        proc, stdout, stderr, status=INTERRUPTED, subcommand="demo", flag=None
    )
    assert line == "realtime-trio demo: interrupted"


# --- how exit_status judges what a subcommand raised (in process) ----------------


def test_a_header_value_http_cannot_carry_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(InvalidHeaderError) as excinfo:
        check_header_value("Authorization", FAKE_KEY + "\n", what="the API key")
    group = ExceptionGroup("from a nursery", [excinfo.value])
    assert exit_status("sip-serve", group) == USAGE
    err = capsys.readouterr().err
    assert err.startswith("realtime-trio sip-serve: the API key cannot be sent")
    assert FAKE_KEY not in err


def test_an_internal_error_keeps_its_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    internal = RealtimeInternalError("please report this bug")
    assert exit_status("demo", internal) is None
    assert exit_status("demo", ExceptionGroup("", [OSError(), internal])) is None
    assert capsys.readouterr().err == ""


def test_ctrl_c_before_the_subcommand_is_known(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert exit_status(None, KeyboardInterrupt()) == INTERRUPTED
    assert capsys.readouterr().err == "realtime-trio: interrupted\n"
