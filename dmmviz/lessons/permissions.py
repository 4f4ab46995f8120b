"""Who may do what with lessons, attempts, classes and their simulation sessions. The one place for these rules.

- Instructors are the users in the "instructors" group (``manage.py grant_instructor USER`` or the admin), and
  superusers. They create lessons, and edit, publish, delete and export the ones they own.
- Anyone, logged in or not, may open a published lesson and work through their own attempt (their own copy of the
  lesson and of its simulation). An attempt belongs to its user, or to the browser session that started it.
- A draft is seen only by its owner, superusers, and whoever has its share link.
- Built-in lessons are read-only for everyone but superusers (``load_lessons`` would overwrite changes anyway):
  duplicate one to change it.
- A simulation session that belongs to an attempt, a class or a branch takes commands only from its owner
  (``may_command_session``); the class's students follow the instructor's session read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, Group, Permission

INSTRUCTORS = "instructors"
# What the group may do in the admin; LessonAdmin narrows it to the instructor's own lessons.
GROUP_PERMISSIONS = ("add_lesson", "change_lesson", "delete_lesson", "view_lesson", "view_attempt", "view_liveclass")


def ensure_instructors_group(**kwargs: Any) -> Group:
    """Create the instructors group with its permissions if missing (runs after every migrate)."""
    group, _ = Group.objects.get_or_create(name=INSTRUCTORS)
    perms = Permission.objects.filter(content_type__app_label="lessons", codename__in=GROUP_PERMISSIONS)
    if perms.count() != group.permissions.filter(codename__in=GROUP_PERMISSIONS).count():
        group.permissions.add(*perms)
    return group


def is_instructor(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=INSTRUCTORS).exists()


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


def may_command_session(user: Any, session_key: str | None, session_id: Any) -> bool:
    """May this user (or browser session) change this simulation session over the websocket?

    Sessions made by the lessons app belong to someone: an attempt's, a practice run's and a branch's to the student,
    a class's to its instructor. Other sessions (opened from the home page) are not ours to guard: True.
    """
    from .models import Attempt, Branch, LiveClass, PracticeRun

    user = user or AnonymousUser()
    owners = [
        *Attempt.objects.filter(sim_session_id=session_id),
        *Branch.objects.filter(sim_session_id=session_id),
        *PracticeRun.objects.filter(sim_session_id=session_id),
    ]
    classes = list(LiveClass.objects.filter(sim_session_id=session_id))
    if not owners and not classes:
        return True
    if any(owns_record(user, session_key, record) for record in owners):
        return True
    return any(getattr(user, "is_authenticated", False) and c.instructor_id == user.pk for c in classes)
