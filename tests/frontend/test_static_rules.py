"""Rules the browser code keeps, checked on the source: they are what makes the page safe and keeps it in step with
the server (../shared/STYLE.md, "static/")."""

from __future__ import annotations

import re
from pathlib import Path

from dmmviz.protocol import ClientType, ServerType

JS = sorted((Path(__file__).resolve().parents[2] / "static" / "js").glob("*.js"))


def code(path: Path) -> str:
    """The file without its comments (they may well mention what the code must not do)."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
    return re.sub(r"(^|[^:\\])//.*$", r"\1", text, flags=re.M)


def test_no_markup_is_ever_parsed_from_data():
    """Text from the server or a scenario goes in through textContent: no innerHTML and friends anywhere."""
    for path in JS:
        text = code(path)
        for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert banned not in text, f"{path.name} uses {banned}"


def test_one_place_creates_svg_elements():
    """Only svg.js calls createElementNS (the one svg(name, attrs, text) helper)."""
    users = [p.name for p in JS if "createElementNS" in code(p)]
    assert users == ["svg.js"], users


def test_protocol_names_come_from_the_served_module():
    """No JS file spells a websocket message type itself: they come from /protocol.js (dmmviz/protocol.py)."""
    names = {t.value for t in ClientType} | {t.value for t in ServerType}
    for path in JS:
        text = code(path)
        for name in names:
            quoted = re.compile("[\"'`]" + re.escape(name) + "[\"'`]")
            assert not quoted.search(text), f"{path.name} spells the message type {name!r}"


def test_every_module_is_an_es_module_with_no_remote_import():
    """ES modules imported by relative path only: nothing from a CDN, so the page works offline."""
    for path in JS:
        text = code(path)
        for spec in re.findall(r"^import .* from ['\"]([^'\"]+)['\"];", text, re.M):
            assert spec.startswith("./"), f"{path.name} imports {spec}"
        assert "https://" not in text and "http://" not in text.replace("http://www.w3.org/2000/svg", ""), path.name
