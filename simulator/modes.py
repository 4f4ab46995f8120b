"""The three anchoring designs. ``network-dmm`` is the seed's section 4 (simulator.engine.Simulation)."""

from __future__ import annotations

from .engine import Simulation
from .scenario import MODES


def simulation_class(mode: str) -> type[Simulation]:
    if mode == "network-dmm":
        return _NetworkDmm
    raise ValueError(f"mode {mode!r} is not available yet (modes: {', '.join(MODES)})")


class _NetworkDmm(Simulation):
    mode = "network-dmm"
