"""The README's main job: ``realtime-trio demo`` against the built-in simulator."""

from __future__ import annotations

import io
import subprocess
import sys
import wave
from pathlib import Path

import pytest
import trio

from realtime_trio._cli.demo import ANSWER, QUESTION, demo


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
