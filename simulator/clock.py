"""The scheduler: ``(time_us, counter, handler, argument)`` items in time order, in the manner of SimPy's ``core.py``.

Time is integer microseconds; ties break by the counter, i.e. in the order things were scheduled, so a run is
deterministic. Items are pushed by :meth:`Scheduler.at`, except on the data path's two hot spots (a packet's next
hop, a flow's next tick), which push ``queue`` inline with the same counter; they are popped by :meth:`Scheduler.pop`
and by the engine's one hot loop (``Simulation.run``). Inline saves a call per packet: bench/engine.py measures it.

Two heaps: ``queue`` holds everything due before ``horizon_us`` (and whatever the data path pushed inline); ``later``
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


class Scheduler:
    """What happens later, in time order."""

    __slots__ = ("counter", "horizon_us", "later", "queue")

    def __init__(self) -> None:
        self.queue: list[Item] = []  # every item due before horizon_us is here
        self.later: list[Item] = []  # items due at or after horizon_us
        self.horizon_us = WINDOW_US
        self.counter = 0  # items ever scheduled: the tie-breaker

    def at(self, t_us: int, handler: Handler, arg: Any) -> None:
        """Run ``handler(arg)`` at ``t_us``."""
        self.counter += 1
        heapq.heappush(self.queue if t_us < self.horizon_us else self.later, (t_us, self.counter, handler, arg))

    def ready(self) -> bool:
        """False when nothing is scheduled; otherwise make ``queue[0]`` the soonest item of all, due before
        ``horizon_us``, and return True."""
        queue, later = self.queue, self.later
        if queue and queue[0][0] < self.horizon_us:
            return True  # every item of ``later`` is due at or after the horizon
        if not later:
            if queue:
                self.horizon_us = queue[0][0] + WINDOW_US
            return bool(queue)
        horizon = max(later[0][0], queue[0][0] if queue else 0) + WINDOW_US
        while later and later[0][0] < horizon:
            heapq.heappush(queue, heapq.heappop(later))
        self.horizon_us = horizon
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
