"""centralized-pmipv6 and client-dmm: the designs the seed compares itself with."""

import json
import subprocess
import sys

import pytest

from simulator import CommandError, Simulation, load_scenario

from .helpers import ROOT, SCENARIOS, messages, public, run, signalling, states


def test_centralized_static_node_still_registers_and_is_tunnelled():
    """RFC 5213: MN2 never moves, yet its MAG registers it at the LMA and its traffic goes through the LMA tunnel."""
    sim = run(public("centralized-baseline"), 12)
    mn2 = [s for s in signalling(sim, before=1) if "MAR3" in s or "MN2" in s]
    assert mn2 == [("RS", "MN2", "MAR3"), ("PBU", "MAR3", "LMA"), ("PBA", "LMA", "MAR3"), ("RA", "MAR3", "MN2")]
    ra = messages(sim, "RA", "MAR3", "MN2")[0]
    assert ra["t"] >= messages(sim, "PBA", "LMA", "MAR3")[0]["arrive"]
    assert ra["prefixes"][0]["prefix"].startswith("2001:db8:100:")  # from the LMA's pool
    flow9 = {(e["src"], e["dst"], e["encapsulated"]) for e in messages(sim, "DATA") if e["flow"] == "flow9"}
    assert flow9 == {
        ("CN2", "LMA", False),
        ("LMA", "MAR3", True),
        ("MAR3", "MN2", False),
        ("MN2", "MAR3", False),
        ("MAR3", "LMA", True),
        ("LMA", "CN2", False),
    }
    assert not messages(sim, "DB_QUERY")


def test_centralized_handover_moves_binding_prefix_stays_preferred():
    """A handover re-points the LMA's binding; the MN keeps one preferred prefix (it never notices the move). The old
    MAG de-registers the MN as it leaves (RFC 5213 §6.9.1.2, issue 13), and the new MAG's registration revives it."""
    sim = run(public("centralized-baseline"), 12)
    pbus = [(p["src"], p["handoff_indicator"], p["lifetime"]) for p in messages(sim, "PBU", after=3)]
    assert pbus == [("MAR1", 4, 0), ("MAR2", 3, 3600), ("MAR2", 4, 0), ("MAR3", 3, 3600)]
    updated = states(sim, "binding_updated")
    assert [(e["previous"], e["serving"]) for e in updated] == [("MAR1", "MAR2"), ("MAR2", "MAR3")]
    ras = messages(sim, "RA", dst="MN1")
    assert len({r["prefixes"][0]["prefix"] for r in ras}) == 1 and all(
        r["prefixes"][0]["preferred_lifetime"] > 0 for r in ras
    )
    state = sim.snapshot()
    assert [(b["mn"], b["serving"]) for b in state["mars"]["LMA"]["binding_cache"]] == [
        ("MN1", "MAR3"),
        ("MN2", "MAR3"),
    ]


def test_centralized_detach_deregisters_after_min_delay():
    """detach: the MAG sends PBU lifetime 0, HI 4; the LMA deletes the entry 10 s later and frees the prefix."""
    data = public("centralized-baseline")
    data["script"].append({"at": 12, "action": "detach", "mn": "MN2"})
    sim = run(data, 30)
    dereg = messages(sim, "PBU", after=12)
    assert [(p["src"], p["lifetime"], p["handoff_indicator"]) for p in dereg] == [("MAR3", 0, 4)]
    deleted = [e for e in states(sim, "binding_deleted") if e["mn"] == "MN2"]
    assert len(deleted) == 1 and abs(deleted[0]["t"] - dereg[0]["arrive"] - 10) < 1e-9
    assert [e["mn"] for e in states(sim, "hnp_released")] == ["MN2"]


def test_client_mn_sends_bu_to_old_router_no_pbu():
    """Seed Figure 2: after the move the MN sends a BU (A, H, home address) to AR1 and gets a BA; no PBU anywhere."""
    sim = run(public("fig2-client-dmm"), 10)
    assert not messages(sim, "PBU") and not messages(sim, "DB_QUERY")
    bu, ba = messages(sim, "BU")[0], messages(sim, "BA")[0]
    assert (bu["src"], bu["dst"], bu["flags"]) == ("MN", "AR1", "AH")
    assert bu["home_address"].startswith("2001:db8:1:") and bu["care_of_address"].startswith("2001:db8:2:")
    assert (ba["src"], ba["dst"], ba["status"], ba["sequence"]) == ("AR1", "MN", 0, bu["sequence"])
    tunnels = [(e["node"], e["peer"]) for e in states(sim, "tunnel_up")]
    assert tunnels == [("AR1", "MN")]  # the tunnel ends at the MN itself
    late = {(e["flow"], e["src"], e["dst"], e["encapsulated"]) for e in messages(sim, "DATA", after=7)}
    assert ("flow1", "AR1", "AR2", True) in late and ("flow1", "AR2", "MN", True) in late  # home address, tunnelled
    assert ("flow2", "AR2", "MN", False) in late and not any(f == "flow2" and enc for f, _, _, enc in late)


def test_client_bu_to_every_old_anchor_with_active_flow():
    """Client mode on Figure 4's moves: at AR3 the MN binds flow1's address at MAR1 and flow2's at MAR2."""
    sim = run(public("fig4-three-mars"), 20, mode="client-dmm")
    assert sorted((b["src"], b["dst"]) for b in messages(sim, "BU", after=9)) == [("MN1", "MAR1"), ("MN1", "MAR2")]
    assert (
        sorted(sim.snapshot()["mns"]["MN1"]["binding_update_list"], key=lambda e: e["hnp"])[0]["home_agent"] == "MAR1"
    )


def test_client_flow_stop_deregisters():
    """The last flow on a home address ends: the MN de-registers (lifetime 0) and the binding goes."""
    data = public("fig2-client-dmm")
    data["script"].append({"at": 8, "action": "stop_flow", "mn": "MN", "flow": "flow1"})
    sim = run(data, 12)
    assert [(b["lifetime"]) for b in messages(sim, "BU", after=8)] == [0]
    assert sim.snapshot()["mars"]["AR1"]["binding_cache"] == []


@pytest.mark.parametrize("mode", ["centralized-pmipv6", "client-dmm"])
def test_move_flow_refused_outside_network_dmm(mode):
    sim = Simulation(load_scenario(public("fig6-multi-interface")), mode=mode)
    sim.run(4)
    with pytest.raises(CommandError) as info:
        sim.apply({"action": "move_flow", "mn": "MN1", "flow": "flow2", "interface": "if2"})
    assert info.value.field == "action"


@pytest.mark.parametrize("mode", ["network-dmm", "centralized-pmipv6", "client-dmm"])
@pytest.mark.parametrize("name", ["fig5-handover", "fig4-three-mars", "centralized-baseline", "fig2-client-dmm"])
def test_cli_mode_runs_every_public_scenario(name, mode):
    """--mode runs any scenario under any design; the trace says which."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator",
            "run",
            str(SCENARIOS / f"{name}.json"),
            "--export",
            "trace",
            "--mode",
            mode,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    trace = json.loads(result.stdout)
    assert trace["mode"] == mode
    kinds = {e["kind"] for e in trace["events"]}
    assert ("PBU" in kinds) == (mode != "client-dmm")
    assert ("BU" in kinds) == (mode == "client-dmm")


def test_centralized_without_lma_gets_documented_default():
    sim = run(public("fig5-handover"), 12, mode="centralized-pmipv6")
    assert "LMA" in sim.snapshot()["mars"] and messages(sim, "PBU", dst="LMA")
