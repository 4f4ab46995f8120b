"""python -m simulator validate / run, as a user types them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import ROOT, SCENARIOS


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "simulator", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "s.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def base():
    return json.loads((SCENARIOS / "fig5-handover.json").read_text())


@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIOS.glob("*.json")))
def test_validate_public_scenarios(name):
    """Every shipped scenario validates."""
    result = cli("validate", SCENARIOS / f"{name}.json")
    assert result.returncode == 0, result.stderr


def test_run_exports_trace_and_state_json():
    """run --export trace|state prints the documented formats."""
    trace = json.loads(cli("run", SCENARIOS / "fig5-handover.json", "--export", "trace", "--until", "10").stdout)
    assert trace["format"] == "dmmviz-trace/1" and trace["mode"] == "network-dmm" and trace["events"]
    assert all(e["t"] <= 10 for e in trace["events"])
    state = json.loads(cli("run", SCENARIOS / "fig5-handover.json", "--export", "state", "--until", "4").stdout)
    assert state["format"] == "dmmviz-state/1" and state["mns"]["MN1"]["interfaces"] == {"if1": "MAR1"}


def test_run_writes_output_file(tmp_path):
    out = tmp_path / "state.json"
    result = cli("run", SCENARIOS / "fig5-handover.json", "--export", "state", "-o", out)
    assert result.returncode == 0 and json.loads(out.read_text())["t"] == 12.0  # last action 7 s + 5 s


@pytest.mark.parametrize(
    "mutate, line",
    [
        (
            lambda d: d["script"].append({"at": 9, "action": "move", "mn": "MN1", "mar": "MAR9"}),
            "script[4].mar: unknown MAR 'MAR9'",
        ),
        (
            lambda d: d["script"].append({"at": 9, "action": "move", "mn": "MN1", "mar": "MAR2"}),
            "script[4].mar: MN1 if1 is already on MAR2",
        ),
        (
            lambda d: d["script"].append({"at": 9, "action": "stop_flow", "mn": "MN1", "flow": "flow7"}),
            "script[4].flow: MN1 has no active flow 'flow7'",
        ),
        (
            lambda d: d["script"].insert(0, {"at": 0, "action": "start_flow", "mn": "MN1", "flow": "x", "cn": "CN1"}),
            "script[0].mn: MN1 has no attached interface, so it has no prefix for a new flow",
        ),
        (
            lambda d: d["network"]["mars"][1].update(prefix_pool="2001:db8:1::/48"),
            "network.mars[1].prefix_pool: overlaps network.mars[0].prefix_pool",
        ),
        (
            lambda d: d["network"]["mars"][0].update(prefix_pool="2001:db8:1::/64"),
            "network.mars[0].prefix_pool: '2001:db8:1::/64' must be a /48 to /60",
        ),
        (
            lambda d: d["network"]["cns"][0].update(address="nope"),
            "network.cns[0].address: 'nope' is not an IPv6 address",
        ),
        (
            lambda d: d["network"]["links"][0].update(between=["MAR1", "MAR7"]),
            "network.links[0].between[1]: unknown node 'MAR7'",
        ),
        (lambda d: d.update(format="dmmviz-scenario/9"), "format: must be 'dmmviz-scenario/1'"),
        (lambda d: d["script"][1].pop("flow"), "script[1].flow"),
        (lambda d: d["script"][0].update(at=-1), "script[0].at: -1 is less than the minimum of 0"),
        (
            lambda d: d.update(timers={"warp": 2}),
            "timers: Additional properties are not allowed ('warp' was unexpected)",
        ),
        (lambda d: d["mobile_nodes"].append({"id": "MAR1"}), "mobile_nodes[1].id: duplicate id 'MAR1'"),
    ],
)
def test_validate_bad_file_names_the_path(tmp_path, mutate, line):
    """Each problem is one line starting with its JSON path; exit 2; no traceback."""
    data = base()
    mutate(data)
    result = cli("validate", write(tmp_path, data))
    assert result.returncode == 2
    assert any(row.startswith(line) for row in result.stderr.splitlines()), result.stderr
    assert "Traceback" not in result.stderr
    run = cli("run", write(tmp_path, data), "--export", "trace")
    assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr


def test_validate_not_json(tmp_path):
    result = cli("validate", write(tmp_path, '{"format": '))
    assert result.returncode == 2 and "not valid JSON" in result.stderr and "line 1" in result.stderr


def test_validate_missing_file():
    result = cli("validate", "/nonexistent/x.json")
    assert result.returncode == 2 and "cannot read" in result.stderr and "Traceback" not in result.stderr


def test_run_bad_arguments_exit_2():
    result = cli("run", SCENARIOS / "fig5-handover.json", "--export", "gif")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_schema_command_prints_published_schema():
    """The schema the CLI prints is the one published in docs/."""
    printed = json.loads(cli("schema").stdout)
    published = json.loads((ROOT / "docs" / "scenario.schema.json").read_text())
    assert printed == published


def test_trace_independent_of_hash_seed():
    """Two processes with different string-hash seeds print the same trace, byte for byte."""
    import os

    outputs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-m", "simulator", "run", str(SCENARIOS / "fig4-three-mars.json"), "--export", "trace"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
        )
        outputs.append(result.stdout)
    assert outputs[0] and outputs[0] == outputs[1]


@pytest.mark.parametrize(
    "mutate, line",
    [
        (lambda d: d.update(title="T" * 5000), "title: is 5000 characters long; at most 200"),
        (lambda d: d.update(mobile_nodes={"id": "MN1"}), "mobile_nodes: must be an array, not an object"),
        (
            lambda d: d.update(mode="quantum"),
            'mode: "quantum" is not one of "network-dmm", "client-dmm", "centralized-pmipv6"',
        ),
        (lambda d: d["mobile_nodes"][0].update(interfaces=[]), "mobile_nodes[0].interfaces: has 0 items; at least 1"),
    ],
)
def test_schema_errors_are_short_and_specific(tmp_path, mutate, line):
    """Schema problems say what is wrong in a line a person reads, never the whole offending value."""
    data = base()
    mutate(data)
    result = cli("validate", write(tmp_path, data))
    assert result.returncode == 2 and line in result.stderr.splitlines()
    assert all(len(row) < 300 for row in result.stderr.splitlines())


def test_run_warns_about_script_actions_the_mode_refuses():
    """Figure 6's move_flow under client-dmm is refused: the export still comes, and stderr says what was left out."""
    result = cli("run", SCENARIOS / "fig6-multi-interface.json", "--mode", "client-dmm", "--export", "trace")
    assert result.returncode == 0 and json.loads(result.stdout)["mode"] == "client-dmm"
    assert "warning: t=5 s: move_flow of MN1 refused under client-dmm" in result.stderr


def test_layout_may_place_the_core_but_not_unknown_nodes(tmp_path):
    data = base()
    data["layout"] = {"core": [400, 300], "MAR1": [100, 500]}
    assert cli("validate", write(tmp_path, data)).returncode == 0
    data["layout"]["MAR7"] = [1, 2]
    result = cli("validate", write(tmp_path, data))
    assert result.returncode == 2 and "layout.MAR7: unknown node 'MAR7'" in result.stderr


@pytest.mark.parametrize("mode", ["network-dmm", "client-dmm"])
def test_state_export_keeps_no_events_and_matches_a_recorded_run(mode):
    """--export state runs unrecorded (memory follows the tables, not the events: a 500-MN city's state export went
    from 691 MB to 82 MB peak), yet gives the same tables and the same refused-action warnings as a recorded run."""
    from simulator import Simulation, load_scenario
    from simulator.cli import refused, refused_actions, run_unwatched

    scenario = load_scenario(SCENARIOS / "fig6-multi-interface.json")
    recorded = Simulation(scenario, mode=mode)
    recorded.run(12)
    streamed = run_unwatched(Simulation(scenario, mode=mode, record=False), 12)
    lines = [line for step in streamed.refused_steps if (line := refused(step, mode))]
    assert streamed.events == [] and streamed.now == 12
    assert streamed.refused_steps == [{k: v for k, v in e.items() if k != "seq"} for e in recorded.events
                                      if e["kind"] == "action_rejected"]
    assert streamed.snapshot() == recorded.snapshot()
    assert lines == refused_actions(recorded)
    assert (mode == "client-dmm") == bool(lines)  # fig6's move_flow is refused outside network-dmm
    result = cli("run", SCENARIOS / "fig6-multi-interface.json", "--export", "state", "--until", "12", "--mode", mode)
    assert json.loads(result.stdout) == json.loads(json.dumps(recorded.snapshot()))
    assert result.stderr.splitlines() == lines


@pytest.mark.parametrize("export", ["state", "metrics", "trace", "ascii"])
def test_run_over_its_work_budget_says_so_without_a_traceback(export, monkeypatch, capsys):
    """An engine call over its budget (the limits at the edge keep valid scenarios far from it; here the budget is
    made tiny) ends the command with exit 2 and one line naming the limit, streamed export or not."""
    import simulator.engine
    from simulator.cli import main
    from simulator.limits import Budget

    monkeypatch.setattr(simulator.engine, "DEFAULT_BUDGET", Budget(max_items=50, poll_every=10))
    assert main(["run", str(SCENARIOS / "fig5-handover.json"), "--export", export, "--until", "20"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: too much work: more than 50 scheduled items in one call (at t = ")
    assert "Traceback" not in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("args, says", [
    (["--until", "nan"], "--until: 'nan': a time from 0 to 86400 s"),
    (["--until", "1e308"], "--until: '1e308': a time from 0 to 86400 s"),
    (["--until", "86401"], "--until: '86401': a time from 0 to 86400 s"),
    (["--seed", "-5"], "--seed: '-5': a whole number from 0 to"),
    (["--seed", "99999999999999999999999"], "--seed: '99999999999999999999999': a whole number"),
])
def test_run_refuses_out_of_range_arguments_in_one_line(args, says):
    """They were tracebacks (ValueError, OverflowError, ScenarioError) with exit 1."""
    result = cli("run", SCENARIOS / "fig5-handover.json", "--export", "metrics", *args)
    assert result.returncode == 2 and says in result.stderr and "Traceback" not in result.stderr


def test_a_file_that_is_not_utf8_is_one_line_and_a_byte_order_mark_is_allowed(tmp_path):
    """As on the web: a BOM is fine; Latin-1 text was a UnicodeDecodeError traceback."""
    document = json.loads((SCENARIOS / "fig5-handover.json").read_text())
    document["title"] = "café"
    latin, bom = tmp_path / "latin.json", tmp_path / "bom.json"
    latin.write_text(json.dumps(document, ensure_ascii=False), encoding="latin-1")
    bom.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8-sig")
    result = cli("validate", latin)
    assert result.returncode == 2 and "not UTF-8 text" in result.stderr and "Traceback" not in result.stderr
    assert cli("validate", bom).returncode == 0


def test_a_diagram_of_a_day_long_run_is_refused_in_one_line_before_memory_runs_out(tmp_path):
    """A 1 KB file whose flow runs for a day: its SVG took 3 GB of memory, its capture 2 GB. A diagram or capture keeps
    every event; past limits.MAX_DIAGRAM_EVENTS the run stops with exit 2 and says what to do instead."""
    document = json.loads((SCENARIOS / "fig5-handover.json").read_text())
    document["script"] = [s for s in document["script"] if s["action"] != "move"]
    document["script"].append({"at": 86_400, "action": "move", "mn": "MN1", "mar": "MAR2"})
    path = tmp_path / "day.json"
    path.write_text(json.dumps(document))
    result = cli("run", path, "--export", "svg", "-o", tmp_path / "day.svg")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "more than 500,000 events" in result.stderr and "--until" in result.stderr
    assert not (tmp_path / "day.svg").exists()


def test_run_draws_a_chosen_window_and_chosen_nodes_as_the_web_does():
    """--start, --end, --nodes, --data and --time-axis are the web export's options: an error that said "choose the
    nodes with the 'nodes' option" named an option the command line did not have."""
    result = cli("run", SCENARIOS / "fig5-handover.json", "--export", "ascii", "--start", "5", "--end", "5.1",
                 "--nodes", "MN1,MAR2,MAR1", "--time-axis")
    assert result.returncode == 0, result.stderr
    head = result.stdout.splitlines()[0].split()
    assert head == ["t", "(s)", "MN1", "MAR2", "MAR1"]
    assert "RS" in result.stdout and "CN1" not in result.stdout and "4.800" not in result.stdout
    refused = cli("run", SCENARIOS / "fig5-handover.json", "--export", "trace", "--start", "5")
    assert refused.returncode == 2 and "diagram or capture" in refused.stderr
    unknown = cli("run", SCENARIOS / "fig5-handover.json", "--export", "svg", "--nodes", "NOPE")
    assert unknown.returncode == 2 and "unknown node 'NOPE'" in unknown.stderr
