"""The example programs of the docs run (against the built-in simulator)."""

from __future__ import annotations

import os
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
