"""The decisions a design makes; the core (simulator.engine.Simulation) asks its design only through these."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..bindings import Binding
from ..nodes import Flow, Mar, MobileNode, Segment

if TYPE_CHECKING:
    from ..engine import Simulation

Handler = Callable[[Any], None]
SendUp = Callable[[MobileNode, Flow], None]
Forward = Callable[[Mar, MobileNode, Flow, Segment], None]


class Design:
    """The decisions of one anchoring design. One instance per simulation (it may keep state of its own)."""

    name = ""
    pbu_names_interface = False  # centralized-pmipv6: the PBU names the MN's interface (the LMA picks the HNP)

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim

    def lma(self, spec: dict[str, str]) -> Mar | None:
        """The central anchor this design adds to the network, if any."""
        return None

    def handlers(self) -> dict[str, Handler]:
        """Message kind -> what the receiving node does with it: here what every design has (its own RS handling, the
        core's RA and data path); a design adds its signalling."""
        sim = self.sim
        return {"RS": self.on_rs, "RA": sim.on_ra, "DATA": sim.on_data}

    def on_rs(self, msg: dict[str, Any]) -> None:
        """An access router received an RS."""
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

    def move_flow(self, mn: MobileNode, flow: Flow, iface: str) -> None:
        """The ``move_flow`` command (accepted only by the designs the command catalogue names)."""
        raise NotImplementedError(f"move_flow is not modelled in {self.name}")

    def flow_binding_ended(self, mn: MobileNode, hnp: str, flow_id: str) -> None:
        """A flow ended: a per-flow binding of it (Figure 6), if any, goes."""

    def binding_expired(self, anchor: Mar, binding: Binding) -> None:
        """MinDelayBeforeBCEDelete passed and the core deleted ``binding``."""

    def data_path(self) -> tuple[SendUp, Forward, Forward]:
        """(send_data_up, forward_down, forward_up), bound once by the core: by default the core's PMIP data path."""
        sim = self.sim
        return sim.send_data_up_native, sim.pmip_forward_down, sim.pmip_forward_up

    def send_data_up(self, mn: MobileNode, flow: Flow) -> None:
        """The MN sends the flow's next packet."""
        self.sim.send_data_up_native(mn, flow)

    def forward_down(self, mar: Mar, mn: MobileNode, flow: Flow, segment: Segment) -> None:
        """A packet towards the MN reached the router ``mar`` and no fast path applied."""
        self.sim.pmip_forward_down(mar, mn, flow, segment)

    def forward_up(self, mar: Mar, mn: MobileNode, flow: Flow, segment: Segment) -> None:
        """A packet from the MN reached the router ``mar`` and no fast path applied."""
        self.sim.pmip_forward_up(mar, mn, flow, segment)

    def send_ra(self, mar: Mar, mn_id: str, iface: str) -> None:
        """The access router's RA to the MN's interface (the core's: own prefix preferred, others deprecated)."""
        self.sim.send_ra(mar, mn_id, iface)

    def snapshot_extra(self, state: dict[str, Any]) -> None:
        """Add what only this design keeps to the "dmmviz-state/1" snapshot."""
