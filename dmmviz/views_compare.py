"""The comparison page: one scenario under the three anchoring designs, as a table and as bar charts.

    /compare/                      the scenarios, each with a link to its comparison
    /compare/<slug>/[?until=T]     the table (simulator.compare.rows) and one inline SVG bar chart per row
    /compare/<slug>/?format=json   the "dmmviz-compare/1" document, as `python -m simulator compare --export json`
    /compare/<slug>/watch/         POST mode=...: a new simulation of the scenario under that design ("watch it")
    /docs/metrics/                 docs/metrics.md as a page: what every number is, exactly
                                   (linked from the compare page)

The numbers come from simulator.compare, exactly as the CLI prints them; the charts are drawn here, server side, with
no JavaScript. Each bar carries its mode's name and value as text, so colour is never the only cue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from dmmviz import access
from simulator import ScenarioError
from simulator.compare import MODES, compare, format_value, rows
from simulator.scenario import default_until

MAX_UNTIL = 600.0  # simulated seconds: keeps one page request to a few seconds of engine time

# Chart geometry (SVG user units; the SVG scales to the page width).
LABEL_W, BAR_MAX_W, VALUE_W, BAR_H, GAP = 150, 330, 120, 18, 6
CHART_W = LABEL_W + BAR_MAX_W + VALUE_W
MODE_CLASS = {mode: f"mode-{i}" for i, mode in enumerate(MODES)}

# Each design in plain words (the technical name goes beside it), as on the home page (templates/_design.html).
DESIGN_NAMES = {
    "network-dmm": "Distributed, the network signals",
    "client-dmm": "Distributed, the phone signals",
    "centralized-pmipv6": "One central anchor",
}

# What each row measures, said where it is shown (docs/metrics.md has the exact definitions).
EXPLAIN = {
    "signalling": "Every control message sent: router solicitations and advertisements, database look-ups and "
    "updates, binding updates and their acknowledgements. Fewer is lighter on the network.",
    "binding-signalling": "The messages that register a move: proxy binding updates and acknowledgements "
    "(PBU/PBA, network-based) or binding updates (BU/BA, the phone itself).",
    "handovers": "How many times a mobile node moved from one access router to another.",
    "latency": "From the moment a mobile node attaches to a new access router until the old flows can reach it "
    "again (the tunnel is up). Shorter is better.",
    "attach-latency": "From attaching to an access router until the mobile node has a prefix to use there.",
    "interruption": "How long a flow's packets stop arriving during a handover.",
    "delivered": "Data packets that reached their destination.",
    "lost": "Data packets sent but never delivered: dropped by a node (most while a mobile node is between routers) "
            "or lost in the network to a fault.",
    "messages-lost": "Messages (signalling or data) that never arrived.",
    "retransmissions": "Binding updates sent again because no acknowledgement came in time.",
    "stretch": "Path stretch: how many more hops a packet travels than the shortest path between the two ends "
    "(1.0 = the shortest path; 2.0 = twice as many hops). A tunnel back to an old anchor stretches the path.",
    "delay-stretch": "The same in time: the packet's actual delay divided by the shortest path's delay.",
    "state-peak": "The most table entries (bindings, session database rows, prefixes) any one node held at once: "
    "how much state the busiest node keeps.",
    "binding-peak": "The most binding entries any one node held at once.",
    "tunnels-peak": "The most tunnels up at the same time.",
    "signalling-busiest": "Control messages handled by the busiest node (sent or received).",
    "data-busiest": "Data packets relayed by the busiest node: a central anchor carries everyone's traffic.",
}
KIND_EXPLAIN = {
    "RS": "Router Solicitation: a mobile node asks its access router for a prefix.",
    "RA": (
        "Router Advertisement: the router answers with prefixes "
        "(a deprecated one says: stop starting new flows on it)."
    ),
    "DB_QUERY": "The access router asks the session database where the mobile node's prefixes are anchored.",
    "DB_REPLY": "The session database's answer.",
    "DB_UPDATE": "The access router records a new prefix (or its removal) in the session database.",
    "PBU": "Proxy Binding Update: the new router tells the anchor that the node is now behind it.",
    "PBA": "Proxy Binding Acknowledgement: the anchor agrees and the tunnel goes up.",
    "BU": "Binding Update: the mobile node itself registers its new address with its home agent.",
    "BA": "Binding Acknowledgement: the home agent's answer to a BU.",
}


def explain(key: str) -> str:
    """The plain-language meaning of a comparison row (by its key)."""
    if key.startswith("kind-"):
        return KIND_EXPLAIN.get(key.removeprefix("kind-"), "")
    return EXPLAIN.get(key, "")


@dataclass(frozen=True, slots=True)
class Bar:
    mode: str
    css: str
    y: int  # top of the bar
    width: float
    text: str  # the value as the table shows it

    @property
    def text_y(self) -> int:  # baseline of the labels beside the bar
        return self.y + BAR_H - 5

    @property
    def value_x(self) -> float:
        return LABEL_W + self.width + 6


@dataclass(frozen=True, slots=True)
class Chart:
    key: str
    label: str
    height: int
    bars: list[Bar]
    lower_is_better: bool
    explain: str = ""


def _charts(result: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Chart]]:
    """Table lines (label and one cell per mode) and a bar chart for each chartable row."""
    table, charts = [], []
    available = [m for m in result["modes"] if result["runs"][m]["available"]]
    for row in rows(result):
        cells = [
            format_value(row.values.get(m), row.notes.get(m, ""), row.unit) if m in available else "n/a"
            for m in result["modes"]
        ]
        table.append(
            {"label": row.label, "indent": row.indent, "cells": cells, "key": row.key, "explain": explain(row.key)}
        )
        if not row.chart:
            continue
        numbers = [row.values.get(m) for m in available]
        top = max((v for v in numbers if v is not None), default=0) or 1
        bars = [
            Bar(
                mode=m,
                css=MODE_CLASS[m],
                y=i * (BAR_H + GAP),
                width=round(BAR_MAX_W * (v or 0) / top, 1),
                text=format_value(v, row.notes.get(m, ""), row.unit),
            )
            for i, (m, v) in enumerate(zip(available, numbers, strict=True))
        ]
        charts.append(Chart(row.key, row.label, len(bars) * (BAR_H + GAP), bars, row.lower_is_better, explain(row.key)))
    return table, charts


def _until(request: HttpRequest) -> float | str | None:
    """The ?until= parameter: a float, None when absent, or the error text."""
    raw = request.GET.get("until", "").strip()
    if not raw:
        return None
    try:
        until = float(raw)
    except ValueError:
        return f"until: {raw!r} is not a number of seconds"
    if not 0 < until <= MAX_UNTIL:
        return f"until: must be more than 0 and at most {MAX_UNTIL:g} s, not {raw}"
    return until


@require_GET
def compare_index(request: HttpRequest) -> HttpResponse:
    """Every scenario, with a link to its comparison."""
    # the scenarios this visitor may see: a private upload only for its uploader (dmmviz/access.py)
    return render(request, "compare_index.html", {"scenarios": access.visible_scenarios(access.Who.of(request))})


@require_GET
def compare_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The comparison of one stored scenario; ?until=T (seconds) cuts the runs, ?format=json gives the document."""
    scenario = access.scenario_or_404(request, slug)
    until = _until(request)
    if isinstance(until, str):
        return HttpResponseBadRequest(until, content_type="text/plain; charset=utf-8")
    try:
        result = compare(scenario.data, until)
    except ScenarioError as exc:
        problems = "\n".join(str(p) for p in exc.problems)
        return HttpResponseBadRequest(
            f"this scenario is not valid:\n{problems}", content_type="text/plain; charset=utf-8"
        )
    if request.GET.get("format") == "json":
        response = HttpResponse(json.dumps(result, indent=1), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{slug}-compare.json"'
        return response
    table, charts = _charts(result)
    context = {
        "scenario": scenario,
        "result": result,
        "modes": result["modes"],
        "mode_classes": [MODE_CLASS[m] for m in result["modes"]],
        "designs": [{"mode": m, "name": DESIGN_NAMES.get(m, m), "css": MODE_CLASS[m]} for m in result["modes"]],
        "unavailable": [(m, r["reason"]) for m, r in result["runs"].items() if not r["available"]],
        "table": table,
        "charts": charts,
        "chart": {"width": CHART_W, "label_w": LABEL_W, "bar_h": BAR_H, "value_gap": 6},
        "default_until": default_until(scenario.data),
        "max_until": MAX_UNTIL,
    }
    return render(request, "compare.html", context)


@require_POST
def compare_watch(request: HttpRequest, slug: str) -> HttpResponse:
    """Watch the scenario under one design: a new simulation session of it with that mode, and its page."""
    from dmmviz.web.models import SimSession  # the web app's model; imported here so this module loads without it

    scenario = access.scenario_or_404(request, slug)
    mode = request.POST.get("mode", "")
    if mode not in MODES:
        return HttpResponseBadRequest(
            f"mode: {mode!r} is not one of {', '.join(MODES)}", content_type="text/plain; charset=utf-8"
        )
    session = SimSession.objects.create(
        scenario=scenario, scenario_data=scenario.data, mode=mode, **access.owner_fields(request)
    )
    return redirect("session", session_id=session.id)


DOCS = Path(__file__).resolve().parent.parent / "docs"
DOC_TAGS = {"p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1", "h2", "h3", "h4",
            "table", "thead", "tbody", "tr", "th", "td", "sub", "sup"}


@cache
def _metrics_html() -> str:
    """docs/metrics.md as HTML: Markdown, then nh3's allow-list (the headings keep their ids for links)."""
    import markdown
    import nh3

    text = (DOCS / "metrics.md").read_text(encoding="utf-8")
    html = markdown.markdown(text, extensions=["fenced_code", "tables", "toc"], output_format="html")
    attributes = {
        "a": {"href", "title"},
        **{h: {"id"} for h in ("h1", "h2", "h3", "h4")},
        "th": {"align"},
        "td": {"align"},
    }
    return nh3.clean(
        html, tags=DOC_TAGS, attributes=attributes, url_schemes={"http", "https"}, link_rel="noopener noreferrer"
    )


@require_GET
def metrics_doc(request: HttpRequest) -> HttpResponse:
    """The metrics' exact definitions (docs/metrics.md), readable in the browser, linked from the compare page."""
    return render(request, "compare_metrics.html", {"doc": mark_safe(_metrics_html())})  # sanitised by nh3 above
