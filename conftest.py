"""Shared pytest setup for every test directory (engine, server, exports, browser).

pytest.ini points pytest-django at dmmviz.settings; tests that need no database never touch it, so the engine's
plain tests stay plain. Fixtures for one area live in that area's own conftest.py (tests/server/conftest.py, ...).
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
BUILTIN_SCENARIOS = ROOT / "dmmviz" / "builtin_scenarios"


@pytest.fixture
def builtin_scenario():
    """Load a built-in scenario document by name: builtin_scenario("fig5-handover") -> dict."""

    def load(name: str) -> dict:
        return json.loads((BUILTIN_SCENARIOS / f"{name}.json").read_text(encoding="utf-8"))

    return load


@pytest.fixture(autouse=True)
def _close_database_thread_connections(request):
    """After a database test, close the connection that async code left open in asgiref's database thread.

    The websocket consumer keeps its connection (persistent, CONN_MAX_AGE=None) in the one thread where Django's
    sync code runs for the event loop; left open, PostgreSQL refuses to drop the test database at the end.
    """
    yield
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if uses_db:
        from asgiref.sync import SyncToAsync
        from django.db import connections

        SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)
