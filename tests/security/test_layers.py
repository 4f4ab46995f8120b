"""The web app does not depend on the lessons app (issue 9): the lessons app builds on web, never the other way, and
the ownership rule learns about lesson sessions by registration (dmmviz/access.py)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_web_and_the_access_rule_never_import_the_lessons_app():
    files = [*sorted((ROOT / "dmmviz/web").rglob("*.py")), ROOT / "dmmviz/access.py", ROOT / "dmmviz/throttle.py",
             ROOT / "dmmviz/origin.py"]
    offenders = {str(f.relative_to(ROOT)): sorted(m for m in imports(f) if m.startswith("dmmviz.lessons"))
                 for f in files}
    assert {f: m for f, m in offenders.items() if m} == {}


def test_lesson_sessions_are_claimed_through_the_registry():
    from dmmviz import access
    from dmmviz.lessons.permissions import session_claims

    assert session_claims in access._sources
