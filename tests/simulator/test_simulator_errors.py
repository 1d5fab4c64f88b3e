"""What `open_simulator` and `RealtimeSimulator` raise: one clear exception, never a group."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import pytest

from realtime_trio.testing import (
    RealtimeSimulator,
    Rule,
    Say,
    Scenario,
    ScenarioError,
    open_simulator,
)


async def test_a_port_in_use_is_one_clear_oserror() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError) as info:
            async with open_simulator(port=port):
                pytest.fail("listening on a port in use")  # pragma: no cover
    assert type(info.value) is OSError
    assert info.value.errno == errno.EADDRINUSE
    assert info.value.strerror == (
        f"could not listen on 127.0.0.1:{port}: address already in use"
    )
    assert info.value.__suppress_context__


@pytest.mark.parametrize("port", [-1, 65536, 99999])
async def test_a_port_out_of_range_is_refused(port: int) -> None:
    with pytest.raises(ValueError, match="port must be 0-65535"):
        async with open_simulator(port=port):
            pytest.fail("listening on a port out of range")  # pragma: no cover


async def test_the_blocks_own_exception_comes_out_alone() -> None:
    with pytest.raises(KeyError) as info:
        async with open_simulator():
            raise KeyError("mine")
    assert info.value.args == ("mine",)
    own = ExceptionGroup("mine too", [ValueError()])
    with pytest.raises(ExceptionGroup) as group:
        async with open_simulator():
            raise own
    assert group.value is own


def _playing(path: Path) -> Scenario:
    return Scenario(rules=[Rule(steps=[Say(text="x", audio_file=str(path))])])


@pytest.mark.parametrize("content", [None, b"RIFF not really a wave file"])
async def test_a_wav_the_scenario_cannot_play_is_found_at_start(
    tmp_path: Path, content: bytes | None
) -> None:
    wav = tmp_path / "broken.wav"
    if content is not None:
        wav.write_bytes(content)
    with pytest.raises(ScenarioError, match=f"cannot play {wav}"):
        RealtimeSimulator(scenario=_playing(wav))
    with pytest.raises(ScenarioError, match=f"cannot play {wav}"):
        async with open_simulator(scenario=_playing(wav)):
            pytest.fail("served a scenario it cannot play")  # pragma: no cover
