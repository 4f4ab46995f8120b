"""axe-core (vendored in tests/browser/vendor/, never served) on every page a student or an instructor uses: no serious
or critical violation, and everything inside a landmark (issue 12, item 11).

The pages run under a Content-Security-Policy (script-src 'self'); these contexts bypass it only so that the test can
add axe itself to the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import VIEWPORT, dmmviz_server, shot
from tests.browser.helpers import open_scenario, play_until, wait_idle

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
PASSWORD = "a-long-password-1"
CREATE_USERS = f"""
from django.contrib.auth.models import User
from django.core.management import call_command
User.objects.create_user("irene", password={PASSWORD!r})
call_command("grant_instructor", "irene")
"""

# Every rule axe runs by default, plus the one that checks a control's visible words are in its accessible name.
RUN = """async () => {
  const result = await axe.run(document, { rules: { 'label-content-name-mismatch': { enabled: true } } });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 6).map(n => n.target.join(' ')
      + (n.failureSummary ? ' :: ' + n.failureSummary.split('\\n').slice(1, 2).join('') : '')),
    count: v.nodes.length,
  }));
}"""


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """Daphne with the built-in scenarios and lessons and an instructor, "irene"."""
    with dmmviz_server("dmmviz-a11y-", [["load_builtin"], ["load_lessons"], ["shell", "-c", CREATE_USERS]]) as url:
        yield url


@pytest.fixture()
def person(browser, site):
    """A new browser context (one person); fails on any page error."""
    made = []

    def make(viewport=VIEWPORT):
        context = browser.new_context(viewport=viewport, base_url=site, bypass_csp=True)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(f"page error: {exc}"))
        made.append(context)
        return page

    yield make
    for context in made:
        for page in context.pages:
            assert not page.errors, page.errors
        context.close()


def problems(page, name: str) -> list[str]:
    """axe's serious and critical violations on the page as it is now, and any content outside a landmark."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN)
    shot(page, f"a11y-{name}")
    return [
        f"{name}: {v['id']} ({v['impact']}, {v['count']}x): {v['help']}: {v['nodes']}"
        for v in found
        if v["impact"] in ("serious", "critical") or v["id"] == "region"
    ]


def login(page, username: str = "irene") -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form.lx-form button[type=submit]")
    page.wait_for_url("**/lessons/")


def test_home_simulation_and_compare_pages(person):
    page = person()
    found = []
    page.goto("/")
    found += problems(page, "home")
    open_scenario(page, "fig5-handover")
    play_until(page, 2.5)  # the log has DATA rows, the drawing messages and tables
    found += problems(page, "simulation")
    page.goto("/compare/fig5-handover/")
    found += problems(page, "compare")
    page.goto("/compare/")
    found += problems(page, "compare-index")
    page.goto("/docs/metrics/")
    found += problems(page, "metrics-doc")
    assert found == [], "\n".join(found)


def test_lesson_and_practice_pages(person):
    page = person()
    found = []
    page.goto("/lessons/")
    found += problems(page, "lessons")
    page.goto("/lessons/fig5-handover/")
    found += problems(page, "lesson-detail")
    page.click("#start-lesson")
    page.wait_for_url("**/attempt/**")
    wait_idle(page)
    found += problems(page, "lesson")
    page.goto("/lessons/")
    page.click("#practice-list button[data-slug=fig5-handover]")
    page.wait_for_url("**/practice/**")
    wait_idle(page)
    found += problems(page, "practice")
    assert found == [], "\n".join(found)


def test_class_and_editor_pages(person):
    page = person()
    found = []
    login(page)
    found += problems(page, "lessons-instructor")
    page.goto("/lessons/fig5-handover/")
    page.click("#start-class")
    page.wait_for_url("**/class/**")
    wait_idle(page)
    found += problems(page, "class-teacher")
    code = page.inner_text("#join-code").strip()
    student = person()
    student.goto("/class/")
    student.fill("#id_code", code)
    student.click("#join-form button[type=submit]")
    student.wait_for_url(f"**/{code}/**")
    wait_idle(student)
    found += problems(student, "class-follower")
    page.goto("/lessons/")
    page.click("#new-lesson")
    page.wait_for_url("**/edit/**")
    page.wait_for_selector("body[data-ed-status=ready]", state="attached")
    found += problems(page, "editor")
    page.goto("/accounts/login/")
    found += problems(page, "login")
    assert found == [], "\n".join(found)
