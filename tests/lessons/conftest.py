"""Fixtures for the lessons tests: users in their roles, lessons from the built-in library, and clients."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
BUILTIN_LESSONS = ROOT / "dmmviz" / "builtin_lessons"


def builtin_lesson(name: str) -> dict[str, Any]:
    """A built-in lesson document by file name, e.g. builtin_lesson("fig5-handover")."""
    return json.loads((BUILTIN_LESSONS / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def make_user(db, django_user_model):
    def make(name: str, instructor: bool = False) -> Any:
        user = django_user_model.objects.create_user(username=name, password="pw-" + name + "-123")
        if instructor:
            call_command("grant_instructor", name, stdout=open("/dev/null", "w"))
            user.refresh_from_db()
        return user

    return make


@pytest.fixture
def instructor(make_user):
    return make_user("ingrid", instructor=True)


@pytest.fixture
def other_instructor(make_user):
    return make_user("olaf", instructor=True)


@pytest.fixture
def student(make_user):
    return make_user("stella")


def client_for(user: Any | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def lesson_of(db):
    """Save a lesson document as a lesson of `owner` (published unless told otherwise)."""
    from dmmviz.lessons.models import Lesson

    def make(owner: Any, name: str = "fig5-handover", status: str = "published", **changes: Any) -> Lesson:
        data = copy.deepcopy(builtin_lesson(name))
        data.update(changes)
        lesson = Lesson(owner=owner, status=status)
        lesson.set_document(data)
        lesson.slug = Lesson.unique_slug(lesson.title)
        lesson.full_clean()
        lesson.save()
        return lesson

    return make


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Password hashing at full strength costs a second per user; these tests are not about it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
