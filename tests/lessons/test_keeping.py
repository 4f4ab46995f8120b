"""Keeping lessons: export and import as files (clear errors for malformed ones), duplicate, publish, the library."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from dmmviz.lessons import lessonfile
from dmmviz.lessons.models import Lesson

from .conftest import builtin_lesson, client_for

pytestmark = pytest.mark.django_db


def upload(client, content: bytes | str, name: str = "lesson.json"):
    data = content.encode() if isinstance(content, str) else content
    f = io.BytesIO(data)
    f.name = name
    return client.post("/lessons/import/", {"file": f})


def test_export_then_import_gives_the_same_lesson(instructor, other_instructor, lesson_of):
    lesson = lesson_of(instructor, name="fig6-multi-interface")
    exported = client_for(instructor).get(f"/lessons/{lesson.slug}/lesson.json")
    assert exported["Content-Disposition"].endswith('.lesson.json"')
    doc = json.loads(exported.content)
    assert doc["format"] == "dmmviz-lesson/1" and len(doc["steps"]) == 5
    response = upload(client_for(other_instructor), exported.content)
    assert response.status_code == 302
    copy = Lesson.objects.get(owner=other_instructor)
    assert copy.document() == doc and copy.status == "draft"


def test_scenario_export_is_a_valid_scenario_file(instructor, lesson_of):
    lesson = lesson_of(instructor)
    scenario = json.loads(client_for(None).get(f"/lessons/{lesson.slug}/scenario.json").content)
    assert scenario["format"] == "dmmviz-scenario/1"
    response = upload(client_for(instructor), json.dumps(scenario), "fig5.json")
    assert response.status_code == 302
    imported = Lesson.objects.exclude(pk=lesson.pk).get()
    assert imported.scenario == scenario and len(imported.steps) == 1


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"format": "dmmviz-lesson/1", "title": "x",', "not valid JSON"),
        ("[1, 2, 3]", "a lesson file is a JSON object"),
        ('{"format": "dmmviz-lesson/9", "title": "x"}', "dmmviz-lesson/9 is not supported"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_malformed_file_is_refused_with_a_clear_error(instructor, content, expected):
    response = upload(client_for(instructor), content)
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert not Lesson.objects.exists()


def test_import_errors_name_the_json_path(instructor):
    doc = builtin_lesson("fig5-handover")
    doc["scenario"]["script"][2]["mar"] = "MAR9"
    doc["steps"][4]["checkpoint"]["flow"] = "flow9"
    response = upload(client_for(instructor), json.dumps(doc))
    text = response.content.decode()
    assert response.status_code == 400
    assert "scenario.script[2].mar" in text and "MAR9" in text


def test_import_reports_every_step_problem(instructor):
    doc = builtin_lesson("fig5-handover")
    doc["steps"][4]["checkpoint"]["flow"] = "flow9"
    doc["steps"][1]["actions"] = [{"action": "stop_flow", "mn": "MN1", "flow": "flow5"}]
    text = upload(client_for(instructor), json.dumps(doc)).content.decode()
    assert "steps[4].checkpoint.flow" in text and "flow9" in text
    assert "steps[1].actions[0].flow" in text


def test_oversize_file_is_refused(instructor):
    doc = builtin_lesson("fig5-handover")
    doc["summary"] = "x" * (600 * 1024)
    response = upload(client_for(instructor), json.dumps(doc))
    assert response.status_code == 400 and "at most 512 KiB" in response.content.decode()


def test_api_save_reports_field_problems_and_keeps_the_lesson(instructor, lesson_of):
    lesson = lesson_of(instructor)
    doc = lesson.document()
    doc["scenario"]["network"]["mars"][0]["prefix_pool"] = "2001:db8::/20"
    doc["steps"][0]["until"] = "soon"
    response = client_for(instructor).put(
        f"/lessons/api/{lesson.slug}/", json.dumps(doc), content_type="application/json"
    )
    assert response.status_code == 400
    found = {p["path"] for p in response.json()["problems"]}
    assert "scenario.network.mars[0].prefix_pool" in found and "steps[0].until" in found
    assert Lesson.objects.get(pk=lesson.pk).scenario["network"]["mars"][0]["prefix_pool"] == "2001:db8:1::/48"


def test_api_save_whose_run_runs_out_of_budget_keeps_the_lesson_as_it_was(instructor, lesson_of, monkeypatch):
    """The reply's moments run the lesson once more: when that run is stopped (the request's CPU budget, 422 "nothing
    was changed"), nothing was changed indeed; it was saved before the run."""
    from dmmviz.lessons import api
    from simulator.limits import TooMuchWork

    lesson = lesson_of(instructor)
    doc = lesson.document()
    doc["title"] = "A new title that must not be stored"

    def stopped(*_args, **_kwargs):
        raise TooMuchWork("stopped", "stopped by its caller after 1,000 scheduled items", 1000)

    monkeypatch.setattr(api, "moments_json", stopped)
    response = client_for(instructor).put(f"/lessons/api/{lesson.slug}/", json.dumps(doc),
                                          content_type="application/json")
    assert response.status_code == 422 and "Nothing was changed" in response.content.decode()
    assert Lesson.objects.get(pk=lesson.pk).title == lesson.title


def test_api_get_shows_the_engine_answers_to_the_author(instructor, lesson_of):
    lesson = lesson_of(instructor)
    body = client_for(instructor).get(f"/lessons/api/{lesson.slug}/").json()
    assert body["can_edit"] and body["moments"][3]["question"]["answer"] == "MAR1"


def test_publish_and_unpublish(instructor, student, lesson_of):
    lesson = lesson_of(instructor, status="draft")
    owner = client_for(instructor)
    owner.post(f"/lessons/{lesson.slug}/publish/", {"publish": "1"})
    assert Lesson.objects.get(pk=lesson.pk).published
    assert lesson.title in client_for(student).get("/lessons/").content.decode()
    owner.post(f"/lessons/{lesson.slug}/publish/", {"publish": "0"})
    assert not Lesson.objects.get(pk=lesson.pk).published


def test_a_lesson_without_steps_cannot_be_published(instructor, lesson_of):
    lesson = lesson_of(instructor, status="draft", steps=[])
    client_for(instructor).post(f"/lessons/{lesson.slug}/publish/", {"publish": "1"})
    assert not Lesson.objects.get(pk=lesson.pk).published


def test_owner_deletes_a_lesson(instructor, lesson_of):
    lesson = lesson_of(instructor)
    assert client_for(instructor).post(f"/lessons/{lesson.slug}/delete/").status_code == 302
    assert not Lesson.objects.filter(pk=lesson.pk).exists()


def test_load_lessons_is_idempotent_and_publishes_the_library(db):
    out = io.StringIO()
    call_command("load_lessons", stdout=out)
    call_command("load_lessons", stdout=out)
    assert "11 loaded, 0 skipped" in out.getvalue()  # 8, and issue 13's three fault lessons
    assert Lesson.objects.filter(builtin=True, status="published", owner=None).count() == 11
    page = client_for(None).get("/lessons/").content.decode()
    assert "Figure 5: a handover with distributed anchoring" in page
    assert "A lost PBA" in page and "A registration race" in page and "The session DB down during a handover" in page


def test_admin_refuses_an_invalid_lesson(instructor, lesson_of):
    lesson = lesson_of(instructor)
    client = client_for(instructor)
    form = client.get(f"/admin/lessons/lesson/{lesson.pk}/change/")
    assert form.status_code == 200
    doc = lesson.document()
    response = client.post(
        f"/admin/lessons/lesson/{lesson.pk}/change/",
        {
            "slug": lesson.slug,
            "title": lesson.title,
            "summary": "",
            "status": "published",
            "scenario": json.dumps(doc["scenario"]).replace("MAR2", "MAR 2"),
            "steps": json.dumps(doc["steps"]),
        },
    )
    assert response.status_code == 200 and "scenario." in response.content.decode()
    assert Lesson.objects.get(pk=lesson.pk).scenario == doc["scenario"]


def test_document_round_trips_through_normalise(instructor, lesson_of):
    lesson = lesson_of(instructor, name="req2-idle-prefix")
    assert lessonfile.normalise(lesson.document()) == lesson.document()


def test_simulate_where_a_step_begins_for_recording_into_it(instructor, lesson_of):
    """The editor records into a step: the engine runs the lesson to where that step begins and checks the action."""
    lesson = lesson_of(instructor, name="return-to-anchor")
    doc = lesson.document()
    client = client_for(instructor)
    body = {
        "scenario": doc["scenario"],
        "steps": doc["steps"],
        "step": 2,
        "command": {"action": "move", "mn": "MN1", "mar": "MAR2"},
    }
    reply = client.post("/lessons/api/simulate/", json.dumps(body), content_type="application/json")
    assert reply.status_code == 200, reply.content
    assert reply.json()["now"] == 7.0  # step 2 begins where step 1 paused, after step 1's own move back to MAR1
    refused = client.post(
        "/lessons/api/simulate/",
        json.dumps({**body, "command": {"action": "move", "mn": "MN1", "mar": "MAR1"}}),
        content_type="application/json",
    )
    assert refused.status_code == 400 and "already on MAR1" in refused.json()["problems"][0]["message"]
    bad = client.post("/lessons/api/simulate/", json.dumps({**body, "step": 9}), content_type="application/json")
    assert bad.status_code == 400 and bad.json()["problems"][0]["path"] == "step"
    not_one = client.post("/lessons/api/simulate/", json.dumps({**body, "command": "x"}),
                          content_type="application/json")  # the path was "command.command"
    assert not_one.status_code == 400 and not_one.json()["problems"][0]["path"] == "command"
    assert (
        client_for(None).post("/lessons/api/simulate/", json.dumps(body), content_type="application/json").status_code
        == 403
    )


@pytest.mark.parametrize(("change", "path", "message"), [
    ({"until": 1e308}, "steps[0].until", "at most 86400 seconds"),  # was a 500 (OverflowError in the engine's clock)
    ({"until": 1e6}, "steps[0].until", "at most 86400 seconds"),  # was a second of engine work, then 422
    ({"actions": ["ab"]}, "steps[0].actions[0]", "an action is an object"),  # was "scenario.mode: dictionary update.."
    ({"actions": "xx"}, "steps[0].actions", "a list of actions"),
    ({"actions": {"a": 1}}, "steps[0].actions", "a list of actions"),
])
def test_simulating_a_step_refuses_earlier_steps_a_lesson_file_could_not_have(instructor, lesson_of, change, path,
                                                                              message):
    """The editor's steps arrive as they are being edited: a step before the one recorded into that a lesson file
    would refuse gets the same kind of problem, with its path, and nothing runs."""
    doc = lesson_of(instructor, name="return-to-anchor").document()
    steps = [{**doc["steps"][0], **change}, *doc["steps"][1:]]
    body = {"scenario": doc["scenario"], "steps": steps, "step": 2}
    reply = client_for(instructor).post("/lessons/api/simulate/", json.dumps(body), content_type="application/json")
    assert reply.status_code == 400, reply.content
    problem = reply.json()["problems"][0]
    assert problem["path"] == path and message in problem["message"]


def test_a_new_lesson_takes_its_slug_from_its_first_real_title(instructor):
    """/lessons/new/ makes "new-lesson"; the first save under a real title moves it to that title's (unique) slug, and
    later retitles keep the address people may already have."""
    owner = client_for(instructor)
    first = owner.post("/lessons/new/")
    assert first.url == "/lessons/new-lesson/edit/"
    second = owner.post("/lessons/new/")
    assert second.url == "/lessons/new-lesson-2/edit/"
    Lesson.objects.create(owner=instructor, slug="handover-basics", title="Handover basics", scenario={})

    def save(slug: str, title: str) -> str:
        doc = owner.get(f"/lessons/api/{slug}/").json()["lesson"]
        response = owner.put(
            f"/lessons/api/{slug}/", json.dumps({**doc, "title": title}), content_type="application/json"
        )
        assert response.status_code == 200, response.content
        return response.json()["slug"]

    assert save("new-lesson-2", "New lesson") == "new-lesson-2"  # still the placeholder title: nothing to follow
    assert save("new-lesson-2", "Handover basics") == "handover-basics-2"  # unique: the first lesson has that one
    assert owner.get("/lessons/handover-basics-2/edit/").status_code == 200
    assert owner.get("/lessons/new-lesson-2/edit/").status_code == 404
    assert save("handover-basics-2", "Handover, the basics") == "handover-basics-2"  # a real slug stays
