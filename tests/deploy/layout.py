"""The production layout (scripts/serve.py: nginx in front of Daphne workers on PostgreSQL and Redis) started for a
test on free ports, its own PostgreSQL database and its own Redis database; and a browser-like HTTP client for it.

Used by tests/deploy (websocket clients) and tests/browser/test_proxy_reconnect.py (Chromium).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVE = ROOT / "scripts" / "serve.py"
POSTGRES = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/3"  # not 0 (the other tests) nor 1 (make serve)


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_run(count: int) -> int:
    """A port p with p .. p+count-1 all free on loopback (nginx on p, the workers on the next ones)."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 40000)
        if all(_free(port + i) for i in range(count)):
            return port
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class Layout:
    url: str
    run_dir: Path
    database_url: str = ""
    redis_url: str = ""

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    def state(self) -> dict:
        return json.loads((self.run_dir / "state.json").read_text(encoding="utf-8"))

    def worker(self, name: str) -> dict:
        return next(w for w in self.state()["workers"] if w["name"] == name)

    def worker_by_port(self, port: int) -> dict:
        return next(w for w in self.state()["workers"] if w["port"] == port)

    def kill(self, name: str) -> int:
        """SIGKILL a worker, as a crash would; returns the pid killed."""
        pid = self.worker(name)["pid"]
        os.kill(pid, signal.SIGKILL)
        return pid

    def serve(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(SERVE), *args, "--dir", str(self.run_dir)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    def manage_shell(self, code: str) -> str:
        """Run Python in `manage.py shell` on the layout's database and Redis; returns what it printed."""
        env = {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
               "DJANGO_SETTINGS_MODULE": "dmmviz.settings"}
        result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def start_class(self, lesson: str = "fig5-handover") -> dict:
        """A live class of a built-in lesson, as an instructor starts it: {code, session, cookie (the instructor's)}."""
        out = self.manage_shell(
            "import json, uuid\n"
            "from django.contrib.auth.models import User\n"
            "from django.test import Client\n"
            "from dmmviz.lessons import classroom\n"
            f"lesson = json.load(open('dmmviz/builtin_lessons/{lesson}.json'))\n"
            "user = User.objects.create(username=f'teacher-{uuid.uuid4().hex[:8]}')\n"
            "client = Client()\n"
            "client.force_login(user)\n"
            "live = classroom.start(lesson, user)\n"
            "print(json.dumps({'code': live.code, 'session': str(live.sim_session_id),"
            " 'cookie': 'sessionid=' + client.cookies['sessionid'].value}))\n"
        )
        return json.loads(out.strip().splitlines()[-1])

    def wait_worker_replaced(self, name: str, old_pid: int, timeout: float = 60.0) -> dict:
        """Wait until the supervisor has a new process for `name` that answers /healthz."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            worker = self.worker(name)
            if worker["pid"] != old_pid and not worker["down"]:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{worker['port']}/healthz", timeout=2) as r:
                        if r.status == 200:
                            return worker
                except OSError:
                    pass
            time.sleep(0.2)
        raise AssertionError(f"worker {name} was not replaced within {timeout:g} s: {self.state()}")


@contextmanager
def running_layout(workers: int = 2, database: str = "", redis_url: str = REDIS_URL) -> Iterator[Layout]:
    """`make serve` on free ports with a fresh database; stopped (and the database dropped) afterwards."""
    import psycopg

    port = free_port_run(workers + 1)
    database = database or f"dmmviz_deploy_test_{os.getpid()}"
    run_dir = Path(tempfile.mkdtemp(prefix="dmmviz-deploy-"))
    layout = Layout(f"http://127.0.0.1:{port}", run_dir, f"{POSTGRES}/{database}", redis_url)
    start = subprocess.run(
        [sys.executable, str(SERVE), "start", "--dir", str(run_dir), "--port", str(port), "--workers", str(workers),
         "--database-url", f"{POSTGRES}/{database}", "--redis-url", redis_url],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    try:
        assert start.returncode == 0, f"serve.py start failed:\n{start.stdout}{start.stderr}"
        yield layout
    finally:
        stop = layout.serve("stop")
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        assert stop.returncode == 0, stop.stdout + stop.stderr


class Browser:
    """What a page needs from HTTP: cookies (csrftoken, sessionid) and CSRF-checked POSTs, through the proxy."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        with self.opener.open(f"{self.base}{path}", timeout=15) as response:
            return response.status, response.read().decode(), dict(response.headers)

    def start_session(self, slug: str = "fig5-handover") -> str:
        """Open a scenario as the home page's Open button does; returns the new session's id."""
        self.get("/")
        token = self.cookie("csrftoken")
        assert token, "the home page set no csrftoken cookie"
        request = urllib.request.Request(
            f"{self.base}/scenarios/{slug}/start/", data=b"", method="POST",
            headers={"X-CSRFToken": token, "Origin": self.base, "Referer": f"{self.base}/"},
        )
        with self.opener.open(request, timeout=15) as response:
            final = response.geturl()
        found = re.search(r"/s/([0-9a-f-]{36})/", final)
        assert found, f"no session page after starting {slug}: {final}"
        return found.group(1)
