"""A live class across two real Daphne processes sharing one database and channels_redis (redis://127.0.0.1:6379):
the instructor drives the class on process 1, two students follow it on process 2."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import urllib.request

import pytest
import websockets
from channels.db import database_sync_to_async as sync_to_async

from dmmviz.daphne_process import DaphneProcess
from dmmviz.lessons.models import LiveClass
from tests.server.multiprocess import two_servers  # noqa: F401 (a fixture)

from .conftest import client_for
from .test_ws import make_lesson

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True), pytest.mark.services]

CSRF = "lessonsmultiprocesstestcsrf12345"  # a 32-character CSRF secret, sent as cookie and header alike


async def receive(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout=10))


async def receive_type(ws, type_: str) -> dict:
    while True:
        message = await receive(ws)
        if message.get("type") == type_:
            return message


def post(server: DaphneProcess, path: str, data: dict, sessionid: str) -> dict:
    request = urllib.request.Request(
        f"{server.url}{path}",
        data=urllib.parse.urlencode(data).encode(),
        method="POST",
        headers={
            "Cookie": f"sessionid={sessionid}; csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
            "Accept": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def test_class_follows_the_instructor_across_processes(two_servers, instructor):  # noqa: F811
    one, two = two_servers
    lesson = await sync_to_async(make_lesson)(instructor)
    http = await sync_to_async(client_for)(instructor)
    await sync_to_async(http.post)(f"/lessons/{lesson.slug}/class/")
    live_class = await sync_to_async(LiveClass.objects.get)()
    sessionid = http.cookies["sessionid"].value

    teacher = await websockets.connect(
        f"{one.ws_url}/ws/session/{live_class.sim_session_id}/",
        origin=one.url,
        additional_headers=[("Cookie", f"sessionid={sessionid}")],
    )
    assert (await receive(teacher))["type"] == "snapshot"
    students = []
    for _ in range(2):
        ws = await websockets.connect(f"{two.ws_url}/ws/class/{live_class.code}/", origin=two.url)
        assert (await receive(ws))["type"] == "snapshot"
        students.append(ws)
    panel = await websockets.connect(f"{two.ws_url}/ws/class/{live_class.code}/events/", origin=two.url)
    assert (await receive(panel))["step"] == 0

    await teacher.send(
        json.dumps({"v": 1, "type": "command", "id": 1, "command": {"action": "move", "mn": "MN1", "mar": "MAR2"}})
    )
    moved = await receive_type(teacher, "events")
    for ws in students:
        seen = await receive_type(ws, "events")
        assert seen["events"] == moved["events"]

    # A step change made through process 1's HTTP reaches the followers and the panel on process 2.
    info = await asyncio.to_thread(post, one, f"/class/{live_class.code}/step/", {"step": "2"}, sessionid)
    assert info["step"] == 2
    for ws in students:
        snap = await receive_type(ws, "snapshot")
        assert snap["cause"] == "resync" and snap["now"] == info["start"] < 5.0  # step 3 opens before the handover
    assert (await receive_type(panel, "class"))["step"] == 2

    # A follower on process 2 still cannot drive the class.
    await students[0].send(json.dumps({"v": 1, "type": "step", "id": 9}))
    assert (await receive_type(students[0], "error"))["code"] == "read_only"
    for ws in (teacher, panel, *students):
        await ws.close()
