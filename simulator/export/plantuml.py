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
from .text import Dialect, one_line, render_with

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


class PlantUML(Dialect):
    keywords = KEYWORDS
    escape = staticmethod(escape)
    start = ("@startuml",)
    end = ("@enduml",)
    line_break = "\\n"

    def title(self, text: str) -> str:
        return f"title {escape(text)}"

    def participant(self, lifeline: dict[str, Any], alias: str) -> str:
        kind = "database" if lifeline["role"] == "db" else "participant"
        return f'{kind} "{escape(lifeline["label"])}" as {alias}'

    def message(self, item: dict[str, Any], src: str, dst: str, label: str) -> str:
        return f"{src} {_arrow(item)} {dst} : {label}"

    def note(self, over: list[str], text: str, drop: bool) -> str:
        color = " #FFCDD2" if drop else ""
        return f"note over {', '.join(over)}{color} : {text}"

    def legend(self, lines: list[str], aliases: list[str]) -> list[str]:
        return ["legend bottom left", *(escape(line) for line in lines), "endlegend"] if lines else []


def render(model: dict[str, Any]) -> str:
    """The PlantUML source (a str, @startuml ... @enduml) of a sequence model."""
    return render_with(model, PlantUML())
