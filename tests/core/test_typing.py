"""Type tests of the public API: mypy --strict over tests/core/type_tests/.

Each file there states, with ``assert_type`` and with ``# type: ignore[...]``
comments that must be needed, what the public API is typed as.
"""

from __future__ import annotations

from pathlib import Path

import mypy.api
import pytest

TESTS = Path(__file__).parent
ROOT = TESTS.parents[1]


def test_public_api_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # realtime_trio is found from the project root
    stdout, stderr, status = mypy.api.run(
        [
            "--config-file",
            str(ROOT / "setup.cfg"),
            "--strict",
            "--warn-unused-ignores",
            "--no-incremental",
            str(TESTS / "type_tests"),
        ]
    )
    assert status == 0, stdout + stderr
