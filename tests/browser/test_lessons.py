"""Lessons in a real Chromium against a real Daphne: an instructor builds a two-MAR lesson in the editor, records a
handover, saves, reloads and publishes it, and a student plays it and gets a score; a live class followed by two
students in separate browser contexts. Screenshots go to tests/browser/artifacts/lessons-*.png.

Run on their own: `pytest tests/browser` (see conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .conftest import VIEWPORT, dmmviz_server, shot
from .helpers import centre, clock, drag, toolbar_off_screen, wait_idle

PASSWORD = "lessons-browser-pw-1"
CREATE_USERS = f"""
from django.contrib.auth.models import User
from django.core.management import call_command
User.objects.create_user("irene", password={PASSWORD!r})
call_command("grant_instructor", "irene")
"""


@pytest.fixture(scope="module")
def lessons_server() -> Iterator[str]:
    """Daphne on a fresh SQLite file with the built-in scenarios and lessons, and an instructor "irene"."""
    with dmmviz_server(
        "dmmviz-lessons-browser-", [["load_builtin"], ["load_lessons"], ["shell", "-c", CREATE_USERS]]
    ) as url:
        yield url


class Person:
    """One browser context (its own cookies: one person) with a page that fails the test on any JavaScript error."""

    def __init__(self, browser, server: str) -> None:
        self.context = browser.new_context(viewport=VIEWPORT, base_url=server)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        # A 4xx answer is logged by Chromium as a console error; some are expected here (a refused save), so the
        # responses are judged instead: any 5xx fails the test, and so does any other console error.
        self.page.on(
            "console",
            lambda m: (
                self.errors.append(f"console: {m.text}")
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        self.page.on("response", lambda r: self.errors.append(f"HTTP {r.status} {r.url}") if r.status >= 500 else None)

    def login(self, username: str) -> Person:
        self.page.goto("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("form.lx-form button[type=submit]")
        self.page.wait_for_url("**/lessons/")
        return self

    def close(self) -> None:
        self.context.close()
        assert not self.errors, "\n".join(self.errors)


@pytest.fixture()
def people(browser, lessons_server):
    made: list[Person] = []

    def make() -> Person:
        person = Person(browser, lessons_server)
        made.append(person)
        return person

    yield make
    for person in made:
        person.close()


def editor_ready(page) -> None:
    page.wait_for_selector("body[data-ed-status=ready]", state="attached", timeout=20_000)
    page.wait_for_selector("body[data-ed-sim=idle]", state="attached", timeout=20_000)


def sim_idle(page) -> None:
    page.wait_for_selector("body[data-ed-sim=idle]", state="attached", timeout=20_000)


def set_time(page, t: float) -> None:
    page.fill("#rec-t", str(t))
    page.dispatch_event("#rec-t", "change")
    sim_idle(page)


def script_texts(page) -> list[str]:
    return page.eval_on_selector_all("#ed-script li", "els => els.map(e => e.textContent.replace(/\\s+/g, ' ').trim())")


def test_editor_round_trip_build_record_save_reload_play(people):
    """Build a two-MAR lesson, record a flow and a handover, save, reload, publish; a student plays it to a score."""
    teacher = people().login("irene")
    page = teacher.page
    page.click("#new-lesson")
    page.wait_for_url("**/edit/")
    editor_ready(page)
    edit_url = page.url

    page.fill("#ed-title", "Two MARs: flow1 keeps its anchor")
    page.dispatch_event("#ed-title", "change")
    page.click("#add-mar")
    page.wait_for_selector("#ed-canvas g[data-node=MAR2]")
    page.click("#tool-link")
    page.click("#ed-canvas g[data-node=MAR1]")
    page.click("#ed-canvas g[data-node=MAR2]")
    page.wait_for_selector("#ed-canvas g.ed-link")
    sim_idle(page)

    # Record: flow1 at t = 1, then drag MN1 onto MAR2 at t = 3.
    page.click("#rec-toggle")
    set_time(page, 1)
    page.click("#flow-start")
    page.wait_for_function("() => document.querySelectorAll('#ed-script li').length === 2")
    sim_idle(page)
    set_time(page, 3)
    x, y = centre(page, "#ed-canvas g[data-node=MN1] rect")
    tx, ty = centre(page, "#ed-canvas g[data-node=MAR2] rect")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 10, y - 10, steps=3)
    page.mouse.move(tx, ty, steps=10)
    page.mouse.up()
    page.wait_for_function("() => document.querySelectorAll('#ed-script li').length === 3")
    sim_idle(page)
    assert any("move MN1 if1 to MAR2" in s and "t = " in s for s in script_texts(page)), script_texts(page)
    assert page.input_value("#ed-script li:last-child input") == "3"
    # At t = 3 MN1 is in its 50 ms link-layer gap: drawn under MAR2, where it was dropped, not in the "not attached"
    # strip.
    mn1, mar2 = centre(page, "#ed-canvas g[data-node=MN1] rect"), centre(page, "#ed-canvas g[data-node=MAR2] rect")
    assert abs(mn1[0] - mar2[0]) < 5 and mar2[1] < mn1[1] < mar2[1] + 120, (mn1, mar2)

    # Steps: narrative for the first, a second one pausing after the move with a checkpoint.
    page.fill("#ed-steps li[data-step='0'] .ed-step-text", "MN1 attaches to **MAR1**.")
    page.dispatch_event("#ed-steps li[data-step='0'] .ed-step-text", "change")
    page.click("#add-step")
    step = "#ed-steps li[data-step='1']"
    page.fill(f"{step} .ed-step-title", "After the move")
    page.dispatch_event(f"{step} .ed-step-title", "change")
    page.fill(f"{step} .ed-until", "4")
    page.dispatch_event(f"{step} .ed-until", "change")
    page.fill(f"{step} .ed-step-text", "MN1 moved to MAR2 with flow1 running.")
    page.dispatch_event(f"{step} .ed-step-text", "change")
    page.select_option(f"{step} .ed-kind", "flow_anchor")
    page.select_option(f"{step} .ed-param-flow", "flow1")
    page.wait_for_function(
        "() => document.querySelector('#ed-answer-1')?.textContent.includes(\"engine's answer at t = 4 s: MAR1\")"
    )
    # The question kinds are long: the Ask select stays inside the checkpoint's box.
    box = page.locator(f"{step} .ed-checkpoint").bounding_box()
    ask = page.locator(f"{step} .ed-kind").bounding_box()
    assert ask["x"] + ask["width"] <= box["x"] + box["width"], (ask, box)

    # A third step whose action (recorded into the step) stops flow1 when students reach it.
    page.click("#add-step")
    step = "#ed-steps li[data-step='2']"
    page.fill(f"{step} .ed-step-title", "flow1 ends")
    page.dispatch_event(f"{step} .ed-step-title", "change")
    page.fill(f"{step} .ed-until", "5")
    page.dispatch_event(f"{step} .ed-until", "change")
    page.select_option("#rec-target", "2")
    sim_idle(page)
    assert page.input_value("#rec-t") == "4"  # a step's actions run where it begins: the previous step's pause
    page.fill("#flow-id", "flow1")
    page.click("#flow-stop")
    page.wait_for_selector(f"{step} .ed-actions li")
    assert "When reached: MN1 stops flow1" in page.inner_text(f"{step} .ed-actions")
    page.select_option(f"{step} .ed-kind", "db_entries")
    page.wait_for_function(
        "() => document.querySelector('#ed-answer-2')?.textContent.includes(\"engine's answer at t = 5 s: 1\")"
    )
    shot(page, "lessons-editor-built")

    # A bad prefix pool is refused on save, with the error at its field.
    page.click("#ed-canvas g[data-node=MAR2]")
    page.fill("#prop-pool", "2001:db8:2::/20")
    page.dispatch_event("#prop-pool", "change")
    page.click("#ed-save")
    page.wait_for_selector("body[data-ed-status=invalid]", state="attached")
    error = page.locator("#prop-pool + .ed-error")
    assert error.is_visible() and error.get_attribute("data-for") == "scenario.network.mars[1].prefix_pool"
    assert "scenario.network.mars[1].prefix_pool" in page.inner_text("#ed-problems")
    shot(page, "lessons-editor-field-error")
    page.fill("#prop-pool", "2001:db8:2::/48")
    page.dispatch_event("#prop-pool", "change")
    page.select_option("#ed-status", "published")
    page.click("#ed-save")
    page.wait_for_selector("body[data-ed-status=saved]", state="attached")
    # The first save under a real title gave the lesson its own address (it was /lessons/new-lesson/...).
    assert page.url.endswith("/lessons/two-mars-flow1-keeps-its-anchor/edit/"), page.url
    assert page.get_attribute("body", "data-detail-url") == "/lessons/two-mars-flow1-keeps-its-anchor/"
    edit_url = page.url

    # Reload: everything came back from the server.
    page.goto(edit_url)
    editor_ready(page)
    assert page.locator("#ed-canvas g[data-node=MAR2]").count() == 1
    assert page.locator("#ed-canvas g.ed-link").count() == 1
    texts = script_texts(page)
    assert any("MN1 starts flow1 to CN1" in s for s in texts) and any("move MN1 if1 to MAR2" in s for s in texts)
    assert page.input_value("#ed-steps li[data-step='1'] .ed-step-title") == "After the move"
    assert "MN1 stops flow1" in page.inner_text("#ed-steps li[data-step='2'] .ed-actions")
    assert page.input_value("#ed-status") == "published"
    lesson_url = page.get_attribute("body", "data-detail-url")

    # A student (not logged in) plays it.
    student = people()
    sp = student.page
    sp.goto(lesson_url)
    sp.click("#start-lesson")
    wait_idle(sp)
    assert "MN1 attaches to MAR1." in sp.inner_text("#step-text")
    sp.click("#next-step")
    wait_idle(sp)
    assert "Which node anchors flow1 of MN1 now?" in sp.inner_text("#checkpoint-prompt")
    # The step opens paused before the recorded handover (issue 12: steps play into their moment); Play runs the
    # step and pauses at its end (t = 4 s), with the handover's PBU in the log.
    assert "PBU" not in sp.inner_text("#log") and clock(sp) < 3
    sp.keyboard.press("Space")
    sp.wait_for_selector("body[data-lx-stopped-at='4']", state="attached", timeout=60_000)
    wait_idle(sp)
    assert clock(sp) == pytest.approx(4.0, abs=0.0015)
    assert "PBU" in sp.inner_text("#log")
    sp.click("#topology g[data-id=MAR1] .shape")  # answer by clicking the MAR in the drawing
    assert sp.is_checked("#checkpoint input[value=MAR1]")
    sp.click("#check-answer")  # answered in place: no page load, the verdict appears under the question
    sp.wait_for_selector("#verdict.lx-right", timeout=10_000)
    assert "Right" in sp.inner_text("#verdict")
    sp.click("#next-step")
    wait_idle(sp)
    assert "How many prefixes does the session database hold for MN1" in sp.inner_text("#checkpoint-prompt")
    sp.fill("#checkpoint input[name=answer]", "2")  # wrong: HNP1 went with flow1
    sp.click("#check-answer")
    sp.wait_for_selector("#verdict.lx-wrong", timeout=10_000)
    assert "Not right" in sp.inner_text("#verdict") and not sp.is_visible("#next-step")
    sp.fill("#checkpoint input[name=answer]", "1")
    sp.click("#check-answer")  # answered in place: no page load, the verdict appears under the question
    sp.wait_for_selector("#verdict.lx-right", timeout=10_000)
    assert "Right" in sp.inner_text("#verdict")
    assert "Lesson complete" in sp.inner_text("#finished") and "Score: 1 / 2" in sp.inner_text("#score")
    sp.keyboard.press("Space")  # Play: the last step runs to its end (t = 5 s) and pauses; Play again goes on
    sp.wait_for_selector("body[data-lx-stopped-at='5']", state="attached", timeout=60_000)
    wait_idle(sp)
    assert clock(sp) == pytest.approx(5.0, abs=0.0015)
    sp.keyboard.press("Space")
    sp.wait_for_function(
        "() => parseFloat(document.querySelector('#clock').textContent.slice(4)) > 5.5", timeout=60_000
    )
    sp.keyboard.press("Space")
    wait_idle(sp)
    shot(sp, "lessons-student-played")


def test_live_class_with_an_instructor_and_two_students(people):
    """Two students follow the instructor's drag and step changes live; one branches off, the other keeps following."""
    teacher = people().login("irene")
    tp = teacher.page
    tp.goto("/lessons/fig5-handover/")
    tp.click("#start-class")
    tp.wait_for_url("**/teach/")
    wait_idle(tp)
    code = tp.inner_text("#join-code").strip()
    assert len(code) == 8

    students = [people(), people()]
    for s in students:
        s.page.goto("/class/")
        s.page.fill("#id_code", code.lower())
        s.page.click("#join-form button[type=submit]")
        s.page.wait_for_url(f"**/class/{code}/")
        wait_idle(s.page)
        assert s.page.inner_text("#class-step-number") == "Step 1 of 6"
        assert not s.page.locator("#btn-play").is_visible()  # followers do not drive the class

    # The class opens step 1 before MN1 attaches; the instructor's Play runs the step to its end (0.5 s) and pauses,
    # and the students see it happen.
    assert clock(tp) == 0 and tp.get_attribute("body", "data-lx-highlight") == "MN1 MAR1 RS DB_UPDATE RA"
    tp.keyboard.press("Space")
    tp.wait_for_selector("body[data-lx-stopped-at='0.5']", state="attached", timeout=30_000)
    wait_idle(tp)
    for s in students:
        s.page.wait_for_function("() => document.querySelector('#log').textContent.includes('RA')", timeout=20_000)
        assert s.page.get_attribute("body", "data-lx-highlight") == "MN1 MAR1 RS DB_UPDATE RA"

    # The instructor drags MN1 to MAR2: both students see MN1 leave MAR1.
    drag(tp, "#topology g.mn[data-id=MN1] .mn-body", "#topology g[data-id=MAR2] .shape")
    for s in students:
        s.page.wait_for_function(
            "() => [...document.querySelectorAll('#log li')].some(li => li.textContent.includes('user move MN1'))",
            timeout=20_000,
        )
        # On the timeline the move is the instructor's, not "you:" (the student made no move).
        s.page.wait_for_function(
            "() => document.querySelector('#timeline .marks').textContent.includes('instructor: move MN1')",
            timeout=5_000,
        )
        assert "you:" not in s.page.text_content("#timeline .marks")
    assert "you: move MN1" in tp.text_content("#timeline .marks")

    # Next step: every student's panel and simulation follow.
    tp.click("#class-next")
    for s in students:
        s.page.wait_for_selector("body[data-lx-class-step='1']", state="attached", timeout=20_000)
        assert s.page.inner_text("#class-step-title") == "A flow to CN1"
        # The step panel (class events socket) and the class session's reset (session socket) arrive on two sockets
        # in either order: the clock follows the panel shortly after.
        s.page.wait_for_function(
            "() => document.querySelector('#clock').textContent.includes('1.000')", timeout=20_000
        )  # step 2 opens just before flow1 starts at t = 1
        wait_idle(s.page)
    shot(students[0].page, "lessons-class-follower")
    shot(tp, "lessons-class-teacher")

    # One student branches off and drags in their own copy; the other is not affected.
    first, second = students
    first.page.click("#branch-off")
    first.page.wait_for_url(f"**/class/{code}/branch/*/")
    wait_idle(first.page)
    drag(first.page, "#topology g.mn[data-id=MN1] .mn-body", "#topology g[data-id=MAR2] .shape")
    first.page.wait_for_function(
        "() => [...document.querySelectorAll('#log li')].some(li => li.textContent.includes('user move MN1'))"
    )
    second.page.wait_for_timeout(800)
    assert "user move" not in second.page.inner_text(
        "#log"
    )  # the class was reset to step 2; the branch's move is not here
    assert second.page.url.endswith(f"/class/{code}/")
    shot(first.page, "lessons-class-branch")
    first.page.click("#rejoin")
    first.page.wait_for_url(f"**/class/{code}/")
    wait_idle(first.page)
    assert first.page.inner_text("#class-step-title") == "A flow to CN1"


def test_toolbar_fits_beside_the_lessons_panel(people):
    """At 1280×720 every playback control, the view switch and the Download menu are on screen, one line each, on the
    lesson, practice and live-class pages (the lessons panel takes 340 px of the width)."""
    teacher = people().login("irene")
    tp = teacher.page
    for button, name in (("#start-lesson", "lesson"), ("#practise-lesson", "practice"), ("#start-class", "teach")):
        tp.goto("/lessons/fig5-handover/")
        tp.click(button)
        wait_idle(tp)
        assert toolbar_off_screen(tp) == [], name
        tp.click(".downloads summary")
        box = tp.locator(".downloads .menu").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1280, name
        tp.keyboard.press("Escape")
        shot(tp, f"lessons-toolbar-{name}")
