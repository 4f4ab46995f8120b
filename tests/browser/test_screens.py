"""Every screen a student owns (issue 12, item 6): a phone (390×844) and a tablet in portrait (768×1024), touch, and
the projector (1280×720) with a larger network: text in the drawing at least 11 px, and no label over another."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import ROOT, dmmviz_server, shot
from tests.browser.helpers import open_scenario, play_until, wait_idle

SMALL = {"phone": {"width": 390, "height": 844}, "tablet": {"width": 768, "height": 1024}}

# Rendered size (px) of every visible text in the drawing and the air above it, smallest first.
TEXT_SIZES = """() => [...document.querySelectorAll('#topology text, #air text')]
  .filter(t => !t.closest('[visibility=hidden], [display=none], [hidden]')
    && t.textContent.trim() && t.getBoundingClientRect().width)
  .map(t => [parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a, t.textContent])
  .sort((a, b) => a[0] - b[0])"""

# Pairs of labels in the drawing whose boxes overlap: delay labels, role tags, tunnel labels, drop badges, node names.
LABEL_OVERLAPS = """() => {
  const shown = (e) => !e.closest('[visibility=hidden], [display=none]') && getComputedStyle(e).opacity !== '0';
  const items = [
    ...[...document.querySelectorAll('#topology .link-label')].map(e => ['delay ' + e.textContent, e, null]),
    ...[...document.querySelectorAll('#topology g.role')]
      .map(e => [e.closest('[data-id]').dataset.id + ' ' + e.textContent, e, e.closest('[data-id]')]),
    ...[...document.querySelectorAll('#topology g.tunnel-label')]
      .map(e => ['tunnel label ' + e.closest('[data-ends]').dataset.ends, e, null]),
    ...[...document.querySelectorAll('#air g.drop-marker')].map(e => ['dropped badge', e, null]),
    ...[...document.querySelectorAll('#topology g.node:not(.node-core) > rect, #topology g.node > path.shape')]
      .map(e => [e.parentNode.dataset.id + ' box', e, e.parentNode]),
  ].filter(([, e]) => shown(e)).map(([name, e, owner]) => [name, e.getBoundingClientRect(), owner]);
  const out = [];
  for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) {
    const [a, p, oa] = items[i], [b, q, ob] = items[j];
    if (oa && oa === ob) continue; // a node's own box and its own role tag
    const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
    const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
    if (w > 0.5 && h > 0.5) out.push(`${a} / ${b}`);
  }
  return out;
}"""


def no_sideways_scroll(page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth, document.body.scrollWidth]")
    assert width[0] <= width[1] and width[2] <= width[1], f"the page scrolls sideways: {width}"


@pytest.fixture(scope="module")
def site():
    """Daphne with the built-in scenarios and lessons (the lesson pages are screens too)."""
    with dmmviz_server("dmmviz-screens-", [["load_builtin"], ["load_lessons"]]) as url:
        yield url


@pytest.fixture(params=sorted(SMALL))
def small_page(request, browser, site):
    """A touch page at a phone's or a tablet's size; fails on any JavaScript error, like `page`."""
    context = browser.new_context(viewport=SMALL[request.param], base_url=site, has_touch=True, is_mobile=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))

    def on_console(msg):
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(f"console {msg.type}: {msg.text}")

    pg.on("console", on_console)
    pg.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    pg.size_name = request.param
    yield pg
    context.close()
    assert not errors, "\n".join(errors)


def touch_drag(page, source: str, target: str) -> None:
    """Drag with one finger (touch events through the DevTools protocol), in small moves, as a person would."""
    a = page.locator(source).first.bounding_box()
    b = page.locator(target).first.bounding_box()
    x, y = a["x"] + a["width"] / 2, a["y"] + a["height"] / 2
    tx, ty = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for i in range(1, 13):
        f = i / 12
        point = {"x": x + (tx - x) * f, "y": y + (ty - y) * f}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        page.wait_for_timeout(16)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()
    wait_idle(page)


def test_small_screens_drawing_full_width_panels_below_touch_drag(small_page):
    page = small_page
    open_scenario(page, "fig5-handover")
    width = page.viewport_size["width"]
    drawing = page.locator("#topology").bounding_box()
    assert drawing["width"] >= width - 2, f"the drawing is {drawing['width']} px wide of {width}"
    assert drawing["height"] >= 0.5 * drawing["width"], drawing
    no_sideways_scroll(page)
    # The panels come one under the other below the drawing, each as wide as the screen.
    stage = page.locator("#stage").bounding_box()
    for panel in ("#panel-db", ".log-panel", ".legend"):
        box = page.locator(panel).bounding_box()
        assert box["y"] >= stage["y"] + stage["height"] - 1, panel
        assert box["x"] >= -1 and box["x"] + box["width"] <= width + 1, panel
    # Every control of the toolbar is on screen.
    controls = ("#btn-reset", "#btn-back", "#btn-play", "#btn-step", "#speed", "#view-network", ".downloads summary")
    for control in controls:
        box = page.locator(control).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, control
    # The navigation is all there and on screen.
    for link in page.locator(".topnav a").all():
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, link.inner_text()
    shot(page, f"fig5-{page.size_name}")
    # A finger drags MN1 onto MAR2: the handover is made.
    play_until(page, 1.2)
    touch_drag(page, "#topology g.mn[data-id=MN1] .mn-body", "#topology g[data-id=MAR2] .shape")
    assert "user move MN1 if1 MAR2" in page.inner_text("#log")
    no_sideways_scroll(page)
    page.screenshot(path=str(ROOT / "tests/browser/artifacts" / f"fig5-{page.size_name}-full.png"), full_page=True)


def test_small_screens_lesson_and_other_pages(small_page):
    """The lesson page (drawing, then the lesson's panel), the home, lessons and compare pages: no sideways scroll."""
    page = small_page
    paths = (
        "/", "/lessons/", "/compare/", "/compare/fig5-handover/", "/docs/metrics/", "/lessons/fig5-handover/",
        "/accounts/login/",
    )
    for path in paths:
        page.goto(path)
        no_sideways_scroll(page)
    page.goto("/lessons/fig5-handover/")
    page.click("#start-lesson")
    page.wait_for_url("**/attempt/**")
    wait_idle(page)
    no_sideways_scroll(page)
    drawing = page.locator("#topology").bounding_box()
    assert drawing["width"] >= page.viewport_size["width"] - 2
    lesson = page.locator("#lx-panel").bounding_box()
    assert lesson["y"] >= drawing["y"] + drawing["height"] - 1  # the lesson's text follows the drawing
    page.screenshot(path=str(ROOT / "tests/browser/artifacts" / f"lesson-{page.size_name}-full.png"), full_page=True)


def eight_mars(tmp_path, n: int = 8) -> str:
    """A scenario with n MARs in a chain (MN1 walks MAR1 -> MAR2 -> MAR3, MN2 from the last one to the one before)."""
    mars = [{"id": f"MAR{i}", "prefix_pool": f"2001:db8:{i}::/48"} for i in range(1, n + 1)]
    doc = {
        "format": "dmmviz-scenario/1", "title": "Eight MARs" if n == 8 else f"A chain of {n} MARs",
        "description": "Two mobile nodes cross the MARs.",
        "mode": "network-dmm",
        "network": {
            "mars": mars,
            "cns": [{"id": "CN1", "address": "2001:db8:ca5e::1"}, {"id": "CN2", "address": "2001:db8:ca5e::2"}],
            "links": [{"between": [f"MAR{i}", f"MAR{i + 1}"], "delay_ms": 2} for i in range(1, n)],
        },
        "mobile_nodes": [{"id": "MN1", "interfaces": ["if1"]}, {"id": "MN2", "interfaces": ["if1"]}],
        "script": [
            {"at": 0.0, "action": "attach", "mn": "MN1", "interface": "if1", "mar": "MAR1"},
            {"at": 0.0, "action": "attach", "mn": "MN2", "interface": "if1", "mar": f"MAR{n}"},
            {"at": 1.0, "action": "start_flow", "mn": "MN1", "flow": "flow1", "cn": "CN1"},
            {"at": 1.0, "action": "start_flow", "mn": "MN2", "flow": "flow2", "cn": "CN2"},
            {"at": 2.0, "action": "move", "mn": "MN1", "interface": "if1", "mar": "MAR2"},
            {"at": 2.0, "action": "move", "mn": "MN2", "interface": "if1", "mar": f"MAR{n - 1}"},
            {"at": 3.0, "action": "move", "mn": "MN1", "interface": "if1", "mar": "MAR3"},
        ],
    }
    path = tmp_path / f"mars-{n}.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_eight_mars_text_at_least_11px_and_no_label_overlaps(page, tmp_path):
    page.goto("/")
    page.set_input_files("input[type=file]", eight_mars(tmp_path))
    page.click(".upload-form button[type=submit]")
    page.wait_for_load_state()
    slug = page.locator("li.scenario", has_text="Eight MARs").first.get_attribute("data-slug")
    open_scenario(page, slug)
    sizes = page.evaluate(TEXT_SIZES)
    assert sizes[0][0] >= 11, sizes[:5]
    assert page.evaluate(LABEL_OVERLAPS) == []
    # Played through the two handovers: tunnels, role tags and messages are drawn; still readable, still clear.
    page.select_option("#speed", label="4×")
    play_until(page, 2.05)
    sizes = page.evaluate(TEXT_SIZES)
    assert sizes[0][0] >= 11, sizes[:5]
    play_until(page, 4.5)
    assert page.locator("#topology g.tunnel").count() >= 2
    assert page.evaluate(TEXT_SIZES)[0][0] >= 11
    assert page.evaluate(LABEL_OVERLAPS) == []
    shot(page, "eight-mars-1280")


def test_four_to_seven_mars_text_at_least_11px(page, tmp_path):
    """Every size up to 8 MARs (one row on an arc up to 4, a zig-zag from 5): readable and no label over another."""
    for n in (4, 5, 6, 7):
        page.goto("/")
        page.set_input_files("input[type=file]", eight_mars(tmp_path, n))
        page.click(".upload-form button[type=submit]")
        page.wait_for_load_state()
        slug = page.locator("li.scenario", has_text=f"A chain of {n} MARs").first.get_attribute("data-slug")
        open_scenario(page, slug)
        sizes = page.evaluate(TEXT_SIZES)
        assert sizes[0][0] >= 11, (n, sizes[:3])
        assert page.evaluate(LABEL_OVERLAPS) == [], n
        shot(page, f"mars-{n}-1280")


def test_figure4_role_tags_clear_of_the_delay_labels(page):
    """Figure 4 played through: MAR2 becomes an anchor with its role tag above it; the MAR1-MAR3 delay label and the
    tunnel labels keep clear of the role tags and of each other all along."""
    open_scenario(page, "fig4-three-mars")
    assert page.evaluate(LABEL_OVERLAPS) == []
    page.select_option("#speed", label="10×")
    seen_roles = set()
    for t in (4.5, 6.5, 8.5, 11.5):
        play_until(page, t)
        seen_roles |= set(page.eval_on_selector_all(
            "#topology g.role[visibility=visible]",
            "els => els.map(e => e.closest('[data-id]').dataset.id + ' ' + e.textContent)",
        ))
        assert page.evaluate(LABEL_OVERLAPS) == [], t
        assert page.evaluate(TEXT_SIZES)[0][0] >= 11
    assert "MAR2 anchor" in seen_roles and "MAR3 serving" in seen_roles, seen_roles
    shot(page, "fig4-labels")


def test_dropped_badge_clear_of_the_tunnel_label(page):
    """Figure 4's second handover (MAR2 to MAR3, at 9 s) loses the packets on their way to MAR2 while the MAR1-MAR2
    tunnel is up: seen while playing, the "dropped" badges cover no tunnel label, no delay label, no node."""
    open_scenario(page, "fig4-three-mars")
    page.select_option("#speed", label="10×")
    play_until(page, 8.9)
    page.select_option("#speed", label="1×")
    page.keyboard.press("Space")
    page.wait_for_function("() => document.querySelector('#air g.drop-marker')", timeout=30_000)
    page.keyboard.press("Space")
    wait_idle(page)
    assert page.locator("#air g.drop-marker").count() >= 1 and page.locator("#topology g.tunnel").count() >= 1
    assert page.evaluate(LABEL_OVERLAPS) == []
    shot(page, "fig4-drop-labels")
