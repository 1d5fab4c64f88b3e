"""The built-in simulator for the bench: a child process on loopback (trio).

It runs as ``python -m realtime_trio.testing`` in its own process, so the
CPU the bench reports is the client's alone, and the simulator's work does
not compete with the client for this process's event loop. Its answer to
every turn is short and fixed, and its only delay is ``server_delay``
before each response's first audio delta (``--time-to-first-audio``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import BinaryIO, Final

import trio

from .config import SIM_ANSWER, BenchFailed

#: How long the simulator may take to start.
START_TIMEOUT: Final = 30.0
#: The key the bench sends to its own simulator.
LOCAL_KEY: Final = "sk-local-bench"


@asynccontextmanager
async def local_simulator(server_delay: float) -> AsyncIterator[str]:
    """Run the simulator in a child process for the block; yield its WebSocket URL.

    Raises:
        BenchFailed: it did not start (with what it said on stderr).
    """
    with tempfile.TemporaryDirectory(prefix="realtime-trio-bench-") as tmp:
        scenario, errors_path = _prepare(tmp)
        command = [
            sys.executable,
            "-m",
            "realtime_trio.testing",
            "--port",
            "0",
            "--scenario",
            scenario,
            "--time-to-first-audio",
            repr(server_delay),
        ]
        with _open_binary(errors_path) as errors:
            process = await trio.lowlevel.open_process(
                command, stdout=subprocess.PIPE, stderr=errors
            )
        try:
            url = await _first_line(process, errors_path)
            yield url
        finally:
            await _stop(process)


def _prepare(directory: str) -> tuple[str, str]:
    """Write the scenario (one short answer to everything); return it and the stderr file."""
    scenario = os.path.join(directory, "scenario.json")
    with open(scenario, "w", encoding="utf-8") as file:
        json.dump({"rules": [{"steps": [{"say": SIM_ANSWER}]}]}, file)
    return scenario, os.path.join(directory, "stderr.txt")


def _open_binary(path: str) -> BinaryIO:
    return open(path, "wb")


def _said(path: str) -> str:
    """The last line the child wrote on stderr."""
    with open(path, "rb") as file:
        lines = file.read().decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "no output"


async def _first_line(process: trio.Process, errors_path: str) -> str:
    assert process.stdout is not None
    data = b""
    with trio.move_on_after(START_TIMEOUT):
        while b"\n" not in data:
            chunk = await process.stdout.receive_some(4096)
            if not chunk:
                break
            data += chunk
    line = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    if line.startswith("ws://"):
        return line
    raise BenchFailed(f"the built-in simulator did not start: {_said(errors_path)}")


async def _stop(process: trio.Process) -> None:
    """Stop the child (SIGTERM, then SIGKILL after 5 s), whatever happened."""
    with trio.CancelScope(shield=True):
        if process.returncode is None:
            process.terminate()
            with trio.move_on_after(5):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()
        if process.stdout is not None:
            await process.stdout.aclose()
