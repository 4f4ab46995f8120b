"""One template per page: no name is defined in two template folders (the one the loader does not pick is dead code
that drifts: issue 12, item 7)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def template_dirs() -> list[Path]:
    dirs = [Path(d) for engine in settings.TEMPLATES for d in engine.get("DIRS", [])]
    dirs += sorted(p for p in (ROOT / "dmmviz").glob("*/templates") if p.is_dir())
    return dirs


def test_no_template_is_defined_twice():
    seen: dict[str, Path] = {}
    twice = []
    for folder in template_dirs():
        for path in folder.rglob("*.html"):
            name = path.relative_to(folder).as_posix()
            if name in seen:
                twice.append(f"{name}: {seen[name]} and {path}")
            seen[name] = path
    assert twice == [], twice
    assert "web/home.html" in seen and "base.html" in seen  # the folders were found


def test_every_page_extends_the_one_frame():
    """Every full page template extends base.html (directly or through lessons/base.html or web/session.html)."""
    own_frames = []
    for folder in template_dirs():
        for path in folder.rglob("*.html"):
            text = path.read_text()
            if "<html" in text and path.relative_to(folder).as_posix() != "base.html":
                own_frames.append(str(path))
    assert own_frames == [], own_frames
