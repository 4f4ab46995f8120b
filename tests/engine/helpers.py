"""Helpers for engine tests: build scenarios, run them, pick messages (in the manner of aioquic's roundtrip)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simulator import Simulation, load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "dmmviz" / "builtin_scenarios"


def public(name: str) -> dict[str, Any]:
    """A scenario shipped with the project (copies of ../shared/scenarios)."""
    return json.loads((SCENARIOS / f"{name}.json").read_text())


def scenario(
    mars: int = 2, mns: list[Any] | None = None, script: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    data = {
        "format": "dmmviz-scenario/1",
        "title": "test",
        "network": {
            "mars": [{"id": f"MAR{i}", "prefix_pool": f"2001:db8:{i}::/48"} for i in range(1, mars + 1)],
            "cns": [{"id": "CN1", "address": "2001:db8:ca5e::1"}, {"id": "CN2", "address": "2001:db8:ca5e::2"}],
        },
        "mobile_nodes": mns or [{"id": "MN1", "interfaces": ["if1"]}],
        "script": script or [],
    }
    data.update(extra)
    return data


def run(data: dict[str, Any], until: float, **kw: Any) -> Simulation:
    sim = Simulation(load_scenario(data), **kw)
    sim.run(until)
    return sim


def messages(
    sim: Simulation,
    kind: str | None = None,
    src: str | None = None,
    dst: str | None = None,
    after: float = -1,
    before: float = 1e18,
) -> list[dict[str, Any]]:
    return [
        e
        for e in sim.events
        if "src" in e
        and (kind is None or e["kind"] == kind)
        and (src is None or e["src"] == src)
        and (dst is None or e["dst"] == dst)
        and after <= e["t"] < before
    ]


def signalling(sim: Simulation, after: float = -1, before: float = 1e18) -> list[tuple[str, str, str]]:
    """(kind, src, dst) of every control message in order: what a sequence diagram shows."""
    return [(e["kind"], e["src"], e["dst"]) for e in messages(sim, after=after, before=before) if e["kind"] != "DATA"]


def states(sim: Simulation, kind: str) -> list[dict[str, Any]]:
    return [e for e in sim.events if e["kind"] == kind]
