"""`compare`'s "handover with one lost PBA" row (issue 13 item 9): each design run again with the answer to the first
move's registration lost, through the `drop` fault action of ../shared/spec/formats.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.compare import MODES, compare, format_table, lost_answer_scenario, rows

MOSTLY_STATIC = Path(__file__).with_name("mostly_static.json")


@pytest.fixture(scope="module")
def scenario() -> dict:
    return json.loads(MOSTLY_STATIC.read_text())


@pytest.fixture(scope="module")
def result(scenario) -> dict:
    return compare(scenario)


def test_the_fault_is_the_first_moves_answer(scenario):
    """One `drop` {kind, dst, count 1} at the first move: the PBA to the new MAR (network-dmm, centralized: the
    de-registration PBA goes to the old MAG and is not the one lost), the BA to the MN (client-dmm)."""
    move = min((s for s in scenario["script"] if s["action"] == "move"), key=lambda s: s["at"])
    for mode, (kind, dst) in {"network-dmm": ("PBA", move["mar"]), "centralized-pmipv6": ("PBA", move["mar"]),
                              "client-dmm": ("BA", move["mn"])}.items():
        faulted = lost_answer_scenario(scenario, mode)
        assert faulted["script"][:-1] == scenario["script"]
        assert faulted["script"][-1] == {"at": move["at"], "action": "drop", "kind": kind, "dst": dst, "count": 1}
    still = {**scenario, "script": [s for s in scenario["script"] if s["action"] != "move"]}
    assert lost_answer_scenario(still, "network-dmm") is None


def test_compare_runs_the_lost_answer_under_every_design(result):
    """The lost-answer runs exist for every design, and the table prints their row."""
    lost = result["lost_answer"]
    assert lost["supported"] and set(lost["runs"]) == set(MODES)
    assert "lost-pba-latency" in {row.key for row in rows(result)}
    assert "lost PBA" in format_table(result)


def test_lost_pba_row_per_design(result):
    """Each design loses exactly its one answer; its handover then takes longer than without the loss (the MAG
    retransmits after 1 s, RFC 5213 §6.9.4; the MN after 1.5 s, RFC 6275) or never completes within the run."""
    by_key = {row.key: row for row in rows(result)}
    row = by_key["lost-pba-latency"]
    assert set(row.values) == set(MODES)
    for mode in MODES:
        run = result["lost_answer"]["runs"][mode]
        kind = "BA" if mode == "client-dmm" else "PBA"
        assert run["lost"].get(kind) == 1
        normal = result["runs"][mode]["summary"]["handover_latency_ms_mean"]
        assert run["latency_ms"] is None or run["latency_ms"] > normal + 900
    assert "Handover with one lost PBA" in format_table(result)
