"""The one ownership rule (dmmviz/access.py) at every door, beyond the matrix: anonymous owners, superusers, the
admin, sessions nobody claims, and the class follower's page."""

from __future__ import annotations

import uuid

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from dmmviz import asgi
from dmmviz.web.models import SimSession

DOORS = ("/s/{id}/", "/s/{id}/export/trace/", "/s/{id}/export/svg/", "/s/{id}/sequence.json")


def start_anonymously(client: Client) -> SimSession:
    response = client.post("/scenarios/fig5-handover/start/")
    assert response.status_code == 302
    return SimSession.objects.get(pk=response["Location"].strip("/").split("/")[-1])


def test_an_anonymous_visitors_session_is_theirs_alone(school):
    """A visitor who is not logged in owns what they start through their browser session; another browser gets the
    same 404 as for a session that does not exist, at every door."""
    mine, stranger = Client(), Client()
    session = start_anonymously(mine)
    assert session.owner is None and session.owner_key
    for door in DOORS:
        assert mine.get(door.format(id=session.id)).status_code == 200, door
        assert stranger.get(door.format(id=session.id)).status_code == 404, door
        assert stranger.get(door.format(id=uuid.uuid4())).status_code == 404, door


@pytest.mark.parametrize("kind", ["own", "attempt", "practice", "branch", "class"])
def test_a_superuser_sees_every_kind_of_session(school, django_user_model, kind):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123")
    client = Client()
    client.force_login(admin)
    session, _ = school.session_of(kind)
    for door in DOORS:
        assert client.get(door.format(id=session.id)).status_code == 200, door
    assert client.get(f"/admin/web/simsession/{session.id}/change/").status_code == 200


def test_staff_see_only_their_own_sessions_in_the_admin(school, django_user_model):
    from django.contrib.auth.models import Permission

    staff = school.users["stu"]
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_simsession", "change_simsession"]))
    client = school.client("stu")
    theirs = school.own_session  # sam's
    assert str(theirs.id) not in client.get("/admin/web/simsession/").content.decode()
    assert client.get(f"/admin/web/simsession/{theirs.id}/change/").status_code in (302, 403, 404)
    response = client.post("/scenarios/fig5-handover/start/")
    mine = response["Location"].strip("/").split("/")[-1]
    assert client.get(f"/admin/web/simsession/{mine}/change/").status_code == 200
    assert mine in client.get("/admin/web/simsession/").content.decode()


def test_a_session_nobody_claims_stays_open(school):
    """Sessions made outside the web app (a script, or stored before owners were recorded) keep working by address."""
    data = school.own_session.scenario_data
    session = SimSession.objects.create(scenario_data=data)
    assert Client().get(f"/s/{session.id}/").status_code == 200


def test_the_class_follower_page_never_carries_the_instructors_session_id(school):
    """A student (or anyone with the code) following a class cannot learn the class's session id from the page, the
    class's downloads or its sequence model; the session's own doors refuse them."""
    live_class = school.live_class
    secret = str(live_class.sim_session_id)
    for role in ("anonymous", "student"):
        client = school.as_role(role, "irene")
        for path in (f"/class/{live_class.code}/", f"/class/{live_class.code}/info.json",
                     f"/class/{live_class.code}/sequence.json", f"/class/{live_class.code}/export/trace/"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert secret not in response.content.decode(errors="replace"), path
            assert secret.replace("-", "") not in response.content.decode(errors="replace"), path
        for door in DOORS:
            assert client.get(door.format(id=secret)).status_code == 404


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_class_follower_socket_never_names_the_session(school):
    from asgiref.sync import sync_to_async

    code = await sync_to_async(lambda: school.live_class.code)()
    secret = await sync_to_async(lambda: str(school.live_class.sim_session_id))()
    comm = WebsocketCommunicator(asgi.application, f"/ws/class/{code}/",
                                 headers=[(b"origin", b"http://127.0.0.1:8000")])
    assert (await comm.connect(timeout=10))[0]
    text = (await comm.receive_output(timeout=10))["text"]
    assert '"snapshot"' in text and secret not in text and secret.replace("-", "") not in text
    await comm.disconnect()
