"""The command and event catalogues as one ES module for the browser (``static/js/catalogue.js``).

``scripts/generate_catalogue_js.py`` writes the file; ``tests/engine/test_catalogue.py`` fails when it is stale. Pure:
this module returns text, it writes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from .commands import COMMANDS, DESIGNS
from .events import EVENTS, ROLES, Category

JS_PATH = "static/js/catalogue.js"


def javascript_module() -> str:
    """The catalogues as an ES module: constants, ``isMessage``, ``changesTables``, ``describeCommand`` (one wording
    for every command) and ``commandOf``."""
    constants: dict[str, Any] = {
        "DESIGNS": list(DESIGNS),
        "COMMANDS": {
            name: {
                "required": sorted(spec.required),
                "optional": sorted(spec.optional),
                "designs": sorted(spec.designs),
                "summary": spec.summary,
            }
            for name, spec in COMMANDS.items()
        },
        "ACTIONS": list(COMMANDS),
        "EVENTS": {
            kind: {
                "category": spec.category.value,
                "keys": list(spec.keys),
                "optional": list(spec.optional),
                "meaning": spec.meaning,
                "designs": list(spec.designs),
            }
            for kind, spec in EVENTS.items()
        },
        "CATEGORIES": [c.value for c in Category],
        "MESSAGE_KINDS": [k for k, s in EVENTS.items() if s.is_message],
        "TABLE_KINDS": [k for k, s in EVENTS.items() if s.category is Category.TABLE],
        "ACTION_KINDS": [k for k, s in EVENTS.items() if s.category is Category.ACTION],
        "ROLES": list(ROLES),
    }
    changing = [k for k, s in EVENTS.items() if s.changes_tables]
    lines = [
        "// Generated from simulator/commands.py and simulator/events.py by scripts/generate_catalogue_js.py.",
        "// Do not edit: change the Python and run the script (a test fails while this file is stale).",
        "",
    ]
    for name, value in constants.items():
        lines.append(f"export const {name} = Object.freeze({json.dumps(value)});")
    lines += [
        "",
        f"const CHANGES_TABLES = new Set({json.dumps(changing)});",
        "",
        "/** True for a message kind (a packet from src to dst); an unknown kind: upper case is a message. */",
        "export function isMessage(kind) {",
        "  const spec = EVENTS[kind];",
        '  return spec ? spec.category === "message" : kind === kind.toUpperCase() && kind !== kind.toLowerCase();',
        "}",
        "",
        "/** Whether these events changed a table of the state (a table change or an applied action). */",
        "export function changesTables(events) {",
        "  return events.some((e) => CHANGES_TABLES.has(e.kind));",
        "}",
        "",
        '/** A command in words, from its catalogue summary: "move MN1 if1 to MAR2". */',
        "export function describeCommand(command) {",
        "  const spec = COMMANDS[command.action];",
        "  if (!spec) return String(command.action);",
        '  const fill = (_, space, key) => (command[key] == null ? "" : space + command[key]);',
        "  return spec.summary.replace(/\\{( ?)(\\w+)\\}/g, fill);",
        "}",
        "",
        "/** The command an `action` event applied: its catalogue keys (a fault's `kind` travels as `msg_kind`). */",
        "export function commandOf(event) {",
        "  const command = { action: event.action };",
        "  const spec = COMMANDS[event.action];",
        "  for (const key of spec ? [...spec.required, ...spec.optional] : []) {",
        '    const value = key === "kind" ? event.msg_kind : event[key];',
        "    if (value !== undefined) command[key] = value;",
        "  }",
        "  return command;",
        "}",
        "",
    ]
    return "\n".join(lines)
