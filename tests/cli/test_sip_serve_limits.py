"""``realtime-trio sip-serve``'s limit flags: what they set, and their errors."""

from __future__ import annotations

import functools
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
import trio

from realtime_trio._cli.main import main
from realtime_trio._cli.sip_serve import (
    DEMO_MAX_CALL_SECONDS,
    run_sip_serve,
    server_from_args,
)
from realtime_trio._sip.options import SIP_SERVER_DEFAULTS
from realtime_trio.testing import open_simulator
from tests.helpers.sip import API_KEY, SECRET, sip_serve_args


def _options(*argv: str) -> dict[str, object]:
    server = server_from_args(
        sip_serve_args("--webhook-secret", SECRET, "--api-key", API_KEY, *argv)
    )
    return dict(server._config.options)


def test_the_flags_set_the_options(tmp_path: Path) -> None:
    (tmp_path / "limits_handler.py").write_text("async def handle(call):\n    pass\n")
    handler = f"{tmp_path / 'limits_handler.py'}:handle"
    options = _options(
        "--handler", handler,
        "--max-body-size", "2048",
        "--max-connections", "7",
        "--header-timeout", "2.5",
        "--max-call-seconds", "90",
        "--health-path", "/live",
    )  # fmt: skip
    assert {
        k: options[k]
        for k in (
            "max_body_size",
            "max_connections",
            "header_timeout",
            "max_call_seconds",
            "health_path",
        )
    } == {
        "max_body_size": 2048,
        "max_connections": 7,
        "header_timeout": 2.5,
        "max_call_seconds": 90.0,
        "health_path": "/live",
    }
    # The defaults: the server's, but a shorter limit for the demo handler.
    defaults = _options("--handler", handler)
    for name in ("max_body_size", "max_connections", "header_timeout", "health_path"):
        assert defaults[name] == SIP_SERVER_DEFAULTS[name], name  # type: ignore[literal-required]
    assert defaults["max_call_seconds"] == SIP_SERVER_DEFAULTS["max_call_seconds"]
    assert _options()["max_call_seconds"] == DEMO_MAX_CALL_SECONDS
    # inf: no limit; an empty health path: no health check.
    assert _options("--max-call-seconds", "inf")["max_call_seconds"] is None
    assert _options("--health-path", "")["health_path"] is None


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--max-body-size", "0"], "--max-body-size: must be at least 1, not '0'"),
        (["--max-body-size", "1MB"], "--max-body-size: must be a whole number"),
        (["--max-connections", "-3"], "--max-connections: must be at least 1"),
        (["--header-timeout", "0"], "--header-timeout: must be more than 0 seconds"),
        (["--header-timeout", "inf"], "--header-timeout: must be a finite number"),
        (["--max-call-seconds", "nan"], "--max-call-seconds: must be more than 0"),
        (["--max-call-seconds", "soon"], "--max-call-seconds: must be a number"),
        (["--health-path", "healthz"], "--health-path: must start with '/'"),
        (["--health-path", "/webhook"], "--health-path: must differ from --path"),
    ],
)
def test_a_bad_flag_is_one_line_naming_it_exit_2(
    flags: list[str],
    expected: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    try:
        status = main(["sip-serve", "--port", "0", *flags])
    except SystemExit as exc:  # argparse's own exit, through our parser
        status = exc.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("realtime-trio sip-serve: "), line
    assert expected in line, line


def test_the_real_command_refuses_a_bad_limit_in_one_line() -> None:
    environ = {**os.environ, "OPENAI_API_KEY": API_KEY, "OPENAI_WEBHOOK_SECRET": SECRET}
    result = subprocess.run(
        [sys.executable, "-m", "realtime_trio", "sip-serve", "--max-connections", "0"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (2, "")
    (line,) = result.stderr.splitlines()
    assert "--max-connections: must be at least 1" in line


async def test_the_limits_apply_from_the_command_line(tmp_path: Path) -> None:
    """--max-body-size gives 413, --health-path answers, --max-call-seconds hangs up."""
    module = tmp_path / "hanging_handler.py"
    module.write_text(
        textwrap.dedent(
            """
            import trio

            async def hang(call):
                await trio.sleep_forever()
            """
        )
    )
    async with open_simulator() as sim:
        args = sip_serve_args(
            "--port", "0",
            "--webhook-secret", SECRET,
            "--api-key", API_KEY,
            "--api-base", sim.base_url,
            "--realtime-url", sim.url,
            "--handler", f"{module}:hang",
            "--max-body-size", "4096",
            "--max-call-seconds", "0.5",
            "--health-path", "/live",
        )  # fmt: skip
        async with trio.open_nursery() as nursery:
            url = await nursery.start(
                functools.partial(run_sip_serve, args, stdout=io.StringIO())
            )
            async with httpx.AsyncClient() as client:
                response = await client.post(url, content=b"{" * 4097)
                assert response.status_code == 413
                response = await client.get(url.removesuffix("/webhook") + "/live")
                assert response.json()["status"] == "ok"
            with trio.fail_after(10):
                call_id = await sim.place_sip_call(url, SECRET)
                assert sim.calls[call_id].webhook_status == 200
                while sim.calls[call_id].state != "ended":  # noqa: ASYNC110
                    await trio.sleep(0.05)
            assert sim.calls[call_id].history == ["incoming", "accepted", "ended"]
            nursery.cancel_scope.cancel()
