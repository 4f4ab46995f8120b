"""Browser tests: a real Chromium (Debian's, driven by Playwright's sync API) against a real Daphne.

Run on their own (`pytest tests/browser`): Playwright's sync API and pytest-asyncio clash in one process.
The server is a Daphne child process on a free loopback port, on a temporary SQLite file that is migrated and given
the built-in scenarios first. Screenshots go to tests/browser/artifacts/ (gitignored) for people to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dmmviz.daphne_process import DaphneProcess

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-quic", "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 720}


@contextmanager
def dmmviz_server(prefix: str, manage: list[list[str]]) -> Iterator[str]:
    """A Daphne serving dmmviz on a fresh SQLite file, after ``manage.py`` commands (each a list of arguments) have
    prepared that database; yields its base URL. The log stays in the temporary folder while it runs."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dmmviz.settings", "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}"}
    env.pop("REDIS_URL", None)
    for args in (["migrate", "--noinput", "-v", "0"], *manage):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    with open(tmp / "daphne.log", "wb") as log, DaphneProcess(env=env, log=log) as daphne:
        try:
            yield daphne.url
        finally:
            daphne.stop()
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """The base URL of a Daphne serving dmmviz on a fresh, migrated SQLite database with the built-in scenarios."""
    with dmmviz_server("dmmviz-browser-", [["load_builtin"]]) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium; the browser tests fail, naming the command to run, where there is none."""
    if not CHROMIUM:
        pytest.fail("no Chromium on this machine: run scripts/install-test-tools.sh (as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, server):
    """A 1280×720 page (the projector size). Fails the test on any JavaScript error or console error."""
    context = browser.new_context(viewport=VIEWPORT, base_url=server)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    pg.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    pg.errors = errors
    yield pg
    context.close()
    assert not errors, "\n".join(errors)


def shot(page, name: str) -> Path:
    """Save a screenshot as tests/browser/artifacts/<name>.png (look at them)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
