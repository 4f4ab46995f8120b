"""Downloads and the sequence model of a session (dmmviz/views_export.py), as the visualiser's buttons fetch them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dmmviz.web.models import Scenario, SimSession
from simulator import Simulation

FIG5 = json.loads((Path(__file__).resolve().parents[2] / "dmmviz/builtin_scenarios/fig5-handover.json").read_text())


@pytest.fixture()
def session(db):
    """A Figure 5 session that has run to t = 8 s (past the scripted handover)."""
    scenario = Scenario.objects.create(title=FIG5["title"], slug="fig5", data=FIG5, builtin=True)
    sim = Simulation(FIG5)
    sim.run(8.0)
    return SimSession.objects.create(scenario=scenario, scenario_data=FIG5, steps=sim.steps, now=sim.now)


def test_export_svg_is_a_download_of_the_sessions_diagram(client, session):
    """The SVG button gives a file named after the scenario holding the handover's PBU and PBA."""
    response = client.get(f"/s/{session.id}/export/svg/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    expected_name = "seed-figure-5-handover-with-distributed-mobility-anchoring.svg"
    assert f'filename="{expected_name}"' in response["Content-Disposition"]
    body = response.content.decode()
    assert body.startswith("<svg") or body.startswith("<?xml")
    assert "PBU" in body and "PBA" in body


def test_export_every_format_answers(client, session):
    """Every download the page offers answers 200 with a body; pcap is binary with the pcap magic number."""
    for fmt in ("trace", "state", "plantuml", "mermaid", "ascii", "pcap"):
        response = client.get(f"/s/{session.id}/export/{fmt}/")
        assert response.status_code == 200, (fmt, response.content[:200])
        assert response.content, fmt
    assert client.get(f"/s/{session.id}/export/pcap/").content[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")
    trace = json.loads(client.get(f"/s/{session.id}/export/trace/").content)
    assert trace["format"] == "dmmviz-trace/1"
    assert max(ev["t"] for ev in trace["events"]) <= 8.0
    state = json.loads(client.get(f"/s/{session.id}/export/state/").content)
    assert state["mars"]["MAR1"]["tunnels"] == ["MAR2"]


def test_export_refuses_unknown_format_and_bad_option(client, session):
    """An unknown format or a bad option is a 400 saying what is wrong, not a server error."""
    response = client.get(f"/s/{session.id}/export/docx/")
    assert response.status_code == 400 and b"unknown format 'docx'" in response.content
    response = client.get(f"/s/{session.id}/export/svg/?start=soon")
    assert response.status_code == 400 and b"'start' must be a number" in response.content
    response = client.get(f"/s/{session.id}/export/svg/?start=6&end=5")
    assert response.status_code == 400 and b"after 'end'" in response.content


@pytest.mark.parametrize("query", ["nodes=MN1,", "start=", "data="])
def test_a_bad_option_is_not_echoed_back_whole(client, session, query):
    """A 15,000-character value gets a 400 naming the option and the start of the value, not the whole of it."""
    response = client.get(f"/s/{session.id}/export/svg/?{query}{'Z' * 15_000}")
    text = response.content.decode()
    assert response.status_code == 400 and "ZZZ..." in text and len(text) < 400, text[:500]


def test_export_of_unknown_session_is_404(client, db):
    assert client.get("/s/00000000-0000-0000-0000-000000000000/export/svg/").status_code == 404


def test_sequence_model_for_the_live_panel(client, session):
    """The live panel's model: lifelines in the seed's order and the handover's messages, windowed by time."""
    model = client.get(f"/s/{session.id}/sequence.json").json()
    assert model["format"] == "dmmviz-sequence/1"
    assert [lane["id"] for lane in model["lifelines"]][:3] == ["MN1", "MAR2", "MAR1"]
    kinds = [item.get("kind") for item in model["items"] if item["type"] == "message"]
    assert "PBU" in kinds and "PBA" in kinds
    assert model["now"] == 8.0
    window = client.get(f"/s/{session.id}/sequence.json?start=5&end=5.1").json()
    assert all(5 <= item["t"] <= 5.1 for item in window["items"])
    assert "PBU" in [item.get("kind") for item in window["items"]]
