"""PlantUML sequence diagram text of a sequence model (checked with `plantuml -checkonly`).

Tunnelled data is a bold blue arrow labelled "(tunnelled)", native data green, a lost packet ends in an X (`->x`).
Creole markup in labels (`--`, `__`, `**`, `//`, `""`, `~~`, `<tag>`) is escaped with PlantUML's `~`. Characters the
`~` cannot neutralise are written as numeric entities, which PlantUML draws as the character: `%` (the preprocessor
runs `%getenv(...)` and friends anywhere in a line), `"` (ends a quoted participant name) and `&`; `$` and `\\`
as `<U+0024>`, `<U+005C>`. Line breaks of every kind become spaces, so no user string can start a line (`@enduml`,
`!include`, `skinparam`...).
"""

from __future__ import annotations

import re
from typing import Any

from .svg import COLORS
from .text import arrow_label, legend_lines, one_line, participant_ids, stamp

_ENTITY_CHARS = '%"&'
# One pass, so no replacement is escaped again: entity characters, '$', then the creole markup.
_SPECIAL = re.compile(r'[%"&\\$]|--|__|\*\*|//|~~|\^\^|==|<(?=[A-Za-z/])|\[\[|\]\]')
KEYWORDS = {"participant", "actor", "boundary", "control", "entity", "database", "collections", "queue", "note",
            "end", "over", "of", "left", "right", "as", "title", "legend", "endlegend", "alt", "else", "opt",
            "loop", "par", "break", "critical", "group", "ref", "box", "activate", "deactivate", "destroy",
            "autonumber", "return", "hnote", "rnote", "skinparam", "hide", "show"}


def escape(text: str) -> str:
    """Text safe in a PlantUML message or note: creole markup and backslashes neutralised, one line."""
    return _SPECIAL.sub(_escape_one, one_line(text))


def _escape_one(match: re.Match[str]) -> str:
    found = match.group()
    if found in "$\\":
        # PlantUML crashes on "&#36;" and "&#92;" (it feeds them to a Java replacement string); these it draws.
        return f"<U+{ord(found):04X}>"
    if found in _ENTITY_CHARS:
        return f"&#{ord(found)};"
    return "".join("~" + ch for ch in found)


def _arrow(item: dict[str, Any]) -> str:
    style = "lost" if item["lost"] else item["style"]
    bracket = {"signal": "", "data": f"[{COLORS['data']}]", "tunnel": f"[{COLORS['tunnel']},bold]",
               "lost": f"[{COLORS['lost']}]"}[style]
    head = "x" if item["lost"] else ">"
    tail = "<" if item["both"] and not item["lost"] else ""
    return f"{tail}-{bracket}{head}"


def render(model: dict[str, Any]) -> str:
    """The PlantUML source (a str, @startuml ... @enduml) of a sequence model."""
    ids = participant_ids(model, KEYWORDS)
    out = ["@startuml"]
    if model.get("title"):
        out.append(f"title {escape(model['title'])}")
    for lifeline in model["lifelines"]:
        kind = "database" if lifeline["role"] == "db" else "participant"
        out.append(f'{kind} "{escape(lifeline["label"])}" as {ids[lifeline["id"]]}')
    time_axis = model["options"]["time_axis"]
    for item in model["items"]:
        if item["type"] == "message":
            out.append(f"{ids[item['src']]} {_arrow(item)} {ids[item['dst']]} : {escape(arrow_label(item, time_axis))}")
        elif item["type"] == "drop":
            text = escape(stamp(item, "X " + item["label"], time_axis))
            out.append(f"note over {ids[item['node']]} #FFCDD2 : {text}")
        else:
            over = ", ".join(ids[n] for n in item["over"])
            text = "\\n".join(escape(line) for line in item["lines"])
            out.append(f"note over {over} : {escape(stamp(item, '', time_axis))}{text}")
    legend = legend_lines(model)
    if legend:
        out += ["legend bottom left", *(escape(line) for line in legend), "endlegend"]
    out.append("@enduml")
    return "\n".join(out) + "\n"
