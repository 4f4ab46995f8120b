"""The sequence-diagram model: lifeline order, labels, notes, folding, windows and bad input."""

from __future__ import annotations

import json

import pytest

from simulator.export import ExportError, export, sequence_model

from .conftest import engine_trace


def messages(model: dict, kind: str | None = None) -> list[dict]:
    return [i for i in model["items"] if i["type"] == "message" and (kind is None or i["kind"] == kind)]


def notes(model: dict) -> list[str]:
    return [line for i in model["items"] if i["type"] == "note" for line in i["lines"]]


def test_lifelines_fig5_in_the_seeds_order(fig5):
    """Figure 5's columns: the MN, the serving MAR, the old MAR (anchor), the DB, then the CNs."""
    model = sequence_model(fig5)
    assert [lifeline["id"] for lifeline in model["lifelines"]] == ["MN1", "MAR2", "MAR1", "DB", "CN1", "CN2"]
    assert [lifeline["role"] for lifeline in model["lifelines"]] == ["mn", "mar", "mar", "db", "cn", "cn"]


def test_lifelines_centralized_latest_attachment_first_lma_before_cns():
    """Several MNs first, then the MARs by latest attachment (MAR3 at 9 s, MAR2 at 4 s, MAR1), the LMA, the CNs."""
    model = sequence_model(engine_trace("centralized-baseline"))
    expected = ["MN1", "MN2", "MAR3", "MAR2", "MAR1", "LMA", "CN1", "CN2"]
    assert [lifeline["id"] for lifeline in model["lifelines"]] == expected
    assert {lifeline["id"]: lifeline["role"] for lifeline in model["lifelines"]}["LMA"] == "anchor"


def test_prefix_names_in_allocation_order_with_legend(fig5):
    """HNP1 is MAR1's first prefix, HNP2 MAR2's; the legend maps the names to the prefixes and their anchors."""
    model = sequence_model(fig5)
    assert model["legend"] == [
        {"name": "HNP1", "prefix": "2001:db8:1:1::/64", "anchor": "MAR1", "mn": "MN1"},
        {"name": "HNP2", "prefix": "2001:db8:2:1::/64", "anchor": "MAR2", "mn": "MN1"},
    ]
    assert "MAR1 allocates HNP1 2001:db8:1:1::/64" in notes(model)
    assert [m["label"] for m in messages(model, "RA")] == ["RA(HNP1)", "RA(HNP2, HNP1 depr.)"]


def test_signalling_labels_and_state_notes(fig5):
    """PBU/PBA labels carry sequence, lifetime, status; binding and tunnel changes are notes, in protocol order."""
    model = sequence_model(fig5)
    assert [m["label"] for m in messages(model, "PBU")] == ["PBU(seq 1, lifetime 3600, HNP1)"]
    assert [m["label"] for m in messages(model, "PBA")] == ["PBA(accepted, seq 1)"]
    assert [(m["src"], m["dst"]) for m in messages(model, "DB_REPLY")][-1] == ("DB", "MAR2")
    lines = notes(model)
    assert lines.index("MAR1: binding HNP1 -> MAR2") < lines.index("tunnel MAR1<=>MAR2 up")
    order = [i.get("kind") or i.get("kinds", ["?"])[0] for i in model["items"]]
    after_pba = order.index("RA", order.index("PBA"))
    assert order.index("PBU") < order.index("binding_created") < order.index("PBA") < after_pba


def test_fold_one_arrow_per_run_and_counts_add_up(fig5):
    """Folded, every DATA packet is counted in exactly one arrow; tunnelled runs are drawn as tunnels."""
    model = sequence_model(fig5)
    data = messages(model, "DATA")
    assert sum(m["count"] for m in data) == sum(1 for e in fig5["events"] if e["kind"] == "DATA")
    assert len(data) < 20
    tunnel = [m for m in data if m["style"] == "tunnel"]
    assert tunnel and all({m["src"], m["dst"]} == {"MAR1", "MAR2"} and m["flow"] == "flow1" for m in tunnel)
    assert all(m["both"] for m in tunnel)  # up and down through the tunnel
    assert tunnel[0]["label"] == f"flow1 data ({tunnel[0]['count']} pkts)"


def test_show_one_arrow_per_packet(fig5):
    """data=show draws each packet with its number."""
    model = sequence_model(fig5, {"data": "show"})
    data = messages(model, "DATA")
    assert len(data) == sum(1 for e in fig5["events"] if e["kind"] == "DATA")
    assert data[0]["label"] == "flow1 #1"


def test_drops_are_shown_and_folded(fig5, handmade):
    """A packet a node drops is a drop item; a packet lost in flight is a lost arrow, not also a drop."""
    drops = [i for i in sequence_model(fig5)["items"] if i["type"] == "drop"]
    assert {d["node"] for d in drops} == {"MN1", "MAR1"}
    assert drops[0]["label"].startswith("MN1 drops flow1 (1 pkt): ")
    model = sequence_model(handmade)
    lost = [m for m in messages(model) if m["lost"]]
    assert [(m["src"], m["dst"], m["label"]) for m in lost] == [("MAR1", "MN1", "flow1 lost (1 pkt)")]
    assert not [i for i in model["items"] if i["type"] == "drop"]


def test_window_keeps_only_events_inside(fig5):
    """start/end cut the diagram; lifelines with nothing in the window go."""
    model = sequence_model(fig5, {"start": 5.0, "end": 5.1})
    assert all(5.0 <= i["t"] <= 5.1 for i in model["items"])
    inside = [e["kind"] for e in fig5["events"]
              if 5.0 <= e["t"] <= 5.1 and e["kind"][:1].isupper() and e["kind"] != "DATA"]
    assert [m["kind"] for m in messages(model) if m["kind"] != "DATA"] == inside
    assert {"RS", "DB_QUERY", "PBU", "PBA"} <= set(inside)
    assert "CN2" not in [lifeline["id"] for lifeline in model["lifelines"]]


def test_nodes_option_chooses_and_orders_columns(fig5):
    """nodes gives the columns in that order; arrows to other nodes are left out."""
    model = sequence_model(fig5, {"nodes": ["MAR1", "MAR2"]})
    assert [lifeline["id"] for lifeline in model["lifelines"]] == ["MAR1", "MAR2"]
    assert {m["kind"] for m in messages(model)} == {"PBU", "PBA", "DATA"}
    assert all({m["src"], m["dst"]} == {"MAR1", "MAR2"} for m in messages(model))


def test_model_is_plain_json(fig5):
    """The browser gets the model as JSON: it survives a round trip unchanged."""
    model = sequence_model(fig5, {"time_axis": True})
    assert json.loads(json.dumps(model)) == model
    assert model["format"] == "dmmviz-sequence/1"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"colour": "red"}, "unknown option 'colour'"),
        ({"data": "all"}, "option 'data' must be one of fold, show"),
        ({"start": 5, "end": 1}, "option 'start' (5) is after 'end' (1)"),
        ({"start": "soon"}, "option 'start' must be a number"),
        ({"nodes": ["MAR9"]}, "option 'nodes': unknown node 'MAR9'"),
        ({"nodes": "MAR1"}, "option 'nodes' must be a list"),
    ],
)
def test_bad_options_are_named(fig5, options, message):
    """A bad option fails with an error that names it."""
    with pytest.raises(ExportError, match=None) as err:
        export("ascii", fig5, options=options)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("trace", "message"),
    [
        ([], "trace must be a JSON object"),
        ({"format": "dmmviz-state/1", "events": []}, "trace format must be 'dmmviz-trace/1'"),
        ({"format": "dmmviz-trace/1"}, "trace.events must be a list"),
        ({"format": "dmmviz-trace/1", "events": [{"kind": "RS", "t": 0}]}, "trace.events[0] (RS) needs string 'src'"),
    ],
)
def test_bad_traces_are_named(trace, message):
    """A malformed trace fails with an error that says what is wrong, for every format."""
    for fmt in ("svg", "pcap"):
        with pytest.raises(ExportError) as err:
            export(fmt, trace)
        assert message in str(err.value)


def test_unknown_format():
    """An unknown format names the known ones."""
    with pytest.raises(ExportError,
                       match="unknown export format 'png'; choose one of mermaid, plantuml, svg, ascii, pcap"):
        export("png", {"format": "dmmviz-trace/1", "events": []})


def test_roles_come_from_the_trace_not_from_guesses():
    """The lifelines' roles are the trace's own `nodes` map (the LMA drawn as an anchor); no role is guessed from the
    kinds of events: a node the map leaves out, or a trace without the map, is a clear ExportError."""
    events = [{"seq": 0, "id": 1, "t": 0.0, "arrive": 0.01, "kind": "PBU", "src": "X", "dst": "Y", "mn": "Z",
               "hnps": [], "sequence": 1, "lifetime": 3600}]
    trace = {"format": "dmmviz-trace/1", "nodes": {"X": "mar", "Y": "lma", "Z": "mn"}, "events": events}
    model = sequence_model(trace)
    assert [(lifeline["id"], lifeline["role"]) for lifeline in model["lifelines"]] == [("X", "mar"), ("Y", "anchor")]
    with pytest.raises(ExportError, match=r"trace.events\[0\].dst: node 'Y' has no role in trace.nodes"):
        sequence_model({**trace, "nodes": {"X": "mar", "Z": "mn"}})
    with pytest.raises(ExportError, match=r"trace\.nodes must map every node id to its role"):
        sequence_model({"format": "dmmviz-trace/1", "events": events})


def test_a_message_lost_to_a_fault_says_so():
    """A message the fault engine lost (arrive null, lost "fault", fault "drop") is a lost arrow whose label says
    which fault; one lost in flight without a fault keeps its plain label."""
    trace = engine_trace("fig5-handover")
    pba = next(e for e in trace["events"] if e["kind"] == "PBA")
    pba.update(arrive=None, lost="fault", fault="drop", lost_reason="dropped by a drop fault")
    item = next(i for i in sequence_model(trace)["items"] if i["type"] == "message" and i["kind"] == "PBA")
    assert item["lost"] and item["label"] == "PBA(accepted, seq 1) lost: drop"
    assert "lost: drop" in export("ascii", trace, options={"nodes": ["MN1", "MAR2", "MAR1"]})
