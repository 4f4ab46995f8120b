"""Faults on purpose (../shared/spec/formats.md "Faults"): drop, loss, fail, recover, as script steps and commands."""

import json

import pytest

from simulator import CommandError, Simulation, load_scenario
from simulator.scenario import ScenarioError

from .helpers import messages, public, run, states

HNP1 = "2001:db8:1:1::/64"


def fig5_with(*steps):
    data = public("fig5-handover")
    data["script"] = [*data["script"], *steps]
    return data


def test_dropped_pba_is_lost_in_the_trace_and_the_handover_recovers():
    """A `drop` of the next PBA: the PBA shows as lost (arrive null, lost "fault"), the PBU goes again and wins."""
    sim = run(fig5_with({"at": 4.0, "action": "drop", "kind": "PBA"}), 15)
    action = [e for e in states(sim, "action") if e["action"] == "drop"]
    assert action == [
        {**action[0], "msg_kind": "PBA", "count": 1, "source": "script"}
    ]  # the event's own kind stays "action"
    trace = sim.trace()
    pbas = [e for e in trace["events"] if e["kind"] == "PBA"]
    assert pbas[0]["arrive"] is None and pbas[0]["lost"] == "fault" and pbas[0]["fault"] == "drop"
    assert pbas[1]["arrive"] is not None and "lost" not in pbas[1] and pbas[1]["status"] == 0
    pbus = messages(sim, "PBU")
    assert [p["attempt"] for p in pbus] == [1, 2] and pbus[1]["sequence"] > pbus[0]["sequence"]
    state = sim.snapshot()
    assert [(b["hnp"], b["serving"]) for b in state["mars"]["MAR1"]["binding_cache"]] == [(HNP1, "MAR2")]
    down = [e for e in messages(sim, "DATA", dst="MN1", after=7) if e["flow"] == "flow1"]
    assert down and all(e["arrive"] is not None for e in down)


def test_drop_matches_kind_src_dst_and_count():
    """Only the named messages go: DATA from CN1 to MAR1, the next three."""
    sim = run(fig5_with({"at": 2.0, "action": "drop", "kind": "DATA", "src": "CN1", "dst": "MAR1", "count": 3}), 4)
    lost = [e for e in sim.trace()["events"] if e.get("lost") == "fault"]
    assert len(lost) == 3 and {(e["kind"], e["src"], e["dst"]) for e in lost} == {("DATA", "CN1", "MAR1")}
    assert [e["t"] for e in lost] == sorted(e["t"] for e in lost) and lost[0]["t"] >= 2.0
    assert sim.snapshot()["faults"]["drop"] == []  # used up


def test_loss_rate_is_seeded_and_ends_with_rate_zero():
    """`loss` at a node: the same seed loses the same messages; rate 0 ends it."""
    data = fig5_with(
        {"at": 1.5, "action": "loss", "node": "MAR1", "rate": 0.5},
        {"at": 3.0, "action": "loss", "node": "MAR1", "rate": 0},
    )
    a, b = run(data, 4, seed=3), run(data, 4, seed=3)
    assert json.dumps(a.trace()) == json.dumps(b.trace())
    lost = [e for e in a.trace()["events"] if e.get("lost") == "fault"]
    assert lost and all("MAR1" in (e["src"], e["dst"]) and 1.5 <= e["t"] < 3.0 for e in lost)
    assert all(e["fault"] == "loss" for e in lost)
    assert a.snapshot()["faults"]["loss"] == {}


def test_a_failed_anchor_loses_its_tables_and_recovers_with_heartbeat_reregistration():
    """fail MAR1 while MN1 is at MAR2: flow1's downlink is lost at MAR1, MAR1's binding cache is empty; on recover MAR1
    sends a Heartbeat with a new restart counter (RFC 5847), MAR2 re-registers (HI 5) and flow1 flows again."""
    sim = run(fig5_with({"at": 8.0, "action": "fail", "node": "MAR1"}), 9)
    state = sim.snapshot()
    assert state["failed"] == ["MAR1"] and state["mars"]["MAR1"]["binding_cache"] == []
    assert [e["reason"] for e in states(sim, "binding_deleted")] == ["node failed"]
    lost = [e for e in sim.trace()["events"] if e.get("lost") == "fault" and e["kind"] == "DATA"]
    assert lost and all("MAR1" in (e["src"], e["dst"]) for e in lost)
    sim.apply({"action": "recover", "node": "MAR1"})
    sim.run(11)
    beats = messages(sim, "HEARTBEAT", src="MAR1")
    assert {b["dst"] for b in beats} == {"MAR2"} and beats[0]["restart_counter"] == 1
    again = messages(sim, "PBU", after=9)
    assert again[0]["src"] == "MAR2" and again[0]["handoff_indicator"] == 5 and again[0]["hnps"] == [HNP1]
    state = sim.snapshot()
    assert state["failed"] == [] and [(b["hnp"], b["serving"]) for b in state["mars"]["MAR1"]["binding_cache"]] == [
        (HNP1, "MAR2")
    ]
    recent = [e for e in messages(sim, "DATA", after=10) if e["flow"] == "flow1"]
    assert any(e["dst"] == "MN1" for e in recent) and any(e["dst"] == "CN1" for e in recent)


def test_a_failed_serving_mar_recovers_and_its_mn_registers_again():
    """fail MAR2 (the MN's serving MAR): on recover its link comes up, the MN sends an RS, the handover runs again."""
    sim = run(
        fig5_with({"at": 8.0, "action": "fail", "node": "MAR2"}, {"at": 9.0, "action": "recover", "node": "MAR2"}), 11
    )
    assert any(e["t"] == 9.0 for e in states(sim, "l2_attach"))
    assert messages(sim, "RS", dst="MAR2", after=9) and messages(sim, "PBU", src="MAR2", after=9)
    state = sim.snapshot()
    assert [(b["hnp"], b["serving"]) for b in state["mars"]["MAR1"]["binding_cache"]] == [(HNP1, "MAR2")]
    recent = messages(sim, "DATA", after=10)
    for flow in ("flow1", "flow2"):
        assert any(e["flow"] == flow and e["dst"] == "MN1" for e in recent)
        assert any(e["flow"] == flow and e["dst"] in ("CN1", "CN2") for e in recent)


def test_db_down_during_handover_lookup_retried_and_written_back():
    """The DB fails before the handover: MAR2's DB_QUERY is lost and repeated; the DB recovers empty, every MAR writes
    its prefixes back (after the DB's Heartbeat), the held lookup is answered and flow1 is tunnelled."""
    sim = run(
        fig5_with({"at": 4.0, "action": "fail", "node": "DB"}, {"at": 6.5, "action": "recover", "node": "DB"}), 12
    )
    queries = [q for q in messages(sim, "DB_QUERY", src="MAR2") if not q.get("hnp")]
    assert queries[0]["arrive"] is None and queries[0]["lost"] == "fault" and queries[0]["fault"] == "fail"
    assert [q["attempt"] for q in queries][:2] == [1, 2] and queries[1]["t"] == pytest.approx(queries[0]["t"] + 1)
    writes = [m for m in messages(sim, "DB_UPDATE", after=6.5) if m["src"] == "MAR1"]
    assert writes and writes[0]["entries"][0]["hnp"] == HNP1
    state = sim.snapshot()
    assert [(b["hnp"], b["serving"]) for b in state["mars"]["MAR1"]["binding_cache"]] == [(HNP1, "MAR2")]
    assert {e["hnp"] for e in state["session_db"]["MN1"]} >= {HNP1}
    assert any(e["flow"] == "flow1" and e["dst"] == "MN1" for e in messages(sim, "DATA", after=10))


def test_message_to_a_node_that_fails_in_flight_is_lost():
    """A message on its way when its destination fails never arrives: a drop event and, in the trace, arrive null."""
    sim = Simulation(load_scenario(public("fig5-handover")))
    sim.run(1.205)  # flow1's first packets are on their way CN1 -> MAR1
    in_flight = [e for e in sim.events if e["kind"] == "DATA" and e["dst"] == "MAR1" and e["arrive"] > sim.now]
    assert in_flight
    sim.apply({"action": "fail", "node": "MAR1"})
    sim.run(1.3)
    drops = [e for e in states(sim, "drop") if e.get("lost") == "fault"]
    assert {d["msg"] for d in drops} >= {e["id"] for e in in_flight}
    traced = {e["id"]: e for e in sim.trace()["events"] if "id" in e}
    assert all(traced[e["id"]]["arrive"] is None and traced[e["id"]]["lost"] == "fault" for e in in_flight)


@pytest.mark.parametrize(
    "command, field, message",
    [
        ({"action": "fail", "node": "MAR9"}, "node", "unknown node 'MAR9'"),
        ({"action": "fail", "node": "CN1"}, "node", "only a MAR, the session DB or the LMA can fail"),
        ({"action": "recover", "node": "MAR1"}, "node", "MAR1 has not failed"),
        ({"action": "loss", "node": "MAR1", "rate": 1.5}, "rate", "must be a number from 0 to 1"),
        ({"action": "loss", "node": "MN1", "rate": 0.5}, "node", "not a mobile node"),
        ({"action": "drop", "kind": "XYZ"}, "kind", "must be a message kind (BA, BU, DATA"),
        ({"action": "drop", "kind": "PBU", "count": 0}, "count", "from 1 to 1000"),
        ({"action": "drop", "kind": "PBU", "src": "MAR7"}, "src", "unknown node 'MAR7'"),
        ({"action": "drop"}, "kind", "is required"),
        ({"action": "fail", "node": "MAR1", "mn": "MN1"}, "mn", "unknown key 'mn' (fail takes node)"),
    ],
)
def test_bad_fault_commands_are_refused_and_change_nothing(command, field, message):
    sim = Simulation(load_scenario(public("fig5-handover")))
    sim.run(2)
    before = (json.dumps(sim.snapshot()), len(sim.events), sim.journal)
    with pytest.raises(CommandError) as info:
        sim.apply(command)
    assert info.value.field == field and message in info.value.message
    assert (json.dumps(sim.snapshot()), len(sim.events), sim.journal) == before


def test_fail_twice_is_refused():
    sim = Simulation(load_scenario(public("fig5-handover")))
    sim.apply({"action": "fail", "node": "DB"})
    with pytest.raises(CommandError, match="DB has already failed"):
        sim.apply({"action": "fail", "node": "DB"})


def test_scenario_script_validates_fault_actions_with_paths():
    """Fault steps in a script are checked like the others: every problem with its JSON path."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(
            fig5_with({"at": 2.0, "action": "fail", "node": "MAR9"}, {"at": 3.0, "action": "recover", "node": "MAR2"})
        )
    assert [str(p) for p in info.value.problems] == [
        "script[4].node: unknown node 'MAR9'",
        "script[5].node: MAR2 has not failed",
    ]
    with pytest.raises(ScenarioError) as info:
        load_scenario(fig5_with({"at": 3.5, "action": "loss", "node": "MAR1", "rate": 2}))
    assert [str(p) for p in info.value.problems] == ["script[4].rate: must be a number from 0 to 1"]
    good = fig5_with(
        {"at": 2.0, "action": "fail", "node": "MAR2"},
        {"at": 3.0, "action": "recover", "node": "MAR2"},
        {"at": 3.5, "action": "drop", "kind": "PBA", "src": "MAR1"},
    )
    assert [s["action"] for s in load_scenario(good)["script"]][:5] == [
        "attach",
        "start_flow",
        "fail",
        "recover",
        "drop",
    ]


def test_faults_as_user_commands_are_journalled_and_replay_exactly():
    """A fault clicked in the browser is a command like any other: step back and replay rebuild it exactly."""
    sim = Simulation(load_scenario(public("fig5-handover")))
    sim.run(4.9)
    sim.apply({"action": "drop", "kind": "PBA"})
    sim.run(5.5)
    sim.apply({"action": "loss", "node": "CN1", "rate": 0.3})
    sim.run(9)
    again = Simulation.replay(sim.scenario, sim.seed, sim.journal, sim.steps, now=sim.now)
    assert json.dumps(again.trace()) == json.dumps(sim.trace())
    assert json.dumps(again.snapshot()) == json.dumps(sim.snapshot())


def test_no_fault_run_draws_nothing_and_adds_no_lost_key():
    """A run without faults has no lost message and no fault in its state."""
    sim = run(public("fig4-three-mars"), 20)
    assert not any("lost" in e for e in sim.trace()["events"])
    assert sim.snapshot()["failed"] == [] and sim.snapshot()["faults"] == {"loss": {}, "drop": []}


@pytest.mark.parametrize("mode", ["network-dmm", "client-dmm"])
def test_a_fault_on_the_lma_outside_centralized_mode_is_refused_and_every_export_still_works(mode):
    """One file runs under every mode: its LMA fault is refused where there is no LMA (a warning). The refusal named
    the node "" and every diagram export then failed ("node '' has no role")."""
    from simulator.export import FORMATS, export

    from .helpers import ROOT

    raw = json.loads((ROOT / "dmmviz" / "builtin_scenarios" / "fig5-handover.json").read_text())
    raw["network"]["lma"] = {"id": "LMA", "prefix_pool": "2001:db8:100::/48"}
    raw["script"].append({"at": 3, "action": "fail", "node": "LMA"})
    sim = Simulation(load_scenario(raw), mode=mode)
    sim.run(8)
    (refusal,) = [e for e in sim.events if e["kind"] == "action_rejected"]
    assert refusal["node"] is None and refusal["action"] == "fail" and "LMA" in refusal["message"]
    for fmt in FORMATS:
        assert export(fmt, sim.trace()), fmt
