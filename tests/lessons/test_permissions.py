"""Nobody changes a lesson that is not theirs: not through a page, a form, the JSON API or the admin.

Each refused route is checked twice: the response says no, and the lesson in the database is unchanged.
"""

from __future__ import annotations

import copy
import json

import pytest

from dmmviz.lessons.models import Attempt, Lesson
from dmmviz.lessons.permissions import can_edit, is_instructor, may_command_session

from .conftest import client_for

pytestmark = pytest.mark.django_db


def snapshot(lesson: Lesson) -> tuple:
    lesson = Lesson.objects.get(pk=lesson.pk)
    return (
        lesson.title,
        lesson.status,
        json.dumps(lesson.scenario, sort_keys=True),
        json.dumps(lesson.steps, sort_keys=True),
        lesson.owner_id,
    )


def changed_document(lesson: Lesson) -> str:
    doc = copy.deepcopy(lesson.document())
    doc["title"] = "Hijacked"
    doc["steps"] = doc["steps"][:1]
    return json.dumps(doc)


def attempts_to_change(client, lesson: Lesson) -> dict[str, int]:
    """Every route that changes a lesson, tried; returns the status code of each."""
    slug = lesson.slug
    return {
        "edit page": client.get(f"/lessons/{slug}/edit/").status_code,
        "api put": client.put(
            f"/lessons/api/{slug}/", changed_document(lesson), content_type="application/json"
        ).status_code,
        "publish": client.post(f"/lessons/{slug}/publish/", {"publish": "0"}).status_code,
        "delete": client.post(f"/lessons/{slug}/delete/").status_code,
        "admin change": client.post(
            f"/admin/lessons/lesson/{lesson.pk}/change/", {"title": "Hijacked", "slug": slug}
        ).status_code,
        "admin delete": client.post(f"/admin/lessons/lesson/{lesson.pk}/delete/", {"post": "yes"}).status_code,
    }


def test_student_cannot_change_an_instructors_lesson_by_any_route(instructor, student, lesson_of):
    lesson = lesson_of(instructor)
    before = snapshot(lesson)
    codes = attempts_to_change(client_for(student), lesson)
    assert codes["edit page"] == 403 and codes["api put"] == 403 and codes["publish"] == 403 and codes["delete"] == 403
    assert codes["admin change"] == 302 and codes["admin delete"] == 302  # not staff: sent to the admin login
    assert snapshot(lesson) == before


def test_anonymous_visitor_cannot_change_a_lesson(instructor, lesson_of):
    lesson = lesson_of(instructor)
    before = snapshot(lesson)
    codes = attempts_to_change(client_for(None), lesson)
    assert codes["api put"] == 403
    assert all(code in (302, 403) for code in codes.values()), codes
    assert snapshot(lesson) == before


def test_another_instructor_cannot_change_it_either(instructor, other_instructor, lesson_of):
    lesson = lesson_of(instructor)
    before = snapshot(lesson)
    codes = attempts_to_change(client_for(other_instructor), lesson)
    assert codes["edit page"] == 403 and codes["api put"] == 403 and codes["publish"] == 403 and codes["delete"] == 403
    # The admin does not even list someone else's lesson for an instructor.
    assert codes["admin change"] in (302, 403, 404)
    assert codes["admin delete"] in (302, 403, 404)
    assert snapshot(lesson) == before
    changelist = client_for(other_instructor).get("/admin/lessons/lesson/")
    assert changelist.status_code == 200 and lesson.title not in changelist.content.decode()


def test_owner_can_change_it_through_the_api(instructor, lesson_of):
    lesson = lesson_of(instructor)
    response = client_for(instructor).put(
        f"/lessons/api/{lesson.slug}/", changed_document(lesson), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert Lesson.objects.get(pk=lesson.pk).title == "Hijacked"


def test_builtin_lesson_is_read_only_even_for_instructors(instructor, db):
    from django.core.management import call_command

    call_command("load_lessons", stdout=open("/dev/null", "w"))
    lesson = Lesson.objects.get(slug="fig5-handover")
    before = snapshot(lesson)
    codes = attempts_to_change(client_for(instructor), lesson)
    assert codes["edit page"] == 403 and codes["api put"] == 403 and codes["delete"] == 403
    assert snapshot(lesson) == before
    copy_response = client_for(instructor).post(f"/lessons/{lesson.slug}/duplicate/")
    assert copy_response.status_code == 302
    mine = Lesson.objects.get(owner=instructor)
    assert can_edit(instructor, mine) and mine.copied_from == lesson and mine.status == "draft"


def test_student_cannot_create_import_or_duplicate(student, instructor, lesson_of):
    lesson = lesson_of(instructor)
    client = client_for(student)
    count = Lesson.objects.count()
    assert client.post("/lessons/new/").status_code == 403
    assert client.post(f"/lessons/{lesson.slug}/duplicate/").status_code == 403
    assert client.post("/lessons/api/validate/", "{}", content_type="application/json").status_code == 403
    assert Lesson.objects.count() == count


def test_draft_is_hidden_except_to_its_owner_and_the_share_link(instructor, student, lesson_of):
    draft = lesson_of(instructor, status="draft")
    stranger = client_for(student)
    for url in (f"/lessons/{draft.slug}/", f"/lessons/{draft.slug}/lesson.json", f"/lessons/api/{draft.slug}/"):
        assert stranger.get(url).status_code == 404, url
    assert stranger.post(f"/lessons/{draft.slug}/start/").status_code == 404
    assert draft.title not in stranger.get("/lessons/").content.decode()
    assert client_for(instructor).get(f"/lessons/{draft.slug}/").status_code == 200
    # The share link opens it (and only lets the student view and start it, not change it).
    assert stranger.get(f"/lessons/shared/{draft.share_token}/").status_code == 302
    assert stranger.get(f"/lessons/{draft.slug}/").status_code == 200
    assert stranger.post(f"/lessons/{draft.slug}/start/").status_code == 302
    assert (
        stranger.put(
            f"/lessons/api/{draft.slug}/", changed_document(draft), content_type="application/json"
        ).status_code
        == 403
    )


def test_an_attempt_is_only_its_owners(instructor, student, make_user, lesson_of):
    lesson = lesson_of(instructor)
    mine = client_for(student)
    mine.post(f"/lessons/{lesson.slug}/start/")
    attempt = Attempt.objects.get(user=student)
    intruder = client_for(make_user("ivan"))
    anonymous = client_for(None)
    for client in (intruder, anonymous):
        assert client.get(f"/lessons/attempt/{attempt.id}/").status_code == 404
        assert client.post(f"/lessons/attempt/{attempt.id}/answer/", {"answer": "1"}).status_code == 404
        assert client.post(f"/lessons/attempt/{attempt.id}/go/", {"step": "1"}).status_code == 404
    attempt.refresh_from_db()
    assert attempt.answers == {} and attempt.step == 0
    assert mine.get(f"/lessons/attempt/{attempt.id}/").status_code == 200


def test_anonymous_attempt_belongs_to_the_browser_session(instructor, lesson_of):
    lesson = lesson_of(instructor)
    visitor = client_for(None)
    response = visitor.post(f"/lessons/{lesson.slug}/start/")
    assert response.status_code == 302
    attempt = Attempt.objects.get()
    assert attempt.user is None and attempt.session_key
    assert visitor.get(response["Location"]).status_code == 200
    assert client_for(None).get(response["Location"]).status_code == 404


def test_only_the_attempts_owner_may_command_its_simulation(instructor, student, make_user, lesson_of):
    lesson = lesson_of(instructor)
    client_for(student).post(f"/lessons/{lesson.slug}/start/")
    session_id = Attempt.objects.get(user=student).sim_session_id
    assert may_command_session(student, None, session_id)
    assert not may_command_session(make_user("ivan"), None, session_id)
    assert not may_command_session(instructor, None, session_id)
    assert not may_command_session(None, "some-other-browser", session_id)


def test_grant_instructor_gives_and_takes_the_role(student):
    from django.core.management import call_command

    assert not is_instructor(student)
    call_command("grant_instructor", "stella", stdout=open("/dev/null", "w"))
    student.refresh_from_db()
    assert is_instructor(student) and student.is_staff
    assert client_for(student).post("/lessons/new/").status_code == 302
    call_command("grant_instructor", "stella", "--revoke", stdout=open("/dev/null", "w"))
    student.refresh_from_db()
    assert not is_instructor(student) and not student.is_staff


def test_grant_instructor_refuses_an_unknown_user(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("grant_instructor", "nobody")


def test_instructor_group_in_the_admin_grants_the_role(student, db):
    """An administrator can make an instructor without the command: the group exists after migrate."""
    from django.contrib.auth.models import Group

    student.groups.add(Group.objects.get(name="instructors"))
    student = type(student).objects.get(pk=student.pk)
    assert is_instructor(student)
