"""Who may do what with lessons, attempts, classes and their simulation sessions. The one place for these rules.

- Instructors are the users in the "instructors" group (``manage.py grant_instructor USER`` or the admin), and
  superusers. They create lessons, and edit, publish, delete and export the ones they own.
- Anyone, logged in or not, may open a published lesson and work through their own attempt (their own copy of the
  lesson and of its simulation). An attempt belongs to its user, or to the browser session that started it.
- A draft is seen only by its owner, superusers, and whoever has its share link.
- Built-in lessons are read-only for everyone but superusers (``load_lessons`` would overwrite changes anyway):
  duplicate one to change it.
- A simulation session that belongs to an attempt, a practice run, a class or a branch is seen and commanded only by
  its owner: ``session_claims`` tells dmmviz/access.py (the one rule for sessions) who that is. The class's students
  follow the class through its own routes, never through the instructor's session.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

from dmmviz import access
from dmmviz.access import INSTRUCTORS, Claim, is_instructor

# What the group may do in the admin; LessonAdmin narrows it to the instructor's own lessons.
GROUP_PERMISSIONS = ("add_lesson", "change_lesson", "delete_lesson", "view_lesson", "view_attempt", "view_liveclass")


def ensure_instructors_group(**kwargs: Any) -> Group:
    """Create the instructors group with its permissions if missing (runs after every migrate)."""
    group, _ = Group.objects.get_or_create(name=INSTRUCTORS)
    perms = Permission.objects.filter(content_type__app_label="lessons", codename__in=GROUP_PERMISSIONS)
    if perms.count() != group.permissions.filter(codename__in=GROUP_PERMISSIONS).count():
        group.permissions.add(*perms)
    return group


def owns(user: Any, lesson: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and lesson.owner_id is not None and lesson.owner_id == user.pk)


def can_view(user: Any, lesson: Any, token: str | None = None) -> bool:
    """May open the lesson (as a student), export it and duplicate it (if an instructor)."""
    if lesson.published:
        return True
    if getattr(user, "is_superuser", False) or owns(user, lesson):
        return True
    return bool(token) and token == lesson.share_token


def can_edit(user: Any, lesson: Any) -> bool:
    """May change, publish, unpublish or delete the lesson."""
    if getattr(user, "is_superuser", False) and user.is_active:
        return True
    return not lesson.builtin and owns(user, lesson) and is_instructor(user)


def owner_fields(request: Any) -> dict[str, Any]:
    """The owner of something a request creates: the user, or the browser session for a visitor not logged in."""
    if request.user.is_authenticated:
        return {"user": request.user, "session_key": ""}
    if not request.session.session_key:
        request.session.save()  # a visitor without a session gets one, so their attempt stays theirs
    return {"user": None, "session_key": request.session.session_key}


def owns_record(user: Any, session_key: str | None, record: Any) -> bool:
    """True if an attempt or a branch belongs to this user (or, for an anonymous one, this browser session)."""
    if record.user_id is not None:
        return bool(getattr(user, "is_authenticated", False) and record.user_id == user.pk)
    return bool(session_key) and record.session_key == session_key


def session_claims(session_id: str) -> list[Claim]:
    """Who owns a session the lessons app made (registered with access.register_claims in apps.py): an attempt's, a
    practice run's and a branch's student; a live class's instructor."""
    from .models import Attempt, Branch, LiveClass, PracticeRun

    found = [
        Claim(kind, record["user_id"], record["session_key"])
        for kind, model in (("attempt", Attempt), ("practice", PracticeRun), ("branch", Branch))
        for record in model.objects.filter(sim_session_id=session_id).values("user_id", "session_key")
    ]
    found += [
        Claim("class", instructor_id, "")
        for instructor_id in LiveClass.objects.filter(sim_session_id=session_id).values_list("instructor_id", flat=True)
    ]
    return found


def may_command_session(user: Any, session_key: str | None, session_id: Any) -> bool:
    """May this user (or browser session) change this simulation session? access.can_change decides."""
    return access.can_change(access.Who(user=user, session_key=session_key), session_id)
