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
            k = key(now + 2_000, clock.counter)
            clock.items[k] = (handler, (now + 2_000, clock.counter))
            heapq.heappush(clock.queue, k)
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


def test_the_hot_spots_write_the_key_shift_the_scheduler_uses() -> None:
    """The data path, the flow tick and the run loop write ``SHIFT`` as the literal 40 (simulator/clock.py)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "simulator"
    hot = (root / "dataplane.py").read_text() + (root / "engine.py").read_text()
    assert SHIFT == 40 and hot.count("<< 40 | clock.counter") == 3 and "self.now_us = k >> 40" in hot
    assert key(5, 7) >> SHIFT == 5 and key(5, 7) < key(5, 8) < key(6, 0)
