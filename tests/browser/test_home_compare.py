"""The home page a student lands on, the compare page, the upload's problems and one look on every page (issue 12,
items 7, 8 and 10)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.browser.conftest import ROOT, VIEWPORT, dmmviz_server, shot
from tests.browser.helpers import wait_idle

PASSWORD = "a-long-password-1"
CREATE_USERS = f"""
from django.contrib.auth.models import User
from django.core.management import call_command
User.objects.create_user("irene", password={PASSWORD!r})
call_command("grant_instructor", "irene")
"""


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with dmmviz_server("dmmviz-home-", [["load_builtin"], ["load_lessons"], ["shell", "-c", CREATE_USERS]]) as url:
        yield url


@pytest.fixture()
def pg(browser, site):
    context = browser.new_context(viewport=VIEWPORT, base_url=site)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    yield page
    context.close()
    assert not errors, errors


def test_home_start_here_order_and_plain_words(pg):
    pg.goto("/")
    # "Start here" comes before the scenarios and opens the Figure 5 lesson.
    start = pg.locator("#start-here")
    assert start.is_visible()
    assert start.bounding_box()["y"] < pg.locator("li.scenario").first.bounding_box()["y"]
    slugs = pg.eval_on_selector_all("li.scenario", "els => els.map(e => e.dataset.slug)")
    assert slugs[0] == "fig5-handover", slugs
    assert slugs[-1] == "centralized-baseline", slugs  # the baseline is the comparison point, not the first card
    # Designs in plain words, the technical name beside.
    badge = pg.inner_text("li[data-slug=fig5-handover] .badge.design")
    assert badge.startswith("Distributed, the network signals") and "network-dmm" in badge
    assert "One central anchor" in pg.inner_text("li[data-slug=centralized-baseline] .badge.design")
    assert "the phone signals" in pg.inner_text("li[data-slug=fig2-client-dmm] .badge.design")
    # No card tells a student to type a command.
    cards = pg.inner_text("ul.scenarios")
    for command in ("python -m", "make run", "manage.py", "$ "):
        assert command not in cards, command
    shot(pg, "home-start-here")
    start.click()
    pg.wait_for_url("**/lessons/fig5-handover/")
    assert pg.locator("#start-lesson").is_visible()


def test_upload_reports_every_problem_at_once_at_the_top(pg, tmp_path):
    """A file with several problems: all are listed, in one round, by the upload form near the top of the page."""
    doc = json.loads((ROOT / "dmmviz/builtin_scenarios/fig5-handover.json").read_text())
    doc["network"]["mars"][1]["prefix_pool"] = "not a prefix"
    doc["network"]["links"][0]["between"] = ["MAR1", "MAR7"]
    doc["script"][2]["mar"] = "MAR9"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc))
    pg.goto("/")
    pg.set_input_files("input[type=file]", str(path))
    pg.click(".upload-form button[type=submit]")
    pg.wait_for_load_state()
    box = pg.locator("#upload-problems")
    assert box.is_visible()
    assert box.bounding_box()["y"] < 720, "the problems are below the fold"
    # Right by the form: the file field follows the list.
    assert abs(box.bounding_box()["y"] - pg.locator(".upload-form input[type=file]").bounding_box()["y"]) < 300
    problems = pg.locator("#file-errors li").all_inner_texts()
    assert any("network.mars[1].prefix_pool" in p for p in problems), problems
    assert any("MAR7" in p for p in problems), problems
    assert f"{len(problems)} problem" in box.inner_text()
    shot(pg, "home-upload-problems")


def test_upload_reports_schema_and_script_problems_in_one_round(pg, tmp_path):
    """A wrong-typed field and an unknown MAR in the script are both reported by the first upload (not one, then
    the other after the first is fixed)."""
    doc = json.loads((ROOT / "dmmviz/builtin_scenarios/fig5-handover.json").read_text())
    doc["network"]["links"][0]["delay_ms"] = "two"  # a schema problem
    doc["script"][2]["mar"] = "MAR9"  # a script problem
    path = tmp_path / "two-kinds.json"
    path.write_text(json.dumps(doc))
    pg.goto("/")
    pg.set_input_files("input[type=file]", str(path))
    pg.click(".upload-form button[type=submit]")
    pg.wait_for_load_state()
    problems = pg.locator("#file-errors li").all_inner_texts()
    assert any("delay_ms" in p for p in problems), problems
    assert any("MAR9" in p for p in problems), problems


def test_compare_page_explains_each_metric_and_watches_under_a_design(pg):
    pg.goto("/compare/fig5-handover/")
    # Each row says what it counts, where it is shown.
    stretch = pg.locator("tr[data-row=stretch] th")
    assert "shortest path" in stretch.inner_text()
    for key in ("signalling", "latency", "lost", "state-peak", "tunnels-peak", "kind-PBU"):
        assert pg.locator(f"tr[data-row={key}] th .explain").inner_text().strip(), key
    assert "shortest path" in pg.inner_text("figure[data-chart=stretch] figcaption")
    assert pg.locator("#meanings dt").count() >= 10
    # Not a bare file name pointing nowhere: the meanings are on the page, and the full definitions are a link.
    assert "see docs/metrics.md for the definitions" not in pg.inner_text("main")
    pg.click("#metrics-doc")
    pg.wait_for_url("**/docs/metrics/")
    assert "path_hops / direct_hops" in pg.inner_text("main")
    assert pg.locator("header.topbar a.brand").count() == 1  # a page of the site, not a raw file
    pg.go_back()
    # Designs by name, with the technical one beside.
    head = pg.inner_text("#compare-table thead")
    assert "One central anchor" in head and "centralized-pmipv6" in head
    shot(pg, "compare-explained")
    # Watch it under the central design: a simulation of this scenario in centralised mode.
    pg.click("button[data-mode=centralized-pmipv6]")
    pg.wait_for_url("**/s/*/")
    wait_idle(pg)
    assert pg.get_attribute("body", "data-mode") == "centralized-pmipv6"
    assert pg.locator("#topology g.node-lma").count() == 1  # the LMA is drawn
    assert "Figure 5" in pg.inner_text(".sim-title")


def test_one_look_on_every_page(pg):
    """The same dark top bar with the same logo, navigation and account links, the same button style, on the home,
    lessons, lesson, editor, login, compare and simulation pages."""
    def look() -> dict:
        return pg.evaluate("""() => {
          const bar = document.querySelector('header.topbar');
          const brand = bar && bar.querySelector('a.brand');
          const button = document.querySelector('main button, .lx-main button, .toolbar button');
          return {
            bar: bar ? getComputedStyle(bar).backgroundColor : null,
            brand: brand ? brand.textContent.trim() + '|' + getComputedStyle(brand).fontWeight : null,
            nav: [...document.querySelectorAll('header.topbar nav.topnav a')].map(a => a.textContent.trim()),
            font: getComputedStyle(document.body).fontFamily,
            radius: button ? getComputedStyle(button).borderRadius : null,
          };
        }""")

    pg.goto("/")
    home = look()
    assert home["bar"] and home["brand"] == "dmmviz|800", home
    pages = [
        "/lessons/", "/lessons/fig5-handover/", "/accounts/login/", "/class/", "/compare/", "/compare/fig5-handover/"
    ]
    for path in pages:
        pg.goto(path)
        here = look()
        for key in ("bar", "brand", "nav", "font"):
            assert here[key] == home[key], (path, key, here[key], home[key])
        assert here["radius"] in (None, "6px"), (path, here["radius"])
    # The instructor's editor and a lesson's own simulation page too.
    pg.goto("/accounts/login/")
    pg.fill("#id_username", "irene")
    pg.fill("#id_password", PASSWORD)
    pg.click("form.lx-form button[type=submit]")
    pg.wait_for_url("**/lessons/")
    assert "irene" in pg.inner_text("header.topbar .account")
    pg.click("#new-lesson")
    pg.wait_for_url("**/edit/**")
    here = look()
    for key in ("bar", "brand", "nav", "font"):
        assert here[key] == home[key], ("editor", key, here[key], home[key])
    shot(pg, "one-look-editor")
    pg.goto("/lessons/fig5-handover/")
    pg.click("#start-lesson")
    pg.wait_for_url("**/attempt/**")
    wait_idle(pg)
    here = look()
    for key in ("bar", "brand", "nav", "font"):
        assert here[key] == home[key], ("lesson", key, here[key], home[key])
    # On the lesson page the clock sits level with the buttons.
    clock = pg.locator("#clock").bounding_box()
    play = pg.locator("#btn-play").bounding_box()
    assert abs((clock["y"] + clock["height"] / 2) - (play["y"] + play["height"] / 2)) <= 3, (clock, play)
    shot(pg, "one-look-lesson")
