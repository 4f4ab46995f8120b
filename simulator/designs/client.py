"""Client-based DMM: the seed's section 3.2 (Figure 2) with Mobile IPv6 (RFC 6275).

Each access router is the home agent of the prefixes it allocated; after a move the MN itself sends a BU to every
earlier router that anchors an active flow; one tunnel per such router ends at the MN. No session DB and no PBU.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import constants as C
from ..bindings import BindingUpdateList, BulEntry, State
from ..constants import US
from ..nodes import BY_ID, Flow, Mar, MobileNode, Segment
from .base import Design, Forward, Handler, SendUp

if TYPE_CHECKING:
    from ..engine import Simulation



class ClientDmm(Design):
    """Seed §3.2: Mobile IPv6 with a home agent in every access router; the MN signals."""

    name = "client-dmm"

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        # The MN's own binding update list (RFC 6275 §11.1), keyed (mn, hnp, None); anchor = the home agent.
        self.mn_bul = BindingUpdateList()
        self.mn_sequence: dict[str, int] = {}

    def handlers(self) -> dict[str, Handler]:
        return {**super().handlers(), "RA": self.on_ra, "BU": self.on_bu, "BA": self.on_ba}

    def on_rs(self, msg: dict[str, Any]) -> None:
        """A plain IPv6 access router: a new prefix for new flows, advertised at once (seed §3.1)."""
        sim = self.sim
        ar = sim.mars[msg["dst"]]
        mn_id, iface = msg["mn"], msg["interface"]
        if (mn_id, iface) not in ar.attached:
            sim._drop(ar.id, msg, "the MN left the link before its RS arrived", in_flight=True)
            return
        if (mn_id, iface) not in ar.local:
            sim.allocate_prefix(ar, mn_id, iface)
        sim.send_ra(ar, mn_id, iface)

    def release_prefix(self, mar: Mar, mn: str, hnp: str) -> None:
        self.sim.give_back_prefix(mar, hnp)  # a home agent keeps no DB: nothing else to tell

    def mn_left(self, mar: Mar, mn: MobileNode, iface: str, leaving: bool) -> None:
        for hnp in mar.own.of(mn.id, iface):
            if not self.sim.prefix_flows.get(hnp):
                self.release_prefix(mar, mn.id, hnp)

    def on_ra(self, msg: dict[str, Any]) -> None:
        """The MN keeps its home addresses for active flows and binds each to its new care-of address (seed §3.2)."""
        sim = self.sim
        mn = sim.mns[msg["dst"]]
        iface, ar = msg["interface"], msg["src"]
        if mn.attached[iface] != ar:
            sim._drop(mn.id, msg, "the MN left the link before the RA arrived", in_flight=True)
            return
        homes = sorted({f.prefix for f in mn.flows.values() if f.active and f.prefix and f.interface == iface})
        advertised = {p["prefix"] for p in msg["prefixes"]}
        prefixes = [
            {
                **p,
                "valid_lifetime": sim.host_valid_lifetime(mn.id, iface, p["prefix"], p["valid_lifetime"]),
                "anchor": sim.prefix_anchor.get(p["prefix"]),
                "deprecated": False,
            }
            for p in msg["prefixes"]
        ]
        for hnp in homes:
            if hnp not in advertised:
                prefixes.append(
                    {
                        "prefix": hnp,
                        "preferred_lifetime": 0,
                        "valid_lifetime": sim.host_valid_lifetime(mn.id, iface, hnp, int(sim.timers.binding_lifetime)),
                        "anchor": sim.prefix_anchor[hnp],
                        "deprecated": True,
                        "home_address": True,
                    }
                )
        mn.prefixes[iface] = prefixes
        sim.forget_valid_lifetimes(mn.id, iface, prefixes)
        mn.link_confirmed[iface] = True
        sim._state("prefixes_changed", mn.id, mn=mn.id, interface=iface, prefixes=prefixes)
        coa = sim._address(msg["prefixes"][0]["prefix"]) if msg["prefixes"] else None
        for hnp in homes:
            home_agent = sim.prefix_anchor[hnp]
            if home_agent == ar:
                if self.mn_bul.lookup(mn.id, hnp, None) is not None:  # RFC 6275 §11.5.4: back home, de-register
                    self.send_bu(mn, iface, hnp, 0, sim._address(hnp))  # with the home address as care-of address
            elif coa is not None:
                self.send_bu(mn, iface, hnp, sim.timers.binding_lifetime, coa)
        for flow in sorted(mn.flows.values(), key=BY_ID):
            if flow.active and flow.prefix is None and flow.interface == iface:
                sim._bind_flow_prefix(mn, flow)

    def mn_path_delay(self, mn: MobileNode, iface: str, node: str) -> int:
        """MN -> its access router -> node: the radio link plus the wired path."""
        sim = self.sim
        ar = mn.attached[iface]
        return sim.access_us + (sim.topology.delay_us[ar][node] if ar and ar != node else 0)

    def care_of(self, mn: MobileNode, iface: str) -> str | None:
        """The MN's current care-of address on ``iface``: its address in the serving router's own prefix."""
        sim = self.sim
        ar = mn.attached[iface]
        local = sim.mars[ar].local.get((mn.id, iface)) if ar else None
        return sim._address(local) if local else None

    def send_bu(
        self, mn: MobileNode, iface: str, hnp: str, lifetime: float, coa: str, attempt: int = 1, timeout_us: int = 0
    ) -> None:
        """RFC 6275 §11.7.1: BU from the care-of address, flags A and H, Home Address option; a de-registration names
        a care-of address too (the home address when back home, §11.5.4). Without a BA it goes again with a new
        sequence number after InitialBindackTimeoutFirstReg (1.5 s) for a first registration, else
        INITIAL_BINDACK_TIMEOUT, doubling up to MAX_BINDACK_TIMEOUT (§11.8)."""
        sim = self.sim
        seq = (self.mn_sequence.get(mn.id, 0) + 1) % 65536
        self.mn_sequence[mn.id] = seq
        home_agent = sim.prefix_anchor[hnp]
        entry = self.mn_bul.lookup(mn.id, hnp, None)
        first = entry is None
        if entry is None:
            entry = self.mn_bul.add(BulEntry(mn.id, iface, hnp, None, home_agent, lifetime, seq), "PBU sent")
        entry.sequence, entry.lifetime, entry.attempt, entry.sent_us = seq, lifetime, attempt, sim.now_us
        entry.refreshing = entry.state == State.ACTIVE and lifetime > 0
        if entry.state == State.ACTIVE and attempt > 1:  # the MN's table shows the new sequence number
            sim.refreshing_state(mn.id, entry, [hnp], lifetime)
        fields = {
            "mn": mn.id,
            "interface": iface,
            "hnps": [hnp],
            "lifetime": lifetime,
            "sequence": seq,
            "flags": "AH",
            "home_address": sim._address(hnp),
            "care_of_address": coa,
            "attempt": attempt,
        }
        sim._send("BU", mn.id, home_agent, fields, delay_us=self.mn_path_delay(mn, iface, home_agent))
        if not timeout_us:
            first_reg = first and lifetime > 0
            timeout = sim.timers.initial_bindack_timeout_first_reg if first_reg else sim.timers.initial_bindack_timeout
            timeout_us = round(timeout * US)
        sim._at(sim.now_us + timeout_us, self.bu_timeout, (mn, iface, hnp, seq, lifetime, coa, attempt, timeout_us))

    def bu_timeout(self, arg: tuple[MobileNode, str, str, int, float, str, int, int]) -> None:
        sim = self.sim
        mn, iface, hnp, seq, lifetime, coa, attempt, timeout_us = arg
        entry = self.mn_bul.lookup(mn.id, hnp, None)
        if (
            entry is None
            or entry.sequence != seq
            or not (entry.state == State.PENDING or entry.refreshing or lifetime == 0)
        ):
            return  # answered or superseded
        max_us = round(sim.timers.max_bindack_timeout * US)
        if timeout_us >= max_us:
            self.mn_bul.remove(entry, "gave up")
            if entry.state == State.ACTIVE:
                sim.bul_state("bul_removed", mn.id, entry)
            sim.gave_up_state(mn.id, mn.id, [hnp], entry.anchor, None, lifetime, attempt)
            return
        self.send_bu(mn, iface, hnp, lifetime, coa, attempt + 1, min(2 * timeout_us, max_us))

    def on_bu(self, msg: dict[str, Any]) -> None:
        """The access router as home agent (RFC 6275 §10.3.1); status 133 for a prefix it did not allocate."""
        sim = self.sim
        ha = sim.mars[msg["dst"]]
        mn = sim.mns[msg["mn"]]
        hnp = msg["hnps"][0]
        mine = (ha.own.get(hnp) or ("", ""))[0] == mn.id
        status = C.STATUS_ACCEPTED if mine else C.STATUS_NOT_HOME_AGENT_FOR_THIS_MN
        known = ha.bc.lookup(mn.id, hnp, None)
        if mine and known is not None and not 0 < (msg["sequence"] - known.sequence) % 65536 < 32768:
            status, mine = C.STATUS_SEQUENCE_OUT_OF_WINDOW, False  # RFC 6275 §9.5.1: not newer than the last accepted
        if mine and msg["lifetime"] > 0:
            sim._register(ha, mn.id, hnp, None, mn.id, msg["lifetime"], msg["sequence"])
        elif mine:
            binding = ha.bc.lookup(mn.id, hnp, None)
            if binding is not None:
                sim._delete_binding(ha, binding, "de-registration (client)")
            if not sim.prefix_flows.get(hnp) and mn.attached[msg["interface"]] != ha.id:
                self.release_prefix(ha, mn.id, hnp)
        fields = {
            "mn": mn.id,
            "interface": msg["interface"],
            "hnps": [hnp],
            "status": status,
            "sequence": msg["sequence"],
            "lifetime": msg["lifetime"] if mine else 0,
        }
        sim._send("BA", ha.id, mn.id, fields, delay_us=self.mn_path_delay(mn, msg["interface"], ha.id))

    def on_ba(self, msg: dict[str, Any]) -> None:
        sim = self.sim
        mn = sim.mns[msg["dst"]]
        hnp = msg["hnps"][0]
        entry = self.mn_bul.lookup(mn.id, hnp, None)
        if entry is None or entry.sequence != msg["sequence"]:
            return
        if msg["status"] != C.STATUS_ACCEPTED or msg["lifetime"] == 0:
            accepted_dereg = msg["status"] == C.STATUS_ACCEPTED
            self.mn_bul.remove(entry, "PBA for the de-registration" if accepted_dereg else "PBA rejected")
            if entry.state == State.ACTIVE:
                sim.bul_state("bul_removed", mn.id, entry)
        else:
            entry.expires_us = entry.sent_us + round(msg["lifetime"] * US)
            if entry.state != State.ACTIVE:
                self.mn_bul.confirm(entry)
                sim.bul_state("bul_added", mn.id, entry)
            else:  # the MN's table shows the new expiry
                sim.bul_state("bul_refreshed", mn.id, entry, lifetime=msg["lifetime"], sequence=entry.sequence)
            entry.refreshing = False
            refresh_at = entry.sent_us + round(msg["lifetime"] * sim.timers.refresh_fraction * US)
            sim._at(refresh_at, self.mn_refresh, (mn, entry, entry.sequence))

    def mn_refresh(self, arg: tuple[MobileNode, BulEntry, int]) -> None:
        """RFC 6275 §11.7.1: the MN re-registers before its binding's lifetime runs out."""
        mn, entry, seq = arg
        if (
            self.mn_bul.lookup(mn.id, entry.hnp, None) is entry
            and entry.sequence == seq
            and entry.state == State.ACTIVE
        ):
            coa = self.care_of(mn, entry.interface)
            if coa is not None:
                self.send_bu(mn, entry.interface, entry.hnp, self.sim.timers.binding_lifetime, coa)

    def prefix_idle(self, mn: MobileNode, hnp: str) -> None:
        """Seed §3.2: Mobile IP resources are released after the communication stopped."""
        sim = self.sim
        entry = self.mn_bul.lookup(mn.id, hnp, None)
        if entry is not None:  # RFC 6275 §11.7.1: from the current care-of address (the home address if back home)
            self.send_bu(mn, entry.interface, hnp, 0, self.care_of(mn, entry.interface) or sim._address(hnp))
            return
        anchor = sim.mars[sim.prefix_anchor[hnp]]
        owner = anchor.own.get(hnp)
        if owner is not None and mn.attached[owner[1]] != anchor.id:
            self.release_prefix(anchor, mn.id, hnp)

    # -- data: the tunnel ends at the MN ------------------------------------------------------------------------

    def data_path(self) -> tuple[SendUp, Forward, Forward]:
        return self.send_data_up, self.forward_down, self.forward_up

    def send_data_up(self, mn: MobileNode, flow: Flow) -> None:
        sim = self.sim
        ar = mn.attached[flow.interface]
        if ar is None or flow.prefix is None or sim.prefix_anchor[flow.prefix] == ar:
            sim.send_data_up_native(mn, flow)
            return
        entry = self.mn_bul.lookup(mn.id, flow.prefix, None)
        if entry is None or entry.state != State.ACTIVE:
            sim._not_sent(flow, "no binding with the home agent yet")
            return
        sim._data(mn.id, ar, flow, "up", True, flow.packets)  # reverse tunnel

    def forward_down(self, mar: Mar, mn: MobileNode, flow: Flow, segment: Segment) -> None:
        sim = self.sim
        hnp = flow.prefix
        if segment[4]:  # at the care-of address's router: on to the MN, still encapsulated
            if sim._deliver_iface(mar, mn, flow) is not None:
                sim._data(mar.id, mn.id, flow, "down", True, segment[6])
            else:
                sim._drop_data(mar.id, segment, f"{mn.id} is not attached to {mar.id}", in_flight=False)
            return
        binding = mar.bc.lookup(mn.id, hnp, None) if hnp is not None and sim.prefix_anchor.get(hnp) == mar.id else None
        if binding is not None:
            ar = mn.attached[flow.interface]
            if ar is None or ar == mar.id:
                sim._drop_data(mar.id, segment, f"{mn.id} is not reachable at its care-of address", in_flight=False)
            else:
                sim._data(mar.id, ar, flow, "down", True, segment[6])
            return
        sim.pmip_forward_down(mar, mn, flow, segment)

    def forward_up(self, mar: Mar, mn: MobileNode, flow: Flow, segment: Segment) -> None:
        sim = self.sim
        hnp = flow.prefix
        anchor = sim.prefix_anchor.get(hnp) if hnp is not None else None
        if segment[4] and anchor is not None and anchor != mar.id:
            sim._data(mar.id, anchor, flow, "up", True, segment[6])
            return
        if segment[4] or anchor == mar.id:
            sim._data(mar.id, flow.cn, flow, "up", False, segment[6])
            return
        sim._drop_data(mar.id, segment, f"{hnp} is not {mar.id}'s prefix and {mn.id} has no binding", in_flight=False)

    def snapshot_extra(self, state: dict[str, Any]) -> None:
        for mn_id, mn_state in state["mns"].items():
            mn_state["binding_update_list"] = [
                {
                    "hnp": e.hnp,
                    "home_agent": e.anchor,
                    "anchor": e.anchor,
                    "lifetime": round(max(0, e.expires_us - self.sim.now_us) / US, 3),
                    "expires": e.expires_us / US,
                    "sequence": e.sequence,
                }
                for e in sorted(self.mn_bul.values(), key=lambda e: (e.mn, e.hnp))
                if e.mn == mn_id and e.state == State.ACTIVE
            ]
