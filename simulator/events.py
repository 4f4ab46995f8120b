"""The event catalogue: every kind of event the engine emits, what it carries, and what it is. The one place.

An event is a JSON-ready dict (docs/engine.md) with ``seq``, ``t`` and ``kind``; its kind's :class:`EventSpec` says
which other keys it has and which :class:`Category` it belongs to:

- ``message``: a packet sent from ``src`` to ``dst`` (upper-case kind), with ``id`` and ``arrive``;
- ``table``: a change to a node's tables (binding cache, BUL, session DB, prefixes, flows, links), at ``node``;
- ``action``: a script or user command applied (``action``), or a script step refused (``action_rejected``);
- ``drop``: a packet lost (the cost of a handover); it changes no table.

Everything that asks "is this a message?", "does this change the tables?" or "which kinds are there?" asks this
module (:func:`is_message`, :func:`changes_tables`, :data:`MESSAGE_KINDS`, ...): the exporters, the metrics, the
websocket layer, and the browser through the generated ``static/js/catalogue.js``. Node roles, which exporters used
to guess from the events, are in the trace itself (``trace()["nodes"]``, :data:`ROLES`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Category(StrEnum):
    MESSAGE = "message"
    TABLE = "table"
    ACTION = "action"
    DROP = "drop"


class Role(StrEnum):
    """What a node is, as the trace's ``nodes`` map says (id -> role)."""

    MN = "mn"  # a mobile node
    MAR = "mar"  # a mobility access router (anchor and/or serving MAR; the MAG or access router of the other designs)
    LMA = "lma"  # the central local mobility anchor (centralized-pmipv6 only)
    DB = "db"  # the session database (network-dmm)
    CN = "cn"  # a correspondent node


ROLES: tuple[str, ...] = tuple(r.value for r in Role)

COMMON_KEYS = ("seq", "t", "kind")
MESSAGE_KEYS = ("id", "arrive", "src", "dst")  # besides COMMON_KEYS, on every message
# On a message lost to a fault (formats.md "Faults"): lost "fault", which fault ("drop" | "loss" | "fail"), and why.
LOST_KEYS = ("lost", "fault", "lost_reason")
NODE_KEYS = ("node",)  # besides COMMON_KEYS, on every other event


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One kind of event: its category, the keys it always has (beyond the common ones), the keys it may have, and
    what it means (docs/engine.md)."""

    kind: str
    category: Category
    keys: tuple[str, ...]
    optional: tuple[str, ...] = ()
    meaning: str = ""
    designs: tuple[str, ...] = ("network-dmm", "client-dmm", "centralized-pmipv6")

    @property
    def is_message(self) -> bool:
        return self.category is Category.MESSAGE

    @property
    def changes_tables(self) -> bool:
        return self.category in (Category.TABLE, Category.ACTION) and self.kind != "action_rejected"

    def all_keys(self) -> frozenset[str]:
        base = COMMON_KEYS + (MESSAGE_KEYS + LOST_KEYS if self.is_message else NODE_KEYS)
        return frozenset(base + self.keys + self.optional)


_M, _T, _A, _D = Category.MESSAGE, Category.TABLE, Category.ACTION, Category.DROP
_PBX = ("mn", "mn_id", "hnps", "sequence", "lifetime", "flags", "handoff_indicator", "att", "timestamp")
# RFC 6089 Flow Identification (a moved flow's PBU/PBA, Figure 6) with an RFC 6088 traffic selector.
_FLOW_OPTION = ("flow_id", "flow_priority", "flow_action", "flow_status", "traffic_selector")
_BINDING = ("mn", "hnp", "flow", "serving", "lifetime")
_FLOW = ("mn", "flow", "cn", "interface", "prefix", "anchor")
_DB_LOOKUP = ("mn", "interface", "entries")  # a MAR's question to the session DB, and the answer
_DB_ENTRY = ("mn", "hnp", "anchor", "interface")  # one row of the session DB
_BUL = ("mn", "hnp", "anchor", "flow")  # one entry of a binding update list
# Which designs have a kind, when not all: the session DB is network-dmm's; PBU/PBA are the network-based designs';
# BU/BA client-dmm's.
_NETWORK = ("network-dmm",)
_PROXY = ("network-dmm", "centralized-pmipv6")
_CLIENT = ("client-dmm",)

# One row a kind: kind, category, keys, optional keys, then what it means (docs/engine.md) and where it happens.
EVENTS: dict[str, EventSpec] = {
    spec.kind: spec
    for spec in (
        # Messages (formats.md "Trace").
        EventSpec("RS", _M, ("mn", "interface"), meaning="router solicitation, MN -> MAR (RFC 4861)"),
        EventSpec("RA", _M, ("mn", "interface", "prefixes"), meaning="router advertisement, MAR -> MN (RFC 4861)"),
        EventSpec("DB_QUERY", _M, _DB_LOOKUP, ("hnp", "flow", "attempt"), designs=_NETWORK,
                  meaning="MAR asks the session DB for the MN's sessions (and writes its new prefix)"),
        EventSpec("DB_REPLY", _M, _DB_LOOKUP, ("hnp", "flow"), designs=_NETWORK,
                  meaning="the session DB answers with the MN's live prefixes"),
        EventSpec("DB_UPDATE", _M, ("mn", "op", "entries"), designs=_PROXY,  # centralised: the LMA releases an idle HNP
                  meaning="an anchor adds or removes a prefix in the DB"),
        EventSpec("PBU", _M, _PBX, ("flow", "interface", "attempt", *_FLOW_OPTION), designs=_PROXY,
                  meaning="proxy binding update, serving MAR -> anchor (RFC 5213 §6.9.1.1)"),
        EventSpec("PBA", _M, (*_PBX, "status"), ("flow", "interface", *_FLOW_OPTION), designs=_PROXY,
                  meaning="proxy binding acknowledgement, anchor -> serving MAR (RFC 5213 §5.3)"),
        EventSpec("BU", _M, ("mn", "interface", "hnps", "lifetime", "sequence", "flags", "home_address",
                             "care_of_address"), ("attempt",), designs=_CLIENT,
                  meaning="binding update, MN -> home agent (RFC 6275 §11.7.1)"),
        EventSpec("BA", _M, ("mn", "interface", "hnps", "status", "sequence", "lifetime"), designs=_CLIENT,
                  meaning="binding acknowledgement, home agent -> MN (RFC 6275 §10.3.1)"),
        EventSpec("DATA", _M, ("flow", "mn", "direction", "encapsulated", "inner_src", "inner_dst", "prefix", "packet",
                               "size"), meaning="one hop of a data packet; encapsulated inside a tunnel"),
        EventSpec("HEARTBEAT", _M, ("restart_counter", "flags", "sequence"), ("attempt",),
                  meaning="a node that restarted tells its peers (flags '' request, 'R' response; RFC 5847 §3, §5.1)"),
        # Actions. A fault command has no mn; its `kind` travels as `msg_kind` (an event's own kind is "action").
        EventSpec("action", _A, ("action", "source"),
                  ("mn", "mar", "cn", "flow", "interface", "node", "src", "dst", "msg_kind", "count", "rate"),
                  meaning="a script or user command was applied"),
        EventSpec("action_rejected", _A, ("action", "field", "message"), meaning="a script step could not happen then"),
        # Table changes.
        EventSpec("l2_attach", _T, ("mn", "interface"), meaning="link-layer attach"),
        EventSpec("l2_detach", _T, ("mn", "interface"), meaning="link-layer detach"),
        EventSpec("hnp_allocated", _T, ("mn", "interface", "hnp"), meaning="a /64 from the pool is given to the MN"),
        EventSpec("hnp_released", _T, ("mn", "interface", "hnp"), meaning="a /64 goes back to the pool (REQ2)"),
        EventSpec("db_entry_added", _T, _DB_ENTRY, designs=_NETWORK, meaning="the session DB gained an entry"),
        EventSpec("db_entry_removed", _T, _DB_ENTRY, ("reason",), designs=_NETWORK,
                  meaning="the session DB lost an entry"),
        EventSpec("binding_created", _T, _BINDING, meaning="the anchor's binding cache gained an entry"),
        EventSpec("binding_updated", _T, (*_BINDING, "previous"),
                  meaning="a binding now points to another serving node"),
        EventSpec("binding_deregistering", _T, _BINDING,
                  meaning="de-registered; deleted after MinDelayBeforeBCEDelete"),
        EventSpec("binding_deleted", _T, _BINDING, ("reason",),
                  meaning="the anchor's binding cache lost an entry (reason: lifetime expired, node failed)"),
        EventSpec("bul_added", _T, _BUL, meaning="a binding update list entry is in force"),
        EventSpec("bul_removed", _T, _BUL, ("reason",), meaning="a binding update list entry went"),
        EventSpec("bul_refreshing", _T, ("mn", "hnps", "anchor", "flow", "sequence", "attempt", "lifetime"),
                  meaning="an entry in force is re-registered (refresh, HI 5) or its PBU sent again: "
                  "a new sequence number"),
        EventSpec("bul_refreshed", _T, (*_BUL, "lifetime", "sequence"),
                  meaning="the refresh was accepted: the entry's lifetime starts again"),
        EventSpec("registration_gave_up", _T, ("mn", "hnps", "anchor", "flow", "lifetime", "attempts"),
                  meaning="no PBA (or BA) by MAX_BINDACK_TIMEOUT: the entry goes, the prefix is not advertised"),
        EventSpec("node_failed", _T, (), meaning="the node stops and loses its tables (a fault)"),
        EventSpec("node_recovered", _T, ("restart_counter",), meaning="the node is back, with empty tables"),
        EventSpec("tunnel_up", _T, ("peer", "hnps"), meaning="a bidirectional tunnel between node and peer appears"),
        EventSpec("tunnel_down", _T, ("peer", "hnps"), meaning="the tunnel goes: no binding uses it"),
        EventSpec("prefixes_changed", _T, ("mn", "interface", "prefixes"), meaning="the MN processed an RA"),
        EventSpec("flow_waiting", _T, ("mn", "flow", "cn", "interface", "reason"), meaning="a flow waits for a prefix"),
        EventSpec("flow_started", _T, _FLOW, meaning="a flow starts sending"),
        EventSpec("flow_stopped", _T, _FLOW, meaning="a flow ends"),
        EventSpec("flow_moved", _T, (*_FLOW, "previous"), designs=_NETWORK,
                  meaning="a flow moves to another interface (seed §4.3)"),
        # Loss.
        EventSpec("drop", _D, ("msg", "msg_kind", "flow", "mn", "reason", "in_flight"), ("lost", "fault"),
                  meaning="a packet was lost (lost 'fault': its destination had failed)"),
    )
}

KINDS: tuple[str, ...] = tuple(EVENTS)
MESSAGE_KINDS: frozenset[str] = frozenset(k for k, s in EVENTS.items() if s.category is Category.MESSAGE)
SIGNALLING_KINDS: frozenset[str] = MESSAGE_KINDS - {"DATA"}  # control messages: what a sequence diagram draws
TABLE_KINDS: frozenset[str] = frozenset(k for k, s in EVENTS.items() if s.category is Category.TABLE)
ACTION_KINDS: frozenset[str] = frozenset(k for k, s in EVENTS.items() if s.category is Category.ACTION)
_CHANGES = frozenset(k for k, s in EVENTS.items() if s.changes_tables)


def is_message(kind: str) -> bool:
    """True for a message (a packet from ``src`` to ``dst``). Unknown kinds follow the convention: upper case."""
    spec = EVENTS.get(kind)
    return spec.is_message if spec is not None else (kind.isupper())


def category(kind: str) -> Category | None:
    spec = EVENTS.get(kind)
    return spec.category if spec is not None else None


def changes_tables(events: Iterable[Mapping[str, Any]]) -> bool:
    """Whether these events changed any table of the state (so a new snapshot is worth building): a table change or
    an applied action does; messages, drops and refused steps do not."""
    return any(e["kind"] in _CHANGES for e in events)


def problems(event: Mapping[str, Any]) -> list[str]:
    """What is wrong with an event against the catalogue (unknown kind, missing or extra keys); [] when it fits."""
    spec = EVENTS.get(str(event.get("kind", "")))
    if spec is None:
        return [f"unknown kind {event.get('kind')!r}"]
    base = COMMON_KEYS + (MESSAGE_KEYS if spec.is_message else NODE_KEYS)
    found = [f"{spec.kind}: missing {key!r}" for key in (*base, *spec.keys) if key not in event]
    found += [f"{spec.kind}: unexpected {key!r}" for key in event if key not in spec.all_keys()]
    return found
