"""`compare`: one scenario under the three anchoring designs, and the seed's section 2 claims in numbers.

mostly_static.json: seven MNs attach once and keep one flow each; MN8 walks MAR1 -> MAR2 -> MAR3 with a flow started
before the first move and another after it. 4 MARs in a row (2 ms links), one LMA, two CNs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator import ScenarioError
from simulator.compare import MODES, compare, format_table, rows

MOSTLY_STATIC = Path(__file__).with_name("mostly_static.json")


@pytest.fixture(scope="module")
def result() -> dict:
    return compare(json.loads(MOSTLY_STATIC.read_text()))


def both(result: dict) -> tuple[dict, dict]:
    """The summaries of network-dmm and centralized-pmipv6."""
    return result["runs"]["network-dmm"]["summary"], result["runs"]["centralized-pmipv6"]["summary"]


def test_compare_runs_every_mode_until_default_end(result):
    """Without --until the run goes 5 s past the last script action (12 s); network-dmm always runs."""
    assert result["format"] == "dmmviz-compare/1" and result["until"] == 17.0
    assert result["modes"] == list(MODES)
    assert set(result["runs"]) == set(MODES)
    dmm = result["runs"]["network-dmm"]
    assert dmm["available"] and dmm["metrics"]["mode"] == "network-dmm"
    for mode, run in result["runs"].items():
        assert run["available"] and run["metrics"]["mode"] == mode


def test_network_dmm_mostly_static_by_hand(result):
    """network-dmm on mostly_static: 8 first attaches x (RS, DB_UPDATE, RA) plus 2 moves x (RS, DB_QUERY, DB_REPLY, RA),
    plus PBU/PBA: at the first move 1 (walk1 -> MAR1), at the second 2 (walk1 -> MAR1, walk2 -> MAR2).
    Handovers: 28 ms (PBU/PBA over the 2 ms MAR1-MAR2 link), then 32 ms (MAR3 -> MAR1 is 4 ms via MAR2)."""
    s = result["runs"]["network-dmm"]["summary"]
    assert {k: v for k, v in s["messages"].items() if k != "DATA"} == {
        "RS": 10, "RA": 10, "DB_UPDATE": 8, "DB_QUERY": 2, "DB_REPLY": 2, "PBU": 3, "PBA": 3
    }
    assert s["handovers"] == 2 and s["handover_latency_ms_mean"] == pytest.approx(30.0)
    # after the second move MAR1 anchors walk1 and MAR2 walk2 for MAR3, whose BUL holds both
    assert s["binding_peak_busiest"] == {"node": "MAR3", "value": 2}
    assert s["tunnels_peak"] == 2


def test_seed_claim_less_binding_signalling_under_dmm(result):
    """Seed §2 / REQ2: only the walker's active flows get mobility signalling under network-dmm (3 PBU + 3 PBA),
    while under one LMA every attach registers (8 MNs + 2 moves)."""
    dmm, central = both(result)
    assert dmm["binding_messages"] == 6
    assert central["binding_messages"] >= 2 * 10
    assert dmm["binding_messages"] < central["binding_messages"]


def test_seed_claim_lower_stretch_under_dmm(result):
    """Seed §2: the LMA stretches every path (3 hops instead of 2 for all 9 flows); distributed anchoring only the
    walker's old flows after they moved."""
    dmm, central = both(result)
    assert central["stretch_mean"] == pytest.approx(1.5)
    assert 1.0 <= dmm["stretch_mean"] < 1.1
    assert dmm["delay_stretch_mean"] < central["delay_stretch_mean"]


def test_seed_claim_state_and_traffic_concentrated_at_lma(result):
    """Seed §2: the LMA keeps a binding for all 8 MNs (moving or not) and carries every data packet; under
    network-dmm no node holds more than 2 bindings and the busiest router carries less traffic."""
    dmm, central = both(result)
    assert central["binding_peak_busiest"] == {"node": "LMA", "value": 8}
    assert dmm["binding_peak_busiest"]["value"] <= 2
    assert central["data_busiest"]["node"] == "LMA"
    assert dmm["data_busiest"]["value"] < central["data_busiest"]["value"]
    assert dmm["tunnels_peak"] < central["tunnels_peak"]


def test_format_table_lists_modes_side_by_side(result):
    """The table has one column per mode and the rows an instructor needs, a number in every cell (no n/a)."""
    table = format_table(result)
    header = table.splitlines()[2]
    assert header.split() == list(MODES)
    for label in ("Signalling messages", "Mean handover latency", "Mean interruption", "Packets lost",
                  "Mean path stretch (hops)", "State entries at peak, busiest node", "Tunnels at peak"):
        assert any(line.startswith(label) for line in table.splitlines()), label
    latency = next(line for line in table.splitlines() if line.startswith("Mean handover latency"))
    assert "30 ms" in latency
    assert "n/a" not in table


def test_compare_raises_an_engine_error_instead_of_hiding_the_column(monkeypatch):
    """A design that breaks (the engine raises ValueError) fails compare loudly: no `available: false` column."""
    import simulator.compare as compare_module

    real = compare_module.Simulation

    def broken(scenario, mode=None, **kw):
        if mode == "client-dmm":
            raise ValueError("client-dmm: broken on purpose")
        return real(scenario, mode=mode, **kw)

    monkeypatch.setattr(compare_module, "Simulation", broken)
    with pytest.raises(ValueError, match="broken on purpose"):
        compare(json.loads(MOSTLY_STATIC.read_text()))


def test_rows_carry_numbers_for_charts(result):
    """rows() gives the numbers the web page draws: one value per mode that ran, busiest-node rows name the node."""
    by_key = {row.key: row for row in rows(result)}
    assert by_key["signalling"].values["network-dmm"] == 38
    assert by_key["kind-PBU"].indent and not by_key["kind-PBU"].chart
    assert by_key["state-peak"].notes["network-dmm"] == "DB"


def test_compare_rejects_invalid_scenario():
    """An invalid scenario raises ScenarioError naming the problem, before any mode runs."""
    bad = json.loads(MOSTLY_STATIC.read_text())
    bad["script"][0]["mar"] = "MAR9"
    with pytest.raises(ScenarioError, match=r"script\[0\]\.mar: unknown MAR 'MAR9'"):
        compare(bad)


def test_compare_command_line_table_and_json(tmp_path):
    """`python -m simulator compare FILE` prints the table; `--export json` the same numbers as JSON."""
    cmd = [sys.executable, "-m", "simulator", "compare", str(MOSTLY_STATIC), "--until", "10"]
    table = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert "(until 10 s)" in table and "network-dmm" in table
    doc = json.loads(subprocess.run([*cmd, "--export", "json"], capture_output=True, text=True, check=True).stdout)
    assert doc["format"] == "dmmviz-compare/1" and doc["until"] == 10.0
    assert doc["runs"]["network-dmm"]["summary"]["handovers"] == 1  # the second move is at 12 s
