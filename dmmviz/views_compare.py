"""The comparison page: one scenario under the three anchoring designs, as a table and as bar charts.

    /compare/                      the scenarios, each with a link to its comparison
    /compare/<slug>/[?until=T]     the table (simulator.compare.rows) and one inline SVG bar chart per row
    /compare/<slug>/?format=json   the "dmmviz-compare/1" document, as `python -m simulator compare --export json`

The numbers come from simulator.compare, exactly as the CLI prints them; the charts are drawn here, server side, with
no JavaScript. Each bar carries its mode's name and value as text, so colour is never the only cue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dmmviz import access
from simulator import ScenarioError
from simulator.compare import MODES, compare, format_value, rows
from simulator.scenario import default_until

MAX_UNTIL = 600.0  # simulated seconds: keeps one page request to a few seconds of engine time

# Chart geometry (SVG user units; the SVG scales to the page width).
LABEL_W, BAR_MAX_W, VALUE_W, BAR_H, GAP = 150, 330, 120, 18, 6
CHART_W = LABEL_W + BAR_MAX_W + VALUE_W
MODE_CLASS = {mode: f"mode-{i}" for i, mode in enumerate(MODES)}


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


def _charts(result: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Chart]]:
    """Table lines (label and one cell per mode) and a bar chart for each chartable row."""
    table, charts = [], []
    available = [m for m in result["modes"] if result["runs"][m]["available"]]
    for row in rows(result):
        cells = [
            format_value(row.values.get(m), row.notes.get(m, ""), row.unit) if m in available else "n/a"
            for m in result["modes"]
        ]
        table.append({"label": row.label, "indent": row.indent, "cells": cells, "key": row.key})
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
            for i, (m, v) in enumerate(zip(available, numbers))
        ]
        charts.append(Chart(row.key, row.label, len(bars) * (BAR_H + GAP), bars, row.lower_is_better))
    return table, charts


def _until(request: HttpRequest) -> float | None | str:
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
        return HttpResponseBadRequest(f"this scenario is not valid:\n{problems}", content_type="text/plain; charset=utf-8")
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
        "unavailable": [(m, r["reason"]) for m, r in result["runs"].items() if not r["available"]],
        "table": table,
        "charts": charts,
        "chart": {"width": CHART_W, "label_w": LABEL_W, "bar_h": BAR_H, "value_gap": 6},
        "default_until": default_until(scenario.data),
        "max_until": MAX_UNTIL,
    }
    return render(request, "compare.html", context)
