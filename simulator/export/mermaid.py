"""Mermaid `sequenceDiagram` text of a sequence model (Mermaid 11 or later: two-way arrows are `<<->>`).

Mermaid ends a message at ';' or '#', and its parser is picky about ':' and '<' in text, so every such character in
a label or note is written as a Mermaid entity code (`#58;` for ':'), which Mermaid turns back into the character.
'%' is one too: Mermaid looks for `%%{...}%%` directives anywhere in the text. Line breaks of every kind become
spaces, so no user string (title, node or flow id) can start a line of its own. The title is the exception to
entity codes (Mermaid does not decode them there): its special characters become spaces.
"""

from __future__ import annotations

import re
from typing import Any

from .text import LINE_BREAKS, arrow_label, legend_lines, participant_ids, stamp

_ENTITIES = {"#": "#35;", ";": "#59;", ":": "#58;", "<": "#lt;", ">": "#gt;", "%": "#37;", "\\": "#92;",
             "{": "#123;", "}": "#125;"}
_SPECIAL = re.compile("[#;:<>%\\\\{}]|" + LINE_BREAKS.pattern)
_TITLE_SPECIAL = re.compile("[#;%{}<>\\\\]|" + LINE_BREAKS.pattern)
KEYWORDS = {"participant", "actor", "end", "loop", "alt", "else", "opt", "par", "and", "rect", "note", "over",
            "title", "autonumber", "activate", "deactivate", "box", "critical", "break", "links", "link",
            "properties", "details", "create", "destroy", "left", "right", "of", "as", "sequencediagram"}


def escape(text: str) -> str:
    """Text safe inside a Mermaid message, note or participant label."""
    return _SPECIAL.sub(lambda m: _ENTITIES.get(m.group(), " "), text)


def title(text: str) -> str:
    """Text safe as a Mermaid title: the rest of one line, no directive, no comment, no markup."""
    return " ".join(_TITLE_SPECIAL.sub(" ", text).split())


def _arrow(item: dict[str, Any]) -> str:
    dotted = "--" if item["style"] == "tunnel" else "-"
    if item["lost"]:
        return f"{dotted}x"
    if item["both"]:
        return f"<<{dotted}>>"
    return f"{dotted}>>"


def render(model: dict[str, Any]) -> str:
    """The Mermaid source (a str) of a sequence model."""
    ids = participant_ids(model, KEYWORDS)
    out = ["sequenceDiagram"]
    if model.get("title"):
        # Mermaid's title runs to the end of the line and stops at '#' or ';' (no entity codes decode there).
        out.append(f"    title {title(model['title'])}")
    for lifeline in model["lifelines"]:
        out.append(f"    participant {ids[lifeline['id']]} as {escape(lifeline['label'])}")
    time_axis = model["options"]["time_axis"]
    for item in model["items"]:
        if item["type"] == "message":
            out.append(f"    {ids[item['src']]}{_arrow(item)}{ids[item['dst']]}: "
                       f"{escape(arrow_label(item, time_axis))}")
        elif item["type"] == "drop":
            out.append(f"    Note over {ids[item['node']]}: {escape(stamp(item, 'X ' + item['label'], time_axis))}")
        else:
            over = ",".join(ids[n] for n in item["over"])
            lines = "<br/>".join(escape(line) for line in item["lines"])
            out.append(f"    Note over {over}: {escape(stamp(item, '', time_axis))}{lines}")
    legend = legend_lines(model)
    if legend and model["lifelines"]:
        span = ids[model["lifelines"][0]["id"]]
        if len(model["lifelines"]) > 1:
            span += "," + ids[model["lifelines"][-1]["id"]]
        out.append(f"    Note over {span}: " + "<br/>".join(escape(line) for line in legend))
    return "\n".join(out) + "\n"
