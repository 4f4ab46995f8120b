"""The live sequence panel in Chromium: it draws from the socket's events, so while it is open during Play it asks the
server for sequence.json at most once (never, when the page has the whole history), and what it draws is what
sequence.json says for the same point of the run."""

from __future__ import annotations

from tests.browser.helpers import open_scenario, play_until, wait_idle


def count_sequence_requests(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda req: seen.append(req.url) if "sequence.json" in req.url else None)
    return seen


def panel_rows(page) -> dict[str, list[str]]:
    """What the panel draws: each arrow's full label (its tooltip), the notes' text, the lifelines."""
    return {
        "arrows": page.eval_on_selector_all("#sequence .seq-msg title", "els => els.map(e => e.textContent)"),
        "notes": page.eval_on_selector_all("#sequence .seq-note", "els => els.length"),
        "lanes": page.locator("#sequence .seq-lane text").all_text_contents(),
    }


def server_rows(page, session_url: str) -> dict[str, list[str]]:
    model = page.context.request.get(f"{session_url}sequence.json?data=fold").json()  # not a page request
    return {
        "arrows": [f"{i['t']:.3f} s: {i['label']}" for i in model["items"] if i["type"] == "message"],
        "notes": sum(1 for i in model["items"] if i["type"] == "note"),
        "lanes": [lane["label"] for lane in model["lifelines"]],
    }


def settle(page) -> None:
    wait_idle(page)
    page.wait_for_timeout(400)  # the panel redraws a few times a second


def test_open_panel_during_play_fetches_nothing_and_matches_sequence_json(page):
    requests = count_sequence_requests(page)
    url = open_scenario(page, "fig5-handover")
    page.keyboard.press("v")
    page.select_option("#speed", label="10×")
    play_until(page, 8.5)  # the handover, flow2 started on MAR2, data both ways
    settle(page)
    assert requests == []  # the page had the whole history: every arrow came over the socket
    drawn = panel_rows(page)
    assert any("PBU(seq" in a for a in drawn["arrows"]) and any("flow2 data" in a for a in drawn["arrows"])
    assert drawn == server_rows(page, url)
    # Step back replaces the history with a snapshot: still no fetch, and still the server's model.
    page.keyboard.press("ArrowLeft")
    settle(page)
    assert requests == []
    assert panel_rows(page) == server_rows(page, url)
    assert page.errors == []


def test_long_session_fetches_the_model_once_then_follows_the_socket(page):
    """A session longer than a snapshot carries (2,000 events): reopened, the panel fetches sequence.json once when
    it opens, then Play adds arrows without another request."""
    url = open_scenario(page, "fig5-handover")
    for _ in range(20):  # run_until goes at most MAX_RUN_STEPS (2,000) items a request
        page.evaluate("dmmvizStats.socket.send('run_until', {t: 70})")
        wait_idle(page)
        if float(page.get_attribute("body", "data-sim-now") or 0) >= 70:
            break
    assert float(page.get_attribute("body", "data-sim-now") or 0) >= 70
    requests = count_sequence_requests(page)
    page.goto(url)
    wait_idle(page)
    assert requests == []  # nothing fetched while the panel is closed
    page.keyboard.press("v")
    page.wait_for_selector("#sequence .seq-msg")
    settle(page)
    assert len(requests) == 1
    assert panel_rows(page) == server_rows(page, url)
    page.select_option("#speed", label="10×")
    play_until(page, 74)
    settle(page)
    assert len(requests) == 1  # Play with the panel open: increments only
    assert panel_rows(page) == server_rows(page, url)
    assert page.errors == []
