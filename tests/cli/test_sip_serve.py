"""``realtime-trio sip-serve`` and its demo handler, against the simulator."""

from __future__ import annotations

import functools
import io
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import trio

from realtime_trio._cli.errors import UsageError
from realtime_trio._cli.sip_demo import END_CALL_TOOL, demo_session, make_demo_handler
from realtime_trio._cli.sip_serve import (
    load_object,
    run_sip_serve,
    server_from_args,
)
from realtime_trio._sip.options import SIP_SERVER_DEFAULTS
from realtime_trio.calls import CallOutcome
from realtime_trio.testing import CallTool, Rule, Say, Scenario, open_simulator
from tests.helpers.sip import (
    API_KEY,
    SECRET,
    eventually,
    place_call,
    sim_and_server,
    sip_serve_args,
)


async def test_sip_serve_prints_the_url_and_runs_the_demo() -> None:
    scenario = Scenario(
        rules=[Rule(turn=1, steps=[Say(text="Hello! How can I help?")])]
    )
    async with open_simulator(scenario=scenario) as sim:
        args = sip_serve_args(
            "--port", "0",
            "--webhook-secret", SECRET,
            "--api-key", API_KEY,
            "--api-base", sim.base_url,
            "--realtime-url", sim.url,
            "--instructions", "You are the test line.",
        )  # fmt: skip
        out = io.StringIO()
        async with trio.open_nursery() as nursery:
            url = await nursery.start(
                functools.partial(run_sip_serve, args, stdout=out)
            )
            assert out.getvalue().splitlines()[0] == url
            assert url.startswith("http://127.0.0.1:") and url.endswith("/webhook")
            call_id = await sim.place_sip_call(url, SECRET)
            with trio.fail_after(10):
                (record,) = await sim.wait_connections(1)
                # The demo greets the caller, then hangs up on '#'.
                await eventually(
                    lambda: any(
                        type(e).__name__ == "ResponseCreate"
                        for e in record.client_events
                    )
                )
                await sim.send_dtmf(call_id, "#")
                await record.closed.wait()
                await eventually(lambda: sim.calls[call_id].state == "ended")
            nursery.cancel_scope.cancel()
        assert sim.calls[call_id].session is not None
        session = dict(sim.calls[call_id].session)
        assert session["instructions"] == "You are the test line."
        assert session["tools"][0]["name"] == "end_call"
        create = record.client_events[0]
        assert "Greet the caller" in create.response.instructions


async def test_demo_handler_hangs_up_after_end_call() -> None:
    scenario = Scenario(
        rules=[
            Rule(
                turn=1,
                steps=[Say(text="Goodbye!"), CallTool(name="end_call", call_id="c1")],
            )
        ]
    )
    handler = make_demo_handler(goodbye_grace=0.2)
    async with sim_and_server(handler, scenario=scenario, session=demo_session()) as (
        sim,
        server,
    ):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await call.wait_ended()
        assert call.outcome is CallOutcome.HUNG_UP
        sent = [type(e).__name__ for e in sim.connections[0].client_events]
        assert sent == ["ResponseCreate", "ConversationItemCreate"]
        output = sim.connections[0].client_events[1].item
        assert (output.call_id, output.output) == ("c1", '{"ok": true}')


async def test_demo_handler_time_limit() -> None:
    handler = make_demo_handler(max_call_seconds=0.3)
    async with sim_and_server(handler) as (sim, server):
        with trio.fail_after(10):
            call = await place_call(sim, server)
            await call.wait_ended()
        assert call.outcome is CallOutcome.HUNG_UP


def test_demo_session_carries_the_end_call_tool() -> None:
    session = demo_session("Be short.", model="gpt-realtime-mini")
    assert (session.model, session.instructions, session.tools) == (
        "gpt-realtime-mini",
        "Be short.",
        (END_CALL_TOOL,),
    )


def test_load_object(tmp_path: Path) -> None:
    assert load_object("os.path:join") is os.path.join
    handler_file = tmp_path / "my_handlers.py"
    handler_file.write_text(
        "async def handle(call):\n    pass\n\nclass K:\n    x = 1\n"
    )
    assert load_object(f"{handler_file}:handle").__name__ == "handle"
    assert load_object(f"{handler_file}:K.x") == 1
    with pytest.raises(ValueError, match="MODULE:FUNCTION"):
        load_object("no_colon")
    with pytest.raises(ValueError, match="no attribute"):
        load_object("os.path:nope")
    with pytest.raises(ImportError):
        load_object("no_such_module_xyz:f")


def test_server_from_args(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    server = server_from_args(sip_serve_args("--port", "0"))
    assert repr(server).startswith("<SipCallServer")
    module = tmp_path / "custom_handler.py"
    module.write_text(
        textwrap.dedent(
            """
            from realtime_trio.calls import Reject

            async def handle(call):
                await call.hangup()

            async def decide(call):
                return Reject(486)

            NOT_CALLABLE = 3
            """
        )
    )
    server_from_args(
        sip_serve_args(
            "--handler",
            f"{module}:handle",
            "--decide",
            f"{module}:decide",
            "--instructions",
            "x",
        )
    )
    with pytest.raises(UsageError, match=r"^--handler: .* is not callable") as info:
        server_from_args(sip_serve_args("--handler", f"{module}:NOT_CALLABLE"))
    assert info.value.flag == "--handler"
    with pytest.raises(UsageError, match=r"^--decide: .*no attribute"):
        server_from_args(sip_serve_args("--decide", f"{module}:nope"))
    with pytest.raises(UsageError, match=r"^--path: must start with '/'"):
        server_from_args(sip_serve_args("--path", "webhook"))
    with pytest.raises(UsageError, match=r"^--max-calls: must be at least 1"):
        server_from_args(sip_serve_args("--max-calls", "0"))
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET")
    with pytest.raises(UsageError, match=r"^--webhook-secret: no webhook secret"):
        server_from_args(sip_serve_args())


async def test_custom_handler_and_decider_from_the_command_line(tmp_path: Path) -> None:
    module = tmp_path / "cli_handlers.py"
    module.write_text(
        textwrap.dedent(
            """
            from realtime_trio.calls import Accept, Reject
            from realtime_trio import SessionConfig

            async def handle(call):
                await call.connection.update_session(SessionConfig(instructions="custom"))
                await call.hangup()

            async def decide(call):
                if call.header("X-Block") == "yes":
                    return Reject(486)
                return None
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
            "--handler", f"{module}:handle",
            "--decide", f"{module}:decide",
            "--model", "gpt-realtime-mini",
        )  # fmt: skip
        async with trio.open_nursery() as nursery:
            url = await nursery.start(
                functools.partial(run_sip_serve, args, stdout=io.StringIO())
            )
            blocked = await sim.place_sip_call(
                url, SECRET, sip_headers={"X-Block": "yes"}
            )
            allowed = await sim.place_sip_call(url, SECRET)
            with trio.fail_after(10):
                await eventually(
                    lambda: (
                        sim.calls[allowed].state == "ended"
                        and sim.calls[blocked].state == "rejected"
                    )
                )
            nursery.cancel_scope.cancel()
        assert sim.calls[blocked].reject_status_code == 486
        assert sim.calls[allowed].session == {
            "type": "realtime",
            "model": "gpt-realtime-mini",
        }


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_sip_serve_command_runs_until_ctrl_c() -> None:
    """The real entry point, in a subprocess: URL on the first line, a call, then SIGINT."""
    attached = trio.Event()
    async with open_simulator() as sim:
        env = {
            **os.environ,
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_WEBHOOK_SECRET": SECRET,
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable, "-m", "realtime_trio", "sip-serve",
            "--port", "0",
            "--api-base", sim.base_url,
            "--realtime-url", sim.url,
        ]  # fmt: skip
        process = await trio.lowlevel.open_process(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        assert process.stdout is not None and process.stderr is not None
        try:
            with trio.fail_after(30):
                buffer = b""
                while b"\n" not in buffer:
                    chunk = await process.stdout.receive_some()
                    assert chunk, "sip-serve exited before printing its URL"
                    buffer += chunk
                url = buffer.split(b"\n", 1)[0].decode()
                assert url.startswith("http://127.0.0.1:") and url.endswith("/webhook")
                call_id = await sim.place_sip_call(url, SECRET)
                await sim.wait_connections(1)
                attached.set()
                process.send_signal(signal.SIGINT)
                stderr = b""
                while chunk := await process.stderr.receive_some():
                    stderr += chunk
                status = await process.wait()
        finally:
            if process.returncode is None:  # pragma: no cover - only on failure
                process.kill()
                with trio.CancelScope(shield=True):
                    await process.wait()
        assert status == 130, stderr  # Ctrl-C, after a clean shutdown
        assert stderr.decode().strip().splitlines()[-1] == "SIGINT: shutting down"
        # The call was still up: shutting down hung it up.
        assert sim.calls[call_id].history == ["incoming", "accepted", "ended"]
        assert API_KEY.encode() not in stderr and SECRET.encode() not in stderr


async def test_configuration_errors_are_usage_errors_naming_the_flag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET", raising=False)
    with pytest.raises(UsageError) as info:
        await run_sip_serve(sip_serve_args("--api-key", API_KEY))
    assert str(info.value) == (
        "--webhook-secret: no webhook secret: "
        "pass --webhook-secret or set OPENAI_WEBHOOK_SECRET"
    )
    with pytest.raises(UsageError, match=r"^--handler: expected MODULE:FUNCTION"):
        await run_sip_serve(
            sip_serve_args(
                "--api-key", API_KEY, "--webhook-secret", SECRET, "--handler", "x"
            )
        )


# A key with the newline it had in its file: the secret part must never show.
LEAKY_KEY = "sk-proj-Leak0123456789abcdefLeak"
BAD_SECRET = "whsec_Leak!!notbase64"


@pytest.mark.parametrize(
    ("flags", "env", "expected"),
    [
        pytest.param(
            [],
            {"OPENAI_API_KEY": LEAKY_KEY + "\n"},
            "sip-serve: OPENAI_API_KEY: the API key cannot be sent: "
            "it ends with a line break",
            id="key-from-env-with-newline",
        ),
        pytest.param(
            ["--api-key", LEAKY_KEY + "\r\n"],
            {},
            "sip-serve: --api-key: the API key cannot be sent: "
            "it ends with a line break (\\r\\n)",
            id="key-flag-with-crlf",
        ),
        pytest.param(
            ["--webhook-secret", BAD_SECRET],
            {},
            "sip-serve: --webhook-secret: the webhook secret is not 'whsec_' "
            "followed by valid base64",
            id="malformed-secret-flag",
        ),
        pytest.param(
            [],
            {"OPENAI_WEBHOOK_SECRET": SECRET + "\n"},
            "sip-serve: OPENAI_WEBHOOK_SECRET: the webhook secret starts or ends "
            "with white space or a line break",
            id="secret-from-env-with-newline",
        ),
        pytest.param(
            ["--webhook-secret", ""],
            {},
            "sip-serve: --webhook-secret: the webhook secret is empty",
            id="empty-secret-flag",
        ),
        pytest.param(
            [],
            {"OPENAI_WEBHOOK_SECRET": ""},
            "sip-serve: --webhook-secret: no webhook secret: pass "
            "--webhook-secret or set OPENAI_WEBHOOK_SECRET",
            id="no-secret",
        ),
    ],
)
def test_a_bad_secret_or_key_is_one_line_naming_the_flag_exit_2(
    flags: list[str], env: dict[str, str], expected: str
) -> None:
    """The real command: one line on stderr, no traceback, no secret, exit 2."""
    environ = {
        **os.environ,
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_WEBHOOK_SECRET": SECRET,
        **env,
    }
    command = [
        sys.executable, "-m", "realtime_trio", "-vv", "sip-serve",
        "--port", "0", "--api-base", "http://127.0.0.1:9/v1", *flags,
    ]  # fmt: skip
    result = subprocess.run(
        command,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("realtime-trio " + expected), lines[0]
    assert "Traceback" not in result.stderr
    assert "webhook_secret=" not in result.stderr
    assert "api_key=" not in result.stderr
    assert LEAKY_KEY not in result.stderr
    assert "Leak!!" not in result.stderr


async def test_a_raw_secret_is_used_with_a_warning_at_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    raw = "not-a-whsec-secret"
    caplog.set_level(logging.DEBUG)
    async with open_simulator() as sim:
        args = sip_serve_args(
            "--port", "0",
            "--webhook-secret", raw,
            "--api-key", API_KEY,
            "--api-base", sim.base_url,
            "--realtime-url", sim.url,
        )  # fmt: skip
        async with trio.open_nursery() as nursery:
            url = await nursery.start(
                functools.partial(run_sip_serve, args, stdout=io.StringIO())
            )
            # The secret's text is the key, as the official SDK does.
            call_id = await sim.place_sip_call(url, raw)
            assert sim.calls[call_id].webhook_status == 200
            nursery.cancel_scope.cancel()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("does not start with 'whsec_'" in r.getMessage() for r in warnings), (
        warnings
    )
    assert all(raw not in r.getMessage() for r in caplog.records)


async def test_a_port_in_use_is_one_oserror() -> None:
    # One exception, not a group: `realtime-trio` then says it in one line.
    with trio.socket.socket() as taken:
        await taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = sip_serve_args(
            "--port", str(port), "--webhook-secret", SECRET, "--api-key", API_KEY
        )  # fmt: skip
        with pytest.raises(OSError, match="in use"):
            await run_sip_serve(args, stdout=io.StringIO())


def test_the_defaults_are_the_servers() -> None:
    args = sip_serve_args()
    assert args.host == SIP_SERVER_DEFAULTS["host"]
    assert args.path == SIP_SERVER_DEFAULTS["path"]
    assert args.api_base == SIP_SERVER_DEFAULTS["api_base_url"]
    assert args.max_calls == SIP_SERVER_DEFAULTS["max_concurrent_calls"]
