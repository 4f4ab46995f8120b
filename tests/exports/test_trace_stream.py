"""The trace export written as it is produced (issue 10 item 5): byte for byte the recorded trace, in constant memory,
from the CLI too."""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from simulator import Simulation, load_scenario
from simulator.export.trace import write_trace
from simulator.metrics import compute_metrics

from .conftest import ROOT

ON_THE_AIR = {
    # flow1's downlink packet sent by MAR1 at 1.61 s is on the air when the MN moves at 1.611 s: lost in flight.
    "format": "dmmviz-scenario/1", "title": "a packet on the air at the move", "mode": "network-dmm",
    "network": {"mars": [{"id": "MAR1", "prefix_pool": "2001:db8:1::/48"},
                         {"id": "MAR2", "prefix_pool": "2001:db8:2::/48"}],
                "cns": [{"id": "CN1", "address": "2001:db8:ca5e::1"}]},
    "mobile_nodes": [{"id": "MN1", "interfaces": ["if1"]}],
    "script": [{"at": 0.0, "action": "attach", "mn": "MN1", "mar": "MAR1"},
               {"at": 1.0, "action": "start_flow", "mn": "MN1", "flow": "flow1", "cn": "CN1"},
               {"at": 1.611, "action": "move", "mn": "MN1", "mar": "MAR2"}],
}
MOSTLY_STATIC = ROOT / "tests" / "metrics" / "mostly_static.json"


def _builtin(name: str) -> dict:
    return json.loads((ROOT / "dmmviz" / "builtin_scenarios" / f"{name}.json").read_text())


def _recorded(scenario: dict, mode: str | None, until: float) -> str:
    sim = Simulation(load_scenario(copy.deepcopy(scenario)), mode=mode)
    sim.run(until)
    return json.dumps(sim.trace(), indent=1)


def _streamed(scenario: dict, mode: str | None, until: float) -> str:
    out = io.StringIO()
    write_trace(Simulation(load_scenario(copy.deepcopy(scenario)), mode=mode, record=False), until, out.write)
    return out.getvalue()


@pytest.mark.parametrize("mode", ["network-dmm", "client-dmm", "centralized-pmipv6"])
@pytest.mark.parametrize("name", ["fig5-handover", "fig6-multi-interface", "fig2-client-dmm"])
def test_streamed_trace_is_the_recorded_trace_byte_for_byte(name, mode):
    assert _streamed(_builtin(name), mode, 17.5) == _recorded(_builtin(name), mode, 17.5)


@pytest.mark.parametrize("mode", ["network-dmm", "client-dmm"])
def test_a_message_lost_in_flight_is_marked_as_the_recorded_trace_marks_it(mode):
    """The packet on the air at the move is written with arrive null, in its place, keys in the same order."""
    text = _streamed(ON_THE_AIR, mode, 4.0)
    assert text == _recorded(ON_THE_AIR, mode, 4.0)
    lost = [e for e in json.loads(text)["events"] if "src" in e and e["arrive"] is None]
    assert [(e["kind"], e["src"], e["dst"]) for e in lost] == [("DATA", "MAR1", "MN1")]


def test_an_empty_run_and_a_run_of_nothing():
    """No script, or until 0: a valid document with an empty event list, as json.dumps writes it."""
    scenario = {**_builtin("fig5-handover"), "script": []}
    assert _streamed(scenario, None, 3.0) == _recorded(scenario, None, 3.0)
    assert _streamed(_builtin("fig5-handover"), None, 0.0) == _recorded(_builtin("fig5-handover"), None, 0.0)


def test_constant_memory():
    """mostly_static written for 40 s and for 200 s: five times the bytes, about the same peak memory."""
    peaks, sizes = [], []
    scenario = json.loads(MOSTLY_STATIC.read_text())
    for until in (40.0, 200.0):
        written = 0

        def sink(piece: str) -> None:
            nonlocal written
            written += len(piece)

        sim = Simulation(load_scenario(copy.deepcopy(scenario)), record=False)
        tracemalloc.start()
        write_trace(sim, until, sink)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        sizes.append(written)
    assert sizes[1] > 4.5 * sizes[0]
    assert peaks[1] < 1.3 * peaks[0] + 100_000, (peaks, sizes)


def test_cli_streams_the_trace_to_a_file_and_to_standard_output(tmp_path):
    """`run --export trace` writes the same bytes as before (to -o; standard output ends with a newline), and still
    warns on standard error about script actions the design refuses."""
    scenario = ROOT / "dmmviz" / "builtin_scenarios" / "fig6-multi-interface.json"
    expected = _recorded(_builtin("fig6-multi-interface"), "client-dmm", 12.0)
    out = tmp_path / "trace.json"
    cmd = [sys.executable, "-m", "simulator", "run", str(scenario), "--export", "trace", "--until", "12",
           "--mode", "client-dmm"]
    result = subprocess.run([*cmd, "-o", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == expected
    assert "move_flow of MN1 refused under client-dmm" in result.stderr
    assert not Path(str(out) + ".part").exists()
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0 and result.stdout == expected + "\n"


def test_cli_metrics_are_the_observed_metrics():
    """`run --export metrics` (an observer during the run) prints what compute_metrics gives for the whole trace."""
    sim = Simulation(load_scenario(_builtin("fig5-handover")))
    sim.run(15.0)
    expected = json.dumps(compute_metrics(sim.trace(), sim.scenario), indent=1)
    scenario = ROOT / "dmmviz" / "builtin_scenarios" / "fig5-handover.json"
    result = subprocess.run([sys.executable, "-m", "simulator", "run", str(scenario), "--export", "metrics",
                             "--until", "15"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected + "\n"


def test_event_writer_is_json_dumps_for_any_value():
    """The direct writer gives json.dumps(indent=1)'s bytes for every kind of value an event may hold: nested lists
    and dicts, empty ones, unicode and line separators (escaped), big ints, floats, tuples, non-finite floats."""
    from simulator.export.trace import _event_text

    samples = [
        {"t": 0.1, "kind": "RA", "prefixes": [{"prefix": "2001:db8::/64", "valid_lifetime": 2592000.0}], "x": []},
        {"t": 1e-7, "kind": "x\u2028y\n\"\\", "id": 2**70, "flag": True, "none": None, "empty": {}, "f": False},
        {"t": 3, "kind": "é漢字\x00", "entries": [[1, [2, {}]], {"a": [None]}], "pair": (1, "a")},
        {"t": float("inf"), "kind": "nan", "v": float("nan")},
    ]
    for event in samples:
        assert _event_text(event) == "\n  " + json.dumps(event, indent=1).replace("\n", "\n  ")
