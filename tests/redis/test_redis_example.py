"""docs/examples/several_instances.py runs: two instances, one Redis, a killed one."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.helpers.redis_server import RedisServer

EXAMPLE = (
    Path(__file__).resolve().parents[2] / "docs" / "examples" / "several_instances.py"
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_several_instances_example(
    redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("example_several_instances", EXAMPLE)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert await example.main(["--redis-url", redis_server.url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "call placed to the first instance: 200",
        "first instance killed (SIGKILL)",
        "the second instance re-attached a sideband to the call",
        "state it resumed from: topic=order A123",
        "the call went: incoming -> accepted -> ended",
    ]
