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

from .text import LINE_BREAKS, Dialect, render_with

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


class Mermaid(Dialect):
    keywords = KEYWORDS
    escape = staticmethod(escape)
    start = ("sequenceDiagram",)
    line_break = "<br/>"

    def title(self, text: str) -> str:
        # Mermaid's title runs to the end of the line and stops at '#' or ';' (no entity codes decode there).
        return f"    title {title(text)}"

    def participant(self, lifeline: dict[str, Any], alias: str) -> str:
        return f"    participant {alias} as {escape(lifeline['label'])}"

    def message(self, item: dict[str, Any], src: str, dst: str, label: str) -> str:
        return f"    {src}{_arrow(item)}{dst}: {label}"

    def note(self, over: list[str], text: str, drop: bool) -> str:
        return f"    Note over {','.join(over)}: {text}"

    def legend(self, lines: list[str], aliases: list[str]) -> list[str]:
        if not lines or not aliases:
            return []
        span = aliases[0] + ("," + aliases[-1] if len(aliases) > 1 else "")
        return [f"    Note over {span}: " + self.line_break.join(escape(line) for line in lines)]


def render(model: dict[str, Any]) -> str:
    """The Mermaid source (a str) of a sequence model."""
    return render_with(model, Mermaid())
