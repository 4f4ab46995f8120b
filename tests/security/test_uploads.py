"""Uploads are private to their uploader until an instructor publishes one; the uploader renames and deletes it;
anonymous uploads expire."""

from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from dmmviz.web.models import Scenario

from .conftest import scenario_file


def cards(client: Client) -> list[str]:
    return [s.title for s in client.get("/").context["scenarios"]]


def test_an_upload_is_listed_only_for_its_uploader(school):
    upload = school.upload
    assert upload.title in cards(school.client("sam"))
    for other in (Client(), school.client("stu"), school.client("ivan")):
        assert upload.title not in cards(other)
        assert other.post(f"/scenarios/{upload.slug}/start/").status_code == 404
        assert other.post(f"/practice/scenario/{upload.slug}/").status_code == 404
    assert "fig5-handover" in [s.slug for s in Client().get("/").context["scenarios"]]  # built-in: for everyone


def test_an_anonymous_upload_belongs_to_its_browser(school):
    mine = Client()
    assert mine.post("/", {"file": scenario_file("Visitor's")}).status_code == 302
    upload = Scenario.objects.get(title="Visitor's")
    assert upload.owner is None and upload.owner_key
    assert "Visitor's" in cards(mine) and "Visitor's" not in cards(Client())
    page = mine.get("/").content.decode()
    assert f"/scenarios/{upload.slug}/delete/" in page and "data-confirm" in page
    assert f"/scenarios/{upload.slug}/delete/" not in Client().get("/").content.decode()


def test_the_uploader_renames_and_deletes_it(school):
    upload, sam = school.upload, school.client("sam")
    assert school.client("stu").post(f"/scenarios/{upload.slug}/rename/", {"title": "Mine now"}).status_code == 404
    assert sam.post(f"/scenarios/{upload.slug}/rename/", {"title": ""}).status_code == 400
    assert sam.post(f"/scenarios/{upload.slug}/rename/", {"title": "Sam's best"}).status_code == 302
    assert "Sam's best" in cards(sam)
    assert school.client("stu").post(f"/scenarios/{upload.slug}/delete/").status_code == 404
    session = school.own_session  # a session started from a built-in scenario, unaffected
    assert sam.post(f"/scenarios/{upload.slug}/delete/").status_code == 302
    assert not Scenario.objects.filter(pk=upload.pk).exists()
    assert sam.get(f"/s/{session.id}/").status_code == 200


def test_built_in_scenarios_cannot_be_renamed_or_deleted_here(school):
    for who in (school.client("sam"), school.client("irene")):
        assert who.post("/scenarios/fig5-handover/delete/").status_code == 403
        assert who.post("/scenarios/fig5-handover/rename/", {"title": "x"}).status_code == 403
    assert Scenario.objects.filter(slug="fig5-handover", builtin=True).exists()


def test_an_instructor_publishes_a_scenario_for_everyone(school):
    upload = school.instructor_upload
    assert upload.title not in cards(Client())
    assert school.client("sam").post(f"/scenarios/{upload.slug}/publish/").status_code == 404
    assert school.client("irene").post(f"/scenarios/{upload.slug}/publish/", {"public": "1"}).status_code == 302
    assert upload.title in cards(Client()) and upload.title in cards(school.client("stu"))
    assert Client().post(f"/scenarios/{upload.slug}/start/").status_code == 302
    # a student cannot publish their own, nor rename or delete the instructor's published one
    assert school.client("sam").post(f"/scenarios/{school.upload.slug}/publish/").status_code == 403
    assert school.client("stu").post(f"/scenarios/{upload.slug}/delete/").status_code == 403
    assert school.client("irene").post(f"/scenarios/{upload.slug}/publish/", {"public": "0"}).status_code == 302
    assert upload.title not in cards(Client())


def test_old_anonymous_uploads_expire(school, settings):
    settings.DMMVIZ_UPLOAD_TTL_DAYS = 7
    visitor = Client()
    visitor.post("/", {"file": scenario_file("Old visitor's")})
    visitor.post("/", {"file": scenario_file("New visitor's")})
    kept_account = school.upload
    eight_days_ago = timezone.now() - timedelta(days=8)
    Scenario.objects.filter(title__in=["Old visitor's", kept_account.title]).update(created=eight_days_ago)
    Scenario.objects.filter(builtin=True).update(created=eight_days_ago)
    builtins = Scenario.objects.filter(builtin=True).count()
    assert builtins > 0
    call_command("expire_uploads", verbosity=0)
    titles = set(Scenario.objects.values_list("title", flat=True))
    assert "Old visitor's" not in titles
    assert {"New visitor's", kept_account.title} <= titles
    assert Scenario.objects.filter(builtin=True).count() == builtins  # however many ship, none expires


def test_the_compare_pages_keep_an_upload_private(school):
    upload = school.upload
    assert school.client("sam").get(f"/compare/{upload.slug}/").status_code == 200
    for other in (Client(), school.client("stu")):
        assert other.get(f"/compare/{upload.slug}/").status_code == 404
        assert upload.slug not in other.get("/compare/").content.decode()
    assert upload.slug in school.client("sam").get("/compare/").content.decode()


def test_a_scenario_nobody_claims_is_listed_and_kept(school):
    """Made by a script (or stored before uploaders were recorded): listed for everyone, managed only by a superuser,
    never expired."""
    data = school.upload.data
    legacy = Scenario.objects.create(title="Made by a script", slug="by-a-script", data=data)
    Scenario.objects.filter(pk=legacy.pk).update(created=timezone.now() - timedelta(days=400))
    assert "Made by a script" in cards(Client())
    assert Client().post("/scenarios/by-a-script/start/").status_code == 302
    assert school.client("sam").post("/scenarios/by-a-script/delete/").status_code == 403
    call_command("expire_uploads", verbosity=0)
    assert Scenario.objects.filter(pk=legacy.pk).exists()
