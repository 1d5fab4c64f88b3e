"""Ctrl-C while ``realtime-trio`` loads its subcommands: one line, exit status 130.

`main` loads the subcommands lazily (`build_parser` imports them), then
parses the flags and sets up logging; a `KeyboardInterrupt` anywhere in
there is reported as every other Ctrl-C is, never as a traceback.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

import pytest

from realtime_trio._cli import main as cli


def interrupt(*args: object, **kwargs: object) -> NoReturn:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "where",
    [
        (cli, "build_parser"),
        (argparse.ArgumentParser, "parse_args"),
        (cli.logging, "basicConfig"),
    ],
    ids=["loading the subcommands", "parsing the flags", "setting up logging"],
)
def test_ctrl_c_before_the_command_runs_is_one_line_and_130(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    where: tuple[object, str],
) -> None:
    monkeypatch.setattr(*where, interrupt)
    assert cli.main(["demo"]) == 130
    err = capsys.readouterr().err
    assert err == "realtime-trio: interrupted\n"
