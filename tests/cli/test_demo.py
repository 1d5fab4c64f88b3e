"""The README's main job: ``realtime-trio demo`` against the built-in simulator."""

from __future__ import annotations

import io
import subprocess
import sys
import wave
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trio

from realtime_trio import ConnectionBroken
from realtime_trio._cli.demo import (
    ANSWER,
    QUESTION,
    SYNTHETIC,
    Timeline,
    _stream_question,
    demo,
)
from realtime_trio._cli.errors import CommandFailed
from realtime_trio.testing import ConnectionFault, Scenario, open_simulator

if TYPE_CHECKING:
    from typing import Self


async def test_demo_conversation_against_the_simulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = io.StringIO()
    wav_path = tmp_path / "assistant.wav"
    with trio.fail_after(30):
        result = await demo(
            url=None,
            api_key=None,
            model="gpt-realtime",
            wav_path=str(wav_path),
            fast=True,
            out=out,
        )
    assert result.user_transcript == QUESTION
    assert result.assistant_transcript == ANSWER
    assert [name for name, _, _ in result.tool_calls] == ["get_weather"]
    assert '"city": "Paris"' in result.tool_calls[0][1]
    with wave.open(str(wav_path)) as wav:
        assert wav.getframerate() == 24_000
        assert (
            wav.getnframes() * 2 == result.audio_bytes > 24_000
        )  # over half a second of speech
    timeline = result.timeline
    assert timeline.speech_sent is not None
    assert timeline.speech_stopped is not None
    assert timeline.first_audio is not None
    assert timeline.tool_call is not None
    assert timeline.tool_call < timeline.first_audio
    text = out.getvalue()
    assert "built-in simulator" in text
    assert "latency" in text
    assert "end of speech sent -> first audio" in text
    # It says, where it tells what it wrote, that the voice is not speech.
    assert result.simulated
    written = text.index(f"written to {wav_path}")
    assert text.index("the simulator's voice: synthetic audio", written) > written
    assert "tones shaped like speech, not speech" in SYNTHETIC
    assert f"asking {QUESTION!r} in {SYNTHETIC}" in text


async def test_demo_against_another_server_does_not_claim_a_synthetic_answer(
    tmp_path: Path,
) -> None:
    out = io.StringIO()
    async with open_simulator() as sim:
        with trio.fail_after(30):
            result = await demo(
                url=sim.url,
                api_key="sk-test",
                model="gpt-realtime",
                wav_path=str(tmp_path / "a.wav"),
                fast=True,
                out=out,
            )
    assert not result.simulated
    assert "the simulator's voice" not in out.getvalue()


async def test_a_dropped_connection_is_one_clear_error(tmp_path: Path) -> None:
    # Dropped mid-question (after session.created, session.updated and
    # speech_started), while the audio task is still streaming.
    scenario = Scenario(faults=[ConnectionFault(after_events=3, drop=True)])
    out = io.StringIO()
    async with open_simulator(scenario=scenario, realtime=True) as sim:
        with trio.fail_after(30), pytest.raises(CommandFailed) as excinfo:
            await demo(
                url=sim.url,
                api_key="sk-test",
                model="gpt-realtime",
                wav_path=str(tmp_path / "a.wav"),
                out=out,
            )
    assert type(excinfo.value) is CommandFailed
    assert str(excinfo.value).startswith(f"lost the connection to {sim.url}: ")
    assert isinstance(excinfo.value.__cause__, ConnectionBroken)


class _BrokenSender:
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    async def send(self, data: bytes) -> None:
        await trio.lowlevel.checkpoint()
        raise ConnectionBroken("the connection ended: code 1006")


class _BrokenConnection:
    def audio_sender(self) -> _BrokenSender:
        return _BrokenSender()


async def test_the_audio_task_stops_quietly_when_the_connection_ends() -> None:
    # The event loop reports the end once; the audio task adds nothing.
    timeline = Timeline()
    await _stream_question(
        _BrokenConnection(),  # type: ignore[arg-type]
        b"\x00" * 9600,
        100.0,
        timeline,
        pace=False,
    )
    assert timeline.speech_sent is None


def test_demo_command_line(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "realtime_trio",
            "demo",
            "--fast",
            "--out",
            str(tmp_path / "a.wav"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"user:      {QUESTION}" in proc.stdout
    assert f"assistant: {ANSWER}" in proc.stdout
    assert (tmp_path / "a.wav").stat().st_size > 44


def test_cli_help_lists_subcommands() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "realtime_trio", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "demo" in proc.stdout
    assert "simulate" in proc.stdout
