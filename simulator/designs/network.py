"""Network-based DMM: the seed's section 4 (RFC 8885 locator mode).

Every MAR allocates /64s from its pool and anchors them; the session DB records each live prefix's anchor; when an
MN arrives, its new MAR asks the DB and sends a PBU to each anchor of a prefix with an active flow (REQ2), then the
RA lists those prefixes as deprecated. Flow mobility between interfaces (seed §4.3, Figure 6) is modelled here only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import constants as C
from ..bindings import BulEntry, State
from ..nodes import Flow, Mar, MobileNode
from .base import Design, Handler

if TYPE_CHECKING:
    from ..engine import Simulation


class NetworkDmm(Design):
    """Seed §4: the MARs anchor what they allocate; the session DB says where each live prefix is anchored."""

    name = "network-dmm"

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self.seen_attached: set[tuple[str, str]] = set()  # (mn, interface) that attached before: later RSs ask the DB

    def handlers(self) -> dict[str, Handler]:
        sim = self.sim
        return {
            "RS": self.on_rs,
            "RA": sim.on_ra,
            "DB_QUERY": sim.on_db_query,
            "DB_REPLY": self.on_db_reply,
            "DB_UPDATE": sim.on_db_update,
            "PBU": self.on_pbu,
            "PBA": self.on_pba,
            "DATA": sim.on_data,
        }

    def release_prefix(self, mar: Mar, mn: str, hnp: str) -> None:
        self.sim.release_prefix_at(mar, mn, hnp)

    def move_flow(self, mn: MobileNode, flow: Flow, iface: str) -> None:
        """Seed §4.3, Figure 6: the flow alone moves to another interface; its first packet there triggers a binding."""
        sim = self.sim
        old_iface = flow.interface
        flow.interface = iface
        sim._state(
            "flow_moved",
            mn.id,
            mn=mn.id,
            flow=flow.id,
            cn=flow.cn,
            interface=iface,
            previous=old_iface,
            prefix=flow.prefix,
            anchor=flow.anchor,
        )
        if flow.prefix is None:
            return
        for mar_id in sim._serving_mars(mn):  # a per-flow binding served on the old interface ends there
            entry = sim.mars[mar_id].bul.lookup(mn.id, flow.prefix, flow.id)
            if entry is not None and mar_id != mn.attached[iface]:
                self.end_flow_binding(sim.mars[mar_id], entry)
        self.send_data_up(mn, flow)

    def mn_left(self, mar: Mar, mn: MobileNode, iface: str, leaving: bool) -> None:
        """Seed §4: the old MAR serves nothing more for this interface; idle prefixes it anchors are released (REQ2)."""
        sim = self.sim
        for entry in sorted(mar.bul.for_interface(mn.id, iface), key=lambda e: (e.mn, e.hnp, e.flow or "")):
            if entry.flow is not None:
                self.end_flow_binding(mar, entry)
                continue
            mar.bul.remove(entry, "MN left")
            if entry.state == State.ACTIVE:
                sim._state("bul_removed", mar.id, mn=mn.id, hnp=entry.hnp, anchor=entry.anchor, flow=entry.flow)
        for hnp in sorted(h for h, owner in mar.own.items() if owner == (mn.id, iface)):
            if not sim.prefix_flows.get(hnp):
                sim.release_prefix_at(mar, mn.id, hnp)

    def on_rs(self, msg: dict[str, Any]) -> None:
        """Seed §4.2, Figure 5: the MAR allocates a prefix and asks the DB for the MN's earlier sessions."""
        sim = self.sim
        mar = sim.mars[msg["dst"]]
        mn_id, iface = msg["mn"], msg["interface"]
        if (mn_id, iface) not in mar.attached:
            sim._drop(mar.id, msg, "the MN left the link before its RS arrived", in_flight=True)
            return
        hnp = mar.local.get((mn_id, iface))
        written = []
        if hnp is None:  # seed §4.2 step 1/3: the MAR allocates a prefix for new communications
            hnp = sim._allocate_prefix(mar.id, mar.pool, mar.next_subnet, mn_id, iface)
            mar.next_subnet += 1
            mar.own[hnp] = (mn_id, iface)
            mar.local[(mn_id, iface)] = hnp
            written = [{"hnp": hnp, "anchor": mar.id, "interface": iface}]
        if (mn_id, iface) not in self.seen_attached:
            # seed Figure 5 step 1: a first attachment (the access network says so, as RFC 5213 §6.9.1.1's Handoff
            # Indicator 1 comes from L2) has no sessions to look up: write the new prefix, advertise it at once.
            self.seen_attached.add((mn_id, iface))
            if written:
                sim._send("DB_UPDATE", mar.id, sim.db_id, {"mn": mn_id, "op": "add", "entries": written})
            sim.send_ra(mar, mn_id, iface)
            return
        mar.pending_ra[(mn_id, iface)] = set()
        # seed §4.2 step 3: retrieve the MN's ongoing mobility sessions from the centralised database. The query also
        # writes the new prefix, one exchange as in RFC 8885 §3.3: ``entries`` is what it writes.
        sim._send("DB_QUERY", mar.id, sim.db_id, {"mn": mn_id, "interface": iface, "entries": written})

    def on_db_reply(self, msg: dict[str, Any]) -> None:
        sim = self.sim
        mar = sim.mars[msg["dst"]]
        mn_id, iface = msg["mn"], msg["interface"]
        if msg.get("hnp"):
            self.flow_registration_reply(mar, msg)
            return
        waiting = mar.pending_ra.get((mn_id, iface))
        if waiting is None:
            return  # the MN left meanwhile
        by_anchor: dict[str, list[str]] = {}
        for entry in msg["entries"]:
            hnp, anchor = entry["hnp"], entry["anchor"]
            if anchor == mar.id:
                self.back_at_anchor(mar, mn_id, hnp)
            elif (mn_id, hnp, None) not in mar.bul:
                by_anchor.setdefault(anchor, []).append(hnp)
        for anchor in sorted(by_anchor):
            hnps = sorted(by_anchor[anchor])
            self.send_pbu(mar, mn_id, iface, anchor, hnps, None, C.HI_BETWEEN_MAGS)
            waiting.add((anchor, None))
        if not waiting:
            sim.send_ra(mar, mn_id, iface)

    def back_at_anchor(self, mar: Mar, mn_id: str, hnp: str) -> None:
        """The MN is back at a prefix's anchor: the prefix is native again and its binding goes (seed §3.1)."""
        sim = self.sim
        binding = mar.bc.lookup(mn_id, hnp, None)
        if binding is not None and binding.state == State.ACTIVE:
            sim._delete_binding(mar, binding, "MN back at the anchor")

    def send_pbu(
        self, mar: Mar, mn_id: str, iface: str, anchor: str, hnps: list[str], flow: str | None, hi: int
    ) -> None:
        """RFC 5213 §6.9.1.1 / §8.1: flags A, H, P; MN-ID, HNP, Handoff Indicator, ATT and Timestamp options."""
        sim = self.sim
        seq = sim._next_sequence(mar, mn_id)
        lifetime = sim.timers.binding_lifetime
        for hnp in hnps:
            mar.bul.add(BulEntry(mn_id, iface, hnp, flow, anchor, lifetime, seq), "PBU sent")
        fields = sim._pbu_fields(mn_id, hnps, lifetime, seq, hi)
        if flow is not None:
            fields["flow"] = flow
        sim._send("PBU", mar.id, anchor, fields)

    def on_pbu(self, msg: dict[str, Any]) -> None:
        """The anchor (LMA role) processes a PBU (RFC 5213 §5.3)."""
        sim = self.sim
        anchor = sim.routers[msg["dst"]]
        mn_id, flow, serving = msg["mn"], msg.get("flow"), msg["src"]
        if msg["lifetime"] > 0:
            not_mine = [h for h in msg["hnps"] if h not in anchor.own or anchor.own[h][0] != mn_id]
            status = C.STATUS_NOT_LMA_FOR_THIS_MN if not_mine else C.STATUS_ACCEPTED
            if status == C.STATUS_ACCEPTED:
                for hnp in msg["hnps"]:
                    sim._register(anchor, mn_id, hnp, flow, serving, msg["lifetime"], msg["sequence"])
        else:  # RFC 5213 §5.3.5: a de-registration is honoured only from the MAG the binding points to
            status = C.STATUS_ACCEPTED
            for hnp in msg["hnps"]:
                binding = anchor.bc.lookup(mn_id, hnp, flow)
                if binding is not None and binding.serving == serving:
                    sim._deregister(anchor, mn_id, hnp, flow)
        fields = {
            "mn": mn_id,
            "mn_id": msg["mn_id"],
            "hnps": msg["hnps"],
            "status": status,
            "sequence": msg["sequence"],
            "lifetime": msg["lifetime"] if status == C.STATUS_ACCEPTED else 0,
            "flags": "P",
            "handoff_indicator": msg["handoff_indicator"],
            "att": msg["att"],
            "timestamp": msg["timestamp"],
        }
        if flow is not None:
            fields["flow"] = flow
        sim._send("PBA", anchor.id, serving, fields)

    def on_pba(self, msg: dict[str, Any]) -> None:
        """RFC 5213 §6.9.1.1: the serving MAR completes the binding; the RA waits for it (§6.9.2)."""
        sim = self.sim
        mar = sim.mars[msg["dst"]]
        mn_id, flow, anchor = msg["mn"], msg.get("flow"), msg["src"]
        withdrawn: set[str] = set()  # interfaces that lost a prefix here
        for hnp in msg["hnps"]:
            entry = mar.bul.lookup(mn_id, hnp, flow)
            if entry is None and msg["status"] == C.STATUS_ACCEPTED and msg["lifetime"] > 0:
                # The MN left before the PBA came back: undo the binding (RFC 5213 §6.9.1.2). The anchor ignores
                # this if another MAR has re-pointed the binding meanwhile (§5.3.5).
                gone = BulEntry(mn_id, "", hnp, flow, anchor, 0, msg["sequence"])
                self.send_dereg(mar, gone)
                continue
            if entry is None or entry.sequence != msg["sequence"]:
                continue  # stale: a newer PBU is out
            if msg["status"] != C.STATUS_ACCEPTED or msg["lifetime"] == 0:
                accepted_dereg = msg["status"] == C.STATUS_ACCEPTED
                mar.bul.remove(entry, "PBA for the de-registration" if accepted_dereg else "PBA rejected")
                withdrawn.add(entry.interface)
                if entry.state == State.ACTIVE:
                    sim._state("bul_removed", mar.id, mn=mn_id, hnp=hnp, anchor=anchor, flow=flow)
                continue
            if entry.state != State.ACTIVE:
                mar.bul.confirm(entry)
                sim._state("bul_added", mar.id, mn=mn_id, hnp=hnp, anchor=anchor, flow=flow)
        answered = False
        for (m, iface), waiting in list(mar.pending_ra.items()):
            if m == mn_id and (anchor, flow) in waiting:  # the answer an RA was waiting for (accepted or not)
                answered = True
                waiting.discard((anchor, flow))
                if not waiting:
                    sim.send_ra(mar, mn_id, iface)
        if not answered and flow is None:
            for iface in sorted(withdrawn):
                if (mn_id, iface) in mar.attached and (mn_id, iface) not in mar.pending_ra:
                    sim.send_ra(mar, mn_id, iface)  # a released prefix is no longer advertised

    def prefix_idle(self, mn: MobileNode, hnp: str) -> None:
        """REQ2: the last flow on a prefix ended. A redirected prefix is de-registered by its serving MAR."""
        sim = self.sim
        anchor = sim.routers[sim.prefix_anchor[hnp]]
        serving = None
        for mar_id in sim._serving_mars(mn):  # BUL entries live only where the MN is attached
            entry = sim.mars[mar_id].bul.lookup(mn.id, hnp, None)
            if entry is not None:
                serving = (sim.mars[mar_id], entry)
        if serving is not None:
            self.send_dereg(*serving)
            return
        owner = anchor.own.get(hnp)
        if owner is None:
            return
        at_anchor = mn.attached[owner[1]] == anchor.id
        if not at_anchor:  # nobody serves it (the MN is detached): the anchor releases it, and its binding goes
            self.release_prefix(anchor, mn.id, hnp)

    def flow_binding_ended(self, mn: MobileNode, hnp: str, flow_id: str) -> None:
        """A per-flow binding (Figure 6) ends with its flow: its serving MAR de-registers it."""
        sim = self.sim
        for mar_id in sim._serving_mars(mn):  # BUL entries live only where the MN is attached
            entry = sim.mars[mar_id].bul.lookup(mn.id, hnp, flow_id)
            if entry is not None:
                self.send_dereg(sim.mars[mar_id], entry)

    def end_flow_binding(self, mar: Mar, entry: BulEntry) -> None:
        """The flow left this MAR's interface: a per-flow binding (Figure 6) is not re-pointed by another MAR's lookup,
        so this MAR de-registers it and forgets it (a pending one is undone when its PBA comes back)."""
        sim = self.sim
        mar.bul.remove(entry, "flow left")
        if entry.state == State.ACTIVE:
            self.send_dereg(mar, entry)
            sim._state("bul_removed", mar.id, mn=entry.mn, hnp=entry.hnp, anchor=entry.anchor, flow=entry.flow)

    def send_dereg(self, mar: Mar, entry: BulEntry) -> None:
        """RFC 5213 §6.9.1.2: PBU with lifetime 0 and Handoff Indicator 4."""
        sim = self.sim
        seq = sim._next_sequence(mar, entry.mn)
        entry.sequence = seq
        fields = sim._pbu_fields(entry.mn, [entry.hnp], 0, seq, C.HI_UNKNOWN)
        if entry.flow is not None:
            fields["flow"] = entry.flow
        sim._send("PBU", mar.id, entry.anchor, fields)

    def flow_registration_reply(self, mar: Mar, msg: dict[str, Any]) -> None:
        """Flow mobility (Figure 6): the DB named the prefix's anchor; register this flow there (HI 2).

        Only a prefix of another interface is a moved flow; a prefix of this interface is a plain handover, which the
        RS-driven registration handles."""
        mn_id, flow_id, iface = msg["mn"], msg["flow"], msg["interface"]
        if not msg["entries"]:
            return  # an unknown prefix: keep the lookup marked, so the flow's next packets do not ask again
        mar.flow_lookups.discard((mn_id, msg["hnp"], flow_id))
        if (mn_id, iface) not in mar.attached:
            return
        entry = msg["entries"][0]
        if entry["anchor"] != mar.id and entry["interface"] != iface:
            self.send_pbu(mar, mn_id, iface, entry["anchor"], [msg["hnp"]], flow_id, C.HI_BETWEEN_INTERFACES)
