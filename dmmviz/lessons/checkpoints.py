"""Checkpoint kinds: a question about the network at one moment, whose answer is read from the engine's state.

The instructor picks a kind and its parameters ("which MAR anchors flow1 of MN1 now?"); the answer, the choices offered
and the explanation shown afterwards all come from ``Simulation.snapshot()`` (a "dmmviz-state/1" document) at the moment
the step pauses. Nothing here is typed in by the instructor except the parameters, so an answer can never disagree
with what the simulation shows. ``KINDS`` is the one table of kinds: the validator, the editor (through
``kinds_catalogue``), the grader and docs/lessons.md all read it.

Pure: no Django, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

NONE = "none"  # the choice value for "none of them" / "not attached"


class CheckpointError(ValueError):
    """A checkpoint that cannot be asked at this moment (unknown node, flow not active, ...).

    ``field`` names the key."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


@dataclass(frozen=True, slots=True)
class Question:
    """A question with its true answer.

    ``input`` is "choice" (one value), "multi" (a set of values) or "number". ``choices`` are (value, label) pairs.
    ``answer`` is a sorted tuple of values, or an int for "number".
    """

    kind: str
    prompt: str
    input: str
    choices: tuple[tuple[str, str], ...]
    answer: tuple[str, ...] | int
    explanation: str

    def answer_text(self) -> str:
        if isinstance(self.answer, int):
            return str(self.answer)
        labels = dict(self.choices)
        return ", ".join(labels.get(v, v) for v in self.answer)

    def public(self) -> dict[str, Any]:
        """What a student may see before answering (no answer, no explanation)."""
        return {
            "kind": self.kind,
            "prompt": self.prompt,
            "input": self.input,
            "choices": [list(c) for c in self.choices],
        }


class ResponseError(ValueError):
    """A response that is not an answer to the question at all (empty, not a number, not one of the choices)."""


def normalise_response(question: Question, response: Any) -> tuple[str, ...] | int:
    """Turn a submitted response (a string, a list of strings, or a number) into the answer's form.

    Raises ResponseError for a response that is not an answer."""
    if question.input == "number":
        if isinstance(response, list) and len(response) == 1:
            response = response[0]
        if isinstance(response, bool):
            raise ResponseError("enter a whole number")
        try:
            value = int(str(response).strip())
        except (TypeError, ValueError):
            raise ResponseError("enter a whole number") from None
        if value < 0:
            raise ResponseError("enter a number of 0 or more")
        return value
    values = [response] if isinstance(response, str) else response
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ResponseError("choose an answer")
    values = [v for v in values if v]
    if not values:
        raise ResponseError("choose an answer")
    known = {value for value, _ in question.choices}
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ResponseError(f"{unknown[0][:60]!r} is not one of the choices")
    if question.input == "choice" and len(values) != 1:
        raise ResponseError("choose exactly one answer")
    if question.input == "multi" and NONE in values and len(values) > 1:
        raise ResponseError('"none" cannot be chosen together with other answers')
    return tuple(sorted(set(values)))


def grade(question: Question, response: Any) -> bool:
    """True when the response is the answer. Raises ResponseError for a response that is not an answer at all."""
    return normalise_response(question, response) == question.answer


# -- reading the state ------------------------------------------------------------------------------------------


def _mn(state: dict[str, Any], params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    mn_id = params["mn"]
    mn = state["mns"].get(mn_id)
    if mn is None:
        raise CheckpointError(
            "mn", f"unknown mobile node {mn_id!r} (mobile nodes: {', '.join(sorted(state['mns'])) or 'none'})"
        )
    return mn_id, mn


def _active_flow(state: dict[str, Any], params: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    mn_id, mn = _mn(state, params)
    flow_id = params["flow"]
    active = [f for f in mn["flows"] if f["active"]]
    for flow in active:
        if flow["id"] == flow_id:
            if not flow.get("anchor"):
                raise CheckpointError(
                    "flow", f"{flow_id} of {mn_id} has no prefix yet at t={_t(state)} (it waits for an RA)"
                )
            return mn_id, mn, flow
    names = ", ".join(f["id"] for f in active) or "none"
    raise CheckpointError("flow", f"{mn_id} has no active flow {flow_id!r} at t={_t(state)} (active flows: {names})")


def _node(state: dict[str, Any], params: dict[str, Any], key: str = "node") -> str:
    node = params[key]
    if node not in state["mars"]:
        raise CheckpointError(key, f"unknown node {node!r} (nodes with tables: {', '.join(sorted(state['mars']))})")
    return node


def _t(state: dict[str, Any]) -> str:
    return f"{state['t']:g}"


def _anchors(state: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Every node that can anchor or serve: the MARs (and the LMA in centralised mode)."""
    return tuple((node, node) for node in sorted(state["mars"]))


def _tunnels(state: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = {tuple(sorted((node, peer))) for node, tables in state["mars"].items() for peer in tables["tunnels"]}
    return sorted(pairs)  # type: ignore[arg-type]


def _prefix_label(p: dict[str, Any]) -> str:
    return f"{p['prefix']} (on {p['interface']})"


# -- the kinds ------------------------------------------------------------------------------------------------


def _flow_anchor(state: dict[str, Any], p: dict[str, Any]) -> Question:
    mn_id, mn, flow = _active_flow(state, p)
    anchor, serving = flow["anchor"], mn["interfaces"].get(flow["interface"])
    how = (
        f"{mn_id} is on {anchor} itself, so the flow is routed natively."
        if serving == anchor
        else f"{mn_id}'s {flow['interface']} is now served by {serving or 'no MAR'}, "
        f"so {anchor} tunnels the flow there."
    )
    return one_of(
        "flow_anchor", f"Which node anchors {flow['id']} of {mn_id} now?", _anchors(state), anchor,
        f"{flow['id']} uses the prefix {flow['prefix']}, which {anchor} allocated: {anchor} anchors it for as "
        f"long as the flow lives. {how}",
    )


def _flow_tunnelled(state: dict[str, Any], p: dict[str, Any]) -> Question:
    mn_id, mn, flow = _active_flow(state, p)
    anchor, serving = flow["anchor"], mn["interfaces"].get(flow["interface"])
    if serving is None:
        raise CheckpointError("flow", f"{flow['id']}'s interface {flow['interface']} is not attached at t={_t(state)}")
    tunnelled = serving != anchor
    why = (
        f"{flow['id']}'s anchor is {anchor} but {mn_id} is served by {serving}: {anchor} encapsulates the packets and "
        f"tunnels them to {serving}."
        if tunnelled
        else f"{flow['id']}'s anchor {anchor} is the MAR {mn_id} is attached to, so no mobility function is needed."
    )
    return one_of(
        "flow_tunnelled", f"Is {flow['id']} of {mn_id} carried through a tunnel now?",
        (("yes", "Yes, through a tunnel"), ("no", "No, routed natively")), "yes" if tunnelled else "no", why,
    )


def _flow_prefix(state: dict[str, Any], p: dict[str, Any]) -> Question:
    mn_id, mn, flow = _active_flow(state, p)
    choices = tuple((pr["prefix"], _prefix_label(pr)) for pr in sorted(mn["prefixes"], key=lambda x: x["prefix"]))
    if flow["prefix"] not in dict(choices):
        choices = tuple(sorted((*choices, (flow["prefix"], flow["prefix"]))))
    return one_of(
        "flow_prefix", f"Which prefix does {flow['id']} of {mn_id} use?", choices, flow["prefix"],
        f"A flow keeps the source address it started with: {flow['id']} started with an address from "
        f"{flow['prefix']} (then preferred), allocated by {flow['anchor']}.",
    )


def _deprecated_prefix(state: dict[str, Any], p: dict[str, Any]) -> Question:
    mn_id, mn = _mn(state, p)
    prefixes = sorted(mn["prefixes"], key=lambda x: x["prefix"])
    if not prefixes:
        raise CheckpointError("mn", f"{mn_id} holds no prefix at t={_t(state)}")
    deprecated = tuple(sorted(pr["prefix"] for pr in prefixes if pr["deprecated"]))
    if deprecated:
        why = (
            f"The last RA listed {', '.join(deprecated)} with preferred lifetime 0: "
            "the addresses keep serving the flows "
            f"that already use them, but new flows pick a preferred prefix (RFC 6724 rule 3)."
        )
    else:
        why = "Every prefix was last advertised with a non-zero preferred lifetime, so none is deprecated."
    return some_of(
        "deprecated_prefix", f"Which of {mn_id}'s prefixes are deprecated now?",
        tuple((pr["prefix"], _prefix_label(pr)) for pr in prefixes), deprecated, why,
    )


def _serving_mar(state: dict[str, Any], p: dict[str, Any]) -> Question:
    mn_id, mn = _mn(state, p)
    interfaces = sorted(mn["interfaces"])
    iface = p.get("interface")
    if iface is None:
        if len(interfaces) != 1:
            raise CheckpointError("interface", f"{mn_id} has {len(interfaces)} interfaces: say which")
        iface = interfaces[0]
    if iface not in mn["interfaces"]:
        raise CheckpointError("interface", f"{mn_id} has no interface {iface!r} (it has {', '.join(interfaces)})")
    mar = mn["interfaces"][iface]
    return one_of(
        "serving_mar", f"Which MAR is {mn_id}'s {iface} attached to now?", (*_anchors(state), (NONE, "Not attached")),
        mar or NONE,
        f"{mn_id}'s {iface} is attached to {mar}." if mar else f"{mn_id}'s {iface} is not attached to any MAR.",
    )


def one_of(kind: str, prompt: str, choices: tuple[tuple[str, str], ...], answer: str, explanation: str) -> Question:
    """A question with one right choice."""
    return Question(kind=kind, prompt=prompt, input="choice", choices=choices, answer=(answer,),
                    explanation=explanation)


def some_of(kind: str, prompt: str, choices: tuple[tuple[str, str], ...], answers: tuple[str, ...], explanation: str,
            none: str = "None of them") -> Question:
    """A question whose answer is a set of choices; a last choice, NONE (labelled `none`), is right when the set is
    empty."""
    return Question(kind=kind, prompt=prompt, input="multi", choices=(*choices, (NONE, none)),
                    answer=answers or (NONE,), explanation=explanation)


def _how_many(kind: str, prompt: str, items: list[Any], listed: str, none: str) -> Question:
    """A "how many" question: the answer is len(items); the explanation is `listed`, or `none` when there are none."""
    return Question(kind=kind, prompt=prompt, input="number", choices=(), answer=len(items),
                    explanation=listed if items else none)


def _tunnel_count(state: dict[str, Any], p: dict[str, Any]) -> Question:
    pairs = _tunnels(state)
    listed = "; ".join(f"{a} ⇄ {b}" for a, b in pairs)
    return _how_many(
        "tunnel_count",
        "How many tunnels exist now?",
        pairs,
        f"Tunnels now: {listed}. A tunnel exists only while an anchor forwards a prefix in use to another MAR.",
        "No tunnel exists: no anchor is forwarding a prefix in use to another MAR.",
    )


def _tunnel_peers(state: dict[str, Any], p: dict[str, Any]) -> Question:
    node = _node(state, p)
    peers = tuple(sorted(state["mars"][node]["tunnels"]))
    others = tuple((n, n) for n in sorted(state["mars"]) if n != node)
    return some_of(
        "tunnel_peers", f"Which nodes does {node} have a tunnel with now?", others, peers,
        f"{node} has a tunnel with {', '.join(peers)}." if peers else f"{node} has no tunnel now.", none="None",
    )


def _binding_count(state: dict[str, Any], p: dict[str, Any]) -> Question:
    node = _node(state, p)
    cache = state["mars"][node]["binding_cache"]
    entries = "; ".join(
        f"{b['hnp']} of {b['mn']} → {b['serving']}"
        + (f" ({b['state']})" if b.get("state", "active") != "active" else "")
        for b in cache
    )
    return _how_many(
        "binding_count",
        f"How many entries does {node}'s binding cache hold now?",
        cache,
        f"{node}'s binding cache: {entries}.",
        f"{node}'s binding cache is empty: it anchors no prefix that is in use away from it.",
    )


def _db_entries(state: dict[str, Any], p: dict[str, Any]) -> Question:
    mn_id, _ = _mn(state, p)
    entries = state["session_db"].get(mn_id, [])
    listed = "; ".join(f"{e['hnp']} anchored at {e['anchor']}" for e in entries)
    return _how_many(
        "db_entries",
        f"How many prefixes does the session database hold for {mn_id} now?",
        entries,
        f"The session DB holds for {mn_id}: {listed}.",
        f"The session DB holds nothing for {mn_id}.",
    )


@dataclass(frozen=True, slots=True)
class Kind:
    """One checkpoint kind: its parameters, a one-line description (editor, docs) and the function that asks it."""

    label: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    ask: Callable[[dict[str, Any], dict[str, Any]], Question] = field(repr=False)


KINDS: dict[str, Kind] = {
    "flow_anchor": Kind("Which node anchors a flow now", ("mn", "flow"), (), _flow_anchor),
    "flow_tunnelled": Kind("Is a flow tunnelled now", ("mn", "flow"), (), _flow_tunnelled),
    "flow_prefix": Kind("Which prefix a flow uses", ("mn", "flow"), (), _flow_prefix),
    "deprecated_prefix": Kind("Which of a mobile node's prefixes are deprecated", ("mn",), (), _deprecated_prefix),
    "serving_mar": Kind("Which MAR an interface is attached to", ("mn",), ("interface",), _serving_mar),
    "tunnel_count": Kind("How many tunnels exist", (), (), _tunnel_count),
    "tunnel_peers": Kind("Which nodes a MAR has tunnels with", ("node",), (), _tunnel_peers),
    "binding_count": Kind("How many entries a binding cache holds", ("node",), (), _binding_count),
    "db_entries": Kind("How many prefixes the session DB holds for a mobile node", ("mn",), (), _db_entries),
}

# Keys of a checkpoint object besides the kind's own parameters.
COMMON_KEYS = ("kind", "question", "feedback")


def ask(checkpoint: dict[str, Any], state: dict[str, Any]) -> Question:
    """The question a checkpoint asks in ``state``, with its answer. Raises CheckpointError naming the bad key."""
    kind = KINDS.get(checkpoint.get("kind", ""))
    if kind is None:
        raise CheckpointError("kind", f"unknown checkpoint kind {checkpoint.get('kind')!r} (kinds: {', '.join(KINDS)})")
    params = {k: checkpoint[k] for k in (*kind.required, *kind.optional) if k in checkpoint}
    question = kind.ask(state, params)
    custom = checkpoint.get("question")
    if custom:
        question = Question(
            kind=question.kind,
            prompt=custom,
            input=question.input,
            choices=question.choices,
            answer=question.answer,
            explanation=question.explanation,
        )
    return question


def kinds_catalogue() -> list[dict[str, Any]]:
    """The kinds for the editor: name, label, required and optional parameters."""
    return [
        {"kind": name, "label": k.label, "required": list(k.required), "optional": list(k.optional)}
        for name, k in KINDS.items()
    ]
