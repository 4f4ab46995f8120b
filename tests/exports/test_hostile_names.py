"""Hostile user strings in every export (issue 11): titles, node ids, flow ids and interface names that try to start a
line, a directive, a participant or markup of their own. Each format must carry them as text and nothing else.

The traces are engine runs of the shipped Figure 5 and Figure 6 scenarios (and the client-dmm Figure 2) with their
names replaced by hostile ones, so every kind of label (arrows, notes, legend, title, participants) meets them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from simulator.export import export, sequence_model
from simulator.export.text import one_line
from simulator.export.trace import _event_text

from .conftest import engine_trace, need
from .test_diagrams import MERMAID_DIR
from .test_pcap import message_events, records, tshark

EVIL_TITLE = ("Fig 5\n%%{init: {'theme': 'dark'}}%%\nparticipant EVIL\n@enduml\n!include /etc/passwd\r"
              "<script>alert(1)</script> %getenv(\"HOME\") $x & \"q\" \u2028title EVIL2\u2029; # -->> --> \\n end")
EVIL = {
    # node ids
    "MN1": "MN1\n%%{init: {'theme':'dark'}}%%",
    "MAR1": 'M"A;R#1 --> EVIL: hi',
    "MAR2": "<script>alert(1)</script>",
    "CN1": "@enduml\n@startuml\nparticipant EVIL",
    "CN2": "end",
    "DB": "DB\u2028participant EVIL2 %getenv(\"HOME\")",
    # flow ids and interfaces
    "flow1": "f1\r\n!include /etc/passwd -->> x",
    "flow2": "f2\u0085note over EVIL: hi ~~ ** // $x",
    "if1": "if1\x0b%%",
    "if2": "if2\\n<b>bold</b>",
}
FORMATS = ("mermaid", "plantuml", "svg", "ascii")


def hostile(name: str, mode: str | None = None) -> dict:
    """An engine trace with its title and names replaced by hostile strings (every string value equal to a name)."""
    trace = engine_trace(name, mode=mode)

    def swap(value):
        if isinstance(value, str):
            return EVIL.get(value, value)
        if isinstance(value, list):
            return [swap(v) for v in value]
        if isinstance(value, dict):
            return {swap(k): swap(v) for k, v in value.items()}  # node ids are keys of trace["nodes"]
        return value

    trace = swap(trace)
    trace["title"] = EVIL_TITLE
    for ev in trace["events"]:
        ev.pop("mn_id", None)  # the NAI is made from the (hostile) MN id
    return trace


TRACES = [("fig5-handover", None), ("fig6-multi-interface", None), ("fig2-client-dmm", None)]
ASCII_NODES = {"fig5-handover": None, "fig6-multi-interface": None, "fig2-client-dmm": None}


@pytest.fixture(params=TRACES, ids=[t[0] for t in TRACES])
def evil(request) -> dict:
    return hostile(*request.param)


def _lines(text: str) -> list[str]:
    return text.split("\n")


def test_no_format_lets_a_name_start_a_line(evil):
    """Every output line is one the exporter wrote: no hostile fragment at the start of a line, no raw line break
    of another kind (U+2028, U+0085, \\r, \\v) anywhere, one participant line per lifeline."""
    lifelines = sequence_model(evil)["lifelines"]
    for fmt in FORMATS:
        out = export(fmt, evil, options={"nodes": [lifeline["id"] for lifeline in lifelines][:5]} if fmt == "ascii"
                     else None)
        assert not re.search("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", out), fmt
        lines = _lines(out)
        if fmt == "plantuml":
            assert (lines[0], lines[-2:]) == ("@startuml", ["@enduml", ""])
            lines = lines[1:-2]
        if fmt == "ascii":
            continue  # plain text has no markup and shows names at the start of lines: its layout test is below
        for line in lines:
            stripped = line.strip()
            for start in ("%%", "participant EVIL", "@enduml", "@startuml", "!include", "title EVIL", "note over EVIL",
                          "<script"):
                assert not stripped.startswith(start), (fmt, line)


def test_mermaid_hostile_names_parse_to_the_same_diagram(tmp_path, evil):
    """Mermaid's own parser reads exactly the lifelines of the model (no EVIL participant), one message per arrow,
    and a title that is the text of the title; no `%%` survives anywhere (no directive, no comment)."""
    node = need("node")
    if not (MERMAID_DIR / "node_modules" / "mermaid").is_dir():
        pytest.fail("Mermaid is not installed: npm ci --prefix tests/exports/mermaid")
    model = sequence_model(evil)
    text = export("mermaid", evil)
    assert "%%" not in text and "%" not in text.replace("#37;", "")
    path = tmp_path / "evil.mmd"
    path.write_text(text)
    result = subprocess.run([node, str(MERMAID_DIR / "actors.mjs"), str(path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    parsed = json.loads(result.stdout)
    assert len(parsed["actors"]) == len(model["lifelines"])
    assert parsed["messages"] == sum(1 for item in model["items"] if item["type"] == "message") + sum(
        1 for item in model["items"] if item["type"] != "message") + (1 if model["legend"] else 0)
    assert parsed["title"].startswith("Fig 5") and "EVIL2" in parsed["title"]
    assert not any("EVIL" == a for a in parsed["actors"])


def test_mermaid_check_script_accepts_hostile_names(tmp_path):
    """The pinned parser (check.mjs) accepts the hostile export of every trace."""
    node = need("node")
    files = []
    for name, mode in TRACES:
        path = tmp_path / f"{name}.mmd"
        path.write_text(export("mermaid", hostile(name, mode), options={"time_axis": True}))
        files.append(str(path))
    result = subprocess.run([node, str(MERMAID_DIR / "check.mjs"), *files], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_plantuml_hostile_names_render_as_text(tmp_path, evil):
    """PlantUML checks the source; rendered, it has exactly the model's participants, the hostile strings appear as
    text (the preprocessor ran no %getenv, no !include), and the file has one @startuml and one @enduml."""
    plantuml = need("plantuml")
    model = sequence_model(evil)
    text = export("plantuml", evil)
    assert [line for line in _lines(text) if line.startswith("@")] == ["@startuml", "@enduml"]
    path = tmp_path / "evil.puml"
    path.write_text(text)
    check = subprocess.run([plantuml, "-checkonly", str(path)], capture_output=True, text=True, timeout=180)
    assert check.returncode == 0, check.stdout + check.stderr
    subprocess.run([plantuml, "-tsvg", str(path)], capture_output=True, text=True, timeout=180, check=True)
    svg = (tmp_path / "evil.svg").read_text()
    root = ET.fromstring(svg)
    texts = "\n".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert not list(root.iter("{http://www.w3.org/2000/svg}script"))
    assert '%getenv("HOME")' in texts  # drawn as text, not run
    assert os.environ.get("HOME", "/root") not in texts and "!include /etc/passwd" in texts
    assert '$x & "q"' in texts and "<script>alert(1)</script>" in texts  # quotes and markup as text
    participants = [line for line in _lines(text) if line.startswith(("participant ", "database "))]
    assert len(participants) == len(model["lifelines"])


def test_svg_hostile_names_are_text_nodes(evil):
    """The SVG parses; it has no script element and no element the exporter does not draw; the hostile strings are
    text nodes (line breaks kept as XML whitespace is harmless; XML-forbidden controls dropped)."""
    root = ET.fromstring(export("svg", evil))
    ns = "{http://www.w3.org/2000/svg}"
    tags = {el.tag.removeprefix(ns) for el in root.iter()}
    assert tags <= {"svg", "title", "defs", "marker", "path", "rect", "line", "text"}
    texts = [t.text or "" for t in root.iter(f"{ns}text")]
    assert any("<script>alert(1)</script>" in t for t in texts)
    assert root.find(f"{ns}title").text.startswith("Fig 5")


def test_ascii_hostile_names_keep_the_layout():
    """The ASCII diagram of hostile names has exactly the lines of the same trace with plain names of the same length:
    every control character and line break is one printable character, nothing starts a line of its own."""
    for name, mode in TRACES:
        evil = hostile(name, mode)
        nodes = [lifeline["id"] for lifeline in sequence_model(evil)["lifelines"]][:4]
        # Same length, spaces where the hostile name has a space or a line break (the places it may wrap).
        plain_map = {bad: re.sub(r"\S", "x", one_line(bad)) for bad in EVIL.values()}
        plain = json.loads(json.dumps(evil))

        def tame(value, plain_map=plain_map):
            if isinstance(value, str):
                return plain_map.get(value, value)
            if isinstance(value, list):
                return [tame(v) for v in value]
            if isinstance(value, dict):
                return {tame(k): tame(v) for k, v in value.items()}
            return value

        plain = tame(plain)
        plain["title"] = re.sub(r"\S", "x", one_line(EVIL_TITLE))
        out = export("ascii", evil, options={"nodes": nodes})
        same = export("ascii", plain, options={"nodes": [plain_map.get(n, n) for n in nodes]})
        assert len(_lines(out)) == len(_lines(same))
        assert all(len(line) <= 72 for line in _lines(out))
        assert all(ch == "\n" or " " <= ch <= "~" for ch in out)


def test_pcap_and_trace_carry_hostile_names_as_data(tmp_path, evil):
    """The pcap of hostile names decodes in tshark with no warning, one record per message; the trace export is JSON
    that reads back equal, every line break escaped."""
    pcap = export("pcap", evil)
    assert len(records(pcap)) == len(message_events(evil))
    path = tmp_path / "evil.pcap"
    path.write_bytes(pcap)
    expert = tshark(path, "-o", "udp.check_checksum:TRUE", "-q", "-z", "expert")
    assert "Warns" not in expert and "Errors" not in expert and "Malformed" not in tshark(path)
    text = json.dumps(evil, indent=1)
    assert json.loads(text) == evil
    assert not re.search("[\r\x0b\x85\u2028\u2029]", text)
    # the streamed trace writer (--export trace) writes each event the same way: one JSON text, escapes only
    written = "[" + ",".join(_event_text(e) for e in evil["events"]) + "\n]"
    assert json.loads(written) == evil["events"]
    assert not re.search("[\r\x0b\x85\u2028\u2029]", written)
