"""The websocket side of lessons: owned sessions refuse strangers, and a live class with an instructor and two
students (the students follow read-only, branch off to a copy of their own, and follow step changes)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.testing import WebsocketCommunicator

from dmmviz import protocol
from dmmviz.asgi import application
from dmmviz.lessons.models import Attempt, Branch, LiveClass
from dmmviz.web import live
from dmmviz.web.models import SimSession

from .conftest import builtin_lesson, client_for

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
ORIGIN = (b"origin", b"http://127.0.0.1:8000")
TIMEOUT = 10


@pytest.fixture(autouse=True)
def _cold_cache():
    live.cache.clear()
    yield
    live.cache.clear()


class Socket:
    """A websocket as a browser with this Django test client's cookies would open it."""

    def __init__(self, path: str, client: Any = None) -> None:
        headers = [ORIGIN]
        if client is not None and client.cookies:
            cookie = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
            headers.append((b"cookie", cookie.encode()))
        self.comm = WebsocketCommunicator(application, path, headers=headers)
        self.n = 0

    async def open(self) -> dict[str, Any]:
        connected, _ = await self.comm.connect(timeout=TIMEOUT)
        assert connected
        return await self.receive()

    async def receive(self) -> dict[str, Any]:
        return json.loads(await self.comm.receive_from(timeout=TIMEOUT))

    async def expect(self, type_: str) -> dict[str, Any]:
        while True:
            message = await self.receive()
            if message.get("type") == type_:
                return message

    async def request(self, type_: str, **fields: Any) -> dict[str, Any]:
        self.n += 1
        await self.comm.send_to(text_data=json.dumps({"v": 1, "type": type_, "id": self.n, **fields}))
        while True:
            message = await self.receive()
            if message.get("re") == self.n:
                return message

    async def closed_code(self) -> int:
        output = await self.comm.receive_output(timeout=TIMEOUT)
        while output["type"] != "websocket.close":
            output = await self.comm.receive_output(timeout=TIMEOUT)
        return output["code"]

    async def silent(self, seconds: float = 0.3) -> bool:
        return await self.comm.receive_nothing(timeout=seconds)

    async def close(self) -> None:
        await self.comm.disconnect()


def make_lesson(owner, name="fig5-handover"):
    from dmmviz.lessons.models import Lesson

    lesson = Lesson(owner=owner, status="published")
    data = builtin_lesson(name)
    data["steps"][0]["start"] = data["steps"][0]["until"]  # opens with MN1 attached: these tests drive handovers
    lesson.set_document(data)
    lesson.slug = Lesson.unique_slug(lesson.title)
    lesson.save()
    return lesson


async def test_attempt_session_takes_commands_only_from_its_student(instructor, student, make_user):
    lesson = await sync_to_async(make_lesson)(instructor)
    owner = await sync_to_async(client_for)(student)
    await sync_to_async(owner.post)(f"/lessons/{lesson.slug}/start/")
    attempt = await sync_to_async(Attempt.objects.get)(user=student)
    path = f"/ws/session/{attempt.sim_session_id}/"

    mine = Socket(path, owner)
    snapshot = await mine.open()
    assert snapshot["type"] == "snapshot" and snapshot["state"]["mns"]["MN1"]["interfaces"]["if1"] == "MAR1"
    moved = await mine.request("command", command={"action": "move", "mn": "MN1", "mar": "MAR2"})
    assert moved["type"] == "events"
    await mine.close()

    for stranger in (await sync_to_async(client_for)(await sync_to_async(make_user)("mallory")), None):
        theirs = Socket(path, stranger)
        refused = await theirs.open()
        assert refused["type"] == "error" and refused["code"] == "forbidden"
        assert await theirs.closed_code() == protocol.CLOSE_FORBIDDEN
    row = await sync_to_async(SimSession.objects.get)(pk=attempt.sim_session_id)
    assert len(row.journal) == 1  # only the owner's move


async def test_a_session_of_the_home_page_is_open_to_its_link_as_before(db, builtin_scenario):
    """Sessions the lessons app does not own keep working for anyone with the link (the guard lets them through)."""
    session = await sync_to_async(SimSession.objects.create)(scenario_data=builtin_scenario("fig5-handover"))
    socket = Socket(f"/ws/session/{session.id}/")
    assert (await socket.open())["type"] == "snapshot"
    assert (await socket.request("step"))["type"] == "events"
    await socket.close()


async def test_class_with_an_instructor_and_two_students(instructor):
    """Both students see the instructor's moves live, cannot move the class themselves, follow step changes, and
    one branches off to a private copy while the other keeps following."""
    lesson = await sync_to_async(make_lesson)(instructor)
    teacher_http = await sync_to_async(client_for)(instructor)
    response = await sync_to_async(teacher_http.post)(f"/lessons/{lesson.slug}/class/")
    assert response.status_code == 302
    live_class = await sync_to_async(LiveClass.objects.get)()
    code = live_class.code
    assert len(code) == 8 and response["Location"].endswith(f"/class/{code}/teach/")

    teacher = Socket(f"/ws/session/{live_class.sim_session_id}/", teacher_http)
    await teacher.open()
    alice_http, bob_http = await sync_to_async(client_for)(None), await sync_to_async(client_for)(None)
    alice, bob = Socket(f"/ws/class/{code}/", alice_http), Socket(f"/ws/class/{code}/", bob_http)
    for student in (alice, bob):
        snap = await student.open()
        assert snap["type"] == "snapshot"
        assert snap["session"] == f"class-{code}" and str(live_class.sim_session_id) not in json.dumps(snap)
    panel = Socket(f"/ws/class/{code}/events/")
    info = await panel.open()
    assert info == {**info, "type": "class", "step": 0, "active": True}

    # The instructor drags MN1 to MAR2: both students get the very same events.
    moved = await teacher.request("command", command={"action": "move", "mn": "MN1", "mar": "MAR2"})
    for student in (alice, bob):
        seen = await student.expect("events")
        assert seen["events"] == moved["events"] and seen["state"] == moved["state"]
        assert [e["kind"] for e in seen["events"]][:2] == ["action", "l2_detach"]

    # A student cannot move the class: not through the class socket, not through the session's own socket.
    refused = await alice.request("command", command={"action": "move", "mn": "MN1", "mar": "MAR1"})
    assert refused["type"] == "error" and refused["code"] == "read_only"
    assert (await alice.request("run_until", t=50))["code"] == "read_only"
    sneaky = Socket(f"/ws/session/{live_class.sim_session_id}/", alice_http)
    assert (await sneaky.open())["code"] == "forbidden"
    assert await bob.silent()
    row = await sync_to_async(SimSession.objects.get)(pk=live_class.sim_session_id)
    assert [c["mar"] for _, _, c in row.journal] == ["MAR2"]

    # The instructor steps back: followers get the snapshot, still without the instructor's session id.
    back = await teacher.request("step_back")
    for student in (alice, bob):
        snap = await student.expect("snapshot")
        assert snap["session"] == f"class-{code}" and snap["state"] == back["state"]
        assert str(live_class.sim_session_id) not in json.dumps(snap)

    # The instructor moves the class to step 3: followers are resynchronised, panels told.
    stepped = await sync_to_async(teacher_http.post)(
        f"/class/{code}/step/", {"step": "3"}, HTTP_ACCEPT="application/json"
    )
    assert stepped.json()["step"] == 3
    for student in (alice, bob):
        snap = await student.expect("snapshot")
        assert snap["cause"] == "resync" and snap["now"] == 5.5  # where step 3 opens (it pauses at 6.0)
        assert snap["state"]["mars"]["MAR1"]["tunnels"] == ["MAR2"]
    changed = await panel.receive()
    assert changed["step"] == 3 and changed["step_title"] == "Who anchors flow1 now?"

    # Alice branches off: her own copy at this moment, which she may drive; Bob keeps following the class.
    response = await sync_to_async(alice_http.post)(f"/class/{code}/branch/")
    assert response.status_code == 302
    branch = await sync_to_async(Branch.objects.get)()
    copy = Socket(f"/ws/session/{branch.sim_session_id}/", alice_http)
    snap = await copy.open()
    assert snap["now"] == 5.5
    await copy.request("command", command={"action": "move", "mn": "MN1", "mar": "MAR1"})
    assert await bob.silent()
    assert (await Socket(f"/ws/session/{branch.sim_session_id}/", bob_http).open())["code"] == "forbidden"
    class_row = await sync_to_async(SimSession.objects.get)(pk=live_class.sim_session_id)
    branch_row = await sync_to_async(SimSession.objects.get)(pk=branch.sim_session_id)
    assert class_row.journal == [] and [c["mar"] for _, _, c in branch_row.journal] == ["MAR1"]

    # Rejoining is following again: the class socket shows the class, not the branch.
    again = Socket(f"/ws/class/{code}/", alice_http)
    assert (await again.open())["state"]["mns"]["MN1"]["interfaces"][
        "if1"
    ] == "MAR2"  # the class, not the branch (MAR1)
    for socket in (teacher, alice, bob, panel, copy, again):
        await socket.close()


async def test_unknown_class_code_is_refused(db):
    socket = Socket("/ws/class/NOPE42/")
    refused = await socket.open()
    assert refused["code"] == "session_not_found"
    assert await socket.closed_code() == protocol.CLOSE_SESSION_NOT_FOUND


async def test_only_the_instructor_may_move_or_end_the_class(instructor, other_instructor, student):
    lesson = await sync_to_async(make_lesson)(instructor)
    teacher_http = await sync_to_async(client_for)(instructor)
    await sync_to_async(teacher_http.post)(f"/lessons/{lesson.slug}/class/")
    live_class = await sync_to_async(LiveClass.objects.get)()
    for user in (other_instructor, student, None):
        http = await sync_to_async(client_for)(user)
        for url in (f"/class/{live_class.code}/step/", f"/class/{live_class.code}/end/"):
            response = await sync_to_async(http.post)(url, {"step": "2"})
            assert response.status_code in (302, 404), (user, url)
        assert (await sync_to_async(http.get)(f"/class/{live_class.code}/teach/")).status_code in (302, 404)
    await sync_to_async(live_class.refresh_from_db)()
    assert live_class.step == 0 and live_class.active


async def test_the_class_panel_socket_answers_any_frame_with_the_class_and_limits_the_rate(instructor):
    """Any frame on /ws/class/<code>/events/ asks for the class as it is now: text that is not JSON, a binary frame
    and deep nesting too (a frame that was not JSON closed the socket with 1011 and a traceback). A burst past a
    few a second gets rate_limited errors, and the socket stays usable."""
    lesson = await sync_to_async(make_lesson)(instructor)
    teacher_http = await sync_to_async(client_for)(instructor)
    await sync_to_async(teacher_http.post)(f"/lessons/{lesson.slug}/class/")
    live_class = await sync_to_async(LiveClass.objects.get)()
    panel = Socket(f"/ws/class/{live_class.code}/events/")
    first = await panel.open()
    assert first["type"] == "class" and first["active"]
    for text in ("x", " ", "[" * 100_000, '{"v": 1, "type": "hello"}'):
        await panel.comm.send_to(text_data=text)
        assert await panel.receive() == first
    await panel.comm.send_to(bytes_data=b"\x00\xff")
    assert await panel.receive() == first
    for _ in range(40):  # the page itself never sends: a script does
        await panel.comm.send_to(text_data="{}")
    answers = []
    while not await panel.silent(0.5):
        answers.append(await panel.receive())
    kinds = [a["type"] for a in answers]
    assert "error" in kinds and kinds.count("class") < 30, kinds
    assert {a["code"] for a in answers if a["type"] == "error"} == {"rate_limited"}
    await panel.comm.send_to(text_data="{}")  # the socket stays usable once the burst has passed
    assert await panel.receive() == first
    await panel.close()


async def test_followers_stop_seeing_the_class_when_it_ends_and_may_say_hello_by_its_name(instructor):
    """The class ends: a follower's socket gets session_not_found and closes, instead of going on showing the
    instructor's session (which the instructor may keep using). A hello naming the session as its snapshots do
    ("class-<code>") is answered like any hello."""
    lesson = await sync_to_async(make_lesson)(instructor)
    teacher_http = await sync_to_async(client_for)(instructor)
    await sync_to_async(teacher_http.post)(f"/lessons/{lesson.slug}/class/")
    live_class = await sync_to_async(LiveClass.objects.get)()
    code = live_class.code
    follower = Socket(f"/ws/class/{code}/", await sync_to_async(client_for)(None))
    snap = await follower.open()
    assert (await follower.request("hello", session=snap["session"]))["type"] == "snapshot"
    await sync_to_async(teacher_http.post)(f"/class/{code}/end/")
    ended = await follower.expect("error")
    assert ended["code"] == "session_not_found" and "ended" in ended["message"]
    assert await follower.closed_code() == protocol.CLOSE_SESSION_NOT_FOUND
