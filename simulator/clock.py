"""The scheduler: one heap of ``(time_us, counter, handler, argument)``, in the manner of SimPy's ``core.py``.

Time is integer microseconds; ties break by the counter, i.e. in the order things were scheduled, so a run is
deterministic. The heap is pushed by :meth:`Scheduler.at`, except on the data path's two hot spots (a packet's next
hop, a flow's next tick), which push ``queue`` inline with the same counter; it is popped by :meth:`Scheduler.pop` and
by the engine's one hot loop (``Simulation.run``). Inline saves a call per packet: bench/engine.py measures it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], None]
Item = tuple[int, int, Handler, Any]


class Scheduler:
    """What happens later, in time order."""

    __slots__ = ("counter", "queue")

    def __init__(self) -> None:
        self.queue: list[Item] = []
        self.counter = 0  # items ever scheduled: the tie-breaker

    def at(self, t_us: int, handler: Handler, arg: Any) -> None:
        """Run ``handler(arg)`` at ``t_us``."""
        self.counter += 1
        heapq.heappush(self.queue, (t_us, self.counter, handler, arg))

    def pop(self) -> Item:
        return heapq.heappop(self.queue)

    def next_us(self) -> int | None:
        """The time of the next item, or None when nothing is scheduled."""
        return self.queue[0][0] if self.queue else None

    def __len__(self) -> int:
        return len(self.queue)

    def __bool__(self) -> bool:
        return bool(self.queue)
