"""Two real Daphne processes on this test's database and the Redis on 127.0.0.1:6379, for the multi-process tests
of the server and the lessons app (`make test-services`)."""

from __future__ import annotations

import os

import pytest
import redis
from django.db import connection

from dmmviz.daphne_process import DaphneProcess

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def database_url() -> str:
    """The URL of the test database this pytest process uses, for the Daphne children."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    if connection.vendor == "postgresql":
        user = s.get("USER") or "postgres"
        return f"postgres://{user}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"
    pytest.skip(f"no URL for a {connection.vendor} test database")


@pytest.fixture
def two_servers(transactional_db):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is not reachable ({exc}): run scripts/start-services.sh")
    env = {"DATABASE_URL": database_url(), "REDIS_URL": REDIS_URL}
    servers = [DaphneProcess(env=env), DaphneProcess(env=env)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()
