"""The diagram formats: golden files for Figure 5, and what the tools that open them accept.

Regenerate the golden files after a deliberate change: UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/exports
and read the diff before committing it.
"""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from simulator.export import ExportError, export
from simulator.export.mermaid import escape as mermaid_escape

from .conftest import GOLDEN, RUNS, engine_trace, need

SUFFIX = {"ascii": "txt", "mermaid": "mmd", "plantuml": "puml", "svg": "svg"}
MERMAID_DIR = Path(__file__).resolve().parent / "mermaid"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
def test_fig5_golden(fig5, fmt):
    """The seed's Figure 5 exports exactly as the reviewed golden file."""
    path = GOLDEN / f"fig5.{SUFFIX[fmt]}"
    text = export(fmt, fig5)
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run UPDATE_GOLDEN=1 pytest tests/exports"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} changed: UPDATE_GOLDEN=1 to accept, after reading the diff")


def test_ascii_fig5_reads_like_the_seed(fig5):
    """The ASCII diagram has the seed's columns, the RS/RA arrows and the tunnel as a double line."""
    lines = export("ascii", fig5).splitlines()
    assert lines[0].split() == ["MN1", "MAR2", "MAR1", "DB", "CN1", "CN2"]
    text = "\n".join(lines)
    assert re.search(r"\|-+RS-+>\|", text)  # |----RS---->|
    assert re.search(r"\|<=+>\|", text)  # the tunnel MAR2<===>MAR1
    assert "PBU(seq 1, lifetime 3600, HNP1)" in text
    assert "HNP1 = 2001:db8:1:1::/64, anchored at MAR1 (MN1)" in lines


@pytest.mark.parametrize(("name", "mode"), RUNS)
@pytest.mark.parametrize("options", [{}, {"time_axis": True}, {"data": "show", "end": 6.0}])
def test_ascii_at_most_72_columns_and_ascii_only(name, mode, options):
    """Every line fits an Internet-Draft: 72 columns, ASCII characters only."""
    text = export("ascii", engine_trace(name, mode=mode), options=options)
    assert text.isascii()
    too_long = [line for line in text.splitlines() if len(line) > 72]
    assert not too_long, too_long[:3]


def test_ascii_too_many_columns_says_how_to_fix():
    """A diagram that cannot fit 72 columns says to choose fewer nodes."""
    events = [{"id": i, "t": float(i), "arrive": i + 0.1, "kind": "DATA", "src": f"CN{i}", "dst": f"CN{i + 1}",
               "flow": "f", "direction": "down", "encapsulated": False} for i in range(20)]
    with pytest.raises(ExportError, match="do not fit in 72 columns; choose fewer with the 'nodes' option"):
        export("ascii", {"format": "dmmviz-trace/1", "nodes": {f"CN{i}": "cn" for i in range(21)}, "events": events})


def _write_all(tmp_path: Path, fmt: str, suffix: str) -> list[Path]:
    """The export of every shipped scenario under every mode, plainly and with time axis and data shown."""
    files = []
    for name, mode in RUNS:
        for i, options in enumerate(({}, {"time_axis": True, "data": "show", "end": 6.0})):
            files.append(tmp_path / f"{name}-{mode}-{i}.{suffix}")
            files[-1].write_text(export(fmt, engine_trace(name, mode=mode), options=options), encoding="utf-8")
    return files


def test_plantuml_checkonly_accepts_every_run(tmp_path):
    """PlantUML parses the export of every shipped scenario under every mode."""
    plantuml = need("plantuml")
    files = _write_all(tmp_path, "plantuml", "puml")
    result = subprocess.run([plantuml, "-checkonly", *map(str, files)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_plantuml_checkonly_rejects_garbage(tmp_path):
    """The check above can fail: plantuml -checkonly refuses a broken diagram."""
    plantuml = need("plantuml")
    bad = tmp_path / "bad.puml"
    bad.write_text("@startuml\nA -> B : ok\nthis is not plantuml }}}\n@enduml\n")
    assert subprocess.run([plantuml, "-checkonly", str(bad)], capture_output=True, timeout=120).returncode != 0


def test_mermaid_escapes_what_ends_a_message():
    """';' and '#' would end a Mermaid message, ':' and '<' confuse it: they become entity codes."""
    assert mermaid_escape("a;b#c:d<e>f") == "a#59;b#35;c#58;d#lt;e#gt;f"
    assert mermaid_escape("2001:db8:1:1::/64") == "2001#58;db8#58;1#58;1#58;#58;/64"


def test_mermaid_lines_have_no_raw_specials(fig5):
    """No message or note text holds a raw ';', '#' or a second ':' (entities only)."""
    for line in export("mermaid", fig5, options={"time_axis": True}).splitlines()[1:]:
        text = line.split(": ", 1)[1] if ": " in line else ""
        assert ";" not in re.sub(r"#\w+;", "", text), line
        assert "#" not in re.sub(r"#\w+;", "", text), line
        assert ":" not in text, line


def test_mermaid_parser_accepts_every_run(tmp_path):
    """Mermaid's own parser (Node, tests/exports/mermaid) accepts the export of every shipped scenario and mode."""
    node = need("node")
    if not (MERMAID_DIR / "node_modules" / "mermaid").is_dir():
        pytest.fail("Mermaid is not installed: run scripts/install-test-tools.sh (npm ci in tests/exports/mermaid)")
    files = _write_all(tmp_path, "mermaid", "mmd")
    result = subprocess.run([node, str(MERMAID_DIR / "check.mjs"), *map(str, files)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok ") == len(files)


@pytest.mark.parametrize(("name", "mode"), RUNS)
def test_svg_is_well_formed_with_every_arrow_drawn(name, mode):
    """The SVG parses as XML, and has one labelled arrow per message item and a double line per tunnelled one."""
    trace = engine_trace(name, mode=mode)
    root = ET.fromstring(export("svg", trace, options={"time_axis": True}))
    assert root.tag == f"{SVG}svg"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    from simulator.export import sequence_model

    model = sequence_model(trace)
    for item in model["items"]:
        if item["type"] == "message":
            assert item["label"] in texts
    double = [e for e in root.iter(f"{SVG}line") if e.get("stroke-width") == "5"]
    tunnels = [i for i in model["items"] if i["type"] == "message" and i["style"] == "tunnel"]
    assert len(double) == len(tunnels) + 1  # + the key's sample
    ids = {e.get("id") for e in root.iter(f"{SVG}marker")}
    used = {m.group(1) for m in re.finditer(r"url\(#([\w-]+)\)", ET.tostring(root, encoding="unicode"))}
    assert used <= ids


def test_svg_escapes_text():
    """Titles and node names with markup characters come out as text, not markup."""
    title = 'Fig <5> & "quotes" \x01'
    trace = {"format": "dmmviz-trace/1", "title": title, "nodes": {"MN<1>": "mn", "M&R": "mar"}, "events": [
        {"id": 1, "t": 0.0, "arrive": 0.1, "kind": "RS", "src": "MN<1>", "dst": "M&R", "mn": "MN<1>",
         "interface": "if1"}]}
    root = ET.fromstring(export("svg", trace))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert 'Fig <5> & "quotes" ' in texts and "MN<1>" in texts and "M&R" in texts
    assert root.find(f"{SVG}title").text == 'Fig <5> & "quotes" '


def test_every_format_from_the_cli(tmp_path):
    """python -m simulator run FILE --export FMT writes each format (the pcap to -o)."""
    from .conftest import ROOT

    scenario = ROOT / "dmmviz" / "builtin_scenarios" / "fig5-handover.json"
    for fmt in ("ascii", "mermaid", "plantuml", "svg", "pcap"):
        out = tmp_path / f"out.{fmt}"
        result = subprocess.run([os.sys.executable, "-m", "simulator", "run", str(scenario), "--export", fmt,
                                 "--until", "15", "-o", str(out)],
                                capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert result.returncode == 0, result.stderr
        data = out.read_bytes()
        assert data.startswith(b"\xd4\xc3\xb2\xa1") if fmt == "pcap" else b"MN1" in data
