"""What the exporters need on the wire: the per-flow PBU's Flow Identification (RFC 6089) and the client-dmm
de-registration's care-of address (RFC 6275 §11.5.4, §11.7.1)."""

from .helpers import messages, public, run


def test_flow_move_pbu_and_pba_carry_flow_identification_and_traffic_selector():
    """Figure 6: the per-flow PBU moves one flow, and says so: FID, priority, action add, an IPv6 traffic selector
    naming the flow's packets the anchor redirects (CN -> MN address); the PBA echoes it with flow status 0."""
    sim = run(public("fig6-multi-interface"), 12)
    pbu = next(p for p in messages(sim, "PBU") if p.get("flow"))
    pba = next(p for p in messages(sim, "PBA") if p.get("flow"))
    flow = next(f for f in sim.snapshot()["mns"]["MN1"]["flows"] if f["id"] == pbu["flow"])
    assert pbu["flow_id"] == 2 and pbu["flow_priority"] == 2 and pbu["flow_action"] == 1  # flow2: the MN's second flow
    assert pbu["traffic_selector"] == {
        "ts_format": 2,
        "source_address": sim.cns[flow["cn"]],
        "destination_address": flow["prefix"].split("/")[0] + "1",
        "next_header": 17,
    }
    assert (
        pba["flow_id"] == pbu["flow_id"]
        and pba["flow_status"] == 0
        and pba["traffic_selector"] == pbu["traffic_selector"]
    )
    assert all("flow_id" not in p for p in messages(sim, "PBU") if not p.get("flow"))


def test_flow_id_is_stable_for_a_flow():
    data = public("fig6-multi-interface")
    stop = next(s for s in data["script"] if s["action"] == "move_flow")
    data["script"].append({"at": 10.0, "action": "stop_flow", "mn": "MN1", "flow": stop["flow"]})
    sim = run(data, 12)
    flow_pbus = [p for p in messages(sim, "PBU") if p.get("flow")]
    assert [p["flow_action"] for p in flow_pbus] == [1, 3] and len({p["flow_id"] for p in flow_pbus}) == 1


def test_client_return_home_deregistration_uses_the_home_address_as_care_of_address():
    """RFC 6275 §11.5.4: back at the home agent the MN de-registers with lifetime 0 and care-of address = home
    address (before: null, which the pcap exporter refused)."""
    data = public("fig5-handover")
    data["script"].append({"at": 9.0, "action": "move", "mn": "MN1", "interface": "if1", "mar": "MAR1"})
    sim = run(data, 12, mode="client-dmm")
    dereg = [b for b in messages(sim, "BU") if b["lifetime"] == 0]
    assert dereg and dereg[0]["care_of_address"] == dereg[0]["home_address"] == "2001:db8:1:1::1"
    assert all(b["care_of_address"] for b in messages(sim, "BU"))


def test_client_flow_end_away_deregisters_from_the_current_care_of_address():
    data = public("fig5-handover")
    data["script"].append({"at": 9.0, "action": "stop_flow", "mn": "MN1", "flow": "flow1"})
    sim = run(data, 12, mode="client-dmm")
    dereg = [b for b in messages(sim, "BU") if b["lifetime"] == 0]
    assert dereg and dereg[0]["care_of_address"] == "2001:db8:2:1::1" and dereg[0]["home_address"] == "2001:db8:1:1::1"
