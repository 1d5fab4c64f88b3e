"""The example programs of the docs run (against the built-in simulator)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import wave
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLES = DOCS / "examples"


def _env() -> dict[str, str]:
    """The environment of an example: no API key, so it talks to the simulator."""
    return {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}


def test_embed_example_holds_a_voice_turn() -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "embed.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[speech started at" in proc.stdout
    assert "I heard" in proc.stdout  # the simulator's answer to an audio turn
    assert "[response completed;" in proc.stdout


def _tutorial_output(command: str) -> list[str]:
    """The output the tutorial shows for ``command`` in a console block."""
    lines = (DOCS / "tutorial" / "first_conversation.rst").read_text().splitlines()
    start = lines.index(f"   $ {command}") + 1
    output = []
    for line in lines[start:]:
        if not line.startswith("   "):
            break
        output.append(line[3:])
    return output


def test_first_conversation_tutorial_runs_as_shown(tmp_path: Path) -> None:
    # The program writes question.wav and answer.wav in the current directory:
    # run it in tmp_path, so that nothing is left in the repository.
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "first_conversation.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    shown = _tutorial_output(".venv/bin/python first_conversation.py")
    assert shown, "the tutorial shows no output for the program"
    assert proc.stdout.splitlines() == shown
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answer.wav", "question.wav"]
    with wave.open(str(tmp_path / "answer.wav")) as answer:
        assert (answer.getnchannels(), answer.getsampwidth()) == (1, 2)
        assert answer.getframerate() == 24_000
        assert answer.getnframes() > 24_000  # more than a second of answer


def _run_example(name: str, cwd: Path) -> list[str]:
    """Run ``docs/examples/<name>`` in ``cwd`` against the simulator; its output lines."""
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=cwd,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_agent_example_holds_a_voice_conversation_with_a_tool_and_a_barge_in(
    tmp_path: Path,
) -> None:
    lines = _run_example("agent.py", tmp_path)
    assert lines[:2] == [
        "user: What is the weather in Paris?",
        '[tool] get_weather -> {"city": "Paris", "sky": "sunny", "temperature_c": 22}',
    ]
    # Real time: the cut is about 1.5 s into the forecast.
    match = re.fullmatch(
        r"\[barge-in: stopped after \d\.\d s; truncated at (\d+) ms\]", lines[2]
    )
    assert match is not None, lines[2]
    assert 1_400 <= int(match.group(1)) <= 3_000
    assert lines[3].startswith("assistant: It is sunny")
    assert lines[4:6] == ["user: Thanks, that is all. Goodbye!", "assistant: Goodbye!"]
    assert lines[6] == "conversation:"
    assert f"  (the forecast was cut at {match.group(1)} ms" in "\n".join(lines)
    with wave.open(str(tmp_path / "agent.wav")) as played:
        assert played.getframerate() == 24_000
        assert played.getnframes() > 24_000  # the start of the forecast and the goodbye


def test_conversation_guide_example(tmp_path: Path) -> None:
    lines = _run_example("conversation.py", tmp_path)
    assert lines[:3] == [
        "[completed] You said: Hello",
        "[completed] You said: What is the capital of France?",
        "[5 responses, one at a time: completed, completed, completed, completed, completed]",
    ]
    assert lines[3:6] == [
        "transcript:",
        "  user: Hello",
        "  assistant: You said: Hello",
    ]
    assert lines[-1].startswith("usage: ") and lines[-1].endswith(" over 5 responses")


def test_tools_guide_example(tmp_path: Path) -> None:
    lines = _run_example("tools.py", tmp_path)
    assert sorted(lines[:2]) == [
        '[tool] get_air_quality({"city": "Paris"}) -> '
        '{"error": "LookupError: no air quality station in Paris"}',
        '[tool] get_weather({"city": "Paris", "unit": "fahrenheit"}) -> '
        '{"city": "Paris", "sky": "sunny", "temperature": 71.6, "unit": "fahrenheit"}',
    ]
    assert lines[2].startswith("assistant: The ")
    assert lines[3] == "[2 calls, 1 failed, 1 follow-up response]"


def test_playback_guide_example(tmp_path: Path) -> None:
    lines = _run_example("playback.py", tmp_path)
    assert lines[0].startswith("[barge-in: played 10")
    assert lines[1].startswith("[truncated it at 10")
    assert lines[2].startswith("[discarded ")
    assert lines[3] == "[the answer was cancelled: turn_detected]"
    assert lines[4] == f"[the server kept {lines[1].split()[-2]} ms of it]"
    assert (tmp_path / "speaker.wav").stat().st_size > 44


def test_continue_after_expiry_guide_example(tmp_path: Path) -> None:
    lines = _run_example("continue_conversation.py", tmp_path)
    assert lines[4] == "[server: Your session hit the maximum duration of 60 minutes.]"
    assert lines[5].startswith("[connection 1 ended: the connection ended: code 1001")
    assert lines[6] == "[seeded the new conversation with 4 items]"
    assert lines[-8:] == [
        "  user: My name is Ada.",
        "  assistant: You said: My name is Ada.",
        "  user: I like trains.",
        "  assistant: You said: I like trains.",
        "  user: What is my name?",
        "  assistant: You said: What is my name?",
        "  user: What do I like?",
        "  assistant: You said: What do I like?",
    ]
