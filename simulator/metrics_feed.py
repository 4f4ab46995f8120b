"""Feeding the metrics observer straight from a running engine, the cheap way (issue 10: metrics within 1.5x the run).

Collecting a run's events slice by slice and feeding them afterwards costs more than the observing: the engine builds
a 15-key dict for every DATA segment (about 80% of all events), only for the observer to read six of its fields. So,
for the time of one ``observe``, this module wraps two methods of that one ``Simulation`` instance (the class and
every other instance are untouched, and the instance is restored afterwards, even on an error):

- ``_set_out``: every event the engine emits goes straight to ``MetricsObserver.feed`` (and ``on_event``), in ``seq``
  order, instead of into a list per slice;
- ``_data`` (one DATA segment) becomes the engine's own ``data_tapped`` (simulator/dataplane.py), with ``_tap`` the
  observer's ``MetricsObserver.segment`` and ``_tap_pairs`` its ``data_pairs``: the engine counts the segment for its
  (src, dst) pair, tells the observer the fields of a segment that matters to a delivery (downlink ones, the
  uplink one reaching the CN) and sends it as it does when nobody watches, without the dict. The fields are the
  DATA event's own: ``t`` and ``arrive`` from the clock and the hop's delay, ``id`` the message id, ``packet`` the
  flow's counter. While a fault is in force (a segment may be lost, by a random draw only the engine makes), and
  when the simulation records its events, the segment goes the ordinary way instead (an event, fed like any other).

tests/metrics/test_observer.py and test_feed.py check that what it feeds equals the recorded trace's metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from .limits import TooMuchWork, ambient_should_stop

if TYPE_CHECKING:
    from .engine import Simulation
    from .metrics import Event


class Observer(Protocol):
    """What ``feeding`` feeds: ``MetricsObserver``, or anything that takes every event, the fields of the DATA
    segments that matter to a delivery (``DataPlane.data_tapped``'s ``_tap``) and a count of every segment per
    (src, dst) pair (``data_pairs``)."""

    data_pairs: dict[tuple[str, str], int]

    def feed(self, event: Event) -> Any: ...

    def segment(self, t: float, arrive: float | None, msg_id: Any, src: str, dst: str, flow_id: Any, mn: Any,
                direction: str, encapsulated: Any, packet_no: Any) -> None: ...


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
        attributes.update(_data=sim.data_tapped, _tap=observer.segment, _tap_pairs=observer.data_pairs)
    for name, value in attributes.items():
        setattr(sim, name, value)
    try:
        yield
    finally:
        for name in attributes:
            delattr(sim, name)
        sim._out, sim._watching = saved


SLICE_S = 1.0  # the engine is run this much simulated time at a time (each call is budgeted on its own)


def run_fed(sim: Simulation, observer: Observer, until: float,
            on_event: Callable[[Event], Any] | None = None) -> None:
    """Run ``sim`` to ``until`` with ``observer`` fed as in :func:`feeding`, a simulated second at a time (at least
    once: ``until`` 0 still runs what is due at 0). Between two seconds the caller's stop hook is asked too
    (simulator.limits.stop_hook): a second of a small scenario is fewer items than the engine's own poll interval."""
    t, start = sim.now, sim.steps
    with feeding(sim, observer, on_event):
        while True:
            t = min(until, t + SLICE_S)
            sim.run(t)
            if t >= until:
                return
            if ambient_should_stop():
                done = sim.steps - start
                raise TooMuchWork("stopped", f"stopped by its caller after {done:,} scheduled items", done)
