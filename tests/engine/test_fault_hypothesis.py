"""Hypothesis sessions with random faults (issue 13 item 11): whatever users do and whatever breaks, no stale binding
ever wins; once the faults end and things settle every active flow is delivered both ways again; and the session DB
equals the anchors' prefixes and bindings after recovery.

The random faults are drops of any message kind but DB_UPDATE, loss at a CN, and failures of MARs and of the DB.
A DB_UPDATE is not acknowledged in this model (docs/engine.md "Faults and timers"), so a lost one leaves the DB
stale until the DB's next restart: that is a known limit, kept out of the random set on purpose."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import Simulation, load_scenario

from .helpers import scenario
from .test_invariants import check_delivery, check_invariants, possible_commands

KINDS = ("RS", "RA", "PBU", "PBA", "DB_QUERY", "DB_REPLY", "DATA", "HEARTBEAT")
# Short timers keep each example quick: back-off 1, 2, 4 s, then the MAR gives up (and the MN's traffic brings the
# registration back); RSs 1 to 4 s apart. SETTLE is longer than any back-off.
TIMERS = {"max_bindack_timeout": 4, "rtr_solicitation_interval": 1, "max_rtr_solicitation_interval": 4}
SETTLE = 20.0


def fault_commands(sim):
    out = [{"action": "drop", "kind": kind, "count": count} for kind in KINDS for count in (1, 3)]
    out += [{"action": "loss", "node": cn, "rate": rate} for cn in ("CN1",) for rate in (0.0, 0.3)]
    for node in [*sorted(sim.mars), sim.db_id]:
        out.append({"action": "recover" if node in sim.faults.failed else "fail", "node": node})
    return out


def end_faults(sim):
    for node in sorted(sim.faults.failed):
        sim.apply({"action": "recover", "node": node})
    for node in sorted(sim.faults.loss):
        sim.apply({"action": "loss", "node": node, "rate": 0})


def check_no_stale_binding_won(sim):
    """Per binding, the PBUs an anchor accepted are in Timestamp order (RFC 5213 §5.5), and once settled every binding
    points to the MAR the MN (or, for a per-flow binding, the flow) is at now."""
    last: dict = {}
    for e in sim.events:
        if e["kind"] == "binding_deleted":
            last.pop((e["node"], e["mn"], e["hnp"], e["flow"]), None)
        elif e["kind"] == "PBA" and e["status"] == 0 and e["lifetime"] > 0:
            for hnp in e["hnps"]:
                key = (e["src"], e["mn"], hnp, e.get("flow"))
                assert e["timestamp"] >= last.get(key, -1), f"an older PBU won at {e['src']}: {key}"
                last[key] = e["timestamp"]
    for anchor in sim.routers.values():
        for b in anchor.bc.values():
            if b.state != "active":
                continue
            mn = sim.mns[b.mn]
            if b.flow is not None:
                where = mn.attached[mn.flows[b.flow].interface]
            else:
                where = mn.attached[anchor.own[b.hnp][1]] if b.hnp in anchor.own else None
            if (
                where is not None
            ):  # a detached MN's binding keeps its last serving MAR (seed §4.1: the next MAR re-points it)
                assert b.serving == where, (
                    f"{anchor.id} binds {b.mn} {b.hnp} {b.flow} to {b.serving}, the MN is at {where}"
                )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_sessions_with_faults_recover(data):
    mns = [{"id": "MN1", "interfaces": ["if1", "if2"]}, {"id": "MN2", "interfaces": ["if1"]}]
    sim = Simulation(
        load_scenario(scenario(mars=3, mns=mns, timers=TIMERS)), seed=data.draw(st.integers(0, 3), label="seed")
    )
    for _ in range(data.draw(st.integers(1, 20), label="commands")):
        faulty = data.draw(st.booleans(), label="fault?")
        choices = fault_commands(sim) if faulty else possible_commands(sim)
        sim.apply(data.draw(st.sampled_from(choices), label="command"))
        sim.run(sim.now + data.draw(st.sampled_from([0.01, 0.3, 1.5]), label="wait"))
    end_faults(sim)
    for _ in range(8):  # a `drop` ends when it has taken its count of messages: wait for the ones that can
        pending = [(r.kind, r.count) for r in sim.faults.drops]
        sim.run(sim.now + SETTLE)
        if [(r.kind, r.count) for r in sim.faults.drops] == pending:
            break
    settled_from = sim.now
    sim.run(sim.now + 1.0)
    check_no_stale_binding_won(sim)
    check_invariants(sim)
    check_delivery(sim, settled_from)
