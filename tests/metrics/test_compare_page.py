"""The comparison web page: the same numbers as `python -m simulator compare`, as a table and server-drawn SVG bars."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.core.management import call_command
from django.urls import reverse

from dmmviz.web.models import Scenario
from simulator.compare import MODES, compare, format_value, rows

pytestmark = pytest.mark.django_db
MOSTLY_STATIC = json.loads(Path(__file__).with_name("mostly_static.json").read_text())
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def mostly_static() -> Scenario:
    return Scenario.objects.create(title=MOSTLY_STATIC["title"], slug="mostly-static", data=MOSTLY_STATIC)


def charts(page: str) -> dict[str, ElementTree.Element]:
    """Every inline chart, parsed as XML (so a malformed SVG fails here), by its row key."""
    out = {}
    for key, svg in re.findall(r'<figure data-chart="([^"]+)">.*?(<svg .*?</svg>)', page, flags=re.S):
        out[key] = ElementTree.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))
    return out


def test_compare_page_table_matches_cli_numbers(client, mostly_static):
    """Each table cell is the value `compare` computes for that row and mode, formatted as the CLI table does."""
    response = client.get(reverse("compare", args=["mostly-static"]))
    assert response.status_code == 200
    page = response.content.decode()
    expected = compare(MOSTLY_STATIC)
    for row in rows(expected):
        line = re.search(rf'<tr[^>]*data-row="{re.escape(row.key)}">(.*?)</tr>', page, flags=re.S)
        assert line, row.key
        cells = re.findall(r"<td>(.*?)</td>", line.group(1))
        want = [
            format_value(row.values.get(m), row.notes.get(m, ""), row.unit)
            if expected["runs"][m]["available"] else "n/a"
            for m in MODES
        ]
        assert cells == want, row.key


def test_compare_page_draws_one_bar_per_mode_scaled_to_the_largest(client, mostly_static):
    """The stretch chart has a bar per mode that ran, labelled with the mode and its value; the longest bar belongs
    to the largest value and the others are in proportion."""
    page = client.get(reverse("compare", args=["mostly-static"])).content.decode()
    drawn = charts(page)
    assert {"signalling", "latency", "interruption", "lost", "stretch", "state-peak", "tunnels-peak"} <= set(drawn)
    svg = drawn["stretch"]
    bars = {g.get("data-mode"): g for g in svg.iter(f"{SVG}g")}
    expected = compare(MOSTLY_STATIC)
    ran = [m for m in MODES if expected["runs"][m]["available"]]
    assert list(bars) == ran
    stretch = next(r for r in rows(expected) if r.key == "stretch").values
    widths = {m: float(bars[m].find(f"{SVG}rect").get("width")) for m in ran}
    biggest = max(ran, key=lambda m: stretch[m])
    assert widths[biggest] == pytest.approx(330.0)
    for m in ran:
        assert widths[m] == pytest.approx(330.0 * stretch[m] / stretch[biggest], abs=0.1)
        texts = [t.text for t in bars[m].iter(f"{SVG}text")]
        assert texts == [m, format_value(stretch[m])]  # mode name and value as text, not colour alone


def test_compare_page_until_and_json_download(client, mostly_static):
    """?until= cuts every run (one move before 10 s); ?format=json gives the dmmviz-compare/1 document."""
    url = reverse("compare", args=["mostly-static"])
    page = client.get(url, {"until": "10"}).content.decode()
    assert 'data-compare-until="10.0"' in page
    response = client.get(url, {"until": "10", "format": "json"})
    assert response["Content-Type"] == "application/json"
    doc = json.loads(response.content)
    assert doc["format"] == "dmmviz-compare/1" and doc["until"] == 10.0
    assert doc["runs"]["network-dmm"]["summary"]["handovers"] == 1


@pytest.mark.parametrize(
    ("until", "message"),
    [("soon", "until: 'soon' is not a number of seconds"), ("0", "until: must be more than 0"), ("1e9", "at most 600")],
)
def test_compare_page_rejects_bad_until(client, mostly_static, until, message):
    """A bad ?until= is a 400 naming the parameter, not a crash or a silent default."""
    response = client.get(reverse("compare", args=["mostly-static"]), {"until": until})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_compare_page_unknown_scenario_is_404(client):
    assert client.get(reverse("compare", args=["no-such-scenario"])).status_code == 404


def test_compare_index_links_every_scenario(client):
    """/compare/ lists the built-in scenarios, each linking to its comparison."""
    call_command("load_builtin", verbosity=0)
    page = client.get(reverse("compare_index")).content.decode()
    for scenario in Scenario.objects.all():
        assert f'href="{reverse("compare", args=[scenario.slug])}"' in page


def test_compare_page_escapes_scenario_text(client):
    """A title with markup is shown as text, in the page and inside the SVG."""
    data = {**MOSTLY_STATIC, "title": "<script>alert(1)</script> & co"}
    Scenario.objects.create(title=data["title"], slug="evil", data=data)
    page = client.get(reverse("compare", args=["evil"])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
