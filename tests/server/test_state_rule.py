"""The rule behind `events` messages with state null (dmmviz/protocol.py): the consumer leaves the state out after
events without a state event other than drop, which is right only if the engine never changes a table silently."""

from __future__ import annotations

import random

import pytest

from dmmviz.web.consumers import changes_tables
from simulator import CommandError, Simulation

from .conftest import tables


@pytest.mark.parametrize("mode", ["network-dmm", "client-dmm", "centralized-pmipv6"])
@pytest.mark.parametrize("slug", ["fig5-handover", "fig4-three-mars", "fig6-multi-interface", "fig2-client-dmm"])
def test_engine_reports_every_table_change_with_a_state_event(builtin_scenario, slug, mode):
    """The consumer sends state null after events without a state event (other than drop): that is right only if the
    engine never changes a table silently. Checked step by step through each scenario with random user commands."""
    data = builtin_scenario(slug)
    for seed in (0, 1):
        rng = random.Random(seed)
        sim = Simulation(data, seed=seed, mode=mode)
        mars, mns, cns = sorted(sim.routers), sorted(sim.mns), sorted(sim.cns)
        before, quiet = tables(sim.snapshot()), 0
        for i in range(600):
            if sim.peek() is None:
                break
            if rng.random() < 0.03:
                mn = rng.choice(mns)
                command = rng.choice([
                    {"action": "move", "mn": mn, "mar": rng.choice(mars)},
                    {"action": "detach", "mn": mn},
                    {"action": "attach", "mn": mn, "mar": rng.choice(mars)},
                    {"action": "start_flow", "mn": mn, "flow": f"f{i}", "cn": rng.choice(cns)},
                ])
                try:
                    events = sim.apply(command)
                except CommandError:
                    continue
            elif rng.random() < 0.05:
                events = sim.run(sim.now + rng.uniform(0.0, 0.5))
            else:
                events = sim.step()
            after = tables(sim.snapshot())
            if not changes_tables(events):
                quiet += 1
                assert after == before, (slug, mode, seed, i, [e["kind"] for e in events])
            before = after
        assert quiet > 0
