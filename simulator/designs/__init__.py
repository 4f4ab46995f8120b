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

from typing import TYPE_CHECKING

from .base import Design, Handler
from .centralized import CentralizedPmipv6
from .client import ClientDmm
from .network import NetworkDmm

if TYPE_CHECKING:
    from ..engine import Simulation

__all__ = ["DESIGN_CLASSES", "CentralizedPmipv6", "ClientDmm", "Design", "Handler", "NetworkDmm", "design_for"]

DESIGN_CLASSES: dict[str, type[Design]] = {d.name: d for d in (NetworkDmm, ClientDmm, CentralizedPmipv6)}


def design_for(mode: str, sim: Simulation) -> Design:
    """The design object of ``mode`` for ``sim``; ValueError for an unknown mode."""
    try:
        return DESIGN_CLASSES[mode](sim)
    except KeyError:
        raise ValueError(f"unknown mode {mode!r} (modes: {', '.join(DESIGN_CLASSES)})") from None
