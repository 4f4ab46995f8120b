"""The helpers that several doors share (issue 9 item 9): a session copy, a free slug, the built-in loaders' loop and
the scenario buttons' one door check. Each is what a user meets through more than one page or command."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management.base import BaseCommand

from dmmviz.web.management.builtin import load_folder
from dmmviz.web.models import Scenario, SimSession

pytestmark = pytest.mark.django_db


def _scenario(slug: str = "fig5") -> Scenario:
    data = json.loads(json.dumps(Scenario.objects.get(slug="fig5-handover").data))
    return Scenario.objects.create(slug=slug, title=slug, data=data)


def test_a_copy_is_a_new_session_at_the_same_point_and_leaves_the_source_alone(builtins):
    source = SimSession.objects.create(scenario_data={"title": "x"}, seed=7, mode="client-dmm",
                                       journal=[[0, 0, {"action": "pause"}]], steps=12, now=3.5)
    copy = source.copy(owner_key="someone")
    assert copy.id != source.id
    fields = SimSession.REPLAY_FIELDS
    assert [getattr(copy, f) for f in fields] == [getattr(source, f) for f in fields]
    assert copy.owner_key == "someone" and copy.scenario is None
    source.refresh_from_db()
    assert source.owner_key == "" and source.steps == 12


def test_slugs_stay_free_and_fall_back_when_the_title_has_no_letters(builtins):
    _scenario("fig5")
    assert Scenario.unique_slug("Fig5") == "fig5-2"
    assert Scenario.unique_slug("¿?") == "scenario"
    from dmmviz.lessons.models import Lesson

    assert Lesson.unique_slug("¿?") == "lesson"


def test_a_broken_builtin_file_is_reported_and_skipped_the_others_load(tmp_path):
    (tmp_path / "a.json").write_text('{"ok": 1}', encoding="utf-8")
    (tmp_path / "b.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "c.json").write_text('{"ok": 0}', encoding="utf-8")
    command = BaseCommand(stdout=io.StringIO(), stderr=io.StringIO())
    saved = {}
    load_folder(command, tmp_path, "things", json.loads, lambda d: [] if d["ok"] else ["ok: must be 1"],
                saved.__setitem__)
    assert saved == {"a": {"ok": 1}}
    err = command.stderr._out.getvalue()
    assert "b.json: skipped: " in err and "c.json: skipped: ok: must be 1" in err
    assert "built-in things: 1 loaded, 2 skipped" in command.stdout._out.getvalue()


def test_scenario_buttons_share_one_door_404_then_403_then_the_action(client, builtins):
    upload = _scenario("shared")  # unclaimed: everyone sees it, nobody but a superuser may change it
    for action in ("rename", "delete", "publish"):
        assert client.get(f"/scenarios/shared/{action}/").status_code == 405
        assert client.post(f"/scenarios/nope/{action}/", {"title": "t"}).status_code == 404
    refused = client.post("/scenarios/shared/delete/")
    assert refused.status_code == 403
    assert refused.content.decode() == "Only the person who uploaded this scenario may delete it."
    assert refused["Content-Type"] == "text/plain; charset=utf-8"
    refused = client.post("/scenarios/shared/publish/")
    assert refused.status_code == 403
    assert refused.content.decode() == "Only instructors may publish a scenario for everyone."
    upload.owner_key = "somebody-else"
    upload.save()
    assert client.post("/scenarios/shared/rename/", {"title": "t"}).status_code == 404  # private: not admitted to exist
    client.get("/")  # this browser gets a session; make it the uploader's
    upload.owner_key = client.session.session_key
    upload.save()
    done = client.post("/scenarios/shared/rename/", {"title": "Renamed"})
    assert done.status_code == 302 and done["Location"] == "/"
    upload.refresh_from_db()
    assert upload.title == "Renamed"
    assert client.post("/scenarios/shared/delete/").status_code == 302
    assert not Scenario.objects.filter(slug="shared").exists()
