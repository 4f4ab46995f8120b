#!/usr/bin/env python
"""Soak: how many sessions one Daphne process serves, what each costs in memory, what happens past the limit, and
what one hostile client can do to the others.

    .venv/bin/python bench/soak.py [--clients 25,50,100,200,400] [--duration 3] [--think 0.1] [--hostile 5]

One Daphne (the server entry point, SQLite in a temporary directory, echo route on), then in one run:

1. Baseline: the server's RSS once started, and the p99 of a bare JSON echo at the first client count; a 60 MiB upload
   (with a Content-Length, then chunked): the answer, how soon, and the RSS after it.
2. Ramp: for each client count, first a bare echo with as many clients (the baseline at that load: what the machine
   itself allows), then that many sessions, each client stepping (`step`, think time about `--think` s).
   Prints p50/p99 (and the echo's p99), requests answered, errors by code, dropped connections and the RSS per
   session (RSS growth over the baseline, divided by the sessions served so far). The capacity is the largest count
   with p99 <= 100 ms; past it, "graceful" means every request is still answered (errors are named codes like
   busy/rate_limited, no dropped sockets) and the p99 grows with the load rather than jumping.
3. Hostile: one socket sends `run_until` far ahead as fast as it may for `--hostile` seconds while 20 clients step:
   the server's RSS growth (target: at most 300 MB) and the others' p99 (target: under 1 s), against the same 20
   clients without the hostile one, measured just before.

The default run takes about a minute and a half (the machine is shared): widen --clients for a real soak.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

_spec = importlib.util.spec_from_file_location("bench_ws", BASE_DIR / "bench" / "ws.py")
ws_bench = importlib.util.module_from_spec(_spec)
assert _spec.loader is not None
sys.modules["bench_ws"] = ws_bench  # dataclasses look their module up
_spec.loader.exec_module(ws_bench)
percentile, phase, cpu_seconds = ws_bench.percentile, ws_bench.phase, ws_bench.cpu_seconds

TARGET_P99_MS = 100.0


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def hostile(ws_url: str, origin: str, path: str, seconds: float) -> dict[str, int]:
    """One client that asks for as much work as the protocol lets it: run_until 1,000 s ahead, again and again."""
    import websockets

    codes: dict[str, int] = {}
    async with websockets.connect(ws_url + path, origin=origin, max_size=None) as ws:
        first = json.loads(await ws.recv())
        now = first.get("now", 0.0)
        end = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < end:
            n += 1
            await ws.send(json.dumps({"v": 1, "type": "run_until", "id": n, "t": min(86_000.0, now + 1000.0)}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if reply["type"] == "error":
                codes[reply["code"]] = codes.get(reply["code"], 0) + 1
            else:
                now = reply.get("now", now)
                codes["ok"] = codes.get("ok", 0) + 1
    return codes


def big_upload(port: int, mib: int, chunked: bool) -> tuple[str, float]:
    """POST `mib` MiB to the home page on a raw socket (with a Content-Length, or chunked); the status line and the
    seconds until it came."""
    import socket

    body_part = b"x" * (1024 * 1024)
    sock = socket.create_connection(("127.0.0.1", port))
    head = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
    head += b"Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {mib << 20}\r\n\r\n".encode()
    start = time.perf_counter()
    try:
        sock.sendall(head)
        for _ in range(mib):
            sock.sendall(f"{len(body_part):x}\r\n".encode() + body_part + b"\r\n" if chunked else body_part)
        if chunked:
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server answered and closed before the whole body was sent
    sock.settimeout(30)
    try:
        status = sock.recv(200).split(b"\r\n")[0].decode()
    except OSError as exc:
        status = f"no answer ({exc})"
    sock.close()
    return status, time.perf_counter() - start


def main() -> int:
    parser = ws_bench.load_parser(__doc__, clients="25,50,100,200,400", duration=3.0)
    parser.add_argument("--hostile", type=float, default=5.0, help="seconds of the hostile client (0: skip)")
    args = parser.parse_args()
    counts = args.clients

    with ws_bench.django_site("dmmviz-soak-") as (tmp, database_url):
        from dmmviz.daphne_process import DaphneProcess
        from dmmviz.web.models import Scenario, SimSession

        scenario = Scenario.objects.get(slug=args.scenario)

        def sessions(n: int) -> list[str]:
            return [f"/ws/session/{SimSession.objects.create(scenario=scenario, scenario_data=scenario.data).id}/"
                    for _ in range(n)]

        env = {"DATABASE_URL": database_url, "DMMVIZ_WS_ECHO": "1"}
        with open(Path(tmp) / "daphne.log", "wb") as log, DaphneProcess(env=env, log=log) as server:
            pid = server.proc.pid
            cpu = lambda: cpu_seconds(pid)  # noqa: E731
            base_rss = rss_mib(pid)
            for chunked in (False, True):
                status, seconds = big_upload(server.port, 60, chunked)
                at_once = rss_mib(pid)
                time.sleep(1.0)
                print(f"60 MiB upload ({'chunked' if chunked else 'Content-Length'}): {status} in {seconds:.1f} s; "
                      f"RSS {base_rss:.0f} -> {at_once:.0f} MiB at once (refused from its headers: dmmviz/server.py), "
                      f"{rss_mib(pid):.0f} MiB 1 s later")
            base_rss = rss_mib(pid)
            echo = asyncio.run(phase(server.ws_url, server.url, ["/ws/echo/"] * counts[0], False, args.duration,
                                     args.think, cpu))
            print(f"baseline: RSS {base_rss:.0f} MiB after start; echo at {counts[0]} clients: "
                  f"p50 {percentile(echo.latencies, 50) * 1000:.1f} ms, "
                  f"p99 {percentile(echo.latencies, 99) * 1000:.1f} ms")
            print()
            print(f"{'clients':>7} {'answered':>8} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'echo p99':>8}  "
                  f"{'RSS MiB':>7} {'KiB/session':>11}  errors")
            capacity = 0
            served = 0
            for count in counts:
                paths = sessions(count)
                served += count
                # The baseline at this load, in the same run: a bare echo with as many clients.
                floor = asyncio.run(phase(server.ws_url, server.url, ["/ws/echo/"] * count, False, args.duration,
                                          args.think, cpu))
                result = asyncio.run(phase(server.ws_url, server.url, paths, True, args.duration, args.think, cpu))
                rss = rss_mib(pid)
                p99 = percentile(result.latencies, 99) * 1000
                if p99 <= TARGET_P99_MS:
                    capacity = count
                codes: dict[str, int] = {}
                for e in result.errors:
                    codes[e.split(":")[0]] = codes.get(e.split(":")[0], 0) + 1
                errors = ", ".join(f"{k} x{v}" for k, v in sorted(codes.items())) or "none"
                print(f"{count:>7} {len(result.latencies):>8} {len(result.latencies) / result.wall:>6.0f} "
                      f"{percentile(result.latencies, 50) * 1000:>7.1f} {p99:>7.1f} "
                      f"{percentile(floor.latencies, 99) * 1000:>8.1f}  {rss:>7.0f} "
                      f"{(rss - base_rss) * 1024 / served:>11.0f}  {errors}", flush=True)
            print()
            print(f"capacity: {capacity} concurrent stepping sessions with p99 <= {TARGET_P99_MS:g} ms "
                  f"(think {args.think:g} s); past it see the rows above: answered requests, named errors, p99")

            if args.hostile > 0:
                print()
                calm = asyncio.run(phase(server.ws_url, server.url, sessions(20), True, args.duration, args.think, cpu))
                rss_before = rss_mib(pid)

                attacker, victims = sessions(1)[0], sessions(20)

                async def both():
                    attack = asyncio.create_task(hostile(server.ws_url, server.url, attacker, args.hostile))
                    others = await phase(server.ws_url, server.url, victims, True, args.hostile, args.think, cpu)
                    return others, await attack

                others, codes = asyncio.run(both())
                peak = rss_mib(pid)
                print(f"hostile client (run_until +1000 s for {args.hostile:g} s): answers {codes}")
                print(f"  RSS {rss_before:.0f} -> {peak:.0f} MiB (+{peak - rss_before:.0f} MiB; target <= 300)")
                print(f"  20 other clients: p99 {percentile(calm.latencies, 99) * 1000:.1f} ms without it, "
                      f"{percentile(others.latencies, 99) * 1000:.1f} ms with it (target < 1000); "
                      f"errors {sorted(set(others.errors)) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
