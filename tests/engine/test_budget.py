"""Work budgets inside the event loop (simulator/limits.py): every call is bounded, even when the caller passes
nothing, and a caller can stop it (CPU time, a client that went away) without the engine reading a clock."""

from __future__ import annotations

import pytest

from simulator import Simulation, load_scenario
from simulator.limits import Budget, TooMuchWork

from .helpers import public


def storm() -> dict:
    """A scenario that slipped past validation with flow_interval 0: a flow loops at one instant."""
    data = load_scenario(public("fig5-handover"))
    data["timers"] = {"flow_interval": 0}
    return data


def test_event_storm_at_one_instant_is_caught_with_the_default_budget():
    """A run that never lets time advance raises TooMuchWork ("storm") instead of eating memory forever."""
    sim = Simulation(storm(), record=False)
    with pytest.raises(TooMuchWork, match=r"too much work: .* at one instant") as info:
        sim.run(100)
    assert info.value.reason == "storm"


def test_item_budget_stops_a_long_run_and_leaves_it_consistent():
    """Past max_items the run stops with TooMuchWork; the simulation stays usable where it stopped."""
    sim = Simulation(load_scenario(public("fig5-handover")))
    with pytest.raises(TooMuchWork) as info:
        sim.run(10_000, budget=Budget(max_items=300))
    assert info.value.reason == "items" and 300 <= info.value.done < 300 + 4096
    assert sim.now < 10_000 and sim.steps == info.value.done
    sim.snapshot()
    sim.run(sim.now + 1, budget=Budget(max_items=10_000))


def test_should_stop_hook_stops_the_work():
    """A caller's stop hook (the web layer's CPU clock or "client went away") ends the call."""
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(TooMuchWork, match="stopped by its caller") as info:
        Simulation(load_scenario(public("fig5-handover"))).run(10_000, budget=Budget(should_stop=stop, poll_every=50))
    assert info.value.reason == "stopped" and len(calls) == 3


def test_step_and_replay_take_a_budget():
    """step() and replay() are bounded the same way."""
    sim = Simulation(load_scenario(public("fig5-handover")))
    assert sim.step(budget=Budget(max_items=1))  # a step that needs exactly its budget completes
    with pytest.raises(TooMuchWork):
        for _ in range(10):
            sim.step(budget=Budget(max_items=1, max_same_instant=1))  # the first repeat at one instant is a storm
    sim = Simulation(load_scenario(public("fig5-handover")))
    sim.run(20)
    with pytest.raises(TooMuchWork):
        Simulation.replay(sim.scenario, 0, sim.journal, sim.steps, budget=Budget(max_items=50))
    assert Simulation.replay(sim.scenario, 0, sim.journal, sim.steps).snapshot() == sim.snapshot()
