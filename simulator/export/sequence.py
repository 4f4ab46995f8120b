"""The sequence-diagram model: one run of the engine as lifelines, arrows and notes.

Every diagram format (SVG, PlantUML, Mermaid, ASCII) and the browser's live panel draw this one model, so they
show the same thing. It is built from a "dmmviz-trace/1" document (../shared/spec/formats.md, docs/engine.md)
and is itself plain JSON ("dmmviz-sequence/1", documented in docs/exports.md).

How it is built:
- Lifelines in the manner of the seed's Figure 5 (MN1, MAR2, MAR1, CN1, CN2): mobile nodes first, then the MARs,
  the one a mobile node attached to most recently first (the serving MAR next to the MN, anchors further away),
  then anchor-only nodes (the LMA), the session DB, and the correspondent nodes last.
- Prefixes get short names HNP1, HNP2, ... in order of allocation over the whole run, so a name never changes
  with the time window; the legend lists the ones the diagram mentions.
- Data packets are either shown one by one or folded: consecutive packets of one flow on one segment (both
  directions, tunnelled or not, delivered or lost) become one arrow "flow1 data (n pkts)". Any other item
  (a signalling message or a note) ends every open run, so a fold never hides an ordering.
- State events become notes ("MAR1 allocates HNP1 ...", "MAR1: binding HNP1 -> MAR2", "tunnel MAR1<=>MAR2 up");
  consecutive notes over the same lifelines merge into one note of several lines.
"""

from __future__ import annotations

import math
from typing import Any

from ..events import is_message as _is_message_kind
from ..limits import shortened

MODEL_FORMAT = "dmmviz-sequence/1"
TRACE_FORMAT = "dmmviz-trace/1"
DATA_MODES = ("fold", "show")
OPTION_KEYS = ("start", "end", "nodes", "data", "time_axis")

# RFC 5213 §8.9 / RFC 6275 §6.1.8: the status codes a PBA or BA can carry.
BA_STATUS = {
    0: "accepted",
    128: "reason unspecified",
    129: "administratively prohibited",
    130: "insufficient resources",
    133: "not home agent for this MN",
    135: "sequence number out of window",
    152: "proxy registration not enabled",
    153: "not LMA for this MN",
    154: "MAG not authorized",
    155: "not authorized for HNP",
    156: "timestamp mismatch",
    157: "timestamp lower than accepted",
    158: "missing HNP option",
    159: "BCE/PBU prefix set mismatch",
    160: "missing MN-ID option",
    161: "missing HI option",
    162: "missing ATT option",
}

ROLE_ORDER = ("mn", "mar", "anchor", "db", "cn", "other")
DIAGRAM_ROLE = {"mn": "mn", "mar": "mar", "lma": "anchor", "db": "db", "cn": "cn"}  # engine role -> lifeline role
# Bounds on a diagram, so a city-sized run cannot make a multi-megabyte drawing nobody can read (or take minutes):
# more lifelines than this is an ExportError asking for the `nodes` option; past MAX_ITEMS arrows and notes the
# diagram stops with a note saying how many more there were and how to see them (the `start`/`end` window).
MAX_LIFELINES = 100
MAX_ITEMS = 10_000


class ExportError(ValueError):
    """A trace or an option the exporters cannot use; the message says which and why."""


def check_trace(trace: Any) -> list[dict[str, Any]]:
    """Return the trace's events, or raise ExportError saying what is wrong with the document."""
    if not isinstance(trace, dict):
        raise ExportError(f"trace must be a JSON object, not {type(trace).__name__}")
    if trace.get("format") != TRACE_FORMAT:
        raise ExportError(f"trace format must be {TRACE_FORMAT!r}, not {trace.get('format')!r}")
    events = trace.get("events")
    if not isinstance(events, list):
        raise ExportError("trace.events must be a list")
    for i, ev in enumerate(events):
        if not isinstance(ev, dict) or not isinstance(ev.get("kind"), str) or not isinstance(ev.get("t"), (int, float)):
            raise ExportError(f"trace.events[{i}] must be an object with a string 'kind' and a number 't'")
        if is_message(ev) and not (isinstance(ev.get("src"), str) and isinstance(ev.get("dst"), str)):
            raise ExportError(f"trace.events[{i}] ({ev['kind']}) needs string 'src' and 'dst'")
    return events


def check_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """Return the options with defaults filled in, or raise ExportError naming the bad option."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise ExportError(f"unknown option {shortened(repr(unknown[0]))}; known options: {', '.join(OPTION_KEYS)}")
    for key in ("start", "end"):
        value = options.get(key)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is not None and (not number or not math.isfinite(value)):
            raise ExportError(f"option {key!r} must be a number of seconds, not {shortened(repr(value))}")
    if options.get("start") is not None and options.get("end") is not None and options["start"] > options["end"]:
        raise ExportError(f"option 'start' ({options['start']}) is after 'end' ({options['end']})")
    nodes = options.get("nodes")
    if nodes is not None and (not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes)):
        raise ExportError("option 'nodes' must be a list of node ids")
    data = options.setdefault("data", "fold")
    if data not in DATA_MODES:
        raise ExportError(f"option 'data' must be one of {', '.join(DATA_MODES)}, not {shortened(repr(data))}")
    options["time_axis"] = bool(options.get("time_axis", False))
    return options


def is_message(ev: dict[str, Any]) -> bool:
    """Is this event a message (a packet from src to dst)? The event catalogue says."""
    return _is_message_kind(ev["kind"])


def in_window(ev: dict[str, Any], options: dict[str, Any]) -> bool:
    start, end = options.get("start"), options.get("end")
    return (start is None or ev["t"] >= start) and (end is None or ev["t"] <= end)


# ---------------------------------------------------------------------------------------------------------------
# Who is who: roles and lifeline order, read off the events of the whole run.


def node_roles(trace: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, str]:
    """Every node id -> its role in the diagram (mn, mar, anchor, db, cn), from the trace's own ``nodes`` map (the
    engine names every node's role: simulator/events.py ``Role``; the central LMA is drawn as an "anchor").
    Raises ExportError when the map is missing or leaves out a node the events name."""
    nodes = trace.get("nodes")
    if not isinstance(nodes, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in nodes.items()):
        raise ExportError("trace.nodes must map every node id to its role (mn, mar, lma, db, cn), as the engine's "
                          "traces do")
    roles = {node: DIAGRAM_ROLE.get(role, "other") for node, role in nodes.items()}
    for i, ev in enumerate(events):
        for key in ("src", "dst") if is_message(ev) else ("node",):
            node = ev.get(key)
            if isinstance(node, str) and node not in roles:
                raise ExportError(f"trace.events[{i}].{key}: node {node!r} has no role in trace.nodes")
    return roles


def lifeline_order(events: list[dict[str, Any]], roles: dict[str, str]) -> list[str]:
    """Node ids in column order (see the module docstring)."""
    first_seen: dict[str, int] = {}
    latest_attach: dict[str, float] = {}
    for i, ev in enumerate(events):
        for key in ("src", "dst", "node", "peer", "mn", "cn"):
            node = ev.get(key)
            if isinstance(node, str) and node in roles:
                first_seen.setdefault(node, i)
        if ev["kind"] == "l2_attach" and isinstance(ev.get("node"), str):
            latest_attach[ev["node"]] = ev["t"]

    def order_key(node: str) -> tuple[int, float, int]:
        role = roles[node]
        rank = ROLE_ORDER.index(role)
        if role == "mar":
            return (rank, -latest_attach.get(node, -math.inf), first_seen.get(node, 0))
        return (rank, 0, first_seen.get(node, 0))

    return sorted(roles, key=order_key)


# ---------------------------------------------------------------------------------------------------------------
# Prefix names


class PrefixNames:
    """HNP1, HNP2, ... in order of allocation over the whole run; prefixes never allocated are named on first sight."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.names: dict[str, str] = {}
        self.info: dict[str, dict[str, Any]] = {}
        for ev in events:
            if ev["kind"] == "hnp_allocated" and isinstance(ev.get("hnp"), str):
                self._name(ev["hnp"])
                self.info.setdefault(ev["hnp"], {"anchor": ev.get("node"), "mn": ev.get("mn")})
        for ev in events:
            for prefix in mentioned_prefixes(ev):
                self._name(prefix)
        self.used: set[str] = set()

    def _name(self, prefix: str) -> str:
        if prefix not in self.names:
            self.names[prefix] = f"HNP{len(self.names) + 1}"
        return self.names[prefix]

    def __call__(self, prefix: str) -> str:
        """The short name of a prefix; the legend will list it."""
        self.used.add(prefix)
        return self._name(prefix)

    def legend(self) -> list[dict[str, Any]]:
        rows = []
        for prefix, name in self.names.items():
            if prefix in self.used:
                info = self.info.get(prefix, {})
                rows.append({"name": name, "prefix": prefix, "anchor": info.get("anchor"), "mn": info.get("mn")})
        return rows


def mentioned_prefixes(ev: dict[str, Any]) -> list[str]:
    out = [p["prefix"] for p in ev.get("prefixes") or [] if isinstance(p, dict) and isinstance(p.get("prefix"), str)]
    out += [p for p in ev.get("hnps") or [] if isinstance(p, str)]
    out += [e["hnp"] for e in ev.get("entries") or [] if isinstance(e, dict) and isinstance(e.get("hnp"), str)]
    for key in ("hnp", "prefix"):
        if isinstance(ev.get(key), str):
            out.append(ev[key])
    return out


# ---------------------------------------------------------------------------------------------------------------
# Labels: one function per kind of message, one table of notes.


def _hnp_list(ev: dict[str, Any], name: PrefixNames) -> str:
    # RFC 5213 §8.1: a PBU with no prefix (ALL_ZERO in the packet) asks the LMA to assign one.
    return ", ".join(name(p) for p in ev.get("hnps") or []) or "new HNP"


def number(value: Any) -> str:
    """3600.0 -> "3600", 0.5 -> "0.5": the engine's seconds are floats, labels need not say so."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _lifetime(ev: dict[str, Any]) -> str:
    lifetime = ev.get("lifetime")
    return "lifetime 0: dereg" if lifetime == 0 else f"lifetime {number(lifetime)}"


def _status(ev: dict[str, Any]) -> str:
    status = ev.get("status")
    text = BA_STATUS.get(status, "") if isinstance(status, int) else ""
    return text if status == 0 else f"{status} {text}".strip()


def _entries(ev: dict[str, Any], name: PrefixNames) -> str:
    entries = [e for e in ev.get("entries") or [] if isinstance(e, dict) and "hnp" in e]
    return ", ".join(f"{name(e['hnp'])}@{e.get('anchor')}" for e in entries)


def message_label(ev: dict[str, Any], name: PrefixNames, multi_if: set[str]) -> str:
    """The arrow label of one signalling message, compact enough for a 72-column diagram."""
    kind = ev["kind"]
    via = f" {ev.get('interface')}" if ev.get("mn") in multi_if and ev.get("interface") else ""
    if kind == "RS":
        return f"RS{via}"
    if kind == "RA":
        parts = []
        for p in ev.get("prefixes") or []:
            deprecated = p.get("preferred_lifetime") == 0 and (p.get("valid_lifetime") or 0) > 0
            gone = p.get("valid_lifetime") == 0
            parts.append(name(p["prefix"]) + (" depr." if deprecated else " withdrawn" if gone else ""))
        return f"RA{via}({', '.join(parts)})"
    if kind in ("PBU", "BU"):
        flow = f", {ev['flow']}" if ev.get("flow") else ""
        return f"{kind}(seq {ev.get('sequence')}, {_lifetime(ev)}, {_hnp_list(ev, name)}{flow})"
    if kind in ("PBA", "BA"):
        return f"{kind}({_status(ev)}, seq {ev.get('sequence')})"
    if kind == "DB_QUERY":
        entries = _entries(ev, name)
        return f"DB_QUERY({ev.get('mn')}{': ' + entries if entries else ''})"
    if kind == "DB_REPLY":
        return f"DB_REPLY({_entries(ev, name) or 'none'})"
    if kind == "DB_UPDATE":
        sign = "-" if ev.get("op") == "remove" else "+"
        return f"DB_UPDATE({', '.join(sign + x for x in _entries(ev, name).split(', ') if x)})"
    if kind == "DATA":
        return f"{ev.get('flow')} #{ev.get('packet')}"
    return str(kind)


def _flow_suffix(ev: dict[str, Any]) -> str:
    return f" for {ev['flow']}" if ev.get("flow") else ""


def note_for(ev: dict[str, Any], name: PrefixNames) -> tuple[list[Any], str] | None:
    """(lifelines the note stands over, text) for a state event worth showing, else None.

    Not shown: `action` (its effects are), `db_entry_*` (the DB_UPDATE arrow is), `prefixes_changed` (the RA label
    is); `drop` has an item of its own.
    """
    kind, node = ev["kind"], ev.get("node")
    iface = f" ({ev['interface']})" if ev.get("interface") else ""
    if kind == "l2_attach":
        return [ev.get("mn")], f"L2 attach to {node}{iface}"
    if kind == "l2_detach":
        return [ev.get("mn")], f"L2 detach from {node}{iface}"
    if kind == "hnp_allocated":
        return [node], f"{node} allocates {name(ev['hnp'])} {ev['hnp']}"
    if kind == "hnp_released":
        return [node], f"{node} releases {name(ev['hnp'])}"
    if kind in ("binding_created", "binding_updated"):
        return [node], f"{node}: binding {name(ev['hnp'])} -> {ev.get('serving')}{_flow_suffix(ev)}"
    if kind == "binding_deleted":
        return [node], f"{node}: binding {name(ev['hnp'])} deleted{_flow_suffix(ev)}"
    if kind == "bul_added":
        return [node], f"{node}: BUL {name(ev['hnp'])} anchored at {ev.get('anchor')}{_flow_suffix(ev)}"
    if kind == "bul_removed":
        return [node], f"{node}: BUL {name(ev['hnp'])} removed{_flow_suffix(ev)}"
    if kind in ("tunnel_up", "tunnel_down"):
        return [node, ev.get("peer")], f"tunnel {node}<=>{ev.get('peer')} {kind[7:]}"
    if kind == "flow_started":
        prefix = f" using {name(ev['prefix'])}" if ev.get("prefix") else ""
        return [ev.get("mn") or node], f"{ev.get('flow')} to {ev.get('cn')}{prefix}"
    if kind == "flow_stopped":
        return [ev.get("mn") or node], f"{ev.get('flow')} stops"
    if kind == "flow_moved":
        prefix = f" ({name(ev['prefix'])})" if ev.get("prefix") else ""
        return [ev.get("mn") or node], f"{ev.get('flow')} moves to {ev.get('interface')}{prefix}"
    return None


# ---------------------------------------------------------------------------------------------------------------
# The model


def sequence_model(trace: dict[str, Any], options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the "dmmviz-sequence/1" model of a trace.

    In: a "dmmviz-trace/1" document and the options of `simulator.export.export` (start, end, nodes, data,
    time_axis). Out: a JSON-ready dict with `lifelines`, `items` (arrows and notes in time order) and `legend`
    (docs/exports.md). Raises ExportError for a malformed trace, a bad option or an unknown node id.
    """
    events = check_trace(trace)
    options = check_options(options)
    roles = node_roles(trace, events)
    order = lifeline_order(events, roles)
    if options.get("nodes") is not None:
        unknown = [n for n in options["nodes"] if n not in roles]
        if unknown:
            shown = shortened(repr(unknown[0]))
            raise ExportError(f"option 'nodes': unknown node {shown}; the trace has {', '.join(order)}")
        order = list(dict.fromkeys(options["nodes"]))
    else:  # the nodes the events name (the trace's map lists every node of the scenario)
        named = {ev.get(key) for ev in events for key in ("src", "dst", "node", "peer", "mn", "cn")}
        order = [n for n in order if n in named]
    if len(order) > MAX_LIFELINES:
        raise ExportError(f"the diagram would have {len(order)} lifelines, more than {MAX_LIFELINES}: choose the nodes "
                          f"to draw with the 'nodes' option (--nodes on the command line)")
    visible = set(order)
    position = {node: i for i, node in enumerate(order)}
    name = PrefixNames(events)
    interfaces: dict[str, set[str]] = {}
    for ev in events:
        if ev.get("mn") and ev.get("interface"):
            interfaces.setdefault(ev["mn"], set()).add(ev["interface"])
    multi_if = {mn for mn, ifs in interfaces.items() if len(ifs) > 1}

    lost_in_flight = {ev.get("id") for ev in events if is_message(ev) and ev.get("arrive", 0) is None}
    items: list[dict[str, Any]] = []
    runs: dict[tuple[Any, ...], dict[str, Any]] = {}  # open data runs, by (flow, segment, encapsulated, lost)
    fold = options["data"] == "fold"
    more = 0  # items past MAX_ITEMS, counted and not drawn
    for ev in events:
        if not in_window(ev, options):
            continue
        if len(items) >= MAX_ITEMS:
            more += 1
            continue
        kind = ev["kind"]
        if is_message(ev):
            if ev["src"] not in visible or ev["dst"] not in visible:
                continue
            lost = ev.get("arrive", 0) is None
            if kind == "DATA" and fold:
                key: tuple[Any, ...] = (ev.get("flow"), frozenset((ev["src"], ev["dst"])), bool(ev.get("encapsulated")),
                                        lost)
                run = runs.get(key)
                if run is None:
                    run = runs[key] = _arrow(ev, "", lost)
                    items.append(run)
                else:
                    _extend(run, ev)
                run["label"] = _data_label(run)
                continue
            label = message_label(ev, name, multi_if)
            if lost and ev.get("lost"):  # a fault (formats.md "Faults") says which: "lost: drop", "lost: fail"
                label += f" lost: {ev.get('fault') or ev['lost']}"
            items.append(_arrow(ev, label, lost))
            runs.clear()
        elif kind == "drop":
            node = ev.get("node")
            if node not in visible or ev.get("msg") in lost_in_flight:
                continue  # a packet lost on the way is already a lost arrow
            key = ("drop", node, ev.get("flow"), ev.get("reason"))
            run = runs.get(key) if fold else None
            if run is None:
                run = {"type": "drop", "t": ev["t"], "t_last": ev["t"], "node": node, "flow": ev.get("flow"),
                       "reason": ev.get("reason"), "count": 0, "label": ""}
                items.append(run)
                if fold:
                    runs[key] = run
            run["count"] += 1
            run["t_last"] = ev["t"]
            run["label"] = _drop_label(run)
        else:
            note = note_for(ev, name)
            if note is None:
                continue
            over = [n for n in dict.fromkeys(note[0]) if n in visible]
            if not over:
                continue
            over.sort(key=position.__getitem__)
            last = items[-1] if items else None
            if last and last["type"] == "note" and last["over"] == over:
                last["lines"].append(note[1])
                last["kinds"].append(kind)
            else:
                items.append({"type": "note", "t": ev["t"], "over": over, "lines": [note[1]], "kinds": [kind]})
            runs.clear()

    if more:
        last = next(ev["t"] for ev in reversed(events) if in_window(ev, options))
        items.append({"type": "note", "t": items[-1]["t"], "over": order[:1], "kinds": ["truncated"],
                      "lines": [(f"... {more} more events up to t={last:g} s not drawn (at most {MAX_ITEMS} items): "
                                 f"narrow the window with the 'start' and 'end' options")]})
    used = {n for item in items for n in item_nodes(item)}
    if options.get("nodes") is None:
        order = [n for n in order if n in used]
    return {
        "format": MODEL_FORMAT,
        "title": trace.get("title") or "",
        "mode": trace.get("mode"),
        "options": options,
        "lifelines": [{"id": n, "label": n, "role": roles[n]} for n in order],
        "items": items,
        "legend": name.legend(),
    }


def _arrow(ev: dict[str, Any], label: str, lost: bool) -> dict[str, Any]:
    kind = ev["kind"]
    return {
        "type": "message",
        "kind": kind,
        "t": ev["t"],
        "t_last": ev["t"],
        "src": ev["src"],
        "dst": ev["dst"],
        "label": label,
        # "tunnel": an encapsulated packet, drawn as a double line; "data": a native data packet; "signal": the rest.
        "style": "tunnel" if ev.get("encapsulated") else "data" if kind == "DATA" else "signal",
        "both": False,
        "lost": lost,
        "flow": ev.get("flow"),
        "count": 1,
        "ids": [ev.get("id")],
    }


def _extend(run: dict[str, Any], ev: dict[str, Any]) -> None:
    run["count"] += 1
    run["t_last"] = ev["t"]
    run["ids"].append(ev.get("id"))
    if ev["src"] != run["src"]:
        run["both"] = True


def _data_label(run: dict[str, Any]) -> str:
    what = "lost" if run["lost"] else "data"
    unit = "pkt" if run["count"] == 1 else "pkts"
    return f"{run['flow']} {what} ({run['count']} {unit})"


def _drop_label(run: dict[str, Any]) -> str:
    what = f"{run['flow']} " if run.get("flow") else ""
    unit = "pkt" if run["count"] == 1 else "pkts"
    reason = f": {run['reason']}" if run.get("reason") else ""
    return f"{run['node']} drops {what}({run['count']} {unit}){reason}"


def item_nodes(item: dict[str, Any]) -> list[str]:
    """The lifelines an item touches."""
    if item["type"] == "note":
        return list(item["over"])
    if item["type"] == "drop":
        return [item["node"]]
    return [item["src"], item["dst"]]
