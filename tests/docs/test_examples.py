"""The example programs of the docs run (against the built-in simulator)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def test_embed_example_holds_a_voice_turn() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "embed.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[speech started at" in proc.stdout
    assert "I heard" in proc.stdout  # the simulator's answer to an audio turn
    assert "[response completed;" in proc.stdout
