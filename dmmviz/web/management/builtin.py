"""The one loop of the built-in loaders (`load_builtin` for scenarios, `load_lessons` for lessons).

A file that cannot be read or has problems is reported and skipped; it does not stop `make run`: the others still
load. Each file is keyed by its name (the slug), so loading again replaces in place.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand


def load_folder(command: BaseCommand, folder: Path, what: str, read: Callable[[str], Any],
                problems: Callable[[Any], list[str]], save: Callable[[str, Any], None]) -> None:
    """Load folder/*.json in name order: `read` parses a file's text (a ValueError says why it cannot), `problems`
    lists what is wrong with the document, `save(slug, data)` stores it. Ends with one "built-in <what>: N loaded,
    M skipped" line."""
    loaded = skipped = 0
    for file in sorted(folder.glob("*.json")):
        try:
            data = read(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            found = [str(exc)]
        else:
            found = problems(data)
        if found:
            for problem in found:
                command.stderr.write(f"{file.name}: skipped: {problem}")
            skipped += 1
            continue
        save(file.stem, data)
        loaded += 1
    command.stdout.write(f"built-in {what}: {loaded} loaded, {skipped} skipped")
