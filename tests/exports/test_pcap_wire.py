"""Wire details of the pcap named in issue 13: Router Preference, hop limits per segment, the Flow Identification
option on a per-flow PBU/PBA, and client-dmm de-registrations (lifetime 0) exported instead of refused."""

from __future__ import annotations

import copy
import ipaddress
import json
import struct
import subprocess
import sys

import pytest
from scapy.layers.inet6 import ICMPv6ND_RA, IPv6

from simulator import Simulation, load_scenario
from simulator.export import export
from simulator.metrics import compute_metrics

from .conftest import ROOT, engine_trace
from .test_pcap import message_events, records, tshark

RETURN_HOME = {
    "format": "dmmviz-scenario/1", "title": "client-dmm: release away, then return home", "mode": "client-dmm",
    "network": {"mars": [{"id": f"MAR{i}", "prefix_pool": f"2001:db8:{i}::/48"} for i in (1, 2, 3)],
                "cns": [{"id": "CN1", "address": "2001:db8:ca5e::1"}]},
    "mobile_nodes": [{"id": "MN1", "interfaces": ["if1"]}],
    "script": [
        {"at": 0, "action": "attach", "mn": "MN1", "mar": "MAR1"},
        {"at": 1, "action": "start_flow", "mn": "MN1", "flow": "f1", "cn": "CN1"},
        {"at": 3, "action": "move", "mn": "MN1", "mar": "MAR2"},
        {"at": 5, "action": "move", "mn": "MN1", "mar": "MAR3"},
        {"at": 6, "action": "stop_flow", "mn": "MN1", "flow": "f1"},  # released while away: a BU with lifetime 0
        {"at": 6.5, "action": "start_flow", "mn": "MN1", "flow": "f2", "cn": "CN1"},
        {"at": 7, "action": "move", "mn": "MN1", "mar": "MAR1"},
        {"at": 8, "action": "move", "mn": "MN1", "mar": "MAR3"},  # back at f2's home agent: lifetime 0 from home
    ],
}


def _trace(scenario: dict, until: float = 10.0) -> dict:
    sim = Simulation(load_scenario(copy.deepcopy(scenario)))
    sim.run(until)
    return sim.trace()


def _pairs(trace: dict) -> list[tuple[IPv6, dict]]:
    return [(IPv6(p), e) for (_, p), e in zip(records(export("pcap", trace)), message_events(trace), strict=True)]


@pytest.mark.parametrize("name", ["fig5-handover", "fig2-client-dmm"])
def test_router_advertisements_say_preference_medium(name):
    """RFC 4191 §2.2: Prf 00 (medium), the default; scapy's own default (01, high) must not leak onto the wire."""
    ras = [p for p, e in _pairs(engine_trace(name)) if e["kind"] == "RA"]
    assert ras and all(p[ICMPv6ND_RA].prf == 0 for p in ras)


def test_router_preference_as_tshark_reads_it(tmp_path):
    path = tmp_path / "fig5.pcap"
    path.write_bytes(export("pcap", engine_trace("fig5-handover")))
    prf = tshark(path, "-Y", "icmpv6.type == 134", "-T", "fields", "-e", "icmpv6.nd.ra.flag.prf").split()
    assert prf and set(prf) == {"0"}


def _segments_of_one_packet(pairs, flow: str, direction: str) -> list[tuple[IPv6, dict]]:
    """The segments of the first packet of `flow` in `direction` that took a tunnel."""
    by_packet: dict = {}
    for pkt, ev in pairs:
        if ev["kind"] == "DATA" and ev["flow"] == flow and ev["direction"] == direction:
            by_packet.setdefault(ev["packet"], []).append((pkt, ev))
    return next(segs for segs in by_packet.values() if any(ev["encapsulated"] for _, ev in segs))


def test_hop_limits_network_dmm_tunnel(fig5):
    """Figure 5 after the move, downlink CN -> MAR1 =tunnel=> MAR2 -> MN: the inner header leaves the CN with 64, the
    anchor forwards it into the tunnel (63) under a fresh outer header (64), MAR2 decapsulates and forwards (62)."""
    segs = _segments_of_one_packet(_pairs(fig5), "flow1", "down")
    assert [(e["src"], e["dst"]) for _, e in segs] == [("CN1", "MAR1"), ("MAR1", "MAR2"), ("MAR2", "MN1")]
    (cn, _), (tunnel, _), (last, _) = segs
    assert cn.hlim == 64
    assert (tunnel.nh, tunnel.hlim, tunnel.payload.hlim) == (41, 64, 63)
    assert last.hlim == 62
    up = _segments_of_one_packet(_pairs(fig5), "flow1", "up")
    assert [p.hlim for p, _ in up] == [64, 64, 62] and up[1][0].payload.hlim == 63


def test_hop_limits_client_dmm_tunnel_relayed_by_the_serving_router():
    """Client-based: the MN is the tunnel entry (outer 64, inner 64 as it originates the packet); the serving router
    relays the tunnel packet (outer 63, inner untouched); the home agent decapsulates and forwards (inner 63)."""
    trace = engine_trace("fig2-client-dmm")
    segs = _segments_of_one_packet(_pairs(trace), next(e["flow"] for e in trace["events"] if e["kind"] == "DATA"),
                                   "up")
    assert [e["encapsulated"] for _, e in segs] == [True, True, False]
    (first, _), (relayed, _), (native, _) = segs
    assert (first.hlim, first.payload.hlim) == (64, 64)
    assert (relayed.hlim, relayed.payload.hlim) == (63, 64)
    assert native.hlim == 63


def _flow_identification(mh: bytes) -> bytes | None:
    pos = 12
    while pos < len(mh):
        if mh[pos] == 0:
            pos += 1
            continue
        if mh[pos] == 45:
            assert pos % 2 == 0  # RFC 6089: 2n alignment
            return mh[pos + 2 : pos + 2 + mh[pos + 1]]
        pos += 2 + mh[pos + 1]
    return None


def test_flow_move_pbu_pba_carry_flow_identification_with_traffic_selector(tmp_path):
    """Figure 6: the PBU/PBA that move flow2 carry the Flow Identification option (RFC 6089, type 45) with a
    Traffic Selector sub-option (RFC 6088 IPv6 binary: CN address -> MN address, ports, UDP); the handover PBUs of
    Figure 5 (whole prefix) carry none. tshark names the option."""
    trace = engine_trace("fig6-multi-interface")
    pairs = _pairs(trace)
    flow_pbus = [(p, e) for p, e in pairs if e["kind"] in ("PBU", "PBA") and e.get("flow")]
    assert [e["kind"] for _, e in flow_pbus][:2] == ["PBU", "PBA"]
    down = next(e for e in trace["events"] if e["kind"] == "DATA" and e["flow"] == "flow2" and e["direction"] == "down")
    for pkt, ev in flow_pbus:
        data = _flow_identification(bytes(pkt.payload))
        assert data is not None, ev
        fid, pri, _reserved, status = struct.unpack_from("!HHBB", data)
        assert fid == pri >= 1 and status == 0
        sub_type, sub_len, ts_format, _, flags = struct.unpack_from("!BBBBH", data, 6)
        assert (sub_type, ts_format, sub_len) == (3, 2, len(data) - 8)
        assert flags == 0x8000 | 0x2000 | 0x0080 | 0x0020 | 0x0002  # A, C, I, K, O
        ts = data[14:]
        assert ipaddress.IPv6Address(ts[:16]) == ipaddress.IPv6Address(down["inner_src"])
        assert ipaddress.IPv6Address(ts[16:32]) == ipaddress.IPv6Address(down["inner_dst"])
        sport, dport, nh = struct.unpack_from("!HHB", ts, 32)
        assert (sport, dport, nh) == (50000 + fid, 40000 + fid, 17)
    for pkt, ev in _pairs(engine_trace("fig5-handover")):
        if ev["kind"] in ("PBU", "PBA"):
            assert _flow_identification(bytes(pkt.payload)) is None
    path = tmp_path / "fig6.pcap"
    path.write_bytes(export("pcap", trace))
    verbose = tshark(path, "-Y", "mipv6", "-V")
    assert verbose.count("Mobility Option: Flow Identification (45)") == len(flow_pbus)
    expert = tshark(path, "-q", "-z", "expert")
    assert "Warns" not in expert and "Errors" not in expert and "Malformed" not in verbose


def test_client_dmm_deregistrations_export(tmp_path):
    """A lifetime-0 BU always names its care-of address. Away from home (the flow ended) it is the address the MN has
    at its current router, and the BU goes from it with a Home Address option; back at the home agent the care-of
    address is the home address itself (RFC 6275 §11.5.4), and the BA comes straight back to it. The CLI exits 0."""
    trace = _trace(RETURN_HOME)
    deregs = [e for e in trace["events"] if e["kind"] == "BU" and e["lifetime"] == 0]
    assert len(deregs) == 2
    pairs = _pairs(trace)
    by_id = {e["id"]: p for p, e in pairs}
    away, home = deregs
    assert away["care_of_address"] == "2001:db8:3:1::1"
    assert home["care_of_address"] == home["home_address"]
    pkt = by_id[away["id"]]
    assert pkt.src == "2001:db8:3:1::1" and pkt.nh == 60  # MAR3's prefix, Home Address destination option
    pkt = by_id[home["id"]]
    assert pkt.src == home["home_address"] and pkt.nh == 135  # from home: no option needed
    ba = next(p for p, e in pairs if e["kind"] == "BA" and e["sequence"] == home["sequence"])
    assert ba.dst == home["home_address"] and ba.nh == 135  # no type 2 routing header
    path = tmp_path / "rh.pcap"
    path.write_bytes(export("pcap", trace))
    rows = tshark(path, "-Y", "mip6.bu.lifetime == 0", "-T", "fields", "-e", "ipv6.src").split()
    assert rows == ["2001:db8:3:1::1", home["home_address"]]
    expert = tshark(path, "-q", "-z", "expert")
    assert "Warns" not in expert and "Errors" not in expert


def test_client_dmm_deregistration_from_the_cli(tmp_path):
    """`run --export pcap` of a return-home run exits 0 (it used to exit 2: "BU id ... needs care_of_address")."""
    scenario = tmp_path / "rh.json"
    scenario.write_text(json.dumps(RETURN_HOME))
    out = tmp_path / "rh.pcap"
    result = subprocess.run([sys.executable, "-m", "simulator", "run", str(scenario), "--export", "pcap", "-o",
                             str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"\xd4\xc3\xb2\xa1")


def test_engine_flow_fields_are_what_goes_on_the_wire(tmp_path):
    """When the engine names the flow binding itself (flow_id, flow_priority, flow_status, traffic_selector: the fields
    H-faults' engine emits), the Flow Identification option carries exactly those, the selector in its direction."""
    trace = engine_trace("fig6-multi-interface")
    down = next(e for e in trace["events"] if e["kind"] == "DATA" and e["flow"] == "flow2" and e["direction"] == "down")
    for ev in trace["events"]:
        if ev["kind"] in ("PBU", "PBA") and ev.get("flow"):
            ev.update(flow_id=7, flow_priority=3,
                      traffic_selector={"ts_format": 2, "source_address": down["inner_dst"],
                                        "destination_address": down["inner_src"], "next_header": 17})
            if ev["kind"] == "PBA":
                ev["flow_status"] = 129
    pairs = _pairs(trace)
    flow = [(p, e) for p, e in pairs if e["kind"] in ("PBU", "PBA") and e.get("flow")]
    assert flow
    for pkt, ev in flow:
        data = _flow_identification(bytes(pkt.payload))
        fid, pri, _, status = struct.unpack_from("!HHBB", data)
        assert (fid, pri, status) == (7, 3, 129 if ev["kind"] == "PBA" else 0)
        ts = data[14:]
        assert ipaddress.IPv6Address(ts[:16]) == ipaddress.IPv6Address(down["inner_dst"])  # the MN's address first
        assert ipaddress.IPv6Address(ts[16:32]) == ipaddress.IPv6Address(down["inner_src"])
        sport, dport, nh = struct.unpack_from("!HHB", ts, 32)
        assert (sport, dport, nh) == (40002, 50002, 17)  # flow2 uplink: MN port 40000+k to CN port 50000+k
    path = tmp_path / "fig6.pcap"
    path.write_bytes(export("pcap", trace))
    expert = tshark(path, "-q", "-z", "expert")
    assert "Warns" not in expert and "Errors" not in expert


def test_heartbeat_is_an_rfc_5847_mobility_header(tmp_path):
    """A HEARTBEAT message (a recovered node telling its peers, RFC 5847) is a Mobility Header type 13 with the U/R
    flags, the 32-bit sequence number and the Restart Counter option, which tshark decodes with a right checksum."""
    trace = engine_trace("fig5-handover")
    last = trace["events"][-1]
    trace["events"].append({"seq": last["seq"] + 1, "id": 10_000, "t": last["t"], "arrive": last["t"] + 0.002,
                            "kind": "HEARTBEAT", "src": "MAR1", "dst": "MAR2", "restart_counter": 3, "flags": "U",
                            "sequence": 41})
    path = tmp_path / "hb.pcap"
    path.write_bytes(export("pcap", trace))
    row = tshark(path, "-Y", "mip6.mhtype == 13", "-T", "fields", "-E", "separator=|", "-e", "mip6.hb.u_flag",
                 "-e", "mip6.hb.r_flag", "-e", "mip6.hb.seqnr", "-e", "mip6.rc", "-e", "ipv6.src", "-e", "ipv6.dst")
    u, r, *rest = [v.strip() for v in row.split("|")]
    assert (u in ("1", "True"), r in ("0", "False")) == (True, True)
    assert rest == ["41", "3", "2001:db8:ffff:1::1", "2001:db8:ffff:1::2"]
    expert = tshark(path, "-q", "-z", "expert")
    assert "Warns" not in expert and "Errors" not in expert and "Malformed" not in tshark(path)
    raw = records(export("pcap", trace))[-1][1]
    mh = raw[40:]
    assert (mh[0], mh[2], (mh[1] + 1) * 8) == (59, 13, len(mh))
    pseudo = raw[8:40] + struct.pack("!IxxxB", len(mh), 135)
    data = pseudo + mh
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    assert total == 0xFFFF  # the Mobility Header checksum is right


def test_attempt_numbers_count_as_retransmissions():
    """The engine numbers transmissions (`attempt`: 1 first, 2.. again): the metrics count attempt > 1."""
    sim = Simulation(load_scenario(copy.deepcopy(RETURN_HOME)), mode="network-dmm")
    sim.run(10.0)
    trace = sim.trace()
    pbus = [e for e in trace["events"] if e["kind"] == "PBU"]
    assert pbus
    for n, ev in enumerate(pbus):
        ev["attempt"] = 2 if n == 0 else 1
    assert compute_metrics(trace, sim.scenario)["retransmissions"] == {"PBU": 1}
