"""Hypothesis-generated scripts: whatever users do, the tables stay consistent and active flows get through."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import Simulation, load_scenario

from .helpers import scenario

SETTLE = 1.0  # seconds without commands after which every handover has completed


def possible_commands(sim):
    """Every command that makes sense now (what a student could click)."""
    out = []
    for mn_id, mn in sim.mns.items():
        for iface in mn.interfaces:
            where = mn.attached[iface]
            if where is None:
                out += [{"action": "attach", "mn": mn_id, "interface": iface, "mar": m} for m in sorted(sim.mars)]
            else:
                out += [
                    {"action": "move", "mn": mn_id, "interface": iface, "mar": m}
                    for m in sorted(sim.mars)
                    if m != where
                ]
                out.append({"action": "detach", "mn": mn_id, "interface": iface})
                out.append(
                    {
                        "action": "start_flow",
                        "mn": mn_id,
                        "interface": iface,
                        "cn": "CN1",
                        "flow": f"f{len(mn.flows) + 1}",
                    }
                )
        for flow in mn.flows.values():
            if flow.active:
                out.append({"action": "stop_flow", "mn": mn_id, "flow": flow.id})
                for iface in mn.interfaces:
                    if iface != flow.interface and mn.attached[iface] is not None:
                        out.append({"action": "move_flow", "mn": mn_id, "flow": flow.id, "interface": iface})
    return out


def check_invariants(sim):
    state = sim.snapshot()
    # No tunnel without a binding behind it, and the tunnel events add up to the tables.
    tunnels = set()
    for e in sim.events:
        if e["kind"] == "tunnel_up":
            tunnels.add(frozenset((e["node"], e["peer"])))
        elif e["kind"] == "tunnel_down":
            tunnels.discard(frozenset((e["node"], e["peer"])))
    from_tables = {frozenset((node, peer)) for node, t in state["mars"].items() for peer in t["tunnels"]}
    assert tunnels == from_tables
    for node, tables in state["mars"].items():
        for peer in tables["tunnels"]:
            assert any(b["serving"] == peer for b in tables["binding_cache"]) or any(
                b["serving"] == node for b in state["mars"][peer]["binding_cache"]
            )
    # The session DB agrees with the anchors.
    db = {(mn, e["hnp"]): e["anchor"] for mn, entries in state["session_db"].items() for e in entries}
    owned = {(p["mn"], p["hnp"]): node for node, t in state["mars"].items() for p in t["prefixes"]}
    assert db == owned
    for node, tables in state["mars"].items():
        for b in tables["binding_cache"]:
            if b["state"] == "active":
                assert db.get((b["mn"], b["hnp"])) == node
    # No prefix preferred at two MARs: a preferred prefix is always the attached MAR's own.
    for mn in state["mns"].values():
        for p in mn["prefixes"]:
            if not p["deprecated"] and mn["interfaces"][p["interface"]] is not None:
                assert p["anchor"] == mn["interfaces"][p["interface"]]


def check_delivery(sim, since):
    """Every active flow of an attached interface got packets both ways in the last settle period."""
    for mn in sim.mns.values():
        for flow in mn.flows.values():
            if not flow.active or flow.prefix is None or mn.attached[flow.interface] is None:
                continue
            recent = [
                e
                for e in sim.events
                if e["kind"] == "DATA" and e["flow"] == flow.id and e["mn"] == mn.id and e["t"] >= since
            ]
            assert any(e["dst"] == mn.id for e in recent), f"{mn.id} {flow.id} got nothing down"
            assert any(e["dst"] == flow.cn for e in recent), f"{mn.id} {flow.id} sent nothing up"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_sessions_keep_tables_consistent(data):
    """Random attach/move/detach/start/stop/move_flow sequences by two MNs (one with two interfaces) over three MARs."""
    mns = [{"id": "MN1", "interfaces": ["if1", "if2"]}, {"id": "MN2", "interfaces": ["if1"]}]
    sim = Simulation(load_scenario(scenario(mars=3, mns=mns)))
    for _ in range(data.draw(st.integers(1, 20), label="commands")):
        command = data.draw(st.sampled_from(possible_commands(sim)), label="command")
        sim.apply(command)
        settled_from = sim.now + 0.5
        sim.run(sim.now + data.draw(st.sampled_from([0.01, 0.3, SETTLE + 0.5]), label="wait"))
        if sim.now >= settled_from + 0.5:
            check_invariants(sim)
            check_delivery(sim, settled_from)
    sim.run(sim.now + 12)  # past MinDelayBeforeBCEDelete
    check_invariants(sim)


def check_tunnels(sim):
    tunnels = set()
    for e in sim.events:
        if e["kind"] == "tunnel_up":
            tunnels.add(frozenset((e["node"], e["peer"])))
        elif e["kind"] == "tunnel_down":
            tunnels.discard(frozenset((e["node"], e["peer"])))
    state = sim.snapshot()
    assert tunnels == {frozenset((node, peer)) for node, t in state["mars"].items() for peer in t["tunnels"]}


@pytest.mark.parametrize("mode", ["centralized-pmipv6", "client-dmm"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_sessions_other_modes(mode, data):
    """The baseline designs under random moves: tunnels add up, active flows get through once settled."""
    mns = [{"id": "MN1", "interfaces": ["if1"]}, {"id": "MN2", "interfaces": ["if1"]}]
    sim = Simulation(load_scenario(scenario(mars=3, mns=mns)), mode=mode)
    for _ in range(data.draw(st.integers(1, 15), label="commands")):
        command = data.draw(
            st.sampled_from([c for c in possible_commands(sim) if c["action"] != "move_flow"]), label="command"
        )
        sim.apply(command)
        settled_from = sim.now + 0.5
        sim.run(sim.now + data.draw(st.sampled_from([0.01, 0.3, SETTLE + 0.5]), label="wait"))
        if sim.now >= settled_from + 0.5:
            check_tunnels(sim)
            check_delivery(sim, settled_from)
    sim.run(sim.now + 12)
    check_tunnels(sim)
