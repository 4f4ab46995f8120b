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
from dmmviz.web.management.builtin import load_folder

BUILTIN_DIR = Path(__file__).resolve().parents[3] / "builtin_lessons"


class Command(BaseCommand):
    help = "Load the built-in lessons into the database (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        load_folder(self, BUILTIN_DIR, "lessons", lessonfile.parse_text, _problems, _save)


def _problems(data: dict[str, Any]) -> list[str]:
    return [f"{p.path}: {p.message}" for p in lessonfile.validate(data)]


def _save(slug: str, data: dict[str, Any]) -> None:
    lesson = Lesson.objects.filter(slug=slug).first() or Lesson(slug=slug)
    lesson.set_document(data)
    lesson.builtin = True
    lesson.owner = None
    lesson.status = Lesson.Status.PUBLISHED
    lesson.save()
