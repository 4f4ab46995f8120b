"""Feeding the metrics observer straight from a running engine, the cheap way (issue 10: metrics within 1.5x the run).

Collecting a run's events slice by slice and feeding them afterwards costs more than the observing: the engine builds
a 15-key dict for every DATA segment (about 80% of all events), only for the observer to read six of its fields. So,
for the time of one ``observe``, this module wraps two methods of that one ``Simulation`` instance (the class and
every other instance are untouched, and the instance is restored afterwards, even on an error):

- ``_set_out``: every event the engine emits goes straight to ``MetricsObserver.feed`` (and ``on_event``), in ``seq``
  order, instead of into a list per slice;
- ``_data`` (one DATA segment) becomes the engine's own ``data_tapped`` (simulator/dataplane.py), with ``_tap_pairs``
  the observer's ``data_pairs`` and ``_tap_down``/``_tap_up``/``_tap_lost`` its ``tapped_down``/``tapped_up``/
  ``tapped_lost``: the engine counts each segment for its (src, dst) pair and sends it as it does when nobody
  watches, without the dict; a downlink packet carries its record (simulator/nodes.py ``PacketRecord``: when it
  was sent, its segments, whether one was tunnelled) from hop to hop, and the observer is told of each packet
  once, when its last segment leaves (to the MN, or the CN uplink), and of each segment a fault loses. What it is
  told is what the packet's DATA events would have said (docs/metrics.md "flows"). When the simulation records its
  events, every segment goes the ordinary way instead (an event, fed like any other).

tests/metrics/test_observer.py and test_feed.py check that what it feeds equals the recorded trace's metrics.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from .limits import TooMuchWork, ambient_should_stop

if TYPE_CHECKING:
    from .engine import Simulation
    from .metrics import Event


class Observer(Protocol):
    """What ``feeding`` feeds: ``MetricsObserver``, or anything that takes every event, the packets of a tapping
    engine (``DataPlane.data_tapped``: a downlink packet's record as its last segment leaves, an uplink packet's
    arrival at the CN, a segment lost to a fault) and a count of every segment per (src, dst) pair
    (``data_pairs``: (src, dst) -> [segments, delay in microseconds], the engine's to fill); ``run_fed`` also tells
    it when the run has reached a time (``advance``)."""

    data_pairs: dict[tuple[str, str], list[int]]

    def feed(self, event: Event) -> Any: ...

    def tapped_down(self, mn: str, flow_id: str, packet: list[Any], arrive_us: int, msg_id: int) -> None: ...

    def tapped_up(self, mn: str, flow_id: str, arrive_us: int, msg_id: int) -> None: ...

    def tapped_lost(self, mn: str, flow_id: str, msg_id: int) -> None: ...

    def advance(self, t: float) -> None: ...


class _Sink:
    """Stands where the engine appends its events (``_out``): each is handed on at once."""

    __slots__ = ("append",)

    def __init__(self, append: Callable[[Event], Any]) -> None:
        self.append = append


@contextmanager
def feeding(sim: Simulation, observer: Observer,
            on_event: Callable[[Event], Any] | None = None) -> Iterator[None]:
    """While in the block, every event of ``sim`` (run with ``sim.run(t, collect=True)``) reaches ``observer``
    (and then ``on_event``) as it is emitted; ``run`` itself returns nothing."""
    feed = observer.feed
    if on_event is None:
        append: Callable[[Event], Any] = feed
    else:
        def append(event: Event) -> None:
            feed(event)
            on_event(event)
    sink = _Sink(append)
    saved = sim._out, sim._watching

    def set_out(_out: Any) -> None:
        sim._out, sim._watching = sink, True  # type: ignore[assignment]

    # The instance's own attributes hide the class's methods, for this one Simulation, for the time of the block.
    attributes: dict[str, Any] = {"_set_out": set_out}
    if not sim.record:  # a recording simulation keeps every DATA event anyway: it is fed like any other
        attributes.update(_data=sim.data_tapped, _tap_pairs=observer.data_pairs, _tap_down=observer.tapped_down,
                          _tap_up=observer.tapped_up, _tap_lost=observer.tapped_lost, _tap_since=sim._msg_id)
    for name, value in attributes.items():
        setattr(sim, name, value)
    try:
        yield
    finally:
        for name in attributes:
            delattr(sim, name)
        sim._out, sim._watching = saved


# While an observer is fed, and while it writes its result (metrics.observe), the cyclic garbage collector runs less
# often. An observer holds thousands of small records for a minute of simulated time each (an attach's signalling, a
# handover's gaps, every flow's recent arrivals), and with the default thresholds (700, 10, 10) the collector went
# through them again and again: about a sixth of a metrics run's time (bench/city.py); writing the result makes
# thousands of small dicts, and a full collection then walked every object the engine and the observer hold. Neither
# the engine nor the observer makes reference cycles per event, so there is little for it to find meanwhile. The
# thresholds are the process's: the first run in raises them, the last one out restores them (runs may overlap in a
# server's threads).
_FED_THRESHOLDS = (50_000, 20, 100)
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, ...] = ()


@contextmanager
def fewer_collections() -> Iterator[None]:
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(*_FED_THRESHOLDS)
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)


SLICE_S = 1.0  # the engine is run this much simulated time at a time (each call is budgeted on its own)


def run_fed(sim: Simulation, observer: Observer, until: float,
            on_event: Callable[[Event], Any] | None = None) -> None:
    """Run ``sim`` to ``until`` with ``observer`` fed as in :func:`feeding`, a simulated second at a time (at least
    once: ``until`` 0 still runs what is due at 0); after each second the observer is told (``advance``). Between two
    seconds the caller's stop hook is asked too (simulator.limits.stop_hook): a second of a small scenario is fewer
    items than the engine's own poll interval."""
    t, start = sim.now, sim.steps
    with feeding(sim, observer, on_event), fewer_collections():
        while True:
            t = min(until, t + SLICE_S)
            sim.run(t)
            observer.advance(t)  # a tapping engine may emit nothing for long: packets still arrive, and are counted
            if t >= until:
                return
            if ambient_should_stop():
                done = sim.steps - start
                raise TooMuchWork("stopped", f"stopped by its caller after {done:,} scheduled items", done)
