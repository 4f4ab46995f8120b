"""The data plane (seed §3.1): data packets hop by hop between the MN, the routers and the CN.

A mixin of the Simulation, so the hot path (``_data``/``on_data``) reads the core's attributes directly. Where the
designs differ (a packet at a router with a binding, the MN's reverse tunnel in client-dmm) the core asks its
design (``forward_down``, ``forward_up``, ``send_data_up``); the PMIP forwarding here is what network-dmm and
centralized-pmipv6 use, and client-dmm falls back to.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import TYPE_CHECKING, Any

from .bindings import Binding, State
from .clock import Handler, Scheduler
from .constants import US
from .nodes import FIRST_ID, LAST_SRC, NUMBER, SEGMENTS, TUNNELLED, Flow, Mar, MobileNode, PacketRecord, Segment

if TYPE_CHECKING:
    from .constants import Timers
    from .designs import Design
    from .faults import Faults
    from .topology import Topology



class DataPlane:
    """Data packets: sending, forwarding at routers, delivery, drops."""

    # What the data plane reads of the core (simulator/engine.py sets them).
    now_us: int
    access_us: int
    db_id: str
    timers: Timers
    topology: Topology
    routers: dict[str, Mar]
    design: Design
    faults: Faults
    _faulty: bool
    _msg_id: int
    _seq: int
    _watching: bool
    _at: Callable[[int, Handler, Any], int]
    clock: Scheduler
    _forward_down: Callable[[Mar, MobileNode, Flow, Segment], None]  # the design's data path (Design.data_path)
    _forward_up: Callable[[Mar, MobileNode, Flow, Segment], None]
    _on_data: Callable[[Segment], None]  # ``on_data`` bound once: each hop schedules it
    # A metrics observer's taps (data_tapped): a downlink packet's last segment (MN, flow id, its record, arrival in
    # microseconds, segment id), the uplink one reaching the CN (MN, flow id, arrival, id), a segment lost to a fault;
    # and where it counts every segment per (src, dst): [segments, the hop's delay in microseconds]
    _tap_down: Callable[[str, str, PacketRecord, int, int], None]  # (mn, flow id, record, arrival, segment id)
    _tap_up: Callable[[str, str, int, int], None]  # (mn, flow id, arrival, segment id)
    _tap_lost: Callable[[str, str, int], None]  # (mn, flow id, segment id)
    _tap_pairs: dict[tuple[str, str], list[int]]
    _tap_since: int  # the last message id before the observer came: a packet record from before is not its own

    if TYPE_CHECKING:

        def _emit(self, event: dict[str, Any]) -> dict[str, Any]: ...

        def _send(
            self, kind: str, src: str, dst: str, fields: dict[str, Any], delay_us: int | None = None
        ) -> dict[str, Any]: ...

        def _delete_binding(self, anchor: Mar, binding: Binding, event: str) -> None: ...

    def _address(self, prefix: str) -> str:
        return prefix.split("/")[0] + "1"  # interface id ::1 in the /64

    def send_data_up_native(self, mn: MobileNode, flow: Flow) -> None:
        mar_id = mn.attached[flow.interface]
        if mar_id is None:
            self._not_sent(flow, f"{flow.interface} is not attached")
            return
        self._data(mn.id, mar_id, flow, "up", False, flow.packets)

    def _data(self, src: str, dst: str, flow: Flow, direction: str, encapsulated: bool,
              packet: int | PacketRecord) -> None:
        """One segment of a data packet between two nodes of the diagram (the IP core is not one). The hot path.

        In flight a segment is a plain tuple ``Segment``; its event dict is built only when someone keeps or
        collects events (a batch run without a trace skips it), and faults are looked at only while one is in force:
        the common case, a batch run without faults, takes the first branch and nothing else."""
        delay = self.access_us if src == flow.mn or dst == flow.mn else self.topology.delay_us[src][dst]
        self._msg_id += 1
        if not (self._watching or self._faulty):
            self._seq += 1  # unobserved, but still a visible step
            if dst != flow.cn:  # the CN is a sink: nothing happens when the packet arrives, so nothing is scheduled
                clock = self.clock  # the hot path pushes inline: one call less per hop (simulator/clock.py)
                clock.counter += 1
                heappush(clock.queue, (self.now_us + delay, clock.counter, self._on_data,
                                       (self._msg_id, src, dst, direction, encapsulated, flow, packet)))
            return
        self._data_seen(src, dst, flow, direction, encapsulated, packet, delay)

    def data_tapped(self, src: str, dst: str, flow: Flow, direction: str, encapsulated: bool,
                    packet: int | PacketRecord) -> None:
        """``_data`` while a metrics observer taps the data path (simulator/metrics_feed.py installs it, with the
        ``_tap_*`` callbacks and ``_tap_pairs``). No event is built: the segment is counted for its (src, dst) pair and
        goes as when nobody watches, a downlink packet carrying its ``PacketRecord`` from hop to hop; the observer
        hears of a packet once, when its last segment leaves (towards the MN downlink, the CN uplink: it counts the
        delivery once its clock passes the arrival, unless a ``drop`` of that segment came first), and of a segment a
        fault loses (the same random draw as ``_data_seen``: only the engine makes it)."""
        pair = self._tap_pairs.get((src, dst))  # the count and the delay in one lookup
        if pair is None:
            delay = self.access_us if src == flow.mn or dst == flow.mn else self.topology.delay_us[src][dst]
            pair = self._tap_pairs[(src, dst)] = [0, delay]
        pair[0] += 1
        msg_id = self._msg_id = self._msg_id + 1
        self._seq += 1  # unobserved as an event, but still a visible step
        if self._faulty and self.faults.verdict("DATA", src, dst) is not None:
            self._tap_lost(flow.mn, flow.id, msg_id)  # formats.md "Faults": lost in the network, it arrives nowhere
            return
        at = self.now_us + pair[1]
        if direction == "down":
            if packet.__class__ is int or packet[FIRST_ID] <= self._tap_since:  # type: ignore[index]
                # its first segment (or the first this observer sees: a trace from here would start it here)
                number = packet if packet.__class__ is int else packet[NUMBER]  # type: ignore[index]
                packet = [number, self.now_us, msg_id, 1, encapsulated, src, None, None]
            else:
                packet[SEGMENTS] += 1  # type: ignore[index]
                if encapsulated:
                    packet[TUNNELLED] = True  # type: ignore[index]
            if dst == flow.mn:
                packet[LAST_SRC] = src  # type: ignore[index]
                self._tap_down(flow.mn, flow.id, packet, at, msg_id)  # type: ignore[arg-type]
        elif dst == flow.cn:
            self._tap_up(flow.mn, flow.id, at, msg_id)
            return  # the CN is a sink (as in _data)
        clock = self.clock
        clock.counter += 1
        heappush(clock.queue, (at, clock.counter, self._on_data,
                               (msg_id, src, dst, direction, encapsulated, flow, packet)))

    def _data_seen(self, src: str, dst: str, flow: Flow, direction: str, encapsulated: bool,
                   packet: int | PacketRecord, delay: int) -> None:
        """``_data`` when someone watches the events or a fault is in force: the same, with the event and the
        fault's verdict."""
        now = self.now_us
        verdict = self.faults.verdict("DATA", src, dst) if self._faulty else None
        if self._watching:
            up = direction == "up"
            event = {
                "id": self._msg_id,
                "t": now / US,
                "arrive": (now + delay) / US,
                "kind": "DATA",
                "src": src,
                "dst": dst,
                "flow": flow.id,
                "mn": flow.mn,
                "direction": direction,
                "encapsulated": encapsulated,
                "inner_src": flow.mn_address if up else flow.cn_address,
                "inner_dst": flow.cn_address if up else flow.mn_address,
                "prefix": flow.prefix,
                "packet": packet if packet.__class__ is int else packet[NUMBER],  # type: ignore[index]
                "size": self.timers.data_size,
            }
            if verdict is not None:  # formats.md "Faults": lost in the network
                event.update(arrive=None, lost="fault", fault=verdict[0], lost_reason=verdict[1])
            self._emit(event)
        else:
            self._seq += 1  # unobserved, but still a visible step
        if dst == flow.cn or verdict is not None:
            return  # the CN is a sink; a lost packet arrives nowhere
        clock = self.clock
        clock.counter += 1
        heappush(clock.queue, (now + delay, clock.counter, self._on_data,
                               (self._msg_id, src, dst, direction, encapsulated, flow, packet)))

    def on_data(self, segment: Segment) -> None:
        _, src, dst, direction, encapsulated, flow, packet = segment
        if dst == flow.mn:  # an MN never fails (only a MAR, the DB or the LMA can)
            if src not in flow.node.attached.values():
                self._drop_data(dst, segment, "the MN left the link while the packet was on the air", in_flight=True)
            return
        if self._faulty and dst in self.faults.failed:
            self._drop_data(dst, segment, f"{dst} has failed", in_flight=True, failed=True)
            return
        mar = self.routers[dst]
        if not encapsulated and flow.mn not in mar.bc.bound:  # fast paths: plain routing, no binding for this MN here
            if direction == "down" and flow.node.attached[flow.interface] == dst:
                self._data(dst, flow.mn, flow, "down", False, packet)
                return
            if direction == "up" and flow.anchor == dst:
                self._data(dst, flow.cn, flow, "up", False, packet)
                return
        if direction == "down":
            self._forward_down(mar, flow.node, flow, segment)
        else:
            self._forward_up(mar, flow.node, flow, segment)

    def _drop_data(self, node: str, segment: Segment, reason: str, in_flight: bool, failed: bool = False) -> None:
        flow = segment[5]
        self._emit_drop(node, segment[0], "DATA", flow.id, flow.mn, reason, in_flight, failed)

    def _not_sent(self, flow: Flow, reason: str) -> None:
        """The MN cannot send the flow's next packet (a drop at the MN, of no message)."""
        self._emit_drop(flow.mn, None, "DATA", flow.id, flow.mn, reason, False)

    def _emit_drop(
        self,
        node: str,
        msg_id: int | None,
        msg_kind: str,
        flow_id: str | None,
        mn_id: str | None,
        reason: str,
        in_flight: bool,
        failed: bool = False,
    ) -> None:
        """The one place a ``drop`` event is built (simulator/events.py). ``failed``: the message's destination had
        failed while it was on its way (formats.md "Faults")."""
        event = {"t": self.now_us / US, "kind": "drop", "node": node, "msg": msg_id, "msg_kind": msg_kind}
        event.update(flow=flow_id, mn=mn_id, reason=reason, in_flight=in_flight)
        if failed:
            event.update(lost="fault", fault="fail")
        self._emit(event)

    def _deliver_iface(self, mar: Mar, mn: MobileNode, flow: Flow | None) -> str | None:
        if flow is not None and mn.attached[flow.interface] == mar.id:
            return flow.interface
        for iface in mn.interfaces:
            if mn.attached[iface] == mar.id:
                return iface
        return None

    def pmip_forward_down(self, mar: Mar, mn: MobileNode, flow: Flow, segment: Segment) -> None:
        hnp = flow.prefix
        here = mn.attached[flow.interface] == mar.id
        if here and mn.id not in mar.bc.bound:  # the common case: the MN sits at the anchor, nothing bound for it
            self._data(mar.id, mn.id, flow, "down", False, segment[6])
            return
        if not segment[4] and flow.anchor == mar.id and not here:
            # At the anchor: a binding (per flow first, then per prefix) sends it down the tunnel (RFC 5213 §5.6.2).
            # A flow whose interface sits on the anchor's own link stays native (seed §4.3: per-flow anchoring).
            binding = mar.bc.get((mn.id, hnp, flow.id))  # type: ignore[arg-type]  # a flow has a prefix here
            if (
                binding is None or binding.state != State.ACTIVE
            ):  # a per-flow binding being deleted yields to the prefix's
                binding = mar.bc.get((mn.id, hnp, None)) or binding  # type: ignore[arg-type]
            if binding is not None:
                if binding.state != State.ACTIVE:
                    self._drop_data(mar.id, segment, "binding is being deleted", in_flight=False)
                    return
                self._data(mar.id, binding.serving, flow, "down", True, segment[6])
                return
        if self._deliver_iface(mar, mn, flow) is not None:
            self._data(mar.id, mn.id, flow, "down", False, segment[6])
        else:
            self._drop_data(mar.id, segment, f"{mn.id} is not attached to {mar.id}", in_flight=False)

    def pmip_forward_up(self, mar: Mar, mn: MobileNode, flow: Flow, segment: Segment) -> None:
        hnp = flow.prefix
        assert hnp is not None  # a flow sends only once it has a prefix
        if segment[4] or flow.anchor == mar.id:
            came_home = mar.bc.get((mn.id, hnp, flow.id)) if segment[1] == mn.id and mn.id in mar.bc.bound else None
            if came_home is not None:
                self._delete_binding(mar, came_home, "MN back at the anchor")  # the flow came home
            self._data(mar.id, flow.cn, flow, "up", False, segment[6])
            return
        # seed §3.1: an outgoing packet on a prefix anchored elsewhere goes back to its anchor through the tunnel
        entry = mar.bul.get((mn.id, hnp, flow.id)) or mar.bul.get((mn.id, hnp, None))
        if entry is not None and entry.state == State.ACTIVE:
            self._data(mar.id, entry.anchor, flow, "up", True, segment[6])
            return
        self._drop_data(mar.id, segment, f"{mar.id} has no binding for {hnp} yet", in_flight=False)
        iface = self._deliver_iface(mar, mn, flow)
        lookup = (mn.id, hnp, flow.id)
        settled = (mn.id, iface) in mar.local and (mn.id, iface) not in mar.pending_ra  # its own RS was answered
        asked = mar.flow_lookups.get(lookup)
        unanswered = asked is not None and self.now_us - asked >= round(self.timers.max_bindack_timeout * US)
        if entry is None and settled and flow.interface == iface and (asked is None or unanswered):
            # Figure 6: a flow may have moved to this interface: look its prefix up in the DB. The same lookup brings
            # back a registration that was lost for good (docs/engine.md "Faults and timers"); a lookup without an
            # answer is asked again MAX_BINDACK_TIMEOUT later.
            mar.flow_lookups[lookup] = self.now_us
            self._send(
                "DB_QUERY",
                mar.id,
                self.db_id,
                {"mn": mn.id, "interface": iface, "hnp": hnp, "flow": flow.id, "entries": []},
            )
