"""The logger names users configure (`realtime_trio._core.logs`)."""

from __future__ import annotations

import logging
from typing import get_args

from realtime_trio._core.logs import ROOT, Area, get_logger


def test_the_names_users_configure_stay() -> None:
    assert get_logger().name == ROOT == "realtime_trio"
    names = {get_logger(area).name for area in get_args(Area)}
    assert names == {
        "realtime_trio.sip",
        "realtime_trio.sip.http",
        "realtime_trio.testing",
    }


def test_every_area_is_below_the_root() -> None:
    root = logging.getLogger(ROOT)
    for area in get_args(Area):
        logger = get_logger(area)
        while logger.parent is not None and logger is not root:
            logger = logger.parent
        assert logger is root


def test_the_client_logs_to_the_root() -> None:
    from realtime_trio._client import audio_encoding, engine, open

    for module in (audio_encoding, engine, open):
        assert module.logger.name == "realtime_trio"
