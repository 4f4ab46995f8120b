"""The scheduler: ``(time_us, counter, handler, argument)`` items in time order, in the manner of SimPy's ``core.py``.

Time is integer microseconds; ties break by the counter, i.e. in the order things were scheduled, so a run is
deterministic. Items are pushed by :meth:`Scheduler.at`, except on the data path's two hot spots (a packet's next
hop, a flow's next tick), which push inline in the same way (:func:`key`, ``items``, ``queue``); they are popped by
:meth:`Scheduler.pop` and by the engine's one hot loop (``Simulation.run``). Inline saves a call per packet:
bench/engine.py measures it.

The heaps hold plain int keys, ``time_us << SHIFT | counter``; ``items`` maps a near key to its ``(handler,
argument)`` and ``far`` a far one (apart, so the dict every packet goes through stays small). The order is exactly
(time, counter), and each comparison the heaps make is one of two ints instead of two tuples: about 6% of the
engine's instructions on bench/engine.py's city (valgrind's cachegrind). The counter stays below 2**SHIFT (a
million million items). The hot spots write SHIFT as the literal 40 (a constant is cheaper than a global there);
tests/engine/test_scheduler.py keeps them in step.

Two heaps: ``queue`` holds everything due before the horizon (and whatever the data path pushed inline); ``later``
holds the rest, mostly binding lifetimes and refreshes minutes or hours away. Packets, pushed and popped by the
hundred thousand, then pay for a small heap only. :meth:`ready` moves the next window of ``later`` into ``queue`` when
``queue`` has nothing left before the horizon, so the order (time, then counter) is exactly that of one heap.
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

    __slots__ = ("counter", "far", "horizon", "items", "later", "queue")

    def __init__(self) -> None:
        self.queue: list[int] = []  # keys of every item due before the horizon
        self.later: list[int] = []  # keys of the items due at or after it
        self.items: dict[int, tuple[Handler, Any]] = {}  # key -> (handler, argument) of ``queue``'s items
        self.far: dict[int, tuple[Handler, Any]] = {}  # the same for ``later`` (kept apart: ``items`` stays small)
        self.horizon = key(WINDOW_US, 0)  # the horizon as a key: every key of ``later`` is at least this
        self.counter = 0  # items ever scheduled: the tie-breaker

    @property
    def horizon_us(self) -> int:
        return self.horizon >> SHIFT

    def at(self, t_us: int, handler: Handler, arg: Any) -> int:
        """Run ``handler(arg)`` at ``t_us``; returns the item's key (for :meth:`void`)."""
        self.counter += 1
        k = t_us << SHIFT | self.counter
        if k < self.horizon:
            self.items[k] = (handler, arg)
            heapq.heappush(self.queue, k)
        else:
            self.far[k] = (handler, arg)
            heapq.heappush(self.later, k)
        return k

    def void(self, k: int) -> None:
        """The item ``k`` (still pending, or already run: then nothing happens) will do nothing when its time comes.

        For a timer its owner knows is stale (a binding refreshed before its hour-long lifetime ran out): the item
        keeps its place and still counts as a step, so ``steps`` and every replay stay exactly as they were, but it
        no longer holds its argument (the old entry) alive for an hour. bench/engine.py's city keeps tens of
        thousands fewer objects for the garbage collector to visit."""
        if k in self.far:
            self.far[k] = VOID
        elif k in self.items:
            self.items[k] = VOID

    def ready(self) -> bool:
        """False when nothing is scheduled; otherwise make ``queue[0]`` the soonest item of all, due before the
        horizon, and return True."""
        queue, later = self.queue, self.later
        if queue and queue[0] < self.horizon:
            return True  # every item of ``later`` is due at or after the horizon
        if not later:
            if queue:
                self.horizon = key((queue[0] >> SHIFT) + WINDOW_US, 0)
            return bool(queue)
        horizon = key(max(later[0] >> SHIFT, queue[0] >> SHIFT if queue else 0) + WINDOW_US, 0)
        items, far = self.items, self.far
        while later and later[0] < horizon:
            k = heapq.heappop(later)
            items[k] = far.pop(k)
            heapq.heappush(queue, k)
        self.horizon = horizon
        return True

    def pop(self) -> Item:
        self.ready()
        k = heapq.heappop(self.queue)
        handler, arg = self.items.pop(k)
        return (k >> SHIFT, k & MASK, handler, arg)

    def next_us(self) -> int | None:
        """The time of the next item, or None when nothing is scheduled."""
        return self.queue[0] >> SHIFT if self.ready() else None

    def __len__(self) -> int:
        return len(self.queue) + len(self.later)

    def __bool__(self) -> bool:
        return bool(self.queue or self.later)
