"""Fixtures for the export tests: engine runs of the shipped scenarios, and the hand-made Figure 5 trace."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path

import pytest

from simulator import Simulation, load_scenario

from .fig5_fixture import fig5_trace

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "dmmviz" / "builtin_scenarios").glob("*.json"))
SCENARIO_NAMES = [p.stem for p in SCENARIOS]
GOLDEN = Path(__file__).resolve().parent / "golden"
FIG5_UNTIL = 15.0  # as ../shared/checks/seed_figures.py cuts Figure 5


MODES = ("network-dmm", "client-dmm", "centralized-pmipv6")
RUNS = [(name, mode) for name in SCENARIO_NAMES for mode in MODES]  # every shipped scenario under every mode


@cache
def _run(name: str, until: float | None, mode: str | None) -> str:
    scenario = load_scenario(ROOT / "dmmviz" / "builtin_scenarios" / f"{name}.json")
    sim = Simulation(scenario, seed=0, mode=mode)
    last = max((step["at"] for step in scenario["script"]), default=0.0)
    sim.run(last + 5.0 if until is None else until)
    return json.dumps(sim.trace())


def engine_trace(name: str, until: float | None = None, mode: str | None = None) -> dict:
    """The engine's trace of a shipped scenario, run until 5 s after its last script step unless `until` says, under
    its own mode unless `mode` says (a fresh copy each call: exporters must not need one, tests may)."""
    return json.loads(_run(name, until, mode))


@pytest.fixture
def fig5() -> dict:
    """The engine's trace of fig5-handover.json until t = 15 s."""
    return engine_trace("fig5-handover", FIG5_UNTIL)


@pytest.fixture
def handmade() -> dict:
    """The hand-made Figure 5 trace (tests/exports/fig5_fixture.py): it has a packet lost in flight."""
    return fig5_trace()


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed: run scripts/install-test-tools.sh (as root; make test and CI do)")
    return path
