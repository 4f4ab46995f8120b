"""End to end through the production layout (scripts/serve.py: nginx, two Daphne workers, PostgreSQL, Redis): a
student's page survives losing the worker it is on. Each worker in turn is killed; the page shows it is reconnecting,
reconnects through nginx to the other worker and carries on exactly where it was."""

from __future__ import annotations

import pytest

from tests.deploy.layout import running_layout

from .conftest import VIEWPORT, shot
from .helpers import clock, open_scenario, step, wait_idle

WATCH_STATUS = """() => {
    const el = document.getElementById("conn");
    window.__statuses = [];
    new MutationObserver(() => window.__statuses.push(el.dataset.state + ":" + el.textContent))
        .observe(el, {attributes: true, childList: true, characterData: true, subtree: true});
}"""


@pytest.fixture(scope="module")
def layout():
    with running_layout(workers=2) as running:
        yield running


def test_the_page_resumes_through_the_proxy_when_its_worker_dies(browser, layout):
    context = browser.new_context(viewport=VIEWPORT, base_url=layout.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        open_scenario(page, "fig5-handover")
        for _ in range(6):
            step(page)
        before = clock(page)
        log_before = page.locator("#log li, #log tr").count()
        page.evaluate(WATCH_STATUS)

        # The page is on one of the two; kill each in turn (the supervisor starts it again), so it loses its own.
        for name in ("w1", "w2"):
            old_pid = layout.kill(name)
            layout.wait_worker_replaced(name, old_pid)
        page.wait_for_function(
            "() => window.__statuses.some(s => s.includes('reconnecting'))"
            " && document.getElementById('conn').textContent === 'connected'", timeout=30_000)
        wait_idle(page)
        shot(page, "proxy-reconnected")

        assert clock(page) == before, "the page came back somewhere else in the run"
        assert page.locator("#log li, #log tr").count() == log_before
        step(page)
        assert clock(page) > before
        assert not errors, errors
    finally:
        context.close()
