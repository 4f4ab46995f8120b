"""The command and event catalogues: the engine emits only what the event catalogue describes, and the browser's
generated copy of both catalogues is up to date."""

from __future__ import annotations

import pytest

from simulator import CommandError, Simulation, load_scenario
from simulator import events as ev
from simulator.commands import COMMANDS, shape_problems
from simulator.scenario import MODES

from .helpers import SCENARIOS, public

NAMES = sorted(p.stem for p in SCENARIOS.glob("*.json"))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_every_emitted_event_fits_the_catalogue(name, mode):
    """Every event of every shipped scenario under every design has its kind's keys, no others, and a design that
    the catalogue says emits it."""
    sim = Simulation(load_scenario(public(name)), mode=mode)
    sim.run(60)
    assert sim.events
    for event in sim.events:
        assert ev.problems(event) == [], event
        assert mode in ev.EVENTS[event["kind"]].designs, event["kind"]
        assert ev.is_message(event["kind"]) == ("src" in event)


def test_trace_names_every_nodes_role():
    """The trace's ``nodes`` map gives each node's role, so no exporter has to guess it from the events."""
    trace = Simulation(load_scenario(public("fig5-handover")), mode="centralized-pmipv6").trace()
    roles = trace["nodes"]
    assert roles["MN1"] == "mn" and roles["MAR1"] == "mar" and roles["LMA"] == "lma" and roles["DB"] == "db"
    assert set(roles.values()) <= set(ev.ROLES)
    assert "LMA" not in Simulation(load_scenario(public("fig5-handover"))).trace()["nodes"]


def test_changes_tables_tells_messages_from_table_changes():
    """Only table changes and applied actions make a new state worth sending; messages and drops do not."""
    assert not ev.changes_tables([{"kind": "DATA"}, {"kind": "drop"}, {"kind": "PBU"}])
    assert ev.changes_tables([{"kind": "DATA"}, {"kind": "binding_created"}])
    assert ev.is_message("PBU") and not ev.is_message("tunnel_up") and "DATA" not in ev.SIGNALLING_KINDS


def test_one_wording_for_the_engine_and_the_scenario_validator():
    """A move of a detached interface is refused with the same words by the engine and by scenario validation."""
    data = public("fig5-handover")
    data["script"] = [{"at": 1, "action": "move", "mn": "MN1", "mar": "MAR2"}]
    from simulator import validate

    (problem,) = validate(data)
    sim = Simulation(load_scenario(public("fig5-handover")))
    with pytest.raises(CommandError) as info:
        sim.apply({"action": "move", "mn": "MN1", "mar": "MAR2"})
    assert problem.path == "script[0].interface" and problem.message == info.value.message


def test_shape_problems_name_each_key():
    """The shape check names every bad key: unknown, missing, or not an id."""
    found = dict(shape_problems({"action": "start_flow", "mn": "MN1", "flow": "x" * 40, "speed": 3}))
    assert set(found) == {"flow", "speed", "cn"}
    assert "at most 32 characters" in found["flow"] and "unknown key" in found["speed"] and "required" in found["cn"]
    assert set(COMMANDS) == {
        "attach",
        "detach",
        "move",
        "start_flow",
        "stop_flow",
        "move_flow",
        "drop",
        "loss",
        "fail",
        "recover",
    }  # issue 13: the four fault commands


def test_browser_catalogue_is_generated_from_the_python():
    """static/js/catalogue.js is exactly what the catalogues generate (run scripts/generate_catalogue_js.py)."""
    from simulator.catalogue import JS_PATH, javascript_module

    from .helpers import ROOT

    assert (ROOT / JS_PATH).read_text(encoding="utf-8") == javascript_module(), "run scripts/generate_catalogue_js.py"


def test_describe_uses_the_catalogue_wording():
    """A command in words, as the lesson editor lists it."""
    from simulator.commands import describe

    assert describe({"action": "move", "mn": "MN1", "interface": "if2", "mar": "MAR2"}) == "move MN1 if2 to MAR2"
    assert describe({"action": "detach", "mn": "MN1"}) == "detach MN1"


def test_simulation_can_be_copied_and_pickled_midway():
    """A checkpoint (deepcopy or pickle) of a running simulation continues exactly as the original does."""
    import copy
    import pickle

    for mode in MODES:
        sim = Simulation(load_scenario(public("fig5-handover")), mode=mode)
        sim.run(3)
        copied, restored = copy.deepcopy(sim), pickle.loads(pickle.dumps(sim))
        assert copied.run(9) == restored.run(9) == sim.run(9)
        assert copied.snapshot() == restored.snapshot() == sim.snapshot()


def test_record_false_keeps_no_events():
    """With record=False the engine keeps nothing: callers consume what run and step return."""
    sim = Simulation(load_scenario(public("fig5-handover")), record=False)
    out = sim.run(9)
    assert out and sim.events == [] and sim.trace()["events"] == []


def test_docs_name_every_event_kind():
    """docs/engine.md describes every kind in the event catalogue."""
    from .helpers import ROOT

    docs = (ROOT / "docs" / "engine.md").read_text()
    assert [kind for kind in ev.EVENTS if f"`{kind}`" not in docs] == []
