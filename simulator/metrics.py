"""Metrics of one run (the "dmmviz-metrics/1" document), counted from the run's trace events.

Every number here is read off the engine's events (docs/engine.md): message events for counts, send and arrival
times; state events (l2_attach, binding_created, tunnel_up, drop, ...) replayed in ``seq`` order for tables and
handovers. Nothing is estimated. The only thing taken from the scenario rather than the events is the *direct* path a
flow would have had (CN -> serving MAR -> MN), which by definition is not in the trace when traffic is tunnelled; it is
read from the same topology and delays the engine routes with (``simulator.topology``, ``simulator.constants``).

Each key is defined in docs/metrics.md; the comments here say how the definition is applied.

    compute_metrics(trace, scenario, until=None) -> dict
    summarize(metrics) -> dict        # the headline numbers, used by ``compare`` and its web page
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import groupby
from statistics import fmean
from typing import Any

from .constants import HI_NOT_CHANGED, timers_from_scenario
from .topology import CORE, Topology

FORMAT = "dmmviz-metrics/1"

REGISTRATIONS = {"PBU": "PBA", "BU": "BA"}  # request kind -> acknowledgement kind
ACKS = {ack: req for req, ack in REGISTRATIONS.items()}
TABLES = ("binding_cache", "binding_update_list", "session_db")
_STATE_EVENTS = {
    "binding_created": ("binding_cache", +1),
    "binding_deleted": ("binding_cache", -1),
    "bul_added": ("binding_update_list", +1),
    "bul_removed": ("binding_update_list", -1),
    "db_entry_added": ("session_db", +1),
    "db_entry_removed": ("session_db", -1),
}

Event = dict[str, Any]


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


def _mean(values: Iterable[float | None], digits: int = 3) -> float | None:
    present = [v for v in values if v is not None]
    return round(fmean(present), digits) if present else None


def is_message(event: Event) -> bool:
    """Message events have upper-case kinds (RS, PBU, DATA, ...); state events lower-case ones."""
    kind = event["kind"]
    return kind.isupper()


# --------------------------------------------------------------------------------------------------------------------
# Direct paths (the one input that is not in the events)


@dataclass(slots=True)
class DirectPaths:
    """Hops and delay of the direct path CN -> MAR -> MN, on the engine's topology and default delays."""

    topology: Topology
    access_delay_ms: float

    @classmethod
    def from_scenario(cls, scenario: dict[str, Any]) -> DirectPaths:
        net = scenario["network"]
        timers = timers_from_scenario(scenario)
        nodes = [m["id"] for m in net["mars"]] + [c["id"] for c in net.get("cns", [])]
        nodes.append((net.get("session_db") or {}).get("id", "DB"))
        if net.get("lma"):
            nodes.append(net["lma"]["id"])
        links = [(link["between"][0], link["between"][1], link["delay_ms"]) for link in net.get("links", [])]
        return cls(Topology(nodes, links, timers.core_delay_ms), timers.access_delay_ms)

    def hops(self, cn: str, mar: str) -> int:
        # Segments between diagram nodes (the IP core is not one, formats.md "Trace"), plus the access link.
        nodes = [n for n in self.topology.path(cn, mar) if n != CORE]
        return len(nodes) - 1 + 1

    def delay_ms(self, cn: str, mar: str) -> float:
        return round(self.topology.delay_us[cn][mar] / 1000.0 + self.access_delay_ms, 3)


# --------------------------------------------------------------------------------------------------------------------
# Packets: the DATA segments of one packet, put back together


@dataclass(slots=True)
class Packet:
    direction: str
    segments: list[Event] = field(default_factory=list)


def _arrived(event: Event, until: float | None) -> bool:
    arrive = event.get("arrive")
    return arrive is not None and (until is None or arrive <= until)


@dataclass(slots=True)
class FlowInfo:
    """One flow of one MN (a flow id is the MN's own; a stopped flow started again with its id continues it)."""

    mn: str
    cn: str
    periods: list[list[float | None]] = field(default_factory=list)  # [started, stopped or None]
    interfaces: list[tuple[float, str]] = field(default_factory=list)  # (since, interface) on start and move_flow
    packets: list[Packet] = field(default_factory=list)
    down: list[tuple[float, Packet]] = field(default_factory=list)  # delivered to the MN: (arrival, packet)
    up: list[tuple[float, Packet]] = field(default_factory=list)  # delivered to the CN
    lost: int = 0

    def interface_at(self, t: float) -> str | None:
        current = None
        for since, interface in self.interfaces:
            if since <= t:
                current = interface
        return current

    def active_at(self, t: float) -> bool:
        return any(start <= t and (stop is None or t < stop) for start, stop in self.periods)  # type: ignore[operator]


def _flows(events: list[Event], until: float | None) -> dict[tuple[str, str], FlowInfo]:
    """Flows from flow_* events, their packets put back together from DATA segments, their drops."""
    flows: dict[tuple[str, str], FlowInfo] = {}
    owner: dict[str, str] = {}  # flow id -> MN that last started it, for a DATA or drop event without ``mn``
    current: dict[tuple[str, str, str, Any], Packet] = {}  # (mn, flow, direction, number) -> packet being followed
    for e in events:
        kind = e["kind"]
        if kind == "flow_started":
            key = (e["mn"], e["flow"])
            info = flows.setdefault(key, FlowInfo(mn=e["mn"], cn=e["cn"]))
            info.cn = e["cn"]
            info.periods.append([e["t"], None])
            info.interfaces.append((e["t"], e["interface"]))
            owner[e["flow"]] = e["mn"]
            continue
        flow_id = e.get("flow")
        if flow_id is None or kind not in ("flow_moved", "flow_stopped", "drop", "DATA"):
            continue
        info = flows.get((e.get("mn") or owner.get(flow_id, ""), flow_id))
        if info is None:
            continue
        if kind == "flow_moved":
            info.interfaces.append((e["t"], e["interface"]))
        elif kind == "flow_stopped":
            info.periods[-1][1] = e["t"]
        elif kind == "drop":
            info.lost += 1
        else:
            # A packet's segments share (flow, direction, packet number); the one leaving the sender starts it.
            key = (info.mn, flow_id, e["direction"], e["packet"])
            sender = info.cn if e["direction"] == "down" else info.mn
            if e["src"] == sender or key not in current:
                current[key] = Packet(e["direction"])
                info.packets.append(current[key])
            current[key].segments.append(e)
    for info in flows.values():
        for packet in info.packets:
            # Delivered = a segment of it reached the far end (the MN downlink, the CN uplink) by the end of the run.
            receiver = info.mn if packet.direction == "down" else info.cn
            last = next((s for s in packet.segments if s["dst"] == receiver and _arrived(s, until)), None)
            if last is not None:
                (info.down if packet.direction == "down" else info.up).append((last["arrive"], packet))
        info.down.sort(key=lambda item: item[0])
        info.up.sort(key=lambda item: item[0])
    return flows


class Attachments:
    """Which MAR each MN interface was attached to, over time (from l2_attach / l2_detach)."""

    def __init__(self, events: list[Event]) -> None:
        self.history: dict[tuple[str, str], list[tuple[float, str | None]]] = defaultdict(list)
        for e in events:
            if e["kind"] == "l2_attach":
                self.history[(e["mn"], e["interface"])].append((e["t"], e["node"]))
            elif e["kind"] == "l2_detach":
                self.history[(e["mn"], e["interface"])].append((e["t"], None))

    def mar_at(self, mn: str, interface: str | None, t: float) -> str | None:
        current = None
        for since, mar in self.history.get((mn, interface or ""), ()):
            if since <= t:
                current = mar
        return current


def _flow_metrics(info: FlowInfo, direct: DirectPaths, attachments: Attachments) -> dict[str, Any]:
    hops, direct_hops, delays, direct_delays, tunnelled = [], [], [], [], 0
    for arrival, packet in info.down:
        # Path = the segments of this packet from the CN to the MN; direct = CN -> the MAR serving the flow's
        # interface when the packet arrived -> MN.
        segments = packet.segments
        hops.append(len(segments))
        delays.append((arrival - segments[0]["t"]) * 1000.0)
        serving = attachments.mar_at(info.mn, info.interface_at(arrival), arrival) or segments[-1]["src"]
        direct_hops.append(direct.hops(info.cn, serving))
        direct_delays.append(direct.delay_ms(info.cn, serving))
        tunnelled += any(s.get("encapsulated") for s in segments)
    path_hops, dhops = _mean(hops), _mean(direct_hops)
    path_delay, ddelay = _mean(delays), _mean(direct_delays)
    return {
        "mn": info.mn,
        "cn": info.cn,
        "delivered": len(info.down) + len(info.up),
        "delivered_down": len(info.down),
        "delivered_up": len(info.up),
        "lost": info.lost,
        "path_hops": path_hops,
        "path_hops_last": hops[-1] if hops else None,
        "direct_hops": dhops,
        "stretch": round(path_hops / dhops, 3) if path_hops and dhops else None,
        "path_delay_ms": path_delay,
        "direct_delay_ms": ddelay,
        "delay_stretch": round(path_delay / ddelay, 3) if path_delay and ddelay else None,
        "tunnelled_share": round(tunnelled / len(info.down), 3) if info.down else None,
    }


# --------------------------------------------------------------------------------------------------------------------
# Handovers


class _Signalling:
    """Indexes of the signalling messages a handover is matched against (so matching is not quadratic)."""

    def __init__(self, messages: list[Event]) -> None:
        self.requests: dict[str, list[Event]] = defaultdict(list)  # mn -> PBU/BU with lifetime > 0
        self.acks: dict[tuple[str, str, Any, str, str], list[Event]] = defaultdict(list)
        self.ras: dict[tuple[str, str], list[Event]] = defaultdict(list)  # (mn, interface) -> RAs to it
        for e in messages:
            kind = e["kind"]
            if kind in REGISTRATIONS and e.get("lifetime"):
                self.requests[e["mn"]].append(e)
            elif kind in ACKS:
                self.acks[(kind, e["mn"], e.get("sequence"), e["src"], e["dst"])].append(e)
            elif kind == "RA":
                self.ras[(e["dst"], e.get("interface", ""))].append(e)

    def registrations(self, mn: str, sender: str, start: float, end: float) -> list[tuple[Event, Event | None]]:
        """Registrations (PBU from ``sender`` / BU from the MN itself, lifetime > 0, not a re-registration) about
        ``mn`` sent in [start, end), each with its acknowledgement (the same sequence number, sent back by the
        request's destination) or None. A request re-sent for the same prefixes supersedes an unanswered one."""
        latest: dict[tuple[str, tuple[str, ...], Any], tuple[Event, Event | None]] = {}
        for req in self.requests.get(mn, ()):
            if req["src"] != sender or not start <= req["t"] < end:
                continue
            if req.get("handoff_indicator") == HI_NOT_CHANGED:
                continue  # a lifetime refresh, not part of a handover
            key = (REGISTRATIONS[req["kind"]], mn, req.get("sequence"), req["dst"], req["src"])
            ack = next((a for a in self.acks.get(key, ()) if a["t"] >= req["t"]), None)
            latest[(req["dst"], tuple(req.get("hnps") or ()), req.get("flow"))] = (req, ack)
        return list(latest.values())


def _longest_gap(arrivals: list[float], cut: float, resumed_after: float) -> float | None:
    """The receiver's longest silence across a handover: the largest gap between consecutive arrivals, from the last
    arrival at or before ``cut`` (the L2 detach) to the first arrival after ``resumed_after`` (handover complete).
    None when nothing arrived before the cut or nothing after completion (within the run)."""
    before = [t for t in arrivals if t <= cut]
    if not before:
        return None
    window = [before[-1]]
    for t in arrivals:
        if t > cut:
            window.append(t)
            if t > resumed_after:
                break
    else:
        return None
    return max(b - a for a, b in zip(window, window[1:]))


def _completion(
    signalling: _Signalling, mn: str, interface: str, mar: str, t0: float, end: float, until: float | None
) -> tuple[float | None, int]:
    """When the attach at ``t0`` was complete: the arrival at the MN of the first RA sent after every registration
    the new MAR had started by then was acknowledged (RFC 5213 §6.9.2: the RA waits for the PBA), and, client-based,
    of the acknowledgements of the BUs the MN sent once that RA gave it a care-of address. None: not within the run.
    Also returns how many registrations (PBU or BU) the attach took."""
    pbus = signalling.registrations(mn, mar, t0, end)
    ra = None
    for candidate in signalling.ras.get((mn, interface), ()):
        if candidate["t"] < t0 or candidate["t"] >= end:
            continue
        before = [(req, ack) for req, ack in pbus if req["t"] < candidate["t"]]
        if all(ack is not None and ack["arrive"] is not None and ack["arrive"] <= candidate["t"] for _, ack in before):
            ra = candidate
            break
    if ra is None or not _arrived(ra, until):
        return None, len(pbus)
    # The MN sends all its BUs at once; a BU after the first BA came back belongs to another procedure.
    bus = signalling.registrations(mn, mn, ra["t"], end)
    first_ba = min((ack["arrive"] for _, ack in bus if ack and ack["arrive"] is not None), default=float("inf"))
    bus = [(req, ack) for req, ack in bus if req["t"] <= first_ba]
    pbus = [(req, ack) for req, ack in pbus if req["t"] < ra["t"]]
    if not all(ack is not None and _arrived(ack, until) for _, ack in bus):
        return None, len(pbus) + len(bus)
    return max([ra["arrive"], *(ack["arrive"] for _, ack in bus if ack)]), len(pbus) + len(bus)


def _handovers(
    events: list[Event], messages: list[Event], flows: dict[tuple[str, str], FlowInfo], until: float | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every L2 attach of an interface: a handover when that interface was last attached to another MAR, otherwise
    an attachment (first attach, or back to the same MAR after a detach). Both get the same latency definition."""
    signalling = _Signalling(messages)
    last_mar: dict[tuple[str, str], str] = {}
    detached_at: dict[tuple[str, str], float] = {}
    attaches: list[tuple[Event, str | None, float]] = []
    # Each attach's window ends at the next L2 event of the same interface or the next move_flow of the same MN, so
    # a later registration (the next handover, a flow moved between interfaces) is not taken for this one's.
    window_end: dict[int, float] = {}
    open_windows: dict[tuple[str, str], list[int]] = defaultdict(list)  # (mn, interface) -> open attach windows
    for e in events:
        kind = e["kind"]
        if kind in ("l2_attach", "l2_detach"):
            closing = [(e["mn"], e["interface"])]
        elif kind == "action" and e.get("action") == "move_flow":
            closing = [key for key in open_windows if key[0] == e["mn"]]
        else:
            closing = []
        for key in closing:
            for i in open_windows.pop(key, []):
                window_end[i] = e["t"]
        if kind == "l2_detach":
            detached_at[(e["mn"], e["interface"])] = e["t"]
        elif kind == "l2_attach":
            key = (e["mn"], e["interface"])
            attaches.append((e, last_mar.get(key), detached_at.get(key, e["t"])))
            open_windows[key].append(len(attaches) - 1)
            last_mar[key] = e["node"]
    handovers, attachments = [], []
    for i, (attach, previous, cut) in enumerate(attaches):
        mn, interface, mar, t0 = attach["mn"], attach["interface"], attach["node"], attach["t"]
        end = window_end.get(i, float("inf"))
        if until is not None:
            end = min(end, until)
        completed, registrations = _completion(signalling, mn, interface, mar, t0, end, until)
        record: dict[str, Any] = {"mn": mn, "interface": interface, "at": t0}
        if previous is not None and previous != mar:
            record["from"] = previous
        record |= {
            "to": mar,
            "latency_ms": _ms(completed - t0) if completed is not None else None,
            "completed_at": completed,
            "registrations": registrations,
        }
        if "from" not in record:
            attachments.append(record)
            continue
        record["detached_at"] = cut
        resumed = completed if completed is not None else float("inf")
        interruption: dict[str, float | None] = {}
        by_direction: dict[str, dict[str, float | None]] = {}
        for (_, flow_id), info in sorted(flows.items()):
            if info.mn != mn or not info.active_at(cut) or info.interface_at(cut) != interface:
                continue
            down = _longest_gap([t for t, _ in info.down], cut, resumed)
            up = _longest_gap([t for t, _ in info.up], cut, resumed)
            by_direction[flow_id] = {"down": _ms(down) if down is not None else None, "up": _ms(up) if up is not None else None}
            both = [v for v in (down, up) if v is not None]
            interruption[flow_id] = _ms(max(both)) if both else None
        record["interruption_ms"] = interruption
        record["interruption_by_direction_ms"] = by_direction
        handovers.append(record)
    return handovers, attachments


# --------------------------------------------------------------------------------------------------------------------
# State tables and tunnels, replayed


def _instants(events: list[Event], kinds: Iterable[str]) -> Iterable[tuple[float, list[Event]]]:
    """The events of the given kinds, grouped by time. Peaks are read after each instant, so a table entry or a
    tunnel replaced within one instant (a binding re-pointed: new tunnel up, old one down) is not counted twice."""
    wanted = set(kinds)
    return ((t, list(group)) for t, group in groupby((e for e in events if e["kind"] in wanted), key=lambda e: e["t"]))


def _state_entries(events: list[Event]) -> dict[str, dict[str, Any]]:
    """Replay the table events: entries per node (binding cache + binding update list + session DB) at the end, at
    their peak (the first instant it was reached), and the peak of the binding tables alone (no session DB)."""
    tables: dict[str, Counter[str]] = defaultdict(Counter)
    peak: dict[str, tuple[int, float, dict[str, int]]] = {}
    binding_peak: Counter[str] = Counter()
    for t, group in _instants(events, _STATE_EVENTS):
        touched = set()
        for e in group:
            table, delta = _STATE_EVENTS[e["kind"]]
            tables[e["node"]][table] += delta
            touched.add(e["node"])
        for node in touched:
            counts = tables[node]
            total = sum(counts.values())
            if node not in peak or total > peak[node][0]:
                peak[node] = (total, t, {name: counts[name] for name in TABLES})
            binding_peak[node] = max(binding_peak[node], counts["binding_cache"] + counts["binding_update_list"])
    out = {}
    for node in sorted(tables):
        end = {name: tables[node][name] for name in TABLES}
        out[node] = {
            "end": sum(end.values()),
            "peak": peak[node][0],
            "peak_at": peak[node][1],
            "end_by_table": end,
            "peak_by_table": peak[node][2],
            "binding_peak": binding_peak[node],
        }
    return out


def _tunnels(events: list[Event]) -> dict[str, Any]:
    """Replay tunnel_up / tunnel_down: tunnels existing at once, network-wide and per end node."""
    # A tunnel is the unordered pair of its ends; counting ups and downs per pair copes with an engine that reports
    # a tunnel from one end or from both.
    reports: Counter[frozenset[str]] = Counter()
    per_node: Counter[str] = Counter()
    per_node_peak: Counter[str] = Counter()
    up = peak = established = 0
    peak_at = None
    for t, group in _instants(events, ("tunnel_up", "tunnel_down")):
        touched = set()
        for e in group:
            pair = frozenset((e["node"], e["peer"]))
            was_up = reports[pair] > 0
            reports[pair] = max(0, reports[pair] + (1 if e["kind"] == "tunnel_up" else -1))
            is_up = reports[pair] > 0
            if is_up != was_up:
                step = 1 if is_up else -1
                established += is_up
                up += step
                for node in pair:
                    per_node[node] += step
                    touched.add(node)
        for node in touched:
            per_node_peak[node] = max(per_node_peak[node], per_node[node])
        if up > peak:
            peak, peak_at = up, t
    return {
        "tunnels_peak": peak,
        "tunnels_peak_at": peak_at,
        "tunnels_end": up,
        "tunnels_established": established,
        "tunnels_peak_by_node": {n: v for n, v in sorted(per_node_peak.items()) if v},
    }


def _load(messages: list[Event]) -> dict[str, dict[str, int]]:
    """Messages each node sent or received (a message counts once at each end)."""
    load: dict[str, Counter[str]] = defaultdict(Counter)
    for e in messages:
        category = "data" if e["kind"] == "DATA" else "signalling"
        load[e["src"]][category] += 1
        load[e["dst"]][category] += 1
    return {n: {"signalling": load[n]["signalling"], "data": load[n]["data"]} for n in sorted(load)}


# --------------------------------------------------------------------------------------------------------------------


def compute_metrics(trace: dict[str, Any], scenario: dict[str, Any], until: float | None = None) -> dict[str, Any]:
    """The "dmmviz-metrics/1" document of a run.

    ``trace`` is a "dmmviz-trace/1" document (``Simulation.trace()``), ``scenario`` the scenario it ran (the dict
    ``load_scenario`` returns, or the parsed file). ``until``: the end of the run; a message arriving later is still
    in flight and is not counted as delivered (default: the trace's ``until`` if it has one, else every arrival).
    Raises ValueError when the trace is not a "dmmviz-trace/1" document.
    """
    if not isinstance(trace, dict) or trace.get("format") != "dmmviz-trace/1":
        raise ValueError("metrics need a 'dmmviz-trace/1' document")
    if until is None:
        until = trace.get("until")
    events = sorted(trace["events"], key=lambda e: e["seq"])
    messages = [e for e in events if is_message(e)]
    flows = _flows(events, until)
    direct = DirectPaths.from_scenario(scenario)
    attached = Attachments(events)
    handovers, attachments = _handovers(events, messages, flows, until)
    kinds = Counter(e["kind"] for e in messages)
    metrics: dict[str, Any] = {
        "format": FORMAT,
        "title": trace.get("title", scenario.get("title")),
        "mode": trace.get("mode", scenario.get("mode")),
        "until": until,
        "messages": dict(sorted(kinds.items())),
        "signalling_messages": sum(n for k, n in kinds.items() if k != "DATA"),
        "binding_messages": sum(kinds.get(k, 0) for k in (*REGISTRATIONS, *ACKS)),
        "data_segments": kinds.get("DATA", 0),
        "handovers": handovers,
        "attachments": attachments,
        "flows": {name: _flow_metrics(info, direct, attached) for name, info in _flow_names(flows).items()},
        "state_entries": _state_entries(events),
        **_tunnels(events),
        "load": _load(messages),
    }
    metrics["summary"] = summarize(metrics, scenario)
    return metrics


def _flow_names(flows: dict[tuple[str, str], FlowInfo]) -> dict[str, FlowInfo]:
    """Flows keyed by their id, or by "MN/flow" for every flow when two MNs use the same flow id."""
    ids = [flow for _, flow in flows]
    unique = len(ids) == len(set(ids))
    return {(flow if unique else f"{mn}/{flow}"): flows[(mn, flow)] for mn, flow in sorted(flows, key=lambda k: (k[1], k[0]))}


def _busiest(values: dict[str, int], keep: Callable[[str], bool]) -> dict[str, Any]:
    candidates = {n: v for n, v in values.items() if keep(n)}
    if not candidates:
        return {"node": None, "value": 0}
    node = min(candidates, key=lambda n: (-candidates[n], n))  # ties: the first id
    return {"node": node, "value": candidates[node]}


def summarize(metrics: dict[str, Any], scenario: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of one run (rows of ``compare``'s table), each a plain aggregate of the keys above."""
    hosts = {mn["id"] for mn in scenario["mobile_nodes"]} | {c["id"] for c in scenario["network"].get("cns", [])}
    network = lambda node: node not in hosts  # noqa: E731 - routers, anchors and the DB
    flows = metrics["flows"].values()
    states = metrics["state_entries"]
    return {
        "signalling_messages": metrics["signalling_messages"],
        "binding_messages": metrics["binding_messages"],
        "messages": metrics["messages"],
        "handovers": len(metrics["handovers"]),
        "handover_latency_ms_mean": _mean(h["latency_ms"] for h in metrics["handovers"]),
        "attach_latency_ms_mean": _mean(a["latency_ms"] for a in metrics["attachments"]),
        "interruption_ms_mean": _mean(v for h in metrics["handovers"] for v in h["interruption_ms"].values()),
        "delivered": sum(f["delivered"] for f in flows),
        "lost": sum(f["lost"] for f in flows),
        "stretch_mean": _mean(f["stretch"] for f in flows),
        "delay_stretch_mean": _mean(f["delay_stretch"] for f in flows),
        "state_peak_busiest": _busiest({n: s["peak"] for n, s in states.items()}, network),
        "binding_peak_busiest": _busiest({n: s["binding_peak"] for n, s in states.items()}, network),
        "state_end_total": sum(s["end"] for s in states.values()),
        "tunnels_peak": metrics["tunnels_peak"],
        "signalling_busiest": _busiest({n: v["signalling"] for n, v in metrics["load"].items()}, network),
        "data_busiest": _busiest({n: v["data"] for n, v in metrics["load"].items()}, network),
    }
