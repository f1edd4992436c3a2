"""The Redis server every distributed test shares (one per session, no persistence)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.distributed.harness import REDIS_SERVER, RedisServer, start_redis


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (scripts/install-redis.sh installs it)")
    server = start_redis("--appendonly", "no")
    try:
        yield server
    finally:
        server.stop()
