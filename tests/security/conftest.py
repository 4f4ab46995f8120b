"""A small school for the security tests: people in every role and one of everything they own.

Roles (the permission matrix's columns): anonymous (no account), student and other_student (logged in, owning nothing
here), owner (whoever owns the object in the URL: the student "sam" for sessions, attempts, practice, branches and
uploads; the instructor "irene" for lessons, classes and her own uploads), instructor ("ivan", an instructor who owns
none of it). Objects are made lazily, through the same HTTP requests a user would send.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("anonymous", "student", "other_student", "owner", "instructor")


def scenario_file(title: str = "Sam's handover") -> SimpleUploadedFile:
    data = json.loads((ROOT / "dmmviz/builtin_scenarios/fig5-handover.json").read_text())
    data["title"] = title
    return SimpleUploadedFile("mine.json", json.dumps(data).encode(), content_type="application/json")


def lesson_document() -> dict[str, Any]:
    return json.loads((ROOT / "dmmviz/builtin_lessons/fig5-handover.json").read_text())


class School:
    def __init__(self, django_user_model: Any) -> None:
        from dmmviz.lessons.permissions import ensure_instructors_group

        group = ensure_instructors_group()
        make = django_user_model.objects.create_user
        names = ("sam", "stu", "olga", "irene", "ivan")
        self.users = {name: make(username=name, password=f"pw-{name}-123") for name in names}
        for name in ("irene", "ivan"):
            self.users[name].groups.add(group)
        self._clients: dict[str, Client] = {}

    def client(self, name: str | None) -> Client:
        """A browser: logged in as ``name``, or anonymous (None); one per name, so its cookies persist."""
        key = name or "-anonymous-"
        if key not in self._clients:
            client = Client()
            if name:
                client.force_login(self.users[name])
            self._clients[key] = client
        return self._clients[key]

    def as_role(self, role: str, owner: str) -> Client:
        people = {"anonymous": None, "student": "stu", "other_student": "olga", "owner": owner, "instructor": "ivan"}
        name = people[role]
        return self.client(name) if role != "anonymous" else Client()

    # -- things people own ----------------------------------------------------------------------------------------

    @cached_property
    def lesson(self) -> Any:
        from dmmviz.lessons.models import Lesson

        lesson = Lesson(owner=self.users["irene"], status="published")
        lesson.set_document(lesson_document())
        lesson.title = "Irene's handover"
        lesson.slug = Lesson.unique_slug(lesson.title)
        lesson.save()
        return lesson

    @cached_property
    def attempt(self) -> Any:
        from dmmviz.lessons.models import Attempt

        assert self.client("sam").post(f"/lessons/{self.lesson.slug}/start/").status_code == 302
        return Attempt.objects.filter(user=self.users["sam"]).latest("created")

    @cached_property
    def practice(self) -> Any:
        from dmmviz.lessons.models import PracticeRun

        assert self.client("sam").post("/practice/scenario/fig5-handover/").status_code == 302
        return PracticeRun.objects.filter(user=self.users["sam"]).latest("created")

    @cached_property
    def live_class(self) -> Any:
        from dmmviz.lessons.models import LiveClass

        assert self.client("irene").post(f"/lessons/{self.lesson.slug}/class/").status_code == 302
        return LiveClass.objects.filter(instructor=self.users["irene"]).latest("created")

    @cached_property
    def branch(self) -> Any:
        from dmmviz.lessons.models import Branch

        assert self.client("sam").post(f"/class/{self.live_class.code}/branch/").status_code == 302
        return Branch.objects.filter(user=self.users["sam"]).latest("created")

    @cached_property
    def own_session(self) -> Any:
        from dmmviz.web.models import SimSession

        response = self.client("sam").post("/scenarios/fig5-handover/start/")
        assert response.status_code == 302
        return SimSession.objects.get(pk=response["Location"].strip("/").split("/")[-1])

    def upload_of(self, name: str) -> Any:
        from dmmviz.web.models import Scenario

        assert self.client(name).post("/", {"file": scenario_file(f"{name}'s upload")}).status_code == 302
        return Scenario.objects.filter(owner=self.users[name]).latest("created")

    @cached_property
    def upload(self) -> Any:
        return self.upload_of("sam")

    @cached_property
    def instructor_upload(self) -> Any:
        return self.upload_of("irene")

    def session_of(self, kind: str) -> tuple[Any, str]:
        """(the SimSession of that kind, the name of its owner)."""
        if kind == "own":
            return self.own_session, "sam"
        if kind == "class":
            return self.live_class.sim_session, "irene"
        record = {"attempt": self.attempt, "practice": self.practice, "branch": self.branch}[kind]
        return record.sim_session, "sam"


@pytest.fixture
def school(db, django_user_model, settings) -> School:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("load_builtin", verbosity=0)
    return School(django_user_model)


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Rate-limit counters are per process: each test starts with none."""
    cache.clear()
    yield
    cache.clear()
