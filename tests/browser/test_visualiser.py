"""The live visualiser in Chromium at 1280×720: what a student sees and does on the seed's figures."""

from __future__ import annotations

import re

from tests.browser.conftest import ROOT, shot
from tests.browser.helpers import (
    drag,
    flying,
    open_scenario,
    play_until,
    select_node,
    step,
    step_back,
    step_until,
    table_rows,
    timeline_overlaps,
    toolbar_off_screen,
    wait_idle,
)

HNP1 = "2001:db8:1:1::/64"
HNP2 = "2001:db8:2:1::/64"


def test_home_lists_scenarios_and_opens_a_session(page):
    """The home page lists the built-in scenarios with title and description; opening one gives a session URL
    whose drawing shows every node of the scenario."""
    page.goto("/")
    titles = page.locator(".scenario-title").all_inner_texts()
    assert any("Figure 5" in t for t in titles) and any("Figure 6" in t for t in titles), titles
    assert "moves to MAR2" in page.inner_text("li[data-slug=fig5-handover] .scenario-description")
    shot(page, "home")
    url = open_scenario(page, "fig5-handover")
    assert re.search(r"/s/[0-9a-f-]{36}/$", url)
    for node in ("MAR1", "MAR2", "CN1", "CN2", "DB", "MN1"):
        assert page.locator(f"#topology g[data-id='{node}']").count() == 1, node
    assert page.get_attribute("body", "data-topology") == "drawn"
    # The pool is printed under each MAR.
    assert "2001:db8:1::/48" in page.text_content("#topology g[data-id='MAR1']")
    assert toolbar_off_screen(page) == []  # every control on screen, one line each
    shot(page, "fig5-open")


def test_figure5_drag_handover_then_step_back(page):
    """Drag MN1 onto MAR2: the PBU and the PBA go by, the tunnel is drawn with HNP1, the session DB and MAR1's
    binding cache change, the RA deprecates HNP1; stepping back undoes it all."""
    open_scenario(page, "fig5-handover")
    play_until(page, 1.5)  # MN1 has HNP1 from MAR1 and flow1 runs natively
    assert table_rows(page, "#panel-db") == [["MN1", HNP1, "MAR1"]]
    select_node(page, "MAR1")
    assert table_rows(page, "#panel-mar") == [["MN1.if1"], [HNP1, "MN1.if1"]]  # attached, allocated; no bindings
    assert page.locator("#topology g.tunnel").count() == 0
    shot(page, "fig5-before-drag")

    drag(page, "#topology g.mn[data-id=MN1] .mn-body", "#topology g[data-id=MAR2] .shape")
    assert "user move MN1 if1 MAR2" in page.inner_text("#log")
    # Around t = 1 s the timeline has three labels (the attach, MN1 starts flow1, your move): none overlaps another.
    assert page.locator("#timeline .mark text").count() >= 4
    assert timeline_overlaps(page) == []
    # The hint says what to press next and goes once it is pressed.
    assert "press Play (Space) or Step" in page.inner_text("#toast") and page.is_visible("#toast")
    step(page)
    assert not page.is_visible("#toast")

    step_until(page, lambda p: "PBU" in flying(p))
    assert page.text_content("#air g.msg:not([display])[data-kind=PBU]") == "PBU"
    shot(page, "fig5-pbu")
    # The serving MAR asked the session DB before signalling: HNP2 is registered, HNP1 still anchored at MAR1.
    assert table_rows(page, "#panel-db") == [["MN1", HNP1, "MAR1"], ["MN1", HNP2, "MAR2"]]

    step_until(page, lambda p: "PBA" in flying(p))
    shot(page, "fig5-pba")
    tunnel = page.locator("#topology g.tunnel[data-ends='MAR1|MAR2']")
    assert tunnel.count() == 1
    assert HNP1 in tunnel.text_content()
    bc = table_rows(page, "#panel-mar")
    assert ["MN1", HNP1, "MAR2", "active", "1 h"] in bc, bc
    assert page.locator("#topology g[data-id=MAR1] .role-anchor").get_attribute("visibility") == "visible"

    step_until(page, lambda p: "RA" in flying(p))
    step(page)  # the RA arrives: MN1 now knows HNP1 is deprecated
    page.click("#tab-mn")
    prefixes = table_rows(page, "#panel-mn")
    # Valid lifetime 2 h: the host keeps at least two hours (RFC 4862 §5.5.3 e; the engine's rule since d0436aa).
    assert [HNP1, "MAR1", "deprecated", "0 s", "2 h"] in prefixes, prefixes
    assert [HNP2, "MAR2", "preferred", "7 d", "30 d"] in prefixes, prefixes
    shot(page, "fig5-after-ra")

    # The PBU's fields, from the log.
    page.click("#log li[data-group=pmip] >> text=PBU")
    details = page.inner_text("#details")
    for text in ("PBU", "AHP", "handoff indicator", "handoff between MAGs", "sequence", "MN1@dmmviz.example", HNP1):
        assert text in details, text
    shot(page, "fig5-pbu-details")
    page.keyboard.press("Escape")
    assert page.locator("#details").is_hidden()

    # Step back until the move itself is undone: no tunnel, MN1 back under MAR1, the DB as before.
    select_node(page, "MAR1")
    for _ in range(30):
        step_back(page)
        if "user move" not in page.inner_text("#log"):
            break
    else:
        raise AssertionError("the move was not undone after 30 steps back")
    assert page.locator("#topology g.tunnel").count() == 0
    assert table_rows(page, "#panel-db") == [["MN1", HNP1, "MAR1"]]
    assert page.locator("#topology g[data-id=MAR1] .role-anchor").get_attribute("visibility") == "hidden"
    mn_x = page.locator("#topology g.mn[data-id=MN1]").bounding_box()["x"]
    mar1 = page.locator("#topology g[data-id=MAR1]").bounding_box()
    assert mar1["x"] <= mn_x <= mar1["x"] + mar1["width"], "MN1 is drawn under MAR1 again"
    shot(page, "fig5-stepped-back")


def test_figure5_handover_drops_packets_visibly(page):
    """Packets in flight towards MAR1 when MN1 leaves are dropped, and the drop is drawn and logged."""
    open_scenario(page, "fig5-handover")
    play_until(page, 2.001)  # CN1's packet 6 is on its way to MAR1 (sent at 2.0, due at 2.01)
    drag(page, "#topology g.mn[data-id=MN1] .mn-body", "#topology g[data-id=MAR2] .shape")
    step_until(page, lambda p: p.locator("#air g.drop-marker").count() > 0, limit=10)
    assert page.locator("#log li[data-group=drop]").count() >= 1
    assert "drops flow1" in page.inner_text("#log li[data-group=drop] >> nth=0")
    shot(page, "fig5-drop")


def test_tunnelled_data_is_drawn_encapsulated(page):
    """After the handover flow1's packets cross the tunnel inside an outer header (the envelope shape)."""
    open_scenario(page, "fig5-handover")
    play_until(page, 1.5)
    drag(page, "#topology g.mn[data-id=MN1] .mn-body", "#topology g[data-id=MAR2] .shape")
    step_until(page, lambda p: p.locator("#air g.msg:not([display])[data-group=tunnel]").count() > 0, limit=40)
    packet = page.locator("#air g.msg:not([display])[data-group=tunnel]").first
    assert packet.locator("rect.msg-outer").count() == 1
    assert packet.text_content() == "flow1"
    shot(page, "fig5-tunnelled-data")


def test_filters_hide_a_kind_from_drawing_and_log(page):
    """Key 5 hides native data packets in the drawing and the log; pressing it again shows them."""
    open_scenario(page, "fig5-handover")
    play_until(page, 1.3)
    step_until(page, lambda p: p.locator("#air g.msg:not([display])[data-group=data]").count() > 0, limit=10)
    page.keyboard.press("5")
    assert not page.locator("#filter-data").is_checked()
    assert page.locator("#air g.msg:not([display])[data-group=data]").first.is_hidden()
    assert page.locator("#log li[data-group=data]").first.is_hidden()
    page.keyboard.press("5")
    assert page.locator("#air g.msg:not([display])[data-group=data]").first.is_visible()


def test_keyboard_play_pause_step_and_back(page):
    """Space plays and pauses, → steps one event forward, ← one back, R resets to the start (after asking)."""
    open_scenario(page, "fig5-handover")
    step(page)
    step(page)
    rows = page.locator("#log li").count()
    assert rows > 0
    t_two = float(page.get_attribute("body", "data-sim-now"))
    step_back(page)
    assert page.locator("#log li").count() < rows
    step(page)
    assert float(page.get_attribute("body", "data-sim-now")) == t_two
    assert page.is_visible("#btn-play .icon-play") and not page.is_visible("#btn-play .icon-pause")
    page.keyboard.press("Space")
    assert page.get_attribute("#btn-play", "aria-pressed") == "true"
    # While playing the button reads "Pause" and shows the pause icon (two bars), not the play triangle.
    assert page.inner_text("#btn-play .text") == "Pause"
    assert page.is_visible("#btn-play .icon-pause") and not page.is_visible("#btn-play .icon-play")
    page.wait_for_function("() => parseFloat(document.querySelector('#clock').textContent.slice(4)) > 0.5")
    page.keyboard.press("Space")
    wait_idle(page)
    assert page.get_attribute("#btn-play", "aria-pressed") == "false"
    assert page.inner_text("#btn-play .text") == "Play"
    assert page.is_visible("#btn-play .icon-play") and not page.is_visible("#btn-play .icon-pause")
    page.keyboard.press("r")  # R asks first (tests/browser/test_timeline_safety.py); OK resets
    page.click("#confirm-ok")
    wait_idle(page)
    assert float(page.get_attribute("body", "data-sim-now")) == 0.0
    assert page.locator("#log li").count() == 0


def test_two_tabs_on_one_session_stay_in_sync(page, browser, server):
    """A second tab on the same session URL sees the first tab's handover in its own tables. A tab of the same browser:
    a session is its starter's (dmmviz/access.py), another browser gets a 404 (tests/security)."""
    url = open_scenario(page, "fig5-handover")
    play_until(page, 1.2)
    other = page.context.new_page()
    try:
        other.goto(url)
        wait_idle(other)
        drag(page, "#topology g.mn[data-id=MN1] .mn-body", "#topology g[data-id=MAR2] .shape")
        step_until(page, lambda p: len(table_rows(p, "#panel-db")) == 2, limit=12)
        other.wait_for_function("() => document.querySelectorAll('#panel-db tbody tr').length === 2")
        assert table_rows(other, "#panel-db") == table_rows(page, "#panel-db")
        assert "user move MN1 if1 MAR2" in other.inner_text("#log")
        # The timeline says whose move it was: "you:" only in the tab that made it, also after a reload.
        assert "you: move MN1" in page.text_content("#timeline .marks")
        other.wait_for_function(
            "() => document.querySelector('#timeline .marks').textContent.includes('user: move MN1')"
        )
        assert "you:" not in other.text_content("#timeline .marks")
        page.reload()
        wait_idle(page)
        page.wait_for_function("() => document.querySelector('#timeline .marks').textContent.includes('you: move MN1')")
    finally:
        other.close()


def test_reload_resumes_the_session(page):
    """A reload shows the same simulation: the user's move and the tables are still there."""
    open_scenario(page, "fig5-handover")
    play_until(page, 1.2)
    drag(page, "#topology g.mn[data-id=MN1] .mn-body", "#topology g[data-id=MAR2] .shape")
    step_until(page, lambda p: p.locator("#topology g.tunnel").count() == 1)
    before = table_rows(page, "#panel-db")
    page.reload()
    wait_idle(page)
    assert table_rows(page, "#panel-db") == before
    assert page.locator("#topology g.tunnel[data-ends='MAR1|MAR2']").count() == 1
    assert "user move MN1 if1 MAR2" in page.inner_text("#log")


def test_figure6_move_flow_to_second_interface(page):
    """Figure 6: with if1 on MAR1 and if2 on MAR2, the MN panel's "→ if2" moves flow2 alone; MAR1 tunnels flow2
    (and only flow2) of its prefix to MAR2."""
    open_scenario(page, "fig6-multi-interface")
    play_until(page, 3.2)  # both flows on if1, if2 attached to MAR2
    mn = page.locator("#topology g.mn[data-id=MN1]")
    assert mn.locator("g.iface").count() == 2
    assert mn.locator("g.iface.attached").count() == 2
    select_node(page, "MN1")
    flows = table_rows(page, "#panel-mn")
    flow2 = next(r for r in flows if r[0] == "flow2")
    page.click("#panel-mn tr:has(td:text-is('flow2')) button:text('→ if2')")
    wait_idle(page)
    assert "user move_flow" in page.inner_text("#log")
    step_until(page, lambda p: p.locator("#topology g.tunnel").count() == 1, limit=30)
    label = page.text_content("#topology g.tunnel")
    assert f"{flow2[2]} (flow2)" in label  # flow2 is carried ...
    assert "flow1" not in label  # ... and flow1 is not
    shot(page, "fig6-flow-moved")


def test_figure4_two_anchors_after_three_mars(page):
    """Figure 4 played through: MAR1 and MAR2 each tunnel one prefix to MAR3; MAR2 is anchor and serving at once."""
    open_scenario(page, "fig4-three-mars")
    page.select_option("#speed", label="100×")
    play_until(page, 11.5)
    assert page.locator("#topology g.tunnel[data-ends='MAR1|MAR3']").count() == 1
    assert page.locator("#topology g.tunnel[data-ends='MAR2|MAR3']").count() == 1
    shot(page, "fig4-end")


def test_scenario_text_is_never_markup(page, server, tmp_path):
    """An uploaded scenario whose title and description hold HTML shows them as text, never as elements."""
    import json

    builtin = __import__("pathlib").Path(__file__).parents[2] / "dmmviz/builtin_scenarios"
    doc = json.loads((builtin / "fig5-handover.json").read_text())
    doc["title"] = '<img src=x onerror="window.pwned=1">Evil <b id=pwned>title</b>'
    doc["description"] = "<script>window.pwned=2</script>"
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(doc))
    page.goto("/")
    page.set_input_files("input[type=file]", str(path))
    page.click(".upload-form button[type=submit]")
    page.wait_for_load_state()
    slug = page.locator("li.scenario", has_text="Evil").get_attribute("data-slug")
    open_scenario(page, slug)
    assert page.locator("#pwned").count() == 0
    assert page.evaluate("window.pwned === undefined")
    assert "<b id=pwned>" in page.inner_text(".sim-title")


def test_sequence_diagram_view_and_downloads(page):
    """V shows the live sequence diagram (the export's model): the handover's PBU and PBA as arrows, and clicking
    the PBU shows its fields; the Download menu gives the same diagram as an SVG file."""
    open_scenario(page, "fig5-handover")
    page.select_option("#speed", label="10×")
    play_until(page, 5.5)
    page.keyboard.press("v")
    page.wait_for_selector("#sequence .seq-msg[data-kind=PBA]")
    lanes = page.locator("#sequence .seq-lane text").all_text_contents()
    assert lanes[:3] == ["MN1", "MAR2", "MAR1"]
    assert page.locator(".scene").is_hidden()
    page.click("#sequence .seq-msg[data-kind=PBU]")
    assert page.inner_text("#details h2").split() == ["PBU", "MAR2", "→", "MAR1"]
    shot(page, "fig5-sequence")
    page.keyboard.press("Escape")
    page.keyboard.press("v")
    assert page.locator(".scene").is_visible()
    page.click(".downloads summary")
    with page.expect_download() as info:
        page.click(".downloads a:text('Sequence diagram (SVG)')")
    download = info.value
    assert download.suggested_filename.endswith(".svg")
    body = open(download.path(), encoding="utf-8").read()
    assert "PBU" in body and "PBA" in body


def test_timeline_click_jumps_forward_and_back(page):
    """Clicking the timeline runs on to that time, or goes back to it (the server replays)."""
    open_scenario(page, "fig5-handover")
    box = page.locator("#timeline svg").bounding_box()

    def click_at(t: float) -> float:
        # The strip spans 0..10 s between 12 px margins (Figure 5's script ends at 7 s).
        page.mouse.click(box["x"] + 12 + t / 10 * (box["width"] - 24), box["y"] + box["height"] / 2)
        wait_idle(page)
        return float(page.get_attribute("body", "data-sim-now"))

    assert abs(click_at(6.0) - 6.0) < 0.05
    assert len(table_rows(page, "#panel-db")) == 2  # the scripted handover at 5 s happened
    assert abs(click_at(2.0) - 2.0) < 0.05
    assert table_rows(page, "#panel-db") == [["MN1", HNP1, "MAR1"]]


def test_keyboard_only_handover(page):
    """Without a mouse: Tab to MN1 in the drawing, Enter opens its tab, choose MAR2 and press Move."""
    open_scenario(page, "fig5-handover")
    page.focus("#topology g.mn[data-id=MN1]")
    page.keyboard.press("Enter")
    assert page.get_attribute("#tab-mn", "aria-selected") == "true"
    page.keyboard.press("Space")  # play until MN1 is attached
    page.wait_for_function("() => document.querySelector('#panel-mn .iface-at')?.textContent === 'on MAR1'")
    page.keyboard.press("Space")
    wait_idle(page)
    page.focus("#panel-mn .iface-row select")
    page.keyboard.press("ArrowDown")  # the only other MAR
    assert page.eval_on_selector("#panel-mn .iface-row select", "s => s.value") == "MAR2"
    page.focus("#panel-mn .iface-row button:text('Move')")
    page.keyboard.press("Enter")
    wait_idle(page)
    assert "user move MN1 if1 MAR2" in page.inner_text("#log")
    page.locator("body").focus()
    step_until(page, lambda p: "PBU" in flying(p) or "RA" in flying(p), limit=20)


def test_figure6_drag_one_interface(page):
    """Figure 6's MN has two interfaces: dragging the body only explains what to do; dragging the if2 circle onto
    MAR1 moves that interface alone."""
    open_scenario(page, "fig6-multi-interface")
    page.select_option("#speed", label="10×")
    play_until(page, 3.2)
    drag(page, "#topology g.mn[data-id=MN1] .mn-body", "#topology g[data-id=MAR1] .shape")
    assert "drag one of them" in page.inner_text("#toast")
    assert "user move" not in page.inner_text("#log")
    drag(page, "#topology g.mn[data-id=MN1] g.iface[data-iface=if2]", "#topology g[data-id=MAR1] .shape")
    assert "user move MN1 if2 MAR1" in page.inner_text("#log")


def test_log_keyboard_walks_messages(page):
    """With the log focused, the arrow keys select messages and show their fields."""
    open_scenario(page, "fig5-handover")
    for _ in range(4):
        step(page)
    page.focus("#log")
    page.keyboard.press("ArrowUp")
    first = page.inner_text("#details h2")
    page.keyboard.press("ArrowUp")
    second = page.inner_text("#details h2")
    assert first != second
    assert first.split()[0] in ("RS", "RA", "DB_QUERY", "DB_REPLY", "DB_UPDATE")


def test_mn_panel_starts_and_stops_a_flow(page):
    """The MN tab's buttons start a flow (with a name the script does not use) and stop it again."""
    open_scenario(page, "fig5-handover")
    play_until(page, 0.5)  # MN1 attached to MAR1, no flow yet
    select_node(page, "MN1")
    page.select_option("#panel-mn .start-flow select", "CN2")
    page.click("#panel-mn button:text('Start flow')")
    wait_idle(page)
    started = page.inner_text("#log li[data-group=action] >> nth=0")
    assert "user start_flow MN1" in started and "flow3" in started and "CN2" in started  # flow1, flow2: the script's
    step_until(page, lambda p: any(r[0] == "flow3" for r in table_rows(p, "#panel-mn")), limit=10)
    page.click("#panel-mn tr:has(td:text-is('flow3')) button:text('Stop')")
    wait_idle(page)
    assert "user stop_flow MN1 flow3" in page.inner_text("#log")


def test_scenario_layout_key_places_nodes(page, tmp_path):
    """A scenario's `layout` positions win over the automatic layout (docs/visualiser.md, "Layout rule")."""
    import json

    doc = json.loads((ROOT / "dmmviz/builtin_scenarios/fig5-handover.json").read_text())
    doc["title"] = "Laid out by hand"
    doc["layout"] = {"MAR1": [100, 420], "MAR2": [700, 200], "CN1": [100, 40], "CN2": [700, 40]}
    path = tmp_path / "laid-out.json"
    path.write_text(json.dumps(doc))
    page.goto("/")
    page.set_input_files("input[type=file]", str(path))
    page.click(".upload-form button[type=submit]")
    page.wait_for_load_state()
    open_scenario(page, page.locator("li.scenario", has_text="Laid out by hand").get_attribute("data-slug"))
    def at(selector: str) -> tuple[float, float]:
        """A node's position (its transform may also scale it up so its text stays readable: topology.js k)."""
        found = re.match(r"translate\(([-\d.]+),([-\d.]+)\)", page.get_attribute(selector, "transform"))
        return float(found[1]), float(found[2])

    assert at("#topology g[data-id=MAR1]") == (100, 420)
    assert at("#topology g[data-id=MAR2]") == (700, 200)
    # The IP core goes between the CNs (y 40) and the MARs (mean y 310), in the middle of them all (x 400).
    assert at("#topology g.node-core") == (400, 175)
