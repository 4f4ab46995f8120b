"""The three anchoring designs, as subclasses of the network-based DMM engine (simulator.engine.Simulation).

- ``network-dmm``: the seed's section 4 (the base class).
- ``centralized-pmipv6``: RFC 5213 with one LMA, the baseline the seed argues against (seed §2). Every attachment
  registers at the LMA before the RA, moving or not; all traffic is tunnelled LMA <-> serving MAG; a handover moves the
  binding; ``detach`` de-registers and the LMA deletes the entry after MinDelayBeforeBCEDelete.
- ``client-dmm``: the seed's section 3.2 (Figure 2) with Mobile IPv6 (RFC 6275): each access router is the home agent
  of the prefixes it allocated; after a move the MN itself sends a BU to every earlier router that anchors an active
  flow; one tunnel per such router ends at the MN. No session DB and no PBU.

``move_flow`` (per-flow mobility between interfaces, seed §4.3) exists only in ``network-dmm``; the other modes refuse
it with a CommandError (a script step shows as ``action_rejected``).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from . import constants as C
from .bindings import SERVING, State, next_state
from .engine import US, BulEntry, CommandError, Flow, Mar, MobileNode, Segment, Simulation
from .scenario import MODES


def simulation_class(mode: str) -> type[Simulation]:
    classes: dict[str, type[Simulation]] = {
        "network-dmm": NetworkDmm,
        "centralized-pmipv6": CentralizedPmipv6,
        "client-dmm": ClientDmm,
    }
    if mode not in classes:
        raise ValueError(f"unknown mode {mode!r} (modes: {', '.join(MODES)})")
    return classes[mode]


class NetworkDmm(Simulation):
    mode = "network-dmm"


class _NoFlowMobility(Simulation):
    pass


# ---------------------------------------------------------------------------------------------------------------


class CentralizedPmipv6(_NoFlowMobility):
    """RFC 5213: the MARs act as MAGs, one LMA anchors every prefix."""

    mode = "centralized-pmipv6"

    @property
    def lma_id(self) -> str:
        return self.lma_spec["id"]

    def _extra_nodes(self) -> list[str]:
        return [self.lma_spec["id"]]

    def _routers(self) -> dict[str, Mar]:
        lma = Mar(self.lma_spec["id"], ipaddress.IPv6Network(self.lma_spec["prefix_pool"]))
        return {**self.mars, lma.id: lma}

    def _l2_detach(self, mn: MobileNode, iface: str, leaving: bool) -> None:
        self._came_from = getattr(self, "_came_from", {})
        self._came_from[(mn.id, iface)] = mn.attached[iface]
        super()._l2_detach(mn, iface, leaving)

    def _on_rs(self, msg: dict[str, Any]) -> None:
        """RFC 5213 §6.9.1.1: the MAG registers the MN at the LMA before it answers the RS."""
        mag = self.mars[msg["dst"]]
        mn_id, iface = msg["mn"], msg["interface"]
        if (mn_id, iface) not in mag.attached:
            self._drop(mag.id, msg, "the MN left the link before its RS arrived", in_flight=True)
            return
        moved = getattr(self, "_came_from", {}).pop((mn_id, iface), None) is not None
        hi = C.HI_BETWEEN_MAGS if moved else C.HI_NEW_INTERFACE
        mag.pending_ra[(mn_id, iface)] = {(self.lma_id, None)}
        seq = self._next_sequence(mag, mn_id)
        # No HNP yet: the PBU asks the LMA to assign one (or find the MN's; §5.3.2, §5.4.1).
        fields = self._pbu_fields(mn_id, [], self.timers.binding_lifetime, seq, hi)
        fields["interface"] = iface
        self._send("PBU", mag.id, self.lma_id, fields)

    def _on_pbu(self, msg: dict[str, Any]) -> None:
        lma = self.routers[self.lma_id]
        mn_id, iface, serving = msg["mn"], msg["interface"], msg["src"]
        hnps = sorted(h for h, owner in lma.own.items() if owner == (mn_id, iface))
        if msg["lifetime"] > 0:
            if not hnps:  # §5.3.2: a new mobility session; the LMA assigns the HNP
                hnp = self._allocate_prefix(lma.id, lma.pool, lma.next_subnet, mn_id, iface)
                lma.next_subnet += 1
                lma.own[hnp] = (mn_id, iface)
                hnps = [hnp]
            for hnp in hnps:
                self._register(lma, mn_id, hnp, None, serving, msg["lifetime"], msg["sequence"])
        else:
            for hnp in hnps:
                binding = lma.bc.get((mn_id, hnp, None))
                if binding is not None and binding.serving == serving:  # §5.3.5: only the serving MAG de-registers
                    self._deregister(lma, mn_id, hnp, None)
        fields = {
            "mn": mn_id, "mn_id": msg["mn_id"], "interface": iface, "hnps": hnps, "status": C.STATUS_ACCEPTED,
            "sequence": msg["sequence"], "lifetime": msg["lifetime"], "flags": "P", "handoff_indicator": msg["handoff_indicator"],
            "att": msg["att"], "timestamp": msg["timestamp"],
        }
        self._send("PBA", lma.id, serving, fields)

    def _bce_delete_timer(self, arg: Any) -> None:
        anchor, binding, version = arg
        super()._bce_delete_timer(arg)
        if binding.hnp in anchor.own and (binding.mn, binding.hnp, None) not in anchor.bc:
            mn_id, iface = anchor.own.pop(binding.hnp)
            self._state("hnp_released", anchor.id, mn=mn_id, interface=iface, hnp=binding.hnp)

    def _on_pba(self, msg: dict[str, Any]) -> None:
        mag = self.mars[msg["dst"]]
        mn_id, iface = msg["mn"], msg["interface"]
        if msg["lifetime"] == 0 or msg["status"] != C.STATUS_ACCEPTED:
            return
        if (mn_id, iface) not in mag.attached or mag.sequence.get(mn_id) != msg["sequence"]:
            return  # the MN left, or a newer PBU is out
        for hnp in msg["hnps"]:
            if (mn_id, hnp, None) not in mag.bul:
                state = next_state(SERVING, State.NONE, "PBA assigned the prefix")
                mag.bul[(mn_id, hnp, None)] = BulEntry(mn_id, iface, hnp, None, self.lma_id, msg["lifetime"], msg["sequence"], state)
                self._state("bul_added", mag.id, mn=mn_id, hnp=hnp, anchor=self.lma_id, flow=None)
        if mag.pending_ra.get((mn_id, iface)) is not None:
            self._send_ra(mag, mn_id, iface)

    def _send_ra(self, mar: Mar, mn_id: str, iface: str) -> None:
        """The home network prefix follows the MN and stays preferred: the MN never notices the move (§6.9.2)."""
        mar.pending_ra.pop((mn_id, iface), None)
        if (mn_id, iface) not in mar.attached:
            return
        prefixes = [
            {"prefix": e.hnp, "preferred_lifetime": C.ADV_PREFERRED_LIFETIME, "valid_lifetime": C.ADV_VALID_LIFETIME}
            for e in sorted(mar.bul.values(), key=lambda e: e.hnp)
            if e.mn == mn_id and e.interface == iface
        ]
        self._send("RA", mar.id, mn_id, {"mn": mn_id, "interface": iface, "prefixes": prefixes})

    def _mar_forgets(self, mar: Mar, mn: MobileNode, iface: str, leaving: bool) -> None:
        entries = sorted((e for e in mar.bul.values() if e.mn == mn.id and e.interface == iface), key=lambda e: e.hnp)
        for entry in entries:
            next_state(SERVING, entry.state, "MN left")
            del mar.bul[(entry.mn, entry.hnp, entry.flow)]
            self._state("bul_removed", mar.id, mn=mn.id, hnp=entry.hnp, anchor=entry.anchor, flow=None)
        if leaving and entries:  # RFC 5213 §6.9.1.2: the MN has gone, the MAG de-registers it
            seq = self._next_sequence(mar, mn.id)
            fields = self._pbu_fields(mn.id, [e.hnp for e in entries], 0, seq, C.HI_UNKNOWN)
            fields["interface"] = iface
            self._send("PBU", mar.id, self.lma_id, fields)

    def _prefix_idle(self, mn: MobileNode, hnp: str) -> None:
        pass  # no REQ2: the LMA keeps every session, flows or not

    def _release_flow_binding(self, mn: MobileNode, hnp: str, flow_id: str) -> None:
        pass


# ---------------------------------------------------------------------------------------------------------------


class ClientDmm(_NoFlowMobility):
    """Seed §3.2: Mobile IPv6 with a home agent in every access router; the MN signals."""

    mode = "client-dmm"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The MN's own binding update list (RFC 6275 §11.1): (mn, hnp) -> entry; anchor = the home agent.
        self.mn_bul: dict[tuple[str, str], BulEntry] = {}
        self.mn_sequence: dict[str, int] = {}

    def _arrival_handlers(self) -> dict[str, Any]:
        handlers = super()._arrival_handlers()
        handlers.update(BU=self._on_bu, BA=self._on_ba)
        return handlers

    def _on_rs(self, msg: dict[str, Any]) -> None:
        """A plain IPv6 access router: a new prefix for new flows, advertised at once (seed §3.1)."""
        ar = self.mars[msg["dst"]]
        mn_id, iface = msg["mn"], msg["interface"]
        if (mn_id, iface) not in ar.attached:
            self._drop(ar.id, msg, "the MN left the link before its RS arrived", in_flight=True)
            return
        if (mn_id, iface) not in ar.local:
            hnp = self._allocate_prefix(ar.id, ar.pool, ar.next_subnet, mn_id, iface)
            ar.next_subnet += 1
            ar.own[hnp] = (mn_id, iface)
            ar.local[(mn_id, iface)] = hnp
        self._send_ra(ar, mn_id, iface)

    def _release_prefix(self, mar: Mar, mn: str, hnp: str) -> None:
        _, iface = mar.own.pop(hnp)
        if mar.local.get((mn, iface)) == hnp:
            del mar.local[(mn, iface)]
        self._state("hnp_released", mar.id, mn=mn, interface=iface, hnp=hnp)

    def _mar_forgets(self, mar: Mar, mn: MobileNode, iface: str, leaving: bool) -> None:
        for hnp in sorted(h for h, owner in mar.own.items() if owner == (mn.id, iface)):
            if not self.prefix_flows.get(hnp):
                self._release_prefix(mar, mn.id, hnp)

    def _on_ra(self, msg: dict[str, Any]) -> None:
        """The MN keeps its home addresses for active flows and binds each to its new care-of address (seed §3.2)."""
        mn = self.mns[msg["dst"]]
        iface, ar = msg["interface"], msg["src"]
        if mn.attached[iface] != ar:
            self._drop(mn.id, msg, "the MN left the link before the RA arrived", in_flight=True)
            return
        homes = sorted({f.prefix for f in mn.flows.values() if f.active and f.prefix and f.interface == iface})
        advertised = {p["prefix"] for p in msg["prefixes"]}
        prefixes = [{**p, "anchor": self.prefix_anchor.get(p["prefix"]), "deprecated": False} for p in msg["prefixes"]]
        for hnp in homes:
            if hnp not in advertised:
                prefixes.append({"prefix": hnp, "preferred_lifetime": 0, "valid_lifetime": int(self.timers.binding_lifetime),
                                 "anchor": self.prefix_anchor[hnp], "deprecated": True, "home_address": True})
        mn.prefixes[iface] = prefixes
        mn.link_confirmed[iface] = True
        self._state("prefixes_changed", mn.id, mn=mn.id, interface=iface, prefixes=prefixes)
        coa = self._address(msg["prefixes"][0]["prefix"]) if msg["prefixes"] else None
        for hnp in homes:
            home_agent = self.prefix_anchor[hnp]
            if home_agent == ar:
                if (mn.id, hnp) in self.mn_bul:  # RFC 6275 §11.5.4: back home, de-register
                    self._send_bu(mn, iface, hnp, 0)
            elif coa is not None:
                self._send_bu(mn, iface, hnp, self.timers.binding_lifetime, coa)
        for flow in sorted(mn.flows.values(), key=lambda f: f.id):
            if flow.active and flow.prefix is None and flow.interface == iface:
                self._bind_flow_prefix(mn, flow)

    def _mn_path_delay(self, mn: MobileNode, iface: str, node: str) -> int:
        """MN -> its access router -> node: the radio link plus the wired path."""
        ar = mn.attached[iface]
        return self.access_us + (self.topology.delay_us[ar][node] if ar and ar != node else 0)

    def _send_bu(self, mn: MobileNode, iface: str, hnp: str, lifetime: float, coa: str | None = None) -> None:
        """RFC 6275 §11.7.1: BU from the care-of address, flags A and H, Home Address option."""
        seq = (self.mn_sequence.get(mn.id, 0) + 1) % 65536
        self.mn_sequence[mn.id] = seq
        home_agent = self.prefix_anchor[hnp]
        entry = self.mn_bul.get((mn.id, hnp))
        if entry is None:
            entry = self.mn_bul[(mn.id, hnp)] = BulEntry(mn.id, iface, hnp, None, home_agent, lifetime, seq)
        entry.sequence, entry.lifetime = seq, lifetime
        fields = {"mn": mn.id, "interface": iface, "hnps": [hnp], "lifetime": lifetime, "sequence": seq, "flags": "AH",
                  "home_address": self._address(hnp), "care_of_address": coa}
        self._send("BU", mn.id, home_agent, fields, delay_us=self._mn_path_delay(mn, iface, home_agent))

    def _on_bu(self, msg: dict[str, Any]) -> None:
        """The access router as home agent (RFC 6275 §10.3.1); status 133 for a prefix it did not allocate."""
        ha = self.mars[msg["dst"]]
        mn = self.mns[msg["mn"]]
        hnp = msg["hnps"][0]
        mine = ha.own.get(hnp, ("", ""))[0] == mn.id
        status = C.STATUS_ACCEPTED if mine else C.STATUS_NOT_HOME_AGENT_FOR_THIS_MN
        if mine and msg["lifetime"] > 0:
            self._register(ha, mn.id, hnp, None, mn.id, msg["lifetime"], msg["sequence"])
        elif mine:
            binding = ha.bc.get((mn.id, hnp, None))
            if binding is not None:
                self._delete_binding(ha, binding, "de-registration (client)")
            if not self.prefix_flows.get(hnp) and mn.attached[msg["interface"]] != ha.id:
                self._release_prefix(ha, mn.id, hnp)
        fields = {"mn": mn.id, "interface": msg["interface"], "hnps": [hnp], "status": status, "sequence": msg["sequence"],
                  "lifetime": msg["lifetime"] if mine else 0}
        self._send("BA", ha.id, mn.id, fields, delay_us=self._mn_path_delay(mn, msg["interface"], ha.id))

    def _on_ba(self, msg: dict[str, Any]) -> None:
        mn = self.mns[msg["dst"]]
        hnp = msg["hnps"][0]
        entry = self.mn_bul.get((mn.id, hnp))
        if entry is None or entry.sequence != msg["sequence"]:
            return
        if msg["status"] != C.STATUS_ACCEPTED or msg["lifetime"] == 0:
            accepted_dereg = msg["status"] == C.STATUS_ACCEPTED
            next_state(SERVING, entry.state, "PBA for the de-registration" if accepted_dereg else "PBA rejected")
            del self.mn_bul[(mn.id, hnp)]
            if entry.state == State.ACTIVE:
                self._state("bul_removed", mn.id, mn=mn.id, hnp=hnp, anchor=entry.anchor, flow=None)
        elif entry.state != State.ACTIVE:
            entry.state = next_state(SERVING, entry.state, "PBA accepted")
            self._state("bul_added", mn.id, mn=mn.id, hnp=hnp, anchor=entry.anchor, flow=None)

    def _prefix_idle(self, mn: MobileNode, hnp: str) -> None:
        """Seed §3.2: Mobile IP resources are released after the communication stopped."""
        entry = self.mn_bul.get((mn.id, hnp))
        if entry is not None:
            self._send_bu(mn, entry.interface, hnp, 0)
            return
        anchor = self.mars[self.prefix_anchor[hnp]]
        owner = anchor.own.get(hnp)
        if owner is not None and mn.attached[owner[1]] != anchor.id:
            self._release_prefix(anchor, mn.id, hnp)

    def _release_flow_binding(self, mn: MobileNode, hnp: str, flow_id: str) -> None:
        pass

    # -- data: the tunnel ends at the MN ------------------------------------------------------------------------

    def _send_data_up(self, mn: MobileNode, flow: Flow) -> None:
        ar = mn.attached[flow.interface]
        if ar is None or flow.prefix is None or self.prefix_anchor[flow.prefix] == ar:
            super()._send_data_up(mn, flow)
            return
        entry = self.mn_bul.get((mn.id, flow.prefix))
        if entry is None or entry.state != State.ACTIVE:
            self._emit({"t": self.now_us / US, "kind": "drop", "node": mn.id, "msg": None, "msg_kind": "DATA", "flow": flow.id,
                        "mn": mn.id, "reason": "no binding with the home agent yet", "in_flight": False})
            return
        self._data(mn.id, ar, flow, "up", True)  # reverse tunnel

    def _forward_down(self, mar: Mar, mn: MobileNode, flow: Flow, segment: Segment) -> None:
        hnp = flow.prefix
        if segment[4]:  # at the care-of address's router: on to the MN, still encapsulated
            if self._deliver_iface(mar, mn, flow) is not None:
                self._data(mar.id, mn.id, flow, "down", True)
            else:
                self._drop_data(mar.id, segment, f"{mn.id} is not attached to {mar.id}", in_flight=False)
            return
        binding = mar.bc.get((mn.id, hnp, None)) if self.prefix_anchor.get(hnp) == mar.id else None
        if binding is not None:
            ar = mn.attached[flow.interface]
            if ar is None or ar == mar.id:
                self._drop_data(mar.id, segment, f"{mn.id} is not reachable at its care-of address", in_flight=False)
            else:
                self._data(mar.id, ar, flow, "down", True)
            return
        super()._forward_down(mar, mn, flow, segment)

    def _forward_up(self, mar: Mar, mn: MobileNode, flow: Flow, segment: Segment) -> None:
        hnp = flow.prefix
        anchor = self.prefix_anchor.get(hnp)
        if segment[4] and anchor != mar.id:
            self._data(mar.id, anchor, flow, "up", True)  # type: ignore[arg-type]
            return
        if segment[4] or anchor == mar.id:
            self._data(mar.id, flow.cn, flow, "up", False)
            return
        self._drop_data(mar.id, segment, f"{hnp} is not {mar.id}'s prefix and {mn.id} has no binding", in_flight=False)

    def snapshot(self) -> dict[str, Any]:
        state = super().snapshot()
        for mn_id, mn_state in state["mns"].items():
            mn_state["binding_update_list"] = [
                {"hnp": e.hnp, "home_agent": e.anchor, "anchor": e.anchor, "lifetime": e.lifetime, "sequence": e.sequence}
                for (m, _), e in sorted(self.mn_bul.items()) if m == mn_id and e.state == State.ACTIVE
            ]
        return state
