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
        loaded = skipped = 0
        for file in sorted(BUILTIN_DIR.glob("*.json")):
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                self.stderr.write(f"{file.name}: skipped, not readable JSON: {exc}")
                skipped += 1
                continue
            problems = _problems(data)
            if problems:
                for problem in problems:
                    self.stderr.write(f"{file.name}: skipped: {problem}")
                skipped += 1
                continue
            Scenario.objects.update_or_create(
                slug=file.stem,
                defaults={
                    "title": str(data.get("title") or file.stem)[:200],
                    "description": str(data.get("description") or ""),
                    "data": data,
                    "builtin": True,
                },
            )
            loaded += 1
        # A skipped file is reported but does not stop `make run`: the other scenarios still serve.
        self.stdout.write(f"built-in scenarios: {loaded} loaded, {skipped} skipped")


def _problems(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return ["a scenario is a JSON object"]
    try:
        return scenario_problems(data)
    except ImportError:
        # Before the engine exists the files are loaded unchecked; once it does, every load validates.
        return []
