"""Command line: ``python -m simulator validate FILE`` and ``python -m simulator run FILE --export FORMAT``.

The formats and exit codes are those of ../shared/spec/formats.md: exit 2 with one line per problem (JSON path first),
never a traceback. This module is the engine's only I/O.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from .compare import compare, format_table
from .engine import Simulation
from .export import export
from .export.trace import write_trace
from .limits import MAX_DIAGRAM_EVENTS, MAX_SEED, MAX_TIME, TooMuchWork
from .metrics import compute_metrics, observe
from .metrics_feed import SLICE_S
from .scenario import MODES, SCHEMA, ScenarioError, default_until, load_scenario

TEXT_EXPORTS = ("trace", "state", "metrics", "mermaid", "plantuml", "svg", "ascii")
EXPORTS = (*TEXT_EXPORTS, "pcap")
# Computed while the engine runs: the run's events are never all in memory (state needs none of them).
STREAMED = ("trace", "metrics", "state")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's own errors: usage and exit 2, as for bad files
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _seconds(text: str) -> float:
    """--until: a simulated time from 0 to the longest run (nan, inf, 1e308 and -5 were tracebacks or accepted)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= MAX_TIME:  # also false for nan
        raise argparse.ArgumentTypeError(f"{text!r}: a time from 0 to {MAX_TIME:g} s (the longest run)")
    return value


def _seed(text: str) -> int:
    """--seed: as a scenario's "seed", an integer from 0 to MAX_SEED."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number from 0 to {MAX_SEED}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m simulator", description="dmmviz's DMM engine on the command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    v = sub.add_parser("validate", help="check a scenario file; exit 2 with one line per problem")
    v.add_argument("file")
    r = sub.add_parser("run", help="run a scenario and export the result")
    r.add_argument("file")
    r.add_argument("--export", required=True, choices=EXPORTS, metavar="FORMAT", help=f"one of {', '.join(EXPORTS)}")
    r.add_argument("-o", "--output", help="write here instead of standard output (needed for pcap)")
    r.add_argument("--until", type=_seconds,
                   help="stop at this simulated time (s); default: 5 s after the last script action")
    r.add_argument("--mode", choices=MODES, help="run under another anchoring design")
    r.add_argument("--seed", type=_seed, default=0)
    shown = r.add_argument_group("what a diagram or capture shows (svg, plantuml, mermaid, ascii, pcap)")
    shown.add_argument("--start", type=_seconds, help="leave out what happens before this simulated time (s)")
    shown.add_argument("--end", type=_seconds, help="leave out what happens after this simulated time (s)")
    shown.add_argument("--nodes", help="comma-separated node ids: the diagram's columns, in that order (pcap: the "
                       "messages from or to them)")
    shown.add_argument("--data", choices=("fold", "show"), help="fold (default): one arrow per run of a flow's packets "
                       "on a segment; show: one per packet")
    shown.add_argument("--time-axis", action="store_true", help="print each item's time")
    c = sub.add_parser("compare", help="the metrics of the three modes side by side")
    c.add_argument("file")
    c.add_argument("--until", type=_seconds)
    c.add_argument("--export", choices=("json",), help="JSON instead of a table")
    c.add_argument("-o", "--output")
    sub.add_parser("schema", help="print the scenario JSON Schema")
    return parser


def _problems_exit(exc: ScenarioError) -> int:
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    return 2


def _write(payload: str | bytes, output: str | None) -> None:
    if output:
        Path(output).write_bytes(payload if isinstance(payload, bytes) else payload.encode("utf-8"))
    elif isinstance(payload, bytes):
        sys.stdout.buffer.write(payload)
    else:
        sys.stdout.write(payload if payload.endswith("\n") else payload + "\n")


def run_scenario(
    scenario: dict[str, Any], until: float | None = None, mode: str | None = None, seed: int = 0
) -> Simulation:
    """A simulation of the scenario run to ``until`` (default: 5 s after its last script action), keeping every event
    for a diagram or capture: a simulated second at a time, and TooMuchWork past MAX_DIAGRAM_EVENTS (a 1 KB file
    running a flow for a day took 2 GB of memory for its capture, 3 GB for its SVG)."""
    sim = Simulation(scenario, seed=seed, mode=mode)

    def not_too_many(t: float) -> None:
        if len(sim.events) > MAX_DIAGRAM_EVENTS:
            raise TooMuchWork("events", f"more than {MAX_DIAGRAM_EVENTS:,} events by t = {t:g} s, too many for one "
                              "diagram or capture: export a shorter run (--until), or the trace, metrics or state, "
                              "which are written as the run goes", sim.steps)

    return _in_slices(sim, default_until(scenario) if until is None else until, not_too_many)


def export_run(
    scenario: dict[str, Any], fmt: str, until: float | None = None, mode: str | None = None, seed: int = 0
) -> str | bytes:
    """Run a scenario and render it in one of EXPORTS. Used by the CLI and the web views alike."""
    return export_simulation(run_scenario(scenario, until, mode, seed), fmt)


def refused_actions(sim: Simulation) -> list[str]:
    """One line per script action the engine refused during the run (e.g. move_flow under another mode)."""
    return [refusal for step in sim.refused_steps if (refusal := refused(step, sim.mode))]


def refused(event: dict[str, Any], mode: str) -> str | None:
    """The warning line of an ``action_rejected`` event, else None."""
    if event["kind"] != "action_rejected":
        return None
    of = f" of {event['node']}" if event.get("node") else ""  # null: a node this run does not have
    return f"warning: t={event['t']:g} s: {event['action']}{of} refused under {mode}: {event['message']}"


def _streamed(scenario: dict[str, Any], fmt: str, until: float, mode: str | None, seed: int,
              output: str | None) -> None:
    """Run and export a STREAMED format: the trace written as it is produced, the metrics from an observer."""
    sim = Simulation(scenario, seed=seed, mode=mode, record=False)

    def warn(event: dict[str, Any]) -> None:
        if line := refused(event, sim.mode):
            print(line, file=sys.stderr)

    if fmt == "metrics":
        _write(json.dumps(observe(sim, until, on_event=warn), indent=1), output)
        return
    if fmt == "state":
        run_unwatched(sim, until)
        for step in sim.refused_steps:
            warn(step)
        _write(json.dumps(sim.snapshot(), indent=1), output)
        return
    if output is None:
        write_trace(sim, until, sys.stdout.write, on_event=warn)
        sys.stdout.write("\n")
        return
    part = Path(output + ".part")  # a run that fails half-way leaves no half-written file under the name asked for
    with part.open("w", encoding="utf-8") as out:
        write_trace(sim, until, out.write, on_event=warn)
    part.replace(output)


def run_unwatched(sim: Simulation, until: float) -> Simulation:
    """Run ``sim`` (made with ``record=False``) to ``until`` with nobody watching its events, the engine's fast path:
    no event is built and nothing is kept, so memory follows the network's state. A simulated second at a time, as
    ``run_fed``: each call is budgeted on its own. The script steps it refused are in ``sim.refused_steps``."""
    return _in_slices(sim, until)


def _in_slices(sim: Simulation, until: float, after: Callable[[float], None] | None = None) -> Simulation:
    """Run ``sim`` to ``until`` a simulated second at a time (each call budgeted on its own), calling ``after(t)``
    once each second is done."""
    t = sim.now
    while True:
        t = min(until, t + SLICE_S)
        sim.run(t, collect=False)
        if after is not None:
            after(t)
        if t >= until:
            return sim


def export_simulation(sim: Simulation, fmt: str, options: dict[str, Any] | None = None) -> str | bytes:
    """``options``: a diagram's or capture's (simulator.export: start, end, nodes, data, time_axis)."""
    if fmt == "trace":
        return json.dumps(sim.trace(), indent=1)
    if fmt == "state":
        return json.dumps(sim.snapshot(), indent=1)
    if fmt == "metrics":
        return json.dumps(compute_metrics(sim.trace(), sim.scenario), indent=1)
    return export(fmt, sim.trace(), options=options)


def _export_options(args: argparse.Namespace) -> dict[str, Any]:
    """The diagram options given on the command line, as the web's export links pass them."""
    options: dict[str, Any] = {}
    for key in ("start", "end", "data"):
        if getattr(args, key, None) is not None:
            options[key] = getattr(args, key)
    if getattr(args, "nodes", None):
        options["nodes"] = [node for node in args.nodes.split(",") if node]
    if getattr(args, "time_axis", False):
        options["time_axis"] = True
    return options


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "schema":
        print(json.dumps(SCHEMA, indent=2))
        return 0
    try:
        scenario = load_scenario(args.file)
    except ScenarioError as exc:
        return _problems_exit(exc)
    if args.command == "validate":
        print(f"{args.file}: valid ({len(scenario['script'])} script steps)")
        return 0
    if args.command == "compare":
        result = compare(scenario, args.until)
        _write(json.dumps(result, indent=1) if args.export == "json" else format_table(result), args.output)
        return 0
    if args.export == "pcap" and not args.output and sys.stdout.isatty():
        print("-o: a pcap is binary; give -o FILE.pcap or redirect standard output", file=sys.stderr)
        return 2
    until = default_until(scenario) if args.until is None else args.until
    if args.export in STREAMED and _export_options(args):
        print(f"--start, --end, --nodes, --data and --time-axis choose what a diagram or capture shows; {args.export} "
              "takes the whole run", file=sys.stderr)
        return 2
    if args.export in STREAMED:
        try:
            _streamed(scenario, args.export, until, args.mode, args.seed, args.output)
        except OSError as exc:
            print(f"-o: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
            return 2
        except TooMuchWork as exc:  # an event storm: the limits at the edge make it rare, never a traceback
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    try:
        sim = run_scenario(scenario, until, args.mode, args.seed)
        for line in refused_actions(sim):
            print(line, file=sys.stderr)
        payload = export_simulation(sim, args.export, _export_options(args))
    except (ValueError, TooMuchWork) as exc:  # an ExportError (a trace the format cannot encode), an event storm
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        _write(payload, args.output)
    except OSError as exc:
        print(f"-o: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0
