"""Pages: the scenario list and upload, starting a session, the session page, /protocol.js, load_builtin, admin."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from dmmviz import protocol
from dmmviz.web.models import Scenario, SimSession

pytestmark = pytest.mark.django_db

BUILTIN_SLUGS = {
    "centralized-baseline", "fig2-client-dmm", "fig4-three-mars", "fig5-handover", "fig6-multi-interface",
    "mostly-static", "fault-lost-pba", "fault-registration-race", "fault-db-down",  # issue 13's fault scenarios
}


def upload(client, content: bytes | str, name: str = "mine.json"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(reverse("home"), {"file": SimpleUploadedFile(name, data, content_type="application/json")})


def file_errors(response) -> list[str]:
    return list(response.context["form"].errors.get("file", []))


def test_home_lists_builtin_scenarios_with_title_and_description(client, builtins):
    """The home page shows every built-in scenario's title and description, each with an Open button."""
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert set(builtins) == BUILTIN_SLUGS
    for scenario in builtins.values():
        assert scenario.title in page.replace("&#x27;", "'")
        assert scenario.description.split(",")[0] in page.replace("&#x27;", "'")
        assert reverse("session_new", args=[scenario.slug]) in page


def test_load_builtin_is_idempotent(builtins):
    """Loading the built-in scenarios twice leaves one of each, marked built in."""
    call_command("load_builtin", verbosity=0)
    assert Scenario.objects.count() == len(BUILTIN_SLUGS)
    assert set(Scenario.objects.filter(builtin=True).values_list("slug", flat=True)) == BUILTIN_SLUGS


def test_upload_valid_scenario_is_listed(client, builtin_scenario, db):
    """A valid scenario file is stored (not built in) and shows on the home page."""
    data = builtin_scenario("fig5-handover")
    data["title"] = "My own handover"
    response = upload(client, json.dumps(data))
    assert response.status_code == 302
    mine = Scenario.objects.get(title="My own handover")
    assert mine.builtin is False and mine.data == data and mine.slug == "my-own-handover"
    assert "My own handover" in client.get("/").content.decode()
    again = upload(client, json.dumps(data))
    assert again.status_code == 302
    assert Scenario.objects.filter(title="My own handover").count() == 2
    assert Scenario.objects.filter(slug="my-own-handover-2").exists()


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{\n  \"format\": \"dmmviz-scenario/1\",\n  oops\n}", r"not valid JSON: .*line 3, column 3"),
        ("[1, 2, 3]", r"a scenario is a JSON object"),
        (b"\xff\xfe\x00garbage", r"not UTF-8"),
    ],
    ids=["broken json", "a list", "not utf-8"],
)
def test_upload_unreadable_file_gets_a_file_error(client, db, content, expected):
    """A file that is not a JSON object is refused with a message on the file field, status 400, nothing stored."""
    response = upload(client, content)
    assert response.status_code == 400
    errors = file_errors(response)
    assert len(errors) == 1 and re.search(expected, errors[0]), errors
    assert errors[0] in response.content.decode().replace("&#x27;", "'")
    assert not Scenario.objects.exists()


def test_upload_invalid_scenario_names_each_problem_by_path(client, builtin_scenario, db):
    """Engine validation problems come back one per line, each with its JSON path."""
    data = builtin_scenario("fig5-handover")
    data["script"][2]["mar"] = "MAR9"
    data["script"][1]["cn"] = "CN9"
    response = upload(client, json.dumps(data))
    assert response.status_code == 400
    errors = file_errors(response)
    assert any(e.startswith("script[2].mar:") and "MAR9" in e for e in errors), errors
    assert any(e.startswith("script[1].cn:") and "CN9" in e for e in errors), errors
    assert not Scenario.objects.exists()


def test_upload_too_large_or_missing_file(client, db, settings):
    """An oversize file and a missing file are refused on the file field."""
    settings.DMMVIZ_MAX_SCENARIO_BYTES = 100
    response = upload(client, json.dumps({"title": "x" * 200}))
    assert response.status_code == 400
    assert "at most" in file_errors(response)[0]
    response = client.post(reverse("home"), {})
    assert response.status_code == 400
    assert file_errors(response) == ["This field is required."]


def test_open_scenario_starts_session_with_its_own_url(client, builtins):
    """Open makes a session holding a copy of the scenario and redirects to its page, which names its socket."""
    response = client.post(reverse("session_new", args=["fig5-handover"]))
    assert response.status_code == 302
    session = SimSession.objects.get()
    assert response["Location"] == f"/s/{session.id}/"
    assert session.scenario_data == builtins["fig5-handover"].data and session.steps == 0
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert f"/ws/session/{session.id}/" in page.content.decode()


def test_open_needs_post_and_a_known_scenario(client, builtins):
    """GET on the start URL is not allowed; an unknown scenario slug is a 404."""
    assert client.get(reverse("session_new", args=["fig5-handover"])).status_code == 405
    assert client.post(reverse("session_new", args=["no-such"])).status_code == 404
    assert not SimSession.objects.exists()


def test_bad_session_ids_are_404_not_500(client, db):
    """An unknown session id or a malformed one is a 404."""
    assert client.get(f"/s/{uuid.uuid4()}/").status_code == 404
    assert client.get("/s/not-a-uuid/").status_code == 404
    assert client.get("/s/12345678-1234-1234-1234-1234567890zz/").status_code == 404


def test_protocol_js_carries_every_constant(client):
    """/protocol.js exports the message names, error codes and limits of dmmviz/protocol.py, unchanged."""
    response = client.get(reverse("protocol_js"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    text = response.content.decode()
    exported = dict(re.findall(r"^export const (\w+) = Object\.freeze\((.*)\);$", text, re.M))
    assert json.loads(exported["VERSION"]) == protocol.VERSION
    assert json.loads(exported["CLIENT"]) == {t.name: t.value for t in protocol.ClientType}
    assert json.loads(exported["SERVER"]) == {t.name: t.value for t in protocol.ServerType}
    assert json.loads(exported["ERROR"]) == {c.name: c.value for c in protocol.ErrorCode}
    assert json.loads(exported["MAX_FRAME_BYTES"]) == protocol.MAX_FRAME_BYTES
    assert set(json.loads(exported["ACTIONS"])) == set(protocol.ACTIONS)


def test_scenario_clean_runs_the_engine_validator(builtin_scenario, db):
    """A scenario the engine refuses cannot be saved through clean(); the message names the path."""
    data = builtin_scenario("fig5-handover")
    data["script"][0]["mn"] = "MN7"
    scenario = Scenario(title="t", slug="t", data=data)
    with pytest.raises(ValidationError) as info:
        scenario.full_clean()
    assert any(m.startswith("script[0].mn:") for m in info.value.message_dict["data"])
    Scenario(title="ok", slug="ok", data=builtin_scenario("fig5-handover")).full_clean()


def test_admin_lists_scenarios_and_sessions(admin_client, builtins):
    """The admin has both models."""
    assert admin_client.get("/admin/web/scenario/").status_code == 200
    assert admin_client.get("/admin/web/simsession/").status_code == 200
    assert "fig5-handover" in admin_client.get("/admin/web/scenario/").content.decode()
