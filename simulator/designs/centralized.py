"""Centralised PMIPv6 (RFC 5213): one LMA anchors every prefix; the MARs act as MAGs. The seed's baseline (§2).

Every attachment registers at the LMA before the RA, moving or not; all traffic is tunnelled LMA <-> serving MAG; a
handover moves the binding; ``detach`` de-registers and the LMA deletes the entry after MinDelayBeforeBCEDelete.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from .. import constants as C
from ..bindings import Binding, BulEntry, State
from ..constants import US
from ..nodes import BY_HNP, Mar, MobileNode
from .base import Design, Handler

if TYPE_CHECKING:
    from ..engine import Simulation



class CentralizedPmipv6(Design):
    """RFC 5213: the MARs act as MAGs, one LMA anchors every prefix."""

    name = "centralized-pmipv6"
    pbu_names_interface = True

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self.lma_id = ""
        self.came_from: dict[tuple[str, str], str | None] = {}  # (mn, interface) -> the MAG it just left

    def lma(self, spec: dict[str, str]) -> Mar | None:
        self.lma_id = spec["id"]
        return Mar(spec["id"], ipaddress.IPv6Network(spec["prefix_pool"]))

    def handlers(self) -> dict[str, Handler]:
        # DB_UPDATE: a de-registered idle HNP is released as in network-dmm, which tells the (unused) session DB.
        return {**super().handlers(), "PBU": self.on_pbu, "PBA": self.on_pba, "DB_UPDATE": self.sim.on_db_update}

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
        waiting = mag.pending_ra[(mn_id, iface)] = {(self.lma_id, None)}
        self.send_first_pbu((mag, mn_id, iface, hi, waiting, 1, sim.initial_us))

    def send_first_pbu(self, arg: tuple[Mar, str, str, int, set[tuple[str, str | None]], int, int]) -> None:
        """No HNP yet: the PBU asks the LMA to assign one (or find the MN's; §5.3.2, §5.4.1). Sent again with
        back-off while no PBA came (§6.9.4), each time with a new sequence number; the RA waits for it."""
        sim = self.sim
        mag, mn_id, iface, hi, waiting, attempt, timeout_us = arg
        if mag.pending_ra.get((mn_id, iface)) is not waiting:
            return  # answered, or the MN left
        if attempt > 1 and timeout_us > round(sim.timers.max_bindack_timeout * US):
            mag.pending_ra.pop((mn_id, iface), None)
            sim.gave_up_state(mag.id, mn_id, [], self.lma_id, None, sim.timers.binding_lifetime, attempt - 1)
            return
        seq = sim._next_sequence(mag, mn_id)
        fields = sim._pbu_fields(mn_id, [], sim.timers.binding_lifetime, seq, hi)
        fields["attempt"] = attempt
        fields["interface"] = iface
        sim._send("PBU", mag.id, self.lma_id, fields)
        sim._at(
            sim.now_us + timeout_us, self.send_first_pbu, (mag, mn_id, iface, hi, waiting, attempt + 1, 2 * timeout_us)
        )

    def on_pbu(self, msg: dict[str, Any]) -> None:
        sim = self.sim
        lma = sim.routers[self.lma_id]
        mn_id, iface, serving = msg["mn"], msg["interface"], msg["src"]
        hnps = lma.own.of(mn_id, iface)
        status = sim.ordering_status(lma, mn_id, hnps, None, msg["timestamp"])  # RFC 5213 §5.5
        if status != C.STATUS_ACCEPTED:
            pass
        elif msg["lifetime"] > 0:
            if not hnps:  # §5.3.2: a new mobility session; the LMA assigns the HNP
                hnps = [sim.allocate_prefix(lma, mn_id, iface, local=False)]
            for hnp in hnps:
                sim._register(lma, mn_id, hnp, None, serving, msg["lifetime"], msg["sequence"], msg["timestamp"])
        else:
            for hnp in hnps:
                binding = lma.bc.lookup(mn_id, hnp, None)
                if binding is not None and binding.serving == serving:  # §5.3.5: only the serving MAG de-registers
                    sim._deregister(lma, mn_id, hnp, None, msg["sequence"], msg["timestamp"])
        sim._send("PBA", lma.id, serving, sim.pba_fields(msg, hnps, status))

    def binding_expired(self, anchor: Mar, binding: Binding) -> None:
        """The LMA keeps no prefix without its binding: the HNP goes with it."""
        if binding.hnp in anchor.own and anchor.bc.lookup(binding.mn, binding.hnp, None) is None:
            self.sim.give_back_prefix(anchor, binding.hnp)

    def on_pba(self, msg: dict[str, Any]) -> None:
        sim = self.sim
        mag = sim.mars[msg["dst"]]
        mn_id, iface = msg["mn"], msg["interface"]
        outstanding = [e for e in mag.bul.for_interface(mn_id, iface) if e.sequence == msg["sequence"]]
        if outstanding and (outstanding[0].refreshing or outstanding[0].state != State.ACTIVE):
            for entry in outstanding:  # a refresh or a re-registration after the LMA restarted: the shared rules
                sim.pba_for_entry(mag, entry, msg)
            return
        if msg["lifetime"] == 0 or msg["status"] != C.STATUS_ACCEPTED:
            return
        if (mn_id, iface) not in mag.attached or mag.sequence.get(mn_id) != msg["sequence"]:
            return  # the MN left, or a newer PBU is out
        for hnp in msg["hnps"]:
            if mag.bul.lookup(mn_id, hnp, None) is None:
                entry = BulEntry(mn_id, iface, hnp, None, self.lma_id, msg["lifetime"], msg["sequence"])
                entry.sent_us = round(msg["timestamp"] * US)
                mag.bul.add(entry, "PBA assigned the prefix")
                sim.bul_state("bul_added", mag.id, entry)
                sim.schedule_refresh(mag, entry, msg["lifetime"])
        if mag.pending_ra.get((mn_id, iface)) is not None:
            self.send_ra(mag, mn_id, iface)

    def send_ra(self, mar: Mar, mn_id: str, iface: str) -> None:
        """The home network prefix follows the MN and stays preferred: the MN never notices the move (§6.9.2)."""
        mar.pending_ra.pop((mn_id, iface), None)
        if (mn_id, iface) not in mar.attached:
            return
        prefixes = [
            {"prefix": e.hnp, "preferred_lifetime": C.ADV_PREFERRED_LIFETIME, "valid_lifetime": C.ADV_VALID_LIFETIME}
            for e in sorted(mar.bul.values(), key=BY_HNP)
            if e.mn == mn_id and e.interface == iface
        ]
        self.sim._send("RA", mar.id, mn_id, {"mn": mn_id, "interface": iface, "prefixes": prefixes})

    def mn_left(self, mar: Mar, mn: MobileNode, iface: str, leaving: bool) -> None:
        sim = self.sim
        entries = sorted(mar.bul.for_interface(mn.id, iface), key=BY_HNP)
        for entry in entries:
            mar.bul.remove(entry, "MN left")
            sim.bul_state("bul_removed", mar.id, entry)
        if entries:  # RFC 5213 §6.9.1.2: the MN left this link (a detach or a move): the MAG de-registers it
            seq = sim._next_sequence(mar, mn.id)
            fields = sim._pbu_fields(mn.id, [e.hnp for e in entries], 0, seq, C.HI_UNKNOWN)
            fields["attempt"] = 1
            fields["interface"] = iface
            sim._send("PBU", mar.id, self.lma_id, fields)

    def release_prefix(self, mar: Mar, mn: str, hnp: str) -> None:
        """The LMA keeps a de-registered HNP until its entry is deleted (``binding_expired``), so an MN that comes
        back within MinDelayBeforeBCEDelete (a move: the old MAG de-registers, the new one registers) keeps its
        prefix (RFC 5213 §5.3.5)."""

    def prefix_idle(self, mn: MobileNode, hnp: str) -> None:
        pass  # no REQ2: the LMA keeps every session, flows or not
