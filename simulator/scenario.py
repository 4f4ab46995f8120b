"""Scenario files ("dmmviz-scenario/1"): the JSON Schema, cross-reference checks and the script's feasibility.

``load_scenario`` returns a normalised copy (defaults filled in, script sorted by time, ties in file order) or raises
:class:`ScenarioError` listing every problem with its JSON path, e.g. ``script[3].mar: unknown MAR 'MAR9'``.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from . import commands, jsonin
from . import limits as L
from .commands import ACTIONS, CommandError
from .constants import TIMER_NAMES, US, timers_from_scenario

FORMAT = "dmmviz-scenario/1"
MODES = ("network-dmm", "client-dmm", "centralized-pmipv6")
DEFAULT_DB_ID = "DB"
LAYOUT_EXTRA = ("core",)  # drawn nodes that are not scenario ids: the IP core
MAX_PROBLEMS = 100  # problems reported for one document
DEFAULT_TAIL = 5.0  # a run without an explicit end goes this long past the last script action
DEFAULT_LMA = {"id": "LMA", "prefix_pool": "2001:db8:100::/48"}

_ID = {"type": "string", "pattern": commands.ID_PATTERN}  # at most limits.MAX_ID_CHARS characters
# A mobility anchor that hands out prefixes: each MAR, and the LMA of the centralized design.
_ANCHOR: dict[str, Any] = {
    "type": "object",
    "required": ["id", "prefix_pool"],
    "properties": {"id": _ID, "prefix_pool": {"type": "string"}},
}


def _timer_schema(name: str) -> dict[str, Any]:
    low, high = L.TIMER_RANGES[name]
    return {"type": "integer" if name in L.INTEGER_TIMERS else "number", "minimum": low, "maximum": high}


SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://dmmviz.example/schema/scenario-1.json",
    "title": "dmmviz scenario, format version 1",
    "type": "object",
    "required": ["format", "network", "mobile_nodes"],
    "properties": {
        "format": {"const": FORMAT},
        "title": {"type": "string", "maxLength": 200},
        "description": {"type": "string", "maxLength": 5000},
        "mode": {"enum": list(MODES)},
        "seed": {"type": "integer", "minimum": 0, "maximum": L.MAX_SEED},
        "network": {
            "type": "object",
            "required": ["mars"],
            "properties": {
                "mars": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": L.MAX_MARS,
                    "items": _ANCHOR,
                },
                "cns": {
                    "type": "array",
                    "maxItems": L.MAX_CNS,
                    "items": {
                        "type": "object",
                        "required": ["id", "address"],
                        "properties": {"id": _ID, "address": {"type": "string"}},
                    },
                },
                "session_db": {"type": "object", "properties": {"id": _ID}},
                "lma": _ANCHOR,
                "links": {
                    "type": "array",
                    "maxItems": L.MAX_LINKS,
                    "items": {
                        "type": "object",
                        "required": ["between", "delay_ms"],
                        "properties": {
                            "between": {"type": "array", "items": _ID, "minItems": 2, "maxItems": 2},
                            "delay_ms": {"type": "number", "exclusiveMinimum": 0, "maximum": L.MAX_DELAY_MS},
                        },
                    },
                },
            },
        },
        "mobile_nodes": {
            "type": "array",
            "maxItems": L.MAX_MNS,
            "items": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": _ID,
                    "interfaces": {
                        "type": "array",
                        "items": _ID,
                        "minItems": 1,
                        "maxItems": L.MAX_INTERFACES,
                        "uniqueItems": True,
                    },
                },
            },
        },
        "script": {
            "type": "array",
            "maxItems": L.MAX_SCRIPT_ACTIONS,
            "items": {
                "type": "object",
                "required": ["at", "action"],
                "properties": {
                    "at": {"type": "number", "minimum": 0, "maximum": L.MAX_TIME},
                    "action": {"enum": list(ACTIONS)},
                    "mn": _ID,
                    "mar": _ID,
                    "cn": _ID,
                    "flow": _ID,
                    "interface": _ID,
                    # faults (formats.md "Faults"): values checked by the command catalogue, paths and wording included
                    "node": _ID,
                    "src": _ID,
                    "dst": _ID,
                    "kind": {"type": "string"},
                    "count": {"type": "integer"},
                    "rate": {"type": "number"},
                },
            },
        },
        "timers": {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: _timer_schema(name) for name in TIMER_NAMES},
        },
        "layout": {
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "items": {"type": "number", "minimum": -1e6, "maximum": 1e6},
                "minItems": 2,
                "maxItems": 2,
            },
        },
    },
}


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ScenarioError(ValueError):
    """The scenario is not valid; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _json_path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_errors(data: Any) -> list[Any]:  # jsonschema.ValidationError
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message))


def _schema_problems(errors: list[Any]) -> list[Problem]:
    problems = []
    for error in errors:
        path = _json_path(error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            problems.append(Problem(_json_path([*error.absolute_path, missing]), "is required"))
        elif error.validator == "const" and path == "format":
            problems.append(Problem(path, f"must be '{FORMAT}', not {json.dumps(error.instance)}"))
        elif error.validator == "pattern":
            shown = L.shortened(json.dumps(error.instance))
            problems.append(Problem(path, f"{shown} is not a valid id (letters, digits, _ . -; at most 32)"))
        elif error.validator == "maxLength":
            problems.append(Problem(path, f"is {len(error.instance)} characters long; at most {error.validator_value}"))
        elif error.validator in ("maxItems", "minItems"):
            bound = "at most" if error.validator == "maxItems" else "at least"
            problems.append(Problem(path, f"has {len(error.instance)} items; {bound} {error.validator_value}"))
        elif error.validator == "type":
            problems.append(Problem(path, f"must be {_a(error.validator_value)}, not {_json_type(error.instance)}"))
        elif error.validator in ("minimum", "maximum", "exclusiveMinimum"):
            problems.append(Problem(path, f"{error.message[:120]} (out of range; docs/engine.md, Limits)"))
        elif error.validator == "enum":
            choices = ", ".join(json.dumps(v) for v in error.validator_value)
            problems.append(Problem(path, f"{L.shortened(json.dumps(error.instance))} is not one of {choices}"))
        else:
            problems.append(Problem(path, error.message if len(error.message) <= 200 else error.message[:197] + "..."))
    return problems


def _has_surrogate(text: str) -> bool:
    """A lone surrogate (JSON's "\\ud800" escape alone): not Unicode text, so no file or page can hold it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _non_finite(data: Any) -> list[Problem]:
    """NaN and infinities, which JSON Schema's range checks let through, and text with a lone surrogate, which it lets
    through too (it then failed every diagram export and the upload's save). Iterative: a deep document cannot
    overflow."""
    problems: list[Problem] = []
    stack: list[tuple[Any, list[str | int]]] = [(data, [])]
    while stack and len(problems) < 20:
        value, where = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(Problem(_json_path(where), f"{value} is not a finite number"))
        elif isinstance(value, str) and _has_surrogate(value):
            problems.append(Problem(_json_path(where), "has a lone surrogate (an escape such as \\ud800 alone): not "
                                    "Unicode text"))
        elif isinstance(value, dict):
            if any(_has_surrogate(str(k)) for k in value):
                problems.append(Problem(_json_path(where), "has a key with a lone surrogate: not Unicode text"))
                continue
            stack.extend((v, [*where, str(k)]) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, [*where, i]) for i, v in enumerate(value))
    return sorted(problems, key=lambda p: p.path)


def _json_type(value: Any) -> str:
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "true/false",
        type(None): "null",
        int: "a number",
        float: "a number",
    }
    return names.get(type(value), type(value).__name__)


def _a(kind: Any) -> str:
    kinds = kind if isinstance(kind, list) else [kind]
    article = {
        "object": "an object",
        "array": "an array",
        "string": "a string",
        "number": "a number",
        "integer": "an integer",
        "boolean": "true or false",
        "null": "null",
    }
    return " or ".join(article.get(str(k), str(k)) for k in kinds)


def _pool_problem(pool: str) -> str | None:
    try:
        net = ipaddress.IPv6Network(pool, strict=True)
    except ValueError as exc:
        return f"{pool!r} is not an IPv6 prefix ({exc})"
    if not 48 <= net.prefixlen <= 60:
        return f"{pool!r} must be a /48 to /60, not /{net.prefixlen}"
    kind = _not_unicast(net)
    if kind:
        return f"{pool!r} is {kind}: a pool hands out global unicast prefixes (e.g. 2001:db8:1::/48)"
    return None


def _not_unicast(net: ipaddress.IPv6Network | ipaddress.IPv6Address) -> str | None:
    """What a prefix or address that no host could use as a global address is, else None (RFC 4291 §2.4)."""
    for test, kind in (("is_multicast", "multicast"), ("is_link_local", "link-local"), ("is_loopback", "loopback"),
                       ("is_unspecified", "the unspecified address"), ("is_site_local", "site-local (deprecated)"),
                       ("is_reserved", "in reserved space")):
        if getattr(net, test):
            return kind
    return None


class _Shape:
    """Where the schema (or the non-finite check) found fault, so that the later stages check every other part of
    the document in the same round (a student fixes everything at once) and skip only the mis-shaped entries."""

    def __init__(self, bad: list[tuple[str | int, ...]]) -> None:
        self.exact = set(bad)
        self.touched = {path[:n] for path in bad for n in range(len(path) + 1)}

    def ok(self, *path: str | int) -> bool:
        """Nothing at or below ``path`` is wrong."""
        return path not in self.touched

    def entries(self, value: Any, *path: str | int) -> list[tuple[int, Any]]:
        """(index, entry) of an array the schema accepted as a whole (a list, not too long); else none."""
        if not isinstance(value, list) or path in self.exact:
            return []
        return list(enumerate(value))


def _id_of(entry: Any) -> str | None:
    node_id = entry.get("id") if isinstance(entry, dict) else None
    return node_id if isinstance(node_id, str) else None


def _string(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return value if isinstance(value, str) else None


def _all_ids_known(data: dict[str, Any], shape: _Shape) -> bool:
    """Every node's id is readable, so "unknown node" is about the reference (not about a broken node entry)."""
    net = data["network"]
    if "mars" not in net:
        return False
    for key in ("mars", "cns", "mobile_nodes"):
        where = ("mobile_nodes",) if key == "mobile_nodes" else ("network", key)
        value = data.get(key) if key == "mobile_nodes" else net.get(key, [])
        if not isinstance(value, list) or where in shape.exact or not all(_id_of(e) for e in value):
            return False
    db = net.get("session_db", {})
    return (
        ("lma" not in net or _id_of(net["lma"]) is not None)
        and isinstance(db, dict)
        and ("id" not in db or _id_of(db) is not None)
    )


def _check_references(data: dict[str, Any], shape: _Shape) -> list[Problem]:
    """Duplicate ids, prefix pools, addresses and the nodes links and layout name. Entries whose own shape is wrong
    (the schema said so) are skipped; "unknown node" is said only when every node's id could be read."""
    problems: list[Problem] = []
    net = data.get("network")
    if not isinstance(net, dict):
        return problems
    seen: dict[str, str] = {}

    def declare(node_id: str | None, path: str) -> None:
        if node_id is None:
            return
        if node_id in seen:
            problems.append(Problem(path, f"duplicate id {node_id!r} (already used at {seen[node_id]})"))
        else:
            seen[node_id] = path

    pools: list[tuple[ipaddress.IPv6Network, str]] = []

    def pool(entry: dict[str, Any], path: str) -> None:
        text = _string(entry, "prefix_pool")
        if text is None:
            return
        problem = _pool_problem(text)
        if problem:
            problems.append(Problem(path, problem))
        else:
            pools.append((ipaddress.IPv6Network(text), path))

    lma = net.get("lma")
    lma = lma if isinstance(lma, dict) and lma else None
    if not lma:  # one file runs under every mode: centralized-pmipv6 then adds DEFAULT_LMA, which must fit in
        seen[DEFAULT_LMA["id"]] = "the LMA that centralized-pmipv6 adds when network.lma is absent"
        pools.append((ipaddress.IPv6Network(DEFAULT_LMA["prefix_pool"]),
                      "the prefix pool of the LMA that centralized-pmipv6 adds when network.lma is absent"))
    mars = shape.entries(net.get("mars"), "network", "mars")
    for i, mar in mars:
        declare(_id_of(mar), f"network.mars[{i}].id")
        if isinstance(mar, dict):
            pool(mar, f"network.mars[{i}].prefix_pool")
    if lma:
        declare(_id_of(lma), "network.lma.id")
        pool(lma, "network.lma.prefix_pool")
    for a in range(len(pools)):
        for b in range(a + 1, len(pools)):
            if pools[a][0].overlaps(pools[b][0]):
                problems.append(Problem(pools[b][1], f"overlaps {pools[a][1]} ({pools[a][0]})"))
    cns = shape.entries(net.get("cns", []), "network", "cns")
    cn_addresses: dict[ipaddress.IPv6Address, str] = {}
    for i, cn in cns:
        declare(_id_of(cn), f"network.cns[{i}].id")
        address = _string(cn, "address") if isinstance(cn, dict) else None
        if address is None:
            continue
        where = f"network.cns[{i}].address"
        try:
            parsed = ipaddress.IPv6Address(address)
        except ValueError:
            problems.append(Problem(where, f"{address!r} is not an IPv6 address"))
            continue
        kind = "scoped to one link" if parsed.scope_id else _not_unicast(parsed)
        inside = next((path for pool_net, path in pools if parsed in pool_net), None)
        if kind:
            problems.append(Problem(where, f"{address!r} is {kind}: a CN needs a global unicast address"))
        elif inside:
            problems.append(Problem(where, f"{address!r} is inside {inside}, whose prefixes go to mobile nodes"))
        elif parsed in cn_addresses:
            problems.append(Problem(where, f"{address!r} is already {cn_addresses[parsed]}'s address"))
        else:
            cn_addresses[parsed] = _id_of(cn) or where
    db = net.get("session_db", {})
    db_id = db.get("id", DEFAULT_DB_ID) if isinstance(db, dict) else None
    declare(db_id if isinstance(db_id, str) else None, "network.session_db.id")
    for i, mn in shape.entries(data.get("mobile_nodes"), "mobile_nodes"):
        declare(_id_of(mn), f"mobile_nodes[{i}].id")
    known = _all_ids_known(data, shape)
    wired = {_id_of(m) for _, m in mars} | {_id_of(c) for _, c in cns} | {db_id}
    if lma:
        wired.add(_id_of(lma))
    for i, link in shape.entries(net.get("links", []), "network", "links"):
        between = link.get("between") if isinstance(link, dict) else None
        if not shape.ok("network", "links", i, "between") or not isinstance(between, list) or len(between) != 2:
            continue
        a, b = between
        for j, end in enumerate((a, b)):
            if known and isinstance(end, str) and end not in wired:
                problems.append(Problem(f"network.links[{i}].between[{j}]", f"unknown node {end!r}"))
        if a == b:
            problems.append(
                Problem(f"network.links[{i}].between", f"a link needs two different nodes, not {a!r} twice")
            )
    layout = data.get("layout", {})
    if known and isinstance(layout, dict):  # (centralized-pmipv6 without an lma: the engine adds DEFAULT_LMA)
        for node_id in layout:
            if node_id not in seen and node_id not in LAYOUT_EXTRA:
                problems.append(Problem(f"layout.{node_id}", f"unknown node {node_id!r}"))
    return problems


class _ScriptState:
    """The link and flow state the script implies, to reject impossible steps before running (a commands.World)."""

    def __init__(self, data: dict[str, Any], handover_delay_us: int = 0) -> None:
        # A move detaches now and attaches handover_delay_us later (the engine's l2_handover_delay): until then the
        # interface is not attached (a second move at the same instant was accepted here, refused by the engine)
        self.handover_delay_us = handover_delay_us
        self.arriving: dict[tuple[str, str], tuple[int, str]] = {}  # (mn, interface) -> (attach time in us, MAR)
        self.mars = {m["id"]: m for m in data["network"]["mars"]}
        self.cns = {c["id"]: c for c in data["network"].get("cns", [])}
        self.interfaces = {mn["id"]: list(mn["interfaces"]) for mn in data["mobile_nodes"]}
        self.attached: dict[tuple[str, str], str] = {}
        self.flows: dict[tuple[str, str], str] = {}  # (mn, flow) -> interface, active flows only
        self.used: dict[str, set[str]] = {}  # mn -> every flow id it started
        net = data["network"]
        self.roles = dict.fromkeys(self.mars, "mar") | dict.fromkeys(self.cns, "cn")
        self.roles |= dict.fromkeys(self.interfaces, "mn")
        self.roles[net["session_db"]["id"]] = "db"
        if data.get("mode") == "centralized-pmipv6" or net.get("lma"):  # one file may run under every mode
            self.roles[(net.get("lma") or DEFAULT_LMA)["id"]] = "lma"
        self.failed: set[str] = set()  # nodes a `fail` step has failed and no `recover` has brought back yet

    def role_of(self, node: str) -> str | None:
        return self.roles.get(node)

    def has_failed(self, node: str) -> bool:
        return node in self.failed

    def interfaces_of(self, mn: str) -> list[str] | None:
        return self.interfaces.get(mn)

    def attached_to(self, mn: str, interface: str) -> str | None:
        return self.attached.get((mn, interface))

    def flow_interface(self, mn: str, flow: str) -> str | None:
        return self.flows.get((mn, flow))

    def knows_flow(self, mn: str, flow: str) -> bool:
        return flow in self.used.get(mn, ())

    def flow_count(self, mn: str) -> int:
        return len(self.used.get(mn, ()))

    def check(self, step: dict[str, Any]) -> tuple[str, str] | None:
        """Apply one script step (in time order); return (field, message) if it cannot happen (the engine's own check
        and wording)."""
        now_us = round(float(step["at"]) * US)
        for key, (due_us, mar) in list(self.arriving.items()):
            if due_us < now_us:  # at the same microsecond the script step comes first (it was scheduled first)
                del self.arriving[key]
                self.attached.setdefault(key, mar)  # unless something attached it meanwhile, as in the engine
        try:
            done = commands.check(self, step)
        except CommandError as exc:
            return exc.field, exc.message
        if "mn" not in done:  # a fault (formats.md "Faults")
            if done["action"] == "fail":
                self.failed.add(done["node"])
            elif done["action"] == "recover":
                self.failed.discard(done["node"])
            return None
        action, mn, iface = done["action"], done["mn"], done.get("interface", "")
        if action == "attach":
            self.attached[(mn, iface)] = done["mar"]
        elif action == "move":
            del self.attached[(mn, iface)]
            self.arriving[(mn, iface)] = (now_us + self.handover_delay_us, done["mar"])
        elif action == "detach":
            del self.attached[(mn, iface)]
        elif action in ("start_flow", "move_flow"):
            self.flows[(mn, done["flow"])] = iface
            self.used.setdefault(mn, set()).add(done["flow"])
        elif action == "stop_flow":
            del self.flows[(mn, done["flow"])]
        return None


def _script_order(script: list[dict[str, Any]]) -> list[int]:
    return sorted(range(len(script)), key=lambda i: (script[i]["at"], i))


# Timers that start a back-off and the ceiling it doubles up to (RFC 5213 §6.9.4, RFC 6275 §13, RFC 7559 §2)
_TIMER_CEILINGS = (("initial_bindack_timeout", "max_bindack_timeout"),
                   ("initial_bindack_timeout_first_reg", "max_bindack_timeout"),
                   ("rtr_solicitation_interval", "max_rtr_solicitation_interval"))


def _timer_order_problems(data: dict[str, Any], shape: _Shape) -> list[Problem]:
    """A back-off that starts above its ceiling (initial_bindack_timeout 100 with max_bindack_timeout 0.01): each in
    range, together nonsense."""
    timers = data.get("timers")
    if not isinstance(timers, dict):
        return []
    defaults = timers_from_scenario(None)
    problems = []
    for first, ceiling in _TIMER_CEILINGS:
        if not (shape.ok("timers", first) and shape.ok("timers", ceiling)) or (first not in timers and
                                                                               ceiling not in timers):
            continue
        low, high = timers.get(first, getattr(defaults, first)), timers.get(ceiling, getattr(defaults, ceiling))
        if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
            where = first if first in timers else ceiling
            problems.append(Problem(f"timers.{where}", f"{first} ({low:g} s) is above {ceiling} ({high:g} s), the "
                                    "ceiling its back-off doubles up to"))
    return problems


def _check_script(data: dict[str, Any], shape: _Shape) -> list[Problem]:
    """Replay the script's steps in time order against the state they imply (the engine's checks and wording).

    On a document the schema found fault with, a mis-shaped step is skipped, and so is every later step about the
    same mobile node or faulty node (its state is then unknown: a report would be a guess); a mobile node whose
    interfaces are mis-shaped skips all its steps. The check runs only when every node's id could be read."""
    script = data.get("script", [])
    if not isinstance(script, list) or ("script",) in shape.exact or not _all_ids_known(data, shape):
        return []
    net = data["network"]
    unsure: set[str] = set()  # mobile nodes and faulty nodes whose state a skipped step changed
    mns = []
    for i, mn in enumerate(data["mobile_nodes"]):
        if shape.ok("mobile_nodes", i, "interfaces"):
            mns.append({"id": mn["id"], "interfaces": mn.get("interfaces", ["if1"])})
        else:
            unsure.add(mn["id"])
    db = net.get("session_db", {})
    lma = net.get("lma")
    clean = {
        "mode": data.get("mode"),
        "network": {
            "mars": net["mars"],
            "cns": net.get("cns", []),
            "session_db": {"id": db.get("id", DEFAULT_DB_ID)},
            **({"lma": lma} if lma else {}),
        },
        "mobile_nodes": mns,
    }
    try:
        delay_us = round(timers_from_scenario(data).l2_handover_delay * US)
    except (TypeError, ValueError, OverflowError):  # the schema has named what is wrong with the timers
        delay_us = round(timers_from_scenario(None).l2_handover_delay * US)
    state = _ScriptState(clean, delay_us)

    def when(i: int) -> tuple[float, int]:
        at = script[i].get("at") if isinstance(script[i], dict) else None
        if (
            isinstance(at, (int, float))
            and not isinstance(at, bool)
            and math.isfinite(at)
            and shape.ok("script", i, "at")
        ):
            return (float(at), i)
        return (-1.0, i)  # a step with an unknown time: its subject is unsure from the start

    problems: list[Problem] = []
    for i in sorted(range(len(script)), key=when):
        step = script[i]
        subjects = (
            {v for v in (step.get("mn"), step.get("node")) if isinstance(v, str)} if isinstance(step, dict) else set()
        )
        readable = isinstance(step, dict) and all(not isinstance(v, float) or math.isfinite(v) for v in step.values())
        if not readable or not shape.ok("script", i) or when(i)[0] < 0:
            unsure |= subjects
            if not subjects:
                break  # a step about nobody readable: every later state is a guess
            continue
        if subjects & unsure:
            continue
        # an unknown key, a missing one: the step cannot be run at all ("at" is a script step's own)
        misshapen = commands.shape_problems({key: value for key, value in step.items() if key != "at"})
        if misshapen:
            problems += [Problem(f"script[{i}].{key}", message) for key, message in misshapen]
            unsure |= subjects  # what it would have done is unknown: later steps of its node would be guesses
            continue
        found = state.check(dict(step))
        if found:
            problems.append(Problem(f"script[{i}].{found[0]}", found[1]))
    return problems


def validate(data: Any) -> list[Problem]:
    """Every problem of a scenario document (an empty list when it is valid), at most MAX_PROBLEMS of them.

    One round (issue 12 item 10): the schema's problems, then the cross-references and the script's feasibility of
    every entry whose own shape is right, so fixing the listed problems does not reveal new ones behind them."""
    if not isinstance(data, dict):
        return [Problem("", "a scenario is a JSON object")]
    errors = _schema_errors(data)
    non_finite = _non_finite(data)
    flagged = {p.path for p in non_finite}  # a NaN or an infinity once, not again as "out of range"
    problems = non_finite + [p for p in _schema_problems(errors) if p.path not in flagged]
    bad: list[tuple[str | int, ...]] = [tuple(e.absolute_path) for e in errors]
    bad += [tuple(int(x) if x.isdigit() else x for x in re.split(r"[.\[\]]+", p.path.rstrip("]"))) for p in non_finite]
    shape = _Shape(bad)
    problems += _timer_order_problems(data, shape)
    problems += _check_references(data, shape)
    if isinstance(data.get("network"), dict):
        problems += _check_script(data, shape)
    if len(problems) > MAX_PROBLEMS:  # a report stays readable and small, however broken the document
        problems = [*problems[:MAX_PROBLEMS], Problem("", f"... and {len(problems) - MAX_PROBLEMS} more problems")]
    return problems


def _with_defaults(data: dict[str, Any]) -> dict[str, Any]:
    data = deepcopy(data)
    data.setdefault("mode", "network-dmm")
    data.setdefault("title", "Untitled scenario")
    data.setdefault("description", "")
    data.setdefault("script", [])
    net = data["network"]
    net.setdefault("cns", [])
    net.setdefault("links", [])
    net.setdefault("session_db", {})
    net["session_db"].setdefault("id", DEFAULT_DB_ID)
    for mn in data["mobile_nodes"]:
        mn.setdefault("interfaces", ["if1"])
    return data


def load_scenario(source: dict[str, Any] | str | Path) -> dict[str, Any]:
    """Validate a scenario (a parsed document, or a path to a JSON file) and return it normalised.

    Raises ScenarioError with every problem found; a file that is not JSON is one problem naming line and column.
    """
    if isinstance(source, (str, Path)):
        try:
            raw = Path(source).read_bytes()
        except OSError as exc:
            raise ScenarioError([Problem("", f"cannot read {source}: {exc.strerror}")]) from None
        document: Any = parse_json(raw)  # UTF-8, a byte order mark allowed: as on the web
    else:
        document = source
    problems = validate(document)
    if problems:
        raise ScenarioError(problems)
    data = _with_defaults(document)
    script = data["script"]
    interfaces = {mn["id"]: mn["interfaces"] for mn in data["mobile_nodes"]}
    ordered = []
    for i in _script_order(script):
        step = dict(script[i])
        if "interface" not in step and step["action"] in ("attach", "detach", "move"):
            step["interface"] = interfaces[step["mn"]][0]
        ordered.append(step)
    data["script"] = ordered
    return data


def parse_json(text: str | bytes) -> Any:
    """A scenario file's text parsed as the web parses every input (simulator/jsonin.py): the same documents are
    accepted and refused on the command line and on the web."""
    try:
        return jsonin.loads(text)
    except jsonin.JSONInputError as exc:
        raise ScenarioError([Problem("", exc.message)]) from None


def default_until(scenario: dict[str, Any]) -> float:
    """Where a run without ``--until`` stops: DEFAULT_TAIL seconds after the last script action."""
    return max((step["at"] for step in scenario.get("script", [])), default=0.0) + DEFAULT_TAIL
