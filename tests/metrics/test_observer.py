"""The metrics observer (issue 10 item 5, issue 13 items 8-9): metrics computed event by event while the engine runs
equal those of the finished trace; memory follows the network's state, not the number of events; an outage reads
as an outage (null); lost messages and retransmissions are counted per kind."""

from __future__ import annotations

import copy
import json
import tracemalloc
from pathlib import Path

import pytest

from simulator import Simulation, load_scenario
from simulator.metrics import MetricsObserver, compute_metrics, observe

from .test_metrics_handmade import HNP1, SCENARIO, network_dmm_fig5
from .tracebuilder import TraceBuilder

ROOT = Path(__file__).resolve().parents[2]
MOSTLY_STATIC = json.loads((Path(__file__).with_name("mostly_static.json")).read_text())
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
RUNS = [(name, mode) for name in ("fig5-handover", "fig2-client-dmm", "fig6-multi-interface", "centralized-baseline")
        for mode in ("network-dmm", "client-dmm", "centralized-pmipv6")]


def _scenario(name: str) -> dict:
    return json.loads((ROOT / "dmmviz" / "builtin_scenarios" / f"{name}.json").read_text())


def _both(scenario: dict, mode: str, until: float) -> tuple[dict, dict]:
    """(metrics of the recorded trace, metrics observed while the engine ran without recording)."""
    sim = Simulation(load_scenario(copy.deepcopy(scenario)), mode=mode)
    sim.run(until)
    recorded = compute_metrics(sim.trace(), sim.scenario)
    streamed = observe(Simulation(load_scenario(copy.deepcopy(scenario)), mode=mode, record=False), until)
    return recorded, streamed


@pytest.mark.parametrize(("name", "mode"), RUNS)
def test_observed_while_running_equals_the_finished_trace(name, mode):
    recorded, streamed = _both(_scenario(name), mode, 20.0)
    assert json.dumps(streamed, sort_keys=True) == json.dumps(recorded, sort_keys=True)


@pytest.mark.parametrize("mode", ["network-dmm", "client-dmm"])
def test_a_packet_lost_in_flight_counts_once_either_way(mode):
    """The engine says a packet was lost on the air with a drop at its arrival time; the trace marks the message
    arrive null. Fed live or from the trace, it is one lost DATA message and not a delivered packet."""
    recorded, streamed = _both(ON_THE_AIR, mode, 4.0)
    assert recorded["lost_messages"] == streamed["lost_messages"] == {"DATA": 1}
    assert streamed["flows"]["flow1"] == recorded["flows"]["flow1"]
    assert streamed["summary"]["messages_lost"] == 1


def test_memory_follows_the_network_not_the_event_count():
    """mostly_static (8 MNs, 9 flows) observed for 40 s and for 200 s: five times the events, about the same memory
    held by the observer at the end (packets in flight, flows, tables; not the events)."""
    sizes, events = [], []
    for until in (40.0, 200.0):
        sim = Simulation(load_scenario(copy.deepcopy(MOSTLY_STATIC)), record=False)
        observer = MetricsObserver(sim.scenario, until)
        count = 0
        tracemalloc.start()
        t = 0.0
        while t < until:
            t = min(until, t + 1.0)
            for event in sim.run(t):
                observer.feed(event)
                count += 1
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        sizes.append(current)
        events.append(count)
        assert observer.result()["flows"]
    assert events[1] > 4.5 * events[0]
    assert sizes[1] < 1.5 * sizes[0] + 200_000, (sizes, events)


def test_interruption_is_null_when_a_direction_never_recovers():
    """Figure 5 by hand, but the downlink never comes back after the handover (the uplink does, at 402 ms): the
    flow's interruption is an outage, null, never the finite uplink figure; the outage is listed and counted."""
    trace = network_dmm_fig5()
    trace["events"] = [e for e in trace["events"]
                       if not (e["kind"] == "DATA" and e.get("direction") == "down" and e["t"] > 5.1)]
    (h,) = compute_metrics(trace, SCENARIO)["handovers"]
    assert h["interruption_by_direction_ms"]["flow1"] == {"down": None, "up": pytest.approx(402.0)}
    assert h["interruption_ms"] == {"flow1": None}
    assert h["unrecovered"] == ["flow1"]
    m = compute_metrics(trace, SCENARIO)
    assert m["summary"]["interruptions_unrecovered"] == 1 and m["summary"]["interruption_ms_mean"] is None
    # both directions back: a figure, nothing unrecovered
    ok = compute_metrics(network_dmm_fig5(), SCENARIO)
    assert ok["handovers"][0]["unrecovered"] == [] and ok["summary"]["interruptions_unrecovered"] == 0


def _lost_pba_then_retransmitted(mark: bool | None) -> dict:
    """Figure 5's handover where the first PBA is lost; MAR2 sends the PBU again 1 s later (RFC 5213 §6.9.4), with a
    new sequence number, and that one is answered. ``mark``: the engine's ``retransmission`` key, or none."""
    b = TraceBuilder("network-dmm")
    b.state("l2_attach", 0.0, node="MAR1", mn="MN1", interface="if1")
    b.msg("RS", "MN1", "MAR1", 0.0, 2, mn="MN1", interface="if1")
    b.msg("RA", "MAR1", "MN1", 0.002, 2, mn="MN1", interface="if1", prefixes=[{"prefix": HNP1}])
    b.state("flow_started", 4.4, node="MN1", mn="MN1", flow="flow1", cn="CN1", interface="if1", prefix=HNP1,
            anchor="MAR1")
    b.state("l2_detach", 5.0, node="MAR1", mn="MN1", interface="if1")
    b.state("l2_attach", 5.05, node="MAR2", mn="MN1", interface="if1")
    b.msg("RS", "MN1", "MAR2", 5.05, 2, mn="MN1", interface="if1")
    extra = {} if mark is None else {"retransmission": False}
    b.msg("PBU", "MAR2", "MAR1", 5.072, 2, mn="MN1", hnps=[HNP1], lifetime=3600, sequence=1, flags="AHP",
          handoff_indicator=3, **extra)
    b.msg("PBA", "MAR1", "MAR2", 5.074, None, mn="MN1", hnps=[HNP1], status=0, sequence=1, lifetime=3600,
          lost="fault")
    extra = {} if mark is None else {"retransmission": mark}
    b.msg("PBU", "MAR2", "MAR1", 6.072, 2, mn="MN1", hnps=[HNP1], lifetime=3600, sequence=2, flags="AHP",
          handoff_indicator=3, **extra)
    b.msg("PBA", "MAR1", "MAR2", 6.074, 2, mn="MN1", hnps=[HNP1], status=0, sequence=2, lifetime=3600)
    b.msg("RA", "MAR2", "MN1", 6.076, 2, mn="MN1", interface="if1", prefixes=[{"prefix": HNP1}])
    return b.trace()


@pytest.mark.parametrize("mark", [None, True])
def test_retransmission_and_lost_pba_counted(mark):
    """One lost PBA and one retransmitted PBU, counted per kind whether the engine marks the retransmission or not;
    the handover completes with the RA after the second PBA: 1,028 ms."""
    m = compute_metrics(_lost_pba_then_retransmitted(mark), SCENARIO)
    assert m["lost_messages"] == {"PBA": 1}
    assert m["retransmissions"] == {"PBU": 1}
    assert (m["summary"]["messages_lost"], m["summary"]["retransmissions"]) == (1, 1)
    (h,) = m["handovers"]
    assert h["latency_ms"] == pytest.approx(1028.0)


def test_engine_mark_wins_over_the_guess():
    """An engine that says a re-sent PBU is not a retransmission (a new registration) is believed."""
    m = compute_metrics(_lost_pba_then_retransmitted(False), SCENARIO)
    assert m["retransmissions"] == {}


def test_re_registration_after_an_answer_is_not_a_retransmission():
    """Figure 5 run for 20 s: registrations that were answered and later ones are not retransmissions."""
    recorded, _ = _both(_scenario("fig5-handover"), "network-dmm", 20.0)
    assert recorded["retransmissions"] == {} and recorded["lost_messages"] == {}



def test_an_unanswered_binding_re_sent_without_marks_is_remembered_once_not_once_per_try():
    """A trace from an engine that does not number its tries: 200 PBUs for one binding, each with a new sequence
    number, none answered. Each after the first is a retransmission, and the observer remembers the binding's last
    request only (it kept every sequence number before)."""
    b = TraceBuilder("network-dmm")
    b.state("l2_attach", 0.0, node="MAR1", mn="MN1", interface="if1")
    for k in range(200):
        b.msg("PBU", "MAR2", "MAR1", 1.0 + k, 2, mn="MN1", hnps=[HNP1], lifetime=3600, sequence=k, flags="AHP",
              handoff_indicator=3)
    observer = MetricsObserver(SCENARIO, None)
    for event in b.trace()["events"]:
        observer.feed(event)
    assert observer.retransmissions == {"PBU": 199}
    assert (len(observer._pending), len(observer._pending_by_seq)) == (1, 1)
