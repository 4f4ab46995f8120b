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
