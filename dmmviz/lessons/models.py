"""Lessons (authored by instructors), attempts (a student working through one), practice answers and live classes.

Who may do what is decided in one place, dmmviz/lessons/permissions.py; the models only hold the data.
A lesson's content is its "dmmviz-lesson/1" document (scenario + steps), validated by ``clean()`` through
lessonfile.validate, the same check the import, the editor's save and the admin use.
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import slugify

from dmmviz.web.models import unique_slug

from . import lessonfile

NEW_LESSON_TITLE = "New lesson"  # the title a new lesson starts with (views.starter_lesson)


def _share_token() -> str:
    return secrets.token_urlsafe(12)


class LessonQuerySet(models.QuerySet):
    def published(self) -> LessonQuerySet:
        return self.filter(status=Lesson.Status.PUBLISHED)


class Lesson(models.Model):
    """A scenario and ordered steps (narrative, actions, checkpoints): a "dmmviz-lesson/1" document, in fields."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, help_text="Markdown, shown in the lesson list.")
    scenario = models.JSONField(help_text='The "dmmviz-scenario/1" document the lesson runs.')
    steps = models.JSONField(default=list, blank=True, help_text="The steps, as in a lesson file (docs/lessons.md).")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lessons",
        help_text="The instructor who may edit it. Built-in lessons have none.",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    builtin = models.BooleanField(default=False, help_text="Shipped with dmmviz (dmmviz/builtin_lessons/); read-only.")
    share_token = models.CharField(max_length=32, unique=True, default=_share_token, editable=False)
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = LessonQuerySet.as_manager()

    class Meta:
        ordering = ["-builtin", "title", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def document(self) -> dict[str, Any]:
        """The lesson as a "dmmviz-lesson/1" document (what export writes and the editor edits)."""
        return {
            "format": lessonfile.FORMAT,
            "title": self.title,
            "summary": self.summary,
            "scenario": self.scenario,
            "steps": self.steps,
        }

    @classmethod
    def new_draft(cls, owner: Any, document: dict[str, Any], **fields: Any) -> Lesson:
        """A new draft of `owner`'s from a valid lesson document, saved under a free slug made from its title
        (import, new, duplicate)."""
        lesson = cls(owner=owner, status=cls.Status.DRAFT, **fields)
        lesson.set_document(document)
        lesson.slug = cls.unique_slug(lesson.title)
        lesson.save()
        return lesson

    def set_document(self, data: dict[str, Any]) -> None:
        """Take title, summary, scenario and steps from a valid lesson document."""
        data = lessonfile.normalise(data)
        self.title, self.summary, self.scenario, self.steps = (
            data["title"],
            data["summary"],
            data["scenario"],
            data["steps"],
        )

    def checkpoint_count(self) -> int:
        return sum(1 for step in self.steps or [] if isinstance(step, dict) and step.get("checkpoint"))

    def clean(self) -> None:
        """Refuse a lesson the engine cannot play, naming each problem's path; a published lesson needs a step."""
        problems = lessonfile.validate(self.document())
        if problems:
            errors: dict[str, list[str]] = {}
            for p in problems:
                field = p.path.split(".")[0].split("[")[0]
                field = field if field in ("title", "summary", "scenario", "steps") else "__all__"
                errors.setdefault(field, []).append(f"{p.path}: {p.message}" if p.path else p.message)
            raise ValidationError(errors)
        if self.published and not self.steps:
            raise ValidationError({"status": "a lesson needs at least one step before it can be published"})

    def retitle_slug(self) -> None:
        """A new lesson's placeholder slug (new-lesson, new-lesson-2) follows its first real title, so its address
        reads like its title; once it has one, the slug (and the address people may have shared) stays."""
        placeholder = slugify(NEW_LESSON_TITLE)
        if re.fullmatch(rf"{placeholder}(-\d+)?", self.slug) and slugify(self.title) not in ("", placeholder):
            self.slug = Lesson.unique_slug(self.title)

    @classmethod
    def unique_slug(cls, text: str) -> str:
        return unique_slug(cls, text, fallback="lesson")


class Attempt(models.Model):
    """One student working through one lesson, with their own copy of the lesson and of its simulation.

    Owned by a user, or, for a student who is not logged in, by their browser session (``session_key``).
    ``lesson_data`` is the lesson document when the attempt started, so an instructor editing the lesson never changes
    the steps under a student's feet.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lesson = models.ForeignKey(Lesson, null=True, on_delete=models.SET_NULL, related_name="attempts")
    lesson_data = models.JSONField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="attempts"
    )
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    sim_session = models.ForeignKey(
        "web.SimSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    preview = models.BooleanField(default=False, help_text="The author previewing the lesson as a student.")
    step = models.PositiveIntegerField(default=0, help_text="The step shown now.")
    reached = models.PositiveIntegerField(default=0, help_text="The furthest step reached.")
    # {"<step index>": {"tries": n, "correct": bool, "first_try": bool, "response": ...}}
    answers = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated"]

    def __str__(self) -> str:
        who = self.user.get_username() if self.user_id else "anonymous"
        return f"{self.lesson_data.get('title', '?')} by {who}"

    @property
    def step_count(self) -> int:
        return len(self.lesson_data.get("steps", []))

    def checkpoint_steps(self) -> list[int]:
        return [k for k, step in enumerate(self.lesson_data.get("steps", [])) if step.get("checkpoint")]

    def score(self) -> dict[str, int]:
        """Points (checkpoints right at the first try), answered, right in the end, out of the lesson's checkpoints."""
        total = self.checkpoint_steps()
        answers = [self.answers.get(str(k)) for k in total]
        return {
            "points": sum(1 for a in answers if a and a.get("first_try")),
            "answered": sum(1 for a in answers if a),
            "correct": sum(1 for a in answers if a and a.get("correct")),
            "total": len(total),
            "percent": round(100 * sum(1 for a in answers if a and a.get("first_try")) / len(total)) if total else 100,
        }

    def progress_percent(self) -> int:
        """Share of the lesson done: steps reached, a step with a checkpoint only once answered right or revealed."""
        n = self.step_count
        if not n:
            return 100
        done = 0
        for k in range(min(self.reached + 1, n)):
            step = self.lesson_data["steps"][k]
            record = self.answers.get(str(k)) or {}
            if not step.get("checkpoint") or record.get("correct") or record.get("revealed"):
                done += 1
        return round(100 * done / n)


class PracticeRun(models.Model):
    """Someone practising on a scenario: their own simulation session, and the questions they were asked there."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sim_session = models.ForeignKey("web.SimSession", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"practice: {self.title}"

    def score(self) -> dict[str, int]:
        answered = self.questions.exclude(correct=None)
        return {"right": answered.filter(correct=True).count(), "answered": answered.count()}


class PracticeQuestion(models.Model):
    """One practice question: what was asked at which point, the engine's answer, and the response.

    ``question`` holds the public part, the answer and the explanation; the answer never leaves the server before the
    student has answered.
    """

    run = models.ForeignKey(PracticeRun, on_delete=models.CASCADE, related_name="questions")
    steps = models.PositiveIntegerField(help_text="The session's step count when the question was asked.")
    question = models.JSONField()
    reveal_t = models.FloatField(help_text="Run the simulation to here to show the answer happen.")
    response = models.JSONField(null=True, blank=True)
    correct = models.BooleanField(null=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        verdict = {True: "right", False: "wrong", None: "open"}[self.correct]
        return f"{self.question.get('prompt', '?')} ({verdict})"


def _join_code() -> str:
    # No 0/O, 1/I/L: read aloud in a classroom and typed on phones.
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    # 8 of 31 characters: about 8.5e11 codes, so guessing a live one is hopeless (with the throttle on wrong codes).
    return "".join(secrets.choice(alphabet) for _ in range(8))


class LiveClass(models.Model):
    """An instructor presenting a lesson live: students join with ``code`` and follow ``sim_session`` read-only."""

    code = models.CharField(max_length=8, unique=True)
    lesson = models.ForeignKey(Lesson, null=True, on_delete=models.SET_NULL, related_name="classes")
    lesson_data = models.JSONField()
    instructor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="classes")
    sim_session = models.ForeignKey("web.SimSession", on_delete=models.CASCADE, related_name="+")
    step = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    revealed = models.JSONField(default=list, blank=True, help_text="Steps whose answer the instructor has revealed.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "live classes"

    def __str__(self) -> str:
        return f"{self.code}: {self.lesson_data.get('title', '?')}"

    @classmethod
    def new_code(cls) -> str:
        while True:
            code = _join_code()
            if not cls.objects.filter(code=code).exists():
                return code


class Branch(models.Model):
    """A student's private copy of a live class's simulation (branched off to explore; they may rejoin any time)."""

    live_class = models.ForeignKey(LiveClass, on_delete=models.CASCADE, related_name="branches")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    sim_session = models.ForeignKey("web.SimSession", on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"branch of {self.live_class.code}"


class ClassMember(models.Model):
    """A student who opened a live class's page (counted on the instructor's panel). Owned like an attempt."""

    live_class = models.ForeignKey(LiveClass, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    session_key = models.CharField(max_length=64, blank=True)
    joined = models.DateTimeField(auto_now_add=True)
    seen = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["joined", "id"]

    def name(self) -> str:
        return self.user.get_username() if self.user_id else "anonymous"


class ClassAnswer(models.Model):
    """A class follower's answer to the checkpoint of one step of a live class, graded on the server.

    ``first`` is the first response (what the instructor's live distribution counts), ``response`` the latest.
    """

    live_class = models.ForeignKey(LiveClass, on_delete=models.CASCADE, related_name="answers")
    step = models.PositiveIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    session_key = models.CharField(max_length=64, blank=True)
    first = models.JSONField()
    first_correct = models.BooleanField()
    response = models.JSONField()
    correct = models.BooleanField()
    tries = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created", "id"]
        # One answer per follower and step, whatever arrives at once (a student's answers sent together made two rows:
        # the instructor saw one student twice); a student by account, a visitor by browser session
        constraints = [
            models.UniqueConstraint(fields=["live_class", "step", "user"], condition=models.Q(user__isnull=False),
                                    name="one_class_answer_per_user"),
            models.UniqueConstraint(fields=["live_class", "step", "session_key"],
                                    condition=models.Q(user__isnull=True), name="one_class_answer_per_visitor"),
        ]
