"""The same scenario under the three anchoring designs, side by side ("dmmviz-compare/1").

    compare(scenario, until=None) -> dict      # runs every mode, computes its metrics (simulator.metrics)
    rows(result) -> list[Row]                  # the comparison's rows: one place for the table and the web page
    format_table(result) -> str                # a plain-text table for a terminal or a slide

Pure like the rest of ``simulator/``: no I/O; the CLI prints, the web view draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .engine import Simulation
from .metrics import compute_metrics
from .scenario import default_until, load_scenario

FORMAT = "dmmviz-compare/1"
# Distributed first, the baseline last: the order of the columns and the bars.
MODES = ("network-dmm", "client-dmm", "centralized-pmipv6")
SIGNALLING_KINDS = ("RS", "RA", "DB_QUERY", "DB_REPLY", "DB_UPDATE", "PBU", "PBA", "BU", "BA")


def compare(scenario: dict[str, Any], until: float | None = None) -> dict[str, Any]:
    """Run ``scenario`` (a parsed document or ``load_scenario``'s result) under every mode until ``until`` (default:
    5 s after the last script action) and return the metrics of each, with their summaries.

    Raises ScenarioError when the scenario is invalid; an engine error (a ValueError) is raised as it is, never
    turned into an empty column. ``available`` is always true (kept so the "dmmviz-compare/1" shape does not change).
    """
    loaded = load_scenario(scenario)
    end = default_until(loaded) if until is None else float(until)
    runs: dict[str, dict[str, Any]] = {}
    for mode in MODES:
        sim = Simulation(load_scenario(scenario), mode=mode)
        sim.run(end)
        metrics = compute_metrics(sim.trace(), sim.scenario, until=end)
        runs[mode] = {"available": True, "metrics": metrics, "summary": metrics["summary"]}
    return {
        "format": FORMAT,
        "title": loaded.get("title", ""),
        "scenario_mode": loaded.get("mode"),
        "until": end,
        "modes": list(MODES),
        "runs": runs,
    }


# --------------------------------------------------------------------------------------------------------------------
# Rows


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    key: str  # stable id, e.g. for the web page's anchors and tests
    values: dict[str, float | None]  # mode -> number (None: no value, e.g. no handover; absent mode: not run)
    notes: dict[str, str]  # mode -> extra text shown beside the number (e.g. which node)
    unit: str = ""
    indent: bool = False  # a detail of the row above
    chart: bool = True  # drawn as bars on the web page
    lower_is_better: bool = True


def _summary_row(
    result: dict[str, Any], label: str, key: str, get: Callable[[dict[str, Any]], Any], unit: str = "", **kw: Any
) -> Row:
    values: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    for mode, run in result["runs"].items():
        value = get(run["summary"])
        if isinstance(value, dict):  # {"node": ..., "value": ...}: the busiest node
            notes[mode] = value["node"] or ""
            value = value["value"]
        values[mode] = value
    return Row(label, key, values, notes, unit, **kw)


def rows(result: dict[str, Any]) -> list[Row]:
    """The comparison's rows, in display order (docs/metrics.md defines each)."""
    kinds = sorted({k for run in result["runs"].values() for k in run["summary"]["messages"] if k != "DATA"},
                   key=lambda k: (SIGNALLING_KINDS.index(k) if k in SIGNALLING_KINDS else len(SIGNALLING_KINDS), k))
    out = [_summary_row(result, "Signalling messages", "signalling", lambda s: s["signalling_messages"])]
    for kind in kinds:
        out.append(_summary_row(result, kind, f"kind-{kind}", lambda s, k=kind: s["messages"].get(k, 0),
                                indent=True, chart=False))
    out += [
        _summary_row(result, "Binding signalling (PBU/PBA/BU/BA)", "binding-signalling", lambda s: s["binding_messages"]),
        _summary_row(result, "Handovers", "handovers", lambda s: s["handovers"], chart=False, lower_is_better=False),
        _summary_row(result, "Mean handover latency", "latency", lambda s: s["handover_latency_ms_mean"], "ms"),
        _summary_row(result, "Mean attach latency", "attach-latency", lambda s: s["attach_latency_ms_mean"], "ms"),
        _summary_row(result, "Mean interruption", "interruption", lambda s: s["interruption_ms_mean"], "ms"),
        _summary_row(result, "Packets delivered", "delivered", lambda s: s["delivered"], lower_is_better=False,
                     chart=False),
        _summary_row(result, "Packets lost", "lost", lambda s: s["lost"]),
        _summary_row(result, "Mean path stretch (hops)", "stretch", lambda s: s["stretch_mean"]),
        _summary_row(result, "Mean path stretch (delay)", "delay-stretch", lambda s: s["delay_stretch_mean"]),
        _summary_row(result, "State entries at peak, busiest node", "state-peak", lambda s: s["state_peak_busiest"]),
        _summary_row(result, "Binding entries at peak, busiest node", "binding-peak",
                     lambda s: s["binding_peak_busiest"]),
        _summary_row(result, "Tunnels at peak", "tunnels-peak", lambda s: s["tunnels_peak"]),
        _summary_row(result, "Signalling at busiest node", "signalling-busiest", lambda s: s["signalling_busiest"]),
        _summary_row(result, "Data segments at busiest node", "data-busiest", lambda s: s["data_busiest"]),
    ]
    return out


def format_value(value: float | None, note: str = "", unit: str = "") -> str:
    if value is None:
        text = "-"
    elif isinstance(value, float) and not value.is_integer():
        text = f"{value:.2f}" if abs(value) < 100 else f"{value:.1f}"
    else:
        text = f"{int(value)}"
    if value is not None and unit:
        text += f" {unit}"
    return f"{text} ({note})" if note else text


def format_table(result: dict[str, Any]) -> str:
    """A plain-text table, modes side by side, for a terminal or a slide."""
    modes = result["modes"]
    table = [["", *modes]]
    for row in rows(result):
        label = ("  " + row.label) if row.indent else row.label
        cells = [format_value(row.values.get(mode), row.notes.get(mode, ""), row.unit) for mode in modes]
        table.append([label, *cells])
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = [f"{result['title']} (until {result['until']:g} s)", ""]
    for n, line in enumerate(table):
        lines.append("  ".join([line[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(line[1:], widths[1:]))]).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += ["", "(node) = the busiest node; '-' = nothing to measure. Definitions: docs/metrics.md"]
    return "\n".join(lines) + "\n"
