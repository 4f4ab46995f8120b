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
    # and their event logs: a simulation rebuilt from a checkpoint (which keeps no events) shows the past it shares
    # with the live one, not only what it recorded since the checkpoint
    kept = a.events[-live.EVENT_WINDOW:]
    assert kept == b.events[-len(kept):] if kept else not b.events
    assert len(kept) == min(len(b.events), live.EVENT_WINDOW)
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


def test_a_seek_past_the_end_leaves_the_clock_where_the_session_stood():
    """A session whose items have run out, its clock moved on by run_until: seeking beyond its last item changes
    nothing; it used to replay and put the clock back at the last item's time (so a later command could be given at
    an earlier time)."""
    scenario = json.load(open("dmmviz/builtin_scenarios/fig5-handover.json", encoding="utf-8"))
    scenario["script"] = [step for step in scenario["script"] if step["action"] == "attach"]
    row = SessionRow(id="x", scenario=scenario, seed=0, mode=None, journal=[], steps=0, now=0.0, revision=0)
    current = Live(row=row, sim=Simulation(scenario), revision=0)
    current.sim.run(86_400.0)
    assert current.sim.peek() is None, "nothing left to run"
    steps = current.sim.steps
    for target in (steps + 1, steps + 100):
        sim = live.seek(current, target)
        assert (sim.steps, sim.now) == (steps, 86_400.0)
        current.sim = sim


def _changed(current: Live, sim: Simulation) -> Live:
    """What the session socket keeps after a change (consumers.py): the new simulation and its checkpoints."""
    updated = Live(row=current.row, sim=sim, revision=current.revision + 1,
                   checkpoints=live.checkpoints_after(current.checkpoints, sim))
    live.add_checkpoint(updated)
    return updated


def test_checkpoints_of_an_undone_future_are_not_used_after_a_new_command(monkeypatch):
    """Seek back (no command undone, so the journal is unchanged), give a command there, then go forward: a checkpoint
    made before the seek, further on, has the same commands but not the new one at its step; used, it applied the new
    command too late."""
    monkeypatch.setattr(live, "CHECKPOINT_EVERY", 40)
    row = SessionRow(id="x", scenario=SCENARIO, seed=0, mode=None, journal=[], steps=0, now=0.0, revision=0)
    current = Live(row=row, sim=Simulation(SCENARIO), revision=0)
    for _ in range(30):
        current.sim.run(current.sim.now + 0.5)
        live.add_checkpoint(current)
    end = current.sim.steps
    assert len(current.checkpoints) >= 2
    back = current.checkpoints[0].steps + 5
    current = _changed(current, live.seek(current, back))
    sim = current.sim
    mn = SCENARIO["mobile_nodes"][0]["id"]
    here = sim.attached_to(mn, sim.interfaces_of(mn)[0])
    mar = next(m["id"] for m in SCENARIO["network"]["mars"] if m["id"] != here)
    sim.apply({"action": "move", "mn": mn, "mar": mar})
    current = _changed(current, sim)
    forward = live.go_to(current, current.sim.journal, end)
    same(forward, Simulation.replay(SCENARIO, 0, current.sim.journal, end))
