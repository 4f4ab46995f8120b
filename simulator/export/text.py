"""What the text diagram formats (Mermaid, PlantUML) share: the walk over a sequence model, participant names, the
legend, time stamps."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Set
from typing import Any

_SIMPLE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
# Everything str.splitlines() breaks at (\n, \r, \v, \f, \x1c-\x1e, \x85, U+2028, U+2029), the other C0/C1 controls
# and DEL: a user string (title, node or flow id) must never start a new line of diagram source.
LINE_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """The text with every line break and control character made a space."""
    return LINE_BREAKS.sub(" ", text)


def participant_ids(model: dict[str, Any], keywords: Set[str]) -> dict[str, str]:
    """A name for each lifeline usable in the diagram language: its own id when that is a plain identifier and not
    a keyword of the language, else P1, P2, ... (the label still shows the id)."""
    ids: dict[str, str] = {}
    taken = {lifeline["id"] for lifeline in model["lifelines"]}
    for i, lifeline in enumerate(model["lifelines"], start=1):
        node = lifeline["id"]
        if _SIMPLE_ID.match(node) and node.lower() not in keywords:
            ids[node] = node
        else:
            alias = f"P{i}"
            while alias in taken:
                alias = "_" + alias
            ids[node] = alias
            taken.add(alias)
    return ids


def legend_lines(model: dict[str, Any]) -> list[str]:
    """One line per prefix name: "HNP1 = 2001:db8:1:1::/64, anchored at MAR1 (MN1)"."""
    lines = []
    for entry in model["legend"]:
        anchor = f", anchored at {entry['anchor']}" if entry.get("anchor") else ""
        mn = f" ({entry['mn']})" if entry.get("mn") else ""
        lines.append(f"{entry['name']} = {entry['prefix']}{anchor}{mn}")
    return lines


def stamp(item: dict[str, Any], text: str, time_axis: bool) -> str:
    """The text, prefixed with the item's time when the time axis is on."""
    return f"t={item['t']:.3f} {text}" if time_axis else text


def arrow_label(item: dict[str, Any], time_axis: bool) -> str:
    """A message's label for the text formats, which cannot draw a double line: tunnelled data says so."""
    return stamp(item, item["label"] + (" (tunnelled)" if item["style"] == "tunnel" else ""), time_axis)


class Dialect(ABC):
    """One text diagram language. `render` walks a sequence model the same way for every language (title,
    participants, messages, drops, notes, legend); a dialect says only how each of those is written."""

    keywords: Set[str]
    start: tuple[str, ...] = ()
    end: tuple[str, ...] = ()
    line_break: str  # between the lines of one note
    escape: Callable[[str], str]  # text made safe inside a message, note or participant label

    @abstractmethod
    def title(self, text: str) -> str:
        """The title line."""

    @abstractmethod
    def participant(self, lifeline: dict[str, Any], alias: str) -> str:
        """The line that declares a lifeline."""

    @abstractmethod
    def message(self, item: dict[str, Any], src: str, dst: str, label: str) -> str:
        """The arrow line of a message; the label is escaped already."""

    @abstractmethod
    def note(self, over: list[str], text: str, drop: bool) -> str:
        """A note over the named participants (a dropped packet when drop); the text is escaped already."""

    @abstractmethod
    def legend(self, lines: list[str], aliases: list[str]) -> list[str]:
        """The legend's lines (escaped here), given the participants in order."""


def render_with(model: dict[str, Any], dialect: Dialect) -> str:
    """The diagram source (a str) of a sequence model in one text language."""
    ids = participant_ids(model, dialect.keywords)
    escape = dialect.escape
    out = list(dialect.start)
    if model.get("title"):
        out.append(dialect.title(model["title"]))
    for lifeline in model["lifelines"]:
        out.append(dialect.participant(lifeline, ids[lifeline["id"]]))
    time_axis = model["options"]["time_axis"]
    for item in model["items"]:
        if item["type"] == "message":
            label = escape(arrow_label(item, time_axis))
            out.append(dialect.message(item, ids[item["src"]], ids[item["dst"]], label))
        elif item["type"] == "drop":
            out.append(dialect.note([ids[item["node"]]], escape(stamp(item, "X " + item["label"], time_axis)), True))
        else:
            lines = dialect.line_break.join(escape(line) for line in item["lines"])
            out.append(dialect.note([ids[n] for n in item["over"]], escape(stamp(item, "", time_axis)) + lines, False))
    out += dialect.legend(legend_lines(model), [ids[lifeline["id"]] for lifeline in model["lifelines"]])
    out += dialect.end
    return "\n".join(out) + "\n"
