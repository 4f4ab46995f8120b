"""The same scenario under the three anchoring designs, side by side ("dmmviz-compare/1").

    compare(scenario, until=None) -> dict      # runs every mode, computes its metrics (simulator.metrics), and
                                               # each mode again with one lost PBA (BA) at the first move
    lost_answer_scenario(scenario, mode)       # that second scenario: the first one plus one `drop` fault
    rows(result) -> list[Row]                  # the comparison's rows: one place for the table and the web page
    format_table(result) -> str                # a plain-text table for a terminal or a slide

Pure like the rest of ``simulator/``: no I/O; the CLI prints, the web view draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .engine import Simulation
from .metrics import observe
from .scenario import default_until, load_scenario

FORMAT = "dmmviz-compare/1"
# Distributed first, the baseline last: the order of the columns and the bars.
MODES = ("network-dmm", "client-dmm", "centralized-pmipv6")
SIGNALLING_KINDS = ("RS", "RA", "DB_QUERY", "DB_REPLY", "DB_UPDATE", "PBU", "PBA", "BU", "BA")
# "What if the registration's answer is lost?" (issue 13): the acknowledgement each design waits for at a handover.
LOST_ANSWER = {"network-dmm": "PBA", "client-dmm": "BA", "centralized-pmipv6": "PBA"}
FAULT_ACTION = "drop"  # ../shared/spec/formats.md, "Faults"


def _first_move(scenario: dict[str, Any]) -> dict[str, Any] | None:
    moves = [step for step in scenario["script"] if step["action"] == "move"]
    return min(moves, key=lambda step: step["at"]) if moves else None


def lost_answer_scenario(scenario: dict[str, Any], mode: str) -> dict[str, Any] | None:
    """The scenario plus one `drop` fault: the first PBA (client-dmm: BA) of the first `move`'s registration is lost,
    i.e. the first one sent to the new MAR (client-dmm: to the MN) at or after the move. None without a move."""
    move = _first_move(scenario)
    if move is None:
        return None
    answer = LOST_ANSWER[mode]
    drop = {"at": move["at"], "action": FAULT_ACTION, "kind": answer,
            "dst": move["mn"] if answer == "BA" else move["mar"], "count": 1}
    return {**scenario, "script": [*scenario["script"], drop]}


def _lost_answer_run(scenario: dict[str, Any], mode: str, end: float) -> dict[str, Any] | None:
    """Latency and interruption of the first move's handover when its answer is lost (None: no move)."""
    faulted = lost_answer_scenario(scenario, mode)
    move = _first_move(scenario)
    if faulted is None or move is None:
        return None
    metrics = observe(Simulation(load_scenario(faulted), mode=mode, record=False), end)
    handover = next((h for h in metrics["handovers"] if h["mn"] == move["mn"] and h["at"] >= move["at"]), None)
    interruptions = list((handover or {}).get("interruption_ms", {}).values())
    return {
        "lost": metrics["lost_messages"],
        "retransmissions": metrics["retransmissions"],
        "latency_ms": handover["latency_ms"] if handover else None,
        "interruption_ms": None if not interruptions or None in interruptions else max(interruptions),
        "unrecovered": len((handover or {}).get("unrecovered", [])),
    }


def compare(scenario: dict[str, Any], until: float | None = None) -> dict[str, Any]:
    """Run ``scenario`` (a parsed document or ``load_scenario``'s result) under every mode until ``until`` (default:
    5 s after the last script action) and return the metrics of each, with their summaries.

    Each mode is also run with the first move's PBA (client-dmm: BA) lost (``lost_answer``: per mode the handover's
    latency and interruption, the messages lost and retransmitted), when the engine has the `drop` fault action;
    until then ``lost_answer`` says why there is none.

    Raises ScenarioError when the scenario is invalid; an engine error (a ValueError) is raised as it is, never
    turned into an empty column. ``available`` is always true (kept so the "dmmviz-compare/1" shape does not change).
    """
    loaded = load_scenario(scenario)
    end = default_until(loaded) if until is None else float(until)
    runs: dict[str, dict[str, Any]] = {}
    for mode in MODES:
        metrics = observe(Simulation(load_scenario(scenario), mode=mode, record=False), end)
        runs[mode] = {"available": True, "metrics": metrics, "summary": metrics["summary"]}
    lost_answer: dict[str, Any]
    if _first_move(loaded) is None:
        lost_answer = {"supported": True, "runs": {}, "reason": "the scenario has no move"}
    else:
        lost_answer = {"supported": True,
                       "runs": {mode: _lost_answer_run(loaded, mode, end) for mode in MODES}}
    return {
        "format": FORMAT,
        "title": loaded.get("title", ""),
        "scenario_mode": loaded.get("mode"),
        "until": end,
        "modes": list(MODES),
        "runs": runs,
        "lost_answer": lost_answer,
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

        def count(summary: dict[str, Any], kind: str = kind) -> Any:
            return summary["messages"].get(kind, 0)

        out.append(_summary_row(result, kind, f"kind-{kind}", count, indent=True, chart=False))
    out += [
        _summary_row(result, "Binding signalling (PBU/PBA/BU/BA)", "binding-signalling",
                     lambda s: s["binding_messages"]),
        _summary_row(result, "Handovers", "handovers", lambda s: s["handovers"], chart=False, lower_is_better=False),
        _summary_row(result, "Mean handover latency", "latency", lambda s: s["handover_latency_ms_mean"], "ms"),
        _summary_row(result, "Mean attach latency", "attach-latency", lambda s: s["attach_latency_ms_mean"], "ms"),
        _summary_row(result, "Mean interruption", "interruption", lambda s: s["interruption_ms_mean"], "ms"),
        _summary_row(result, "Packets delivered", "delivered", lambda s: s["delivered"], lower_is_better=False,
                     chart=False),
        _summary_row(result, "Packets lost", "lost", lambda s: s["lost"]),
        _summary_row(result, "Messages lost on the way", "messages-lost", lambda s: s.get("messages_lost", 0),
                     chart=False),
        _summary_row(result, "Retransmissions", "retransmissions", lambda s: s.get("retransmissions", 0),
                     chart=False),
        _summary_row(result, "Mean path stretch (hops)", "stretch", lambda s: s["stretch_mean"]),
        _summary_row(result, "Mean path stretch (delay)", "delay-stretch", lambda s: s["delay_stretch_mean"]),
        _summary_row(result, "State entries at peak, busiest node", "state-peak", lambda s: s["state_peak_busiest"]),
        _summary_row(result, "Binding entries at peak, busiest node", "binding-peak",
                     lambda s: s["binding_peak_busiest"]),
        _summary_row(result, "Tunnels at peak", "tunnels-peak", lambda s: s["tunnels_peak"]),
        _summary_row(result, "Signalling at busiest node", "signalling-busiest", lambda s: s["signalling_busiest"]),
        _summary_row(result, "Data segments at busiest node", "data-busiest", lambda s: s["data_busiest"]),
    ]
    lost = result.get("lost_answer") or {}
    if lost.get("runs"):
        def lost_row(label: str, key: str, field: str, unit: str = "", **kw: Any) -> Row:
            values = {mode: (run or {}).get(field) for mode, run in lost["runs"].items()}
            return Row(label, key, values, {}, unit, **kw)

        out += [
            lost_row("Handover with one lost PBA (BA): latency", "lost-pba-latency", "latency_ms", "ms"),
            lost_row("interruption", "lost-pba-interruption", "interruption_ms", "ms", indent=True, chart=False),
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
        cells = [c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)]
        lines.append("  ".join([line[0].ljust(widths[0]), *cells]).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lost = result.get("lost_answer") or {}
    if lost.get("reason"):
        lines += ["", f"No 'handover with one lost PBA' row: {lost['reason']}."]
    lines += ["", ("(node) = the busiest node; '-' = nothing to measure, or never completed within the run. "
                   "Definitions: docs/metrics.md")]
    return "\n".join(lines) + "\n"
