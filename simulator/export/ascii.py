"""RFC-style ASCII sequence diagram, at most 72 columns wide, in the manner of the seed's Figure 5.

Lifelines are columns of '|'; an arrow is `|----RS---->|` (crossing the columns between its ends), a tunnelled
packet `|<===flow1 data (6 pkts)===>|`, a lost one ends in 'X', a tunnel coming up `|<==tunnel==>|`. A label too long
for its arrow goes on the line above it; notes are written beside their lifeline, wrapped to fit, over the columns
they cross, as Internet-Drafts do.
"""

from __future__ import annotations

import textwrap
from typing import Any

from .sequence import ExportError
from .text import legend_lines, one_line

WIDTH = 72
MAX_SPACING = 16  # a wider gap only makes a small diagram sprawl
MIN_SPACING = 4  # narrower and an arrow between neighbours has no room for a shaft and a head
MIN_NOTE_WIDTH = 24
TUNNEL_LABEL = {"tunnel_up": "tunnel", "tunnel_down": "tunnel down"}


def _ascii(text: str) -> str:
    """Internet-Drafts are ASCII; anything else becomes '?', and a line break or control character a space (a user
    string never starts a line of its own)."""
    return one_line(text).encode("ascii", "replace").decode("ascii")


def _time(t: float) -> str:
    return f"{t:.3f}"


class _Canvas:
    def __init__(self, xs: list[int], margin: int) -> None:
        self.xs, self.margin = xs, margin
        self.rows: list[list[str]] = []

    def bars(self) -> list[str]:
        row = [" "] * WIDTH
        for x in self.xs:
            row[x] = "|"
        self.rows.append(row)
        return row

    def text(self, row: list[str], start: int, text: str) -> None:
        for i, ch in enumerate(text):
            if 0 <= start + i < WIDTH:
                row[start + i] = ch

    def lines(self) -> list[str]:
        return ["".join(row).rstrip() for row in self.rows]


def render(model: dict[str, Any]) -> str:
    """The ASCII diagram of a sequence model (`sequence.sequence_model`), lines of at most 72 characters."""
    names = [_ascii(lifeline["label"]) for lifeline in model["lifelines"]]
    index = {lifeline["id"]: i for i, lifeline in enumerate(model["lifelines"])}
    items = model["items"]
    time_axis = model["options"]["time_axis"]
    margin = max((len(_time(item["t"])) for item in items), default=5) + 1 if time_axis else 0
    if not names:
        return "(nothing to draw in this window)\n"
    first, last = names[0], names[-1]
    x0 = margin + len(first) // 2
    x_max = WIDTH - 1 - (len(last) - 1 - len(last) // 2)
    spacing = MAX_SPACING if len(names) == 1 else min(MAX_SPACING, (x_max - x0) // (len(names) - 1))
    if spacing < MIN_SPACING:
        raise ExportError(
            f"{len(names)} lifelines do not fit in {WIDTH} columns; choose fewer with the 'nodes' option (--nodes on "
            "the command line)")
    xs = [x0 + i * spacing for i in range(len(names))]
    canvas = _Canvas(xs, margin)

    # Header: names centred on their column; when they would touch, alternate names over two rows.
    crowded = any(len(n) >= spacing for n in names)
    header_rows = [[" "] * WIDTH for _ in range(2 if crowded else 1)]
    for i, (name, x) in enumerate(zip(names, xs, strict=True)):
        name = name[: 2 * spacing - 1] if crowded else name
        canvas.text(header_rows[i % 2 if crowded else 0], max(0, x - len(name) // 2), name)
    if time_axis:
        canvas.text(header_rows[0], 0, "t (s)"[: margin - 1])
    canvas.rows.extend(header_rows)
    canvas.bars()

    for item in items:
        start_row = len(canvas.rows)
        if item["type"] == "message":
            _message(canvas, item, xs[index[item["src"]]], xs[index[item["dst"]]])
        elif item["type"] == "drop":
            _drop(canvas, item, xs[index[item["node"]]])
        elif len(item["over"]) == 2 and len(item["kinds"]) == 1 and item["kinds"][0] in TUNNEL_LABEL:
            # As the seed's Figure 5 draws it: |<===tunnel===>| between the two ends.
            bar = {"style": "tunnel", "both": True, "lost": False, "label": TUNNEL_LABEL[item["kinds"][0]]}
            _message(canvas, bar, *(xs[index[n]] for n in item["over"]))
        else:
            _note(canvas, item, [xs[index[n]] for n in item["over"]])
        if time_axis:
            canvas.text(canvas.rows[start_row], 0, _time(item["t"]))
        canvas.bars()

    out = canvas.lines()
    for line in legend_lines(model):
        out += textwrap.wrap(_ascii(line), WIDTH, subsequent_indent="    ")
    return "\n".join(out) + "\n"


def _message(canvas: _Canvas, item: dict[str, Any], a: int, b: int) -> None:
    left, right = min(a, b), max(a, b)
    shaft_len = right - left - 1
    shaft = ["=" if item["style"] == "tunnel" else "-"] * shaft_len
    if b > a:
        shaft[-1] = ">"
        if item["both"]:
            shaft[0] = "<"
    else:
        shaft[0] = "<"
        if item["both"]:
            shaft[-1] = ">"
    if item["lost"]:  # a lost packet stops short of its destination, at an X
        gap = min(2, max(0, shaft_len - 3))
        if b > a:
            shaft[shaft_len - gap - 1 :] = ["X"] + [" "] * gap
        else:
            shaft[: gap + 1] = [" "] * gap + ["X"]
    label = _ascii(item["label"])
    if len(label) + (6 if item["lost"] else 4) <= shaft_len:
        start = (shaft_len - len(label)) // 2
        shaft[start : start + len(label)] = label
    else:
        # The label on its own line(s) just above the arrow, starting beside its left end.
        room = WIDTH - canvas.margin
        for part in textwrap.wrap(label, room, break_on_hyphens=False):
            canvas.text(canvas.bars(), max(canvas.margin, min(left + 2, WIDTH - len(part))), part)
    row = canvas.bars()
    canvas.text(row, left + 1, "".join(shaft))


def _note(canvas: _Canvas, item: dict[str, Any], xs: list[int]) -> list[list[str]]:
    """Write the note's lines beside its leftmost lifeline (to the right when there is room); return the rows."""
    left = min(xs)
    longest = max(len(line) for line in item["lines"])
    room_right = WIDTH - (left + 2)
    if room_right >= min(longest, MIN_NOTE_WIDTH):
        start, width, align = left + 2, room_right, "left"
    else:  # no room to the right of the last columns: write to the left, ending beside the lifeline
        start, width, align = canvas.margin, max(left - 1 - canvas.margin, MIN_NOTE_WIDTH), "right"
    rows = []
    for line in item["lines"]:
        for part in textwrap.wrap(_ascii(line), width, break_on_hyphens=False):
            rows.append(canvas.bars())
            canvas.text(rows[-1], start if align == "left" else left - 1 - len(part), part)
    return rows


def _drop(canvas: _Canvas, item: dict[str, Any], x: int) -> None:
    """A drop: an X on the lifeline, the reason beside it."""
    rows = _note(canvas, {"lines": [item["label"]]}, [x])
    rows[0][x] = "X"
