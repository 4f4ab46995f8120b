"""CI smoke test of the production layout (scripts/serve.py, as `make serve`): nginx in front of two Daphne workers on
PostgreSQL and Redis. A change made through one worker reaches a tab on the other; a worker killed or drained in the
middle of a session, and its tab resumes through the proxy on the other worker with nothing acknowledged lost."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request

import pytest
import websockets

from .layout import SERVE, Browser, Layout, running_layout

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def layout():
    with running_layout(workers=2) as running:
        yield running


class Tab:
    """A page's websocket, opened through the proxy; `worker` is the one nginx chose (its X-Dmmviz-Upstream)."""

    def __init__(self, ws, worker: str) -> None:
        self.ws = ws
        self.worker = worker
        self.n = 0

    @classmethod
    async def open(cls, layout: Layout, browser: Browser | str, session_id: str, path: str = "") -> tuple[Tab, dict]:
        """A tab on /ws/session/<session_id>/ (or `path`), with the browser's cookies (or a Cookie header)."""
        cookie = browser if isinstance(browser, str) else browser.cookie_header()
        ws = await websockets.connect(f"{layout.ws_url}{path or f'/ws/session/{session_id}/'}", origin=layout.url,
                                      additional_headers=[("Cookie", cookie)] if cookie else [], open_timeout=15)
        upstream = ws.response.headers["X-Dmmviz-Upstream"]
        worker = layout.worker_by_port(int(upstream.rsplit(":", 1)[1]))["name"]
        tab = cls(ws, worker)
        snapshot = await tab.receive()
        assert snapshot["type"] == "snapshot", snapshot
        return tab, snapshot

    @classmethod
    async def open_on(cls, layout: Layout, browser: Browser | str, session_id: str, worker: str,
                      path: str = "") -> tuple[Tab, dict]:
        """Open tabs until nginx gives one on `worker` (least_conn alternates: a few tries at most)."""
        spare = []
        try:
            for _ in range(8):
                tab, snapshot = await cls.open(layout, browser, session_id, path)
                if tab.worker == worker:
                    return tab, snapshot
                spare.append(tab)
            raise AssertionError(f"nginx never chose {worker}")
        finally:
            for tab in spare:
                await tab.ws.close()

    async def receive(self) -> dict:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout=15))

    async def request(self, type_: str, **fields) -> dict:
        self.n += 1
        await self.ws.send(json.dumps({"v": 1, "type": type_, "id": self.n, **fields}))
        while True:
            reply = await self.receive()
            if reply.get("re") == self.n:
                return reply


def test_health_through_the_proxy_reaches_both_workers(layout):
    seen = set()
    for _ in range(6):
        with urllib.request.urlopen(f"{layout.url}/healthz", timeout=5) as response:
            body = json.loads(response.read())
        assert body["status"] == "ok" and body["database"] == "ok" and body["channel_layer"] == "ok"
        seen.add(body["worker"])
    assert seen == {"w1", "w2"}


def test_static_files_come_from_nginx_and_pages_from_a_worker(layout):
    browser = Browser(layout.url)
    status, body, headers = browser.get("/static/js/main.js")
    assert status == 200 and "import" in body
    assert headers.get("X-Dmmviz-Upstream", "") == ""  # served from disk, no worker involved
    status, body, headers = browser.get("/")
    assert status == 200 and "fig5-handover" in body
    assert headers["X-Dmmviz-Upstream"].startswith("127.0.0.1:")


@pytest.mark.asyncio
async def test_a_change_through_worker_a_reaches_a_tab_on_worker_b(layout):
    browser = Browser(layout.url)
    session_id = await asyncio.to_thread(browser.start_session, "fig5-handover")
    tab_a, snap_a = await Tab.open_on(layout, browser, session_id, "w1")
    tab_b, snap_b = await Tab.open_on(layout, browser, session_id, "w2")
    assert snap_a["revision"] == snap_b["revision"]

    ran = await tab_b.request("run_until", t=3.0)
    seen = await tab_a.receive()
    assert seen["revision"] == ran["revision"] and seen["state"] == ran["state"]

    moved = await tab_a.request("command", command={"action": "move", "mn": "MN1", "mar": "MAR2"})
    assert moved["type"] == "events", moved
    seen = await tab_b.receive()
    assert seen["type"] == "events" and seen["revision"] == moved["revision"] and seen["events"] == moved["events"]
    await tab_a.ws.close()
    await tab_b.ws.close()


async def _resumes_elsewhere(layout: Layout, browser: Browser, session_id: str, tab: Tab, before: dict,
                             gone: str) -> Tab:
    """The tab's socket closes; like the page, reconnect through the proxy: the other worker answers, exactly where
    the session was."""
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            await tab.receive()
    resumed, again = await Tab.open(layout, browser, session_id)
    assert resumed.worker != gone, "nginx sent the reconnect to the worker that is gone"
    for key in ("revision", "steps", "now", "state", "journal"):
        assert again[key] == before[key], key
    return resumed


@pytest.mark.asyncio
async def test_a_worker_killed_mid_session_and_the_tab_resumes_through_the_other(layout):
    browser = Browser(layout.url)
    session_id = await asyncio.to_thread(browser.start_session, "fig5-handover")
    tab, _ = await Tab.open(layout, browser, session_id)
    victim = tab.worker
    await tab.request("run_until", t=3.0)
    moved = await tab.request("command", command={"action": "move", "mn": "MN1", "mar": "MAR2"})
    assert moved["type"] == "events", moved
    for _ in range(5):
        last = await tab.request("step")
    assert last["type"] == "events"
    before = await tab.request("hello")  # what the tab has been told: every reply above was acknowledged

    old_pid = await asyncio.to_thread(layout.kill, victim)
    resumed = await _resumes_elsewhere(layout, browser, session_id, tab, before, victim)
    after = await resumed.request("step")
    assert after["type"] == "events" and after["revision"] == before["revision"] + 1
    await resumed.ws.close()

    # The supervisor has started the killed worker again, and it serves.
    replaced = await asyncio.to_thread(layout.wait_worker_replaced, victim, old_pid)
    with urllib.request.urlopen(f"http://127.0.0.1:{replaced['port']}/healthz", timeout=5) as response:
        assert json.loads(response.read())["worker"] == victim
    assert layout.worker(victim)["restarts"] >= 1


@pytest.mark.asyncio
async def test_a_class_follower_whose_worker_dies_mid_class_follows_on_through_the_other(layout):
    """Mid-class: the instructor on one worker, a follower on each; the follower's worker is killed; it reconnects
    through nginx to the class, at the step it had, and the instructor's next steps reach it."""
    live = await asyncio.to_thread(layout.start_class)
    follow = f"/ws/class/{live['code']}/"
    teacher, _ = await Tab.open_on(layout, live["cookie"], live["session"], "w1")
    near, _ = await Tab.open_on(layout, "", "", "w1", follow)
    far, _ = await Tab.open_on(layout, "", "", "w2", follow)
    for _ in range(3):
        stepped = await teacher.request("step")
        assert stepped["type"] == "events", stepped
        for follower in (near, far):
            seen = await follower.receive()
            assert seen["type"] == "events" and seen["revision"] == stepped["revision"]
    assert (await teacher.request("hello"))["revision"] == stepped["revision"]

    old_pid = await asyncio.to_thread(layout.kill, "w2")
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            await far.receive()
    again, snapshot = await Tab.open(layout, "", "", follow)
    assert again.worker == "w1" and snapshot["revision"] == stepped["revision"]
    stepped = await teacher.request("step")
    for follower in (near, again):
        seen = await follower.receive()
        assert seen["type"] == "events" and seen["revision"] == stepped["revision"]
    for tab in (teacher, near, again):
        await tab.ws.close()
    await asyncio.to_thread(layout.wait_worker_replaced, "w2", old_pid)


@pytest.mark.asyncio
async def test_a_drained_worker_hands_its_tab_to_the_other_and_comes_back(layout):
    browser = Browser(layout.url)
    session_id = await asyncio.to_thread(browser.start_session, "fig5-handover")
    tab, _ = await Tab.open(layout, browser, session_id)
    victim = tab.worker
    await tab.request("run_until", t=3.0)
    before = await tab.request("hello")
    old_pid = layout.worker(victim)["pid"]

    drained = await asyncio.to_thread(layout.serve, "drain", victim)
    assert drained.returncode == 0, drained.stderr
    resumed = await _resumes_elsewhere(layout, browser, session_id, tab, before, victim)
    await resumed.request("step")
    await resumed.ws.close()
    started = time.monotonic()
    await asyncio.to_thread(layout.wait_worker_replaced, victim, old_pid)
    assert time.monotonic() - started < 60


def test_a_held_worker_gets_no_new_requests_until_released(layout):
    def workers_answering(n: int = 6) -> set[str]:
        seen = set()
        for _ in range(n):
            with urllib.request.urlopen(f"{layout.url}/healthz", timeout=5) as response:
                seen.add(json.loads(response.read())["worker"])
        return seen

    def wait_down(down: bool) -> None:
        deadline = time.monotonic() + 20
        while layout.worker("w2")["down"] != down:
            assert time.monotonic() < deadline, layout.state()
            time.sleep(0.1)

    assert layout.serve("hold", "w2").returncode == 0
    wait_down(True)
    pid = layout.worker("w2")["pid"]
    assert workers_answering() == {"w1"}
    assert layout.serve("release", "w2").returncode == 0
    wait_down(False)
    assert workers_answering() == {"w1", "w2"}
    assert layout.worker("w2")["pid"] == pid  # held, not restarted


def test_a_second_start_is_refused_and_stop_without_a_layout_says_so(layout, tmp_path):
    again = subprocess.run([sys.executable, str(SERVE), "start", "--dir", str(layout.run_dir), "--no-services"],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 1
    assert f"already serving {layout.url}" in again.stdout
    nothing = subprocess.run([sys.executable, str(SERVE), "stop", "--dir", str(tmp_path)], capture_output=True,
                             text=True, timeout=60)
    assert nothing.returncode == 0 and nothing.stdout.strip() == "not serving"


def test_drain_names_an_unknown_worker(layout):
    result = layout.serve("drain", "w9")
    assert result.returncode == 2
    assert "no worker w9; the workers are w1, w2" in result.stderr
