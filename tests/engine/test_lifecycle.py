"""REQ2, return to the anchor, release when a flow ends, two MNs crossing, multi-step handovers."""

from .helpers import messages, run, scenario, signalling, states

HNP1 = "2001:db8:1:1::/64"


def attach(mn="MN1", mar="MAR1", at=0.0, **kw):
    return {"at": at, "action": "attach", "mn": mn, "mar": mar, **kw}


def move(mn, mar, at, **kw):
    return {"at": at, "action": "move", "mn": mn, "mar": mar, **kw}


def start(flow, at, mn="MN1", cn="CN1", **kw):
    return {"at": at, "action": "start_flow", "mn": mn, "flow": flow, "cn": cn, **kw}


def stop(flow, at, mn="MN1"):
    return {"at": at, "action": "stop_flow", "mn": mn, "flow": flow}


def test_req2_prefix_without_active_flow_gets_no_signalling():
    """A flow that ended before the move: no PBU, no tunnel, the idle prefix is released, the RA has the new one."""
    sim = run(scenario(script=[attach(), start("f1", 1), stop("f1", 2), move("MN1", "MAR2", 3)]), 10)
    assert not messages(sim, "PBU") and not states(sim, "tunnel_up")
    removals = [e for e in messages(sim, "DB_UPDATE") if e["op"] == "remove"]
    assert [(e["src"], e["entries"][0]["hnp"]) for e in removals] == [("MAR1", HNP1)]
    ra = messages(sim, "RA", "MAR2")[0]
    assert [p["prefix"] for p in ra["prefixes"]] == ["2001:db8:2:1::/64"]
    assert sim.snapshot()["session_db"]["MN1"] == [{"hnp": "2001:db8:2:1::/64", "anchor": "MAR2", "interface": "if1"}]


def test_req2_node_that_never_moves_never_signals():
    """An MN that stays at its MAR never causes a PBU, however many flows it runs."""
    sim = run(scenario(script=[attach(), start("f1", 1), start("f2", 2), stop("f1", 3)]), 10)
    assert [k for k, _, _ in signalling(sim)] == ["RS", "DB_UPDATE", "RA"]


def test_release_when_last_flow_on_redirected_prefix_ends():
    """The serving MAR de-registers (lifetime 0, HI 4); the anchor deletes the binding 10 s later; the rest goes."""
    sim = run(scenario(script=[attach(), start("f1", 1), move("MN1", "MAR2", 3), stop("f1", 6)]), 20)
    dereg = messages(sim, "PBU", after=6)
    assert [(p["src"], p["dst"], p["lifetime"], p["handoff_indicator"]) for p in dereg] == [("MAR2", "MAR1", 0, 4)]
    pba = messages(sim, "PBA", after=6)[0]
    assert pba["status"] == 0 and pba["lifetime"] == 0 and pba["sequence"] == dereg[0]["sequence"]
    deleted = states(sim, "binding_deleted")[0]
    assert abs(deleted["t"] - (dereg[0]["arrive"] + 10)) < 1e-9  # MinDelayBeforeBCEDelete, RFC 5213 §5.3.5
    down = states(sim, "tunnel_down")[0]
    assert down["t"] == deleted["t"] and (down["node"], down["peer"]) == ("MAR1", "MAR2")
    assert [e["entries"][0]["hnp"] for e in messages(sim, "DB_UPDATE", after=6) if e["op"] == "remove"] == [HNP1]
    last_ra = messages(sim, "RA", "MAR2")[-1]
    assert HNP1 not in [p["prefix"] for p in last_ra["prefixes"]]
    state = sim.snapshot()
    assert state["mars"]["MAR1"]["binding_cache"] == [] and state["mars"]["MAR1"]["tunnels"] == []
    assert state["mars"]["MAR2"]["binding_update_list"] == []
    assert HNP1 not in [p["prefix"] for p in state["mns"]["MN1"]["prefixes"]]


def test_release_keeps_prefix_while_another_flow_uses_it():
    """Stopping one of two flows on a redirected prefix changes nothing in the network."""
    sim = run(scenario(script=[attach(), start("f1", 1), start("f2", 1.5), move("MN1", "MAR2", 3), stop("f1", 6)]), 20)
    assert not messages(sim, "PBU", after=6)
    assert sim.snapshot()["mars"]["MAR1"]["tunnels"] == ["MAR2"]


def test_return_to_anchor_makes_prefix_native_again():
    """Back at MAR1: HNP1 is preferred again, MAR1's binding and the tunnel go, flow f1 is native."""
    sim = run(scenario(script=[attach(), start("f1", 1), move("MN1", "MAR2", 3), move("MN1", "MAR1", 6)]), 10)
    assert not messages(sim, "PBU", after=6)
    ra = messages(sim, "RA", "MAR1", after=6)[0]
    assert ra["prefixes"] == [{"prefix": HNP1, "preferred_lifetime": 604800, "valid_lifetime": 2592000}]
    assert [(e["node"], e["peer"]) for e in states(sim, "tunnel_down")] == [("MAR1", "MAR2")]
    late = messages(sim, "DATA", after=6.2)
    assert late and not any(e["encapsulated"] for e in late)
    assert {(e["src"], e["dst"]) for e in late} == {("CN1", "MAR1"), ("MAR1", "MN1"), ("MN1", "MAR1"), ("MAR1", "CN1")}
    state = sim.snapshot()
    assert all(not m["binding_cache"] and not m["tunnels"] for m in state["mars"].values())


def test_return_to_anchor_signals_the_other_anchor():
    """MAR1 -> MAR2 (new flow there) -> MAR1: MAR1 is serving MAR for MAR2's prefix while anchoring its own."""
    sim = run(
        scenario(script=[attach(), start("f1", 1), move("MN1", "MAR2", 3), start("f2", 4), move("MN1", "MAR1", 6)]), 10
    )
    assert [(p["src"], p["dst"]) for p in messages(sim, "PBU", after=6)] == [("MAR1", "MAR2")]
    state = sim.snapshot()
    assert [(b["hnp"], b["serving"]) for b in state["mars"]["MAR2"]["binding_cache"]] == [("2001:db8:2:1::/64", "MAR1")]
    assert [(b["hnp"], b["anchor"]) for b in state["mars"]["MAR1"]["binding_update_list"]] == [
        ("2001:db8:2:1::/64", "MAR2")
    ]
    assert state["mars"]["MAR1"]["binding_cache"] == []


def test_two_mns_crossing_in_opposite_directions():
    """MN1 MAR1->MAR2 and MN2 MAR2->MAR1 at once: each anchor tunnels its own MN's flow; one tunnel carries both."""
    mns = [{"id": "MN1", "interfaces": ["if1"]}, {"id": "MN2", "interfaces": ["if1"]}]
    script = [
        attach(),
        attach("MN2", "MAR2"),
        start("f1", 1),
        start("f2", 1, mn="MN2", cn="CN2"),
        move("MN1", "MAR2", 3),
        move("MN2", "MAR1", 3),
    ]
    sim = run(scenario(mns=mns, script=script), 8)
    assert sorted((p["src"], p["dst"], p["mn"]) for p in messages(sim, "PBU")) == [
        ("MAR1", "MAR2", "MN2"),
        ("MAR2", "MAR1", "MN1"),
    ]
    assert len(states(sim, "tunnel_up")) == 1  # one bidirectional tunnel MAR1<=>MAR2
    state = sim.snapshot()
    assert [(b["mn"], b["serving"]) for b in state["mars"]["MAR1"]["binding_cache"]] == [("MN1", "MAR2")]
    assert [(b["mn"], b["serving"]) for b in state["mars"]["MAR2"]["binding_cache"]] == [("MN2", "MAR1")]
    for flow, mn in (("f1", "MN1"), ("f2", "MN2")):
        delivered = [e for e in messages(sim, "DATA", after=4) if e["flow"] == flow and e["dst"] == mn]
        assert delivered


def test_detach_then_attach_elsewhere_keeps_flow():
    """A detached MN's flow is lost meanwhile; attaching at another MAR redirects it again."""
    script = [attach(), start("f1", 1), {"at": 3, "action": "detach", "mn": "MN1"}, attach(mar="MAR2", at=5)]
    sim = run(scenario(script=script), 8)
    assert [e for e in states(sim, "drop") if 3 < e["t"] < 5]
    assert [(p["src"], p["dst"]) for p in messages(sim, "PBU")] == [("MAR2", "MAR1")]
    assert [e for e in messages(sim, "DATA", after=5.5) if e["dst"] == "MN1"]


def test_flow_started_before_ra_waits_for_prefix():
    """start_flow at the attach instant waits for the RA, then takes the new prefix."""
    sim = run(scenario(script=[attach(), start("f1", 0)]), 1)
    waiting, started = states(sim, "flow_waiting"), states(sim, "flow_started")
    assert waiting and started and started[0]["t"] > 0 and started[0]["prefix"] == HNP1


def test_pbu_for_prefix_the_anchor_does_not_own_is_rejected():
    """RFC 5213 §8.9 status 153: an anchor refuses a prefix it never allocated; the RA does not carry it (§6.9.2)."""
    sim = run(scenario(script=[attach()]), 1)
    mar2 = sim.mars["MAR2"]
    sim.mars["MAR2"].attached[("MN1", "if1")] = 0
    sim.now_us = 2_000_000
    sim.design.send_pbu(mar2, "MN1", "if1", "MAR1", ["2001:db8:1:99::/64"], None, 3)
    sim.run(3)
    assert messages(sim, "PBA")[0]["status"] == 153
    assert sim.snapshot()["mars"]["MAR2"]["binding_update_list"] == []
