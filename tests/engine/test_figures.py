"""The seed's Figures 5, 4 and 6, message by message and table by table."""

from simulator.engine import STATE_FORMAT

from .helpers import messages, public, run, signalling, states

HNP1, HNP2, HNP3 = "2001:db8:1:1::/64", "2001:db8:2:1::/64", "2001:db8:3:1::/64"


def test_fig5_attach_sequence_rs_db_ra():
    """Figure 5 step 1: RS, MAR1 allocates HNP1 and writes it to the DB, then the RA (a first attach asks nothing)."""
    sim = run(public("fig5-handover"), 4)
    assert signalling(sim) == [
        ("RS", "MN1", "MAR1"),
        ("DB_UPDATE", "MAR1", "DB"),
        ("RA", "MAR1", "MN1"),
    ]
    ra = messages(sim, "RA")[0]
    assert ra["prefixes"] == [{"prefix": HNP1, "preferred_lifetime": 604800, "valid_lifetime": 2592000}]
    assert states(sim, "hnp_allocated")[0]["hnp"] == HNP1


def test_fig5_handover_sequence_and_fields():
    """Figure 5 steps 3-4: RS at MAR2, DB lookup, PBU/PBA with MAR1, then the RA deprecating HNP1."""
    sim = run(public("fig5-handover"), 15)
    assert signalling(sim, after=5) == [
        ("RS", "MN1", "MAR2"),
        ("DB_QUERY", "MAR2", "DB"),
        ("DB_REPLY", "DB", "MAR2"),
        ("PBU", "MAR2", "MAR1"),
        ("PBA", "MAR1", "MAR2"),
        ("RA", "MAR2", "MN1"),
    ]
    query = messages(sim, "DB_QUERY")[0]
    assert query["entries"] == [{"hnp": HNP2, "anchor": "MAR2", "interface": "if1"}]  # the lookup also writes HNP2
    assert messages(sim, "DB_REPLY")[0]["entries"] == [
        {"hnp": HNP1, "anchor": "MAR1", "interface": "if1"},
        {"hnp": HNP2, "anchor": "MAR2", "interface": "if1"},
    ]
    pbu, pba = messages(sim, "PBU")[0], messages(sim, "PBA")[0]
    assert pbu["flags"] == "AHP" and pbu["handoff_indicator"] == 3 and pbu["hnps"] == [HNP1]
    assert pbu["lifetime"] == 3600 and pbu["mn_id"] == "MN1@dmmviz.example" and pbu["att"] == 4
    assert pba["status"] == 0 and pba["sequence"] == pbu["sequence"] and pba["hnps"] == [HNP1]
    ra = messages(sim, "RA", "MAR2")[0]
    assert ra["t"] >= pba["arrive"]  # RFC 5213 §6.9.2
    assert ra["prefixes"] == [
        {"prefix": HNP2, "preferred_lifetime": 604800, "valid_lifetime": 2592000},
        {"prefix": HNP1, "preferred_lifetime": 0, "valid_lifetime": 3600},
    ]


def test_fig5_data_tunnelled_old_flow_native_new_flow():
    """Figure 5 steps 5-6: flow1 through the MAR1<=>MAR2 tunnel both ways, flow2 native at MAR2."""
    sim = run(public("fig5-handover"), 15)
    flow1 = [(e["src"], e["dst"], e["encapsulated"]) for e in messages(sim, "DATA", after=6) if e["flow"] == "flow1"]
    assert ("CN1", "MAR1", False) in flow1 and ("MAR1", "MAR2", True) in flow1 and ("MAR2", "MN1", False) in flow1
    assert ("MN1", "MAR2", False) in flow1 and ("MAR2", "MAR1", True) in flow1 and ("MAR1", "CN1", False) in flow1
    flow2 = {(e["src"], e["dst"], e["encapsulated"]) for e in messages(sim, "DATA") if e["flow"] == "flow2"}
    assert flow2 == {("CN2", "MAR2", False), ("MAR2", "MN1", False), ("MN1", "MAR2", False), ("MAR2", "CN2", False)}


def test_fig5_final_tables():
    """The state export after Figure 5 matches the seed: MAR1 binds HNP1 to MAR2, the DB holds both prefixes."""
    state = run(public("fig5-handover"), 15).snapshot()
    assert state["format"] == STATE_FORMAT and state["t"] == 15
    assert state["session_db"]["MN1"] == [
        {"hnp": HNP1, "anchor": "MAR1", "interface": "if1"},
        {"hnp": HNP2, "anchor": "MAR2", "interface": "if1"},
    ]
    mar1, mar2 = state["mars"]["MAR1"], state["mars"]["MAR2"]
    assert [(b["hnp"], b["serving"]) for b in mar1["binding_cache"]] == [(HNP1, "MAR2")]
    assert [(b["hnp"], b["anchor"]) for b in mar2["binding_update_list"]] == [(HNP1, "MAR1")]
    assert mar1["tunnels"] == ["MAR2"] and mar2["tunnels"] == ["MAR1"]
    assert mar2["attached"] == [{"mn": "MN1", "interface": "if1"}] and mar1["attached"] == []
    mn = state["mns"]["MN1"]
    assert {p["prefix"]: p["deprecated"] for p in mn["prefixes"]} == {HNP1: True, HNP2: False}
    assert {f["id"]: f["anchor"] for f in mn["flows"]} == {"flow1": "MAR1", "flow2": "MAR2"}


def test_fig5_packets_in_flight_to_old_mar_are_dropped():
    """The handover costs packets: downlink sent to MAR1 after MN1 left is dropped and counted."""
    sim = run(public("fig5-handover"), 15)
    drops = [e for e in states(sim, "drop") if e["flow"] == "flow1"]
    assert drops and all(5 <= d["t"] < 5.2 for d in drops)
    assert not [d for d in states(sim, "drop") if d["t"] > 5.2]


def test_fig4_two_anchors_and_moved_tunnel():
    """Figure 4: after MAR1 -> MAR2 -> MAR3, MAR1 and MAR2 each anchor one flow tunnelled to MAR3."""
    sim = run(public("fig4-three-mars"), 20)
    assert signalling(sim, after=9) == [
        ("RS", "MN1", "MAR3"),
        ("DB_QUERY", "MAR3", "DB"),
        ("DB_REPLY", "DB", "MAR3"),
        ("PBU", "MAR3", "MAR1"),
        ("PBU", "MAR3", "MAR2"),
        ("PBA", "MAR2", "MAR3"),
        ("PBA", "MAR1", "MAR3"),
        ("RA", "MAR3", "MN1"),
    ]
    tunnels = [(e["kind"], e["node"], e["peer"]) for e in states(sim, "tunnel_up") + states(sim, "tunnel_down")]
    assert ("tunnel_up", "MAR1", "MAR2") in tunnels and ("tunnel_down", "MAR1", "MAR2") in tunnels
    assert ("tunnel_up", "MAR1", "MAR3") in tunnels and ("tunnel_up", "MAR2", "MAR3") in tunnels
    state = sim.snapshot()
    assert state["mars"]["MAR1"]["tunnels"] == ["MAR3"]
    assert state["mars"]["MAR2"]["tunnels"] == ["MAR3"]
    assert state["mars"]["MAR3"]["tunnels"] == ["MAR1", "MAR2"]
    assert [(b["hnp"], b["serving"]) for b in state["mars"]["MAR1"]["binding_cache"]] == [(HNP1, "MAR3")]
    assert [(b["hnp"], b["serving"]) for b in state["mars"]["MAR2"]["binding_cache"]] == [(HNP2, "MAR3")]
    assert sorted((e["hnp"], e["anchor"]) for e in state["mars"]["MAR3"]["binding_update_list"]) == [
        (HNP1, "MAR1"),
        (HNP2, "MAR2"),
    ]
    flows = {f["id"]: f["anchor"] for f in state["mns"]["MN1"]["flows"]}
    assert flows == {"flow1": "MAR1", "flow2": "MAR2", "flow3": "MAR3"}


def test_fig4_mar2_serving_then_anchor():
    """Figure 4: at t=8 MAR2 serves MAR1's prefix (V-MAR); later it anchors its own for MAR3 (H-MAR)."""
    sim = run(public("fig4-three-mars"), 8)
    assert [(e["hnp"], e["anchor"]) for e in sim.snapshot()["mars"]["MAR2"]["binding_update_list"]] == [(HNP1, "MAR1")]
    assert sim.snapshot()["mars"]["MAR2"]["binding_cache"] == []


def test_fig6_only_moved_flow_is_tunnelled():
    """Figure 6: flow2 moves to if2 at MAR2 and alone goes through the tunnel; flow1 stays native on if1."""
    sim = run(public("fig6-multi-interface"), 12)
    pbu = messages(sim, "PBU")
    assert [(p["src"], p["dst"], p["handoff_indicator"], p.get("flow")) for p in pbu] == [("MAR2", "MAR1", 2, "flow2")]
    late = messages(sim, "DATA", after=5.5)
    assert not any(e["encapsulated"] for e in late if e["flow"] == "flow1")
    assert {(e["src"], e["dst"]) for e in late if e["flow"] == "flow2" and e["encapsulated"]} == {
        ("MAR1", "MAR2"),
        ("MAR2", "MAR1"),
    }
    assert {e["dst"] for e in late if e["flow"] == "flow1" and e["direction"] == "down" and e["src"] == "MAR1"} == {
        "MN1"
    }
    state = sim.snapshot()
    assert [(b["hnp"], b["flow"], b["serving"]) for b in state["mars"]["MAR1"]["binding_cache"]] == [
        (HNP1, "flow2", "MAR2")
    ]
    assert {f["id"]: f["interface"] for f in state["mns"]["MN1"]["flows"]} == {"flow1": "if1", "flow2": "if2"}
