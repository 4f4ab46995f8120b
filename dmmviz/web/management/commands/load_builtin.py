"""`manage.py load_builtin`: put the built-in scenarios (dmmviz/builtin_scenarios/*.json) into the database.

Idempotent: a scenario is keyed by its file name (the slug) and updated in place. `--sync-from DIR` first copies
DIR/*.json over the project's copies (the team refreshes them from ../shared/scenarios this way; users need not).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dmmviz.web.management.builtin import load_folder
from dmmviz.web.models import Scenario, scenario_problems

BUILTIN_DIR = Path(__file__).resolve().parents[2].parent / "builtin_scenarios"


class Command(BaseCommand):
    help = "Load the built-in scenarios into the database (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--sync-from", metavar="DIR", help="first copy DIR/*.json into dmmviz/builtin_scenarios/")

    def handle(self, *args: Any, sync_from: str | None = None, **options: Any) -> None:
        if sync_from:
            source = Path(sync_from)
            files = sorted(source.glob("*.json"))
            if not files:
                raise CommandError(f"no *.json in {source}")
            for file in files:
                shutil.copyfile(file, BUILTIN_DIR / file.name)
            self.stdout.write(f"copied {len(files)} scenarios from {source}")
        load_folder(self, BUILTIN_DIR, "scenarios", _read, _problems, _save)


def _read(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not readable JSON: {exc}") from exc


def _save(slug: str, data: dict[str, Any]) -> None:
    Scenario.objects.update_or_create(
        slug=slug,
        defaults={
            "title": str(data.get("title") or slug)[:200],
            "description": str(data.get("description") or ""),
            "data": data,
            "builtin": True,
        },
    )


def _problems(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return ["a scenario is a JSON object"]
    try:
        return scenario_problems(data)
    except ImportError:
        # Before the engine exists the files are loaded unchecked; once it does, every load validates.
        return []
