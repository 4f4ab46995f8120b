"""Metrics computed from hand-made traces (docs/engine.md vocabulary), checked against values worked out by hand.

These pin the *definitions* of docs/metrics.md independently of the engine: each trace below is what the protocol
sends for one MN, one flow and one move, with the default delays of simulator/constants.py:
access link MN<->MAR 2 ms, any two wired nodes through the IP core 10 ms (5 ms each side), the scenario's MAR1-MAR2
link 2 ms, 50 ms between L2 detach and L2 attach in a move, one data packet each way every 0.2 s.
tests/metrics/test_metrics_runs.py checks the same numbers on real engine runs.
"""

from __future__ import annotations

import pytest

from simulator.metrics import compute_metrics

from .tracebuilder import TraceBuilder

SCENARIO = {
    "format": "dmmviz-scenario/1",
    "title": "one MN, one flow, one move",
    "network": {
        "mars": [{"id": "MAR1", "prefix_pool": "2001:db8:1::/48"}, {"id": "MAR2", "prefix_pool": "2001:db8:2::/48"}],
        "cns": [{"id": "CN1", "address": "2001:db8:ca5e::1"}],
        "links": [{"between": ["MAR1", "MAR2"], "delay_ms": 2}],
    },
    "mobile_nodes": [{"id": "MN1", "interfaces": ["if1"]}],
    "script": [],
}
HNP1, HNP2 = "2001:db8:1:1::/64", "2001:db8:2:1::/64"
NATIVE_DOWN = [("CN1", "MAR1", 10, False), ("MAR1", "MN1", 2, False)]
NATIVE_UP = [("MN1", "MAR1", 2, False), ("MAR1", "CN1", 10, False)]
TUNNEL_DOWN = [("CN1", "MAR1", 10, False), ("MAR1", "MAR2", 2, True), ("MAR2", "MN1", 2, False)]
TUNNEL_UP = [("MN1", "MAR2", 2, False), ("MAR2", "MAR1", 2, True), ("MAR1", "CN1", 10, False)]


def network_dmm_fig5() -> dict:
    """Seed Figure 5, hand-written: attach to MAR1 at 0, flow1 to CN1 from 4.4 s, move to MAR2 at 5.0 s."""
    b = TraceBuilder("network-dmm")
    b.state("action", 0.0, action="attach", mn="MN1", interface="if1", mar="MAR1", source="script")
    b.state("l2_attach", 0.0, node="MAR1", mn="MN1", interface="if1")
    b.msg("RS", "MN1", "MAR1", 0.0, 2, mn="MN1", interface="if1")
    b.state("hnp_allocated", 0.002, node="MAR1", mn="MN1", interface="if1", hnp=HNP1)
    b.msg("DB_UPDATE", "MAR1", "DB", 0.002, 10, mn="MN1", op="add", entries=[{"hnp": HNP1, "anchor": "MAR1"}])
    b.msg("RA", "MAR1", "MN1", 0.002, 2, mn="MN1", interface="if1", prefixes=[{"prefix": HNP1}])
    b.state("db_entry_added", 0.012, node="DB", mn="MN1", hnp=HNP1, anchor="MAR1")
    b.state("flow_started", 4.4, node="MN1", mn="MN1", flow="flow1", cn="CN1", interface="if1", prefix=HNP1,
            anchor="MAR1")
    for n, t in enumerate((4.4, 4.6, 4.8), start=1):
        b.path("flow1", "down", n, t, NATIVE_DOWN)
        b.path("flow1", "up", n, t, NATIVE_UP)
    b.state("action", 5.0, action="move", mn="MN1", interface="if1", mar="MAR2", source="script")
    b.state("l2_detach", 5.0, node="MAR1", mn="MN1", interface="if1")
    # Packet 4 both ways is lost: downlink reaches MAR1 after the MN left and before the PBU came; uplink has no link.
    down4 = b.msg("DATA", "CN1", "MAR1", 5.0, 10, flow="flow1", direction="down", packet=4, encapsulated=False)
    b.state("drop", 5.01, node="MAR1", msg=down4["id"], flow="flow1", reason="MN1 not attached")
    up4 = b.msg("DATA", "MN1", "MAR1", 5.0, None, flow="flow1", direction="up", packet=4, encapsulated=False)
    b.state("drop", 5.0, node="MN1", msg=up4["id"], flow="flow1", reason="no link")
    b.state("l2_attach", 5.05, node="MAR2", mn="MN1", interface="if1")
    b.msg("RS", "MN1", "MAR2", 5.05, 2, mn="MN1", interface="if1")  # arrives 5.052
    b.state("hnp_allocated", 5.052, node="MAR2", mn="MN1", interface="if1", hnp=HNP2)
    b.msg("DB_QUERY", "MAR2", "DB", 5.052, 10, mn="MN1", entries=[])  # 5.062
    b.msg("DB_REPLY", "DB", "MAR2", 5.062, 10, mn="MN1", entries=[{"hnp": HNP1, "anchor": "MAR1"}])  # 5.072
    b.msg("PBU", "MAR2", "MAR1", 5.072, 2, mn="MN1", hnps=[HNP1], lifetime=3600, sequence=1, flags="AHP",
          handoff_indicator=3)  # 5.074
    b.msg("DB_UPDATE", "MAR2", "DB", 5.072, 10, mn="MN1", op="add", entries=[{"hnp": HNP2, "anchor": "MAR2"}])
    b.state("binding_created", 5.074, node="MAR1", mn="MN1", hnp=HNP1, serving="MAR2", flow=None, lifetime=3600)
    b.state("tunnel_up", 5.074, node="MAR1", peer="MAR2", hnps=[HNP1])
    b.msg("PBA", "MAR1", "MAR2", 5.074, 2, mn="MN1", hnps=[HNP1], status=0, sequence=1, lifetime=3600)  # 5.076
    b.state("bul_added", 5.076, node="MAR2", mn="MN1", hnp=HNP1, anchor="MAR1", flow=None)
    b.state("tunnel_up", 5.076, node="MAR2", peer="MAR1", hnps=[HNP1])  # the other end reports it too
    b.msg("RA", "MAR2", "MN1", 5.076, 2, mn="MN1", interface="if1", prefixes=[{"prefix": HNP1}, {"prefix": HNP2}])
    b.state("db_entry_added", 5.082, node="DB", mn="MN1", hnp=HNP2, anchor="MAR2")
    for n, t in ((5, 5.2), (6, 5.4)):
        b.path("flow1", "down", n, t, TUNNEL_DOWN)
        b.path("flow1", "up", n, t, TUNNEL_UP)
    return b.trace()


def test_messages_counted_by_kind():
    """Each signalling message of Figure 5 is counted once under its kind; DATA counts segments (not packets)."""
    m = compute_metrics(network_dmm_fig5(), SCENARIO)
    # attach: RS, DB_UPDATE, RA; handover: RS, DB_QUERY, DB_REPLY, PBU, PBA, DB_UPDATE (HNP2), RA
    assert m["messages"] == {"DATA": 26, "DB_QUERY": 1, "DB_REPLY": 1, "DB_UPDATE": 2, "PBA": 1, "PBU": 1, "RA": 2,
                             "RS": 2}
    assert m["signalling_messages"] == 10
    # 3 packets x 2 segments x 2 directions native, 2 x 3 x 2 tunnelled, 1 lost segment each way
    assert m["data_segments"] == 3 * 2 * 2 + 2 * 3 * 2 + 2


def test_handover_latency_from_attach_to_completing_ra():
    """Latency = RS 2 + DB query 10 + DB reply 10 + PBU 2 + PBA 2 + RA 2 = 28 ms after the L2 attach at MAR2."""
    m = compute_metrics(network_dmm_fig5(), SCENARIO)
    (h,) = m["handovers"]
    assert (h["mn"], h["interface"], h["from"], h["to"], h["at"]) == ("MN1", "if1", "MAR1", "MAR2", 5.05)
    assert h["latency_ms"] == pytest.approx(28.0)
    assert h["registrations"] == 1
    # The first attach is not a handover: RS 2 + RA 2 = 4 ms, no registration.
    (a,) = m["attachments"]
    assert a["to"] == "MAR1" and a["latency_ms"] == pytest.approx(4.0) and a["registrations"] == 0


def test_interruption_is_longest_silence_across_handover():
    """Last packet before the detach arrives at 4.812 (sent 4.8 + 12 ms); packet 4 is lost; packet 5, sent at 5.2,
    arrives through the tunnel at 5.214 (10 + 2 + 2 ms) downlink and 5.214 uplink (2 + 2 + 10): 402 ms both ways."""
    m = compute_metrics(network_dmm_fig5(), SCENARIO)
    (h,) = m["handovers"]
    assert h["interruption_ms"] == {"flow1": pytest.approx(402.0)}
    assert h["interruption_by_direction_ms"]["flow1"] == {"down": pytest.approx(402.0), "up": pytest.approx(402.0)}


def test_flow_delivery_loss_and_stretch():
    """flow1 delivers 5 packets each way and loses 2 (two drop events). Downlink paths: 3 native packets of 2 hops /
    12 ms, 2 tunnelled packets of 3 hops / 14 ms, so 2.4 hops and 12.8 ms on average. The direct path from CN1 to the
    serving MAR (MAR1, then MAR2) is 2 hops and 10 + 2 = 12 ms every time: stretch 1.2, delay stretch 12.8/12."""
    f = compute_metrics(network_dmm_fig5(), SCENARIO)["flows"]["flow1"]
    assert (f["delivered"], f["delivered_down"], f["delivered_up"], f["lost"]) == (10, 5, 5, 2)
    assert f["path_hops"] == pytest.approx(2.4) and f["path_hops_last"] == 3
    assert f["direct_hops"] == pytest.approx(2.0)
    assert f["stretch"] == pytest.approx(1.2)
    assert f["path_delay_ms"] == pytest.approx(12.8) and f["direct_delay_ms"] == pytest.approx(12.0)
    assert f["delay_stretch"] == pytest.approx(12.8 / 12, abs=1e-3)
    assert f["tunnelled_share"] == pytest.approx(0.4)


def test_state_entries_replayed_per_node():
    """After the move: MAR1 holds one binding (anchor of HNP1), MAR2 one BUL entry, the DB the two HNPs."""
    m = compute_metrics(network_dmm_fig5(), SCENARIO)
    s = m["state_entries"]
    assert {n: (v["end"], v["peak"]) for n, v in s.items()} == {"DB": (2, 2), "MAR1": (1, 1), "MAR2": (1, 1)}
    assert s["MAR1"]["end_by_table"] == {"binding_cache": 1, "binding_update_list": 0, "session_db": 0}
    assert s["DB"]["peak_at"] == pytest.approx(5.082)
    assert m["summary"]["state_peak_busiest"] == {"node": "DB", "value": 2}
    assert m["summary"]["binding_peak_busiest"] == {"node": "MAR1", "value": 1}


def test_tunnel_reported_from_both_ends_counts_once():
    """tunnel_up from MAR1 and from MAR2 describe one tunnel: peak 1."""
    m = compute_metrics(network_dmm_fig5(), SCENARIO)
    assert (m["tunnels_peak"], m["tunnels_end"], m["tunnels_established"]) == (1, 1, 1)
    assert m["tunnels_peak_by_node"] == {"MAR1": 1, "MAR2": 1}


def test_packets_in_flight_at_until_are_not_delivered():
    """Cut at 5.213: packet 5 (arriving 5.214 both ways) is still in flight, so 4 each way are delivered."""
    m = compute_metrics(network_dmm_fig5(), SCENARIO, until=5.213)
    f = m["flows"]["flow1"]
    assert (f["delivered_down"], f["delivered_up"]) == (3, 3)
    # and the flow has not resumed within the run, so its interruption is unknown rather than guessed
    assert m["handovers"][0]["interruption_ms"] == {"flow1": None}


CENTRAL = {
    **SCENARIO,
    "network": {**SCENARIO["network"], "links": [], "lma": {"id": "LMA", "prefix_pool": "2001:db8:100::/48"}},
}
LMA_HNP = "2001:db8:100:1::/64"


def centralized_move() -> dict:
    """RFC 5213 with one LMA: attach at MAR1 registers too; move to MAR2 at 5.0; the old MAG de-registers."""
    b = TraceBuilder("centralized-pmipv6")
    seq = iter(range(1, 10))

    def register(mag: str, t: float, hi: int) -> float:
        b.state("l2_attach", t, node=mag, mn="MN1", interface="if1")
        b.msg("RS", "MN1", mag, t, 2, mn="MN1", interface="if1")
        n = next(seq)
        b.msg("PBU", mag, "LMA", t + 0.002, 10, mn="MN1", hnps=[], lifetime=3600, sequence=n, handoff_indicator=hi)
        b.state("binding_created" if hi == 1 else "binding_updated", t + 0.012, node="LMA", mn="MN1", hnp=LMA_HNP,
                serving=mag, flow=None, lifetime=3600)
        b.msg("PBA", "LMA", mag, t + 0.012, 10, mn="MN1", hnps=[LMA_HNP], status=0, sequence=n, lifetime=3600)
        b.state("tunnel_up", t + 0.012, node="LMA", peer=mag, hnps=[LMA_HNP])
        b.state("bul_added", t + 0.022, node=mag, mn="MN1", hnp=LMA_HNP, anchor="LMA", flow=None)
        b.msg("RA", mag, "MN1", t + 0.022, 2, mn="MN1", interface="if1", prefixes=[{"prefix": LMA_HNP}])
        return t + 0.024

    register("MAR1", 0.0, 1)
    b.state("flow_started", 1.0, node="MN1", mn="MN1", flow="flow1", cn="CN1", interface="if1", prefix=LMA_HNP,
            anchor="LMA")
    via_mar1 = [("CN1", "LMA", 10, False), ("LMA", "MAR1", 10, True), ("MAR1", "MN1", 2, False)]
    b.path("flow1", "down", 1, 1.0, via_mar1)
    b.state("l2_detach", 5.0, node="MAR1", mn="MN1", interface="if1")
    # The old MAG de-registers (lifetime 0, HI 4): its PBA goes to MAR1 and must not count for the handover.
    b.msg("PBU", "MAR1", "LMA", 5.0, 10, mn="MN1", hnps=[LMA_HNP], lifetime=0, sequence=next(seq), handoff_indicator=4)
    b.state("bul_removed", 5.0, node="MAR1", mn="MN1", hnp=LMA_HNP, anchor="LMA", flow=None)
    b.msg("PBA", "LMA", "MAR1", 5.01, 10, mn="MN1", hnps=[LMA_HNP], status=0, sequence=2, lifetime=0)
    register("MAR2", 5.05, 3)
    b.state("tunnel_down", 5.062, node="LMA", peer="MAR1", hnps=[LMA_HNP])
    b.path("flow1", "down", 2, 6.0, [("CN1", "LMA", 10, False), ("LMA", "MAR2", 10, True), ("MAR2", "MN1", 2, False)])
    return b.trace()


def test_centralized_attach_and_handover_latency():
    """Every attach registers: RS 2 + PBU 10 + PBA 10 + RA 2 = 24 ms, first attach and handover alike."""
    m = compute_metrics(centralized_move(), CENTRAL)
    assert [a["latency_ms"] for a in m["attachments"]] == [pytest.approx(24.0)]
    assert [(h["from"], h["to"], h["latency_ms"], h["registrations"]) for h in m["handovers"]] == [
        ("MAR1", "MAR2", pytest.approx(24.0), 1)
    ]
    # PBU: 2 registrations + 1 de-registration
    assert m["messages"]["PBU"] == 3 and m["messages"]["PBA"] == 3


def test_centralized_path_goes_through_lma():
    """CN1 -> LMA -> MAG -> MN1 is 3 hops / 22 ms against the direct 2 hops / 12 ms: stretch 1.5, 22/12."""
    f = compute_metrics(centralized_move(), CENTRAL)["flows"]["flow1"]
    assert f["path_hops"] == pytest.approx(3.0) and f["direct_hops"] == pytest.approx(2.0)
    assert f["stretch"] == pytest.approx(1.5)
    assert f["delay_stretch"] == pytest.approx(22 / 12, abs=1e-3)


def test_centralized_state_and_tunnels_at_lma():
    """The LMA keeps the binding throughout; MAR1's BUL entry goes at the detach. LMA-MAR2 comes up at 5.062 and
    LMA-MAR1 goes at the same instant (the binding is re-pointed): one tunnel at a time, two established."""
    m = compute_metrics(centralized_move(), CENTRAL)
    s = m["state_entries"]
    assert (s["LMA"]["end"], s["LMA"]["peak"]) == (1, 1)
    assert (s["MAR1"]["end"], s["MAR1"]["peak"], s["MAR2"]["end"]) == (0, 1, 1)
    assert (m["tunnels_peak"], m["tunnels_end"], m["tunnels_established"]) == (1, 1, 2)
    assert m["tunnels_peak_by_node"] == {"LMA": 1, "MAR1": 1, "MAR2": 1}


def client_dmm_move() -> dict:
    """Client-based (RFC 6275 in each access router): after the move the MN learns its care-of address from AR2's
    RA, then sends a BU to AR1 (12 ms: access link + core) and gets the BA back (12 ms)."""
    b = TraceBuilder("client-dmm")
    b.state("l2_attach", 0.0, node="MAR1", mn="MN1", interface="if1")
    b.msg("RS", "MN1", "MAR1", 0.0, 2, mn="MN1", interface="if1")
    b.msg("RA", "MAR1", "MN1", 0.002, 2, mn="MN1", interface="if1", prefixes=[{"prefix": HNP1}])
    b.state("flow_started", 1.0, node="MN1", mn="MN1", flow="flow1", cn="CN1", interface="if1", prefix=HNP1,
            anchor="MAR1")
    b.state("l2_detach", 5.0, node="MAR1", mn="MN1", interface="if1")
    b.state("l2_attach", 5.05, node="MAR2", mn="MN1", interface="if1")
    b.msg("RS", "MN1", "MAR2", 5.05, 2, mn="MN1", interface="if1")
    b.msg("RA", "MAR2", "MN1", 5.052, 2, mn="MN1", interface="if1", prefixes=[{"prefix": HNP2}])  # arrives 5.054
    b.msg("BU", "MN1", "MAR1", 5.054, 12, mn="MN1", hnps=[HNP1], lifetime=3600, sequence=7, flags="AH")  # 5.066
    b.state("binding_created", 5.066, node="MAR1", mn="MN1", hnp=HNP1, serving="MN1", flow=None, lifetime=3600)
    b.state("tunnel_up", 5.066, node="MAR1", peer="MN1", hnps=[HNP1])
    b.msg("BA", "MAR1", "MN1", 5.066, 12, mn="MN1", hnps=[HNP1], status=0, sequence=7, lifetime=3600)  # 5.078
    return b.trace()


def test_client_handover_completes_with_last_ba():
    """RS 2 + RA 2 + BU 12 + BA 12 = 28 ms: the RA comes first, the handover is complete when the BA is back."""
    m = compute_metrics(client_dmm_move(), SCENARIO)
    (h,) = m["handovers"]
    assert (h["from"], h["to"], h["registrations"]) == ("MAR1", "MAR2", 1)
    assert h["latency_ms"] == pytest.approx(28.0)
    assert m["tunnels_peak_by_node"] == {"MAR1": 1, "MN1": 1}


def test_unanswered_registration_leaves_latency_unknown():
    """A PBU whose PBA never arrives: the handover never completes, so its latency is None, not a number."""
    trace = network_dmm_fig5()
    trace["events"] = [e for e in trace["events"] if e["kind"] != "PBA"]
    (h,) = compute_metrics(trace, SCENARIO)["handovers"]
    assert h["latency_ms"] is None and h["completed_at"] is None


def test_not_a_trace_is_rejected():
    """A state document (or anything else) given as a trace is refused with a clear message."""
    with pytest.raises(ValueError, match="dmmviz-trace/1"):
        compute_metrics({"format": "dmmviz-state/1"}, SCENARIO)


def test_packets_that_overtake_others_are_counted_in_arrival_order():
    """Figure 5 with packet 9 held up on its last hop each way (a slow radio link downlink, 400 ms to the CN uplink):
    it left before packet 5 and arrives after packet 6. Counted in arrival order, the last downlink packet is packet 9
    (2 hops, CN1 -> MAR2 -> MN1), and the silence across the handover still ends with packet 5 (5.214): 402 ms each
    way, not the 690-odd ms of taking packet 9 (5.505 down, 5.504 up) as the first after it."""
    trace = network_dmm_fig5()
    events = trace["events"]
    ids = iter(range(max(e.get("id", 0) for e in events) + 1, 10**6))

    def segment(src: str, dst: str, t: float, delay_ms: float, direction: str, encapsulated: bool = False) -> None:
        events.append({"seq": 0, "t": t, "kind": "DATA", "id": next(ids), "arrive": round(t + delay_ms / 1000, 6),
                       "src": src, "dst": dst, "flow": "flow1", "mn": "MN1", "direction": direction, "packet": 9,
                       "encapsulated": encapsulated, "size": 100})

    segment("CN1", "MAR2", 5.195, 10, "down")
    segment("MAR2", "MN1", 5.205, 300, "down")  # arrives 5.505
    segment("MN1", "MAR2", 5.1, 2, "up")
    segment("MAR2", "MAR1", 5.102, 2, "up", encapsulated=True)
    segment("MAR1", "CN1", 5.104, 400, "up")  # arrives 5.504
    events.sort(key=lambda e: e["t"])
    trace["events"] = [{**e, "seq": i} for i, e in enumerate(events)]

    m = compute_metrics(trace, SCENARIO)
    f = m["flows"]["flow1"]
    assert (f["delivered_down"], f["delivered_up"]) == (6, 6)
    assert f["path_hops_last"] == 2
    assert f["path_hops"] == pytest.approx((3 * 2 + 2 * 3 + 2) / 6, abs=1e-3)
    (h,) = m["handovers"]
    assert h["interruption_by_direction_ms"]["flow1"] == {"down": pytest.approx(402.0), "up": pytest.approx(402.0)}


def test_an_attach_without_a_detach_is_its_own_cut_not_the_previous_detach():
    """docs/metrics.md: the cut is the L2 detach, or the attach itself when there was none. A second move of the same
    interface straight to another MAR (a trace from another tool, or make-before-break) must not reuse the detach of
    the first move, 3 s earlier."""
    b = TraceBuilder("network-dmm")
    for event in network_dmm_fig5()["events"]:
        b.events.append(dict(event))
    b._ids = max(e.get("id", 0) for e in b.events)
    b.state("l2_attach", 8.0, node="MAR1", mn="MN1", interface="if1")
    first, second = compute_metrics(b.trace(), SCENARIO)["handovers"]
    assert (first["from"], first["to"], first["detached_at"]) == ("MAR1", "MAR2", 5.0)
    assert (second["from"], second["to"], second["at"], second["detached_at"]) == ("MAR2", "MAR1", 8.0, 8.0)
