"""Every test here gets a real ``redis-server`` of its own, on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.redis_server import RedisServer, find_redis_server


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A running ``redis-server``, stopped after the test (restart it at will)."""
    try:
        find_redis_server()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    with RedisServer() as server:
        yield server
