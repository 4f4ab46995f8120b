"""Every page carries the same navigation (templates/_nav.html): the home page, the compare pages, the lessons pages
and the simulation pages all link to the same places, so a person never has to go back to find "Join a class"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dmmviz.web.models import Scenario, SimSession

ROOT = Path(__file__).resolve().parents[2]
FIG5 = json.loads((ROOT / "dmmviz/builtin_scenarios/fig5-handover.json").read_text())
LINKS = {"Scenarios": "/", "Compare designs": "/compare/", "Lessons": "/lessons/", "Join a class": "/class/"}


def nav_links(html: str) -> dict[str, str]:
    nav = re.search(r'<nav class="topnav" aria-label="main">(.*?)</nav>', html, re.S)
    assert nav, "no main navigation on the page"
    return {text.strip(): href for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', nav.group(1))}


@pytest.mark.django_db
def test_every_page_has_the_same_navigation(client):
    scenario = Scenario.objects.create(title=FIG5["title"], slug="fig5-handover", data=FIG5, builtin=True)
    session = SimSession.objects.create(scenario=scenario, scenario_data=FIG5)
    pages = ["/", "/compare/", "/lessons/", "/class/", "/accounts/login/", f"/s/{session.id}/"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert nav_links(html) == LINKS, url
        assert html.count('aria-label="main"') == 1, url  # one navigation, not one per template
