"""The scheduler keeps far-future items (binding lifetimes, refreshes) in a second heap (simulator/clock.py); what
runs, and in which order, must be exactly what one heap would give: time first, then the order of scheduling."""

from __future__ import annotations

import heapq
import random

from simulator.clock import SHIFT, WINDOW_US, Scheduler, key


def test_items_come_out_in_time_then_scheduling_order_across_both_heaps() -> None:
    rng = random.Random(7)
    clock, ran, expected = Scheduler(), [], []

    def handler(arg: tuple[int, int]) -> None:
        ran.append(arg)

    now = 0
    for _ in range(20):  # interleave scheduling with popping, as a run does
        for _ in range(50):
            # near packets, ties at one instant, and lifetimes hours away
            t = now + rng.choice([0, 2_000, 10_000, WINDOW_US, 3 * WINDOW_US, 3_240_000_000, 3_600_000_000])
            clock.at(t, handler, (t, clock.counter + 1))
            expected.append((t, clock.counter))
        if rng.random() < 0.5:  # the data path pushes the near heap inline with the same counter
            clock.counter += 1
            heapq.heappush(clock.queue, (now + 2_000, clock.counter, handler, (now + 2_000, clock.counter)))
            expected.append((now + 2_000, clock.counter))
        for _ in range(30):
            t_us, _, h, arg = clock.pop()
            assert t_us >= now
            now = t_us
            h(arg)
    while clock:
        assert clock.next_us() is not None
        t_us, _, h, arg = clock.pop()
        h(arg)
    assert clock.next_us() is None
    assert ran == sorted(expected)


def test_a_run_reaches_a_refresh_hours_later_through_the_far_heap() -> None:
    clock, ran = Scheduler(), []
    clock.at(3_600_000_000, ran.append, "expiry")
    clock.at(3_240_000_000, ran.append, "refresh")
    clock.at(1_000, ran.append, "packet")
    assert len(clock) == 3 and len(clock.queue) == 1  # only the packet sits in the near heap
    assert clock.next_us() == 1_000
    while clock:
        _, _, handler, arg = clock.pop()
        handler(arg)
    assert ran == ["packet", "refresh", "expiry"]


def test_the_hot_spots_push_the_tuple_the_scheduler_pops() -> None:
    """The data path (watched, unwatched and tapped by the metrics observer) and the flow tick push ``(time_us,
    counter, handler, argument)`` onto the near heap inline, and the run loop pops it itself (simulator/clock.py)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "simulator"
    hot = (root / "dataplane.py").read_text() + (root / "engine.py").read_text()
    assert hot.count("heappush(clock.queue, (") == 4 and "self.now_us, _, handler, arg = pop(queue)" in hot
    assert key(5, 7) >> SHIFT == 5 and key(5, 7) < key(5, 8) < key(6, 0)


def test_a_voided_item_keeps_its_place_and_its_step_but_does_nothing() -> None:
    """Scheduler.void: a refreshed binding's old lifetime timer still comes out in order (a replay counts it as a
    step), but runs nothing and no longer holds its argument. An item due within the window is left to run (its
    handler finds itself stale: docs/engine.md "Faults and timers")."""
    clock, ran = Scheduler(), []
    stale = clock.at(3_600_000_000, ran.append, "old expiry")  # far heap
    near = clock.at(1_000, ran.append, "old retransmission")  # near heap
    clock.at(3_700_000_000, ran.append, "new expiry")
    clock.void(stale)
    clock.void(near)
    assert stale in clock.far and clock.far[stale][1] is None  # the argument is let go now, not in an hour
    popped = []
    while clock:
        t_us, _, handler, arg = clock.pop()
        popped.append(t_us)
        handler(arg)
    assert popped == [1_000, 3_600_000_000, 3_700_000_000]  # three items, three steps, in time order
    assert ran == ["old retransmission", "new expiry"]
    clock.void(stale)  # already run: nothing to do, no error


def test_a_binding_re_pointed_by_handovers_keeps_one_live_lifetime_timer() -> None:
    """Each handover re-points the anchor's binding (a new version, a new hour-long lifetime timer) and voids the
    previous timer, which could only find a newer version: however often the MN moves, the timers still able to act
    are one per binding in force, each for that binding's latest registration."""
    from simulator import Simulation, load_scenario
    from tests.engine.helpers import public

    raw = public("fig4-three-mars")
    for n in range(10):  # back and forth between MAR2 and MAR3; flow1 stays anchored at MAR1
        raw["script"].append({"at": 14.0 + 2 * n, "action": "move", "mn": "MN1", "mar": ("MAR2", "MAR3")[n % 2]})
    sim = Simulation(load_scenario(raw))
    sim.run(40)
    assert sum(e["kind"] == "binding_updated" for e in sim.events) >= 10
    pending = [*((handler, arg) for _, _, handler, arg in sim.clock.queue), *sim.clock.far.values()]
    live_expiries = [arg for handler, arg in pending if handler == sim._expiry]
    in_force = [b for router in sim.routers.values() for b in router.bc.values() if b.state == "active"]
    assert in_force and len(live_expiries) == len(in_force)
    assert {(id(binding), version) for _, binding, version in live_expiries} == {(id(b), b.version) for b in in_force}
