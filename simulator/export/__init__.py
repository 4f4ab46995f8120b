"""Exports of a run: sequence diagrams (Mermaid, PlantUML, SVG, ASCII) and a packet capture (pcap).

    from simulator.export import export, FORMATS, sequence_model, ExportError
    export("svg", sim.trace(), options={"start": 5, "end": 6, "nodes": ["MN1", "MAR2", "MAR1"]}) -> str
    export("pcap", sim.trace()) -> bytes

Options (all optional): `start`, `end` (seconds; keep events with start <= t <= end), `nodes` (node ids: the
diagram's columns, in that order; for pcap, keep messages from or to one of them), `data` ("fold", the default:
one arrow per run of a flow's packets on one segment; "show": one arrow per packet), `time_axis` (bool: print each
item's time). Formats, the address plan of the pcap and the model are documented in docs/exports.md.
Pure: no I/O, no clock; the caller writes the result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import ascii, mermaid, plantuml, svg
from .sequence import ExportError, sequence_model

FORMATS = ("mermaid", "plantuml", "svg", "ascii", "pcap")

_DIAGRAMS: dict[str, Callable[[dict[str, Any]], str]] = {
    "mermaid": mermaid.render,
    "plantuml": plantuml.render,
    "svg": svg.render,
    "ascii": ascii.render,
}

__all__ = ["FORMATS", "ExportError", "export", "sequence_model"]


def export(fmt: str, trace: dict[str, Any], *, options: dict[str, Any] | None = None) -> str | bytes:
    """Render a "dmmviz-trace/1" document as `fmt`: str for the diagram formats, bytes for pcap.

    Raises ExportError (a ValueError) for an unknown format, a malformed trace or a bad option.
    """
    if fmt == "pcap":
        from . import pcap  # imported here: scapy takes 0.2 s to load and reads the host's routes as it does

        return pcap.render(trace, options)
    if fmt not in _DIAGRAMS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return _DIAGRAMS[fmt](sequence_model(trace, options))
