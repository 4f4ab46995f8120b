"""Practice questions: predict what the simulation does next, for any scenario (VisuAlgo's online quiz, for DMM).

``next_question(sim)`` runs a *copy* of the simulation forward (``Simulation.replay`` of the same scenario, seed,
journal and step count) one step at a time until a step does something worth predicting, and asks about it; what
matters in a handover (the PBU and PBA, the binding they make, the RA that deprecates a prefix) is asked first: when
one follows within KEY_WINDOW of the first candidate step (an RS, a DB look-up), the question is about it instead:

- ``next_message``: the next signalling message, which node sends it to whom ("MAR2 → MAR1: PBU"); the distractors
  come from the topology and the mode's message kinds (the reverse direction, the answering message, another MAR,
  another kind between the same nodes);
- ``new_flow_anchor``: a flow is about to start: which node will anchor it;
- ``binding_serving``: an anchor is about to create or update a binding: which MAR will its binding cache say serves
  the prefix;
- ``deprecated_after_ra``: the MN is about to process an RA: which of its prefixes will be deprecated.

The true answer is read from the events the copy produced, so it is what the real simulation will do next (the engine
is deterministic). ``reveal`` says how far to run the real simulation to show it happen. Pure: no Django.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from simulator import Simulation

from .checkpoints import NONE, Question, one_of, some_of

MAX_SCAN_STEPS = 20_000
MAX_SCAN_SECONDS = 30.0  # of simulated time with nothing to predict (data only) before giving up
CHOICES = 4
KEY_WINDOW = 0.5  # seconds: a PBU, PBA or deprecating RA this soon after filler (RS, DB look-up) is asked first

KINDS_BY_MODE = {
    "network-dmm": ("RS", "RA", "DB_QUERY", "DB_REPLY", "DB_UPDATE", "PBU", "PBA"),
    "centralized-pmipv6": ("RS", "RA", "PBU", "PBA"),
    "client-dmm": ("RS", "RA", "BU", "BA"),
}
PARTNER = {
    "RS": "RA",
    "RA": "RS",
    "PBU": "PBA",
    "PBA": "PBU",
    "BU": "BA",
    "BA": "BU",
    "DB_QUERY": "DB_REPLY",
    "DB_REPLY": "DB_QUERY",
    "DB_UPDATE": "DB_REPLY",
}
MEANING = {
    "RS": "Router Solicitation: the MN asks the access router for prefixes after attaching",
    "RA": "Router Advertisement: the access router lists the MN's prefixes (old ones deprecated)",
    "DB_QUERY": "the MAR asks the session DB which prefixes the MN already has, and their anchors",
    "DB_REPLY": "the session DB answers with the MN's live prefixes and their anchors",
    "DB_UPDATE": "the anchor records (or removes) a prefix and its anchor in the session DB",
    "PBU": "Proxy Binding Update: the serving MAR registers the prefix with its anchor (lifetime 0 de-registers)",
    "PBA": "Proxy Binding Acknowledgement: the anchor accepts and sets up (or tears down) the tunnel",
    "BU": "Binding Update: the MN itself registers its care-of address with the home agent",
    "BA": "Binding Acknowledgement: the home agent accepts the binding",
}


@dataclass(frozen=True, slots=True)
class Practice:
    """A question about the simulation's next step, and how to show the answer happen.

    ``reveal_t``: run the real simulation until this time to see the event (a message's arrival, or the step's time).
    ``steps_after``: the copy's step count right after the step the question is about.
    ``event``: the event the answer comes from.
    """

    question: Question
    reveal_t: float
    steps_after: int
    event: dict[str, Any]


def copy_of(sim: Simulation) -> Simulation:
    """An independent simulation at the same point (replayed, so the real one is untouched)."""
    journal = [(s, t, dict(c)) for s, t, c in sim.journal]
    return Simulation.replay(sim.scenario, sim.seed, journal, sim.steps, now=sim.now, mode=sim.mode)


def next_question(sim: Simulation, salt: str = "") -> Practice | None:
    """The question about the next step worth predicting, or None when nothing more will happen.

    ``salt`` (say, the session id and step count) seeds the choice of question type and the order of the choices, so a
    question is reproducible but two students (or two points) do not see the same pattern.
    """
    rng = random.Random(f"{salt}|{sim.steps}|{sim.now}")
    ahead = copy_of(sim)
    start = ahead.now
    fallback: Practice | None = None  # the first step worth a question; asked unless a key one follows closely
    for _ in range(MAX_SCAN_STEPS):
        before = ahead.snapshot()
        nxt = ahead.peek()
        if (
            nxt is None
            or nxt - start > MAX_SCAN_SECONDS
            or (fallback is not None and nxt - fallback.event["t"] > KEY_WINDOW)
        ):
            return fallback
        events = ahead.step()
        options = _candidates(ahead, before, events, rng)
        if not options:
            continue
        key = [o for o in options if _is_key(o[0], o[1])]
        if key:  # what the handover is about: asked first, the filler before it is shown on the way
            question, event, reveal_t = rng.choice(key)
            return Practice(question=question, reveal_t=reveal_t, steps_after=ahead.steps, event=event)
        if fallback is None:
            question, event, reveal_t = rng.choice(options)
            fallback = Practice(question=question, reveal_t=reveal_t, steps_after=ahead.steps, event=event)
    return fallback


def _is_key(question: Question, event: dict[str, Any]) -> bool:
    """The messages that matter in a handover: the PBU/PBA (BU/BA) that move a prefix's binding, the binding they
    make, and the RA (and its processing) that deprecates a prefix. RS, DB look-ups and first attachments are filler."""
    if question.kind == "next_message":
        prefixes = event.get("prefixes") or []
        return event["kind"] in ("PBU", "PBA", "BU", "BA") or (
            event["kind"] == "RA" and any(p.get("preferred_lifetime") == 0 for p in prefixes)
        )
    if question.kind == "deprecated_after_ra":
        return question.answer != (NONE,)
    return question.kind == "binding_serving"


def _candidates(
    sim: Simulation, before: dict[str, Any], events: list[dict[str, Any]], rng: random.Random
) -> list[tuple[Question, dict, float]]:
    out: list[tuple[Question, dict, float]] = []
    messages = [e for e in events if "src" in e and e["kind"] in PARTNER]
    if messages:
        first = messages[0]
        # Shown up to its arrival, not past it: what the arrival sets off (a PBA, a binding) is the next question.
        arrive = first.get("arrive")
        out.append(
            (
                _message_question(sim, before, first, rng),
                first,
                max(first["t"], arrive - 1e-6) if arrive is not None else first["t"],
            )
        )
    for e in events:
        if e["kind"] == "flow_started" and e.get("anchor"):
            out.append((_flow_question(before, e), e, e["t"]))
            break
    for e in events:
        if e["kind"] in ("binding_created", "binding_updated"):
            out.append((_binding_question(before, e), e, e["t"]))
            break
    for e in events:
        if e["kind"] == "prefixes_changed" and e.get("prefixes"):
            out.append((_deprecated_question(e), e, e["t"]))
            break
    # A question with one possible answer teaches nothing (a one-MAR network, say).
    return [option for option in out if len(option[0].choices) >= 2]


def _nodes(state: dict[str, Any]) -> list[str]:
    return sorted(state["mars"])


def _label(src: str, kind: str, dst: str) -> str:
    return f"{src} → {dst}: {kind}"


def _message_question(sim: Simulation, state: dict[str, Any], msg: dict[str, Any], rng: random.Random) -> Question:
    src, kind, dst = msg["src"], msg["kind"], msg["dst"]
    mode_kinds = KINDS_BY_MODE.get(sim.mode, tuple(PARTNER))
    routers = _nodes(state)
    db = sim.db_id if "DB_QUERY" in mode_kinds else None
    mns = sorted(state["mns"])

    def peers_like(node: str) -> list[str]:
        if node in routers:
            return [r for r in routers if r != node]
        if node in mns:
            return [m for m in mns if m != node]
        return []

    candidates: list[tuple[str, str, str]] = [
        (dst, kind, src),
        (dst, PARTNER.get(kind, kind), src),
        (src, PARTNER.get(kind, kind), dst),
    ]
    candidates += [(src, kind, other) for other in peers_like(dst)]
    candidates += [(other, kind, dst) for other in peers_like(src)]
    candidates += [(src, k, dst) for k in mode_kinds if k != kind and _plausible(k, src, dst, routers, mns, db)]
    if db and src != db and dst != db:
        candidates.append((src, "DB_QUERY", db))
    truth = (src, kind, dst)
    seen = {truth}
    distractors: list[tuple[str, str, str]] = []
    rng.shuffle(candidates)
    # Prefer candidates that could happen between these kinds of node (a PBU from the DB is no real temptation).
    candidates.sort(key=lambda c: not _plausible(c[1], c[0], c[2], routers, mns, db))
    for c in candidates:
        if c not in seen and c[0] != c[2]:
            seen.add(c)
            distractors.append(c)
        if len(distractors) == CHOICES - 1:
            break
    options = [truth, *distractors]
    rng.shuffle(options)
    value = "|".join(truth)
    why = MEANING.get(kind, kind)
    detail = ""
    if kind in ("PBU", "BU"):
        detail = (
            f" It carries {', '.join(msg.get('hnps') or [])} with lifetime {msg.get('lifetime'):g} s"
            if msg.get("lifetime") is not None
            else ""
        )
        detail += f"{' for ' + msg['flow'] if msg.get('flow') else ''}."
    elif kind == "RA" and msg.get("prefixes"):
        detail = (
            " Prefixes: "
            + ", ".join(
                f"{p['prefix']}{' (deprecated)' if p.get('preferred_lifetime') == 0 else ''}" for p in msg["prefixes"]
            )
            + "."
        )
    return one_of(
        "next_message", "Which signalling message comes next, and who sends it to whom?",
        tuple(("|".join(o), _label(*o)) for o in options), value,
        f"At t = {msg['t']:.3f} s {src} sends {'an' if kind[0] in 'AEIORS' else 'a'} {kind} to {dst}: "
        f"{why}.{detail}",
    )


def _plausible(kind: str, src: str, dst: str, routers: list[str], mns: list[str], db: str | None) -> bool:
    """Could a message of this kind go from src to dst in this network at all (node types only)?"""
    if kind == "RS" or kind in ("BU",):
        return src in mns and dst in routers
    if kind == "RA" or kind == "BA":
        return src in routers and dst in mns
    if kind in ("DB_QUERY", "DB_UPDATE"):
        return src in routers and dst == db
    if kind == "DB_REPLY":
        return src == db and dst in routers
    if kind in ("PBU", "PBA"):
        return src in routers and dst in routers
    return False


def _flow_question(state: dict[str, Any], e: dict[str, Any]) -> Question:
    choices = tuple((n, n) for n in _nodes(state))
    mn = state["mns"].get(e["mn"], {})
    where = mn.get("interfaces", {}).get(e["interface"])
    return one_of(
        "new_flow_anchor",
        f"{e['mn']} is about to start {e['flow']} to {e['cn']} on {e['interface']}. Which node will anchor it?",
        choices, e["anchor"],
        f"{e['flow']} takes a preferred prefix of {e['interface']}, {e['prefix']}, "
        f"allocated by {e['anchor']}"
        + (f" ({e['mn']} is on {where}); deprecated prefixes are never chosen for a new flow." if where else "."),
    )


def _binding_question(state: dict[str, Any], e: dict[str, Any]) -> Question:
    node = e["node"]
    # Every router, the anchor too: "the anchor serves it itself" is the misconception worth catching.
    choices = tuple((n, f"{n} (itself)" if n == node else n) for n in _nodes(state))
    if e["serving"] not in dict(choices):  # client-based DMM: the home agent binds the MN's own care-of address
        choices = (*choices, (e["serving"], f"{e['serving']} itself (its care-of address)"))
    flow = f" ({e['flow']} only)" if e.get("flow") else ""
    return one_of(
        "binding_serving",
        f"{node} is about to {'create' if e['kind'] == 'binding_created' else 'update'} a binding for "
        f"{e['hnp']}{flow}. Which node will its binding cache say serves {e['mn']} for this prefix?",
        choices, e["serving"],
        f"{node} anchors {e['hnp']}; the binding update came from {e['serving']}"
        + (f", where {e['mn']} is attached now" if e["serving"] != e["mn"] else " (the MN's care-of address)")
        + f", so {node} tunnels the prefix's packets to {e['serving']}.",
    )


def _deprecated_question(e: dict[str, Any]) -> Question:
    prefixes = sorted(e["prefixes"], key=lambda p: p["prefix"])
    deprecated = tuple(sorted(p["prefix"] for p in prefixes if p.get("deprecated")))
    return some_of(
        "deprecated_after_ra",
        f"{e['mn']} is about to process a Router Advertisement on {e['interface']}. Which of the advertised "
        "prefixes will be deprecated?",
        tuple((p["prefix"], f"{p['prefix']} (from {p.get('anchor', '?')})") for p in prefixes),
        deprecated,
        (
            f"{', '.join(deprecated)} come{'s' if len(deprecated) == 1 else ''} with preferred lifetime 0: "
            f"{e['mn']} is away from their anchor, so only flows that already use them keep them."
            if deprecated
            else f"Every advertised prefix is anchored where {e['mn']} is now, so none is deprecated."
        ),
    )
