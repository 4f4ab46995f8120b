"""Scenarios (authored content) and simulation sessions (a scenario plus the user's commands).

A session is stored as (scenario data, seed, mode, journal, steps, now) and nothing else: the engine is deterministic,
so `Simulation.replay(...)` rebuilds the exact simulation on any process, after a reload, a reconnect or a step back.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import slugify


def scenario_problems(data: Any) -> list[str]:
    """Run the engine's validator on parsed scenario JSON; return one "path: message" line per problem (empty if
    valid)."""
    from simulator import ScenarioError, load_scenario  # the engine; imported late so Django starts without it

    try:
        load_scenario(data)
    except ScenarioError as exc:
        problems = list(getattr(exc, "problems", None) or [])
        if not problems:
            return [str(exc)]
        return [f"{p.path}: {p.message}" if getattr(p, "path", "") else str(p.message) for p in problems]
    return []


class Scenario(models.Model):
    """A scenario document ("dmmviz-scenario/1"), built in or uploaded."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    slug = models.SlugField(max_length=80, unique=True)
    data = models.JSONField(help_text='The whole "dmmviz-scenario/1" document.')
    builtin = models.BooleanField(default=False, help_text="Shipped with dmmviz (dmmviz/builtin_scenarios/).")
    # An upload is private to its uploader (an account, or a browser session when not logged in) until an instructor
    # publishes it; anonymous uploads expire (manage.py expire_uploads). Who may do what: dmmviz/access.py.
    public = models.BooleanField(default=False, help_text="Listed for everyone (built-in scenarios always are).")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="scenarios",
    )
    owner_key = models.CharField(max_length=64, blank=True, db_index=True, help_text="The uploader's browser session.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-builtin", "title", "id"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        """Refuse a document the engine would refuse, naming each problem's JSON path."""
        if not isinstance(self.data, dict):
            raise ValidationError({"data": "a scenario is a JSON object"})
        problems = scenario_problems(self.data)
        if problems:
            raise ValidationError({"data": problems})

    @classmethod
    def unique_slug(cls, text: str) -> str:
        return unique_slug(cls, text, fallback="scenario")


def unique_slug(model: Any, text: str, fallback: str) -> str:
    """A slug from `text` that no `model` row has yet ("fig5", "fig5-2", ...); `fallback` when `text` has no letters.
    Scenarios and lessons both name their addresses this way."""
    base = slugify(text)[:70] or fallback
    slug, n = base, 1
    while model.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


class SimSession(models.Model):
    """One simulation a student runs: its own URL, shared by every tab that opens it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    scenario = models.ForeignKey(Scenario, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions")
    # A copy, so that editing or deleting the scenario never changes a session that is being replayed.
    scenario_data = models.JSONField()
    seed = models.IntegerField(default=0)
    mode = models.CharField(max_length=40, blank=True, help_text="Overrides the scenario's mode when set.")
    # The user's commands as [[steps_before, now_us, command], ...]: `Simulation.journal` in JSON form.
    journal = models.JSONField(default=list, blank=True)
    steps = models.PositiveIntegerField(default=0)
    # The simulated clock, which run_until may move past the last step (Simulation.replay's `now`).
    now = models.FloatField(default=0.0)
    # Bumped on every save by the consumer: two processes acting on one session at once cannot lose an update.
    revision = models.PositiveIntegerField(default=0)
    # Who started it from the home page (an account, or a browser session): dmmviz/access.py. Sessions made by the
    # lessons app leave these empty; their attempt, practice run, branch or class says whose they are.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
    )  # CASCADE, not SET_NULL: a session whose owner is gone must not become unclaimed (open to anyone)
    owner_key = models.CharField(max_length=64, blank=True, default="", help_text="The owner's browser session.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    # What Simulation.replay rebuilds the simulation from: a copy carries exactly these.
    REPLAY_FIELDS = ("scenario_data", "seed", "mode", "journal", "steps", "now")

    class Meta:
        ordering = ["-updated"]

    def __str__(self) -> str:
        title = self.scenario_data.get("title", "?") if isinstance(self.scenario_data, dict) else "?"
        return f"{title} ({self.id})"

    def copy(self, **fields: Any) -> SimSession:
        """A new session (its own id) at the same point of the same simulation: a student's branch or practice from
        another session. `fields` add what the copy keeps besides (e.g. scenario) and whose it is."""
        return SimSession.objects.create(**{name: getattr(self, name) for name in self.REPLAY_FIELDS}, **fields)

    def clean(self) -> None:
        problems = scenario_problems(self.scenario_data)
        if problems:
            raise ValidationError({"scenario_data": problems})
