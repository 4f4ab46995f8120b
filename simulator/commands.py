"""The command catalogue: every action a script, a user, a lesson or a websocket client can ask for, in one place.

Each command is a :class:`CommandSpec` (its name, its keys, the designs that model it, what it does). Two checks use
the catalogue and nothing else spells an action or its wording:

- :func:`shape_problems` checks what needs no simulation (known action, allowed and required keys, ids); the
  websocket protocol (dmmviz/protocol.py), the lesson format and the engine call it.
- :func:`check` checks feasibility against a :class:`World` (is the MN attached, is the flow active, ...); the engine
  calls it with its live state, the scenario validator with the state the script implies. One function, one wording.

The browser gets the same catalogue as ``static/js/catalogue.js`` (:mod:`simulator.catalogue`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .events import MESSAGE_KINDS
from .limits import MAX_FLOWS_PER_MN, MAX_ID_CHARS

DESIGNS = ("network-dmm", "client-dmm", "centralized-pmipv6")
ID_KEYS = ("mn", "mar", "cn", "flow", "interface", "node", "src", "dst")  # keys whose values are ids
# "$(?!\n)": the end of the text in JSON Schema's regex dialect (ECMA-262) and in Python's, whose "$" alone also matches
# before a final newline (an id "x\n" passed, and diagrams drew it as "x")
ID_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_ID_CHARS - 1}}}$(?!\n)"
_ID_RE = re.compile(ID_PATTERN)


class CommandError(ValueError):
    """A command that cannot be applied now; nothing was changed. ``field`` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command: its keys, the designs that model it, and one line for people (docs, the browser's log)."""

    name: str
    required: frozenset[str]
    optional: frozenset[str]
    summary: str
    designs: frozenset[str] = frozenset(DESIGNS)
    # Why a design refuses it (the start of the refusal message): "move_flow (per-flow mobility, seed §4.3)".
    refused_as: str = ""
    # The kind of value of each key that is not an id (VALUE_CHECKS): e.g. (("rate", "probability"),).
    values: tuple[tuple[str, str], ...] = ()

    def value_kind(self, key: str) -> str:
        return dict(self.values).get(key, "id")

    @property
    def keys(self) -> frozenset[str]:
        return self.required | self.optional


_ALL = frozenset(DESIGNS)

COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("attach", frozenset({"mn", "mar"}), frozenset({"interface"}), "attach {mn}{ interface} to {mar}"),
        CommandSpec("detach", frozenset({"mn"}), frozenset({"interface"}), "detach {mn}{ interface}"),
        CommandSpec("move", frozenset({"mn", "mar"}), frozenset({"interface"}), "move {mn}{ interface} to {mar}"),
        CommandSpec(
            "start_flow", frozenset({"mn", "flow", "cn"}), frozenset({"interface"}), "{mn} starts {flow} to {cn}"
        ),
        CommandSpec("stop_flow", frozenset({"mn", "flow"}), frozenset(), "{mn} stops {flow}"),
        CommandSpec(
            "move_flow",
            frozenset({"mn", "flow", "interface"}),
            frozenset(),
            "{mn} moves {flow} to {interface}",
            designs=frozenset({"network-dmm"}),
            refused_as="move_flow (per-flow mobility, seed §4.3)",
        ),
        # Faults (../shared/spec/formats.md "Faults"; docs/engine.md "Faults and timers"): about the network, no MN.
        CommandSpec(
            "drop",
            frozenset({"kind"}),
            frozenset({"src", "dst", "count"}),
            "drop the next {kind}",
            values=(("kind", "message_kind"), ("count", "count")),
        ),
        CommandSpec(
            "loss", frozenset({"node", "rate"}), frozenset(), "loss {rate} at {node}", values=(("rate", "probability"),)
        ),
        CommandSpec("fail", frozenset({"node"}), frozenset(), "{node} fails"),
        CommandSpec("recover", frozenset({"node"}), frozenset(), "{node} recovers"),
    )
}
ACTIONS: tuple[str, ...] = tuple(COMMANDS)
LINK_ACTIONS = ("attach", "detach", "move")  # the interface may be left out when the MN has only one


def describe(command: Mapping[str, Any]) -> str:
    """A command in words, from its catalogue ``summary`` ("move MN1 if1 to MAR2"). In a summary ``{key}`` is the
    key's value and ``{ key}`` a space and the value when the command has the key (nothing when it has not)."""
    spec = COMMANDS[command["action"]]

    def fill(match: re.Match[str]) -> str:
        value = command.get(match.group(2))
        return f"{match.group(1)}{value}" if value is not None else ""

    return _SLOT.sub(fill, spec.summary)


_SLOT = re.compile(r"\{( ?)(\w+)\}")


# -- shape: no simulation needed ----------------------------------------------------------------------------------


def shape_problems(command: Any, *, at_allowed: bool = False) -> list[tuple[str, str]]:
    """Every (key, message) that makes ``command`` malformed: unknown action, unknown or missing keys, a value that is
    not an id. ``at_allowed`` for scenario scripts (their ``at`` is checked by the scenario's schema)."""
    if not isinstance(command, dict):
        return [("", 'a command is an object such as {"action": "move", "mn": "MN1", "mar": "MAR2"}')]
    action = command.get("action")
    if not isinstance(action, str) or action not in COMMANDS:
        shown = repr(action) if isinstance(action, str) and len(action) <= 40 else "that"
        return [("action", f"unknown action {shown} (one of {', '.join(ACTIONS)})")]
    spec = COMMANDS[action]
    problems: list[tuple[str, str]] = []
    for key in command:
        if key == "action" or (key == "at" and at_allowed):
            continue
        name = str(key)[:40]
        if key == "at":
            problems.append(("at", "a command applies at the current time; 'at' belongs in scenario scripts"))
        elif key not in spec.keys:
            problems.append((name, f"unknown key {name!r} ({action} takes {', '.join(sorted(spec.keys))})"))
        else:
            problem = VALUE_CHECKS[spec.value_kind(key)](command[key])
            if problem:
                problems.append((name, problem))
    for key in sorted(spec.required - set(command)):
        problems.append((key, f"is required for {action!r}"))
    return problems


def _id_problem(value: Any) -> str | None:
    if isinstance(value, str) and _ID_RE.match(value):
        return None
    return f"must be an id: letters, digits, _ . -; at most {MAX_ID_CHARS} characters"


def _probability_problem(value: Any) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1
    return None if ok else "must be a number from 0 to 1"


def _count_problem(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_COUNT
    return None if ok else f"must be an integer from 1 to {MAX_COUNT}"


def _message_kind_problem(value: Any) -> str | None:
    if isinstance(value, str) and value in MESSAGE_KINDS:
        return None
    return f"must be a message kind ({', '.join(sorted(MESSAGE_KINDS))})"


MAX_COUNT = 1_000
# Checks of a key's value by kind (CommandSpec.values); each returns the problem in words, or None.
VALUE_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "id": _id_problem,
    "probability": _probability_problem,
    "count": _count_problem,
    "message_kind": _message_kind_problem,
}


def check_shape(command: Any, *, at_allowed: bool = False) -> None:
    """Raise CommandError for the first problem :func:`shape_problems` finds."""
    problems = shape_problems(command, at_allowed=at_allowed)
    if problems:
        raise CommandError(*problems[0])


# -- feasibility: against the state of a network ------------------------------------------------------------------


class World(Protocol):
    """What a feasibility check reads: the engine's live state, or the state a scenario's script implies."""

    @property
    def mars(self) -> Mapping[str, Any]:
        """The MARs by id (not the LMA)."""

    @property
    def cns(self) -> Mapping[str, Any]:
        """The correspondent nodes by id."""

    def interfaces_of(self, mn: str) -> Sequence[str] | None:
        """The MN's interfaces; None for an unknown MN."""

    def attached_to(self, mn: str, interface: str) -> str | None:
        """The MAR the interface is attached to, or None."""

    def flow_interface(self, mn: str, flow: str) -> str | None:
        """The interface of an active flow, or None when no such flow is active."""

    def knows_flow(self, mn: str, flow: str) -> bool:
        """Whether the MN used this flow id before (active or stopped)."""

    def flow_count(self, mn: str) -> int:
        """How many distinct flow ids the MN has used."""

    def role_of(self, node: str) -> str | None:
        """The node's role (simulator/events.py Role: mar, lma, db, cn, mn), or None for an unknown id."""

    def has_failed(self, node: str) -> bool:
        """Whether the node is failed now (a ``fail`` without its ``recover`` yet)."""


def check(
    world: World,
    command: Mapping[str, Any],
    design: str = "network-dmm",
    *,
    at_allowed: bool = True,
    shape_checked: bool = False,
) -> dict[str, Any]:
    """The command with its defaults filled in (the interface), or CommandError naming the field. Changes nothing.
    ``shape_checked``: the caller already ran :func:`check_shape` (a script step of a loaded scenario)."""
    action = command.get("action") if isinstance(command, dict) else None
    spec = COMMANDS.get(action) if isinstance(action, str) else None
    if spec is not None and design not in spec.designs:
        raise CommandError("action", f"{spec.refused_as or spec.name} is not modelled in {design}")
    if not shape_checked:
        check_shape(command, at_allowed=at_allowed)
    assert spec is not None
    step = dict(command)
    step.pop("at", None)
    if "mn" not in spec.required:  # no command takes "mn" as optional
        return _check_fault(world, step)  # a command about the network, not a mobile node
    mn = step["mn"]
    ifaces = world.interfaces_of(mn)
    if ifaces is None:
        raise CommandError("mn", f"unknown mobile node {mn!r}")
    if "mar" in step and step["mar"] not in world.mars:
        raise CommandError("mar", f"unknown MAR {step['mar']!r}")
    if "cn" in step and step["cn"] not in world.cns:
        raise CommandError("cn", f"unknown CN {step['cn']!r}")
    iface = step.get("interface")
    if iface is not None and iface not in ifaces:
        raise CommandError("interface", f"{mn} has no interface {iface!r} (it has {', '.join(ifaces)})")
    if iface is None and spec.name in LINK_ACTIONS:
        if len(ifaces) > 1:
            raise CommandError("interface", f"{mn} has {len(ifaces)} interfaces: say which")
        step["interface"] = iface = ifaces[0]
    if spec.name in ("attach", "move", "detach"):
        assert iface is not None
        current = world.attached_to(mn, iface)
        if spec.name == "attach" and current is not None:
            raise CommandError("interface", f"{mn} {iface} is already attached to {current}")
        if spec.name != "attach" and current is None:
            hint = "; attach it first" if spec.name == "move" else ""
            raise CommandError("interface", f"{mn} {iface} is not attached{hint}")
        if spec.name == "move" and current == step["mar"]:
            raise CommandError("mar", f"{mn} {iface} is already on {current}")
        return step
    flow = step["flow"]
    flow_iface = world.flow_interface(mn, flow)
    if spec.name == "start_flow":
        if flow_iface is not None:
            raise CommandError("flow", f"flow {flow!r} of {mn} is already active")
        if not world.knows_flow(mn, flow) and world.flow_count(mn) >= MAX_FLOWS_PER_MN:
            raise CommandError("flow", f"{mn} already has {MAX_FLOWS_PER_MN} flows; reuse a flow id (limits.py)")
        if iface is None:
            attached = [i for i in ifaces if world.attached_to(mn, i) is not None]
            if not attached:
                raise CommandError("mn", f"{mn} has no attached interface, so it has no prefix for a new flow")
            step["interface"] = attached[0]
        elif world.attached_to(mn, iface) is None:
            raise CommandError("interface", f"{mn} {iface} is not attached, so it has no prefix for a new flow")
        return step
    if flow_iface is None:
        raise CommandError("flow", f"{mn} has no active flow {flow!r}")
    if spec.name == "move_flow":
        if flow_iface == iface:
            raise CommandError("interface", f"flow {flow!r} is already on {iface}")
        if world.attached_to(mn, str(iface)) is None:
            raise CommandError("interface", f"{mn} {iface} is not attached")
    return step


def _check_fault(world: World, step: dict[str, Any]) -> dict[str, Any]:
    """Feasibility of drop / loss / fail / recover (formats.md "Faults"); the step with ``count`` filled in."""
    action = step["action"]
    for key in ("src", "dst", "node"):
        if key in step and world.role_of(step[key]) is None:
            raise CommandError(key, f"unknown node {step[key]!r}")
    if action == "drop":
        step.setdefault("count", 1)
        return step
    node = step["node"]
    role = world.role_of(node)
    if action == "loss":
        if role == "mn":
            raise CommandError(
                "node", "a loss rate is set on a MAR, the session DB, the LMA or a CN, not a mobile node"
            )
        return step
    if role not in ("mar", "db", "lma"):
        raise CommandError("node", f"only a MAR, the session DB or the LMA can {action}, not {node!r}")
    if action == "fail" and world.has_failed(node):
        raise CommandError("node", f"{node} has already failed")
    if action == "recover" and not world.has_failed(node):
        raise CommandError("node", f"{node} has not failed")
    return step
