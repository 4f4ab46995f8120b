"""Self-contained, printable SVG of a sequence model: `layout(model)` places it, `render(model)` draws it.

`layout` is plain JSON (columns, rows, boxes in user units), so the browser's live panel can place the same
diagram the same way; docs/exports.md describes it. Text widths are estimated (no font metrics in a pure library),
generously, so labels never overlap: about 7 units per character of 12-unit sans-serif.

Drawing conventions (a key is printed under the diagram): signalling messages are black arrows, native data
green arrows, tunnelled (IPv6-in-IPv6) data a blue double line, a lost packet a red arrow that stops at an X.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .text import legend_lines, one_line

FONT = 12
CHAR_W = 7.0
LINE_H = 15
PAD = 16  # outer margin
HEAD_H = 28  # lifeline name boxes
MIN_GAP = 100
NOTE_CHARS = 40  # notes wrap at this many characters
TIME_W = 64  # the time axis column
KEY = (("signal", "signalling"), ("data", "data"), ("tunnel", "tunnelled (IPv6-in-IPv6)"), ("lost", "lost"))
COLORS = {"signal": "#000000", "data": "#1b7a2e", "tunnel": "#1f4e9c", "lost": "#c62828", "note": "#fff6c4",
          "note_edge": "#9a8a3a", "lifeline": "#777777", "muted": "#555555"}


def _w(text: str, size: float = FONT) -> float:
    return len(text) * CHAR_W * size / FONT


def _note_lines(item: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for line in item["lines"]:
        out += textwrap.wrap(line, NOTE_CHARS, break_on_hyphens=False) or [""]
    return out


def layout(model: dict[str, Any]) -> dict[str, Any]:
    """Geometry of the diagram: lifeline x positions and boxes, one row per item, the total size.

    Out: {"width", "height", "time_axis_x" (or None), "lifelines": [{"id", "x", "box_w"}], "top", "bottom",
    "rows": [{"y", ...}], "legend_y"}. For a message row: "y" is the arrow's line, "x1"/"x2" its ends; for a note:
    "y" is the top of its box, "x"/"w"/"h" the box and "lines" the wrapped text; for a drop: "x"/"y" the X.
    """
    lifelines = model["lifelines"]
    index = {lifeline["id"]: i for i, lifeline in enumerate(lifelines)}
    n = len(lifelines)
    box_w = [max(64.0, _w(lifeline["label"]) + 20) for lifeline in lifelines]
    gaps = [max(MIN_GAP, (box_w[i] + box_w[i + 1]) / 2 + 16) for i in range(n - 1)]

    def widen(i: int, j: int, need: float) -> None:
        have = sum(gaps[i:j])
        if have < need:
            for k in range(i, j):
                gaps[k] += (need - have) / (j - i)

    notes = {}
    for k, item in enumerate(model["items"]):
        if item["type"] == "message":
            i, j = sorted((index[item["src"]], index[item["dst"]]))
            if i != j:
                widen(i, j, _w(item["label"]) + 40)
        elif item["type"] == "note":
            lines = _note_lines(item)
            notes[k] = lines
            i, j = index[item["over"][0]], index[item["over"][-1]]
            if i != j:
                widen(i, j, 20)

    # x of each lifeline relative to the first; then shift everything right of the widest overhang.
    xs = [0.0]
    for gap in gaps:
        xs.append(xs[-1] + gap)
    rows: list[dict[str, Any]] = []
    left_extent, right_extent = (-box_w[0] / 2, xs[-1] + box_w[-1] / 2) if n else (0.0, 0.0)  # n = 0: empty run
    y = PAD + (24 if model.get("title") else 0) + HEAD_H + 24
    for k, item in enumerate(model["items"]):
        if item["type"] == "message":
            y += LINE_H + 4  # room for the label above the line
            rows.append({"y": y, "x1": xs[index[item["src"]]], "x2": xs[index[item["dst"]]]})
            y += 14
        elif item["type"] == "drop":
            y += LINE_H + 4
            x = xs[index[item["node"]]]
            rows.append({"y": y, "x": x})
            right_extent = max(right_extent, x + 14 + _w(item["label"]))
            y += 14
        else:
            lines = notes[k]
            a, b = xs[index[item["over"][0]]], xs[index[item["over"][-1]]]
            w = max(max(_w(line) for line in lines) + 16, b - a + 40)
            x = (a + b) / 2 - w / 2
            h = len(lines) * LINE_H + 8
            rows.append({"y": y, "x": x, "w": w, "h": h, "lines": lines})
            left_extent, right_extent = min(left_extent, x), max(right_extent, x + w)
            y += h + 10
    y += 10
    legend = legend_lines(model)
    legend_y = y + HEAD_H + 16
    height = legend_y + len(legend) * LINE_H + 4 + 8 + PAD

    time_axis = model["options"].get("time_axis")
    shift = PAD - left_extent + (TIME_W if time_axis else 0)
    for row in rows:
        for key in ("x1", "x2", "x"):
            if key in row:
                row[key] += shift
    key_w = sum(38 + _w(text) + 24 for _, text in KEY)
    width = max(shift + right_extent + PAD, max((_w(line) for line in legend), default=0) + 2 * PAD,
                key_w + 2 * PAD)
    if model.get("title"):
        width = max(width, _w(model["title"], 15) + 2 * PAD)
    return {
        "width": round(width, 1),
        "height": round(height, 1),
        "time_axis_x": PAD + TIME_W - 8 if time_axis else None,
        "top": PAD + (24 if model.get("title") else 0),
        "bottom": y,
        "lifelines": [{"id": lifeline["id"], "x": xs[i] + shift, "box_w": box_w[i]}
                      for i, lifeline in enumerate(lifelines)],
        "rows": rows,
        "legend_y": legend_y,
        "legend": legend,
    }


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    """Element text, escaped; characters XML 1.0 forbids are dropped, other line breaks and controls made spaces."""
    return escape(one_line(_NOT_XML.sub("", value)))


def _attr(value: str) -> str:
    return quoteattr(one_line(_NOT_XML.sub("", value)))


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def render(model: dict[str, Any]) -> str:
    """The SVG document (a str) of a sequence model."""
    geo = layout(model)
    out: list[str] = []
    add = out.append
    width, height = geo["width"], geo["height"]
    add('<?xml version="1.0" encoding="UTF-8"?>\n')
    add(f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" height="{_num(height)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" font-family="Helvetica, Arial, sans-serif" font-size="{FONT}">\n')
    add(f"<title>{_text(model.get('title') or 'dmmviz sequence diagram')}</title>\n")
    add("<defs>\n")
    for name, color in (("signal", COLORS["signal"]), ("data", COLORS["data"]), ("tunnel", COLORS["tunnel"]),
                        ("lost", COLORS["lost"])):
        # Two markers per colour: a head at the end, and a reversed one for the start of two-way arrows.
        add(f'<marker id="head-{name}" markerWidth="10" markerHeight="10" refX="9" refY="5" orient="auto" '
            f'markerUnits="userSpaceOnUse"><path d="M0,1 L9,5 L0,9 z" fill="{color}"/></marker>\n')
        add(f'<marker id="tail-{name}" markerWidth="10" markerHeight="10" refX="1" refY="5" orient="auto" '
            f'markerUnits="userSpaceOnUse"><path d="M10,1 L1,5 L10,9 z" fill="{color}"/></marker>\n')
    add("</defs>\n")
    add(f'<rect x="0" y="0" width="{_num(width)}" height="{_num(height)}" fill="#ffffff"/>\n')
    if model.get("title"):
        add(f'<text x="{PAD}" y="{PAD + 12}" font-size="15" font-weight="bold">{_text(model["title"])}</text>\n')

    top, bottom = geo["top"], geo["bottom"]
    for lifeline, placed in zip(model["lifelines"], geo["lifelines"], strict=True):
        x, w = placed["x"], placed["box_w"]
        add(f'<line x1="{_num(x)}" y1="{_num(top + HEAD_H)}" x2="{_num(x)}" y2="{_num(bottom)}" '
            f'stroke="{COLORS["lifeline"]}" stroke-dasharray="4 3"/>\n')
        for y in (top, bottom):
            add(f'<rect x="{_num(x - w / 2)}" y="{_num(y)}" width="{_num(w)}" height="{HEAD_H}" rx="3" '
                f'fill="#eef2f7" stroke="#333333"/>\n')
            add(f'<text x="{_num(x)}" y="{_num(y + 18)}" text-anchor="middle" font-weight="bold">'
                f"{_text(lifeline['label'])}</text>\n")

    for item, row in zip(model["items"], geo["rows"], strict=True):
        if geo["time_axis_x"] is not None:
            ty = row["y"] + 12 if item["type"] == "note" else row["y"] + 4
            add(f'<text x="{_num(geo["time_axis_x"])}" y="{_num(ty)}" text-anchor="end" font-size="10" '
                f'fill="{COLORS["muted"]}">{item["t"]:.3f} s</text>\n')
        if item["type"] == "message":
            _arrow(add, item, row)
        elif item["type"] == "drop":
            color = COLORS["lost"]
            add(f'<path d="M{_num(row["x"] - 6)},{_num(row["y"] - 6)} l12,12 m0,-12 l-12,12" stroke="{color}" '
                f'stroke-width="2.5"/>\n')
            add(f'<text x="{_num(row["x"] + 12)}" y="{_num(row["y"] + 4)}" fill="{color}">'
                f'{_text(item["label"])}</text>\n')
        else:
            add(f'<rect x="{_num(row["x"])}" y="{_num(row["y"])}" width="{_num(row["w"])}" height="{_num(row["h"])}" '
                f'fill="{COLORS["note"]}" stroke="{COLORS["note_edge"]}"/>\n')
            for i, line in enumerate(row["lines"]):
                add(f'<text x="{_num(row["x"] + 8)}" y="{_num(row["y"] + 4 + LINE_H * (i + 1) - 3)}">'
                    f"{_text(line)}</text>\n")

    _key(add, geo)
    add("</svg>\n")
    return "".join(out)


def _arrow(add: Callable[[str], Any], item: dict[str, Any], row: dict[str, Any]) -> None:
    x1, x2, y = row["x1"], row["x2"], row["y"]
    style = "lost" if item["lost"] else item["style"]
    color = COLORS[style]
    if x1 == x2:  # a message to itself: a small loop to the right
        add(f'<path d="M{_num(x1)},{_num(y - 6)} h30 v12 h-30" fill="none" stroke="{color}" '
            f'marker-end="url(#head-{style})"/>\n')
        add(f'<text x="{_num(x1 + 36)}" y="{_num(y + 4)}" fill="{color}">{_text(item["label"])}</text>\n')
        return
    sign = 1 if x2 > x1 else -1
    x1, x2 = x1 + sign, x2 - sign  # stop just short of the lifelines
    if item["lost"]:
        x2 = x1 + (x2 - x1) * 0.75
    markers = "" if item["lost"] else f' marker-end="url(#head-{style})"'
    if item["both"] and not item["lost"]:
        markers += f' marker-start="url(#tail-{style})"'
    if item["style"] == "tunnel":
        # A double line: a wide line with a white one inside; the white one stops short of the arrowheads.
        add(f'<line x1="{_num(x1)}" y1="{_num(y)}" x2="{_num(x2)}" y2="{_num(y)}" stroke="{color}" '
            f'stroke-width="5"{markers}/>\n')
        inner1 = x1 + (9 * sign if item["both"] else 0)
        inner2 = x2 - (0 if item["lost"] else 9 * sign)
        add(f'<line x1="{_num(inner1)}" y1="{_num(y)}" x2="{_num(inner2)}" y2="{_num(y)}" stroke="#ffffff" '
            f'stroke-width="1.8"/>\n')
    else:
        add(f'<line x1="{_num(x1)}" y1="{_num(y)}" x2="{_num(x2)}" y2="{_num(y)}" stroke="{color}" '
            f'stroke-width="1.3"{markers}/>\n')
    if item["lost"]:
        add(f'<path d="M{_num(x2 - 5)},{_num(y - 5)} l10,10 m0,-10 l-10,10" stroke="{color}" stroke-width="2"/>\n')
    mid = (row["x1"] + row["x2"]) / 2
    add(f'<text x="{_num(mid)}" y="{_num(y - 6)}" text-anchor="middle" fill="{color}">{_text(item["label"])}</text>\n')


def _key(add: Callable[[str], Any], geo: dict[str, Any]) -> None:
    """The legend: prefix names, then what each line style means."""
    y = geo["legend_y"]
    for line in geo["legend"]:
        add(f'<text x="{PAD}" y="{_num(y)}">{_text(line)}</text>\n')
        y += LINE_H
    x: float = PAD
    y += 4
    for style, text in KEY:
        if style == "tunnel":
            add(f'<line x1="{x}" y1="{_num(y - 4)}" x2="{x + 30}" y2="{_num(y - 4)}" stroke="{COLORS[style]}" '
                f'stroke-width="5" marker-end="url(#head-{style})"/>\n')
            add(f'<line x1="{x}" y1="{_num(y - 4)}" x2="{x + 21}" y2="{_num(y - 4)}" stroke="#ffffff" '
                f'stroke-width="1.8"/>\n')
        elif style == "lost":
            add(f'<line x1="{x}" y1="{_num(y - 4)}" x2="{x + 24}" y2="{_num(y - 4)}" stroke="{COLORS[style]}" '
                f'stroke-width="1.3"/>\n')
            add(f'<path d="M{x + 19},{_num(y - 9)} l10,10 m0,-10 l-10,10" stroke="{COLORS[style]}" '
                'stroke-width="2"/>\n')
        else:
            add(f'<line x1="{x}" y1="{_num(y - 4)}" x2="{x + 30}" y2="{_num(y - 4)}" stroke="{COLORS[style]}" '
                f'stroke-width="1.3" marker-end="url(#head-{style})"/>\n')
        add(f'<text x="{x + 38}" y="{_num(y)}" fill="{COLORS[style]}">{_text(text)}</text>\n')
        x += 38 + _w(text) + 24
