"""The engine's API: determinism, step/peek/run, user commands, replay and step-back."""

import json

import pytest

from simulator import CommandError, Simulation, load_scenario

from .helpers import public, run


def test_same_scenario_same_trace_byte_for_byte():
    """Two runs of one scenario and seed give identical JSON traces."""
    a = json.dumps(run(public("fig4-three-mars"), 20).trace())
    b = json.dumps(run(public("fig4-three-mars"), 20).trace())
    assert a == b


def test_step_processes_one_item_and_peek_tells_when():
    """step() advances to the next scheduled time; run(until) stops at until."""
    sim = Simulation(load_scenario(public("fig5-handover")))
    assert sim.peek() == 0.0
    events = sim.step()
    assert [e["kind"] for e in events] == ["action", "l2_attach"] and sim.steps == 1
    sim.run(3)
    assert sim.now == 3 and sim.peek() > 3


def test_step_by_step_equals_run():
    """Stepping one at a time yields exactly the events of run()."""
    a = Simulation(load_scenario(public("fig5-handover")))
    stepped = []
    while a.peek() is not None and a.peek() <= 8:
        stepped += a.step()
    b = Simulation(load_scenario(public("fig5-handover")))
    assert stepped == b.run(8)


def test_user_command_move_triggers_handover():
    """A user's move (a drag in the browser) produces the Figure 5 handover at the current time."""
    data = public("fig5-handover")
    data["script"] = data["script"][:2]
    sim = Simulation(load_scenario(data))
    sim.run(3)
    events = sim.apply({"action": "move", "mn": "MN1", "interface": "if1", "mar": "MAR2"})
    assert [e["kind"] for e in events][:3] == ["action", "l2_detach", "drop"] or [e["kind"] for e in events][:2] == [
        "action",
        "l2_detach",
    ]
    sim.run(4)
    kinds = [e["kind"] for e in sim.events if e["t"] >= 3 and e["kind"] in ("PBU", "PBA", "RA")]
    assert kinds == ["PBU", "PBA", "RA"]
    assert sim.journal == (
        (sim.journal[0][0], 3_000_000, {"action": "move", "mn": "MN1", "interface": "if1", "mar": "MAR2"}),
    )


@pytest.mark.parametrize(
    "command, field, words",
    [
        ({"action": "fly", "mn": "MN1"}, "action", "unknown action"),
        ({"action": "move", "mn": "MN9", "mar": "MAR2"}, "mn", "unknown mobile node"),
        ({"action": "move", "mn": "MN1", "mar": "MAR9"}, "mar", "unknown MAR 'MAR9'"),
        ({"action": "move", "mn": "MN1", "mar": "MAR1"}, "mar", "already on MAR1"),
        ({"action": "attach", "mn": "MN1", "mar": "MAR2"}, "interface", "already attached"),
        ({"action": "stop_flow", "mn": "MN1", "flow": "nope"}, "flow", "no active flow"),
        ({"action": "start_flow", "mn": "MN1", "flow": "flow1", "cn": "CN1"}, "flow", "already active"),
        ({"action": "start_flow", "mn": "MN1", "flow": "f9", "cn": "CN7"}, "cn", "unknown CN"),
        ({"action": "move", "mn": "MN1", "mar": "MAR2", "interface": "wlan0"}, "interface", "no interface"),
        ({"action": "move", "mn": "MN1", "mar": "MAR2", "speed": 3}, "speed", "unknown key"),
    ],
)
def test_impossible_command_is_refused_and_changes_nothing(command, field, words):
    """A bad command raises CommandError naming the field; state, journal and events are untouched."""
    sim = Simulation(load_scenario(public("fig5-handover")))
    sim.run(2)
    before = (json.dumps(sim.snapshot()), len(sim.events), sim.journal, sim.peek())
    with pytest.raises(CommandError) as info:
        sim.apply(command)
    assert info.value.field == field and words in info.value.message
    assert (json.dumps(sim.snapshot()), len(sim.events), sim.journal, sim.peek()) == before


def test_replay_rebuilds_exactly_and_steps_back():
    """replay(journal, steps) reproduces the session; replay(steps - 1) is one step back."""
    data = public("fig5-handover")
    data["script"] = data["script"][:2]
    scenario = load_scenario(data)
    sim = Simulation(scenario)
    sim.run(3)
    sim.apply({"action": "move", "mn": "MN1", "interface": "if1", "mar": "MAR2"})
    for _ in range(40):
        sim.step()
    again = Simulation.replay(scenario, 0, sim.journal, sim.steps, now=sim.now)
    assert again.events == sim.events and again.snapshot() == sim.snapshot()
    back = sim.step_back()
    assert back.events == sim.events[: len(back.events)] and len(back.events) < len(sim.events)
    last_step = sim.events[len(back.events) :]
    assert len({e["t"] for e in last_step}) == 1  # exactly the events of the last step were undone
    before_move = Simulation.replay(scenario, 0, sim.journal, sim.journal[0][0] - 1)
    assert before_move.journal == () and before_move.snapshot()["mns"]["MN1"]["interfaces"] == {"if1": "MAR1"}


def test_step_back_undoes_a_user_command_first():
    """Right after a user's move, step back removes the move itself."""
    data = public("fig5-handover")
    data["script"] = data["script"][:2]
    sim = Simulation(load_scenario(data))
    sim.run(3)
    sim.apply({"action": "move", "mn": "MN1", "interface": "if1", "mar": "MAR2"})
    back = sim.step_back()
    assert back.journal == () and back.snapshot()["mns"]["MN1"]["interfaces"] == {"if1": "MAR1"}
    assert back.now == 3


def test_trace_marks_lost_messages_arrive_null():
    """A packet on the air when the MN leaves has arrive null in the trace; the drop event names it."""
    data = public("fig5-handover")
    data["timers"] = {"access_delay_ms": 250}
    sim = run(data, 8)
    lost = [e for e in sim.events if e["kind"] == "drop" and e["in_flight"]]
    assert lost
    by_id = {e["id"]: e for e in sim.trace()["events"] if "id" in e}
    assert all(by_id[d["msg"]]["arrive"] is None for d in lost)


def test_timers_override_changes_delays():
    """Scenario timers override the defaults: a slower core makes the PBU take longer."""
    data = public("fig5-handover")
    data["network"]["links"] = []
    data["timers"] = {"core_delay_ms": 20}
    pbu = next(e for e in run(data, 8).events if e["kind"] == "PBU")
    assert round(pbu["arrive"] - pbu["t"], 6) == 0.04


def test_docs_print_the_binding_table():
    """docs/engine.md shows exactly the transitions the engine enforces."""
    from simulator.bindings import table_markdown

    from .helpers import ROOT

    text = (ROOT / "docs" / "engine.md").read_text()
    between = text.split("<!-- bindings-table -->\n", 1)[1].split("\n<!-- /bindings-table -->", 1)[0]
    assert between == table_markdown()


def test_binding_rule_missing_is_a_protocol_error():
    from simulator.bindings import ANCHOR, ProtocolError, State, next_state

    assert next_state(ANCHOR, State.ACTIVE, "de-registration") == State.DEREGISTERING
    with pytest.raises(ProtocolError):
        next_state(ANCHOR, State.NONE, "de-registration")


def test_step_then_step_back_returns_to_the_same_moment():
    """Step then step back lands exactly where the user was: same events, same clock, same tables."""
    sim = Simulation(load_scenario(public("fig5-handover")))
    for _ in range(12):
        sim.step()
    before = (sim.now, len(sim.events), sim.snapshot())
    sim.step()
    back = sim.step_back()
    assert (back.now, len(back.events), back.snapshot()) == before
    again = back.step_back()
    assert len(again.events) < len(back.events)
