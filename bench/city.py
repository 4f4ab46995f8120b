"""Streaming exports on a city: the plain run, the metrics observer and the trace export, each in its own process.

    .venv/bin/python bench/city.py [--mars 100] [--mns 500] [--seconds 200] [--mode network-dmm] [--repeat 1]
                                   [--only plain,recording,metrics,trace]

The city is bench/engine.py's (MARs on a grid, MNs walking between neighbours, flows starting and stopping). Four
child processes run the same scenario to the same time: `plain` (the engine alone, recording nothing: the baseline),
`recording` (the engine keeping every event, as `simulator run` did before the exports streamed), `metrics`
(`simulator.metrics.observe`: the observer fed each event as the engine emits it, DATA segments without their event:
simulator/metrics_feed.py) and `trace` (`simulator.export.trace.write_trace` into
a file that is then deleted). Each child reports its wall and CPU time and its peak RSS
(getrusage ru_maxrss, so each is measured alone, the interpreter and the scenario included). Printed: each against
the plain run of this same invocation. Targets (issue 10): metrics within 1.5x the plain run's CPU time, at most
600 MB peak for metrics and for the trace export. Machines here are shared: compare the ratios, not absolute times;
``--repeat N`` runs each child N times, interleaved, and keeps each one's least CPU time (and its peak RSS), which a
busy machine disturbs less; ``--only`` picks the children (plain always runs: it is the baseline).

``--instructions`` counts instead the instructions each child executes (valgrind's cachegrind, PYTHONHASHSEED=0),
less those of a child that only loads the scenario and builds the simulation: the same on every run to within about
0.5%, so a change's effect shows however busy the machine is; and the first-level instruction- and data-cache
misses of its cache simulation, the part of a CPU time an instruction count does not see (about 100x slower: the
default city takes some 20 minutes, the children running side by side on every core).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def child(kind: str, scenario_path: str, until: float, mode: str) -> dict:
    """One measurement, in this (child) process."""
    from simulator import Simulation, load_scenario
    from simulator.export.trace import write_trace
    from simulator.metrics import observe

    scenario = load_scenario(json.loads(Path(scenario_path).read_text()))
    sim = Simulation(scenario, mode=mode, record=False)
    wall, cpu = time.perf_counter(), time.process_time()
    extra: dict = {}
    if kind == "setup":
        pass  # what every child does before its clock starts: --instructions subtracts it
    elif kind == "plain":
        sim.run(until, collect=False)
    elif kind == "recording":
        sim = Simulation(scenario, mode=mode)  # records every event, as `simulator run` did before streaming
        sim.run(until, collect=False)
        extra = {"events_kept": len(sim.events)}
    elif kind == "metrics":
        metrics = observe(sim, until)
        extra = {"handovers": len(metrics["handovers"]), "messages": sum(metrics["messages"].values())}
    else:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
            write_trace(sim, until, out.write)
        extra = {"bytes": os.path.getsize(out.name)}
        os.unlink(out.name)
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mars", type=int, default=100)
    parser.add_argument("--mns", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=200.0)
    parser.add_argument("--mode", default="network-dmm")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each child; the least CPU time is kept")
    parser.add_argument("--only", default="plain,recording,metrics,trace", help="children to run, comma-separated")
    parser.add_argument("--instructions", action="store_true", help="count instructions (valgrind) instead of time")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.scenario, args.seconds, args.mode)))
        return

    from engine import city

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(city(args.mars, args.mns, args.seconds), f)
    print(f"city: {args.mars} MARs, {args.mns} MNs, {args.seconds:g} s, {args.mode}")
    kinds = [k for k in ("plain", "recording", "metrics", "trace") if k == "plain" or k in args.only.split(",")]
    results: dict[str, dict] = {}
    if args.instructions:
        try:
            instructions(kinds, f.name, args)
        finally:
            os.unlink(f.name)
        return
    try:
        for _ in range(max(1, args.repeat)):
            for kind in kinds:
                out = subprocess.run([sys.executable, __file__, "--child", kind, "--scenario", f.name, "--seconds",
                                      str(args.seconds), "--mode", args.mode], capture_output=True, text=True,
                                     check=True)
                run = json.loads(out.stdout)
                if kind not in results or run["cpu_s"] < results[kind]["cpu_s"]:
                    results[kind] = run
    finally:
        os.unlink(f.name)
    base = results["plain"]
    for kind, r in results.items():
        more = "  ".join(f"{k} {v}" for k, v in r.items() if k not in ("wall_s", "cpu_s", "peak_rss_mb"))
        print(f"  {kind:8} {r['wall_s']:7.1f} s wall ({r['wall_s'] / base['wall_s']:4.2f}x plain)  "
              f"{r['cpu_s']:7.1f} s CPU ({r['cpu_s'] / base['cpu_s']:4.2f}x)  peak RSS {r['peak_rss_mb']:6.0f} MB"
              f"  {more}")
    if "metrics" in results:
        ok = results["metrics"]["cpu_s"] <= 1.5 * base["cpu_s"]
        print(f"target: metrics <= 1.5x plain CPU: {'met' if ok else 'NOT met'}")
    measured = [k for k in ("metrics", "trace") if k in results]
    if measured:
        ok = all(results[k]["peak_rss_mb"] <= 600 for k in measured)
        print(f"target: peak <= 600 MB for {' and '.join(measured)}: {'met' if ok else 'NOT met'}")


def instructions(kinds: list[str], scenario: str, args: argparse.Namespace) -> None:
    """--instructions: each child under cachegrind; printed less the setup child's count, against plain's."""
    from engine import instructions_of

    children = ["setup", *kinds]
    figures = dict(zip(children, instructions_of(
        [[sys.executable, __file__, "--child", kind, "--scenario", scenario, "--seconds", str(args.seconds), "--mode",
          args.mode] for kind in children], cache=True), strict=True))
    counts = {child: counted.instructions for child, counted in figures.items()}
    base = figures["plain"] - figures["setup"]
    print(f"  (loading the scenario and building the simulation: {counts['setup'] / 1e6:,.0f} M instructions, "
          "subtracted below)")
    for kind in kinds:
        run = figures[kind] - figures["setup"]
        print(f"  {kind:8} {run.instructions / 1e6:9,.0f} M instructions ({run.instructions / base.instructions:4.2f}x"
              f" plain)  first-level cache misses: instructions {run.i1_misses / 1e6:,.1f} M "
              f"({run.i1_misses / base.i1_misses:4.2f}x), data {run.d1_misses / 1e6:,.1f} M "
              f"({run.d1_misses / base.d1_misses:4.2f}x)")
    base = base.instructions
    if "metrics" in kinds:
        ok = counts["metrics"] - counts["setup"] <= 1.5 * base
        print(f"target: metrics <= 1.5x plain (in instructions): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
