"""The trace export ("dmmviz-trace/1") written while the engine runs, in constant memory.

    write_trace(sim, until, write, on_event=None)   # write(str) is called with consecutive pieces of the document

The engine is run a slice of simulated time at a time (``Simulation.run`` returns that slice's events); each event is
written as soon as nothing can change it any more, then let go, so a long run never holds its event list (make the
simulation with ``record=False``). The text is byte for byte ``json.dumps(sim.trace(), indent=1)`` of the same run
recorded in full: same keys, same order, same indentation.

The one thing decided after an event is sent is whether a message was lost on the way: a packet dropped in flight
(its MN left the link) has ``arrive`` null in the trace, and the engine says so with a ``drop`` (``in_flight``) at the
time the message would have arrived. So a message waits until the clock has passed its arrival time, and the events
after it wait with it (the trace is in send order): what is held back is what is on the air, a few milliseconds of
the run.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Any

from ..constants import US
from ..snapshots import lost_in_flight

SLICE_S = 1.0  # simulated seconds run at a time


def _scalar(value: Any) -> str | None:
    """A JSON scalar as json.dumps writes it, or None for anything else."""
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float) and math.isfinite(value):
        return float.__repr__(value)
    return None


def _dump(value: Any, level: int) -> str:
    """``json.dumps(value, indent=1)`` as it would appear ``level`` levels deep, written directly: with an indent the
    json module uses its pure-Python encoder, several times slower than this for the flat dicts events are."""
    text = _scalar(value)
    if text is not None:
        return text
    inner = "\n" + " " * (level + 1)
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        if not value:
            return "{}"
        items = [encode_basestring_ascii(k) + ": " + _dump(v, level + 1) for k, v in value.items()]
        return "{" + inner + ("," + inner).join(items) + "\n" + " " * level + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[" + inner + ("," + inner).join(_dump(v, level + 1) for v in value) + "\n" + " " * level + "]"
    # Anything else (a tuple, a non-finite float, a non-string key): json's own encoder, re-indented.
    return json.dumps(value, indent=1).replace("\n", "\n" + " " * level)


def _event_text(event: dict[str, Any]) -> str:
    # An item of the "events" list sits two levels deep in json.dumps(doc, indent=1).
    return "\n  " + _dump(event, 2)


def write_trace(sim: Any, until: float, write: Callable[[str], Any],
                on_event: Callable[[dict[str, Any]], Any] | None = None) -> None:
    """Run ``sim`` until ``until`` and write its "dmmviz-trace/1" document through ``write``, piece by piece.

    ``on_event`` (optional) sees every event as the engine returns it (e.g. to print refused script actions)."""
    end = max(sim.now, round(until * US) / US)  # what sim.now will read after run(until)
    doc = sim.trace()
    doc["until"] = end
    doc["events"] = []
    head, _, _ = json.dumps(doc, indent=1).partition('\n "events": []')
    write(head + '\n "events": [')
    held: deque[list[dict[str, Any]]] = deque()  # events not written yet, in send order, each in a cell
    waiting: dict[Any, list[dict[str, Any]]] = {}  # message id -> the cell of a held message still on the air
    first = True

    def flush(now: float) -> None:
        nonlocal first
        while held:
            event = held[0][0]
            arrive = event.get("arrive") if "src" in event else None
            if arrive is not None and arrive > now:
                return  # still on the air: it may yet be lost, and the events after it wait
            held.popleft()
            waiting.pop(event.get("id"), None)
            write(("" if first else ",") + _event_text(event))
            first = False

    t = sim.now
    while True:
        t = min(end, t + SLICE_S)
        for event in sim.run(t):
            if on_event is not None:
                on_event(event)
            if event["kind"] == "drop" and event.get("in_flight") and event.get("msg") in waiting:
                cell = waiting.pop(event["msg"])
                cell[0] = lost_in_flight(cell[0], event)  # as Simulation.trace() marks it: same keys, same order
            cell = [event]
            held.append(cell)
            if "src" in event and event.get("arrive") is not None:
                waiting[event.get("id")] = cell
        flush(sim.now)
        if t >= end:
            break
    flush(float("inf"))
    tail = json.dumps(sim.trace(), indent=1).partition('\n "events": []')[2]
    write(("]" if first else "\n ]") + tail)
