"""Checkpoints (issue 10 item 3): step back and seek start from the nearest checkpoint and give exactly what a replay
from t = 0 gives; their cost follows the distance travelled, not the session's length."""

from __future__ import annotations

import json
import random
import time

import pytest

from dmmviz.web import live
from dmmviz.web.live import Live, SessionRow
from simulator import CommandError, Simulation

SCENARIO = json.load(open("dmmviz/builtin_scenarios/fig4-three-mars.json", encoding="utf-8"))


def same(a: Simulation, b: Simulation) -> None:
    assert (a.steps, a.now_us, a.peek(), a.journal) == (b.steps, b.now_us, b.peek(), b.journal)
    assert a.snapshot() == b.snapshot()
    assert (a.visible_before, a.last_was_command) == (b.visible_before, b.last_was_command)
    assert a.step() == b.step()  # and they go on alike


def session(seed: int, monkeypatch) -> tuple[Live, random.Random]:
    monkeypatch.setattr(live, "CHECKPOINT_EVERY", 40)
    rng = random.Random(seed)
    row = SessionRow(id="x", scenario=SCENARIO, seed=0, mode=None, journal=[], steps=0, now=0.0, revision=0)
    current = Live(row=row, sim=Simulation(SCENARIO), revision=0)
    mns = [m["id"] for m in SCENARIO["mobile_nodes"]]
    mars = [m["id"] for m in SCENARIO["network"]["mars"]]
    for _ in range(rng.randint(10, 40)):
        if rng.random() < 0.3:
            try:
                current.sim.apply({"action": "move", "mn": rng.choice(mns), "mar": rng.choice(mars)})
            except CommandError:
                pass
        else:
            current.sim.run(current.sim.now + rng.uniform(0.01, 1.5))
        live.add_checkpoint(current)
    return current, rng


@pytest.mark.parametrize("seed", range(12))
def test_step_back_and_seek_from_checkpoints_equal_a_replay(seed, monkeypatch):
    current, rng = session(seed, monkeypatch)
    sim = current.sim
    assert current.checkpoints, "the session made checkpoints"

    same(live.step_back(current), sim.step_back())
    target = rng.randint(0, sim.steps)
    same(live.go_to(current, sim.journal, target), Simulation.replay(SCENARIO, 0, sim.journal, target))
    # Without the last command (what step back after a command does), checkpoints made after it are not used.
    if sim.journal:
        shorter = sim.journal[:-1]
        same(live.go_to(current, shorter, sim.steps, now=sim.now),
             Simulation.replay(SCENARIO, 0, shorter, sim.steps, now=sim.now))


def test_step_back_near_the_end_of_a_long_session_costs_the_distance_not_the_length(monkeypatch):
    """A session of about 300,000 items: a step back from its end takes a small fraction of a replay from t = 0."""
    monkeypatch.setattr(live, "CHECKPOINT_EVERY", 5_000)
    scenario = json.load(open("dmmviz/builtin_scenarios/fig5-handover.json", encoding="utf-8"))
    row = SessionRow(id="x", scenario=scenario, seed=0, mode=None, journal=[], steps=0, now=0.0, revision=0)
    current = Live(row=row, sim=Simulation(scenario, record=False), revision=0)
    while current.sim.steps < 300_000:
        current.sim.run(current.sim.now + 20.0, collect=False)
        live.add_checkpoint(current)
    sim = current.sim

    t0 = time.process_time()
    back = live.step_back(current)
    near = time.process_time() - t0
    t0 = time.process_time()
    reference = Simulation.replay(scenario, 0, sim.journal, sim.visible_before, record=False)
    far = time.process_time() - t0
    assert (back.steps, back.now_us, back.snapshot()) == (reference.steps, reference.now_us, reference.snapshot())
    assert near < far / 5, (near, far)
