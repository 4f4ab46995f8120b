"""Security as a user meets it, in Chromium: an upload is private to its browser and deleted from its card (asking
first); pages load under the Content-Security-Policy without a single violation (the page fixture fails on any
console error, which is how Chromium reports a blocked script)."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import VIEWPORT, shot
from .helpers import open_scenario

ROOT = Path(__file__).resolve().parents[2]


def upload(page, tmp_path: Path, title: str) -> None:
    data = json.loads((ROOT / "dmmviz/builtin_scenarios/fig5-handover.json").read_text())
    data["title"] = title
    file = tmp_path / "mine.json"
    file.write_text(json.dumps(data))
    page.goto("/")
    page.set_input_files("input[type=file][name=file]", str(file))
    page.click("form.upload-form button[type=submit]")
    page.wait_for_load_state()


def test_an_upload_is_private_and_its_card_deletes_it(page, browser, server, tmp_path):
    title = "Private handover 7f3"
    upload(page, tmp_path, title)
    card = page.locator("li.scenario", has_text=title)
    assert card.count() == 1 and "only you" in card.inner_text()
    shot(page, "security-upload-card")

    stranger = browser.new_context(viewport=VIEWPORT, base_url=server)
    try:
        other = stranger.new_page()
        other.goto("/")
        assert other.locator("li.scenario", has_text=title).count() == 0
    finally:
        stranger.close()

    # Rename from the card: the title changes, the card stays private.
    card.locator("input[name=title]").fill("Renamed handover 7f3")
    with page.expect_navigation():
        card.locator("button", has_text="Rename").click()
    title = "Renamed handover 7f3"
    card = page.locator("li.scenario", has_text=title)
    assert card.count() == 1 and "only you" in card.inner_text()

    # Delete asks first: dismissing keeps it, accepting deletes it.
    page.once("dialog", lambda dialog: dialog.dismiss())
    card.locator("button", has_text="Delete").click()
    page.wait_for_timeout(300)
    assert page.locator("li.scenario", has_text=title).count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        card.locator("button", has_text="Delete").click()
    assert page.locator("li.scenario", has_text=title).count() == 0


def test_the_visualiser_runs_under_the_content_security_policy(page):
    response = page.goto("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    open_scenario(page, "fig5-handover")  # the ES modules, /protocol.js and the websocket all load
    assert page.get_attribute("body", "data-sim-status") == "idle"
