#!/usr/bin/env python
"""Websocket latency: `step` requests to the session consumer against a bare JSON echo on the same Daphne.

    .venv/bin/python bench/ws.py [--clients 1,100,300] [--rounds 3] [--duration 4] [--think 0.1]

Starts one Daphne on a free loopback port (listen backlog 1024) with the echo route enabled (DMMVIZ_WS_ECHO=1) and a
fresh SQLite database (or --database-url / --redis-url), makes one Figure 5 session per client, then for each client
count runs `--rounds` rounds of two phases of `--duration` seconds, echo and session, in alternating order (echo first
in even rounds, session first in odd ones), so that the machine's changing load falls on both alike. In a phase every
client sends a frame, waits for its reply, thinks for about `--think` seconds (uniformly 0.5x to 1.5x, so clients do not
march in step) and sends the next. Latency is from send to the reply that names the request: the echoed frame, or the
session's `events` message with "re". The first two requests of each client in a phase are warm-up and not counted.

Prints p50/p99 of all rounds together per target and their session/echo ratios (the issue's target, at 100 clients:
p50 and p99 within 1.5x of the echo), the ratios of each round (to show how much they move), and the server's CPU time
per request: "all" over the whole phase (connecting the clients included, as earlier versions printed), "steady" only
while the clients were stepping.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

WARMUP = 2


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Phase:
    """One phase of one target: the latencies it measured and what it cost the server."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    sent: int = 0  # requests sent while the clock ran (warm-up included)
    cpu_all: float = 0.0  # server CPU seconds from before connecting to after closing
    cpu_steady: float = 0.0  # server CPU seconds while the clock ran


async def client(url: str, origin: str, snapshot_first: bool, start: asyncio.Event, stop_at: list[float],
                 think: float, result: Phase) -> None:
    import websockets

    async with websockets.connect(url, origin=origin, compression=None, max_size=None, open_timeout=30) as ws:
        if snapshot_first:
            first = json.loads(await ws.recv())
            assert first["type"] == "snapshot", first
        await start.wait()
        rng = random.Random()
        await asyncio.sleep(rng.uniform(0, think))  # spread the first sends
        n = 0
        while time.perf_counter() < stop_at[0]:
            n += 1
            result.sent += 1
            sent = time.perf_counter()
            await ws.send(f'{{"v":1,"type":"step","id":{n}}}')
            while True:
                reply = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
                if reply.get("re") == n or reply.get("id") == n:
                    break
            elapsed = time.perf_counter() - sent
            if reply.get("type") == "error":
                result.errors.append(reply["code"])
            elif n > WARMUP:
                result.latencies.append(elapsed)
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))


async def phase(ws_url: str, origin: str, paths: list[str], snapshot_first: bool, duration: float, think: float,
                cpu: Callable[[], float]) -> Phase:
    result = Phase()
    cpu_before = cpu()
    start = asyncio.Event()
    stop_at = [float("inf")]
    tasks = [asyncio.create_task(client(ws_url + p, origin, snapshot_first, start, stop_at, think, result))
             for p in paths]
    await asyncio.sleep(0)
    # Wait until every client is connected (and has its snapshot) before the clock starts.
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline and not all(t.done() for t in tasks):
        await asyncio.sleep(0.2)
        if all(_waiting(t) for t in tasks):
            break
    began = time.perf_counter()
    stop_at[0] = began + duration
    cpu_began = cpu()
    start.set()
    await asyncio.sleep(duration)
    result.cpu_steady = cpu() - cpu_began
    sent_in_window = result.sent
    gathered = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=60)
    result.wall = time.perf_counter() - began
    result.cpu_all = cpu() - cpu_before
    result.sent = sent_in_window
    for outcome in gathered:
        if isinstance(outcome, BaseException):
            result.errors.append(f"{type(outcome).__name__}: {outcome}")
    return result


def _waiting(task: asyncio.Task) -> bool:
    """True once the client coroutine is parked on the start event (connected, snapshot read)."""
    frame = task.get_coro().cr_frame
    return frame is not None and task.get_coro().cr_await is not None and "wait" in repr(task.get_coro().cr_await)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def django_site(prefix: str, database_url: str = "") -> Iterator[tuple[Path, str]]:
    """A temporary directory, and Django set up in this process on a migrated database holding the built-in
    scenarios (`database_url`, or a fresh SQLite file in that directory); yields (directory, database URL)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        database_url = database_url or f"sqlite:///{tmp}/bench.sqlite3"
        os.environ["DATABASE_URL"] = database_url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dmmviz.settings")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("load_builtin", verbosity=0)
        yield Path(tmp), database_url


def load_parser(doc: str, clients: str, duration: float) -> argparse.ArgumentParser:
    """The options of every websocket load run (this file, soak.py): --clients (a list of ints), --duration, --think,
    --scenario; the caller adds its own."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--clients", default=clients, type=lambda text: [int(c) for c in text.split(",") if c.strip()],
                        help=f"comma-separated client counts (default {clients})")
    parser.add_argument("--duration", type=float, default=duration,
                        help=f"seconds per measured phase (default {duration:g})")
    parser.add_argument("--think", type=float, default=0.1, help="mean seconds between a reply and the next send")
    parser.add_argument("--scenario", default="fig5-handover", help="built-in scenario of the sessions")
    return parser


def main() -> int:
    parser = load_parser(__doc__, clients="1,100,300", duration=4.0)
    parser.add_argument("--rounds", type=int, default=3, help="echo/session rounds per client count (default 3)")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file in a temporary directory")
    parser.add_argument("--redis-url", default="", help="default: the in-memory channel layer")
    args = parser.parse_args()
    counts = args.clients
    load_before = os.getloadavg()[0]

    with django_site("dmmviz-bench-", args.database_url) as (tmp, database_url):
        from dmmviz.daphne_process import DaphneProcess
        from dmmviz.web.models import Scenario, SimSession

        scenario = Scenario.objects.get(slug=args.scenario)
        env = {"DATABASE_URL": database_url, "DMMVIZ_WS_ECHO": "1", "REDIS_URL": args.redis_url}

        runs: dict[int, dict[str, list[Phase]]] = {}
        with open(Path(tmp) / "daphne.log", "wb") as log, DaphneProcess(env=env, log=log) as server:
            pid = server.proc.pid
            for count in counts:
                sessions = [SimSession.objects.create(scenario=scenario, scenario_data=scenario.data)
                            for _ in range(count)]
                paths = {"echo": (["/ws/echo/"] * count, False),
                         "session": ([f"/ws/session/{s.id}/" for s in sessions], True)}
                runs[count] = {"echo": [], "session": []}
                for r in range(args.rounds):
                    for target in ("echo", "session") if r % 2 == 0 else ("session", "echo"):
                        result = asyncio.run(phase(server.ws_url, server.url, *paths[target], args.duration, args.think,
                                                   lambda: cpu_seconds(pid)))
                        runs[count][target].append(result)
                        print(_row(f"{count} r{r + 1}", target, [result], count), flush=True)

    print()
    print(f"load average (1 min) at the start {load_before:.2f}, at the end {os.getloadavg()[0]:.2f}, "
          f"on {os.cpu_count()} CPUs (other work on the machine inflates the latencies)")
    print(f"dmmviz websocket bench: {args.scenario}, think {args.think:g} s, {args.rounds} rounds of "
          f"{args.duration:g} s per target, {'SQLite' if not args.database_url else args.database_url.split(':')[0]}, "
          f"{'channels_redis' if args.redis_url else 'in-memory layer'}")
    print(_header())
    for count, targets in runs.items():
        for target, phases in targets.items():
            print(_row(str(count), target, phases, count))
    print()
    print(f"{'clients':>7}  {'p50 ratio':>9} {'p99 ratio':>9}  per round p50 / p99   "
          "(session / echo, all rounds together;"
          f" target at 100 clients: <= 1.5)")
    for count, targets in runs.items():
        echo, sess = targets["echo"], targets["session"]
        all_echo = [x for p in echo for x in p.latencies]
        all_sess = [x for p in sess for x in p.latencies]
        if not all_echo or not all_sess:
            continue
        p50 = percentile(all_sess, 50) / percentile(all_echo, 50)
        p99 = percentile(all_sess, 99) / percentile(all_echo, 99)
        rounds = "  ".join(
            f"{percentile(s.latencies, 50) / percentile(e.latencies, 50):.2f}/"
            f"{percentile(s.latencies, 99) / percentile(e.latencies, 99):.2f}"
            for e, s in zip(echo, sess, strict=True) if e.latencies and s.latencies
        )
        print(f"{count:>7}  {p50:>9.2f} {p99:>9.2f}  {rounds}")
    return 0


def _header() -> str:
    return (f"{'clients':>7}  {'target':<8} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} "
            f"{'CPU/req all':>11} {'steady':>7}  errors")


def _row(label: str, target: str, phases: list[Phase], count: int) -> str:
    ms = [x * 1000 for p in phases for x in p.latencies]
    errors = [e for p in phases for e in p.errors]
    wall = sum(p.wall for p in phases)
    summary = ", ".join(f"{code} x{errors.count(code)}" for code in sorted(set(errors))) or "none"
    # "all" counts the warm-up requests too (WARMUP per client), which the latencies leave out, and the connecting.
    all_requests = len(ms) + WARMUP * count * len(phases)
    per_request = sum(p.cpu_all for p in phases) / max(1, all_requests) * 1e6
    steady = sum(p.cpu_steady for p in phases) / max(1, sum(p.sent for p in phases)) * 1e6
    return (f"{label:>7}  {target:<8} {len(ms):>8} {len(ms) / wall if wall else 0:>7.0f} {percentile(ms, 50):>8.2f} "
            f"{percentile(ms, 99):>8.2f} {statistics.fmean(ms) if ms else float('nan'):>8.2f} "
            f"{per_request:>8.0f} us {steady:>4.0f} us  {summary}")


if __name__ == "__main__":
    sys.exit(main())
