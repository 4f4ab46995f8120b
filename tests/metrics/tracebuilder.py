"""Hand-made traces in the docs/engine.md vocabulary, for checking the metrics without the engine."""

from __future__ import annotations

from typing import Any


class TraceBuilder:
    """Appends events with ``seq`` and message ``id`` counters; times in seconds."""

    def __init__(self, mode: str = "network-dmm", mn: str = "MN1") -> None:
        self.mn = mn
        self.mode = mode
        self.events: list[dict[str, Any]] = []
        self._ids = 0

    def state(self, kind: str, t: float, **keys: Any) -> dict[str, Any]:
        event = {"seq": len(self.events), "t": round(t, 6), "kind": kind, **keys}
        self.events.append(event)
        return event

    def msg(self, kind: str, src: str, dst: str, t: float, delay_ms: float | None, **keys: Any) -> dict[str, Any]:
        """A message sent at t that arrives delay_ms later (None: never arrives)."""
        self._ids += 1
        arrive = None if delay_ms is None else round(t + delay_ms / 1000.0, 6)
        return self.state(kind, t, id=self._ids, arrive=arrive, src=src, dst=dst, **keys)

    def path(self, flow: str, direction: str, packet: int, t: float, hops: list[tuple[str, str, float, bool]]) -> float:
        """One data packet along hops [(src, dst, delay_ms, encapsulated)], each segment sent on arrival of the last;
        returns the arrival time at the end."""
        for src, dst, delay_ms, encapsulated in hops:
            self.msg("DATA", src, dst, t, delay_ms, flow=flow, mn=self.mn, direction=direction, packet=packet,
                     encapsulated=encapsulated, size=100)
            t = round(t + delay_ms / 1000.0, 6)
        return t

    def trace(self) -> dict[str, Any]:
        """The events in time order (as the engine emits them, at send time), ``seq`` renumbered."""
        events = sorted(self.events, key=lambda e: e["t"])
        events = [{**e, "seq": i} for i, e in enumerate(events)]
        return {"format": "dmmviz-trace/1", "title": "hand-made", "mode": self.mode, "events": events}
