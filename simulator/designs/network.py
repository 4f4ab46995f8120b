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
        signalling = {"DB_QUERY": sim.on_db_query, "DB_REPLY": self.on_db_reply, "DB_UPDATE": sim.on_db_update}
        return {**super().handlers(), **signalling, "PBU": self.on_pbu, "PBA": self.on_pba}

    def release_prefix(self, mar: Mar, mn: str, hnp: str) -> None:
        self.sim.release_prefix_at(mar, mn, hnp)

    def move_flow(self, mn: MobileNode, flow: Flow, iface: str) -> None:
        """Seed §4.3, Figure 6: the flow alone moves to another interface; its first packet there triggers a binding."""
        sim = self.sim
        old_iface = flow.interface
        flow.interface = iface
        sim.flow_state("flow_moved", flow, previous=old_iface)
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
                sim.bul_state("bul_removed", mar.id, entry)
        for hnp in mar.own.of(mn.id, iface):
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
        if (mn_id, iface) in mar.db_lookup:
            return  # a repeated RS while the lookup is out: the lookup's own repeats carry on, the RA follows it
        hnp = mar.local.get((mn_id, iface))
        written = []
        if hnp is None:  # seed §4.2 step 1/3: the MAR allocates a prefix for new communications
            hnp = sim.allocate_prefix(mar, mn_id, iface)
            written = [{"hnp": hnp, "anchor": mar.id, "interface": iface}]
        if (mn_id, iface) not in self.seen_attached:
            # seed Figure 5 step 1: a first attachment (the access network says so, as RFC 5213 §6.9.1.1's Handoff
            # Indicator 1 comes from L2) has no sessions to look up: write the new prefix, advertise it at once.
            self.seen_attached.add((mn_id, iface))
            if written:
                sim._send("DB_UPDATE", mar.id, sim.db_id, {"mn": mn_id, "op": "add", "entries": written})
            sim.send_ra(mar, mn_id, iface)
            return
        waiting: set[tuple[str, str | None]] = set()
        mar.pending_ra[(mn_id, iface)] = waiting
        # RFC 5213 §6.9.2 holds the RA for the PBAs; it is held at most INITIAL_BINDACK_TIMEOUT (docs/engine.md
        # "Faults and timers"): then the MAR advertises what is ready, and each late PBA brings another RA.
        sim._at(sim.now_us + sim.initial_us, self.ra_deadline, (mar, mn_id, iface, waiting))
        # seed §4.2 step 3: retrieve the MN's ongoing mobility sessions from the centralised database. The query also
        # writes the new prefix, one exchange as in RFC 8885 §3.3: ``entries`` is what it writes.
        self.send_db_query(mar, mn_id, iface, written, 1, sim.initial_us)

    def send_db_query(
        self, mar: Mar, mn_id: str, iface: str, written: list[dict[str, str]], attempt: int, timeout_us: int
    ) -> None:
        """The lookup, repeated with the PBU's back-off (RFC 5213 §6.9.4) until the DB answers (RFC 8885 is silent).
        Unlike a PBU it never gives up while the MN stays: it also writes the MAR's new prefix."""
        sim = self.sim
        fields = {"mn": mn_id, "interface": iface, "entries": written, "attempt": attempt}
        query = sim._send("DB_QUERY", mar.id, sim.db_id, fields)
        mar.db_lookup[(mn_id, iface)] = query["id"]
        sim._at(
            sim.now_us + timeout_us,
            self.db_query_timeout,
            (mar, mn_id, iface, written, attempt, timeout_us, query["id"]),
        )

    def db_query_timeout(self, arg: tuple[Mar, str, str, list[dict[str, str]], int, int, int]) -> None:
        sim = self.sim
        mar, mn_id, iface, written, attempt, timeout_us, query_id = arg
        if mar.db_lookup.get((mn_id, iface)) != query_id or mar.id in sim.faults.failed:
            return  # answered, or the MN left
        later = min(2 * timeout_us, round(sim.timers.max_bindack_timeout * 1_000_000))
        self.send_db_query(mar, mn_id, iface, written, attempt + 1, later)

    def ra_deadline(self, arg: tuple[Mar, str, str, set[tuple[str, str | None]]]) -> None:
        """No answer (DB or PBAs) within INITIAL_BINDACK_TIMEOUT: advertise what is ready (the MAR's own prefix, the
        prefixes already accepted)."""
        sim = self.sim
        mar, mn_id, iface, waiting = arg
        if mar.pending_ra.get((mn_id, iface)) is waiting and mar.id not in sim.faults.failed:
            sim.send_ra(mar, mn_id, iface)

    def on_db_reply(self, msg: dict[str, Any]) -> None:
        sim = self.sim
        mar = sim.mars[msg["dst"]]
        mn_id, iface = msg["mn"], msg["interface"]
        if msg.get("hnp"):
            self.flow_registration_reply(mar, msg)
            return
        if (mn_id, iface) not in mar.attached or mar.db_lookup.pop((mn_id, iface), None) is None:
            return  # the MN left meanwhile, or this lookup was answered already (a repeated query's second answer)
        waiting = mar.pending_ra.get((mn_id, iface))
        late = waiting is None  # the RA went at its deadline: late PBAs bring their own RA
        by_anchor: dict[str, list[str]] = {}
        listed = {entry["hnp"] for entry in msg["entries"]}
        for hnp in mar.own.of(mn_id, iface):  # its own prefixes, though a restarted DB forgot them
            if hnp not in listed:
                self.back_at_anchor(mar, mn_id, hnp)
        for entry in msg["entries"]:
            hnp, anchor = entry["hnp"], entry["anchor"]
            if anchor == mar.id:
                self.back_at_anchor(mar, mn_id, hnp)
            elif not sim.prefix_flows.get(hnp):
                continue  # REQ2: no active flow, no signalling, however stale the DB is (its remove may be in flight)
            elif (mn_id, hnp, None) not in mar.bul:
                by_anchor.setdefault(anchor, []).append(hnp)
        for anchor in sorted(by_anchor):
            hnps = sorted(by_anchor[anchor])
            self.send_pbu(mar, mn_id, iface, anchor, hnps, None, C.HI_BETWEEN_MAGS)
            if waiting is not None:
                waiting.add((anchor, None))
        if not late and not waiting:
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
        lifetime = sim.timers.binding_lifetime
        entries = [mar.bul.add(BulEntry(mn_id, iface, hnp, flow, anchor, lifetime, 0), "PBU sent") for hnp in hnps]
        sim.transmit_pbu(mar, entries, hi, lifetime, 1, sim.initial_us, C.FLOW_ACTION_ADD)

    def on_pbu(self, msg: dict[str, Any]) -> None:
        """The anchor (LMA role) processes a PBU (RFC 5213 §5.3)."""
        sim = self.sim
        anchor = sim.routers[msg["dst"]]
        mn_id, flow, serving = msg["mn"], msg.get("flow"), msg["src"]
        status = sim.ordering_status(anchor, mn_id, msg["hnps"], flow, msg["timestamp"])
        if status != C.STATUS_ACCEPTED:
            pass  # RFC 5213 §5.5: an out-of-date PBU changes nothing (a stale registration never wins a race)
        elif msg["lifetime"] > 0:
            not_mine = [h for h in msg["hnps"] if h not in anchor.own or anchor.own[h][0] != mn_id]
            status = C.STATUS_NOT_LMA_FOR_THIS_MN if not_mine else C.STATUS_ACCEPTED
            if status == C.STATUS_ACCEPTED:
                for hnp in msg["hnps"]:
                    sim._register(anchor, mn_id, hnp, flow, serving, msg["lifetime"], msg["sequence"], msg["timestamp"])
        else:  # RFC 5213 §5.3.5: a de-registration is honoured only from the MAG the binding points to
            for hnp in msg["hnps"]:
                binding = anchor.bc.lookup(mn_id, hnp, flow)
                if binding is not None and binding.serving == serving:
                    sim._deregister(anchor, mn_id, hnp, flow, msg["sequence"], msg["timestamp"])
        fields = sim.pba_fields(msg, msg["hnps"], status)
        if flow is not None:  # RFC 6089: the Flow Identification option echoed, with its status
            fields["flow"] = flow
            fields.update({k: msg[k] for k in ("flow_id", "flow_priority", "traffic_selector") if k in msg})
            fields["flow_status"] = 0 if status == C.STATUS_ACCEPTED else 128
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
            if sim.pba_for_entry(mar, entry, msg) in ("removed", "added"):
                withdrawn.add(entry.interface)  # a prefix released, or accepted after the RA went: another RA
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
                    sim.send_ra(mar, mn_id, iface)  # a released prefix goes, a late one comes

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
            sim.bul_state("bul_removed", mar.id, entry)

    def send_dereg(self, mar: Mar, entry: BulEntry) -> None:
        """RFC 5213 §6.9.1.2: PBU with lifetime 0 and Handoff Indicator 4, repeated with back-off while the entry is
        still in the binding update list (one for an entry already forgotten is sent once)."""
        sim = self.sim
        sim.transmit_pbu(mar, [entry], C.HI_UNKNOWN, 0, 1, sim.initial_us, C.FLOW_ACTION_DELETE)

    def flow_registration_reply(self, mar: Mar, msg: dict[str, Any]) -> None:
        """Flow mobility (Figure 6): the DB named the prefix's anchor; register this flow there (HI 2).

        Only a prefix of another interface is a moved flow. A prefix of this interface is a plain handover, which the
        RS-driven registration handles; if that registration is missing (it gave up, or the anchor restarted and its
        Heartbeat was lost), the MN's own traffic on the prefix brings it back: the MAR registers the prefix (HI 3)."""
        mn_id, flow_id, iface = msg["mn"], msg["flow"], msg["interface"]
        if not msg["entries"]:
            return  # an unknown prefix: keep the lookup marked; the flow's packets ask again MAX_BINDACK_TIMEOUT later
        mar.flow_lookups.pop((mn_id, msg["hnp"], flow_id), None)
        if (mn_id, iface) not in mar.attached:
            return
        entry = msg["entries"][0]
        if entry["anchor"] != mar.id and entry["interface"] != iface:
            self.send_pbu(mar, mn_id, iface, entry["anchor"], [msg["hnp"]], flow_id, C.HI_BETWEEN_INTERFACES)
        elif (
            entry["anchor"] != mar.id
            and (mn_id, msg["hnp"], None) not in mar.bul
            and self.sim.prefix_flows.get(msg["hnp"])
        ):
            self.send_pbu(mar, mn_id, iface, entry["anchor"], [msg["hnp"]], None, C.HI_BETWEEN_MAGS)
