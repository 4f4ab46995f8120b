"""Packet capture of a run: every message event becomes one byte-accurate IPv6 packet, stamped with its send time.

The capture is a classic pcap file (microsecond timestamps, simulated seconds since the epoch, so Wireshark shows
1970-01-01 00:00:t) with link type LINKTYPE_RAW (101): each record is a bare IPv6 packet. Which packet each kind
of message becomes, the address plan and the session-DB payload are documented in docs/exports.md; in short:

- RS / RA: ICMPv6 (RFC 4861) on the access link, from the MN's link-local address to ff02::2 and back from
  fe80::1, the link-local address every MAR shares (RFC 5213 §6.9.3; in client-dmm each router has its own);
  RA prefix information options carry the trace's valid and preferred lifetimes; Router Preference medium (RFC 4191
  §2.2, the default: scapy's own default would be high).
- PBU / PBA (RFC 5213 §8.1, §8.2): Mobility Header BU/BA with P=1 from the serving MAR's address to the anchor's
  and back, with the MN Identifier, Home Network Prefix, Handoff Indicator, Access Technology Type and Timestamp
  options, aligned and padded as RFC 6275 §6.2 says; a per-flow PBU/PBA (seed Figure 6) adds the Flow
  Identification option (RFC 6089, type 45) with a Traffic Selector sub-option (RFC 6088) naming the flow's packets.
  BU / BA (client-dmm, RFC 6275): the MN's own BU from its care-of address with a Home Address destination option;
  the BA back with a type 2 routing header. A de-registration back home is sent from the home address, which is
  then also its care-of address (RFC 6275 §11.5.4), with neither.
- DATA: UDP; tunnelled segments wrapped in an outer IPv6 header (IPv6-in-IPv6, next header 41) between the MARs.
  Hop limits as a router would leave them (RFC 8200 §3, RFC 2473 §3): the inner packet leaves its origin with 64
  and loses one at every router that forwards it (the tunnel entry and the exit too); the outer header leaves the
  tunnel entry with 64 and loses one at every router that relays it inside the tunnel.
- DB_QUERY / DB_REPLY / DB_UPDATE: UDP port 7333 with a JSON payload.

Mobility and ICMPv6 packets are built with scapy. Data and DB packets, the bulk of a run, are plain IPv6 + UDP
built here with struct, because scapy takes about 0.4 ms a packet; a test holds them byte-equal to scapy's.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
import re
import struct
from typing import Any

from scapy.layers.inet6 import (
    HAO,
    MIP6MH_BA,
    MIP6MH_BU,
    ICMPv6ND_RA,
    ICMPv6ND_RS,
    ICMPv6NDOptPrefixInfo,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrRouting,
)
from scapy.packet import Raw

from .sequence import ExportError, check_options, check_trace, in_window, is_message, node_roles

LINKTYPE_RAW = 101  # a bare IP packet per record (Wireshark: "Raw IP")
SNAPLEN = 65535
DB_PORT = 7333  # session-DB messages, both ends (unassigned by IANA; RFC 7333 is the DMM requirements)
MN_PORT_BASE, CN_PORT_BASE = 40000, 50000  # flow k (numbered in order of appearance) uses 40000+k <-> 50000+k
INFRA_PREFIX = "2001:db8:ffff"  # infrastructure addresses: 2001:db8:ffff:<role>::<n>
ROLE_SUBNET = {"mar": 1, "anchor": 2, "db": 3}
MAG_LINK_LOCAL = "fe80::1"  # RFC 5213 §6.9.3: every MAG uses the same link-local address on the access link
ALL_ROUTERS = "ff02::2"
HOP_LIMIT, ND_HOP_LIMIT = 64, 255  # RFC 4861 §6.1: ND messages must arrive with hop limit 255
ROUTER_LIFETIME = 1800  # RFC 4861 §6.2.1 default AdvDefaultLifetime: 3 x MaxRtrAdvInterval (600 s)
INFINITE = 0xFFFFFFFF
DEFAULT_ATT = 4  # IEEE 802.11a/b/g (RFC 5213 §8.5)
DEFAULT_SIZE = 100
PRF_MEDIUM = 0  # RFC 4191 §2.2 Router Preference: 00 medium (the default), 01 high, 11 low
FID_REJECTED = 128  # RFC 6089 §4.2 Flow Identification status in a PBA that refused the flow binding

# Mobility options: (type, alignment x, y): the option must start at an offset of x*n + y from the start of the
# Mobility Header (RFC 6275 §6.2; RFC 5213 §8.3-§8.8; RFC 4283 §3).
OPT_PAD1, OPT_PADN = 0, 1
OPT_MN_ID = (8, 0, 0)
OPT_HNP = (22, 8, 4)
OPT_HI = (23, 0, 0)
OPT_ATT = (24, 0, 0)
OPT_TIMESTAMP = (27, 8, 2)
OPT_FLOW_ID = (45, 2, 0)  # RFC 6089 §4.2: FID, FID-PRI, Reserved, Status, sub-options; 2n alignment
OPT_RESTART_COUNTER = (28, 4, 2)  # RFC 5847 §3.3: a 32-bit restart counter; 4n+2 alignment
MH_HEARTBEAT = 13  # RFC 5847 §3.2 Mobility Header type
FID_SUB_TRAFFIC_SELECTOR = 3  # RFC 6089 §4.2.2 sub-option types: 0 Pad1, 1 PadN, 2 Binding Reference, 3 TS
TS_FORMAT_IPV6 = 2  # RFC 6088 §3: 1 IPv4 binary, 2 IPv6 binary traffic selector
TS_START_SRC, TS_START_DST, TS_START_SPORT, TS_START_DPORT, TS_START_NH = 0x8000, 0x2000, 0x0080, 0x0020, 0x0002
UDP_NH = 17
MH_FIXED = 12  # BU and BA bodies both end 12 octets into the Mobility Header: options start there
NAI_SUBTYPE = 1  # RFC 4283: MN Identifier subtype 1, Network Access Identifier
BU_FLAGS, BA_FLAGS = "AHLKMRP", "KRP"


def _natural(node: str) -> tuple[int | str, ...]:
    """Sort key that puts MAR2 before MAR10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", node))


class AddressPlan:
    """Deterministic IPv6 addresses for the nodes of a run (docs/exports.md, "Address plan").

    - MARs, anchors (the LMA) and the session DB: 2001:db8:ffff:<1 MAR, 2 LMA, 3 DB>::<n>, n counting from 1 in
      natural order of the ids of that role (MAR1 -> 2001:db8:ffff:1::1, DB -> 2001:db8:ffff:3::1).
    - A mobile node on an access link: fe80::<m>:<i>, m the MN's number in order of appearance, i the interface's.
    - A mobile node's global addresses and the correspondent nodes' come from the trace (DATA inner_src/inner_dst,
      BU home/care-of address); where the trace gives none, <HNP>::1.
    - Where the trace gives a tunnel end's address (DATA outer_src/outer_dst), that address is the node's.
    """

    def __init__(self, events: list[dict[str, Any]], roles: dict[str, str]) -> None:
        self.roles = roles
        self.infra: dict[str, str] = {}
        for role, subnet in ROLE_SUBNET.items():
            for n, node in enumerate(sorted((x for x, r in roles.items() if r == role), key=_natural), start=1):
                self.infra[node] = f"{INFRA_PREFIX}:{subnet}::{n}"
        # Addresses the trace itself gives for a tunnel's ends (DATA outer_src/outer_dst) win over the plan.
        for ev in events:
            if ev["kind"] == "DATA" and ev.get("encapsulated"):
                for end in ("src", "dst"):
                    if roles.get(ev[end]) in ROLE_SUBNET and isinstance(ev.get(f"outer_{end}"), str):
                        self.infra[ev[end]] = ev[f"outer_{end}"]
        self.mn_number: dict[str, int] = {}
        self.if_number: dict[tuple[str, str], int] = {}
        self.flow_number: dict[str, int] = {}
        for ev in events:
            mn = ev.get("mn")
            if isinstance(mn, str):
                self.mn_number.setdefault(mn, len(self.mn_number) + 1)
                iface = ev.get("interface")
                if isinstance(iface, str) and (mn, iface) not in self.if_number:
                    self.if_number[(mn, iface)] = sum(1 for m, _ in self.if_number if m == mn) + 1
            flow = ev.get("flow")
            if isinstance(flow, str):
                self.flow_number.setdefault(flow, len(self.flow_number) + 1)

    def node(self, node: str) -> str:
        try:
            return self.infra[node]
        except KeyError:
            role = self.roles.get(node, "unknown role")
            raise ExportError(f"pcap: {node!r} ({role}) has no address in the plan") from None

    def router_link_local(self, router: str, mode: str | None) -> str:
        """The access router's link-local address: fe80::1 on every MAG (RFC 5213 §6.9.3); in client-dmm, where
        the MN must see its router change to notice a move (RFC 6275 §11.5.1), fe80::ff:0:<n> per router."""
        if mode != "client-dmm":
            return MAG_LINK_LOCAL
        return f"fe80::ff:0:{self.node(router).rsplit(':', 1)[1]}"

    def link_local(self, mn: str, interface: str | None) -> str:
        m = self.mn_number.get(mn, 0)
        i = self.if_number.get((mn, interface or ""), 1)
        return f"fe80::{m:x}:{i:x}"

    def ports(self, flow: str | None, direction: str) -> tuple[int, int]:
        k = self.flow_number.get(flow or "", 0)
        mn_port, cn_port = MN_PORT_BASE + k, CN_PORT_BASE + k
        return (cn_port, mn_port) if direction == "down" else (mn_port, cn_port)


@functools.lru_cache(maxsize=4096)
def _ip(address: str) -> bytes:
    try:
        return ipaddress.IPv6Address(address).packed
    except ValueError:
        raise ExportError(f"pcap: {address!r} is not an IPv6 address") from None


def _host(prefix: str, iid: int = 1) -> str:
    """<prefix>::iid, e.g. 2001:db8:1:1::/64 -> 2001:db8:1:1::1."""
    try:
        net = ipaddress.IPv6Network(prefix, strict=False)
    except ValueError:
        raise ExportError(f"pcap: {prefix!r} is not an IPv6 prefix") from None
    return str(net.network_address + iid)


# ---------------------------------------------------------------------------------------------------------------
# IPv6 + UDP by hand (checked against scapy in tests/exports/test_pcap.py)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def _ipv6(src: bytes, dst: bytes, next_header: int, payload: bytes, hop_limit: int = HOP_LIMIT) -> bytes:
    return struct.pack("!IHBB", 6 << 28, len(payload), next_header, hop_limit) + src + dst + payload


def _udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, hop_limit: int = HOP_LIMIT) -> bytes:
    """IPv6 + UDP datagram with the checksum over the RFC 8200 §8.1 pseudo-header."""
    length = 8 + len(payload)
    pseudo = src + dst + struct.pack("!IxxxB", length, 17)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    checksum = _checksum(pseudo + header + payload) or 0xFFFF  # RFC 8200 §8.1: zero is sent as 0xffff
    return _ipv6(src, dst, 17, struct.pack("!HHHH", sport, dport, length, checksum) + payload, hop_limit)


# ---------------------------------------------------------------------------------------------------------------
# Mobility options (RFC 6275 §6.2)


def mobility_options(options: list[tuple[tuple[int, int, int], bytes]], start: int = MH_FIXED) -> bytes:
    """Encode options [((type, x, y), data), ...] starting `start` octets into the Mobility Header.

    Each option is preceded by the Pad1/PadN its alignment x*n+y needs, and the whole Mobility Header is padded to a
    multiple of 8 octets (RFC 6275 §6.1.1).
    """
    out = bytearray()
    pos = start
    for (otype, x, y), data in options:
        if len(data) > 255:
            raise ExportError(f"pcap: mobility option {otype} is {len(data)} octets, more than 255")
        if x:
            out += _pad((y - pos) % x)
            pos = start + len(out)
        out += bytes((otype, len(data))) + data
        pos = start + len(out)
    out += _pad(-pos % 8)
    return bytes(out)


def _pad(n: int) -> bytes:
    if n == 0:
        return b""
    if n == 1:
        return bytes((OPT_PAD1,))
    return bytes((OPT_PADN, n - 2)) + bytes(n - 2)


def _hnp_option(prefix: str) -> tuple[tuple[int, int, int], bytes]:
    net = ipaddress.IPv6Network(prefix, strict=False)
    return OPT_HNP, bytes((0, net.prefixlen)) + net.network_address.packed


def _timestamp(seconds: float) -> bytes:
    """RFC 5213 §8.8: 48 bits of seconds since 1970-01-01 and 16 bits of 1/65536 fractions (not NTP's 1900 era)."""
    value = round(seconds * 65536)
    return value.to_bytes(8, "big")


def _flow_identification(fid: int, priority: int, status: int, src: str | None, dst: str | None,
                         ports: tuple[int, int], next_header: int = UDP_NH) -> bytes:
    """RFC 6089 §4.2 Flow Identification option data (FID, FID-PRI, Reserved, Status) with one Traffic Selector
    sub-option (RFC 6089 §4.2.2, RFC 6088 §3.2 IPv6 binary format): the flow's packets, from ``src`` and its port to
    ``dst`` and its port. Fields follow the flags in the order A, C, I, K, O of RFC 6088."""
    flags, fields = TS_START_DST | TS_START_SPORT | TS_START_DPORT | TS_START_NH, b""
    if src:
        flags |= TS_START_SRC
        fields += _ip(src)
    fields += _ip(dst) if dst else bytes(16)
    fields += struct.pack("!HHB", ports[0], ports[1], next_header)
    selector = struct.pack("!BBHH", TS_FORMAT_IPV6, 0, flags, 0) + fields
    sub = bytes((FID_SUB_TRAFFIC_SELECTOR, len(selector))) + selector
    return struct.pack("!HHBB", fid, priority, 0, status) + sub


def _pmip_options(ev: dict[str, Any], flow_id: bytes | None = None) -> bytes:
    hnps = ev.get("hnps") or []
    mn_id = ev.get("mn_id") or f"{ev.get('mn')}@dmmviz.example"
    options = [(OPT_MN_ID, bytes((NAI_SUBTYPE,)) + mn_id.encode("utf-8"))]
    # RFC 5213 §8.1: a PBU asking the LMA to assign the prefix carries one HNP option with ALL_ZERO (::/0).
    options += [_hnp_option(p) for p in hnps] if hnps else [_hnp_option("::/0")]
    options.append((OPT_HI, bytes((0, int(ev.get("handoff_indicator") or 4)))))  # 4: handoff state unknown
    options.append((OPT_ATT, bytes((0, int(ev.get("att") or DEFAULT_ATT)))))
    stamp = ev.get("timestamp")
    options.append((OPT_TIMESTAMP, _timestamp(stamp if isinstance(stamp, (int, float)) else ev["t"])))
    if flow_id is not None:
        options.append((OPT_FLOW_ID, flow_id))
    return mobility_options(options)


def _flags(ev: dict[str, Any], allowed: str) -> str:
    flags = ev.get("flags") or ""
    bad = [f for f in flags if f not in allowed]
    if bad:
        raise ExportError(f"pcap: {ev['kind']} id {ev.get('id')}: flag {bad[0]!r} is not one of {allowed}")
    return flags


def _lifetime_units(ev: dict[str, Any]) -> int:
    """Binding lifetime in the Mobility Header's units of 4 seconds (RFC 6275 §6.1.7), rounded up."""
    lifetime = ev.get("lifetime") or 0
    return min(0xFFFF, math.ceil(lifetime / 4))


# ---------------------------------------------------------------------------------------------------------------
# One packet per message kind


class _Builder:
    def __init__(self, events: list[dict[str, Any]], mode: str | None, roles: dict[str, str]) -> None:
        self.plan = AddressPlan(events, roles)
        self.mode = mode
        # Client-based mobility: the MN is a tunnel end, at its care-of address; the BA goes back there.
        self.anchor_of = {ev["hnp"]: ev.get("node") for ev in events if ev["kind"] == "hnp_allocated" and "hnp" in ev}
        self.bus: dict[tuple[str, str], list[tuple[float, str, str]]] = {}  # (mn, home agent) -> [(t, home, care-of)]
        self.bu_addresses: dict[object, tuple[str, str]] = {}  # BU id -> (home, care-of) when the trace gives none
        self.flow_addresses: dict[str, tuple[Any, Any]] = {}  # flow -> (CN address, MN address) of its downlink
        serving: dict[tuple[Any, Any], Any] = {}  # (mn, interface) -> the router it is attached to
        allocated: dict[tuple[Any, Any], str] = {}  # (mn, router) -> the latest prefix that router gave the MN
        for ev in events:
            kind = ev["kind"]
            if kind == "l2_attach":
                serving[(ev.get("mn"), ev.get("interface"))] = ev.get("node")
            elif kind == "l2_detach":
                serving[(ev.get("mn"), ev.get("interface"))] = None
            elif kind == "hnp_allocated" and isinstance(ev.get("hnp"), str):
                allocated[(ev.get("mn"), ev.get("node"))] = ev["hnp"]
            elif kind == "DATA" and ev.get("direction") == "down" and isinstance(ev.get("flow"), str):
                self.flow_addresses.setdefault(ev["flow"], (ev.get("inner_src"), ev.get("inner_dst")))
            elif kind == "BU":
                home, care_of = ev.get("home_address"), ev.get("care_of_address")
                if home and not care_of and not ev.get("lifetime"):
                    # A de-registration with no care-of address in the trace (RFC 6275 §11.7.1): back at the home
                    # agent the care-of address is the home address (§11.5.4); elsewhere it is the address the MN
                    # has from the router it is attached to now.
                    router = serving.get((ev["src"], ev.get("interface")))
                    if router == ev["dst"]:
                        care_of = home
                    elif (ev["src"], router) in allocated:
                        care_of = _host(allocated[(ev["src"], router)])
                    if care_of:
                        self.bu_addresses[ev.get("id")] = (home, care_of)
                if home and care_of:
                    self.bus.setdefault((ev["src"], ev["dst"]), []).append((ev["t"], home, care_of))
        self.hop_limits = _HopLimits(self.plan.roles)

    def _binding(self, mn: str, home_agent: str, t: float) -> tuple[str, str] | tuple[None, None]:
        """(home address, care-of address) of the MN's latest BU to that home agent sent by time t."""
        found: tuple[str, str] | tuple[None, None] = (None, None)
        for when, home, care_of in self.bus.get((mn, home_agent), []):
            if when <= t:
                found = (home, care_of)
        return found

    def packet(self, ev: dict[str, Any]) -> bytes:
        kind = ev["kind"]
        build = getattr(self, f"_{kind.lower()}", None)
        if build is None:
            raise ExportError(f"pcap: no packet format for message kind {kind!r} (event id {ev.get('id')})")
        return bytes(build(ev))

    def _mn_ll(self, ev: dict[str, Any], end: str) -> str:
        return self.plan.link_local(ev[end], ev.get("interface"))

    def _rs(self, ev: dict[str, Any]) -> bytes:
        return bytes(IPv6(src=self._mn_ll(ev, "src"), dst=ALL_ROUTERS, hlim=ND_HOP_LIMIT) / ICMPv6ND_RS())

    def _ra(self, ev: dict[str, Any]) -> bytes:
        router = self.plan.router_link_local(ev["src"], self.mode)
        pkt = IPv6(src=router, dst=self._mn_ll(ev, "dst"), hlim=ND_HOP_LIMIT) / ICMPv6ND_RA(
            chlim=HOP_LIMIT, prf=PRF_MEDIUM, routerlifetime=ROUTER_LIFETIME)
        for p in ev.get("prefixes") or []:
            net = ipaddress.IPv6Network(p["prefix"], strict=False)
            pkt /= ICMPv6NDOptPrefixInfo(
                prefixlen=net.prefixlen, L=1, A=1, prefix=str(net.network_address),
                validlifetime=_seconds32(p.get("valid_lifetime")),
                preferredlifetime=_seconds32(p.get("preferred_lifetime")))
        return bytes(pkt)

    def _heartbeat(self, ev: dict[str, Any]) -> bytes:
        """RFC 5847 §3.2 Heartbeat (Mobility Header type 13): Reserved and the U (unsolicited) and R (response) flags,
        a 32-bit sequence number, the Restart Counter option. Built here: scapy has no Heartbeat layer."""
        src, dst = _ip(self.plan.node(ev["src"])), _ip(self.plan.node(ev["dst"]))
        flags = str(ev.get("flags") or "")
        bits = (2 if "U" in flags else 0) | (1 if "R" in flags else 0)
        counter = ev.get("restart_counter")
        options = mobility_options([(OPT_RESTART_COUNTER, struct.pack("!I", int(counter or 0) & 0xFFFFFFFF))])
        body = struct.pack("!HI", bits, int(ev.get("sequence") or 0) & 0xFFFFFFFF) + options
        length = 6 + len(body)  # the Mobility Header: a multiple of 8 octets, options padded so
        header = struct.pack("!BBBB", 59, length // 8 - 1, MH_HEARTBEAT, 0)
        pseudo = src + dst + struct.pack("!IxxxB", length, 135)
        checksum = _checksum(pseudo + header + b"\0\0" + body)
        return _ipv6(src, dst, 135, header + struct.pack("!H", checksum) + body)

    def _flow_option(self, ev: dict[str, Any]) -> bytes | None:
        """The Flow Identification option of a per-flow PBU/PBA (the event names a flow), else None."""
        flow = ev.get("flow")
        if not isinstance(flow, str):
            return None
        number = self.plan.flow_number.get(flow, 0)
        fid = ev["flow_id"] if isinstance(ev.get("flow_id"), int) else number
        priority = ev["flow_priority"] if isinstance(ev.get("flow_priority"), int) else fid
        if ev["kind"] == "PBU":
            status = 0
        elif isinstance(ev.get("flow_status"), int):
            status = ev["flow_status"]
        else:
            status = 0 if not ev.get("status") else FID_REJECTED
        cn, mn = self.flow_addresses.get(flow, (None, None))
        if mn is None and ev.get("hnps"):
            mn = _host(ev["hnps"][0])
        selector = ev.get("traffic_selector")
        if isinstance(selector, dict) and isinstance(selector.get("destination_address"), str):
            # The engine's own traffic selector; its direction says which ports go where.
            src, dst = selector.get("source_address"), selector["destination_address"]
            direction = "up" if (src is not None and src == mn) or dst == cn else "down"
            next_header = selector["next_header"] if isinstance(selector.get("next_header"), int) else UDP_NH
            return _flow_identification(fid, priority, status, src, dst, self.plan.ports(flow, direction), next_header)
        return _flow_identification(fid, priority, status, cn, mn, self.plan.ports(flow, "down"))

    def _pbu(self, ev: dict[str, Any]) -> bytes:
        mh = MIP6MH_BU(seq=int(ev.get("sequence") or 0), flags=_flags(ev, BU_FLAGS), mhtime=_lifetime_units(ev),
                       autopad=0, options=[Raw(_pmip_options(ev, self._flow_option(ev)))])
        return bytes(IPv6(src=self.plan.node(ev["src"]), dst=self.plan.node(ev["dst"]), hlim=HOP_LIMIT) / mh)

    def _pba(self, ev: dict[str, Any]) -> bytes:
        mh = MIP6MH_BA(status=int(ev.get("status") or 0), flags=_flags(ev, BA_FLAGS) if ev.get("flags") else "P",
                       seq=int(ev.get("sequence") or 0), mhtime=_lifetime_units(ev), res2=0,
                       autopad=0, options=[Raw(_pmip_options(ev, self._flow_option(ev)))])
        return bytes(IPv6(src=self.plan.node(ev["src"]), dst=self.plan.node(ev["dst"]), hlim=HOP_LIMIT) / mh)

    def _bu(self, ev: dict[str, Any]) -> bytes:
        hnps = ev.get("hnps") or []
        home = ev.get("home_address") or (_host(hnps[0]) if hnps else None)
        care_of = ev.get("care_of_address")
        if home and not care_of:
            care_of = self.bu_addresses.get(ev.get("id"), (None, None))[1]
        if not home or not care_of:
            raise ExportError(f"pcap: BU id {ev.get('id')} needs home_address and care_of_address")
        mh = MIP6MH_BU(seq=int(ev.get("sequence") or 0), flags=_flags(ev, BU_FLAGS), mhtime=_lifetime_units(ev),
                       autopad=0, options=[Raw(mobility_options([]))])
        if care_of == home:  # RFC 6275 §11.5.4: back home, the BU goes from the home address, no option needed
            return bytes(IPv6(src=home, dst=self.plan.node(ev["dst"]), hlim=HOP_LIMIT) / mh)
        # RFC 6275 §6.3, §11.7.1: from the care-of address, with the home address in a destination option.
        pkt = IPv6(src=care_of, dst=self.plan.node(ev["dst"]), hlim=HOP_LIMIT) / IPv6ExtHdrDestOpt(
            options=[HAO(hoa=home)]) / mh
        return bytes(pkt)

    def _ba(self, ev: dict[str, Any]) -> bytes:
        home, care_of = self._binding(ev["dst"], ev["src"], ev["t"])
        home = ev.get("home_address") or home
        care_of = ev.get("care_of_address") or care_of
        if not home or not care_of:
            raise ExportError(f"pcap: BA id {ev.get('id')} answers no BU of {ev['dst']} to {ev['src']} in the trace")
        mh = MIP6MH_BA(status=int(ev.get("status") or 0), flags=_flags(ev, BA_FLAGS), seq=int(ev.get("sequence") or 0),
                       mhtime=_lifetime_units(ev), res2=0, autopad=0, options=[Raw(mobility_options([]))])
        if care_of == home:  # the MN is back home: the BA goes straight to the home address
            return bytes(IPv6(src=self.plan.node(ev["src"]), dst=home, hlim=HOP_LIMIT) / mh)
        # RFC 6275 §6.4, §9.5.4: to the care-of address, with the home address in a type 2 routing header.
        pkt = IPv6(src=self.plan.node(ev["src"]), dst=care_of, hlim=HOP_LIMIT) / IPv6ExtHdrRouting(
            type=2, segleft=1, addresses=[home]) / mh
        return bytes(pkt)

    def _data(self, ev: dict[str, Any]) -> bytes:
        sport, dport = self.plan.ports(ev.get("flow"), ev.get("direction", "down"))
        size = ev.get("size")
        size = DEFAULT_SIZE if not isinstance(size, int) or size < 0 else size
        text = f"dmmviz {ev.get('flow')} {ev.get('direction')} packet {ev.get('packet')} ".encode()
        payload = (text + bytes(max(0, size - len(text))))[:size]
        outer = None
        if ev.get("encapsulated"):
            # RFC 2473 / RFC 5213 §6.10.5: the tunnel between anchor and serving MAR is IPv6-in-IPv6 (next header 41).
            outer = (ev.get("outer_src"), ev.get("outer_dst"))
            if not all(outer):
                outer = (self._tunnel_end(ev, "src"), self._tunnel_end(ev, "dst"))
        inner_hlim, outer_hlim = self.hop_limits.segment(ev, outer)
        inner = _udp(_ip(ev["inner_src"]), _ip(ev["inner_dst"]), sport, dport, payload, inner_hlim)
        if outer is None:
            return inner
        return _ipv6(_ip(outer[0]), _ip(outer[1]), 41, inner, outer_hlim)

    def _tunnel_end(self, ev: dict[str, Any], end: str) -> str:
        """A tunnel end's address. Between routers: the segment's ends. When the MN is a tunnel end (client-based
        mobility, RFC 6275 §9.4), the tunnel runs from its care-of address to the home agent that anchors the
        prefix, and the segment through the serving router carries that same outer header."""
        mn, anchor = ev.get("mn"), self.anchor_of.get(ev.get("prefix"))
        care_of = self._binding(mn, anchor, ev["t"])[1] if mn and anchor else None
        if care_of is None:  # no BU from this MN to the prefix's anchor: a tunnel between two routers
            return self.plan.node(ev[end])
        mn_side = (end == "src") == (ev.get("direction") == "up")
        return care_of if mn_side else self.plan.node(str(anchor))

    def _db(self, ev: dict[str, Any]) -> bytes:
        body = {"msg": ev["kind"], "mn": ev.get("mn")}
        if ev["kind"] == "DB_UPDATE":
            body["op"] = ev.get("op")
        body["entries"] = [
            {"hnp": e.get("hnp"), "anchor": e.get("anchor"), "anchor_address": self.plan.infra.get(e.get("anchor")),
             "interface": e.get("interface")}
            for e in ev.get("entries") or []]
        payload = json.dumps(body, separators=(",", ":")).encode()
        return _udp(_ip(self.plan.node(ev["src"])), _ip(self.plan.node(ev["dst"])), DB_PORT, DB_PORT, payload)

    _db_query = _db_reply = _db_update = _db


class _HopLimits:
    """The hop limits of each DATA segment, following one packet (mn, flow, direction, number) from its origin.

    Inner header: 64 at the origin (the CN, or the MN uplink), minus one at every router that forwards the packet:
    a router sending a segment it received decrements it, except when it merely relays a tunnel packet whose outer
    header it is not the source of (RFC 6275 §9.4: the serving router between a client-dmm MN and its home agent).
    Outer header: 64 at the tunnel entry (RFC 2473 §3.1: the entry point is the source of a new packet), minus one
    at every router relaying it. A packet is forgotten when it reaches a host (MN or CN) or is dropped."""

    def __init__(self, roles: dict[str, str]) -> None:
        self.hosts = {node for node, role in roles.items() if role in ("mn", "cn")}
        # packet key -> (inner hop limit, outer addresses, outer hop limit)
        self.packets: dict[tuple[Any, ...], tuple[int, tuple[Any, ...] | None, int]] = {}

    def segment(self, ev: dict[str, Any], outer: tuple[Any, ...] | None) -> tuple[int, int]:
        key = (ev.get("mn"), ev.get("flow"), ev.get("direction"), ev.get("packet"))
        previous = self.packets.get(key)
        if ev["dst"] in self.hosts:
            self.packets.pop(key, None)  # the last segment: nothing more to follow
        if previous is None or ev["src"] in self.hosts:
            inner, outer_hlim = HOP_LIMIT, HOP_LIMIT  # a host sends it: a new packet (a tunnel entry too, client-dmm)
        elif outer is not None and previous[1] == outer:
            inner, outer_hlim = previous[0], previous[2] - 1  # relayed inside the tunnel: only the outer header
        else:
            inner, outer_hlim = previous[0] - 1, HOP_LIMIT  # forwarded (into or out of a tunnel, or natively)
        if ev["dst"] not in self.hosts:
            self.packets[key] = (inner, outer, outer_hlim)
        return max(inner, 1), max(outer_hlim, 1)


def _seconds32(value: object) -> int:
    if not isinstance(value, (int, float)) or value < 0:
        return 0
    return INFINITE if value >= INFINITE or math.isinf(value) else int(value)


def render(trace: dict[str, Any], options: dict[str, Any] | None = None) -> bytes:
    """The pcap file (bytes) of a trace: one record per message event in the window.

    Options: `start`/`end` as for the diagrams; `nodes` keeps messages from or to one of those nodes (a capture
    taken there); `data` and `time_axis` do not apply. Raises ExportError for a trace it cannot encode.
    """
    events = check_trace(trace)
    options = check_options(options)
    nodes = set(options["nodes"]) if options.get("nodes") is not None else None
    builder = _Builder(events, trace.get("mode"), node_roles(trace, events))
    if nodes is not None:
        unknown = sorted(nodes - set(builder.plan.roles))
        if unknown:
            raise ExportError(f"option 'nodes': unknown node {unknown[0]!r}")
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, LINKTYPE_RAW)]
    for ev in events:
        if not is_message(ev) or not in_window(ev, options):
            continue
        if nodes is not None and ev["src"] not in nodes and ev["dst"] not in nodes:
            continue
        packet = builder.packet(ev)
        usec = round(ev["t"] * 1_000_000)
        out.append(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(packet), len(packet)))
        out.append(packet)
    return b"".join(out)
