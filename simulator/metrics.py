"""Metrics of one run (the "dmmviz-metrics/1" document), counted from the run's events as they happen.

Every number here is read off the engine's events (docs/engine.md): message events for counts, send and arrival
times; state events (l2_attach, binding_created, tunnel_up, drop, ...) replayed in ``seq`` order for tables and
handovers. Nothing is estimated. ``MetricsObserver`` takes the events one by one while the engine runs (its memory
follows the network's state, not the number of events); ``compute_metrics`` feeds it a finished trace. The only
thing taken from the scenario rather than the events is the *direct* path a flow would have had (CN -> serving MAR ->
MN), which by definition is not in the trace when traffic is tunnelled; it is read from the same topology and delays
the engine routes with (``simulator.topology``, ``simulator.constants``).

Each key is defined in docs/metrics.md; the comments here say how the definition is applied.

    MetricsObserver(scenario, until).feed(event) ...; .result() -> dict
    compute_metrics(trace, scenario, until=None) -> dict
    summarize(metrics) -> dict        # the headline numbers, used by ``compare`` and its web page
"""

from __future__ import annotations

import heapq
import itertools
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from statistics import fmean
from typing import Any

from .constants import HI_NOT_CHANGED, US, timers_from_scenario
from .events import is_message
from .metrics_feed import fewer_collections, run_fed
from .nodes import FIRST_ID, LAST_ARRIVE, LAST_ID, LAST_SRC, SEGMENTS, SENT_US, TUNNELLED, PacketRecord
from .topology import CORE, Topology

FORMAT = "dmmviz-metrics/1"

REGISTRATIONS = {"PBU": "PBA", "BU": "BA"}  # request kind -> acknowledgement kind
ACKS = {ack: req for req, ack in REGISTRATIONS.items()}
_MATCHED = frozenset((*REGISTRATIONS, *ACKS, "RA"))  # the messages an attach is matched against
TABLES = ("binding_cache", "binding_update_list", "session_db")
_STATE_EVENTS = {  # kind -> (the table's index in TABLES, change of its size)
    kind: (TABLES.index(table), delta)
    for kind, (table, delta) in {
        "binding_created": ("binding_cache", +1),
        "binding_deleted": ("binding_cache", -1),
        "bul_added": ("binding_update_list", +1),
        "bul_removed": ("binding_update_list", -1),
        "db_entry_added": ("session_db", +1),
        "db_entry_removed": ("session_db", -1),
    }.items()
}

Event = dict[str, Any]


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


def _mean(values: Iterable[float | None], digits: int = 3) -> float | None:
    present = [v for v in values if v is not None]
    return round(fmean(present), digits) if present else None


# --------------------------------------------------------------------------------------------------------------------
# Direct paths (the one input that is not in the events)


@dataclass(slots=True)
class DirectPaths:
    """Hops and delay of the direct path CN -> MAR -> MN, on the engine's topology and default delays."""

    topology: Topology
    access_delay_ms: float

    @classmethod
    def from_scenario(cls, scenario: dict[str, Any], engines: Topology | None = None) -> DirectPaths:
        """``engines``: the topology the simulation routes with, taken as it is when it has the same nodes (it was
        built from the same scenario), rather than computing every shortest path again."""
        net = scenario["network"]
        timers = timers_from_scenario(scenario)
        nodes = [m["id"] for m in net["mars"]] + [c["id"] for c in net.get("cns", [])]
        nodes.append((net.get("session_db") or {}).get("id", "DB"))
        if net.get("lma"):
            nodes.append(net["lma"]["id"])
        if engines is not None and set(engines.graph.nodes) == {*nodes, CORE}:
            return cls(engines, timers.access_delay_ms)
        links = [(link["between"][0], link["between"][1], link["delay_ms"]) for link in net.get("links", [])]
        return cls(Topology(nodes, links, timers.core_delay_ms), timers.access_delay_ms)

    def hops(self, cn: str, mar: str) -> int:
        # Segments between diagram nodes (the IP core is not one, formats.md "Trace"), plus the access link.
        nodes = [n for n in self.topology.path(cn, mar) if n != CORE]
        return len(nodes) - 1 + 1

    def delay_us(self, cn: str, mar: str) -> int:
        return self.topology.delay_us[cn][mar] + round(self.access_delay_ms * 1000)  # as the engine's access_us

    def longest_flight_s(self) -> float:
        """An upper bound of any one message's time on the way: the longest delay between two nodes, plus an access
        link (a client-based BU/BA goes MN -> serving MAR -> home agent in one message)."""
        longest_us = max((max(row.values(), default=0) for row in self.topology.delay_us.values()), default=0)
        return (longest_us + round(self.access_delay_ms * 1000)) / US


# --------------------------------------------------------------------------------------------------------------------
# Handover completion: matched against the signalling an attach record keeps


def _arrived(event: Event, until: float | None) -> bool:
    arrive = event.get("arrive")
    return arrive is not None and (until is None or arrive <= until)


class _Signalling:
    """Indexes of the signalling messages a handover is matched against (so matching is not quadratic)."""

    def __init__(self) -> None:
        self.requests: dict[str, list[Event]] = defaultdict(list)  # mn -> PBU/BU with lifetime > 0
        self.acks: dict[tuple[str, str, Any, str, str], list[Event]] = defaultdict(list)
        self.ras: dict[tuple[str, str], list[Event]] = defaultdict(list)  # (mn, interface) -> RAs to it

    def add(self, e: Event) -> None:
        """One more message (in ``seq`` order); the index keeps the dict itself, so a later mark (lost) shows."""
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
            sent = req["t"]
            if req["src"] != sender or not start <= sent < end:
                continue
            if req.get("handoff_indicator") == HI_NOT_CHANGED:
                continue  # a lifetime refresh, not part of a handover
            ack = None
            key = (REGISTRATIONS[req["kind"]], mn, req.get("sequence"), req["dst"], req["src"])
            for answer in self.acks.get(key, ()):
                if answer["t"] >= sent:
                    ack = answer
                    break
            latest[(req["dst"], tuple(req.get("hnps") or ()), req.get("flow"))] = (req, ack)
        return list(latest.values())


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


# --------------------------------------------------------------------------------------------------------------------
# The observer: every metric updated event by event, so a run never needs its whole event list.
#
# Memory follows the network's state: the flows and attachments that exist, packets in flight, the signalling of
# attaches not yet settled, and (per handover) the arrivals of its flows until they resume. Event by event:
# - a packet is followed from its first segment to the segment that reaches its receiver; its delivery is counted
#   once the clock has passed its arrival (a packet can still be lost on the way until then), with the attachments
#   as they stood at that moment, exactly as the definitions say;
# - tables and tunnels are replayed as before, peaks read when the clock leaves an instant;
# - each L2 attach opens a record that keeps the few signalling messages its completion is matched against (PBU/BU,
#   PBA/BA, RA about that MN) and is settled SETTLE_S after its window closed, or at the end of the run.


SETTLE_S = 64.0  # past the window's end, nothing can still answer its registrations (back-off tops at 32 s)
SWEEP_S = 10.0  # how often the chains of a trace's packets that can no longer go on are forgotten
# Per flow and direction, at least this many latest arrivals are kept (at most twice as many: trimmed in one go), enough
# to find the last arrival before a cut. Raw doubles (an array), not a float object each: a long run has thousands of
# flows, and their arrivals scattered over the heap made every delivery slower.
RECENT_ARRIVALS = 256


def _us(t: float) -> float:
    """A time in seconds in the engine's microseconds (infinity stays infinity: the end of everything)."""
    return t if t == float("inf") else round(t * US)


def _ignore(_observer: MetricsObserver, _event: Event) -> None:
    pass


def _arrived_at(recent: array[float], gaps: list[_Gap], arrivals: list[float]) -> None:
    """More arrivals (in time order) of a flow's direction: kept among its recent ones, and given to the gaps still
    measuring it; the finished gaps are let go."""
    recent.extend(arrivals)
    if len(recent) >= 2 * RECENT_ARRIVALS:
        del recent[:len(recent) - RECENT_ARRIVALS]
    if gaps:
        for arrival in arrivals:
            for gap in gaps:
                gap.add(arrival)
        gaps[:] = [gap for gap in gaps if not gap.done]


def _since(recent: array[float], t: float) -> array[float]:
    """Of a flow direction's recent arrivals (in time order), those a gap at a cut at ``t`` or later can start from:
    the last one at or before ``t`` and the ones after it."""
    return recent[max(0, bisect_right(recent, t) - 1):]


# of a packet waiting (FlowInfo.pending_down): its arrival, and the order packets are counted in
_ARRIVAL, _ARRIVAL_ORDER = itemgetter(LAST_ARRIVE), itemgetter(LAST_ARRIVE, FIRST_ID)
_SEGMENTS, _SENT_US, _TUNNELLED = itemgetter(SEGMENTS), itemgetter(SENT_US), itemgetter(TUNNELLED)
_FIRST = itemgetter(0)


@dataclass(slots=True)
class FlowInfo:
    """One flow of one MN (a flow id is the MN's own; a stopped flow started again with its id continues it), with
    running sums over its delivered packets."""

    mn: str
    cn: str
    flow: str = ""
    periods: list[list[float | None]] = field(default_factory=list)  # [started, stopped or None]
    interfaces: list[tuple[float, str]] = field(default_factory=list)  # (since, interface) on start and move_flow
    lost: int = 0
    delivered_down: int = 0
    delivered_up: int = 0
    hops: int = 0
    direct_hops: int = 0
    delay_us: int = 0  # sums of integer microseconds (the engine's clock): exact, whatever the run's length
    direct_delay_us: int = 0
    tunnelled: int = 0
    last_hops: int | None = None
    # per direction: the latest arrivals (enough to find the last one before a cut), and the gaps still measuring
    recent_down: array[float] = field(default_factory=lambda: array("d"))
    recent_up: array[float] = field(default_factory=lambda: array("d"))
    gaps_down: list[_Gap] = field(default_factory=list)
    gaps_up: list[_Gap] = field(default_factory=list)
    # Packets that will reach their receiver, not counted yet (MetricsObserver "deliveries"): downlink, their records
    # (arrival and id of the segment arriving filled in); uplink, arrival (microseconds) and id of the segment arriving
    pending_down: list[PacketRecord] = field(default_factory=list)
    pending_up: list[int] = field(default_factory=list)
    pending_up_ids: list[Any] = field(default_factory=list)  # a trace's ids need not be integers
    unsorted: bool = False  # one was added out of (arrival, first id) order: sort before counting

    def interface_at(self, t: float) -> str | None:
        interfaces = self.interfaces
        if interfaces and interfaces[-1][0] <= t:  # the usual answer (asked once per packet): the latest one
            return interfaces[-1][1]
        current = None
        for since, interface in self.interfaces:
            if since <= t:
                current = interface
        return current

    def active_at(self, t: float) -> bool:
        if self.periods:  # the usual answer: the latest period (the one in force)
            start, stop = self.periods[-1]
            if start <= t and (stop is None or t < stop):  # type: ignore[operator]
                return True
        return any(start <= t and (stop is None or t < stop) for start, stop in self.periods)  # type: ignore[operator]

    def metrics(self) -> dict[str, Any]:
        n = self.delivered_down

        def mean(total: float) -> float | None:
            return round(total / n, 3) if n else None

        path_hops, dhops = mean(self.hops), mean(self.direct_hops)
        path_delay, ddelay = mean(self.delay_us / 1000.0), mean(self.direct_delay_us / 1000.0)
        return {
            "mn": self.mn,
            "cn": self.cn,
            "delivered": self.delivered_down + self.delivered_up,
            "delivered_down": self.delivered_down,
            "delivered_up": self.delivered_up,
            "lost": self.lost,
            "path_hops": path_hops,
            "path_hops_last": self.last_hops,
            "direct_hops": dhops,
            "stretch": round(path_hops / dhops, 3) if path_hops and dhops else None,
            "path_delay_ms": path_delay,
            "direct_delay_ms": ddelay,
            "delay_stretch": round(path_delay / ddelay, 3) if path_delay and ddelay else None,
            "tunnelled_share": round(self.tunnelled / n, 3) if n else None,
        }



class _Gap:
    """The longest silence of one direction of one flow across one handover (docs/metrics.md, Interruption): from the
    last arrival at or before the cut to the first arrival after the handover completed. Arrivals come in time order."""

    __slots__ = ("cut", "done", "last", "outage", "points", "resumed", "value")

    def __init__(self, cut: float, recent: array[float]) -> None:
        self.cut = cut
        self.last: float | None = None  # last arrival at or before the cut
        self.points: list[tuple[float, float]] = []  # (arrival after the cut, largest gap up to it)
        self.resumed: float | None = None
        self.value: float | None = None
        self.done = False
        self.outage = False  # packets flowed before the cut and never again after completion
        # The arrivals before the cut but the last change nothing: start from it (found walking back from the newest).
        after = 0
        for arrival in reversed(recent):
            if arrival <= self.cut:
                break
            after += 1
        for arrival in recent[max(0, len(recent) - after - 1):]:
            self.add(arrival)

    def add(self, arrival: float) -> None:
        if self.done:
            return
        if arrival <= self.cut:
            self.last = arrival
            return
        if self.last is None:
            self.done = True  # nothing arrived before the cut: nothing to measure
            return
        previous, largest = self.points[-1] if self.points else (self.last, 0.0)
        largest = max(largest, arrival - previous)
        self.points.append((arrival, largest))
        if self.resumed is not None and arrival > self.resumed:
            self._close(largest)

    def confirm(self, resumed: float) -> None:
        """The handover completed at ``resumed``: the first arrival after it ends the span."""
        if self.done:
            return
        self.resumed = resumed
        for arrival, largest in self.points:
            if arrival > resumed:
                self._close(largest)
                return

    def finish(self, resumed: float | None) -> None:
        if self.done:
            return
        if self.last is not None:
            self.confirm(float("inf") if resumed is None else resumed)
        if not self.done:
            self.done = True
            self.outage = self.last is not None  # it flowed before and never came back within the run
            self.points = []

    def _close(self, largest: float) -> None:
        self.value, self.done, self.points = largest, True, []


_SETTLED = _Signalling()  # what a settled record is left with (never added to)


class _Attach:
    """One L2 attach of an MN interface: its window, the signalling it is matched against, its flows' gaps."""

    __slots__ = (
        "candidate",
        "confirmed",
        "cut",
        "end",
        "expected",
        "gaps",
        "index",
        "interface",
        "known",
        "mar",
        "messages",
        "mn",
        "previous",
        "result",
        "signalling",
        "t0",
        "version",
    )

    def __init__(self, index: int, event: Event, previous: str | None, cut: float) -> None:
        self.index = index
        self.mn, self.interface, self.mar, self.t0 = event["mn"], event["interface"], event["node"], event["t"]
        self.previous, self.cut = previous, cut
        self.end: float | None = None  # the window's end: the next L2 event of the interface or move_flow of the MN
        self.messages: list[Event] = []  # copies of the PBU/BU, PBA/BA and RA it is matched against
        self.signalling = _Signalling()  # the same copies, indexed
        self.version = 0  # changes of the signalling so far (completion's memo)
        self.known: tuple[Any, tuple[float | None, int]] | None = None  # completion's last (key, answer)
        self.gaps: dict[str, tuple[_Gap, _Gap]] = {}  # flow id -> (down, up), handovers only
        self.candidate: float | None = None
        self.confirmed = False  # the completion is known for good: no more candidates to check
        self.expected: set[tuple[Any, ...]] = set()  # (ack kind, mn, sequence, from, to) answering a request kept here
        self.result: dict[str, Any] | None = None

    @property
    def handover(self) -> bool:
        return self.previous is not None and self.previous != self.mar

    def wants(self, e: Event, awaiting: dict[tuple[Any, ...], list[_Attach]]) -> bool:
        """Whether this attach is matched against message ``e``; a registration it keeps adds the key of its answer
        to ``expected`` and to ``awaiting`` (the observer's index: answer key -> records expecting it)."""
        kind, t = e["kind"], e["t"]
        if t < self.t0:
            return False
        if kind in ACKS:  # only the answers to this attach's own requests
            return (kind, e.get("mn"), e.get("sequence"), e["src"], e["dst"]) in self.expected
        if self.end is not None and t >= self.end:
            return False
        if kind in REGISTRATIONS:
            if e.get("mn") == self.mn and e["src"] in (self.mar, self.mn) and e.get("lifetime"):
                answer = (REGISTRATIONS[kind], self.mn, e.get("sequence"), e["dst"], e["src"])
                if answer not in self.expected:
                    self.expected.add(answer)
                    awaiting.setdefault(answer, []).append(self)
                return True
            return False
        return bool(kind == "RA" and e["dst"] == self.mn and e.get("interface", "") == self.interface)

    def completion(self, until: float | None) -> tuple[float | None, int]:
        """(completed at or None, registrations): the same as long as the signalling and the window are (``version``
        counts every change of the signalling: a message added, one marked lost), so asked again it is not redone."""
        key = (self.version, self.end, until)
        if self.known is not None and self.known[0] == key:
            return self.known[1]
        end = float("inf") if self.end is None else self.end
        if until is not None:
            end = min(end, until)
        answer = _completion(self.signalling, self.mn, self.interface, self.mar, self.t0, end, until)
        self.known = (key, answer)
        return answer


class MetricsObserver:
    """The metrics of a run, computed while it runs: ``feed(event)`` every event in ``seq`` order (from
    ``Simulation.step``/``run`` or a trace), then ``result()`` once. ``until``: the end of the run (a packet
    arriving later is still in flight); None counts every arrival. ``topology``: the simulation's, if at hand
    (``DirectPaths.from_scenario``)."""

    def __init__(self, scenario: dict[str, Any], until: float | None = None, title: str | None = None,
                 mode: str | None = None, topology: Topology | None = None) -> None:
        self.scenario = scenario
        self.until = until
        self.title = scenario.get("title") if title is None else title
        self.mode = scenario.get("mode") if mode is None else mode
        self.direct = DirectPaths.from_scenario(scenario, topology)
        self._direct: dict[tuple[str, str], tuple[int, int]] = {}  # (cn, mar) -> direct hops and delay (us)
        self.clock = float("-inf")
        self.kinds: Counter[str] = Counter()
        self._load_signalling: dict[str, int] = {}
        # (src, dst) -> [DATA segments, the hop's delay in microseconds (a tapping engine counts here, and keeps the
        # delay beside the count so that one lookup per segment finds both; a trace leaves it 0)]
        self.data_pairs: dict[tuple[str, str], list[int]] = {}
        self.lost: Counter[str] = Counter()
        # Messages already counted as lost (id -> when), so that the drop that follows one is not counted again. A
        # drop comes at the latest when the message would have arrived: an id is forgotten once no message sent
        # then can still be on its way (otherwise every loss of a long lossy run would be kept).
        self._lost_ids: dict[Any, float] = {}
        self._lost_memory_s = self.direct.longest_flight_s() + SWEEP_S  # the observer's clock may lag a sweep
        self.retransmissions: Counter[str] = Counter()
        self._pending: dict[tuple[Any, ...], Any] = {}  # registration key -> sequence of the request unanswered
        self._pending_by_seq: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        # flows and packets
        self.flows: dict[tuple[Any, Any], FlowInfo] = {}
        self._owner: dict[Any, str] = {}
        # mn -> its flows that may still be active at a handover's cut (those stopped before any cut to come are let
        # go: _flows_at), as an ordered set
        self._mn_flows: dict[str, dict[tuple[str, str], None]] = defaultdict(dict)
        # A trace's downlink packets on their way: (mn, flow, packet number) -> the chain so far (a tapping engine
        # carries each packet's record on its segments instead: simulator/metrics_feed.py)
        self._packets: dict[tuple[Any, ...], PacketRecord] = {}
        # mn -> (flow id -> its FlowInfo) for the flows with packets waiting to be counted (FlowInfo.pending_down,
        # pending_up): counted a flow at a time, before anything their count depends on changes ("deliveries" below)
        self._waiting: dict[str, dict[str, FlowInfo]] = {}
        self._next_sweep = SWEEP_S
        # attachments and handovers
        self._attached: dict[tuple[str, str], str | None] = {}
        self._last_mar: dict[tuple[str, str], str] = {}
        self._detached_at: dict[str, dict[str, float]] = defaultdict(dict)  # mn -> interface -> its latest detach
        self._records: list[_Attach] = []
        self._open: dict[Any, dict[str, list[_Attach]]] = defaultdict(dict)  # mn -> interface -> records, window open
        self._unsettled: dict[Any, list[_Attach]] = defaultdict(list)  # mn -> records still matching signalling
        # A message is offered only to the records it can concern, not to every unsettled record of its MN (an MN
        # keeps a record SETTLE_S past its window): a registration or RA to records whose window is open (``_open``),
        # an answer to the records that kept its request.
        self._awaiting: dict[tuple[Any, ...], list[_Attach]] = {}  # (ack kind, mn, sequence, from, to) -> records
        self._settle: list[tuple[float, int, _Attach]] = []  # heap: (settle time, index, record)
        self._checks: list[tuple[float, int, _Attach]] = []  # heap: (candidate completion, index, record)
        # tables and tunnels, replayed by instant
        self._tables: dict[str, list[int]] = {}  # node -> its tables' sizes, in TABLES order
        self._table_peak: dict[str, tuple[int, float, dict[str, int]]] = {}
        self._binding_peak: dict[str, int] = {}
        self._table_instant: tuple[float, set[str]] | None = None
        self._tunnel_reports: Counter[frozenset[str]] = Counter()
        self._tunnel_node: Counter[str] = Counter()
        self._tunnel_node_peak: Counter[str] = Counter()
        self._tunnels_up = self._tunnels_peak = self._tunnels_established = 0
        self._tunnels_peak_at: float | None = None
        self._tunnel_instant: tuple[float, set[str]] | None = None
        # event kind -> what it updates (_handler_for): the class's functions, not methods bound to this observer,
        # which would make it a reference cycle that only a full collection frees, with all it holds
        self._handlers: dict[str, Callable[[MetricsObserver, Event], None]] = {}
        self.tapped_down, self.tapped_up = self._taps()

    # -- the clock ---------------------------------------------------------------------------------------------------

    def _advance(self, t: float) -> None:
        """Everything due strictly before ``t``: completions to confirm, records to settle, tables and tunnels of the
        instant left; and, every SWEEP_S, every packet that has arrived (no event at its arrival time can cancel it
        any more), which otherwise waits until something it depends on changes (_deliver_waiting).

        Checks and settlements are taken in time order (at one instant, a check first), so what comes out does not
        depend on how often the clock is moved: a tapping engine moves it only at its events, a trace at every
        segment too."""
        checks, settle, pop = self._checks, self._settle, heapq.heappop
        while (checks and checks[0][0] < t) or (settle and settle[0][0] < t):
            if checks and (not settle or checks[0][0] <= settle[0][0]):
                # Confirming a completion needs no packets counted first: a gap ends at the first arrival after it,
                # whether that arrival is added before the confirmation or after (_Gap.confirm, _Gap.add).
                candidate, _, record = pop(checks)
                self._check(record, candidate)
            else:
                at, _, record = pop(settle)
                self._deliver_waiting(record.mn, at, inclusive=True)  # its MN's packets up to then count (first)
                self._finalize(record)
        if self._table_instant is not None and self._table_instant[0] < t:
            self._flush_tables()
        if self._tunnel_instant is not None and self._tunnel_instant[0] < t:
            self._flush_tunnels()
        if t >= self._next_sweep:
            # A chain whose latest segment arrived before t (or was lost) cannot go on: its next segment would have
            # been sent at that arrival. Forgetting it changes nothing but memory.
            self._next_sweep = t + SWEEP_S
            t_us = _us(t)
            stale = [key for key, packet in self._packets.items()
                     if packet[LAST_ARRIVE] is None or packet[LAST_ARRIVE] < t_us]
            for key in stale:
                del self._packets[key]
            forget = t - self._lost_memory_s
            old = [msg_id for msg_id, at in itertools.takewhile(lambda item: item[1] < forget, self._lost_ids.items())]
            for msg_id in old:
                del self._lost_ids[msg_id]
            # Packets waiting to be counted (memory: at most SWEEP_S of a flow's packets wait)
            for mn in list(self._waiting):
                self._deliver_waiting(mn, t, inclusive=False)

    def advance(self, t: float) -> None:
        """Nothing else will happen before ``t`` (a run has reached it): what falls due before it is taken now, as
        the next event would. A tapping engine emits no event for its packets, so without this a long run with
        nothing but packets would keep every one of them waiting."""
        if t > self.clock:
            self._advance(t)
            self.clock = t

    # -- events ------------------------------------------------------------------------------------------------------

    def feed(self, e: Event) -> None:
        if e["kind"] == "DATA":
            self._data(e)  # it moves the clock itself, when the segment matters to a delivery
            return
        t = e["t"]
        if t > self.clock:
            self._advance(t)
            self.clock = t
        handler = self._handlers.get(e["kind"])
        if handler is None:
            handler = self._handlers[e["kind"]] = self._handler_for(e["kind"])
        handler(self, e)

    @classmethod
    def _handler_for(cls, kind: str) -> Callable[[MetricsObserver, Event], None]:
        """What an event of ``kind`` updates (looked up once per kind: ``feed`` keeps the answer)."""
        if is_message(kind):  # DATA never gets here: feed hands it to _data
            return cls._message
        if kind in _STATE_EVENTS:
            return cls._table_event
        by_kind: dict[str, Callable[[MetricsObserver, Event], None]] = {
            "tunnel_up": cls._tunnel_event, "tunnel_down": cls._tunnel_event,
            "flow_started": cls._flow_started, "flow_moved": cls._flow_event, "flow_stopped": cls._flow_event,
            "drop": cls._flow_event, "l2_attach": cls._l2, "l2_detach": cls._l2, "action": cls._action,
        }
        return by_kind.get(kind, _ignore)

    def _flow_started(self, e: Event) -> None:
        key = (e["mn"], e["flow"])
        info = self.flows.get(key)
        if info is None:
            info = self.flows[key] = FlowInfo(mn=e["mn"], cn=e["cn"], flow=e["flow"])
        self._mn_flows[e["mn"]][key] = None
        info.cn = e["cn"]
        info.periods.append([e["t"], None])
        info.interfaces.append((e["t"], e["interface"]))
        self._owner[e["flow"]] = e["mn"]

    def _flow_event(self, e: Event) -> None:
        kind = e["kind"]
        counted = kind == "drop" and self._drop(e)
        info = self._flow(e)
        if info is not None:
            if kind == "flow_moved":
                info.interfaces.append((e["t"], e["interface"]))
            elif kind == "flow_stopped":
                info.periods[-1][1] = e["t"]
            elif not counted:
                info.lost += 1

    def _action(self, e: Event) -> None:
        if e.get("action") == "move_flow":
            self._close_windows([(e["mn"], interface) for interface in self._open.get(e["mn"], {})], e["t"])

    def _flow(self, e: Event) -> FlowInfo | None:
        flow_id = e.get("flow")
        if flow_id is None:
            return None
        return self.flows.get((e.get("mn") or self._owner.get(flow_id, ""), flow_id))

    def _message(self, e: Event) -> None:
        """A signalling message (DATA goes to _data)."""
        kind = e["kind"]
        kinds = self.kinds
        kinds[kind] = kinds.get(kind, 0) + 1
        load = self._load_signalling
        load[e["src"]] = load.get(e["src"], 0) + 1
        load[e["dst"]] = load.get(e["dst"], 0) + 1
        if e.get("arrive") is None:  # lost on the way (a trace marks it so; a fault sends it so)
            self.lost[kind] += 1
            self._lost_ids[e.get("id")] = e["t"]
        if kind in REGISTRATIONS:
            self._count_retransmission(e)
        elif kind in ACKS and e.get("arrive") is not None:  # an answer lost on the way leaves the request unanswered
            key = self._pending_by_seq.pop((ACKS[kind], e["dst"], e["src"], e.get("mn"), e.get("sequence")), None)
            if key is not None and self._pending.get(key) == e.get("sequence"):
                del self._pending[key]
        if kind not in _MATCHED:
            return
        if kind == "RA":
            records = self._open.get(e["dst"], {}).get(e.get("interface", ""), ())
        elif kind in ACKS:
            records = self._awaiting.get((kind, e.get("mn"), e.get("sequence"), e["src"], e["dst"]), ())
        else:
            records = [r for open_ in self._open.get(e.get("mn"), {}).values() for r in open_]
        for record in records:
            if record.wants(e, self._awaiting):
                copy = dict(e)
                record.messages.append(copy)
                record.signalling.add(copy)
                record.version += 1
                if record.gaps and not record.confirmed and (kind == "RA" or kind in ACKS):  # only these complete
                    self._candidate(record)

    def _count_retransmission(self, e: Event) -> None:
        """A PBU/BU sent again for the same binding while the last one is unanswered (RFC 5213 §6.9.4, RFC 6275
        §11.8). An engine that numbers its transmissions (``attempt``: 1, 2, ...) or marks them (``retransmission``)
        is taken at its word, and nothing is remembered for it. Otherwise the binding's last unanswered request is
        (``_pending``), until its answer comes or a later request for the same binding takes its place."""
        kind = e["kind"]
        if "retransmission" in e or "attempt" in e:  # the engine says: attempt 2, 3, ... are retransmissions
            if e.get("retransmission") or (isinstance(e.get("attempt"), int) and e["attempt"] > 1):
                self.retransmissions[kind] += 1
            return
        key = (kind, e["src"], e["dst"], e.get("mn"), tuple(e.get("hnps") or ()), e.get("flow"),
               bool(e.get("lifetime")))
        if key in self._pending:
            self.retransmissions[kind] += 1
            superseded = (kind, e["src"], e["dst"], e.get("mn"), self._pending[key])
            if self._pending_by_seq.get(superseded) == key:  # its answer could no longer clear the binding
                del self._pending_by_seq[superseded]
        self._pending[key] = e.get("sequence")
        self._pending_by_seq[(kind, e["src"], e["dst"], e.get("mn"), e.get("sequence"))] = key

    def _drop(self, e: Event) -> bool:
        """A drop; True if its message was already counted as lost (a trace's message marked arrive null), then for
        its flow too."""
        msg_id = e.get("msg")
        if msg_id is None:
            return False
        if self._lost_ids.pop(msg_id, None) is not None:
            return True  # the message itself already said it was lost (arrive null); nothing else will drop it
        if not e.get("in_flight"):
            return False
        self.lost[e.get("msg_kind") or "?"] += 1
        info = self._flow(e)
        if info is not None:  # a packet waiting for its arrival time will not arrive (the segment arriving is its last)
            self._cancel(info, msg_id)
        for record in self._unsettled.get(e.get("mn"), ()):
            for message in record.messages:
                if message.get("id") == msg_id:
                    message["arrive"] = None
                    record.version += 1
        return False

    def _data(self, e: Event) -> None:
        """A DATA event (a trace's; a tapping engine builds none): counted for its pair (and as lost, if it was); a
        downlink segment extends its packet's chain, and the last one (to the MN), like the uplink one reaching the
        CN, is a delivery once the clock passes its arrival. Only those move the clock; an uplink segment short of the
        CN changes nothing else."""
        src, dst, arrive, msg_id = e["src"], e["dst"], e.get("arrive"), e.get("id")
        pair = self.data_pairs.get((src, dst))
        if pair is None:
            pair = self.data_pairs[(src, dst)] = [0, 0]
        pair[0] += 1
        info = self._flow(e)
        if arrive is None:  # lost on the way (a trace marks it so; a fault sends it so): so is its packet
            self.lost["DATA"] += 1
            self._lost_ids[msg_id] = e["t"]
            if info is not None:
                info.lost += 1
        up = e["direction"] != "down"
        if info is None or (up and dst != info.cn):
            return
        t = e["t"]
        if t > self.clock:
            self._advance(t)
            self.clock = t
        if up:
            if arrive is not None and (self.until is None or arrive <= self.until):
                self.tapped_up(info.mn, info.flow, round(arrive * US), msg_id)
            return
        # A packet's segments share (MN, flow, direction, packet number); the one leaving the sender starts it.
        key = (info.mn, info.flow, e["packet"])
        packet = self._packets.get(key)
        arrive_us = None if arrive is None else round(arrive * US)
        if packet is None or src == info.cn:
            packet = self._packets[key] = [e["packet"], round(t * US), msg_id, 1, bool(e.get("encapsulated")), src,
                                           arrive_us, None]  # LAST_ID: tapped_down fills it
        else:
            packet[SEGMENTS] += 1
            if e.get("encapsulated"):
                packet[TUNNELLED] = True
            packet[LAST_SRC], packet[LAST_ARRIVE] = src, arrive_us
        if dst == info.mn:
            del self._packets[key]
            if arrive is not None and arrive_us is not None and (self.until is None or arrive <= self.until):
                self.tapped_down(info.mn, info.flow, packet, arrive_us, msg_id)

    # -- a tapping engine's data path (simulator/metrics_feed.py, DataPlane.data_tapped) ---------------------------

    def _taps(self) -> tuple[Callable[..., None], Callable[..., None]]:
        """(tapped_down, tapped_up): a packet will reach its receiver, told once per packet by a tapping engine as its
        last segment leaves, and by ``_data`` for a trace's. It waits in its flow's pending lists ("deliveries"
        below). The hot path, so closures over the observer's tables."""
        flows, waiting = self.flows, self._waiting
        until_us = float("inf") if self.until is None else round(self.until * US)

        def tapped_down(mn: str, flow_id: str, packet: PacketRecord, arrive_us: int, msg_id: Any) -> None:
            """A downlink packet (its record) will reach its MN at ``arrive_us`` (microseconds), segment ``msg_id``."""
            if arrive_us > until_us or (info := flows.get((mn, flow_id))) is None:
                return
            packet[LAST_ARRIVE], packet[LAST_ID] = arrive_us, msg_id
            pending = info.pending_down
            if pending:
                # (arrival, first id) order: equal arrivals go to the later packet, as a stable sort would
                last_arrive = pending[-1][LAST_ARRIVE]
                if arrive_us < last_arrive or (arrive_us == last_arrive and packet[FIRST_ID] < pending[-1][FIRST_ID]):
                    info.unsorted = True
            else:
                waiting.setdefault(mn, {})[flow_id] = info
            pending.append(packet)

        def tapped_up(mn: str, flow_id: str, arrive_us: int, msg_id: Any) -> None:
            """An uplink packet will reach its CN at ``arrive_us``, segment ``msg_id``."""
            if arrive_us > until_us or (info := flows.get((mn, flow_id))) is None:
                return
            pending = info.pending_up
            if pending:
                if arrive_us < pending[-1]:
                    info.unsorted = True
            else:
                waiting.setdefault(mn, {})[flow_id] = info
            pending.append(arrive_us)
            info.pending_up_ids.append(msg_id)

        return tapped_down, tapped_up

    def tapped_lost(self, mn: str, flow_id: str, msg_id: int) -> None:
        """A tapping engine's DATA segment lost to a fault (it would be a DATA event with ``arrive`` null): lost as it
        was sent, no drop follows, so nothing is remembered; its packet is lost to its flow."""
        self.lost["DATA"] += 1
        info = self.flows.get((mn, flow_id))
        if info is not None:
            info.lost += 1

    # -- deliveries ----------------------------------------------------------------------------------------------------
    #
    # A packet that will reach its receiver waits in its flow's pending lists and is counted later, with the packets
    # of its flow that arrived before it: what counting it reads (the MAR serving the MN when it arrived, the arrivals
    # its handovers' gaps measure) changes only at an L2 event of its MN or when a handover record of the MN is
    # settled, and each of those first counts that MN's packets up to its instant (and every SWEEP_S, all packets that
    # have arrived are counted). Counting a flow's packets in a batch, in arrival order, costs less than
    # a heap of every packet in flight (bench/city.py).

    def _cancel(self, info: FlowInfo, msg_id: Any) -> None:
        """Segment ``msg_id`` was dropped on its way: if it was a waiting packet's last, the packet never arrives."""
        down = info.pending_down
        for i in range(len(down) - 1, -1, -1):
            if down[i][LAST_ID] == msg_id:
                del down[i]
                return
        if msg_id in info.pending_up_ids:
            i = info.pending_up_ids.index(msg_id)
            del info.pending_up[i], info.pending_up_ids[i]

    def _deliver_waiting(self, mn: str, t: float, inclusive: bool) -> None:
        """Count the packets of ``mn``'s flows that arrived before ``t`` (or at ``t`` too, ``inclusive``)."""
        waiting = self._waiting.get(mn)
        if not waiting:
            return
        bound = _us(t)
        for flow_id, info in list(waiting.items()):
            self._deliver(info, bound, inclusive)
            if not info.pending_down and not info.pending_up:
                del waiting[flow_id]
        if not waiting:
            del self._waiting[mn]

    def _deliver(self, info: FlowInfo, bound: float, inclusive: bool) -> None:
        """The flow's packets arrived before ``bound`` (microseconds; or at it, ``inclusive``), in arrival order:
        each delivered at its arrival, as docs/metrics.md "flows" defines (the attachments as they stood then)."""
        if info.unsorted:
            info.pending_down.sort(key=_ARRIVAL_ORDER)
            up = sorted(zip(info.pending_up, info.pending_up_ids, strict=True), key=_FIRST)
            info.pending_up, info.pending_up_ids = [a for a, _ in up], [i for _, i in up]
            info.unsorted = False
        cut = bisect_right if inclusive else bisect_left
        ups = info.pending_up
        n = cut(ups, bound) if ups else 0
        if n:  # uplink packets reached the CN: counted, and their arrivals kept
            arrivals = [arrive_us / US for arrive_us in ups[:n]]
            del ups[:n], info.pending_up_ids[:n]
            info.delivered_up += n
            _arrived_at(info.recent_up, info.gaps_up, arrivals)
        pending = info.pending_down
        n = cut(pending, bound, key=_ARRIVAL) if pending else 0
        if not n:
            return
        due = pending[:n]
        del pending[:n]
        arrivals = [packet[LAST_ARRIVE] / US for packet in due]
        # Sums over the batch, summed in C (the per-packet definitions, added up in another order: integers, exact)
        info.delivered_down += n
        info.hops += sum(map(_SEGMENTS, due))
        info.delay_us += sum(map(_ARRIVAL, due)) - sum(map(_SENT_US, due))
        info.tunnelled += sum(map(_TUNNELLED, due))
        info.last_hops = due[-1][SEGMENTS]  # the latest delivered downlink packet's
        # Direct = CN -> the MAR serving the flow's interface when the packet arrived -> MN. Usually one interface and
        # one MAR for the whole batch (no L2 event of the MN within it: one would have counted the packets before it).
        interfaces = info.interfaces
        attached = None
        if interfaces and interfaces[-1][0] <= arrivals[0]:
            attached = self._attached.get((info.mn, interfaces[-1][1] or ""))
        if attached:
            hops, delay_us = self._direct_path(info.cn, attached)
            info.direct_hops += n * hops
            info.direct_delay_us += n * delay_us
        else:
            for packet, arrival in zip(due, arrivals, strict=True):
                serving = self._attached.get((info.mn, info.interface_at(arrival) or "")) or packet[LAST_SRC]
                hops, delay_us = self._direct_path(info.cn, serving)
                info.direct_hops += hops
                info.direct_delay_us += delay_us
        _arrived_at(info.recent_down, info.gaps_down, arrivals)

    def _direct_path(self, cn: str, mar: str) -> tuple[int, int]:
        """(hops, delay in microseconds) of the direct path from ``cn`` through ``mar`` to its MN."""
        direct = self._direct.get((cn, mar))
        if direct is None:
            direct = self._direct[(cn, mar)] = (self.direct.hops(cn, mar), self.direct.delay_us(cn, mar))
        return direct

    # -- attachments and handovers ---------------------------------------------------------------------------------

    def _close_windows(self, keys: list[tuple[str, str]], t: float) -> None:
        for key in keys:
            mn, interface = key
            for record in self._open.get(mn, {}).pop(interface, []):
                record.end = t
                heapq.heappush(self._settle, (t + SETTLE_S, record.index, record))

    def _l2(self, e: Event) -> None:
        self._deliver_waiting(e["mn"], e["t"], inclusive=False)  # counted with the MN's attachments as they were
        key = (e["mn"], e["interface"])
        self._close_windows([key], e["t"])
        detached = self._detached_at[e["mn"]]
        if e["kind"] == "l2_detach":
            detached[e["interface"]] = e["t"]
            self._attached[key] = None
            return
        self._attached[key] = e["node"]
        # the detach, or the attach itself when there was no detach (a detach is the cut of the one attach after it)
        cut = detached.pop(e["interface"], float(e["t"]))
        record = _Attach(len(self._records), e, self._last_mar.get(key), cut)
        self._records.append(record)
        self._open[record.mn].setdefault(record.interface, []).append(record)
        self._unsettled[e["mn"]].append(record)
        self._last_mar[key] = e["node"]
        if record.handover:
            cut = record.cut
            # The flows of that MN active at the detach and using that interface then.
            for flow_key, info in self._flows_at(record.mn, cut):
                if not info.active_at(cut) or info.interface_at(cut) != record.interface:
                    continue
                flow_id = flow_key[1]
                down, up = _Gap(cut, info.recent_down), _Gap(cut, info.recent_up)
                record.gaps[flow_id] = (down, up)
                if not down.done:
                    info.gaps_down.append(down)
                if not up.done:
                    info.gaps_up.append(up)

    def _flows_at(self, mn: str, cut: float) -> list[tuple[tuple[str, str], FlowInfo]]:
        """The MN's flows that may be active at ``cut``, sorted. A later cut is never earlier than this one or than
        the latest detach of one of the MN's interfaces (the cut of its next attach), so a flow stopped before all of
        those can be active at none of them: it is let go (a restart brings it back, _flow_started)."""
        keys = self._mn_flows[mn]
        floor = min([cut, *self._detached_at[mn].values()])
        gone = [key for key in keys if (stop := self.flows[key].periods[-1][1]) is not None and stop <= floor]
        for key in gone:
            del keys[key]
            info = self.flows[key]  # of its arrivals, only those a gap at a later cut can start from stay
            info.recent_down, info.recent_up = _since(info.recent_down, floor), _since(info.recent_up, floor)
        return [(key, self.flows[key]) for key in sorted(keys)]

    def _candidate(self, record: _Attach) -> None:
        """The completion time the record's signalling points to now; confirmed once the clock has passed it."""
        if not record.signalling.ras:
            return  # no RA yet, and an attach completes with one (its answers come before it): nothing to look for
        completed, _ = record.completion(self.until)
        if completed is not None and completed != record.candidate:
            record.candidate = completed
            heapq.heappush(self._checks, (completed, record.index, record))

    def _check(self, record: _Attach, candidate: float) -> None:
        if record.result is not None or record.candidate != candidate:
            return
        completed, _ = record.completion(self.until)
        if completed == candidate:
            record.confirmed = True
            for pair in record.gaps.values():
                for gap in pair:
                    gap.confirm(completed)
        else:
            record.candidate = None
            if completed is not None:
                record.candidate = completed
                heapq.heappush(self._checks, (completed, record.index, record))

    def _finalize(self, record: _Attach) -> None:
        if record.result is not None:
            return
        completed, registrations = record.completion(self.until)
        out: dict[str, Any] = {"mn": record.mn, "interface": record.interface, "at": record.t0}
        if record.handover:
            out["from"] = record.previous
        out |= {
            "to": record.mar,
            "latency_ms": _ms(completed - record.t0) if completed is not None else None,
            "completed_at": completed,
            "registrations": registrations,
        }
        if record.handover:
            out["detached_at"] = record.cut
            interruption: dict[str, float | None] = {}
            by_direction: dict[str, dict[str, float | None]] = {}
            for flow_id, (down, up) in record.gaps.items():
                down.finish(completed)
                up.finish(completed)
                by_direction[flow_id] = {"down": _ms(down.value) if down.value is not None else None,
                                         "up": _ms(up.value) if up.value is not None else None}
                values = [g.value for g in (down, up) if g.value is not None]
                # An outage is an outage: a direction that never recovered makes the flow's interruption null.
                interruption[flow_id] = None if down.outage or up.outage or not values else _ms(max(values))
            out["interruption_ms"] = interruption
            out["interruption_by_direction_ms"] = by_direction
            out["unrecovered"] = [flow_id for flow_id, (down, up) in record.gaps.items() if down.outage or up.outage]
        record.result = out
        record.messages.clear()
        record.signalling = _SETTLED
        record.gaps.clear()
        unsettled = self._unsettled.get(record.mn)
        if unsettled is not None and record in unsettled:
            unsettled.remove(record)
        for answer in record.expected:
            waiting = self._awaiting.get(answer)
            if waiting is not None and record in waiting:
                waiting.remove(record)
                if not waiting:
                    del self._awaiting[answer]
        record.expected.clear()

    # -- tables and tunnels ------------------------------------------------------------------------------------------

    def _table_event(self, e: Event) -> None:
        if self._table_instant is None:
            self._table_instant = (e["t"], set())
        table, delta = _STATE_EVENTS[e["kind"]]
        sizes = self._tables.get(e["node"])
        if sizes is None:
            sizes = self._tables[e["node"]] = [0, 0, 0]
        sizes[table] += delta
        self._table_instant[1].add(e["node"])

    def _flush_tables(self) -> None:
        """Peaks are read after each instant, so an entry replaced within one instant is not counted twice."""
        assert self._table_instant is not None
        t, touched = self._table_instant
        self._table_instant = None
        tables, table_peak, binding_peak = self._tables, self._table_peak, self._binding_peak
        for node in touched:
            sizes = tables[node]
            bindings = sizes[0] + sizes[1]
            total = bindings + sizes[2]
            peak = table_peak.get(node)
            if peak is None or total > peak[0]:
                table_peak[node] = (total, t, dict(zip(TABLES, sizes, strict=True)))
            if bindings > binding_peak.get(node, 0):
                binding_peak[node] = bindings

    def _tunnel_event(self, e: Event) -> None:
        # A tunnel is the unordered pair of its ends; counting ups and downs per pair copes with an engine that
        # reports a tunnel from one end or from both.
        if self._tunnel_instant is None:
            self._tunnel_instant = (e["t"], set())
        pair = frozenset((e["node"], e["peer"]))
        was_up = self._tunnel_reports[pair] > 0
        self._tunnel_reports[pair] = max(0, self._tunnel_reports[pair] + (1 if e["kind"] == "tunnel_up" else -1))
        is_up = self._tunnel_reports[pair] > 0
        if not self._tunnel_reports[pair]:
            del self._tunnel_reports[pair]
        if is_up != was_up:
            step = 1 if is_up else -1
            self._tunnels_established += is_up
            self._tunnels_up += step
            for node in pair:
                self._tunnel_node[node] += step
                self._tunnel_instant[1].add(node)

    def _flush_tunnels(self) -> None:
        assert self._tunnel_instant is not None
        t, touched = self._tunnel_instant
        self._tunnel_instant = None
        for node in touched:
            self._tunnel_node_peak[node] = max(self._tunnel_node_peak[node], self._tunnel_node[node])
        if self._tunnels_up > self._tunnels_peak:
            self._tunnels_peak, self._tunnels_peak_at = self._tunnels_up, t

    # -- the document ------------------------------------------------------------------------------------------------

    def result(self) -> dict[str, Any]:
        """The "dmmviz-metrics/1" document. Call once, after the last event."""
        self._advance(float("inf"))
        for record in self._records:
            self._finalize(record)
        states = {}
        for node in sorted(self._tables):
            end = dict(zip(TABLES, self._tables[node], strict=True))
            peak = self._table_peak[node]
            states[node] = {"end": sum(end.values()), "peak": peak[0], "peak_at": peak[1], "end_by_table": end,
                            "peak_by_table": peak[2], "binding_peak": self._binding_peak.get(node, 0)}
        kinds = self.kinds
        load_data: Counter[str] = Counter()
        for (src, dst), (n, _) in self.data_pairs.items():
            load_data[src] += n
            load_data[dst] += n
        if self.data_pairs:
            kinds["DATA"] = sum(n for n, _ in self.data_pairs.values())
        records = [r.result for r in self._records if r.result is not None]
        metrics: dict[str, Any] = {
            "format": FORMAT,
            "title": self.title,
            "mode": self.mode,
            "until": self.until,
            "messages": dict(sorted(kinds.items())),
            "signalling_messages": sum(n for k, n in kinds.items() if k != "DATA"),
            "binding_messages": sum(kinds.get(k, 0) for k in (*REGISTRATIONS, *ACKS)),
            "data_segments": kinds.get("DATA", 0),
            "lost_messages": dict(sorted(self.lost.items())),
            "retransmissions": dict(sorted(self.retransmissions.items())),
            "handovers": [r for r in records if "from" in r],
            "attachments": [r for r in records if "from" not in r],
            "flows": {name: info.metrics() for name, info in _flow_names(self.flows).items()},
            "state_entries": states,
            "tunnels_peak": self._tunnels_peak,
            "tunnels_peak_at": self._tunnels_peak_at,
            "tunnels_end": self._tunnels_up,
            "tunnels_established": self._tunnels_established,
            "tunnels_peak_by_node": {n: v for n, v in sorted(self._tunnel_node_peak.items()) if v},
            "load": {n: {"signalling": self._load_signalling.get(n, 0), "data": load_data[n]}
                     for n in sorted(self._load_signalling.keys() | load_data.keys())},
        }
        metrics["summary"] = summarize(metrics, self.scenario)
        return metrics


def observe(sim: Any, until: float, on_event: Callable[[Event], Any] | None = None) -> dict[str, Any]:
    """Run ``sim`` (a ``Simulation``, best made with ``record=False``) to ``until`` and return its metrics, the
    observer fed each event as the engine emits it (simulator/metrics_feed.py): the run's events are never all in
    memory, and DATA segments are not even built as events. ``on_event`` (optional) sees every event too (DATA
    segments excepted, unless a fault is in force or ``sim`` records)."""
    observer = MetricsObserver(sim.scenario, round(until * US) / US, title=sim.scenario.get("title"), mode=sim.mode,
                               topology=sim.topology)
    with fewer_collections():  # the result too (simulator/metrics_feed.py)
        run_fed(sim, observer, until, on_event)
        return observer.result()


def compute_metrics(trace: dict[str, Any], scenario: dict[str, Any], until: float | None = None) -> dict[str, Any]:
    """The "dmmviz-metrics/1" document of a finished run's trace (the observer fed with its events).

    ``trace`` is a "dmmviz-trace/1" document (``Simulation.trace()``), ``scenario`` the scenario it ran (the dict
    ``load_scenario`` returns, or the parsed file). ``until``: the end of the run; a message arriving later is still
    in flight and is not counted as delivered (default: the trace's ``until`` if it has one, else every arrival).
    Raises ValueError when the trace is not a "dmmviz-trace/1" document.
    """
    if not isinstance(trace, dict) or trace.get("format") != "dmmviz-trace/1":
        raise ValueError("metrics need a 'dmmviz-trace/1' document")
    if until is None:
        until = trace.get("until")
    observer = MetricsObserver(scenario, until, title=trace.get("title", scenario.get("title")),
                               mode=trace.get("mode", scenario.get("mode")))
    for event in sorted(trace["events"], key=lambda e: e["seq"]):
        observer.feed(event)
    return observer.result()


def _flow_names(flows: dict[tuple[str, str], FlowInfo]) -> dict[str, FlowInfo]:
    """Flows keyed by their id, or by "MN/flow" for every flow when two MNs use the same flow id."""
    ids = [flow for _, flow in flows]
    unique = len(ids) == len(set(ids))
    ordered = sorted(flows, key=lambda k: (k[1], k[0]))
    return {(flow if unique else f"{mn}/{flow}"): flows[(mn, flow)] for mn, flow in ordered}


def _busiest(values: dict[str, int], keep: Callable[[str], bool]) -> dict[str, Any]:
    candidates = {n: v for n, v in values.items() if keep(n)}
    if not candidates:
        return {"node": None, "value": 0}
    node = min(candidates, key=lambda n: (-candidates[n], n))  # ties: the first id
    return {"node": node, "value": candidates[node]}


def summarize(metrics: dict[str, Any], scenario: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of one run (rows of ``compare``'s table), each a plain aggregate of the keys above."""
    hosts = {mn["id"] for mn in scenario["mobile_nodes"]} | {c["id"] for c in scenario["network"].get("cns", [])}
    def network(node: str) -> bool:  # routers, anchors and the DB
        return node not in hosts

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
        # (handover, flow) pairs whose traffic never came back within the run (interruption null although packets
        # flowed before): the outages the mean above cannot show.
        "interruptions_unrecovered": sum(len(h.get("unrecovered", ())) for h in metrics["handovers"]),
        "messages_lost": sum(metrics.get("lost_messages", {}).values()),
        "retransmissions": sum(metrics.get("retransmissions", {}).values()),
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
