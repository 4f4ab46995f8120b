"""The three anchoring designs, as strategy objects handed to one core (simulator.engine.Simulation).

The core owns the clock, the nodes, the binding tables, the flows and the data path, and implements the machinery
every design shares (allocating prefixes, registering and de-registering bindings, tunnels, RAs, PMIP forwarding).
A :class:`Design` makes the few decisions in which the designs differ, and the core asks it only through the methods
below: who answers an RS and how (``handlers``), what the old access router does when an MN leaves (``mn_left``),
what happens when a prefix's last flow ends (``prefix_idle``), where a data packet goes at a router
(``forward_down``/``forward_up``), and so on.

- :class:`NetworkDmm`: the seed's section 4 (network-based DMM with a session DB, RFC 8885 locator mode). Its
  signalling is the core's own PMIP machinery, so its decisions name core methods.
- :class:`CentralizedPmipv6`: RFC 5213 with one LMA, the baseline the seed argues against (seed §2). Every attachment
  registers at the LMA before the RA, moving or not; all traffic is tunnelled LMA <-> serving MAG; a handover moves
  the binding; ``detach`` de-registers and the LMA deletes the entry after MinDelayBeforeBCEDelete.
- :class:`ClientDmm`: the seed's section 3.2 (Figure 2) with Mobile IPv6 (RFC 6275): each access router is the home
  agent of the prefixes it allocated; after a move the MN itself sends a BU to every earlier router that anchors an
  active flow; one tunnel per such router ends at the MN. No session DB and no PBU.

Which commands a design accepts is the command catalogue's business (``CommandSpec.designs``,
simulator/commands.py): ``move_flow`` exists only in ``network-dmm``.

The designs import nothing of the engine at run time (the core is handed to them), so there is no import circle.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import constants as C
from .bindings import SERVING, Binding, BindingUpdateList, BulEntry, State, next_state
from .nodes import Flow, Mar, MobileNode, Segment

if TYPE_CHECKING:
    from .engine import Simulation

US = 1_000_000
Handler = Callable[[Any], None]


class Design:
    """The decisions of one anchoring design. One instance per simulation (it may keep state of its own)."""

    name = ""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim

    def lma(self, spec: dict[str, str]) -> Mar | None:
        """The central anchor this design adds to the network, if any."""
        return None

    def handlers(self) -> dict[str, Handler]:
        """Message kind -> what the receiving node does with it."""
        raise NotImplementedError

    def l2_detaching(self, mn: MobileNode, iface: str) -> None:
        """The MN's interface is about to leave its access router (before the core forgets the link)."""

    def mn_left(self, mar: Mar, mn: MobileNode, iface: str, leaving: bool) -> None:
        """The access router ``mar`` lost the MN's interface (``leaving``: a detach, else the first half of a move)."""
        raise NotImplementedError

    def release_prefix(self, mar: Mar, mn: str, hnp: str) -> None:
        """The anchor gives a prefix up."""
        raise NotImplementedError

    def prefix_idle(self, mn: MobileNode, hnp: str) -> None:
        """The last active flow on ``hnp`` ended (REQ2)."""
        raise NotImplementedError

    def flow_binding_ended(self, mn: MobileNode, hnp: str, flow_id: str) -> None:
        """A flow ended: a per-flow binding of it (Figure 6), if any, goes."""

    def binding_expired(self, anchor: Mar, binding: Binding) -> None:
        """MinDelayBeforeBCEDelete passed and the core deleted ``binding``."""

    def send_data_up(self, mn: MobileNode, flow: Flow) -> None:
        """The MN sends the flow's next packet."""
        self.sim.send_data_up_native(mn, flow)

    def forward_down(self, mar: Mar, mn: MobileNode, flow: Flow, segment: Segment) -> None:
        """A packet towards the MN reached the router ``mar`` and no fast path applied."""
        self.sim.pmip_forward_down(mar, mn, flow, segment)

    def forward_up(self, mar: Mar, mn: MobileNode, flow: Flow, segment: Segment) -> None:
        """A packet from the MN reached the router ``mar`` and no fast path applied."""
        self.sim.pmip_forward_up(mar, mn, flow, segment)

    def snapshot_extra(self, state: dict[str, Any]) -> None:
        """Add what only this design keeps to the "dmmviz-state/1" snapshot."""


# ---------------------------------------------------------------------------------------------------------------


class NetworkDmm(Design):
    """Seed §4: the MARs anchor what they allocate; the session DB says where each live prefix is anchored."""

    name = "network-dmm"

    def handlers(self) -> dict[str, Handler]:
        sim = self.sim
        return {
            "RS": sim.dmm_on_rs,
            "RA": sim.on_ra,
            "DB_QUERY": sim.dmm_on_db_query,
            "DB_REPLY": sim.dmm_on_db_reply,
            "DB_UPDATE": sim.dmm_on_db_update,
            "PBU": sim.dmm_on_pbu,
            "PBA": sim.dmm_on_pba,
            "DATA": sim.on_data,
        }

    def mn_left(self, mar: Mar, mn: MobileNode, iface: str, leaving: bool) -> None:
        self.sim.dmm_mn_left(mar, mn, iface)

    def release_prefix(self, mar: Mar, mn: str, hnp: str) -> None:
        self.sim.dmm_release_prefix(mar, mn, hnp)

    def prefix_idle(self, mn: MobileNode, hnp: str) -> None:
        self.sim.dmm_prefix_idle(mn, hnp)

    def flow_binding_ended(self, mn: MobileNode, hnp: str, flow_id: str) -> None:
        self.sim.dmm_release_flow_binding(mn, hnp, flow_id)


# ---------------------------------------------------------------------------------------------------------------


class CentralizedPmipv6(Design):
    """RFC 5213: the MARs act as MAGs, one LMA anchors every prefix."""

    name = "centralized-pmipv6"

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self.lma_id = ""
        self.came_from: dict[tuple[str, str], str | None] = {}  # (mn, interface) -> the MAG it just left

    def lma(self, spec: dict[str, str]) -> Mar | None:
        self.lma_id = spec["id"]
        return Mar(spec["id"], ipaddress.IPv6Network(spec["prefix_pool"]))

    def handlers(self) -> dict[str, Handler]:
        sim = self.sim
        # DB_UPDATE: a de-registered idle HNP is released as in network-dmm, which tells the (unused) session DB.
        return {"RS": self.on_rs, "RA": sim.on_ra, "PBU": self.on_pbu, "PBA": self.on_pba, "DATA": sim.on_data,
                "DB_UPDATE": sim.dmm_on_db_update}

    def l2_detaching(self, mn: MobileNode, iface: str) -> None:
        self.came_from[(mn.id, iface)] = mn.attached[iface]

    def on_rs(self, msg: dict[str, Any]) -> None:
        """RFC 5213 §6.9.1.1: the MAG registers the MN at the LMA before it answers the RS."""
        sim = self.sim
        mag = sim.mars[msg["dst"]]
        mn_id, iface = msg["mn"], msg["interface"]
        if (mn_id, iface) not in mag.attached:
            sim._drop(mag.id, msg, "the MN left the link before its RS arrived", in_flight=True)
            return
        moved = self.came_from.pop((mn_id, iface), None) is not None
        hi = C.HI_BETWEEN_MAGS if moved else C.HI_NEW_INTERFACE
        mag.pending_ra[(mn_id, iface)] = {(self.lma_id, None)}
        seq = sim._next_sequence(mag, mn_id)
        # No HNP yet: the PBU asks the LMA to assign one (or find the MN's; §5.3.2, §5.4.1).
        fields = sim._pbu_fields(mn_id, [], sim.timers.binding_lifetime, seq, hi)
        fields["interface"] = iface
        sim._send("PBU", mag.id, self.lma_id, fields)

    def on_pbu(self, msg: dict[str, Any]) -> None:
        sim = self.sim
        lma = sim.routers[self.lma_id]
        mn_id, iface, serving = msg["mn"], msg["interface"], msg["src"]
        hnps = sorted(h for h, owner in lma.own.items() if owner == (mn_id, iface))
        if msg["lifetime"] > 0:
            if not hnps:  # §5.3.2: a new mobility session; the LMA assigns the HNP
                hnp = sim._allocate_prefix(lma.id, lma.pool, lma.next_subnet, mn_id, iface)
                lma.next_subnet += 1
                lma.own[hnp] = (mn_id, iface)
                hnps = [hnp]
            for hnp in hnps:
                sim._register(lma, mn_id, hnp, None, serving, msg["lifetime"], msg["sequence"])
        else:
            for hnp in hnps:
                binding = lma.bc.lookup(mn_id, hnp, None)
                if binding is not None and binding.serving == serving:  # §5.3.5: only the serving MAG de-registers
                    sim._deregister(lma, mn_id, hnp, None)
        fields = {
            "mn": mn_id, "mn_id": msg["mn_id"], "interface": iface, "hnps": hnps, "status": C.STATUS_ACCEPTED,
            "sequence": msg["sequence"], "lifetime": msg["lifetime"], "flags": "P", "handoff_indicator": msg["handoff_indicator"],
            "att": msg["att"], "timestamp": msg["timestamp"],
        }
        sim._send("PBA", lma.id, serving, fields)

    def binding_expired(self, anchor: Mar, binding: Binding) -> None:
        """The LMA keeps no prefix without its binding: the HNP goes with it."""
        if binding.hnp in anchor.own and anchor.bc.lookup(binding.mn, binding.hnp, None) is None:
            mn_id, iface = anchor.own.pop(binding.hnp)
            self.sim._state("hnp_released", anchor.id, mn=mn_id, interface=iface, hnp=binding.hnp)

    def on_pba(self, msg: dict[str, Any]) -> None:
        sim = self.sim
        mag = sim.mars[msg["dst"]]
        mn_id, iface = msg["mn"], msg["interface"]
        if msg["lifetime"] == 0 or msg["status"] != C.STATUS_ACCEPTED:
            return
        if (mn_id, iface) not in mag.attached or mag.sequence.get(mn_id) != msg["sequence"]:
            return  # the MN left, or a newer PBU is out
        for hnp in msg["hnps"]:
            if mag.bul.lookup(mn_id, hnp, None) is None:
                state = next_state(SERVING, State.NONE, "PBA assigned the prefix")
                mag.bul.add(BulEntry(mn_id, iface, hnp, None, self.lma_id, msg["lifetime"], msg["sequence"], state))
                sim._state("bul_added", mag.id, mn=mn_id, hnp=hnp, anchor=self.lma_id, flow=None)
        if mag.pending_ra.get((mn_id, iface)) is not None:
            self.send_ra(mag, mn_id, iface)

    def send_ra(self, mar: Mar, mn_id: str, iface: str) -> None:
        """The home network prefix follows the MN and stays preferred: the MN never notices the move (§6.9.2)."""
        mar.pending_ra.pop((mn_id, iface), None)
        if (mn_id, iface) not in mar.attached:
            return
        prefixes = [
            {"prefix": e.hnp, "preferred_lifetime": C.ADV_PREFERRED_LIFETIME, "valid_lifetime": C.ADV_VALID_LIFETIME}
            for e in sorted(mar.bul.values(), key=lambda e: e.hnp)
            if e.mn == mn_id and e.interface == iface
        ]
        self.sim._send("RA", mar.id, mn_id, {"mn": mn_id, "interface": iface, "prefixes": prefixes})

    def mn_left(self, mar: Mar, mn: MobileNode, iface: str, leaving: bool) -> None:
        sim = self.sim
        entries = sorted(mar.bul.for_interface(mn.id, iface), key=lambda e: e.hnp)
        for entry in entries:
            mar.bul.remove(entry, "MN left")
            sim._state("bul_removed", mar.id, mn=mn.id, hnp=entry.hnp, anchor=entry.anchor, flow=None)
        if leaving and entries:  # RFC 5213 §6.9.1.2: the MN has gone, the MAG de-registers it
            seq = sim._next_sequence(mar, mn.id)
            fields = sim._pbu_fields(mn.id, [e.hnp for e in entries], 0, seq, C.HI_UNKNOWN)
            fields["interface"] = iface
            sim._send("PBU", mar.id, self.lma_id, fields)

    def release_prefix(self, mar: Mar, mn: str, hnp: str) -> None:
        self.sim.dmm_release_prefix(mar, mn, hnp)  # a de-registered idle HNP goes back, as in network-dmm

    def prefix_idle(self, mn: MobileNode, hnp: str) -> None:
        pass  # no REQ2: the LMA keeps every session, flows or not


# ---------------------------------------------------------------------------------------------------------------


class ClientDmm(Design):
    """Seed §3.2: Mobile IPv6 with a home agent in every access router; the MN signals."""

    name = "client-dmm"

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        # The MN's own binding update list (RFC 6275 §11.1), keyed (mn, hnp, None); anchor = the home agent.
        self.mn_bul = BindingUpdateList()
        self.mn_sequence: dict[str, int] = {}

    def handlers(self) -> dict[str, Handler]:
        sim = self.sim
        return {"RS": self.on_rs, "RA": self.on_ra, "BU": self.on_bu, "BA": self.on_ba, "DATA": sim.on_data}

    def on_rs(self, msg: dict[str, Any]) -> None:
        """A plain IPv6 access router: a new prefix for new flows, advertised at once (seed §3.1)."""
        sim = self.sim
        ar = sim.mars[msg["dst"]]
        mn_id, iface = msg["mn"], msg["interface"]
        if (mn_id, iface) not in ar.attached:
            sim._drop(ar.id, msg, "the MN left the link before its RS arrived", in_flight=True)
            return
        if (mn_id, iface) not in ar.local:
            hnp = sim._allocate_prefix(ar.id, ar.pool, ar.next_subnet, mn_id, iface)
            ar.next_subnet += 1
            ar.own[hnp] = (mn_id, iface)
            ar.local[(mn_id, iface)] = hnp
        sim.send_ra(ar, mn_id, iface)

    def release_prefix(self, mar: Mar, mn: str, hnp: str) -> None:
        _, iface = mar.own.pop(hnp)
        if mar.local.get((mn, iface)) == hnp:
            del mar.local[(mn, iface)]
        self.sim._state("hnp_released", mar.id, mn=mn, interface=iface, hnp=hnp)

    def mn_left(self, mar: Mar, mn: MobileNode, iface: str, leaving: bool) -> None:
        for hnp in sorted(h for h, owner in mar.own.items() if owner == (mn.id, iface)):
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
        prefixes = [{**p, "anchor": sim.prefix_anchor.get(p["prefix"]), "deprecated": False} for p in msg["prefixes"]]
        for hnp in homes:
            if hnp not in advertised:
                prefixes.append({"prefix": hnp, "preferred_lifetime": 0, "valid_lifetime": int(sim.timers.binding_lifetime),
                                 "anchor": sim.prefix_anchor[hnp], "deprecated": True, "home_address": True})
        mn.prefixes[iface] = prefixes
        mn.link_confirmed[iface] = True
        sim._state("prefixes_changed", mn.id, mn=mn.id, interface=iface, prefixes=prefixes)
        coa = sim._address(msg["prefixes"][0]["prefix"]) if msg["prefixes"] else None
        for hnp in homes:
            home_agent = sim.prefix_anchor[hnp]
            if home_agent == ar:
                if self.mn_bul.lookup(mn.id, hnp, None) is not None:  # RFC 6275 §11.5.4: back home, de-register
                    self.send_bu(mn, iface, hnp, 0)
            elif coa is not None:
                self.send_bu(mn, iface, hnp, sim.timers.binding_lifetime, coa)
        for flow in sorted(mn.flows.values(), key=lambda f: f.id):
            if flow.active and flow.prefix is None and flow.interface == iface:
                sim._bind_flow_prefix(mn, flow)

    def mn_path_delay(self, mn: MobileNode, iface: str, node: str) -> int:
        """MN -> its access router -> node: the radio link plus the wired path."""
        sim = self.sim
        ar = mn.attached[iface]
        return sim.access_us + (sim.topology.delay_us[ar][node] if ar and ar != node else 0)

    def send_bu(self, mn: MobileNode, iface: str, hnp: str, lifetime: float, coa: str | None = None) -> None:
        """RFC 6275 §11.7.1: BU from the care-of address, flags A and H, Home Address option."""
        sim = self.sim
        seq = (self.mn_sequence.get(mn.id, 0) + 1) % 65536
        self.mn_sequence[mn.id] = seq
        home_agent = sim.prefix_anchor[hnp]
        entry = self.mn_bul.lookup(mn.id, hnp, None)
        if entry is None:
            entry = self.mn_bul.add(BulEntry(mn.id, iface, hnp, None, home_agent, lifetime, seq))
        entry.sequence, entry.lifetime = seq, lifetime
        fields = {"mn": mn.id, "interface": iface, "hnps": [hnp], "lifetime": lifetime, "sequence": seq, "flags": "AH",
                  "home_address": sim._address(hnp), "care_of_address": coa}
        sim._send("BU", mn.id, home_agent, fields, delay_us=self.mn_path_delay(mn, iface, home_agent))

    def on_bu(self, msg: dict[str, Any]) -> None:
        """The access router as home agent (RFC 6275 §10.3.1); status 133 for a prefix it did not allocate."""
        sim = self.sim
        ha = sim.mars[msg["dst"]]
        mn = sim.mns[msg["mn"]]
        hnp = msg["hnps"][0]
        mine = ha.own.get(hnp, ("", ""))[0] == mn.id
        status = C.STATUS_ACCEPTED if mine else C.STATUS_NOT_HOME_AGENT_FOR_THIS_MN
        if mine and msg["lifetime"] > 0:
            sim._register(ha, mn.id, hnp, None, mn.id, msg["lifetime"], msg["sequence"])
        elif mine:
            binding = ha.bc.lookup(mn.id, hnp, None)
            if binding is not None:
                sim._delete_binding(ha, binding, "de-registration (client)")
            if not sim.prefix_flows.get(hnp) and mn.attached[msg["interface"]] != ha.id:
                self.release_prefix(ha, mn.id, hnp)
        fields = {"mn": mn.id, "interface": msg["interface"], "hnps": [hnp], "status": status, "sequence": msg["sequence"],
                  "lifetime": msg["lifetime"] if mine else 0}
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
                sim._state("bul_removed", mn.id, mn=mn.id, hnp=hnp, anchor=entry.anchor, flow=None)
        elif entry.state != State.ACTIVE:
            entry.state = next_state(SERVING, entry.state, "PBA accepted")
            sim._state("bul_added", mn.id, mn=mn.id, hnp=hnp, anchor=entry.anchor, flow=None)

    def prefix_idle(self, mn: MobileNode, hnp: str) -> None:
        """Seed §3.2: Mobile IP resources are released after the communication stopped."""
        sim = self.sim
        entry = self.mn_bul.lookup(mn.id, hnp, None)
        if entry is not None:
            self.send_bu(mn, entry.interface, hnp, 0)
            return
        anchor = sim.mars[sim.prefix_anchor[hnp]]
        owner = anchor.own.get(hnp)
        if owner is not None and mn.attached[owner[1]] != anchor.id:
            self.release_prefix(anchor, mn.id, hnp)

    # -- data: the tunnel ends at the MN ------------------------------------------------------------------------

    def send_data_up(self, mn: MobileNode, flow: Flow) -> None:
        sim = self.sim
        ar = mn.attached[flow.interface]
        if ar is None or flow.prefix is None or sim.prefix_anchor[flow.prefix] == ar:
            sim.send_data_up_native(mn, flow)
            return
        entry = self.mn_bul.lookup(mn.id, flow.prefix, None)
        if entry is None or entry.state != State.ACTIVE:
            sim._emit({"t": sim.now_us / US, "kind": "drop", "node": mn.id, "msg": None, "msg_kind": "DATA", "flow": flow.id,
                       "mn": mn.id, "reason": "no binding with the home agent yet", "in_flight": False})
            return
        sim._data(mn.id, ar, flow, "up", True)  # reverse tunnel

    def forward_down(self, mar: Mar, mn: MobileNode, flow: Flow, segment: Segment) -> None:
        sim = self.sim
        hnp = flow.prefix
        if segment[4]:  # at the care-of address's router: on to the MN, still encapsulated
            if sim._deliver_iface(mar, mn, flow) is not None:
                sim._data(mar.id, mn.id, flow, "down", True)
            else:
                sim._drop_data(mar.id, segment, f"{mn.id} is not attached to {mar.id}", in_flight=False)
            return
        binding = mar.bc.lookup(mn.id, hnp, None) if hnp is not None and sim.prefix_anchor.get(hnp) == mar.id else None
        if binding is not None:
            ar = mn.attached[flow.interface]
            if ar is None or ar == mar.id:
                sim._drop_data(mar.id, segment, f"{mn.id} is not reachable at its care-of address", in_flight=False)
            else:
                sim._data(mar.id, ar, flow, "down", True)
            return
        sim.pmip_forward_down(mar, mn, flow, segment)

    def forward_up(self, mar: Mar, mn: MobileNode, flow: Flow, segment: Segment) -> None:
        sim = self.sim
        hnp = flow.prefix
        anchor = sim.prefix_anchor.get(hnp) if hnp is not None else None
        if segment[4] and anchor is not None and anchor != mar.id:
            sim._data(mar.id, anchor, flow, "up", True)
            return
        if segment[4] or anchor == mar.id:
            sim._data(mar.id, flow.cn, flow, "up", False)
            return
        sim._drop_data(mar.id, segment, f"{hnp} is not {mar.id}'s prefix and {mn.id} has no binding", in_flight=False)

    def snapshot_extra(self, state: dict[str, Any]) -> None:
        for mn_id, mn_state in state["mns"].items():
            mn_state["binding_update_list"] = [
                {"hnp": e.hnp, "home_agent": e.anchor, "anchor": e.anchor, "lifetime": e.lifetime, "sequence": e.sequence}
                for e in sorted(self.mn_bul.values(), key=lambda e: (e.mn, e.hnp)) if e.mn == mn_id and e.state == State.ACTIVE
            ]


DESIGN_CLASSES: dict[str, type[Design]] = {d.name: d for d in (NetworkDmm, ClientDmm, CentralizedPmipv6)}


def design_for(mode: str, sim: Simulation) -> Design:
    """The design object of ``mode`` for ``sim``; ValueError for an unknown mode."""
    try:
        return DESIGN_CLASSES[mode](sim)
    except KeyError:
        raise ValueError(f"unknown mode {mode!r} (modes: {', '.join(DESIGN_CLASSES)})") from None
