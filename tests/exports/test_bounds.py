"""Diagram exports are bounded (issue 10): a city-sized run gives a clear error or a truncated diagram that says so,
never a traceback, a 500 or a drawing of hundreds of megabytes; an empty run exports in every format."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest

from simulator.export import FORMATS, ExportError, export, sequence_model
from simulator.export.sequence import MAX_ITEMS, MAX_LIFELINES


def _rs_trace(mns: int, per_mn: int = 1) -> dict:
    events = []
    for _ in range(per_mn):
        for i in range(mns):
            n = len(events)
            events.append({"seq": n, "id": n + 1, "t": n * 0.001, "arrive": n * 0.001 + 0.002, "kind": "RS",
                           "src": f"MN{i}", "dst": "MAR1", "mn": f"MN{i}", "interface": "if1"})
    nodes = {"MAR1": "mar", **{f"MN{i}": "mn" for i in range(mns)}}
    return {"format": "dmmviz-trace/1", "title": "big", "mode": "network-dmm", "nodes": nodes, "events": events}


@pytest.mark.parametrize("fmt", ["svg", "mermaid", "plantuml", "ascii"])
def test_five_thousand_mns_is_a_clear_error_not_a_huge_drawing(fmt):
    """5,000 lifelines: ExportError (the web view's 400) naming the limit and the 'nodes' option, within a second."""
    trace = _rs_trace(5000)
    start = time.perf_counter()
    with pytest.raises(ExportError, match=rf"5001 lifelines, more than {MAX_LIFELINES}: .*'nodes' option"):
        export(fmt, trace)
    assert time.perf_counter() - start < 5


def test_choosing_nodes_draws_a_city_run():
    trace = _rs_trace(5000)
    root = ET.fromstring(export("svg", trace, options={"nodes": ["MN1", "MN2", "MAR1"]}))
    assert sum(1 for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text == "RS") == 2


def test_items_past_the_cap_end_in_a_note_that_says_how_many():
    """12,000 messages between two nodes: MAX_ITEMS arrows, then one note counting the rest and naming start/end."""
    trace = _rs_trace(1, per_mn=MAX_ITEMS + 2000)
    model = sequence_model(trace)
    assert len(model["items"]) == MAX_ITEMS + 1
    note = model["items"][-1]
    assert note["type"] == "note" and note["lines"][0].startswith("... 2000 more events up to t=")
    assert "'start' and 'end'" in note["lines"][0]
    window = sequence_model(trace, options={"start": 11.0})
    assert window["items"][0]["t"] == pytest.approx(11.0) and len(window["items"]) <= MAX_ITEMS + 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_run_exports(fmt):
    """A session at t=0 with nothing happened yet (no lifeline) exports in every format (the SVG raised IndexError)."""
    out = export(fmt, {"format": "dmmviz-trace/1", "title": "nothing yet", "nodes": {}, "events": []})
    assert out
    if fmt == "svg":
        assert ET.fromstring(out).tag.endswith("svg")
