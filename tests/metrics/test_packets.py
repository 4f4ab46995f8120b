"""A data packet is one chain of DATA segments with one packet number (docs/metrics.md "flows"), however long its
path: the number travels with the packet (it used to be the flow's counter at each hop, so a path longer than the
flow's interval gave one packet's segments two numbers and the metrics a 2 ms path for a 202 ms one)."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import pytest

from simulator import Simulation, load_scenario
from simulator.metrics import compute_metrics, observe

ROOT = Path(__file__).resolve().parents[2]


def _scenario(name: str, **timers: float) -> dict:
    scenario = json.loads((ROOT / "dmmviz" / "builtin_scenarios" / f"{name}.json").read_text())
    scenario.setdefault("timers", {}).update(timers)
    return scenario


def _trace(scenario: dict, mode: str, until: float) -> dict:
    sim = Simulation(load_scenario(copy.deepcopy(scenario)), mode=mode)
    sim.run(until, collect=False)
    return sim.trace()


def _chains(trace: dict, direction: str) -> dict[tuple[str, str, int], list[dict]]:
    chains: dict[tuple[str, str, int], list[dict]] = defaultdict(list)
    for e in trace["events"]:
        if e["kind"] == "DATA" and e["direction"] == direction:
            chains[(e["mn"], e["flow"], e["packet"])].append(e)
    return chains


@pytest.mark.parametrize("mode", ["network-dmm", "centralized-pmipv6", "client-dmm"])
def test_each_packet_number_is_one_chain_from_sender_to_receiver(mode):
    """Packets every 10 ms over 40 ms core links: several of a flow's packets are on their way at once, and each
    number still names one chain, each segment leaving where and when the one before arrived."""
    trace = _trace(_scenario("fig5-handover", flow_interval=0.01, core_delay_ms=40), mode, 8.0)
    chains = _chains(trace, "down")
    assert len(chains) > 500
    complete = 0
    for (mn, _, _), segments in chains.items():
        for before, after in pairwise(segments):
            assert (after["src"], after["t"]) == (before["dst"], before["arrive"]), segments
        complete += segments[-1]["dst"] == mn and segments[-1]["arrive"] is not None
    assert complete > 0.9 * len(chains)


def test_a_long_path_is_measured_whole():
    """Centralized PMIPv6 through a 100 ms LMA: every downlink packet goes CN -> LMA -> MAR -> MN in the tunnel."""
    scenario = _scenario("fault-registration-race")
    metrics = compute_metrics(_trace(scenario, "centralized-pmipv6", 30.0), load_scenario(copy.deepcopy(scenario)))
    flow = metrics["flows"]["f1"]
    assert flow["delivered_down"] > 100
    assert (flow["path_hops"], flow["direct_hops"]) == (3.0, 2.0)
    assert flow["path_delay_ms"] > flow["direct_delay_ms"] > 100
    assert flow["tunnelled_share"] == 1.0
    streamed = observe(Simulation(load_scenario(copy.deepcopy(scenario)), mode="centralized-pmipv6",
                                  record=False), 30.0)
    assert streamed["flows"]["f1"] == flow


def test_a_flow_started_again_goes_on_numbering():
    scenario = _scenario("fig5-handover")
    scenario["script"] += [{"at": 2.0, "action": "stop_flow", "mn": "MN1", "flow": "flow1"},
                           {"at": 2.5, "action": "start_flow", "mn": "MN1", "flow": "flow1", "cn": "CN1"}]
    trace = _trace(scenario, "network-dmm", 4.0)
    sent = [e["packet"] for e in trace["events"]
            if e["kind"] == "DATA" and e["flow"] == "flow1" and e["src"] == "CN1"]
    assert sent == list(range(1, len(sent) + 1))
    assert any(e["kind"] == "flow_stopped" for e in trace["events"])


@pytest.mark.parametrize("mode", ["network-dmm", "client-dmm"])
def test_a_packet_longer_on_its_way_than_the_sweep_is_still_one_packet(mode):
    """23 s from the CN to the MN (10 s core links, 3 s access): longer than the observer's 10 s sweep of unfinished
    packets, which forgets only those that can no longer go on."""
    scenario = _scenario("fig5-handover", core_delay_ms=10_000, access_delay_ms=3_000, flow_interval=0.05)
    until = 60.0
    trace = _trace(scenario, mode, until)
    metrics = compute_metrics(trace, load_scenario(copy.deepcopy(scenario)), until)
    assert metrics["flows"]["flow1"]["path_delay_ms"] == 23_000.0
    assert metrics["flows"]["flow1"]["delivered_down"] > 400
    assert observe(Simulation(load_scenario(copy.deepcopy(scenario)), mode=mode, record=False), until) == metrics
