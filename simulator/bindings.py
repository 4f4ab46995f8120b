"""The life of a binding: every rule in one table, in the manner of h11's ``_state.py``.

A binding has two ends. The anchor (H-MAR, LMA role) keeps a binding cache entry; the serving MAR (V-MAR, MAG role),
or in client-dmm the mobile node itself, keeps a binding update list entry. Each end moves through the states below
only by the events in ``TRANSITIONS``; any other (state, event) pair is a ProtocolError, raised at once rather than
leaving the tables in a state no RFC describes. The docs (docs/engine.md) print this same table, and a test keeps the
two equal.
"""

from __future__ import annotations

from enum import StrEnum


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
    (SERVING, State.NONE, "PBA assigned the prefix"): (State.ACTIVE, "RFC 5213 §6.9.1.1 (centralised: the LMA names the HNP)"),
    (SERVING, State.PENDING, "PBA rejected"): (State.NONE, "RFC 5213 §6.9.1.1, §6.9.2 (not advertised)"),
    (SERVING, State.ACTIVE, "PBA for the de-registration"): (State.NONE, "RFC 5213 §6.9.1.2"),
    (SERVING, State.PENDING, "PBA for the de-registration"): (State.NONE, "REQ2: the flow ended while the PBU was out"),
    (SERVING, State.PENDING, "MN left"): (State.NONE, "seed §4.1: the next MAR re-points the binding"),
    (SERVING, State.ACTIVE, "MN left"): (State.NONE, "seed §4.1: the next MAR re-points the binding"),
    (SERVING, State.PENDING, "flow left"): (State.NONE, "seed §4.3: a per-flow binding ends with its flow"),
    (SERVING, State.ACTIVE, "flow left"): (State.NONE, "seed §4.3: a per-flow binding ends with its flow (PBU lifetime 0)"),
    (ANCHOR, State.NONE, "PBU accepted"): (State.ACTIVE, "RFC 5213 §5.3.2"),
    (ANCHOR, State.ACTIVE, "PBU accepted"): (State.ACTIVE, "RFC 5213 §5.3.4 (handoff: the route moves to the new tunnel)"),
    (ANCHOR, State.DEREGISTERING, "PBU accepted"): (State.ACTIVE, "RFC 5213 §5.3.5 (a new registration in time)"),
    (ANCHOR, State.ACTIVE, "de-registration"): (State.DEREGISTERING, "RFC 5213 §5.3.5"),
    (ANCHOR, State.DEREGISTERING, "MinDelayBeforeBCEDelete expired"): (State.NONE, "RFC 5213 §5.3.5"),
    (ANCHOR, State.ACTIVE, "MN back at the anchor"): (State.NONE, "seed §3.1: native again"),
    (ANCHOR, State.DEREGISTERING, "MN back at the anchor"): (State.NONE, "seed §3.1: native again, no need to wait"),
    (ANCHOR, State.ACTIVE, "prefix released"): (State.NONE, "REQ2"),
    (ANCHOR, State.ACTIVE, "de-registration (client)"): (State.NONE, "RFC 6275 §10.3.2: the home agent deletes at once"),
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
