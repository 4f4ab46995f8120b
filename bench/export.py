"""Export speed on runs of about 5,000 messages, against json.dumps of the same trace timed in the same process.

    .venv/bin/python bench/export.py [--messages 5000] [--repeat 5]

Two runs, each driven by the engine in 5 s steps until its trace holds at least --messages message events (RS, RA,
DB_*, PBU/PBA, DATA segments): the seed's Figure 4 scenario (mostly data), and "busy", 10 mobile nodes handing over
between 4 MARs every 2 s (about a tenth signalling, which the pcap builds with scapy, the slow path). Each export is
timed (best of --repeat) next to `json.dumps(trace)`, the cost of merely writing the trace out. Target: SVG and pcap
each well under a second. The ratio to the baseline is what to compare between machines; absolute times depend on
how busy this one is.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulator import Simulation, load_scenario
from simulator.export import export

ROOT = Path(__file__).resolve().parents[1]


def busy(mars: int = 4, mns: int = 10, seconds: int = 120) -> dict:
    """Mobile nodes with one flow each, handing over to the next MAR every 2 s."""
    script = []
    for i in range(1, mns + 1):
        script.append({"at": 0.0, "action": "attach", "mn": f"MN{i}", "mar": f"MAR{1 + i % mars}"})
        script.append({"at": 0.5, "action": "start_flow", "mn": f"MN{i}", "flow": f"flow{i}", "cn": "CN1"})
        for k in range(1, seconds // 2):
            mar = f"MAR{1 + (i + k) % mars}"
            script.append({"at": k * 2.0 + i * 0.1, "action": "move", "mn": f"MN{i}", "mar": mar})
    return {
        "format": "dmmviz-scenario/1", "title": "busy: handovers every 2 s", "mode": "network-dmm",
        "network": {"mars": [{"id": f"MAR{i}", "prefix_pool": f"2001:db8:{i}::/48"} for i in range(1, mars + 1)],
                    "cns": [{"id": "CN1", "address": "2001:db8:ca5e::1"}]},
        "mobile_nodes": [{"id": f"MN{i}", "interfaces": ["if1"]} for i in range(1, mns + 1)],
        "script": script,
    }


def run_until(scenario: Path | dict, messages: int) -> dict:
    """The trace of the scenario run just long enough to hold `messages` message events."""
    sim = Simulation(load_scenario(scenario), seed=0)
    until = 0.0
    while True:
        until += 5.0
        sim.run(until)
        trace = sim.trace()
        if sum(1 for e in trace["events"] if e["kind"][:1].isupper()) >= messages or until > 3600:
            return trace


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scenario", type=Path, default=ROOT / "dmmviz" / "builtin_scenarios" / "fig4-three-mars.json")
    args = parser.parse_args()

    for name, scenario in ((args.scenario.name, args.scenario), ("busy", busy())):
        measure(name, run_until(scenario, args.messages), args.repeat)
        print()


def measure(name: str, trace: dict, repeat: int) -> None:
    kinds = [e["kind"] for e in trace["events"]]
    n_msgs = sum(1 for k in kinds if k[:1].isupper())
    n_data = kinds.count("DATA")
    print(f"run {name} until t={trace['events'][-1]['t']:.1f} s: {len(kinds)} events, "
          f"{n_msgs} messages ({n_data} data, {n_msgs - n_data} signalling)")
    base, dumped = best(lambda: json.dumps(trace), repeat)
    print(f"  {'baseline json.dumps(trace)':34} {base * 1000:8.1f} ms  {len(dumped) / 1e6:6.2f} MB")  # type: ignore[arg-type]
    cases = [
        ("svg (data folded)", "svg", None),
        ("svg (data shown: one arrow each)", "svg", {"data": "show"}),
        ("pcap", "pcap", None),
        ("ascii", "ascii", None),
        ("mermaid", "mermaid", None),
        ("plantuml", "plantuml", None),
    ]
    for label, fmt, options in cases:
        try:
            took, out = best(lambda fmt=fmt, options=options: export(fmt, trace, options=options), repeat)
        except ValueError as exc:  # e.g. too many lifelines for 72 ASCII columns
            print(f"  {label:34} {'-':>8}     {exc}")
            continue
        size = len(out) / 1e6  # type: ignore[arg-type]
        print(f"  {label:34} {took * 1000:8.1f} ms  {size:6.2f} MB  x{took / base:5.1f} baseline")


if __name__ == "__main__":
    main()
