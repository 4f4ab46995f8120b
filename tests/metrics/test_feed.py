"""The observer fed straight from the engine (simulator/metrics_feed.py, issue 10 item 5): DATA segments reach it
without their event, yet the metrics are those of the recorded trace, with faults in force (a segment then goes
the engine's own way), and the observed simulation goes on exactly as one that nobody observed."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from simulator import Simulation, load_scenario
from simulator.limits import TooMuchWork, stop_hook
from simulator.metrics import MetricsObserver, compute_metrics, observe

ROOT = Path(__file__).resolve().parents[2]
MODES = ("network-dmm", "client-dmm", "centralized-pmipv6")
FAULTS = ("fault-db-down", "fault-lost-pba", "fault-registration-race")


def _scenario(name: str) -> dict:
    return json.loads((ROOT / "dmmviz" / "builtin_scenarios" / f"{name}.json").read_text())


def _lossy() -> dict:
    """fig5 with a lossy anchor, a failed and recovered MAR on the path, and a drop rule: DATA lost on the way, in
    flight to a failed node, and signalling dropped, while the MN moves."""
    scenario = copy.deepcopy(_scenario("fig5-handover"))
    mars = [m["id"] for m in scenario["network"]["mars"]]
    scenario["script"] += [
        {"at": 1.5, "action": "loss", "node": mars[0], "rate": 0.3},
        {"at": 2.5, "action": "fail", "node": mars[-1]},
        {"at": 3.5, "action": "recover", "node": mars[-1]},
        {"at": 4.5, "action": "drop", "kind": "PBA"},
    ]
    return scenario


def _recorded(scenario: dict, mode: str, until: float) -> dict:
    sim = Simulation(load_scenario(copy.deepcopy(scenario)), mode=mode)
    sim.run(until)
    return compute_metrics(sim.trace(), sim.scenario)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", [*FAULTS, "lossy"])
def test_fed_live_equals_the_recorded_trace_under_faults(name, mode):
    scenario = _lossy() if name == "lossy" else _scenario(name)
    streamed = observe(Simulation(load_scenario(copy.deepcopy(scenario)), mode=mode, record=False), 20.0)
    assert json.dumps(streamed, indent=1) == json.dumps(_recorded(scenario, mode, 20.0), indent=1)


def test_the_lossy_run_does_lose_data():
    """So the test above does follow the engine's own path for DATA under a fault."""
    metrics = observe(Simulation(load_scenario(_lossy()), record=False), 20.0)
    assert metrics["lost_messages"].get("DATA", 0) > 0


@pytest.mark.parametrize("mode", MODES)
def test_an_observed_simulation_goes_on_as_an_unobserved_one(mode):
    """After ``observe`` the simulation is the engine's own again: the same state, message ids and events from there
    on as a simulation run to the same time without an observer."""
    scenario = _lossy()
    observed = Simulation(load_scenario(copy.deepcopy(scenario)), mode=mode, record=False)
    observe(observed, 6.0)
    plain = Simulation(load_scenario(copy.deepcopy(scenario)), mode=mode, record=False)
    plain.run(6.0, collect=False)
    assert not {"_data", "_set_out"} & set(vars(observed))
    assert observed.snapshot() == plain.snapshot()
    assert observed.run(12.0) == plain.run(12.0)


def test_a_recording_simulation_keeps_every_event():
    """``observe`` on a simulation that records: its DATA events are recorded too, and the metrics are the same."""
    scenario = _scenario("fig5-handover")
    sim = Simulation(load_scenario(copy.deepcopy(scenario)))
    metrics = observe(sim, 10.0)
    assert metrics["data_segments"] == sum(e["kind"] == "DATA" for e in sim.events) > 0
    assert metrics == compute_metrics(sim.trace(), sim.scenario)


def test_on_event_sees_the_other_events():
    seen: list[str] = []
    observe(Simulation(load_scenario(_scenario("fig5-handover")), record=False), 10.0,
            on_event=lambda e: seen.append(e["kind"]))
    assert {"l2_attach", "PBU", "PBA", "RA", "flow_started"} <= set(seen)


def test_observe_stops_when_its_caller_says_so():
    """A page's CPU limit (a stop hook) stops ``observe`` between slices, however few items each slice has; the
    simulation is left where it stopped, restored to the engine's own methods."""
    asked: list[float] = []

    def hook() -> bool:
        asked.append(1.0)
        return len(asked) > 3

    sim = Simulation(load_scenario(_scenario("fig5-handover")), record=False)
    with stop_hook(hook), pytest.raises(TooMuchWork) as stopped:
        observe(sim, 60.0)
    assert stopped.value.reason == "stopped" and str(stopped.value).startswith("too much work: stopped by its caller")
    assert sim.now < 60.0 and not {"_data", "_set_out"} & set(vars(sim))


def test_a_second_observer_sees_the_run_from_where_it_came():
    """flow1 stops and starts again while its packets (every 10 ms over 100 ms links) are still on their way, and a
    second observer takes over in between: it follows each packet from the first segment it sees, as an observer fed
    the recorded trace from that point does."""
    scenario = _scenario("fig5-handover")
    scenario["timers"] = {"flow_interval": 0.01, "core_delay_ms": 100}
    scenario["script"] += [{"at": 4.9, "action": "stop_flow", "mn": "MN1", "flow": "flow1"},
                           {"at": 4.95, "action": "start_flow", "mn": "MN1", "flow": "flow1", "cn": "CN1"}]
    observed = Simulation(load_scenario(copy.deepcopy(scenario)), record=False)
    observe(observed, 4.93)
    second = observe(observed, 8.0)
    recorded = Simulation(load_scenario(copy.deepcopy(scenario)))
    recorded.run(4.93)
    split = len(recorded.events)
    recorded.run(8.0)
    observer = MetricsObserver(recorded.scenario, 8.0)
    for event in recorded.events[split:]:
        observer.feed(event)
    expected = observer.result()
    assert second["flows"]["flow1"]["delivered_down"] > 100
    assert json.dumps(second, indent=1) == json.dumps(expected, indent=1)


def test_packets_waiting_to_be_counted_stay_bounded_when_nothing_else_happens():
    """A flow at 100 packets a second for two minutes and no other event: a tapping engine emits nothing for its
    packets, yet the observer counts them as the run goes (the clock moves at each simulated second of the run), so
    the packets waiting to be counted are at most SWEEP_S (plus a second) of them, not every packet of the run."""
    from simulator.metrics import SWEEP_S
    from simulator.metrics_feed import run_fed

    scenario = copy.deepcopy(_scenario("fig5-handover"))
    scenario["timers"] = {"flow_interval": 0.01}
    scenario["script"] = [s for s in scenario["script"] if s["at"] < 2 and s["action"] in ("attach", "start_flow")]
    sim = Simulation(load_scenario(scenario), record=False)
    observer = MetricsObserver(sim.scenario, 120.0, mode=sim.mode)
    run_fed(sim, observer, 120.0)
    waiting = sum(len(info.pending_down) + len(info.pending_up) for info in observer.flows.values())
    (flow,) = observer.flows.values()
    assert flow.delivered_down + flow.delivered_up > 20_000  # the run did carry packets, counted as it went
    assert waiting <= 2 * (SWEEP_S + 1) / 0.01
    result = observer.result()
    assert result == observe(Simulation(load_scenario(scenario), record=False), 120.0)


def test_a_stopped_flow_keeps_only_the_arrival_a_later_handover_could_start_from():
    """Fig. 5 with flow1 stopped at 3 s, before the move at 5 s: from that handover on, flow1 can be in no handover's
    interruption but through a restart, so of its ten arrivals each way only the last one stays."""
    from simulator.metrics_feed import run_fed

    scenario = copy.deepcopy(_scenario("fig5-handover"))
    scenario["script"].append({"at": 3.0, "action": "stop_flow", "mn": "MN1", "flow": "flow1"})
    sim = Simulation(load_scenario(scenario), record=False)
    observer = MetricsObserver(sim.scenario, 10.0, mode=sim.mode)
    run_fed(sim, observer, 10.0)
    flow1 = observer.flows[("MN1", "flow1")]
    assert flow1.delivered_down > 5 and flow1.delivered_up > 5
    assert (len(flow1.recent_down), len(flow1.recent_up)) == (1, 1)
    assert observer.result() == observe(Simulation(load_scenario(scenario), record=False), 10.0)


def test_a_metrics_run_leaves_nothing_for_the_cyclic_collector():
    """The observer and everything it held are freed as soon as observe returns (reference counting), not at some
    later full collection: it held its handlers as bound methods once, a cycle through all its tables (on the 200 s
    city, 145,000 objects and a 0.6 s collection after the run)."""
    import gc

    sim = Simulation(load_scenario(_scenario("fig5-handover")), record=False)
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds is kept in gc.garbage, to be counted
        metrics = observe(sim, 20)
        assert metrics["handovers"]
        found = gc.collect()
        kinds = sorted({type(o).__name__ for o in gc.garbage})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()
    assert found == 0, kinds


def test_the_losses_an_observer_remembers_are_those_still_on_their_way_not_every_loss_of_the_run():
    """A lost message is remembered (so the drop that follows it is not counted twice) only as long as a message sent
    then can still be on its way: 300 s of a 30% lossy anchor, fed from the trace (whose lost DATA segments are
    events), loses over a thousand messages and remembers a few seconds' worth; the counts are the recorded trace's."""
    scenario = load_scenario(_lossy())
    recorded = Simulation(scenario)
    recorded.run(300)
    trace = recorded.trace()
    observer = MetricsObserver(scenario, 300.0, title=trace.get("title"), mode=trace.get("mode"))
    for event in sorted(trace["events"], key=lambda e: e["seq"]):
        observer.feed(event)
    observer.advance(300.0)
    lost = sum(observer.lost.values())
    assert lost > 1_000
    assert len(observer._lost_ids) < lost / 20, (len(observer._lost_ids), lost)
    assert observer.result() == compute_metrics(trace, scenario, 300.0)


def test_packets_lost_to_a_fault_are_lost_packets_of_their_flow():
    """A drop rule that loses every DATA segment: each packet is lost as its first segment is sent. flows[].lost
    counted only drop events, so the flow read 'delivered 0, lost 0' (or 1) while 90 packets vanished."""
    scenario = copy.deepcopy(_scenario("fig5-handover"))
    scenario["script"].insert(0, {"at": 0, "action": "drop", "kind": "DATA", "count": 1000})
    streamed = observe(Simulation(load_scenario(copy.deepcopy(scenario)), record=False), 10.0)
    recorded = _recorded(scenario, "network-dmm", 10.0)
    assert json.dumps(streamed, indent=1) == json.dumps(recorded, indent=1)
    flows = streamed["flows"].values()
    assert sum(f["delivered"] for f in flows) == 0
    # every segment lost in the network is a lost packet; a packet not sent at all (the MN between routers) too
    assert sum(f["lost"] for f in flows) >= streamed["lost_messages"]["DATA"] > 50
