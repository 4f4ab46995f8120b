"""`manage.py load_lessons`: put the built-in lessons (dmmviz/builtin_lessons/*.json) into the database.

Idempotent: a lesson is keyed by its file name (the slug) and replaced in place, published, with no owner (read-only
for everyone but superusers). A file the engine cannot play is reported and skipped; the others still load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from dmmviz.lessons import lessonfile
from dmmviz.lessons.models import Lesson

BUILTIN_DIR = Path(__file__).resolve().parents[3] / "builtin_lessons"


class Command(BaseCommand):
    help = "Load the built-in lessons into the database (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        loaded = skipped = 0
        for file in sorted(BUILTIN_DIR.glob("*.json")):
            try:
                data = lessonfile.parse_text(file.read_text(encoding="utf-8"))
            except (OSError, lessonfile.LessonError) as exc:
                self.stderr.write(f"{file.name}: skipped: {exc}")
                skipped += 1
                continue
            problems = lessonfile.validate(data)
            if problems:
                for p in problems:
                    self.stderr.write(f"{file.name}: skipped: {p.path}: {p.message}")
                skipped += 1
                continue
            lesson = Lesson.objects.filter(slug=file.stem).first() or Lesson(slug=file.stem)
            lesson.set_document(data)
            lesson.builtin = True
            lesson.owner = None
            lesson.status = Lesson.Status.PUBLISHED
            lesson.save()
            loaded += 1
        self.stdout.write(f"built-in lessons: {loaded} loaded, {skipped} skipped")
