#!/usr/bin/env python
"""A course against the production layout: simulated students through nginx to N Daphne workers.

    .venv/bin/python bench/course.py                       # small: 60 students, 2 workers (CI-friendly, ~1 min)
    .venv/bin/python bench/course.py --students 600,1000   # the real figures (several minutes)

It starts the layout (scripts/serve.py, as `make serve`) on free ports with its own PostgreSQL database and Redis
database, and makes the course in that database: live classes of --class-size followers (every student follows one;
ten classes at 1,000 students), each with an instructor who steps the class's simulation every --instructor-think
seconds; a --solo-share of the students also work in a session of their own, stepping (and, --drag-share of the time,
dragging MN1 to the other MAR: a `move` command) every --think seconds (uniformly 0.5x to 1.5x); an --answer-share
of the followers answer the class's checkpoint (HTTP POST) every --answer-think seconds. The clients run in --procs
processes; each student's first action is a warm-up, not counted.

Prints, per student count: p50/p99 per action (step, drag, answer, the instructor's step), the class fan-out (the
instructor's step sent to the last follower's copy received), errors, the server's CPU (workers, nginx, Redis,
PostgreSQL) and the workers' memory, both per 100 students; and first, the throughput of a closed loop (--tp-clients
clients stepping their own sessions as fast as the protocol lets a socket, 90% of RATE_PER_SECOND; --tp-duration
seconds) against 1 worker (the others held out of nginx's upstream: `serve.py hold`) and against all --workers,
alternating over --tp-rounds rounds, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from dmmviz.protocol import RATE_PER_SECOND  # noqa: E402
from tests.deploy.layout import POSTGRES, Layout, running_layout  # noqa: E402

CSRF = "coursebenchcsrfsecret0123456789a"  # 32 characters: sent as cookie and header alike
REDIS_URL = "redis://127.0.0.1:6379/4"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


# --- the clients (in child processes) ------------------------------------------------------------------------------

@dataclass
class Role:
    kind: str  # solo, follower, instructor, loop (closed-loop stepping)
    session: str = ""
    code: str = ""
    cookie: str = ""
    answers: bool = False


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sent: dict[str, dict[int, float]] = field(default_factory=lambda: defaultdict(dict))  # code -> revision -> t
    seen: dict[str, dict[int, list[float]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    followers: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    done: int = 0  # counted requests completed (throughput)

    def error(self, what: str) -> None:
        self.errors[what] += 1


class Socket:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.n = 0

    async def request(self, payload: dict, timeout: float = 30.0) -> dict:
        self.n += 1
        await self.ws.send(json.dumps({"v": 1, "id": self.n, **payload}))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), timeout=timeout))
            if reply.get("re") == self.n:
                return reply


async def _connect(base: str, path: str, cookie: str, gate: asyncio.Semaphore):
    import websockets

    headers = [("Cookie", cookie)] if cookie else []
    async with gate:  # a few hundred handshakes at once overflow the listen queues; pace them
        return await websockets.connect(base.replace("http://", "ws://") + path, origin=base, compression=None,
                                        max_size=None, open_timeout=60, additional_headers=headers)


async def solo(base: str, role: Role, a: argparse.Namespace, go: asyncio.Event, stop: list[float], r: Results,
               gate: asyncio.Semaphore, closed_loop: bool) -> None:
    ws = await _connect(base, f"/ws/session/{role.session}/", "", gate)
    sock = Socket(ws)
    rng = random.Random()
    try:
        json.loads(await asyncio.wait_for(ws.recv(), timeout=60))  # the snapshot
        warm = await sock.request({"type": "run_until", "t": 3.0})  # warm-up: MN1 attached, flows running
        at = [where_is_mn1(warm.get("state"), "MAR1")]
        await go.wait()
        # The protocol allows a socket RATE_PER_SECOND frames a second (more are refused as rate_limited, with no
        # reply): a closed-loop client stays just under it, so throughput is measured with more sockets, not faster
        # ones.
        gap, next_send = 1 / (0.9 * RATE_PER_SECOND), time.monotonic()
        while time.monotonic() < stop[0]:
            if closed_loop:
                await asyncio.sleep(max(0.0, next_send - time.monotonic()))
                next_send = max(next_send + gap, time.monotonic())
            else:
                await asyncio.sleep(a.think * rng.uniform(0.5, 1.5))
                if time.monotonic() >= stop[0]:
                    break
            # A drag moves MN1 onto the other MAR, as a student drags it in the page: only while it is attached
            # (between a move and the next attachment the page shows it in the 'not attached' strip).
            drag = not closed_loop and at[0] is not None and rng.random() < a.drag_share
            target = "MAR2" if at[0] == "MAR1" else "MAR1"
            payload = ({"type": "command", "command": {"action": "move", "mn": "MN1", "mar": target}} if drag
                       else {"type": "step"})
            started = time.monotonic()
            reply = await sock.request(payload)
            elapsed = time.monotonic() - started
            action = "drag" if drag else "step"
            at[0] = where_is_mn1(reply.get("state"), at[0])
            if reply.get("type") == "error":
                r.error(f"{action}: {reply.get('code')}: {reply.get('message', '')[:60]}")
                continue
            r.latencies[action].append(elapsed)
            r.done += 1
    finally:
        await ws.close()


def where_is_mn1(state: dict | None, before: str | None) -> str | None:
    """The MAR that MN1 is attached to after a reply (None: not attached); `before` if the reply has no state."""
    if not state:
        return before
    interfaces = state.get("mns", {}).get("MN1", {}).get("interfaces", {})
    return next((mar for mar in interfaces.values() if mar), None)


async def follower(base: str, role: Role, a: argparse.Namespace, go: asyncio.Event, stop: list[float], r: Results,
                   gate: asyncio.Semaphore) -> None:
    ws = await _connect(base, f"/ws/class/{role.code}/", f"csrftoken={CSRF}", gate)
    r.followers[role.code] += 1
    seen = r.seen[role.code]
    rng = random.Random()

    async def listen() -> None:
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") in ("events", "snapshot") and "revision" in message:
                seen[message["revision"]].append(time.monotonic())
            elif message.get("type") == "error":
                r.error(f"follower: {message.get('code')}")

    listener = asyncio.create_task(listen())
    try:
        await go.wait()
        while role.answers and time.monotonic() < stop[0]:
            await asyncio.sleep(a.answer_think * rng.uniform(0.5, 1.5))
            if time.monotonic() >= stop[0]:
                break
            started = time.monotonic()
            status = await asyncio.to_thread(_answer, base, role.code, str(rng.randint(0, 3)))
            if status == 200:
                r.latencies["answer"].append(time.monotonic() - started)
                r.done += 1
            else:
                r.error(f"answer: HTTP {status}")
        while time.monotonic() < stop[0] + a.settle:
            await asyncio.sleep(0.2)
    finally:
        listener.cancel()
        if listener.done() and not listener.cancelled() and listener.exception() is not None:
            r.error(f"follower: {type(listener.exception()).__name__}")
        await ws.close()


def _answer(base: str, code: str, value: str) -> int:
    request = urllib.request.Request(
        f"{base}/class/{code}/answer/", data=f"answer={value}".encode(), method="POST",
        headers={"Cookie": f"csrftoken={CSRF}", "X-CSRFToken": CSRF, "Accept": "application/json",
                 "Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


async def instructor(base: str, role: Role, a: argparse.Namespace, go: asyncio.Event, stop: list[float],
                     r: Results, gate: asyncio.Semaphore) -> None:
    ws = await _connect(base, f"/ws/session/{role.session}/", role.cookie, gate)
    sock = Socket(ws)
    rng = random.Random()
    try:
        first = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
        if first.get("type") != "snapshot":
            r.error(f"instructor: {first.get('code', first.get('type'))}")
            return
        await go.wait()
        await asyncio.sleep(rng.uniform(0, a.instructor_think))  # the classes do not step in unison
        while time.monotonic() < stop[0]:
            started = time.monotonic()
            reply = await sock.request({"type": "step"})
            elapsed = time.monotonic() - started
            if reply.get("type") == "error":
                r.error(f"instructor step: {reply.get('code')}")
            else:
                r.latencies["instructor step"].append(elapsed)
                r.sent[role.code][reply["revision"]] = started
                r.done += 1
            await asyncio.sleep(a.instructor_think * rng.uniform(0.8, 1.2))
    finally:
        await ws.close()


async def run_clients(base: str, roles: list[Role], a: argparse.Namespace, conn, closed_loop: bool) -> Results:
    r = Results()
    go = asyncio.Event()
    stop = [float("inf")]
    gate = asyncio.Semaphore(32)
    tasks = []
    for role in roles:
        if role.kind in ("solo", "loop"):
            tasks.append(solo(base, role, a, go, stop, r, gate, closed_loop=role.kind == "loop"))
        elif role.kind == "follower":
            tasks.append(follower(base, role, a, go, stop, r, gate))
        else:
            tasks.append(instructor(base, role, a, go, stop, r, gate))
    running = [asyncio.create_task(t) for t in tasks]
    # Connected when every task waits on `go` (or has failed): then tell the parent, and wait for its start time.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        if all(t.done() or go_waiting(t) for t in running):
            break
    conn.send("ready")
    start_at, duration = await asyncio.to_thread(conn.recv)
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    stop[0] = start_at + duration
    go.set()
    for outcome in await asyncio.gather(*running, return_exceptions=True):
        if isinstance(outcome, BaseException):
            r.error(f"{type(outcome).__name__}: {str(outcome)[:80]}")
    return r


def go_waiting(task: asyncio.Task) -> bool:
    coro = task.get_coro()
    awaiting = getattr(coro, "cr_await", None)
    return awaiting is not None and "Event.wait" in repr(awaiting)


def client_process(base: str, roles: list[Role], a: argparse.Namespace, conn, closed_loop: bool) -> None:
    results = asyncio.run(run_clients(base, roles, a, conn, closed_loop))
    cpu = os.times()
    conn.send({
        "latencies": dict(results.latencies), "errors": dict(results.errors), "done": results.done,
        "sent": {k: dict(v) for k, v in results.sent.items()},
        "seen": {k: dict(v) for k, v in results.seen.items()},
        "followers": dict(results.followers), "cpu": cpu.user + cpu.system,
    })


# --- the parent: layout, course, phases ----------------------------------------------------------------------------

def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def server_pids(layout: Layout) -> dict[str, list[int]]:
    """The layout's processes, by part: workers, nginx (master and workers), Redis, PostgreSQL (every backend: other
    work on the machine's PostgreSQL counts too)."""
    state = layout.state()

    def pgrep(*args: str) -> list[int]:
        out = subprocess.run(["pgrep", *args], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    nginx = [state["nginx"], *pgrep("-P", str(state["nginx"]))]
    return {"workers": [w["pid"] for w in state["workers"]], "nginx": nginx, "redis": pgrep("-x", "redis-server"),
            "postgres": pgrep("-x", "postgres")}


def redis_commands() -> int:
    """Commands the Redis server has processed so far (all its databases: other work on it counts too)."""
    import redis

    return int(redis.Redis.from_url(REDIS_URL).info("stats")["total_commands_processed"])


def cpu_by_part(pids: dict[str, list[int]]) -> dict[str, float]:
    return {part: sum(proc_cpu(p) for p in ps) for part, ps in pids.items()}


def run_phase(base: str, roles: list[Role], a: argparse.Namespace, duration: float, closed_loop: bool,
              layout: Layout) -> dict:
    """Spread the roles over --procs client processes, connect them all, run `duration` seconds, merge results."""
    ctx = multiprocessing.get_context("fork")
    rss_before = sum(proc_rss_mb(p) for p in server_pids(layout)["workers"])
    shares: list[list[Role]] = [[] for _ in range(a.procs)]
    for i, role in enumerate(roles):
        shares[i % a.procs].append(role)
    pipes, procs = [], []
    for share in shares:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=client_process, args=(base, share, a, child, closed_loop), daemon=True)
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    for pipe in pipes:
        if not pipe.poll(240):
            raise RuntimeError("a client process did not connect within 240 s")
        pipe.recv()
    pids = server_pids(layout)
    start_at = time.monotonic() + 0.5
    for pipe in pipes:
        pipe.send((start_at, duration))
    time.sleep(max(0.0, start_at - time.monotonic()))
    # On stderr, for whoever profiles the workers (py-spy record -p PID) during exactly the measured seconds.
    print(f"measuring {duration:g} s; workers {' '.join(map(str, pids['workers']))}", file=sys.stderr, flush=True)
    cpu_before, redis_before = cpu_by_part(pids), redis_commands()
    time.sleep(duration)
    cpu_after, redis_after = cpu_by_part(pids), redis_commands()
    rss = sum(proc_rss_mb(p) for p in pids["workers"])
    merged: dict = {"latencies": defaultdict(list), "errors": defaultdict(int), "done": 0, "sent": {}, "seen": {},
                    "followers": defaultdict(int), "client_cpu": 0.0}
    for pipe in pipes:
        if not pipe.poll(240):
            raise RuntimeError("a client process did not finish within 240 s")
        part = pipe.recv()
        for k, v in part["latencies"].items():
            merged["latencies"][k].extend(v)
        for k, v in part["errors"].items():
            merged["errors"][k] += v
        merged["done"] += part["done"]
        merged["sent"].update(part["sent"])
        for code, revs in part["seen"].items():
            into = merged["seen"].setdefault(code, defaultdict(list))
            for rev, ts in revs.items():
                into[rev].extend(ts)
        for k, v in part["followers"].items():
            merged["followers"][k] += v
        merged["client_cpu"] += part["cpu"]
    for proc in procs:
        proc.join(timeout=30)
    merged["server_cpu"] = {part: cpu_after[part] - cpu_before[part] for part in cpu_after}
    merged["redis_commands"] = redis_after - redis_before
    merged["workers_rss_mb"] = rss
    merged["workers_rss_before_mb"] = rss_before
    merged["duration"] = duration
    return merged


def fan_out(result: dict) -> tuple[list[float], int]:
    """Per instructor step: from its send to the last follower's copy. Returns (latencies, copies missed)."""
    latencies, missed = [], 0
    for code, sent in result["sent"].items():
        seen = result["seen"].get(code, {})
        expected = result["followers"].get(code, 0)
        for revision, t0 in sent.items():
            times = seen.get(revision, [])
            # A follower that got a later snapshot instead (a resync) has the step too.
            if len(times) < expected:
                later = sum(1 for rev, ts in seen.items() if rev > revision for _ in ts)
                if len(times) + later < expected:
                    missed += expected - len(times)
            if times:
                latencies.append(max(times) - t0)
    return latencies, missed


def make_course(students: int, a: argparse.Namespace, prefix: str) -> list[Role]:
    """Sessions and classes in the bench database (this process has Django set up on it)."""
    from django.contrib.auth.models import User
    from django.test import Client

    from dmmviz.lessons import classroom
    from dmmviz.web.models import Scenario, SimSession

    scenario = Scenario.objects.get(slug="fig5-handover")
    lesson = json.loads((BASE_DIR / "dmmviz" / "builtin_lessons" / "fig5-handover.json").read_text())
    size = min(a.class_size, students)
    classes = max(1, round(students / size))
    roles: list[Role] = []
    for c in range(classes):
        user, _ = User.objects.get_or_create(username=f"{prefix}-instructor-{c}")
        client = Client()
        client.force_login(user)
        live = classroom.start(lesson, user)
        roles.append(Role("instructor", session=str(live.sim_session_id), code=live.code,
                          cookie=f"sessionid={client.cookies['sessionid'].value}"))
        members = students // classes + (1 if c < students % classes else 0)
        for m in range(members):
            roles.append(Role("follower", code=live.code, answers=m < round(members * a.answer_share)))
    solo = round(students * a.solo_share)
    sessions = SimSession.objects.bulk_create(
        [SimSession(scenario=scenario, scenario_data=scenario.data) for _ in range(solo)])
    roles += [Role("solo", session=str(s.id)) for s in sessions]
    return roles


def loop_roles(count: int) -> list[Role]:
    from dmmviz.web.models import Scenario, SimSession

    scenario = Scenario.objects.get(slug="fig5-handover")
    sessions = SimSession.objects.bulk_create(
        [SimSession(scenario=scenario, scenario_data=scenario.data) for _ in range(count)])
    return [Role("loop", session=str(s.id)) for s in sessions]


def throughput(layout: Layout, a: argparse.Namespace) -> dict:
    result = run_phase(layout.url, loop_roles(a.tp_clients), a, a.tp_duration, True, layout)
    steps = result["latencies"].get("step", [])
    return {"rate": len(steps) / a.tp_duration, "p50": percentile(steps, 50) * 1000,
            "p99": percentile(steps, 99) * 1000, "errors": dict(result["errors"]),
            "cpu": sum(result["server_cpu"].values()) / a.tp_duration}


def hold(layout: Layout, names: list[str], held: bool) -> None:
    """Take workers out of nginx's upstream (held) or put them back, and wait until nginx has reloaded."""
    if not names:
        return
    done = layout.serve("hold" if held else "release", *names)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 30
    while any(layout.worker(n)["down"] != held for n in names):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nginx did not {'hold' if held else 'release'} {names} within 30 s")
        time.sleep(0.1)


def report(students: int, workers: int, result: dict) -> None:
    lat = result["latencies"]
    print(f"\n{students} students, {workers} workers, {result['duration']:g} s: "
          f"{sum(result['followers'].values())} followers in {len(result['followers'])} classes, "
          f"{len(lat.get('step', [])) + len(lat.get('drag', []))} solo actions")
    print(f"  {'action':<16} {'count':>7} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for action in ("step", "drag", "answer", "instructor step"):
        values = [x * 1000 for x in lat.get(action, [])]
        if values:
            print(f"  {action:<16} {len(values):>7} {len(values) / result['duration']:>7.1f} "
                  f"{percentile(values, 50):>8.1f} {percentile(values, 99):>8.1f} {max(values):>8.1f}")
    fan, missed = fan_out(result)
    fan_ms = [x * 1000 for x in fan]
    if fan_ms:
        print(f"  {'class fan-out':<16} {len(fan_ms):>7} {len(fan_ms) / result['duration']:>7.1f} "
              f"{percentile(fan_ms, 50):>8.1f} {percentile(fan_ms, 99):>8.1f} {max(fan_ms):>8.1f}"
              f"   (instructor's step sent -> last of its class's followers received)")
    errors = dict(result["errors"])
    if missed:
        errors["fan-out copies missed"] = missed
    total_errors = sum(errors.values())
    print(f"  errors: {total_errors}" + (f" ({', '.join(f'{k} x{v}' for k, v in sorted(errors.items()))})"
                                        if errors else ""))
    cpu = result["server_cpu"]
    per100 = 100 / students
    cores = {k: v / result["duration"] for k, v in cpu.items()}
    print("  server CPU (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in cores.items())
          + f"; total {sum(cores.values()):.2f} = {sum(cores.values()) * per100:.3f} per 100 students"
          f" (the bench's clients: {result['client_cpu'] / result['duration']:.2f})")
    # Per completed action (solo steps and drags, instructor steps, answers): less disturbed by a busy machine than
    # the latencies are.
    done = max(result["done"], 1)
    print(f"  per completed action: workers' CPU {cpu['workers'] * 1000 / done:.2f} ms, Redis commands "
          f"{result['redis_commands'] / done:.1f}")
    grown = result["workers_rss_mb"] - result["workers_rss_before_mb"]
    print(f"  workers' memory: {result['workers_rss_mb']:.0f} MB RSS ({result['workers_rss_before_mb']:.0f} MB before "
          f"the students connected): {grown * per100:.1f} MB per 100 students")
    result["summary"] = {"throughput": result["done"] / result["duration"], "errors": total_errors,
                         "step_p99": percentile([x * 1000 for x in lat.get("step", [])], 99),
                         "fan_p99": percentile(fan_ms, 99), "cores": sum(cores.values())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # The course's knobs: (option, default, help); the type is the default's.
    options = [
        ("--students", "60", "comma-separated student counts"),
        ("--workers", 2, "Daphne workers for the course"),
        ("--class-size", 100, "followers per live class"),
        ("--solo-share", 0.7, "students also in a session of their own"),
        ("--drag-share", 0.2, "of the solo actions, drags (move commands)"),
        ("--answer-share", 0.1, "followers who answer checkpoints"),
        ("--think", 1.0, "mean seconds between a solo student's actions"),
        ("--instructor-think", 2.0, "seconds between an instructor's steps"),
        ("--answer-think", 8.0, "seconds between a follower's answers"),
        ("--duration", 20.0, "seconds measured per student count"),
        ("--settle", 2.0, "followers listen this long after the end"),
        ("--tp-clients", 60, "closed-loop clients for the throughput ratio"),
        ("--tp-duration", 6.0, "seconds per throughput measurement; 0: skip"),
        ("--tp-rounds", 2, "rounds of 1 worker / all workers (alternating)"),
        ("--procs", 2, "client processes"),
    ]
    for option, default, text in options:
        parser.add_argument(option, type=type(default), default=default, help=f"{text} (default {default})")
    a = parser.parse_args()
    counts = [int(c) for c in a.students.split(",") if c.strip()]
    load_before = os.getloadavg()[0]

    database = f"dmmviz_bench_{os.getpid()}"
    os.environ.update({"DATABASE_URL": f"{POSTGRES}/{database}", "REDIS_URL": REDIS_URL,
                       "DJANGO_SETTINGS_MODULE": "dmmviz.settings"})
    results: dict[int, dict] = {}
    tp: dict[int, list[dict]] = defaultdict(list)
    try:
        with running_layout(workers=a.workers, database=database, redis_url=REDIS_URL) as layout:
            _django()
            # 1 worker against all: the others held out of nginx's upstream (running, idle), in alternating order
            # over --tp-rounds rounds, so that the machine's changing load falls on both alike.
            others = [w["name"] for w in layout.state()["workers"]][1:]
            for r in range(a.tp_rounds if a.tp_duration > 0 and others else 0):
                for n in (1, a.workers) if r % 2 == 0 else (a.workers, 1):
                    hold(layout, others, n == 1)
                    tp[n].append(throughput(layout, a))
                    print(f"throughput round {r + 1}, {n} worker{'s' if n > 1 else ''}: {tp[n][-1]['rate']:.0f} "
                          f"steps/s", flush=True)
            hold(layout, others, False)
            for count in counts:
                roles = make_course(count, a, f"s{count}")
                results[count] = run_phase(layout.url, roles, a, a.duration, False, layout)
                report(count, a.workers, results[count])
            _close_database()
    finally:
        _close_database()

    print(f"\nload average (1 min) at the start {load_before:.2f}, at the end {os.getloadavg()[0]:.2f}, on "
          f"{os.cpu_count()} CPUs shared with the bench's own clients (and any other work on the machine)")
    print(f"think: solo {a.think:g} s (drag {a.drag_share:.0%}), instructor {a.instructor_think:g} s, answers "
          f"{a.answer_think:g} s; solo share {a.solo_share:.0%}, answering followers {a.answer_share:.0%}")
    if len(results) > 1:
        rates = ", ".join(f"{n}: {r['summary']['throughput']:.0f}/s" for n, r in results.items())
        print(f"completed actions per second by student count: {rates}")
    if tp:
        print(f"\nclosed loop, {a.tp_clients} clients stepping at up to {0.9 * RATE_PER_SECOND:.0f} frames/s each, "
              f"{a.tp_duration:g} s per round, {a.tp_rounds} rounds:")
        for workers, rounds in sorted(tp.items()):
            rates = [t["rate"] for t in rounds]
            p50 = statistics.median(t["p50"] for t in rounds)
            p99 = statistics.median(t["p99"] for t in rounds)
            cores = statistics.fmean(t["cpu"] for t in rounds)
            print(f"  {workers} worker{'s' if workers > 1 else ''}: {statistics.fmean(rates):.0f} steps/s (rounds: "
                  f"{', '.join(f'{x:.0f}' for x in rates)}), p50 {p50:.1f} ms, p99 {p99:.1f} ms (medians), server "
                  f"{cores:.2f} cores, errors {sum(sum(t['errors'].values()) for t in rounds)}")
            kinds: dict[str, int] = defaultdict(int)
            for t in rounds:
                for what, count in t["errors"].items():
                    kinds[what] += count
            if kinds:  # say what went wrong, not only how often
                print("    " + ", ".join(f"{what} x{count}" for what, count in sorted(kinds.items())))
        if 1 in tp and a.workers in tp and a.workers != 1:
            ratio = statistics.fmean(t["rate"] for t in tp[a.workers]) / statistics.fmean(t["rate"] for t in tp[1])
            per_round = ", ".join(f"{w['rate'] / o['rate']:.2f}" for o, w in zip(tp[1], tp[a.workers], strict=True))
            print(f"  throughput ratio {a.workers} workers / 1 worker: {ratio:.2f} (per round: {per_round})")
    failed = sum(r["summary"]["errors"] for r in results.values()) + sum(
        sum(t["errors"].values()) for rounds in tp.values() for t in rounds)
    return 1 if failed else 0


def _close_database() -> None:
    """Before the layout drops its database: this process's connection must not hold it."""
    if "django" in sys.modules and sys.modules["django"].apps.apps.ready:
        from django.db import connections

        connections.close_all()


def _django() -> None:
    import django

    django.setup()


if __name__ == "__main__":
    sys.exit(main())
