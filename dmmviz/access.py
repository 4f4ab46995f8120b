"""Who may see and change a simulation session: the one rule, called by every door (docs/security.md).

The doors are the session page (/s/<uuid>/), its downloads (/s/<uuid>/export/<fmt>/), the live sequence panel
(/s/<uuid>/sequence.json), the websocket (/ws/session/<uuid>/) and the admin. Each asks ``can_view`` or ``can_change``
with a ``Who`` made from its request or websocket scope; none decides by itself, and nothing depends on route order.

A session belongs to whoever *claims* it:

- a session started from the home page: the account or browser session that started it (SimSession.owner/owner_key);
- a lesson attempt's, a practice run's or a class branch's session: its student (user, or browser session when not
  logged in); a live class's session: its instructor only. The lessons app says so through ``register_claims``
  (dmmviz/lessons/permissions.session_claims), so this module never imports the lessons app;
- superusers (the operator) may see and change every session.

Class followers never see the class's session: they follow it through the class's own routes (/class/<code>/...).
A session nobody claims (made by a management command or a script, or stored before owners were recorded) stays
open to whoever has its address, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest

KINDS = ("own", "attempt", "practice", "branch", "class")


@dataclass(frozen=True)
class Who:
    """The visitor asking: a user (possibly anonymous) and the browser session key (None when there is none)."""

    user: Any
    session_key: str | None

    @classmethod
    def of(cls, source: Any) -> Who:
        """From a Django request or a Channels scope (after AuthMiddlewareStack)."""
        if isinstance(source, dict):  # an ASGI scope
            user, session = source.get("user"), source.get("session")
        else:
            user, session = getattr(source, "user", None), getattr(source, "session", None)
        key = getattr(session, "session_key", None) if session is not None else None
        return cls(user=user, session_key=key or None)

    @property
    def user_id(self) -> int | None:
        return self.user.pk if getattr(self.user, "is_authenticated", False) and self.user.is_active else None

    @property
    def is_superuser(self) -> bool:
        return bool(self.user_id is not None and getattr(self.user, "is_superuser", False))


@dataclass(frozen=True)
class Claim:
    """One owner of a session: an account (user_id), or, when user_id is None, a browser session (session_key)."""

    kind: str  # one of KINDS
    user_id: int | None
    session_key: str = ""

    def belongs_to(self, who: Who) -> bool:
        if self.user_id is not None:
            return who.user_id == self.user_id
        return bool(self.session_key) and who.session_key == self.session_key


ClaimSource = Callable[[str], Iterable[Claim]]
_sources: list[ClaimSource] = []


def register_claims(source: ClaimSource) -> None:
    """Let an app say who owns the sessions it makes (called from its AppConfig.ready)."""
    if source not in _sources:
        _sources.append(source)


def _own_claims(session_id: str) -> list[Claim]:
    from dmmviz.web.models import SimSession

    row = SimSession.objects.filter(pk=session_id).values("owner_id", "owner_key").first()
    if row is None or (row["owner_id"] is None and not row["owner_key"]):
        return []
    return [Claim("own", row["owner_id"], row["owner_key"] or "")]


def claims(session_id: Any) -> list[Claim]:
    """Every claim on the session (empty: nobody owns it)."""
    session_id = str(session_id)
    found = _own_claims(session_id)
    for source in _sources:
        found.extend(source(session_id))
    return found


def can_view(who: Who, session_id: Any) -> bool:
    """May see the session: its page, downloads, sequence model, and its live updates."""
    if who.is_superuser:
        return True
    found = claims(session_id)
    return not found or any(claim.belongs_to(who) for claim in found)


def can_change(who: Who, session_id: Any) -> bool:
    """May command the session (websocket) or edit it (admin). The same people as can_view: a session has no
    read-only viewers; class followers watch the class, not its session."""
    return can_view(who, session_id)


def session_or_404(request: HttpRequest, session_id: Any, *, change: bool = False) -> Any:
    """The SimSession if this request may see it (or change it); otherwise 404, so a stranger learns nothing."""
    from dmmviz.web.models import SimSession

    session = SimSession.objects.filter(pk=session_id).first()
    allowed = can_change if change else can_view
    if session is None or not allowed(Who.of(request), session.pk):
        raise Http404("no such session")
    return session


def owner_fields(request: HttpRequest) -> dict[str, Any]:
    """What a new session or upload records as its owner: the account, or the browser session when not logged in."""
    if request.user.is_authenticated:
        return {"owner": request.user, "owner_key": ""}
    if not request.session.session_key:
        request.session.save()  # a visitor without a browser session gets one, so what they make stays theirs
    return {"owner": None, "owner_key": request.session.session_key}


# -- instructors --------------------------------------------------------------------------------------------------

INSTRUCTORS = "instructors"  # the group; `manage.py grant_instructor USER` or the admin adds people to it


def is_instructor(user: Any) -> bool:
    """Instructors author lessons, teach classes and publish scenarios: the "instructors" group, and superusers."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_superuser or user.groups.filter(name=INSTRUCTORS).exists())


# -- scenarios ----------------------------------------------------------------------------------------------------
# Built-in and published scenarios are listed for everyone; an upload only for its uploader until an instructor
# publishes it. The uploader (and superusers) may rename and delete it; nobody changes a built-in one here. A scenario
# nobody claims (made by a script, or stored before uploaders were recorded) is listed for everyone, as sessions
# nobody claims stay open.


def _owns_upload(who: Who, scenario: Any) -> bool:
    return Claim("own", scenario.owner_id, scenario.owner_key or "").belongs_to(who)


def visible_scenarios(who: Who) -> Any:
    from django.db.models import Q

    from dmmviz.web.models import Scenario

    if who.is_superuser:
        return Scenario.objects.all()
    mine = Q(owner_id=who.user_id) if who.user_id is not None else Q(owner=None, owner_key=who.session_key or "-")
    unclaimed = Q(owner=None, owner_key="")
    return Scenario.objects.filter(Q(builtin=True) | Q(public=True) | unclaimed | mine)


def _unclaimed(scenario: Any) -> bool:
    return scenario.owner_id is None and not scenario.owner_key


def can_view_scenario(who: Who, scenario: Any) -> bool:
    return (scenario.builtin or scenario.public or _unclaimed(scenario) or who.is_superuser
            or _owns_upload(who, scenario))


def can_manage_scenario(who: Who, scenario: Any) -> bool:
    """May rename or delete it: its uploader, or a superuser; built-in scenarios only change on disk."""
    return not scenario.builtin and (who.is_superuser or _owns_upload(who, scenario))


def can_publish_scenario(who: Who, scenario: Any) -> bool:
    """May list an upload for everyone (or take it back): an instructor who can see it."""
    return not scenario.builtin and is_instructor(who.user) and can_view_scenario(who, scenario)


def scenario_or_404(request: HttpRequest, slug: str) -> Any:
    """The scenario if this request may see it; otherwise 404 (a private upload is not admitted to exist)."""
    from dmmviz.web.models import Scenario

    scenario = Scenario.objects.filter(slug=slug).first()
    if scenario is None or not can_view_scenario(Who.of(request), scenario):
        raise Http404("no such scenario")
    return scenario
