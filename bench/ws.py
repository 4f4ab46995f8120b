#!/usr/bin/env python
"""Websocket latency: `step` requests to the session consumer against a bare JSON echo on the same Daphne.

    .venv/bin/python bench/ws.py [--clients 1,100,300] [--duration 6] [--think 0.1]

Starts one Daphne on a free loopback port (listen backlog 1024) with the echo route enabled (DMMVIZ_WS_ECHO=1) and a
fresh SQLite database (or --database-url / --redis-url), makes one Figure 5 session per client, then for each client
count runs two phases of `--duration` seconds: every client sends a frame, waits for its reply, thinks for about
`--think` seconds (uniformly 0.5x to 1.5x, so clients do not march in step) and sends the next. Latency is from send
to the reply that names the request: the echoed frame, or the session's `events` message with "re". The first two
requests of each client are warm-up and not counted. Prints p50/p99 per phase and the session/echo ratios;
the issue's target is at 100 clients: p50 and p99 within 1.5x of the echo.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
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


async def client(url: str, origin: str, snapshot_first: bool, start: asyncio.Event, stop_at: list[float],
                 think: float, latencies: list[float], errors: list[str]) -> None:
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
            sent = time.perf_counter()
            await ws.send(f'{{"v":1,"type":"step","id":{n}}}')
            while True:
                reply = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
                if reply.get("re") == n or reply.get("id") == n:
                    break
            elapsed = time.perf_counter() - sent
            if reply.get("type") == "error":
                errors.append(reply["code"])
            elif n > WARMUP:
                latencies.append(elapsed)
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))


async def phase(ws_url: str, origin: str, paths: list[str], snapshot_first: bool, duration: float,
                think: float) -> tuple[list[float], list[str], float]:
    start = asyncio.Event()
    stop_at = [float("inf")]
    latencies: list[float] = []
    errors: list[str] = []
    tasks = [asyncio.create_task(client(ws_url + p, origin, snapshot_first, start, stop_at, think, latencies, errors))
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
    start.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=duration + 60)
    wall = time.perf_counter() - began
    for result in results:
        if isinstance(result, BaseException):
            errors.append(f"{type(result).__name__}: {result}")
    return latencies, errors, wall


def _waiting(task: asyncio.Task) -> bool:
    """True once the client coroutine is parked on the start event (connected, snapshot read)."""
    frame = task.get_coro().cr_frame
    return frame is not None and task.get_coro().cr_await is not None and "wait" in repr(task.get_coro().cr_await)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,100,300", help="comma-separated client counts (default 1,100,300)")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per phase (default 6)")
    parser.add_argument("--think", type=float, default=0.1, help="mean seconds between a reply and the next send")
    parser.add_argument("--scenario", default="fig5-handover", help="built-in scenario of the sessions")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file in a temporary directory")
    parser.add_argument("--redis-url", default="", help="default: the in-memory channel layer")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",") if c.strip()]
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="dmmviz-bench-") as tmp:
        database_url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        os.environ["DATABASE_URL"] = database_url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dmmviz.settings")
        import django

        django.setup()
        from django.core.management import call_command

        from dmmviz.daphne_process import DaphneProcess
        from dmmviz.web.models import Scenario, SimSession

        call_command("migrate", verbosity=0)
        call_command("load_builtin", verbosity=0)
        scenario = Scenario.objects.get(slug=args.scenario)
        env = {"DATABASE_URL": database_url, "DMMVIZ_WS_ECHO": "1", "REDIS_URL": args.redis_url}

        rows = []
        with open(Path(tmp) / "daphne.log", "wb") as log, DaphneProcess(env=env, log=log) as server:
            for count in counts:
                sessions = [SimSession.objects.create(scenario=scenario, scenario_data=scenario.data) for _ in range(count)]
                measured = {}
                for target, paths, snapshot_first in (
                    ("echo", ["/ws/echo/"] * count, False),
                    ("session", [f"/ws/session/{s.id}/" for s in sessions], True),
                ):
                    cpu_before = cpu_seconds(server.proc.pid)
                    latencies, errors, wall = asyncio.run(
                        phase(server.ws_url, server.url, paths, snapshot_first, args.duration, args.think)
                    )
                    cpu = cpu_seconds(server.proc.pid) - cpu_before
                    measured[target] = latencies
                    rows.append((count, target, latencies, errors, wall, cpu))
                    print(_row(count, target, latencies, errors, wall, cpu), flush=True)
                echo, sess = measured["echo"], measured["session"]
                if echo and sess:
                    print(f"{'':>7}  session/echo: p50 x{percentile(sess, 50) / percentile(echo, 50):.2f}, "
                          f"p99 x{percentile(sess, 99) / percentile(echo, 99):.2f}", flush=True)

    print()
    print(f"load average (1 min) at the start {load_before:.2f}, at the end {os.getloadavg()[0]:.2f}, "
          f"on {os.cpu_count()} CPUs (other work on the machine inflates the latencies)")
    print(f"dmmviz websocket bench: {args.scenario}, think {args.think:g} s, {args.duration:g} s per phase, "
          f"{'SQLite' if not args.database_url else args.database_url.split(':')[0]}, "
          f"{'channels_redis' if args.redis_url else 'in-memory layer'}")
    print(f"{'clients':>7}  {'target':<8} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} "
          f"{'server CPU/req':>14}  errors")
    by_count: dict[int, dict[str, list[float]]] = {}
    for count, target, latencies, errors, wall, cpu in rows:
        print(_row(count, target, latencies, errors, wall, cpu))
        by_count.setdefault(count, {})[target] = latencies
    print()
    print(f"{'clients':>7}  {'p50 ratio':>9} {'p99 ratio':>9}  (session / echo; target at 100 clients: <= 1.5)")
    for count, measured in by_count.items():
        echo, sess = measured.get("echo") or [], measured.get("session") or []
        if echo and sess:
            p50 = percentile(sess, 50) / percentile(echo, 50)
            p99 = percentile(sess, 99) / percentile(echo, 99)
            print(f"{count:>7}  {p50:>9.2f} {p99:>9.2f}")
    return 0


def _row(count: int, target: str, latencies: list[float], errors: list[str], wall: float, cpu: float) -> str:
    ms = [x * 1000 for x in latencies]
    summary = ", ".join(f"{code} x{errors.count(code)}" for code in sorted(set(errors))) or "none"
    # Server CPU per request counts the warm-up requests too (WARMUP per client), which the latencies leave out.
    per_request = cpu / max(1, len(ms) + WARMUP * count) * 1e6
    return (f"{count:>7}  {target:<8} {len(ms):>8} {len(ms) / wall:>7.0f} {percentile(ms, 50):>8.2f} "
            f"{percentile(ms, 99):>8.2f} {statistics.fmean(ms) if ms else float('nan'):>8.2f} "
            f"{per_request:>11.0f} us  {summary}")


if __name__ == "__main__":
    sys.exit(main())
