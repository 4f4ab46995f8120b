"""The nodes' state: plain mutable records owned by the Simulation; snapshots copy them out.

The binding tables are classes of their own (simulator/bindings.py); a router holds one of each.
"""

from __future__ import annotations

import ipaddress
from collections.abc import ItemsView
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any

from .bindings import BindingCache, BindingUpdateList

# A data segment in flight: (message id, src, dst, "down" | "up", encapsulated, Flow, packet). A plain tuple: the hot
# path. ``packet`` is the packet's number in its flow, carried hop to hop (the trace's ``packet``); while a metrics
# observer taps the data path (DataPlane.data_tapped) a downlink packet carries instead its ``PacketRecord``.
Segment = tuple[int, str, str, str, bool, "Flow", "int | PacketRecord"]

# A downlink data packet followed from its first segment to the one reaching its MN, a plain list (one per packet: the
# hot path of a metrics run): [packet number, sent at (microseconds), id of its first segment, segments so far,
# tunnelled (any segment encapsulated), sender of its latest segment, arrival of its latest segment (microseconds),
# id of its latest segment]. The engine fills the first six; the metrics observer the last two (simulator/metrics.py).
# docs/metrics.md "flows" defines what is counted.
PacketRecord = list[Any]
NUMBER, SENT_US, FIRST_ID, SEGMENTS, TUNNELLED, LAST_SRC, LAST_ARRIVE, LAST_ID = range(8)


def ipv6_text(value: int) -> str:
    """A /64 prefix's address (its low 64 bits zero) in RFC 5952 text, exactly as ``str(ipaddress.IPv6Address(value))``
    gives it, without building the object: a MAR formats a prefix at every attachment, and ipaddress's classes made
    that most of an attachment's cost (bench/engine.py). The four zero groups at the end are the longest run of zero
    groups, and the zero groups just before them join it, so that run is the ``::``."""
    if value & 0xFFFF_FFFF_FFFF_FFFF:
        raise ValueError(f"not a /64 prefix: {value:#x}")
    groups = (value >> 112, value >> 96 & 0xFFFF, value >> 80 & 0xFFFF, value >> 64 & 0xFFFF)
    text = "%x:%x:%x:%x" % groups  # noqa: UP031  # half the time of the f-string here
    while text.endswith(":0"):
        text = text[:-2]
    return "::" if text == "0" else text + "::"


# Keys (a flow by its id, a table entry by its prefix, an RA's prefix entry) that cost no Python call per item
BY_ID, BY_HNP, PREFIX = attrgetter("id"), attrgetter("hnp"), itemgetter("prefix")


class OwnedPrefixes:
    """The live prefixes a router anchors: hnp -> (mn, interface), and per (mn, interface) its prefixes, so a
    handover or a DB reply finds one MN's prefixes without going through every prefix the router anchors."""

    __slots__ = ("_by_owner", "_owner")

    def __init__(self) -> None:
        self._owner: dict[str, tuple[str, str]] = {}
        self._by_owner: dict[tuple[str, str], set[str]] = {}

    def add(self, hnp: str, mn: str, interface: str) -> None:
        self._owner[hnp] = (mn, interface)
        self._by_owner.setdefault((mn, interface), set()).add(hnp)

    def pop(self, hnp: str) -> tuple[str, str]:
        owner = self._owner.pop(hnp)
        mine = self._by_owner[owner]
        mine.discard(hnp)
        if not mine:
            del self._by_owner[owner]
        return owner

    def of(self, mn: str, interface: str) -> list[str]:
        """The prefixes anchored for that interface, sorted."""
        return sorted(self._by_owner.get((mn, interface), ()))

    def get(self, hnp: str) -> tuple[str, str] | None:
        return self._owner.get(hnp)

    def items(self) -> ItemsView[str, tuple[str, str]]:
        return self._owner.items()

    def __getitem__(self, hnp: str) -> tuple[str, str]:
        return self._owner[hnp]

    def __contains__(self, hnp: object) -> bool:
        return hnp in self._owner


@dataclass(slots=True)
class Mar:
    """A router with a prefix pool and binding tables: a MAR (anchor and serving MAR at once), or the LMA."""

    id: str
    pool: ipaddress.IPv6Network
    next_subnet: int = 1
    attached: dict[tuple[str, str], int] = field(default_factory=dict)  # (mn, interface) -> attach time
    own: OwnedPrefixes = field(default_factory=OwnedPrefixes)  # hnp -> (mn, interface), live prefixes it anchors
    local: dict[tuple[str, str], str] = field(default_factory=dict)  # (mn, interface) -> its current own prefix
    bc: BindingCache = field(default_factory=BindingCache)
    bul: BindingUpdateList = field(default_factory=BindingUpdateList)
    sequence: dict[str, int] = field(default_factory=dict)  # per MN, last PBU sequence sent
    pending_ra: dict[tuple[str, str], set[tuple[str, str | None]]] = field(default_factory=dict)
    # (mn, hnp, flow) asked of the DB (Figure 6) -> when; asked again MAX_BINDACK_TIMEOUT later if still unanswered
    flow_lookups: dict[tuple[str, str, str], int] = field(default_factory=dict)
    db_lookup: dict[tuple[str, str], int] = field(
        default_factory=dict
    )  # (mn, interface) -> id of the DB_QUERY unanswered


@dataclass(slots=True)
class Flow:
    id: str
    mn: str
    cn: str
    interface: str
    prefix: str | None  # None while waiting for the interface's first RA
    anchor: str | None
    node: MobileNode  # the MN itself, for the data path
    active: bool = True
    packets: int = 0
    generation: int = 0
    mn_address: str = ""  # the MN's address in the flow's prefix
    cn_address: str = ""


@dataclass(slots=True)
class MobileNode:
    id: str
    interfaces: list[str]
    attached: dict[str, str | None]
    prefixes: dict[str, list[dict[str, Any]]]  # interface -> prefixes from the last RA
    link_confirmed: dict[str, bool] = field(default_factory=dict)  # interface -> an RA came since the last L2 attach
    flows: dict[str, Flow] = field(default_factory=dict)
