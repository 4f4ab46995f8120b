"""The packet capture: what tshark decodes, byte layout, checksums, the address plan."""

from __future__ import annotations

import ipaddress
import json
import struct
import subprocess

import pytest
from scapy.layers.inet6 import UDP, IPv6
from scapy.packet import Raw

from simulator.export import ExportError, export
from simulator.export.pcap import DB_PORT, _udp, mobility_options

from .conftest import RUNS, engine_trace, need

MH_FIELDS = ["frame.time_epoch", "ipv6.src", "ipv6.dst", "mip6.mhtype", "mip6.bu.seqnr", "mip6.bu.a_flag",
             "mip6.bu.h_flag", "mip6.bu.p_flag", "mip6.bu.lifetime", "mip6.ba.status", "mip6.ba.seqnr",
             "mip6.ba.p_flag", "mip6.ba.lifetime", "mip6.mnid.identifier", "mip6.nemo.mnp.mnp",
             "mip6.nemo.mnp.pfl", "mip6.hi", "mip6.att"]


def records(pcap: bytes) -> list[tuple[float, bytes]]:
    """(timestamp, packet) of each record of a classic little-endian pcap."""
    magic, _, _, _, _, _, linktype = struct.unpack_from("<IHHiIII", pcap)
    assert (magic, linktype) == (0xA1B2C3D4, 101)
    out, pos = [], 24
    while pos < len(pcap):
        sec, usec, incl, orig = struct.unpack_from("<IIII", pcap, pos)
        assert incl == orig
        out.append((sec + usec / 1e6, pcap[pos + 16 : pos + 16 + incl]))
        pos += 16 + incl
    return out


def tshark(path, *args: str) -> str:
    result = subprocess.run([need("tshark"), "-r", str(path), *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def message_events(trace: dict) -> list[dict]:
    return [e for e in trace["events"] if e["kind"][:1].isupper()]


@pytest.mark.parametrize(("name", "mode"), RUNS)
def test_tshark_decodes_every_packet_without_warnings(tmp_path, name, mode):
    """Wireshark's dissectors read every packet: no malformed packet, no expert warning or error (UDP checksums on)."""
    trace = engine_trace(name, mode=mode)
    path = tmp_path / f"{name}.pcap"
    path.write_bytes(export("pcap", trace))
    expert = tshark(path, "-o", "udp.check_checksum:TRUE", "-q", "-z", "expert")
    assert "Warns" not in expert and "Errors" not in expert, expert
    summary = tshark(path).splitlines()
    assert len(summary) == len(message_events(trace))
    assert not [line for line in summary if "Malformed" in line]


def test_tshark_expert_check_can_fail(tmp_path):
    """The check above can fail: a truncated Binding Update is reported."""
    pcap = bytearray(export("pcap", engine_trace("fig5-handover")))
    first = next(i for i, (_, p) in enumerate(records(bytes(pcap))) if p[6] == 135)
    pos = 24
    for _, packet in records(bytes(pcap))[:first]:
        pos += 16 + len(packet)
    struct.pack_into("<II", pcap, pos + 8, 50, 50)  # cut the BU short
    path = tmp_path / "bad.pcap"
    path.write_bytes(bytes(pcap[: pos + 16 + 50]))
    assert "Malformed" in tshark(path, "-q", "-z", "expert")


@pytest.mark.parametrize("name", ["fig5-handover", "fig4-three-mars", "centralized-baseline"])
def test_tshark_pbu_pba_fields_equal_the_trace(tmp_path, name):
    """Flags, sequence, lifetime (4 s units), status, HNP, MN-ID, HI and ATT as decoded by tshark match the trace."""
    trace = engine_trace(name)
    path = tmp_path / "run.pcap"
    path.write_bytes(export("pcap", trace))
    fields = [arg for f in MH_FIELDS for arg in ("-e", f)]
    out = tshark(path, "-Y", "mipv6", "-T", "fields", "-E", "separator=|", *fields)
    rows = [dict(zip(MH_FIELDS, line.split("|"), strict=True)) for line in out.splitlines()]
    expected = [e for e in trace["events"] if e["kind"] in ("PBU", "PBA")]
    assert len(rows) == len(expected) > 0
    for row, ev in zip(rows, expected, strict=True):
        assert float(row["frame.time_epoch"]) == pytest.approx(ev["t"], abs=1e-6)
        assert row["mip6.mnid.identifier"] == ev["mn_id"]
        prefixes = ev["hnps"] or ["::/0"]  # RFC 5213 §8.1: ALL_ZERO asks the LMA for a prefix
        assert row["mip6.nemo.mnp.mnp"].split(",") == [str(ipaddress.IPv6Network(p).network_address) for p in prefixes]
        assert row["mip6.nemo.mnp.pfl"].split(",") == [str(ipaddress.IPv6Network(p).prefixlen) for p in prefixes]
        assert int(row["mip6.hi"]) == ev["handoff_indicator"]
        assert int(row["mip6.att"]) == ev["att"]
        if ev["kind"] == "PBU":
            assert row["mip6.mhtype"] == "5"
            assert int(row["mip6.bu.seqnr"]) == ev["sequence"]
            assert int(row["mip6.bu.lifetime"]) * 4 == ev["lifetime"]
            flags = {f: row[f"mip6.bu.{f.lower()}_flag"] in ("1", "True") for f in "AHP"}
            assert flags == {f: f in ev["flags"] for f in "AHP"}
        else:
            assert row["mip6.mhtype"] == "6"
            assert int(row["mip6.ba.status"]) == ev["status"]
            assert int(row["mip6.ba.seqnr"]) == ev["sequence"]
            assert int(row["mip6.ba.lifetime"]) * 4 == ev["lifetime"]
            assert row["mip6.ba.p_flag"] in ("1", "True")


def test_client_dmm_bu_ba_home_address_and_routing_header(tmp_path):
    """Client-based BU: from the care-of address with a Home Address option; BA: to it, with a type 2 routing header."""
    trace = engine_trace("fig2-client-dmm")
    path = tmp_path / "run.pcap"
    path.write_bytes(export("pcap", trace))
    bu = next(e for e in trace["events"] if e["kind"] == "BU")
    out = tshark(path, "-Y", "mipv6", "-T", "fields", "-E", "separator=|", "-e", "mip6.mhtype", "-e", "ipv6.src",
                 "-e", "ipv6.dst", "-e", "ipv6.opt.mipv6.home_address",
                 "-e", "ipv6.routing.type", "-e", "mip6.bu.h_flag", "-e", "mip6.bu.p_flag")
    rows = [line.split("|") for line in out.splitlines()]
    assert rows[0][0] == "5" and bu["care_of_address"] in rows[0][1] and rows[0][3] == bu["home_address"]
    assert rows[0][6] in ("0", "False")  # no P flag: the MN registers itself
    assert rows[1][0] == "6" and rows[1][2] == bu["care_of_address"] and rows[1][4] == "2"


def test_one_record_per_message_at_its_send_time(fig5):
    """Every message event is one record, in trace order, stamped with its simulated send time."""
    recs = records(export("pcap", fig5))
    msgs = message_events(fig5)
    assert [round(t, 6) for t, _ in recs] == [round(e["t"], 6) for e in msgs]
    assert all(p[0] >> 4 == 6 for _, p in recs)


def test_checksums_recomputed_by_scapy_agree(fig5, handmade):
    """Mobility Header, ICMPv6 and UDP checksums, inner and outer, are what scapy computes afresh."""
    checked: dict[str, int] = {}
    for trace in (fig5, engine_trace("fig2-client-dmm"), handmade):
        for _, raw in records(export("pcap", trace)):
            if raw[6] == 60:  # a BU with a Home Address option: scapy's re-dissection loses the option's role
                assert _mh_checksum_with_home_address(raw)
                checked["Home Address BU"] = checked.get("Home Address BU", 0) + 1
                continue
            pkt = IPv6(raw)
            layer = pkt
            while layer:
                for field in ("cksum", "chksum"):
                    if field in layer.fields:
                        setattr(layer, field, None)  # scapy recomputes it on build
                        checked[layer.name] = checked.get(layer.name, 0) + 1
                if "autopad" in layer.fields or hasattr(layer, "autopad"):
                    layer.autopad = 0  # keep the Pad1/PadN options as they were on the wire
                layer = layer.payload
            assert bytes(pkt) == raw, pkt.summary()
    names = " ".join(checked)
    assert "UDP" in names and "Binding Update" in names and "Binding ACK" in names and "Router Advertisement" in names


def _mh_checksum_with_home_address(raw: bytes) -> bool:
    """RFC 6275 §6.3: the pseudo-header of a packet with a Home Address option uses the home address as source."""
    ext_len = (raw[41] + 1) * 8
    options = raw[42 : 40 + ext_len]
    at = options.find(bytes((0xC9, 16)))  # Home Address option: type 201, length 16
    home, mh = options[at + 2 : at + 18], raw[40 + ext_len :]
    pseudo = home + raw[24:40] + struct.pack("!IxxxB", len(mh), 135)
    data = pseudo + mh  # the checksum field included: a right sum comes to 0xffff
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def test_hand_built_udp_is_byte_equal_to_scapy():
    """The fast UDP path for data and DB packets builds exactly what scapy builds."""
    src, dst = "2001:db8:ca5e::1", "2001:db8:1:1::1"
    for payload in (b"", b"x", b"dmmviz flow1 down packet 7 " + bytes(73)):
        ours = _udp(ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed, 50001, 40001, payload)
        theirs = bytes(IPv6(src=src, dst=dst, hlim=64) / UDP(sport=50001, dport=40001) / Raw(payload))
        assert ours == theirs


def test_mobility_options_alignment_and_padding():
    """RFC 6275 §6.2: HNP at 8n+4, Timestamp at 8n+2, PadN/Pad1 before them, the header a multiple of 8 octets."""
    hnp = ((22, 8, 4), bytes(18))
    ts = ((27, 8, 2), bytes(8))
    hi = ((23, 0, 0), bytes(2))
    encoded = mobility_options([hi, hnp, ts])
    # offsets from the start of the Mobility Header; options start at 12
    assert encoded[0] == 23  # HI at 12: no alignment
    assert encoded[4:6] == bytes((1, 2)) and encoded[8] == 22  # PadN of 4 octets, HNP at 20 = 8*2+4
    assert encoded[28:30] == bytes((1, 0)) and encoded[30] == 27  # HNP ends at 40: PadN of 2, Timestamp at 42 = 8*5+2
    assert (12 + len(encoded)) % 8 == 0 and encoded[40:] == bytes((1, 2, 0, 0))  # 52 -> 56 with a PadN of 4
    assert mobility_options([((23, 0, 0), bytes(2)), ((24, 0, 0), bytes(2))])[-1] == 0  # padded with Pad1/PadN
    assert (12 + len(mobility_options([]))) % 8 == 0


def test_pbu_bytes(fig5):
    """The PBU's Mobility Header: type 5, A/H/P set, lifetime in 4 s units, options in RFC order, Timestamp 48.16."""
    pbu_ev = next(e for e in fig5["events"] if e["kind"] == "PBU")
    packet = next(p for _, p in records(export("pcap", fig5)) if p[6] == 135)
    mh = packet[40:]
    assert (mh[0], mh[2]) == (59, 5)  # no next header; BU
    assert (mh[1] + 1) * 8 == len(mh)
    seq, flags, lifetime = struct.unpack_from("!HHH", mh, 6)
    assert seq == pbu_ev["sequence"] and lifetime * 4 == pbu_ev["lifetime"]
    assert flags & 0x8000 and flags & 0x4000 and flags & 0x0200  # A, H, P (RFC 5213 §8.1)
    assert not flags & 0x2000  # L clear
    pos, types = 12, []
    while pos < len(mh):
        otype = mh[pos]
        if otype == 0:
            pos += 1
            continue
        if otype == 22:
            assert pos % 8 == 4
        if otype == 27:
            assert pos % 8 == 2
            stamp = int.from_bytes(mh[pos + 2 : pos + 10], "big")
            assert stamp / 65536 == pytest.approx(pbu_ev["timestamp"], abs=1 / 65536)
        types.append(otype)
        pos += 2 + mh[pos + 1]
    assert [t for t in types if t != 1] == [8, 22, 23, 24, 27]


def test_address_plan_and_link_local_router(fig5):
    """MARs and the DB get 2001:db8:ffff:<role>::<n>; RS goes to ff02::2, RA comes from the shared fe80::1."""
    recs = [IPv6(p) for _, p in records(export("pcap", fig5))]
    msgs = message_events(fig5)
    by_kind = {}
    for pkt, ev in zip(recs, msgs, strict=True):
        by_kind.setdefault(ev["kind"], (pkt, ev))
    pkt, _ = by_kind["PBU"]
    assert (pkt.src, pkt.dst) == ("2001:db8:ffff:1::2", "2001:db8:ffff:1::1")  # MAR2 -> MAR1
    pkt, _ = by_kind["RS"]
    assert (pkt.src, pkt.dst, pkt.hlim) == ("fe80::1:1", "ff02::2", 255)
    ras = [(pkt, ev) for pkt, ev in zip(recs, msgs, strict=True) if ev["kind"] == "RA"]
    assert {pkt.src for pkt, _ in ras} == {"fe80::1"}  # RFC 5213 §6.9.3: the MN never sees its router change
    pkt, ev = ras[-1]
    options = []
    layer = pkt.payload.payload
    while layer and layer.name.startswith("ICMPv6 Neighbor Discovery Option - Prefix"):
        options.append({"prefix": f"{layer.prefix}/{layer.prefixlen}", "preferred_lifetime": layer.preferredlifetime,
                        "valid_lifetime": layer.validlifetime})
        layer = layer.payload
    assert options == ev["prefixes"]


def test_data_udp_and_tunnel_ipv6_in_ipv6(fig5):
    """Native data is UDP between the inner addresses; tunnelled data has an outer MAR-to-MAR header (next header
    41)."""
    for pkt_bytes, ev in zip((p for _, p in records(export("pcap", fig5))), message_events(fig5), strict=True):
        if ev["kind"] != "DATA":
            continue
        pkt = IPv6(pkt_bytes)
        if ev["encapsulated"]:
            assert pkt.nh == 41
            assert {pkt.src, pkt.dst} == {"2001:db8:ffff:1::1", "2001:db8:ffff:1::2"}
            pkt = pkt.payload
        assert (pkt.src, pkt.dst) == (ev["inner_src"], ev["inner_dst"])
        assert isinstance(pkt.payload, UDP) and len(pkt.payload.payload) == ev["size"]


def test_db_messages_are_udp_json(fig5):
    """Session-DB messages are UDP to port 7333 carrying the documented JSON."""
    pairs = [(IPv6(p), e) for (_, p), e in zip(records(export("pcap", fig5)), message_events(fig5), strict=True)]
    reply_pkt, reply = next((p, e) for p, e in pairs if e["kind"] == "DB_REPLY" and e["dst"] == "MAR2")
    assert reply_pkt.src == "2001:db8:ffff:3::1" and reply_pkt[UDP].dport == DB_PORT
    body = json.loads(bytes(reply_pkt[UDP].payload))
    assert body == {"msg": "DB_REPLY", "mn": "MN1", "entries": [
        {"hnp": e["hnp"], "anchor": e["anchor"], "anchor_address": f"2001:db8:ffff:1::{e['anchor'][-1]}",
         "interface": e["interface"]} for e in reply["entries"]]}


def test_window_and_nodes_options(fig5):
    """start/end keep the messages sent in the window; nodes keeps those from or to the chosen nodes."""
    recs = records(export("pcap", fig5, options={"start": 5.0, "end": 5.1, "nodes": ["DB"]}))
    expected = [e for e in message_events(fig5) if 5.0 <= e["t"] <= 5.1 and "DB" in (e["src"], e["dst"])]
    assert len(recs) == len(expected) > 0
    assert len(expected) < len([e for e in message_events(fig5) if 5.0 <= e["t"] <= 5.1])
    with pytest.raises(ExportError, match="unknown node 'XYZ'"):
        export("pcap", fig5, options={"nodes": ["XYZ"]})


def test_unencodable_message_is_named():
    """A message kind with no packet format fails with the kind and the event id."""
    trace = {"format": "dmmviz-trace/1", "nodes": {"MAR1": "mar", "MAR2": "mar"}, "events": [
        {"id": 7, "t": 0.0, "arrive": 0.1, "kind": "HELLO", "src": "MAR1", "dst": "MAR2"}]}
    with pytest.raises(ExportError, match="no packet format for message kind 'HELLO' \\(event id 7\\)"):
        export("pcap", trace)


def test_tunnel_end_addresses_from_the_trace_are_used_everywhere(handmade):
    """When the trace gives a tunnel's outer addresses, the PBU/PBA use the same addresses for those MARs."""
    recs = records(export("pcap", handmade))
    pairs = [(IPv6(p), e) for (_, p), e in zip(recs, message_events(handmade), strict=True)]
    tunnelled = next(p for p, e in pairs if e["kind"] == "DATA" and e["encapsulated"])
    assert {tunnelled.src, tunnelled.dst} == {"2001:db8:1::1", "2001:db8:2::1"}  # outer_src/outer_dst of the trace
    pbu = next(p for p, e in pairs if e["kind"] == "PBU")
    assert (pbu.src, pbu.dst) == ("2001:db8:2::1", "2001:db8:1::1")
    db = next(p for p, e in pairs if e["kind"] == "DB_QUERY")
    assert db.dst == "2001:db8:ffff:3::1"  # nodes the trace gives no address for keep the plan's
