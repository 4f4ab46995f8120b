"""The live sequence panel's model (static/js/seqfold.js), built in the page from the socket's events, is the server's
sequence.json model (simulator/export/sequence.py) for the same run: node folds the events exactly as the page gets
them (a snapshot's rewritten events, then each request's raw events) and the result is compared, item by item, with
sequence_model(sim.trace()) at the same points of the run, in all three designs, with a multi-interface MN, a
message lost in flight to a failed node, after a snapshot that starts the fold midway, and with the newest-items cap.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from simulator.commands import CommandError
from simulator.engine import Simulation
from simulator.export.sequence import sequence_model
from simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "dmmviz/builtin_scenarios"

HARNESS = r"""
import { readFileSync } from "node:fs";
const { SequenceFold, nodeRoles, MAX_ITEMS } = await import(process.argv[2]);
const input = JSON.parse(readFileSync(process.argv[3], "utf8"));
const roles = nodeRoles(input.scenario, input.state);
const fold = new SequenceFold(roles, { maxItems: input.maxItems ?? MAX_ITEMS });
const models = [];
input.batches.forEach((batch, i) => {
  if (batch.base) fold.base(batch.base); else fold.add(batch);
  if (input.checks.includes(i)) models.push(fold.model());
});
console.log(JSON.stringify({ roles, models, maxItems: MAX_ITEMS }));
"""


def run_node(tmp_path: Path, payload: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node is needed for this test (apt-get install nodejs)"
    (tmp_path / "harness.mjs").write_text(HARNESS)
    (tmp_path / "input.json").write_text(json.dumps(payload))
    out = subprocess.run([node, str(tmp_path / "harness.mjs"), str(ROOT / "static/js/seqfold.js"),
                          str(tmp_path / "input.json")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def drive(name: str, mode: str, steps: int, commands: dict[int, dict[str, Any]] | None = None,
          snapshot_at: int | None = None, fail_on_first: str | None = None):
    """Run a built-in scenario step by step as the socket would: batches of events (one per request), and the
    server's model after each. A snapshot at `snapshot_at` replaces the batches before it with the rewritten trace."""
    scenario = load_scenario(SCENARIOS / f"{name}.json")
    sim = Simulation(scenario, mode=mode)
    batches: list[Any] = []
    expected: list[dict[str, Any]] = []
    commands = dict(commands or {})
    failed = False
    for k in range(steps):
        if k == snapshot_at:
            batches = [json.loads(json.dumps(sim.trace()["events"]))]
            expected = [expected[-1]] if expected else []
        if k in commands:
            try:
                batches.append(json.loads(json.dumps(sim.apply(commands[k]))))
                expected.append(sequence_model(sim.trace()))
            except CommandError:
                pass  # not possible at this point under this design
        if sim.peek() is None:
            break
        events = sim.step()
        batches.append(json.loads(json.dumps(events)))  # as sent at that moment
        expected.append(sequence_model(sim.trace()))
        if fail_on_first and not failed:
            sent = [e for e in events if e["kind"] == fail_on_first and e.get("arrive")]
            if sent:  # the message is on its way: its destination fails before it arrives
                batches.append(sim.apply({"action": "fail", "node": sent[0]["dst"]}))
                expected.append(sequence_model(sim.trace()))
                failed = True
    return scenario, sim, batches, expected


def payload(scenario, sim, batches, **extra):
    return {"scenario": scenario, "state": sim.snapshot(), "batches": batches,
            "checks": list(range(len(batches))), **extra}


def same(model: dict[str, Any], want: dict[str, Any]) -> None:
    assert model["lifelines"] == want["lifelines"]
    assert model["items"] == want["items"]
    assert model["legend"] == want["legend"]


@pytest.mark.parametrize("mode", ["network-dmm", "client-dmm", "centralized-pmipv6"])
def test_fold_equals_the_servers_model_after_every_request(tmp_path, mode):
    scenario, sim, batches, expected = drive("fig5-handover", mode, 400, commands={
        60: {"action": "start_flow", "mn": "MN1", "flow": "mine", "cn": "CN2"},
        150: {"action": "move", "mn": "MN1", "interface": "if1", "mar": "MAR1"},
    })
    out = run_node(tmp_path, payload(scenario, sim, batches))
    assert out["roles"] == sim.trace()["nodes"]  # the page's nodes map is the trace's
    assert len(out["models"]) == len(expected) > 100
    assert expected[-1]["items"] and any(i["type"] == "note" for i in expected[-1]["items"])
    for model, want in zip(out["models"], expected, strict=True):
        same(model, want)


def test_multi_interface_labels_change_when_a_second_interface_appears(tmp_path):
    """RS/RA labels name the interface once an MN has used two: older arrows are relabelled, as the server does."""
    scenario, sim, batches, expected = drive("fig6-multi-interface", "network-dmm", 500)
    labels = [i["label"] for i in expected[-1]["items"] if i["type"] == "message"]
    assert any(re.match(r"RS \S+", label) for label in labels), labels
    out = run_node(tmp_path, payload(scenario, sim, batches))
    for model, want in zip(out["models"], expected, strict=True):
        same(model, want)


def test_a_message_lost_in_flight_becomes_a_lost_arrow(tmp_path):
    scenario, sim, batches, expected = drive("fig5-handover", "network-dmm", 200, fail_on_first="PBA")
    lost = [i for i in expected[-1]["items"] if i["type"] == "message" and i["lost"]]
    assert lost and lost[0]["kind"] == "PBA" and lost[0]["label"].endswith("lost: fail")
    out = run_node(tmp_path, payload(scenario, sim, batches))
    for model, want in zip(out["models"], expected, strict=True):
        same(model, want)


def test_a_snapshot_midway_then_increments(tmp_path):
    """A tab that connects midway folds the snapshot's (rewritten) events, then each request's."""
    scenario, sim, batches, expected = drive("fig4-three-mars", "network-dmm", 300, snapshot_at=120)
    out = run_node(tmp_path, payload(scenario, sim, batches))
    for model, want in zip(out["models"], expected, strict=True):
        same(model, want)


def test_a_base_model_from_the_server_then_increments(tmp_path):
    """A snapshot that left early events out: the panel fetches sequence.json once and folds the rest on top."""
    scenario, sim, batches, expected = drive("fig5-handover", "network-dmm", 300)
    cut = 150
    rest = batches[cut + 1:]
    out = run_node(tmp_path, payload(scenario, sim, [{"base": expected[cut]}, *rest]))
    for model, want in zip(out["models"], expected[cut:], strict=True):
        same(model, want)


def test_the_panel_keeps_only_the_newest_items(tmp_path):
    scenario, sim, batches, expected = drive("fig5-handover", "network-dmm", 400)
    full = expected[-1]
    assert len(full["items"]) > 25
    out = run_node(tmp_path, payload(scenario, sim, batches, maxItems=12))
    assert out["maxItems"] == 1000  # the documented default (docs/visualiser.md)
    for model, want in zip(out["models"], expected, strict=True):
        assert model["items"] == want["items"][-12:]
    model = out["models"][-1]
    assert model["dropped"] == len(full["items"]) - 12
    used = {n for i in model["items"] for n in (i.get("over") or [i.get("node")] if i["type"] != "message"
                                               else [i["src"], i["dst"]])}
    assert model["lifelines"] == [lane for lane in full["lifelines"] if lane["id"] in used]


def test_a_long_steady_flow_keeps_its_count_and_only_its_newest_packet_ids(tmp_path):
    """A data fold of a long flow keeps counting but remembers only its newest MAX_FOLD_IDS (2,000) packet ids."""
    scenario = load_scenario(SCENARIOS / "fig4-three-mars.json")
    sim = Simulation(scenario, mode="network-dmm")
    batches = []
    while sim.now < 400 and sim.peek() is not None:
        batches.append(sim.step())
    want = sequence_model(sim.trace())
    assert max(i.get("count", 0) for i in want["items"]) > 2000
    out = run_node(tmp_path, {"scenario": scenario, "state": sim.snapshot(), "batches": batches,
                              "checks": [len(batches) - 1]})
    model = out["models"][0]
    assert [{**i, "ids": None} for i in model["items"]] == [{**i, "ids": None} for i in want["items"]]
    for got, item in zip(model["items"], want["items"], strict=True):
        assert got.get("ids") == (item["ids"][-2000:] if "ids" in item else None)
    assert model["lifelines"] == want["lifelines"] and model["legend"] == want["legend"]
