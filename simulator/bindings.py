"""The life of a binding: every rule in one table, in the manner of h11's ``_state.py``.

A binding has two ends. The anchor (H-MAR, LMA role) keeps a binding cache entry; the serving MAR (V-MAR, MAG role),
or in client-dmm the mobile node itself, keeps a binding update list entry. Each end moves through the states below
only by the events in ``TRANSITIONS``; any other (state, event) pair is a ProtocolError, raised at once rather than
leaving the tables in a state no RFC describes. The docs (docs/engine.md) print this same table, and a test keeps the
two equal.
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterator, ValuesView
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class State(StrEnum):
    NONE = "none"  # no entry
    PENDING = "pending"  # PBU (or BU) sent, no answer yet
    ACTIVE = "active"  # in force: traffic is tunnelled
    DEREGISTERING = "deregistering"  # de-registered, kept MinDelayBeforeBCEDelete before deletion


class ProtocolError(RuntimeError):
    """An event that the binding's current state does not allow: a bug in the engine, never a user error."""


ANCHOR, SERVING = "anchor", "serving"

# (end, state, event) -> (next state, where the rule comes from)
TRANSITIONS: dict[tuple[str, State, str], tuple[State, str]] = {
    (SERVING, State.NONE, "PBU sent"): (State.PENDING, "RFC 5213 §6.9.1.1"),
    (SERVING, State.PENDING, "PBA accepted"): (State.ACTIVE, "RFC 5213 §6.9.1.1"),
    (SERVING, State.NONE, "PBA assigned the prefix"): (
        State.ACTIVE,
        "RFC 5213 §6.9.1.1 (centralised: the LMA names the HNP)",
    ),
    (SERVING, State.PENDING, "PBA rejected"): (State.NONE, "RFC 5213 §6.9.1.1, §6.9.2 (not advertised)"),
    (SERVING, State.ACTIVE, "PBA for the de-registration"): (State.NONE, "RFC 5213 §6.9.1.2"),
    (SERVING, State.PENDING, "PBA for the de-registration"): (State.NONE, "REQ2: the flow ended while the PBU was out"),
    (SERVING, State.PENDING, "MN left"): (State.NONE, "seed §4.1: the next MAR re-points the binding"),
    (SERVING, State.ACTIVE, "MN left"): (State.NONE, "seed §4.1: the next MAR re-points the binding"),
    (SERVING, State.PENDING, "flow left"): (State.NONE, "seed §4.3: a per-flow binding ends with its flow"),
    (SERVING, State.ACTIVE, "flow left"): (
        State.NONE,
        "seed §4.3: a per-flow binding ends with its flow (PBU lifetime 0)",
    ),
    (ANCHOR, State.NONE, "PBU accepted"): (State.ACTIVE, "RFC 5213 §5.3.2"),
    (ANCHOR, State.ACTIVE, "PBU accepted"): (
        State.ACTIVE,
        "RFC 5213 §5.3.4 (handoff: the route moves to the new tunnel)",
    ),
    (ANCHOR, State.DEREGISTERING, "PBU accepted"): (State.ACTIVE, "RFC 5213 §5.3.5 (a new registration in time)"),
    (ANCHOR, State.ACTIVE, "de-registration"): (State.DEREGISTERING, "RFC 5213 §5.3.5"),
    (ANCHOR, State.DEREGISTERING, "MinDelayBeforeBCEDelete expired"): (State.NONE, "RFC 5213 §5.3.5"),
    (ANCHOR, State.ACTIVE, "MN back at the anchor"): (State.NONE, "seed §3.1: native again"),
    (ANCHOR, State.DEREGISTERING, "MN back at the anchor"): (State.NONE, "seed §3.1: native again, no need to wait"),
    (ANCHOR, State.ACTIVE, "prefix released"): (State.NONE, "REQ2"),
    (ANCHOR, State.ACTIVE, "de-registration (client)"): (
        State.NONE,
        "RFC 6275 §10.3.2: the home agent deletes at once",
    ),
    # Faults and timers (docs/engine.md "Faults and timers").
    (SERVING, State.ACTIVE, "PBA rejected"): (State.NONE, "RFC 5213 §5.5: a newer registration is in force (157)"),
    (SERVING, State.PENDING, "gave up"): (State.NONE, "RFC 5213 §6.9.4, RFC 6275 §11.8: no PBA by MAX_BINDACK_TIMEOUT"),
    (SERVING, State.ACTIVE, "gave up"): (State.NONE, "RFC 5213 §6.9.4: the refresh got no PBA by MAX_BINDACK_TIMEOUT"),
    (SERVING, State.PENDING, "node failed"): (
        State.NONE,
        "formats.md Faults: a failed node recovers with empty tables",
    ),
    (SERVING, State.ACTIVE, "node failed"): (State.NONE, "formats.md Faults: a failed node recovers with empty tables"),
    (ANCHOR, State.ACTIVE, "lifetime expired"): (State.NONE, "RFC 5213 §5.3.3: nobody refreshed it in its lifetime"),
    (ANCHOR, State.ACTIVE, "node failed"): (State.NONE, "formats.md Faults: a failed node recovers with empty tables"),
    (ANCHOR, State.DEREGISTERING, "node failed"): (
        State.NONE,
        "formats.md Faults: a failed node recovers with empty tables",
    ),
}


def next_state(end: str, state: State, event: str) -> State:
    """The state after ``event``; raises ProtocolError when the table has no such rule."""
    try:
        return TRANSITIONS[(end, state, event)][0]
    except KeyError:
        raise ProtocolError(f"{end} binding in state {state!s}: no rule for {event!r}") from None


def table_markdown() -> str:
    """The table as the docs print it."""
    rows = ["| end | state | event | next state | source |", "|---|---|---|---|---|"]
    for (end, state, event), (after, source) in TRANSITIONS.items():
        rows.append(f"| {end} | {state} | {event} | {after} | {source} |")
    return "\n".join(rows)


# ---------------------------------------------------------------------------------------------------------------
# The two tables, as classes with their own operations (after INET xMIPv6's BindingCache and BindingUpdateList).
# Every change of a binding's state goes through ``next_state`` here, so the table above is the only rule book.

Key = tuple[str, str, "str | None"]  # (mn, hnp, flow): flow is None for a per-prefix binding


@dataclass(slots=True)
class Binding:
    """A binding cache entry at an anchor (RFC 5213 §5.1), per prefix, or per flow for flow mobility (Figure 6)."""

    mn: str
    hnp: str
    flow: str | None
    serving: str
    lifetime: float
    sequence: int
    state: State = State.ACTIVE  # ACTIVE, or DEREGISTERING for MinDelayBeforeBCEDelete
    version: int = 0  # bumped at every change, so a timer set for an older version does nothing
    timestamp: float = 0.0  # of the last accepted PBU (RFC 5213 §5.5: an older one is refused, status 157)
    expires_us: int = 0  # when the entry runs out: registration + lifetime (RFC 5213 §5.3.3), or its deletion
    # The scheduler key of its lifetime timer (0: none), voided once a change makes that timer stale.
    expiry_key: int = field(default=0, compare=False, repr=False)


@dataclass(slots=True)
class BulEntry:
    """A binding update list entry at a serving MAR (RFC 5213 §6.1), or at the MN in client-dmm (RFC 6275 §11.1)."""

    mn: str
    interface: str
    hnp: str
    flow: str | None
    anchor: str
    lifetime: float
    sequence: int
    state: State = State.PENDING  # PENDING until the PBA, then ACTIVE
    expires_us: int = 0  # when the anchor's entry runs out (counted from the PBU's sending, RFC 6275 §11.7.1)
    attempt: int = 1  # transmissions of the PBU now outstanding (RFC 5213 §6.9.4 back-off)
    refreshing: bool = False  # an ACTIVE entry whose refresh (HI 5) or re-registration is out
    sent_us: int = 0  # when the PBU now outstanding was sent
    # The scheduler key of its refresh timer (0: none) and the expiry that timer was set for.
    refresh_key: int = field(default=0, compare=False, repr=False)
    refresh_for_us: int = field(default=0, compare=False, repr=False)


class _Table:
    """What both tables share: ``get``, a lookup by key tuple without a Python call (the data path asks once per
    tunnelled packet; ``lookup`` reads better everywhere else). ``get`` is the dict's own bound method, which
    ``copy.deepcopy`` would share with the original rather than copy: a copy or an unpickled table makes its own."""

    __slots__ = ()
    _entries: dict[Key, Any]
    get: Callable[[Key], Any]

    def __getstate__(self) -> dict[str, Any]:
        slots: tuple[str, ...] = self.__slots__  # a subclass's slots, not _Table's ()
        return {name: getattr(self, name) for name in slots if name != "get"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self.get = self._entries.get


class BindingCache(_Table):
    """An anchor's binding cache: entries by (mn, hnp, flow), and how many each MN has (``bound``, read by the data
    path's fast check: a router with no binding for an MN routes its packets natively)."""

    __slots__ = ("_entries", "_serving", "bound", "get")

    def __init__(self) -> None:
        self._entries: dict[Key, Binding] = {}
        self.get: Callable[[Key], Binding | None] = self._entries.get  # _Table
        self.bound: dict[str, int] = {}  # mn -> its entries here; kept by create/delete only
        self._serving: dict[str, int] = {}  # serving node -> entries pointing to it; kept by create/update/delete

    def pointing_to(self, serving: str) -> int:
        """How many entries point to ``serving`` (the tunnel to it is in use while any does)."""
        return self._serving.get(serving, 0)

    def _count(self, serving: str, delta: int) -> None:
        left = self._serving.get(serving, 0) + delta
        if left:
            self._serving[serving] = left
        else:
            del self._serving[serving]

    def lookup(self, mn: str, hnp: str | None, flow: str | None) -> Binding | None:
        return self._entries.get((mn, hnp, flow))  # type: ignore[arg-type]

    def create(
        self,
        mn: str,
        hnp: str,
        flow: str | None,
        serving: str,
        lifetime: float,
        sequence: int,
        timestamp: float = 0.0,
        expires_us: int = 0,
    ) -> Binding:
        """RFC 5213 §5.3.2: a new entry, in force at once."""
        binding = Binding(mn, hnp, flow, serving, lifetime, sequence, next_state(ANCHOR, State.NONE, "PBU accepted"))
        binding.timestamp, binding.expires_us = timestamp, expires_us
        self._entries[(mn, hnp, flow)] = binding
        self._count(serving, +1)
        self.bound[mn] = self.bound.get(mn, 0) + 1
        return binding

    def update(
        self,
        binding: Binding,
        serving: str,
        lifetime: float,
        sequence: int,
        timestamp: float = 0.0,
        expires_us: int = 0,
    ) -> str:
        """RFC 5213 §5.3.4: a newer registration re-points the entry; returns the serving node it pointed to."""
        old = binding.serving
        if old != serving:
            self._count(old, -1)
            self._count(serving, +1)
        binding.serving, binding.lifetime, binding.sequence = serving, lifetime, sequence
        binding.timestamp, binding.expires_us = timestamp, expires_us
        binding.state = next_state(ANCHOR, binding.state, "PBU accepted")
        binding.version += 1
        return old

    def deregister(self, binding: Binding, sequence: int, timestamp: float, delete_at_us: int) -> None:
        """RFC 5213 §5.3.5: kept, de-registering, until MinDelayBeforeBCEDelete has passed. The entry shows what it
        now is: lifetime 0 and the de-registration's sequence number."""
        binding.state = next_state(ANCHOR, binding.state, "de-registration")
        binding.version += 1
        binding.lifetime, binding.sequence, binding.timestamp, binding.expires_us = 0, sequence, timestamp, delete_at_us

    def delete(self, binding: Binding, event: str) -> None:
        binding.state = next_state(ANCHOR, binding.state, event)
        del self._entries[(binding.mn, binding.hnp, binding.flow)]
        self._count(binding.serving, -1)
        self.bound[binding.mn] -= 1
        if not self.bound[binding.mn]:
            del self.bound[binding.mn]
        binding.version += 1

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __getitem__(self, key: Key) -> Binding:
        return self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Key]:
        return iter(self._entries)

    def values(self) -> ValuesView[Binding]:
        """A live view: sort or copy it before changing the table while going through it."""
        return self._entries.values()

    def items(self) -> ItemsView[Key, Binding]:
        return self._entries.items()


class BindingUpdateList(_Table):
    """A serving node's binding update list: entries by (mn, hnp, flow)."""

    __slots__ = ("_by_mn", "_entries", "get", "retire")

    def __init__(self) -> None:
        self._entries: dict[Key, BulEntry] = {}
        self.get: Callable[[Key], BulEntry | None] = self._entries.get  # _Table
        # The scheduler's void (set by the Simulation): a removed entry is never added again, so its refresh timer
        # can do nothing, and need not hold the entry alive until then.
        self.retire: Callable[[int], None] | None = None
        # mn -> its entries, in the order of ``_entries`` (same keys, inserted and deleted together): a RA or a
        # handover reads one MN's entries without going through every MN's
        self._by_mn: dict[str, dict[Key, BulEntry]] = {}

    def lookup(self, mn: str, hnp: str | None, flow: str | None) -> BulEntry | None:
        return self._entries.get((mn, hnp, flow))  # type: ignore[arg-type]

    def add(self, entry: BulEntry, event: str = "PBU sent") -> BulEntry:
        """A new entry, because a PBU (or BU) went out for it, or a PBA assigned it (centralised: ``event`` "PBA
        assigned the prefix"); it replaces an older one."""
        entry.state = next_state(SERVING, State.NONE, event)
        key = (entry.mn, entry.hnp, entry.flow)
        self._entries[key] = entry
        self._by_mn.setdefault(entry.mn, {})[key] = entry
        return entry

    def remove(self, entry: BulEntry, event: str) -> None:
        """The entry goes because of ``event`` (checked against the table; ``entry.state`` keeps its last value, so
        the caller can tell whether an active entry went)."""
        next_state(SERVING, entry.state, event)
        key = (entry.mn, entry.hnp, entry.flow)
        del self._entries[key]
        mine = self._by_mn[entry.mn]
        del mine[key]
        if not mine:
            del self._by_mn[entry.mn]
        if self.retire is not None and entry.refresh_key:
            self.retire(entry.refresh_key)

    def confirm(self, entry: BulEntry) -> None:
        """The PBA (or BA) accepted the registration: the entry is in force."""
        entry.state = next_state(SERVING, entry.state, "PBA accepted")

    def for_interface(self, mn: str, interface: str) -> list[BulEntry]:
        """The MN's entries for that interface, in table order."""
        mine = self._by_mn.get(mn)
        return [e for e in mine.values() if e.interface == interface] if mine else []

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Key]:
        return iter(self._entries)

    def values(self) -> ValuesView[BulEntry]:
        """A live view: sort or copy it before changing the list while going through it."""
        return self._entries.values()

    def items(self) -> ItemsView[Key, BulEntry]:
        return self._entries.items()
