#!/usr/bin/env python3
"""The production layout on one machine: nginx in front of N Daphne workers on PostgreSQL and Redis.

    scripts/serve.py start [--workers 2] [--port 8080]   # what `make serve WORKERS=N` runs; returns once it serves
    scripts/serve.py stop                                # `make serve-stop`: nginx and the workers stop cleanly
    scripts/serve.py status                              # the workers, their pids and /healthz
    scripts/serve.py drain w1                            # graceful restart of one worker (see below)
    scripts/serve.py restart                             # every worker drained and restarted, one at a time
    scripts/serve.py hold w2 / release w2                # out of nginx's upstream and back (bench/course.py)
    scripts/serve.py nginx-site --upstream 127.0.0.1:8001,127.0.0.1:8002 ...   # the nginx site for production

`start` makes sure Redis and PostgreSQL answer (scripts/start-services.sh), creates the database if it is missing,
migrates, loads the built-in scenarios and lessons, collects the static files, then starts a supervisor in the
background (`supervise`, its log in <dir>/serve.log) and waits until http://127.0.0.1:<port>/healthz answers.

The supervisor owns nginx (`daemon off`, so it is a child) and the workers: Daphne through the server entry point
(`python -m dmmviz.server --proxy-headers`) on 127.0.0.1:<port+1>..<port+N>, each named w1..wN (DMMVIZ_WORKER, shown
by /healthz and nginx's X-Dmmviz-Upstream header). A worker that dies is started again at once; meanwhile nginx
sends its clients, which reconnect, to another worker, where they resume from the database. Draining a worker: it is
marked `down` in nginx's upstream (reload: no new connections reach it), stopped with SIGTERM (its websockets close,
the pages reconnect through nginx to the others), started again, and put back once its /healthz answers. SIGTERM to
the supervisor stops nginx gracefully (SIGQUIT) and then the workers. The state (pids, ports) is in <dir>/state.json.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx" / "dmmviz.conf.in"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/dmmviz"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"  # not 0, which the tests use


# --- the nginx site ------------------------------------------------------------------------------------------------

def nginx_site(upstreams: list[tuple[str, bool]], listen: str, static_root: Path, server_name: str = "_",
               tls_cert: str = "", tls_key: str = "") -> str:
    """deploy/nginx/dmmviz.conf.in filled in: `upstreams` are (address, down) pairs."""
    servers = "\n".join(f"    server {addr} max_fails=0{' down' if down else ''};"
                        for addr, down in upstreams)
    if tls_cert:
        port = listen.rsplit(":", 1)[-1]
        listen_lines = (f"    listen {listen} ssl http2;\n    ssl_certificate {tls_cert};\n"
                        f"    ssl_certificate_key {tls_key};\n    ssl_protocols TLSv1.2 TLSv1.3;")
        redirect = (f"server {{\n    listen 80;\n    server_name {server_name};\n"
                    f"    return 308 https://$host{'' if port == '443' else ':' + port}$request_uri;\n}}\n")
    else:
        listen_lines, redirect = f"    listen {listen};", ""
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in {"@UPSTREAM_SERVERS@": servers, "@LISTEN@": listen_lines, "@SERVER_NAME@": server_name,
                       "@STATIC_ROOT@": str(static_root), "@HTTPS_REDIRECT@": redirect}.items():
        text = text.replace(key, value)
    return text


def nginx_main_conf(run_dir: Path, site: Path) -> str:
    """A whole nginx.conf for local use: pid, logs and temporary files under run_dir, the site included."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # the static files may be readable by their owner only
    temp = "\n".join(f"    {kind}_temp_path {run_dir / 'tmp' / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""# Written by scripts/serve.py for `make serve`; the site: {site.name} (deploy/nginx/dmmviz.conf.in).
{user}worker_processes 1;
worker_rlimit_nofile 16384;
pid {run_dir / 'nginx.pid'};
error_log {run_dir / 'nginx-error.log'} warn;
events {{
    worker_connections 8192;
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log {run_dir / 'nginx-access.log'} combined buffer=64k flush=2s;
{temp}
    include {site};
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        sys.exit("nginx is not installed: run scripts/install-test-tools.sh as root (or apt-get install nginx)")
    return found


# --- talking to a server -------------------------------------------------------------------------------------------

def health(url: str, timeout: float = 2.0) -> dict | None:
    """The /healthz answer at url, or None if it did not answer 200."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=timeout) as response:
            return json.loads(response.read()) if response.status == 200 else None
    except (OSError, ValueError):
        return None


def wait_healthy(url: str, timeout: float, alive=lambda: True) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        if health(url, timeout=1.0) is not None:
            return True
        time.sleep(0.2)
    return False


# --- the supervisor ------------------------------------------------------------------------------------------------

def _die_with_parent() -> None:
    """In a child: get SIGTERM if the supervisor dies (even by SIGKILL), so no worker outlives it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Worker:
    name: str
    port: int
    proc: subprocess.Popen[bytes] | None = None
    down: bool = False  # marked down in nginx (draining)
    restarts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Supervisor:
    def __init__(self, run_dir: Path, port: int, workers: int, env: dict[str, str]) -> None:
        self.run_dir = run_dir
        self.port = port
        self.env = env
        self.workers = [Worker(f"w{i + 1}", port + 1 + i) for i in range(workers)]
        self.nginx: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.requests: list[str] = []  # worker names to drain, or "*" for all
        self.site = run_dir / "dmmviz-site.conf"
        self.conf = run_dir / "nginx.conf"

    def log(self, text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)

    # nginx
    def write_nginx(self) -> None:
        upstreams = [(f"127.0.0.1:{w.port}", w.down) for w in self.workers]
        self.site.write_text(nginx_site(upstreams, f"127.0.0.1:{self.port}", ROOT / ".staticfiles"), encoding="utf-8")
        self.conf.write_text(nginx_main_conf(self.run_dir, self.site), encoding="utf-8")

    def start_nginx(self) -> None:
        self.write_nginx()
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.run_dir / "tmp" / kind).mkdir(parents=True, exist_ok=True)
        check = subprocess.run([nginx_binary(), "-t", "-q", "-p", str(self.run_dir), "-c", str(self.conf)],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused its configuration: {check.stderr.strip()}")
        self.nginx = subprocess.Popen([nginx_binary(), "-p", str(self.run_dir), "-c", str(self.conf),
                                       "-g", "daemon off;"], stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        self.log(f"nginx pid {self.nginx.pid} on 127.0.0.1:{self.port}")

    def reload_nginx(self) -> None:
        self.write_nginx()
        if self.nginx and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGHUP)
            time.sleep(0.5)  # the new nginx workers take over; the old ones keep their open websockets

    # workers
    def start_worker(self, worker: Worker) -> None:
        log = open(self.run_dir / f"worker-{worker.name}.log", "ab")
        # dmmviz.server: Daphne with the process tuning that `make run` gets too (dmmviz/server.py).
        worker.proc = subprocess.Popen(
            [sys.executable, "-m", "dmmviz.server", "-e", f"tcp:port={worker.port}:interface=127.0.0.1:backlog=1024",
             "--proxy-headers"],
            cwd=ROOT, env={**self.env, "DMMVIZ_WORKER": worker.name}, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
        )
        log.close()
        self.log(f"worker {worker.name} pid {worker.proc.pid} on 127.0.0.1:{worker.port}")

    def stop_worker(self, worker: Worker, timeout: float = 15.0) -> None:
        proc = worker.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.log(f"worker {worker.name} did not stop within {timeout:g} s: killed")
            proc.kill()
            proc.wait()

    def drain(self, worker: Worker) -> None:
        self.log(f"draining {worker.name}")
        worker.down = True
        self.reload_nginx()
        self.stop_worker(worker)
        self.start_worker(worker)
        alive = lambda: worker.proc is not None and worker.proc.poll() is None  # noqa: E731
        if wait_healthy(worker.url, 60, alive):
            worker.down = False
            self.reload_nginx()
            self.log(f"{worker.name} back in service")
        else:
            self.log(f"{worker.name} did not come back healthy; it stays out of nginx until it does")
        self.save_state()

    def save_state(self, ready: bool = True) -> None:
        state = {
            "supervisor": os.getpid(), "port": self.port, "url": f"http://127.0.0.1:{self.port}", "ready": ready,
            "nginx": self.nginx.pid if self.nginx else None,
            "workers": [{"name": w.name, "port": w.port, "pid": w.proc.pid if w.proc else None, "down": w.down,
                         "restarts": w.restarts} for w in self.workers],
        }
        tmp = self.run_dir / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
        tmp.replace(self.run_dir / "state.json")

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        signal.signal(signal.SIGINT, lambda *_: setattr(self, "stopping", True))
        signal.signal(signal.SIGUSR1, lambda *_: self.requests.extend(self._read_requests()))
        signal.signal(signal.SIGHUP, lambda *_: self.requests.append("*"))
        self.save_state(ready=False)
        try:
            for worker in self.workers:
                self.start_worker(worker)
            for worker in self.workers:
                if not wait_healthy(worker.url, 90, lambda w=worker: w.proc is not None and w.proc.poll() is None):
                    self.log(f"worker {worker.name} did not become healthy (see worker-{worker.name}.log)")
                    return 1
            self.start_nginx()
            self.save_state(ready=True)
            self.log(f"serving http://127.0.0.1:{self.port} with {len(self.workers)} workers")
            while not self.stopping:
                while self.requests and not self.stopping:
                    self.handle(self.requests.pop(0))
                for worker in self.workers:
                    if worker.proc is not None and worker.proc.poll() is not None and not self.stopping:
                        worker.restarts += 1
                        self.log(f"worker {worker.name} exited with status {worker.proc.returncode}: starting it again")
                        self.start_worker(worker)
                        self.save_state()
                if self.nginx is not None and self.nginx.poll() is not None and not self.stopping:
                    self.log(f"nginx exited with status {self.nginx.returncode}: starting it again")
                    self.start_nginx()
                    self.save_state()
                time.sleep(0.2)
            return 0
        finally:
            self.shutdown()

    def handle(self, request: str) -> None:
        """`w1` or `*`: drain; `hold:w2` / `release:w2`: out of nginx's upstream and back, the process left running."""
        verb, _, name = request.rpartition(":")
        chosen = [w for w in self.workers if name in ("*", w.name)]
        if verb in ("hold", "release"):
            for worker in chosen:
                worker.down = verb == "hold"
            self.reload_nginx()
            self.save_state()
            self.log(f"{verb} {', '.join(w.name for w in chosen)}")
        else:
            for worker in chosen:
                self.drain(worker)

    def _read_requests(self) -> list[str]:
        path = self.run_dir / "drain-requests"
        with contextlib.suppress(FileNotFoundError):
            names = path.read_text(encoding="utf-8").split()
            path.unlink()
            return names
        return []

    def shutdown(self) -> None:
        self.log("stopping")
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                self.nginx.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.nginx.terminate()
                self.nginx.wait()
        for worker in self.workers:
            if worker.proc is not None and worker.proc.poll() is None:
                worker.proc.terminate()
        for worker in self.workers:
            self.stop_worker(worker)
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir / "state.json").unlink()
        self.log("stopped")


# --- the commands --------------------------------------------------------------------------------------------------

def read_state(run_dir: Path) -> dict | None:
    try:
        state = json.loads((run_dir / "state.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(state["supervisor"], 0)
    except (ProcessLookupError, PermissionError):
        return None
    return state


def worker_env(database_url: str, redis_url: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dmmviz.settings", "DATABASE_URL": database_url,
           "REDIS_URL": redis_url, "DMMVIZ_REQUIRE_SHARED_SERVICES": "1"}
    env.pop("DMMVIZ_WS_ECHO", None)
    return env


def create_database(database_url: str) -> None:
    """CREATE DATABASE for the URL's database name if PostgreSQL does not have it yet."""
    import psycopg

    url = urllib.parse.urlparse(database_url)
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def prepare(env: dict[str, str], services: bool) -> None:
    if services:
        subprocess.run(["bash", str(ROOT / "scripts" / "start-services.sh")], check=True, stdin=subprocess.DEVNULL)
    create_database(env["DATABASE_URL"])
    manage = [sys.executable, str(ROOT / "manage.py")]
    for args in (["migrate", "--noinput", "-v", "0"], ["load_builtin"], ["load_lessons"],
                 ["collectstatic", "--noinput", "-v", "0"]):
        result = subprocess.run([*manage, *args], cwd=ROOT, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def cmd_start(args: argparse.Namespace) -> int:
    run_dir = Path(args.dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    state = read_state(run_dir)
    if state is not None:
        print(f"already serving {state['url']} (supervisor pid {state['supervisor']}); `make serve-stop` stops it")
        return 1
    nginx_binary()
    env = worker_env(args.database_url, args.redis_url)
    prepare(env, services=not args.no_services)
    log = open(run_dir / "serve.log", "ab")
    supervisor = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "supervise", "--dir", str(run_dir), "--port", str(args.port),
         "--workers", str(args.workers), "--database-url", args.database_url, "--redis-url", args.redis_url],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if supervisor.poll() is not None:
            tail = (run_dir / "serve.log").read_text(errors="replace").splitlines()[-15:]
            print("the supervisor stopped:\n" + "\n".join(tail), file=sys.stderr)
            return 1
        state = read_state(run_dir)
        if state and state.get("ready") and health(state["url"]) is not None:
            print(f"dmmviz serving {state['url']} with {args.workers} workers behind nginx "
                  f"(logs and state in {run_dir}; `make serve-stop` stops it)")
            return 0
        time.sleep(0.3)
    print("the layout did not answer within 120 s; see serve.log", file=sys.stderr)
    os.kill(supervisor.pid, signal.SIGTERM)
    return 1


def cmd_stop(args: argparse.Namespace) -> int:
    run_dir = Path(args.dir).resolve()
    state = read_state(run_dir)
    if state is None:
        print("not serving")
        return 0
    os.kill(state["supervisor"], signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(state["supervisor"], 0)
        except ProcessLookupError:
            print(f"stopped {state['url']} (nginx and {len(state['workers'])} workers)")
            return 0
        time.sleep(0.2)
    print(f"supervisor {state['supervisor']} did not stop within 60 s", file=sys.stderr)
    return 1


def cmd_status(args: argparse.Namespace) -> int:
    state = read_state(Path(args.dir).resolve())
    if state is None:
        print("not serving")
        return 1
    print(f"{state['url']}: supervisor {state['supervisor']}, nginx {state['nginx']}")
    for w in state["workers"]:
        answer = health(f"http://127.0.0.1:{w['port']}")
        status = "healthy" if answer else "NOT answering /healthz"
        print(f"  {w['name']} pid {w['pid']} 127.0.0.1:{w['port']} {'down (draining) ' if w['down'] else ''}"
              f"{status}, restarted {w['restarts']}x")
    return 0


def cmd_drain(args: argparse.Namespace) -> int:
    run_dir = Path(args.dir).resolve()
    state = read_state(run_dir)
    if state is None:
        print("not serving", file=sys.stderr)
        return 1
    names = {w["name"] for w in state["workers"]}
    unknown = [n for n in args.workers if n not in names]
    if unknown:
        print(f"no worker {', '.join(unknown)}; the workers are {', '.join(sorted(names))}", file=sys.stderr)
        return 2
    verb = "" if args.command == "drain" else f"{args.command}:"
    with open(run_dir / "drain-requests", "a", encoding="utf-8") as f:
        f.write(" ".join(verb + name for name in args.workers or ["*"]) + "\n")
    os.kill(state["supervisor"], signal.SIGUSR1)
    doing = {"drain": "draining", "hold": "taking out of nginx", "release": "putting back into nginx"}[args.command]
    print(f"{doing} {', '.join(args.workers) or 'every worker, one at a time'} (see serve.log)")
    return 0


def cmd_supervise(args: argparse.Namespace) -> int:
    env = worker_env(args.database_url, args.redis_url)
    return Supervisor(Path(args.dir).resolve(), args.port, args.workers, env).run()


def cmd_nginx_site(args: argparse.Namespace) -> int:
    upstreams = [(a.strip(), False) for a in args.upstream.split(",") if a.strip()]
    print(nginx_site(upstreams, args.listen, Path(args.static_root), args.server_name, args.tls_cert, args.tls_key))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--dir", default=str(ROOT / ".serve"), help="logs, pids and nginx files (default .serve/)")

    for name in ("start", "supervise"):
        p = sub.add_parser(name)
        common(p)
        p.add_argument("--workers", type=int, default=2, help="Daphne processes (default 2)")
        p.add_argument("--port", type=int, default=8080, help="nginx's port; workers use the next ones")
        p.add_argument("--database-url", default=os.environ.get("DMMVIZ_SERVE_DATABASE_URL", DEFAULT_DATABASE_URL))
        p.add_argument("--redis-url", default=os.environ.get("DMMVIZ_SERVE_REDIS_URL", DEFAULT_REDIS_URL))
        if name == "start":
            p.add_argument("--no-services", action="store_true", help="do not try to start Redis and PostgreSQL")
    for name in ("stop", "status"):
        common(sub.add_parser(name))
    for name, text in (("drain", "graceful restart"), ("hold", "out of nginx, process left running"),
                       ("release", "back into nginx")):
        p = sub.add_parser(name, help=text)
        common(p)
        p.add_argument("workers", nargs="*", help="worker names (w1, w2, ...); none: all (drain: one at a time)")
    p = sub.add_parser("restart")
    common(p)
    p = sub.add_parser("nginx-site", help="print the nginx site for a production machine (docs/deploy.md)")
    p.add_argument("--upstream", required=True, help="worker addresses, comma separated (127.0.0.1:8001,...)")
    p.add_argument("--listen", default="80")
    p.add_argument("--server-name", default="_")
    p.add_argument("--static-root", required=True, help="where collectstatic put the files (STATIC_ROOT)")
    p.add_argument("--tls-cert", default="")
    p.add_argument("--tls-key", default="")
    args = parser.parse_args(argv)
    if args.command == "restart":
        args.workers = []
        args.command = "drain"
    if args.command in ("start", "supervise") and args.workers < 1:
        parser.error("--workers must be at least 1")
    return {"start": cmd_start, "stop": cmd_stop, "status": cmd_status, "drain": cmd_drain, "hold": cmd_drain,
            "release": cmd_drain,
            "supervise": cmd_supervise, "nginx-site": cmd_nginx_site}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
