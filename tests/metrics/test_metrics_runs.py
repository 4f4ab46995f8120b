"""Metrics of real engine runs, checked against values worked out by hand from the protocol and the default delays.

Defaults (simulator/constants.py): access link MN<->MAR 2 ms; wired nodes through the IP core 10 ms (5 ms each side);
the scenario's MAR1-MAR2 link 2 ms; a move detaches at once and attaches 50 ms later; each flow sends one packet each
way every 0.2 s from its start. Script actions scheduled at the same time as a flow tick run first (they were
scheduled first).
"""

from __future__ import annotations

import copy

import pytest

from simulator import Simulation, load_scenario
from simulator.metrics import compute_metrics

ONE_MOVE = {
    "format": "dmmviz-scenario/1",
    "title": "one MN, one flow, one move",
    "network": {
        "lma": {"id": "LMA", "prefix_pool": "2001:db8:100::/48"},
        "mars": [{"id": "MAR1", "prefix_pool": "2001:db8:1::/48"}, {"id": "MAR2", "prefix_pool": "2001:db8:2::/48"}],
        "cns": [{"id": "CN1", "address": "2001:db8:ca5e::1"}],
        "links": [{"between": ["MAR1", "MAR2"], "delay_ms": 2}],
    },
    "mobile_nodes": [{"id": "MN1"}],
    "script": [
        {"at": 0.0, "action": "attach", "mn": "MN1", "mar": "MAR1"},
        {"at": 1.0, "action": "start_flow", "mn": "MN1", "flow": "flow1", "cn": "CN1"},
        {"at": 5.0, "action": "move", "mn": "MN1", "mar": "MAR2"},
    ],
}
UNTIL = 7.0


def run(scenario: dict, mode: str, until: float = UNTIL) -> dict:
    """The metrics of one run (an engine error fails the test)."""
    sim = Simulation(load_scenario(copy.deepcopy(scenario)), mode=mode)
    sim.run(until)
    return compute_metrics(sim.trace(), sim.scenario)


# -- network-dmm (seed section 4) ------------------------------------------------------------------------------------


def test_network_dmm_messages_by_kind():
    """First attach at MAR1: RS, DB_UPDATE (HNP1), RA. Move to MAR2: RS, DB_QUERY (writing HNP2), DB_REPLY, PBU and
    PBA for HNP1 (flow1 is active on it), RA. No BU/BA (that is the client-based design)."""
    m = run(ONE_MOVE, "network-dmm")
    signalling = {k: n for k, n in m["messages"].items() if k != "DATA"}
    assert signalling == {"RS": 2, "RA": 2, "DB_UPDATE": 1, "DB_QUERY": 1, "DB_REPLY": 1, "PBU": 1, "PBA": 1}
    assert m["signalling_messages"] == 9 and m["binding_messages"] == 2


def test_network_dmm_latencies():
    """First attach: RS 2 + RA 2 = 4 ms (nothing to look up). Handover: RS 2 + DB_QUERY 10 + DB_REPLY 10 +
    PBU 2 + PBA 2 (over the MAR1-MAR2 link) + RA 2 = 28 ms from the L2 attach at MAR2 (t = 5.05)."""
    m = run(ONE_MOVE, "network-dmm")
    assert [(a["to"], a["latency_ms"]) for a in m["attachments"]] == [("MAR1", pytest.approx(4.0))]
    (h,) = m["handovers"]
    assert (h["from"], h["to"], h["at"], h["detached_at"]) == ("MAR1", "MAR2", pytest.approx(5.05), pytest.approx(5.0))
    assert h["latency_ms"] == pytest.approx(28.0)


def test_network_dmm_interruption():
    """Packet sent at 4.8 arrives at 4.812 both ways (12 ms). The tick at 5.0 is lost both ways (the MN has left
    MAR1). The next, at 5.2, arrives through the MAR1-MAR2 tunnel at 5.214 (10 + 2 + 2 ms down, 2 + 2 + 10 up):
    the flow was silent for 402 ms in each direction."""
    (h,) = run(ONE_MOVE, "network-dmm")["handovers"]
    assert h["interruption_ms"] == {"flow1": pytest.approx(402.0)}
    assert h["interruption_by_direction_ms"]["flow1"] == {"down": pytest.approx(402.0), "up": pytest.approx(402.0)}


def test_network_dmm_flow_delivery_and_stretch():
    """Ticks 1.0 ... 4.8 (20 packets) go natively: 2 hops, 12 ms. The tick at 5.0 is lost each way (2 drops). Ticks
    5.2 ... 6.8 (9 packets) go CN1 -> MAR1 -> MAR2 -> MN1: 3 hops, 14 ms. The tick at 7.0 is still in flight at the end.
    So 29 delivered each way; path 67/29 hops against a direct 2 (stretch 67/58); delay (20*12 + 9*14)/29 ms against
    a direct 12 ms (CN1 to the serving MAR through the core, then the access link)."""
    f = run(ONE_MOVE, "network-dmm")["flows"]["flow1"]
    assert (f["delivered_down"], f["delivered_up"], f["delivered"], f["lost"]) == (29, 29, 58, 2)
    assert f["path_hops"] == pytest.approx(67 / 29, abs=1e-3) and f["path_hops_last"] == 3
    assert f["direct_hops"] == pytest.approx(2.0)
    assert f["stretch"] == pytest.approx(67 / 58, abs=1e-3)
    assert f["path_delay_ms"] == pytest.approx(366 / 29, abs=1e-3)
    assert f["direct_delay_ms"] == pytest.approx(12.0)
    assert f["delay_stretch"] == pytest.approx(366 / 29 / 12, abs=1e-3)


def test_network_dmm_state_and_tunnels():
    """At the end: the DB holds HNP1 and HNP2, MAR1 (anchor of HNP1) one binding, MAR2 one BUL entry; one tunnel."""
    m = run(ONE_MOVE, "network-dmm")
    assert {n: (s["end"], s["peak"]) for n, s in m["state_entries"].items()} == {
        "DB": (2, 2), "MAR1": (1, 1), "MAR2": (1, 1)
    }
    assert m["state_entries"]["MAR1"]["end_by_table"]["binding_cache"] == 1
    assert m["state_entries"]["MAR2"]["end_by_table"]["binding_update_list"] == 1
    assert (m["tunnels_peak"], m["tunnels_end"]) == (1, 1)


def test_network_dmm_static_node_gets_no_mobility_support():
    """REQ2: an MN that never moves causes no PBU, no binding, no tunnel; its packets take the direct path."""
    static = copy.deepcopy(ONE_MOVE)
    static["script"] = static["script"][:2]
    m = run(static, "network-dmm")
    assert m["binding_messages"] == 0 and m["tunnels_peak"] == 0 and m["handovers"] == []
    assert m["flows"]["flow1"]["stretch"] == pytest.approx(1.0)
    assert m["flows"]["flow1"]["delay_stretch"] == pytest.approx(1.0)


def test_same_flow_id_on_two_mns_kept_apart():
    """Flow ids belong to their MN: two MNs' "flow1" are two flows, keyed "MN/flow"."""
    two = copy.deepcopy(ONE_MOVE)
    two["mobile_nodes"].append({"id": "MN2"})
    two["script"] += [
        {"at": 0.0, "action": "attach", "mn": "MN2", "mar": "MAR2"},
        {"at": 1.0, "action": "start_flow", "mn": "MN2", "flow": "flow1", "cn": "CN1"},
    ]
    flows = run(two, "network-dmm")["flows"]
    assert set(flows) == {"MN1/flow1", "MN2/flow1"}
    assert flows["MN2/flow1"]["lost"] == 0 and flows["MN2/flow1"]["stretch"] == pytest.approx(1.0)
    assert flows["MN1/flow1"]["lost"] == 2


def test_metrics_export_from_command_line(tmp_path):
    """`run --export metrics` writes the dmmviz-metrics/1 document computed here."""
    import json
    import subprocess
    import sys

    path = tmp_path / "one.json"
    path.write_text(json.dumps(ONE_MOVE))
    out = subprocess.run([sys.executable, "-m", "simulator", "run", str(path), "--export", "metrics", "--until", "7"],
                         capture_output=True, text=True, check=True).stdout
    doc = json.loads(out)
    assert doc["format"] == "dmmviz-metrics/1"
    assert doc["handovers"][0]["latency_ms"] == pytest.approx(28.0)


# -- centralized-pmipv6 (RFC 5213, the baseline) --------------------------------------------------------------------


def test_centralized_every_attach_registers_at_lma():
    """RFC 5213: each attach (first or handover) is RS, PBU to the LMA (10 ms), PBA back (10 ms), RA: 24 ms.
    No session DB. PBU and PBA come in pairs."""
    m = run(ONE_MOVE, "centralized-pmipv6")
    assert not {"DB_QUERY", "DB_REPLY", "DB_UPDATE", "BU", "BA"} & set(m["messages"])
    assert m["messages"]["PBU"] == m["messages"]["PBA"] >= 2
    assert [a["latency_ms"] for a in m["attachments"]] == [pytest.approx(24.0)]
    assert [(h["from"], h["to"], h["latency_ms"]) for h in m["handovers"]] == [("MAR1", "MAR2", pytest.approx(24.0))]


def test_centralized_paths_go_through_lma():
    """Every downlink packet goes CN1 -> LMA -> MAG -> MN1: 3 hops and 10 + 10 + 2 = 22 ms, against a direct 2 hops
    and 12 ms, before and after the move alike: stretch 1.5 and 22/12."""
    f = run(ONE_MOVE, "centralized-pmipv6")["flows"]["flow1"]
    assert f["path_hops"] == pytest.approx(3.0) and f["direct_hops"] == pytest.approx(2.0)
    assert f["stretch"] == pytest.approx(1.5)
    assert f["delay_stretch"] == pytest.approx(22 / 12, abs=1e-3)
    assert f["tunnelled_share"] == pytest.approx(1.0)


def test_centralized_static_node_still_costs_state_and_tunnel():
    """The seed's section 2: an MN that never moves still has a binding at the LMA and a tunnel to its MAG."""
    static = copy.deepcopy(ONE_MOVE)
    static["script"] = static["script"][:2]
    m = run(static, "centralized-pmipv6")
    assert m["binding_messages"] == 2  # PBU + PBA of the attach
    assert m["state_entries"]["LMA"]["end_by_table"]["binding_cache"] == 1
    assert m["tunnels_peak"] == 1
    assert m["flows"]["flow1"]["stretch"] == pytest.approx(1.5)


# -- client-dmm (seed section 3.2, RFC 6275 in every access router) -------------------------------------------------


def test_client_dmm_mn_signals_its_old_anchor():
    """After the move the MN sends one BU to MAR1 (anchor of flow1's address) and gets a BA; no PBU, no DB. The
    handover is complete when the BA is back: RS 2 + RA 2 + BU 4 + BA 4 (access link 2 + MAR2-MAR1 link 2) = 12 ms.
    The first attach is RS 2 + RA 2 = 4 ms."""
    m = run(ONE_MOVE, "client-dmm")
    assert m["messages"]["BU"] == m["messages"]["BA"] == 1
    assert not {"PBU", "PBA"} & set(m["messages"])
    (h,) = m["handovers"]
    assert h["registrations"] == 1
    assert h["latency_ms"] == pytest.approx(12.0)
    assert [a["latency_ms"] for a in m["attachments"]] == [pytest.approx(4.0)]


def test_detach_then_attach_elsewhere_is_a_handover_and_back_home_is_not():
    """An interface detached at 5 s and attached to MAR2 at 6 s made a handover (from MAR1); detached again and
    attached back to MAR2 it is an attachment, not a handover. The flow's interruption spans the whole second off
    the air: last arrival 4.812, first after the attach 6.214 (tick 6.2 through the tunnel: 10 + 2 + 2 ms)."""
    s = copy.deepcopy(ONE_MOVE)
    s["script"] = [
        *s["script"][:2],
        {"at": 5.0, "action": "detach", "mn": "MN1"},
        {"at": 6.0, "action": "attach", "mn": "MN1", "mar": "MAR2"},
        {"at": 8.0, "action": "detach", "mn": "MN1"},
        {"at": 8.5, "action": "attach", "mn": "MN1", "mar": "MAR2"},
    ]
    m = run(s, "network-dmm", until=10.0)
    assert [(h["from"], h["to"], h["at"], h["detached_at"]) for h in m["handovers"]] == [("MAR1", "MAR2", 6.0, 5.0)]
    assert [(a["to"], a["at"]) for a in m["attachments"]] == [("MAR1", 0.0), ("MAR2", 8.5)]
    assert m["handovers"][0]["interruption_ms"]["flow1"] == pytest.approx(1402.0)
