"""The scheduler: ``(time_us, counter, handler, argument)`` items in time order, in the manner of SimPy's ``core.py``.

Time is integer microseconds; ties break by the counter, i.e. in the order things were scheduled, so a run is
deterministic. Items are pushed by :meth:`Scheduler.at`, except on the data path's two hot spots (a packet's next
hop, a flow's next tick), which push the same tuple onto ``queue`` inline; they are popped by :meth:`Scheduler.pop`
and by the engine's one hot loop (``Simulation.run``). Inline saves a call per packet: bench/engine.py measures it.

Two heaps: ``queue`` holds everything due before the horizon (and whatever the data path pushed inline), as plain
tuples; ``later`` holds the rest, mostly binding lifetimes and refreshes minutes or hours away. Packets, pushed and
popped by the hundred thousand, then pay for a small heap only. :meth:`ready` moves the next window of ``later`` into
``queue`` when ``queue`` has nothing left before the horizon, so the order (time, then counter) is exactly that of
one heap. ``later`` holds int keys, ``time_us << SHIFT | counter`` (the same order), with the items in ``far``: a key
is the handle :meth:`void` takes, so a timer its owner knows is stale lets go of its argument an hour early.

Why tuples in ``queue`` and not int keys there too: an int key saves comparisons (fewer instructions), but its
three-digit ints and the dict beside the heap take the interpreter through more of its own code per item, and
bench/engine.py's CPU time came out higher (first-level instruction-cache misses, valgrind's cachegrind:
docs/engine.md "Performance").
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], None]
Item = tuple[int, int, Handler, Any]

WINDOW_US = 2_000_000  # how far ahead of the soonest item ``queue`` reaches after a move (bench/engine.py)
SHIFT = 40  # a key is time_us << SHIFT | counter
MASK = (1 << SHIFT) - 1


def _nothing(arg: Any) -> None:
    """What a voided item does when its time comes: nothing (it still counts as a step, so replays stay exact)."""


VOID: tuple[Handler, Any] = (_nothing, None)  # shared by every voided item: it holds nothing alive


def key(t_us: int, counter: int) -> int:
    """The heap key of the item scheduled ``counter``-th for ``t_us``."""
    return t_us << SHIFT | counter


class Scheduler:
    """What happens later, in time order."""

    __slots__ = ("counter", "far", "horizon_us", "later", "queue")

    def __init__(self) -> None:
        self.queue: list[Item] = []  # (time_us, counter, handler, argument) of every item due before the horizon
        self.later: list[int] = []  # keys of the items due at or after it
        self.far: dict[int, tuple[Handler, Any]] = {}  # key -> (handler, argument) of ``later``'s items
        self.horizon_us = WINDOW_US  # every item of ``later`` is due at or after this
        self.counter = 0  # items ever scheduled: the tie-breaker

    def at(self, t_us: int, handler: Handler, arg: Any) -> int:
        """Run ``handler(arg)`` at ``t_us``; returns the item's key for :meth:`void` (0 for an item due within the
        window, which :meth:`void` leaves as it is)."""
        self.counter += 1
        if t_us < self.horizon_us:
            heapq.heappush(self.queue, (t_us, self.counter, handler, arg))
            return 0
        k = t_us << SHIFT | self.counter
        self.far[k] = (handler, arg)
        heapq.heappush(self.later, k)
        return k

    def void(self, k: int) -> None:
        """The item ``k`` (pending in ``later``) no longer holds its argument, and does nothing when its time comes.

        For a timer its owner knows is stale (a binding refreshed before its hour-long lifetime ran out): the item
        keeps its place and still counts as a step, so ``steps`` and every replay stay exactly as they were, but it
        no longer holds its argument (the old entry) alive for an hour; bench/engine.py's city keeps tens of
        thousands fewer objects for the garbage collector to visit. An item already in ``queue`` (due within
        WINDOW_US) or already run is left as it is: every timer that is voided checks for itself whether it is
        stale (a binding's version, a list entry's expiry), so running it changes nothing either way."""
        if k in self.far:
            self.far[k] = VOID

    def ready(self) -> bool:
        """False when nothing is scheduled; otherwise make ``queue[0]`` the soonest item of all, due before the
        horizon, and return True."""
        queue, later = self.queue, self.later
        if queue and queue[0][0] < self.horizon_us:
            return True  # every item of ``later`` is due at or after the horizon
        if not later:
            if queue:
                self.horizon_us = queue[0][0] + WINDOW_US
            return bool(queue)
        horizon_us = max(later[0] >> SHIFT, queue[0][0] if queue else 0) + WINDOW_US
        horizon, far = horizon_us << SHIFT, self.far
        while later and later[0] < horizon:
            k = heapq.heappop(later)
            handler, arg = far.pop(k)
            heapq.heappush(queue, (k >> SHIFT, k & MASK, handler, arg))
        self.horizon_us = horizon_us
        return True

    def pop(self) -> Item:
        self.ready()
        return heapq.heappop(self.queue)

    def next_us(self) -> int | None:
        """The time of the next item, or None when nothing is scheduled."""
        return self.queue[0][0] if self.ready() else None

    def __len__(self) -> int:
        return len(self.queue) + len(self.later)

    def __bool__(self) -> bool:
        return bool(self.queue or self.later)
