"""Breaking the network on purpose in the simulation page (issue 13 item 1; static/js/faults.js): drop a message in
flight by clicking it, fail and recover a MAR by clicking it, set a loss rate per node; lost messages drawn as lost
with their reason, failed nodes drawn as failed. Real Chromium against the working engine."""

from __future__ import annotations

from tests.browser.conftest import shot
from tests.browser.helpers import flying, open_scenario, play_until, step_until, wait_idle

MOBILE = {"width": 390, "height": 844}


def log_rows(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(f"#log li{selector}", "els => els.map(e => e.innerText)")


def test_click_a_pbu_in_flight_to_drop_it_then_its_retransmission_arrives(page):
    """Figure 5: the handover's PBU is clicked in the air with Break on; it ends in a cross that says "lost: drop", its
    log row is greyed with the reason, and the MAR sends the PBU again (attempt 2), which is answered."""
    open_scenario(page, "fig5-handover")
    play_until(page, 4.9)
    step_until(page, lambda p: "PBU" in flying(p), limit=60)
    shot(page, "faults-pbu-in-flight")

    page.click("#btn-break")
    assert page.get_attribute("#btn-break", "aria-pressed") == "true"
    page.click("#air g.msg[data-kind=PBU]:not([display])")
    wait_idle(page)
    assert "user drop the next PBU from MAR2 to MAR1" in page.inner_text("#log")

    # The page went back to the PBU's sending, dropped it there and ran on: it never reaches MAR1, and a cross
    # says why where it vanished.
    page.click("#btn-break")  # Break off again: clicks select as usual
    if page.locator("#air .drop-marker.drop-fault").count() == 0:
        step_until(page, lambda p: p.locator("#air .drop-marker.drop-fault").count() > 0, limit=20)
    assert page.locator("#air .drop-marker.drop-fault .drop-label").first.text_content() == "lost: drop"
    shot(page, "faults-pbu-lost")
    lost = log_rows(page, ".lost-fault")
    assert len(lost) == 1 and "PBU" in lost[0] and "lost (drop)" in lost[0], lost

    # The retransmission (RFC 5213 §6.9.4: after INITIAL_BINDACK_TIMEOUT) is sent and answered.
    step_until(page, lambda p: "PBA" in flying(p), limit=60)
    pbus = log_rows(page, "[data-group=pmip]:not(.lost-fault)")
    assert any("MAR2 → MAR1" in r and "PBU" in r for r in pbus), pbus
    page.click("#log li.lost-fault")
    details = page.inner_text("#details")
    assert "fault" in details and "drop" in details and "never arrived" in details, details
    shot(page, "faults-retransmitted")


def test_fail_and_recover_a_mar_by_clicking_it_and_set_a_loss_rate(page):
    """Break on, click MAR1: it is drawn failed, the Faults menu says so; click again: it recovers. The Faults menu
    sets a loss rate at MAR2, drawn under it and listed in the state."""
    open_scenario(page, "fig5-handover")
    play_until(page, 1.5)
    page.keyboard.press("b")
    assert page.get_attribute("#btn-break", "aria-pressed") == "true"
    page.click("#topology g[data-id=MAR1] .shape")
    wait_idle(page)
    mar1 = page.locator("#topology g.node[data-id=MAR1]")
    assert "failed" in (mar1.get_attribute("class") or "")
    assert mar1.locator(".fault-tag").text_content() == "failed"
    assert "failed" in mar1.get_attribute("aria-label")
    assert "user MAR1 fails" in page.inner_text("#log")
    shot(page, "faults-mar1-failed")

    # Data towards MN1 now goes nowhere: packets are lost at the failed MAR1.
    play_until(page, 2.2)
    assert page.locator("#log li.lost-fault").count() > 0
    page.click("summary:has-text('Faults')")
    row = page.locator(".faults-table tr[data-node=MAR1]")
    assert row.locator(".fault-status").text_content() == "failed"
    assert row.locator("button").text_content() == "Recover"
    shot(page, "faults-menu-open")

    # Recover with the menu's button (the keyboard's way), then a loss rate at MAR2.
    row.locator("button").click()
    wait_idle(page)
    assert "failed" not in (mar1.get_attribute("class") or "")
    assert mar1.locator(".fault-tag").count() == 0
    assert page.locator(".faults-table tr[data-node=MAR1] .fault-status").text_content() == "up"
    page.select_option("select[aria-label='loss rate at MAR2']", "0.25")
    wait_idle(page)
    assert page.locator("#topology g.node[data-id=MAR2] .fault-tag").text_content() == "loss 25%"
    assert "Faults (1)" in page.inner_text(".faults-menu summary")
    page.keyboard.press("Escape")
    assert page.get_attribute("#btn-break", "aria-pressed") == "false"
    shot(page, "faults-loss-rate")

    # The same at phone size: everything on screen, the menu usable.
    page.set_viewport_size(MOBILE)
    page.click("summary:has-text('Faults')")
    box = page.locator(".faults-body").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= MOBILE["width"], box
    assert page.evaluate("() => document.documentElement.scrollWidth") <= MOBILE["width"]
    shot(page, "faults-phone")


def test_drop_from_the_message_details_with_the_keyboard(page):
    """Without a mouse: walk the log to the PBU in the air, its details offer "Drop this PBU"; Enter drops it."""
    open_scenario(page, "fig5-handover")
    play_until(page, 4.9)
    step_until(page, lambda p: "PBU" in flying(p), limit=60)
    page.focus("#log")
    page.keyboard.press("ArrowDown")
    for _ in range(30):
        if page.inner_text("#details-h").startswith("PBU"):
            break
        page.keyboard.press("ArrowUp")
    button = page.locator("#details .drop-this")
    assert button.is_visible() and "Drop this PBU (MAR2 → MAR1)" in button.inner_text()
    button.focus()
    page.keyboard.press("Enter")
    wait_idle(page)
    step_until(page, lambda p: p.locator("#log li.lost-fault").count() > 0, limit=20)
    assert "lost (drop)" in page.inner_text("#log li.lost-fault")


def test_lesson_editor_scripts_the_fault_actions(browser):
    """The lesson editor offers drop / loss / fail / recover next to the flow buttons: with Record on each becomes a
    script entry at t, checked by the engine (a node that has not failed cannot recover)."""
    from tests.browser.conftest import VIEWPORT, dmmviz_server
    from tests.browser.test_lessons import CREATE_USERS, PASSWORD, editor_ready, script_texts, set_time, sim_idle

    with dmmviz_server("dmmviz-faultui-", [["load_builtin"], ["load_lessons"], ["shell", "-c", CREATE_USERS]]) as url:
        context = browser.new_context(viewport=VIEWPORT, base_url=url)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto("/accounts/login/")
        page.fill("#id_username", "irene")
        page.fill("#id_password", PASSWORD)
        page.click("form.lx-form button[type=submit]")
        page.wait_for_url("**/lessons/")
        page.click("#new-lesson")
        page.wait_for_url("**/edit/")
        editor_ready(page)
        before = len(script_texts(page))

        page.click("#rec-toggle")
        set_time(page, 2)
        page.select_option("#fault-action", "fail")
        page.select_option("#fault-node", "MAR1")
        page.click("#fault-add")
        page.wait_for_function(f"() => document.querySelectorAll('#ed-script li').length === {before + 1}")
        sim_idle(page)
        assert any("MAR1 fails" in t for t in script_texts(page)), script_texts(page)

        set_time(page, 3)
        page.select_option("#fault-action", "drop")
        page.select_option("#fault-kind", "RA")
        page.click("#fault-add")
        page.wait_for_function(f"() => document.querySelectorAll('#ed-script li').length === {before + 2}")
        sim_idle(page)
        page.select_option("#fault-action", "loss")
        page.select_option("#fault-node", "CN1")
        page.fill("#fault-rate", "0.3")
        page.click("#fault-add")
        page.wait_for_function(f"() => document.querySelectorAll('#ed-script li').length === {before + 3}")
        sim_idle(page)
        texts = script_texts(page)
        assert any("drop the next RA" in t for t in texts) and any("loss 0.3 at CN1" in t for t in texts), texts

        # Refused by the engine: DB has not failed.
        page.select_option("#fault-action", "recover")
        page.select_option("#fault-node", "DB")
        page.click("#fault-add")
        sim_idle(page)
        assert len(script_texts(page)) == before + 3
        assert "DB has not failed" in page.inner_text("body")
        shot(page, "faults-editor")
        context.close()
        assert not errors, errors


def test_faults_drawn_and_menu_pass_axe(browser, server):
    """axe (as tests/browser/test_accessibility.py runs it) on the page with a failed MAR, a loss rate, lost messages
    greyed in the log and the Faults menu open: no serious or critical violation, at 1280x720 and 390x844."""
    from tests.browser.conftest import VIEWPORT
    from tests.browser.test_accessibility import AXE, RUN

    context = browser.new_context(viewport=VIEWPORT, base_url=server, bypass_csp=True)  # to add axe itself
    page = context.new_page()
    open_scenario(page, "fig5-handover")
    play_until(page, 1.5)
    page.keyboard.press("b")
    page.click("#topology g[data-id=MAR1] .shape")
    wait_idle(page)
    page.keyboard.press("Escape")
    page.click("summary:has-text('Faults')")
    page.select_option("select[aria-label='loss rate at CN1']", "0.5")
    wait_idle(page)
    page.keyboard.press("Escape")
    play_until(page, 2.3)
    assert page.locator("#log li.lost-fault").count() > 0
    page.click("summary:has-text('Faults')")
    page.add_script_tag(path=str(AXE))
    found = []
    for size in (VIEWPORT, MOBILE):
        page.set_viewport_size(size)
        violations = page.evaluate(RUN)
        found += [
            f"{size['width']}: {v['id']} ({v['impact']}): {v['nodes']}"
            for v in violations
            if v["impact"] in ("serious", "critical") or v["id"] == "region"
        ]
        shot(page, f"faults-axe-{size['width']}")
    context.close()
    assert found == [], "\n".join(found)
