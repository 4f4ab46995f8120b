"""The simulation page's Break and Faults buttons never cover a node of the drawing (static/css/faults.css: they sit in
a strip of their own above the scene), at the projector, tablet and phone sizes and in each anchoring design. On a
phone they used to sit on CN1. The air layer (messages in flight) must stay exactly over the network drawing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import dmmviz_server, shot
from tests.browser.helpers import drag, flying, open_scenario, play_until, step_until, wait_idle

SIZES = [(1280, 720), (768, 1024), (390, 844)]
# One scenario per design: two distributed (the network or the phone signals) and the centralised one (an LMA).
SCENARIOS = ["fig5-handover", "fig2-client-dmm", "centralized-baseline"]

OVERLAPS = """() => {
  const tools = [...document.querySelectorAll('#btn-break, .faults-menu summary')]
    .map(e => [e.textContent.trim(), e.getBoundingClientRect()]);
  const nodes = [...document.querySelectorAll('#topology g.node, #topology g.mn')]
    .map(g => [g.dataset.id, g.getBoundingClientRect()]);
  const hits = [];
  for (const [t, a] of tools) for (const [n, b] of nodes) {
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (w > 0 && h > 0) hits.push(`${t} covers ${n} (${Math.round(w)}×${Math.round(h)} px)`);
  }
  return {tools: tools.length, nodes: nodes.map(([n]) => n), hits};
}"""


def box(page, selector: str) -> dict:
    b = page.locator(selector).bounding_box()
    assert b, f"{selector} is not laid out"
    return b


def assert_tools_clear(page, where: str) -> None:
    found = page.evaluate(OVERLAPS)
    assert found["tools"] == 2, f"{where}: Break and Faults are not both on the page"
    assert page.locator("#btn-break").is_visible() and page.locator(".faults-menu summary").is_visible(), where
    assert "CN1" in found["nodes"] and len(found["nodes"]) >= 5, f"{where}: the drawing has {found['nodes']}"
    assert not found["hits"], f"{where}: " + "; ".join(found["hits"])


@pytest.mark.parametrize("slug", SCENARIOS)
@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_break_and_faults_never_cover_a_node(page, slug, width, height):
    page.set_viewport_size({"width": width, "height": height})
    open_scenario(page, slug)
    where = f"{slug} at {width}×{height}"
    assert_tools_clear(page, where)

    # The messages in flight are drawn exactly over the network: the air layer has the drawing's box.
    assert box(page, "#air") == box(page, "#topology"), f"{where}: the air layer is not over the drawing"
    # The drawing starts under the buttons, and still has its room.
    tools = box(page, ".faults-tools")
    scene = box(page, "#topology")
    assert scene["y"] >= tools["y"] + tools["height"], f"{where}: the drawing starts under the buttons' top edge"
    assert scene["height"] >= 240, f"{where}: the drawing is only {scene['height']} px tall"

    # Mid-handover (the mobile node dragged to its second access router): signalling in the air, then a tunnel;
    # still nothing under the buttons.
    second = "AR2" if slug == "fig2-client-dmm" else "MAR2"
    play_until(page, 1.5)
    drag(page, "#topology g.mn .mn-body", f"#topology g[data-id={second}] .shape")
    step_until(page, lambda p: len(flying(p)) > 0)
    assert_tools_clear(page, f"{where}, messages in flight")
    step_until(page, lambda p: p.locator("#topology g.tunnel").count() > 0, limit=60)
    assert_tools_clear(page, f"{where}, after a handover")
    shot(page, f"layout-tools-{slug}-{width}")


CHART_TEXT = """() => [...document.querySelectorAll('.charts svg text')].map(t => {
  const b = t.getBoundingClientRect();
  const px = parseFloat(getComputedStyle(t).fontSize) * t.ownerSVGElement.getScreenCTM().a;
  return {text: t.textContent, px, left: b.left, right: b.right};
})"""


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_compare_chart_labels_are_readable_and_on_screen(page, width, height):
    """The compare page's bar charts scale with the page: on a phone their design names and values were 7 px high.
    Every label is drawn at 10 px or more and wholly on screen."""
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/compare/fig5-handover/")
    labels = page.evaluate(CHART_TEXT)
    assert len(labels) > 20 and any(t["text"] == "centralized-pmipv6" for t in labels)
    small = [f"{t['text']} {t['px']:.1f} px" for t in labels if t["px"] < 10]
    assert not small, f"at {width}×{height}, too small to read: {small[:5]}"
    off = [f"{t['text']} at x {t['left']:.0f}..{t['right']:.0f}" for t in labels if t["left"] < 0 or t["right"] > width]
    assert not off, f"at {width}×{height}, cut off by the screen's edge: {off[:5]}"


def pick_in_log_and_check_details(page, kind: str, width: int, height: int) -> None:
    """Pick a message in the event log: its details open wholly on screen, and the whole log can still be scrolled
    into view above them (so the next message can be tapped); the close button closes them."""
    row = page.locator("#log li.is-msg", has_text=kind).first
    row.scroll_into_view_if_needed()
    row.click()
    details = page.locator("#details")
    assert details.is_visible() and details.locator("h2").inner_text().startswith(kind)
    b = details.bounding_box()
    assert b and b["y"] >= 0 and b["y"] + b["height"] <= height and b["x"] >= 0 and b["x"] + b["width"] <= width, (
        f"at {width}×{height} the details are at {b}, not on screen"
    )
    assert b["height"] <= height * 0.6, f"at {width}×{height} the details cover {b['height']} px of {height}"
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    covered = page.evaluate(
        """() => {
          const a = document.querySelector('#log').getBoundingClientRect();
          const b = document.querySelector('#details').getBoundingClientRect();
          const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
          return w > 0 ? Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top)) : 0;
        }"""
    )
    assert covered < 1, f"at {width}×{height}, scrolled to the end, {covered:.0f} px of the log stay under the details"
    page.click("#details button.close")
    assert not details.is_visible()


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_a_message_picked_in_the_event_log_shows_its_fields_on_screen(page, width, height):
    """On a tablet or a phone the event log is far below the drawing: the message's details (drawn over the drawing
    at 1280×720) must still open where the student is looking."""
    page.set_viewport_size({"width": width, "height": height})
    open_scenario(page, "fig5-handover")
    play_until(page, 0.5)
    pick_in_log_and_check_details(page, "RS", width, height)


@pytest.fixture(scope="module")
def lessons_server() -> Iterator[str]:
    """A Daphne with the built-in scenarios and lessons (a lesson page has no legend: the log is the page's end)."""
    with dmmviz_server("dmmviz-layout-", [["load_builtin"], ["load_lessons"]]) as url:
        yield url


@pytest.mark.parametrize(("width", "height"), SIZES[1:], ids=[f"{w}x{h}" for w, h in SIZES[1:]])
def test_on_a_lesson_page_the_details_leave_the_whole_log_reachable(browser, lessons_server, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=lessons_server)
    try:
        page = context.new_page()
        page.goto("/lessons/fig5-handover/")
        page.click("#start-lesson")
        wait_idle(page)
        page.keyboard.press("Space")  # the lesson's first step runs to its end (t = 0.5 s) and pauses
        page.wait_for_selector("body[data-lx-stopped-at='0.5']", state="attached", timeout=60_000)
        wait_idle(page)
        pick_in_log_and_check_details(page, "RS", width, height)
    finally:
        context.close()
