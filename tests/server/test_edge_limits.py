"""Limits at the edge (issue 10 items 1, 4): request bodies capped before they are read, one JSON parser with
integer, depth and number limits for every door, and a clear, specific error for each (never a 500)."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async as sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile

from dmmviz.asgi import application
from dmmviz.web import limits
from dmmviz.web.limits import BodyLimit
from dmmviz.web.models import Scenario

HUGE_INT = "1" * 5000
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (f'{{"seed": {HUGE_INT}}}', "an integer has 5000 digits; at most 20"),
        (DEEP, "nested more than 32 levels"),
        ('{"a": 1e999}', "the number 1e999 is too large"),
        ('{"a": NaN}', "NaN is not a JSON number"),
        ('{"a": 1,}', "not valid JSON"),
        (b"\xff\xfe", "not UTF-8 text"),
        ('{"title": "\\ud800"}', "lone surrogate"),  # a 500 on the home page's upload (the save), before
        ('{"title": "a\\u0000b"}', "U+0000"),  # stored by SQLite, a 500 on PostgreSQL
    ],
)
def test_loads_refuses_with_a_specific_message(text, says):
    with pytest.raises(limits.JSONInputError) as err:
        limits.loads(text)
    assert says in err.value.message


def test_loads_accepts_brackets_inside_strings_and_twenty_digit_integers():
    assert limits.loads('{"a": "' + "[" * 100 + '", "n": -12345678901234567890}') == {
        "a": "[" * 100, "n": -12345678901234567890,
    }


async def _asgi_post(app, body_chunks, headers):
    """POST through an ASGI app; returns (status, body, how many chunks the app read)."""
    sent, read = [], 0
    last = len(body_chunks) - 1
    queue = [{"type": "http.request", "body": c, "more_body": i < last} for i, c in enumerate(body_chunks)]

    async def receive():
        nonlocal read
        if read < len(queue):
            read += 1
            return queue[read - 1]
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers, "query_string": b""}
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, read


@pytest.mark.asyncio
async def test_a_declared_60_mib_body_is_refused_with_413_before_a_byte_is_read():
    async def app(scope, receive, send):  # pragma: no cover - must not be reached
        raise AssertionError("the application was called")

    status, body, read = await _asgi_post(
        BodyLimit(app, limit=1024 * 1024), [b"x" * 1024], [(b"content-length", str(60 * 1024 * 1024).encode())]
    )
    assert (status, read) == (413, 0)
    assert b"61440 KiB" in body and b"at most 1024 KiB" in body


@pytest.mark.asyncio
async def test_a_chunked_body_is_cut_off_with_413_once_over_the_limit():
    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    chunks = [b"x" * 64 * 1024] * 100  # 6.25 MiB, no Content-Length
    status, body, read = await _asgi_post(BodyLimit(app, limit=1024 * 1024), chunks, [])
    assert status == 413 and read == 17  # stopped at the first chunk past 1 MiB
    assert b"at most 1024 KiB" in body


@pytest.mark.asyncio
async def test_the_served_application_caps_bodies(transactional_db):
    status, _, _ = await _asgi_post(application, [b""], [(b"content-length", str(60 * 1024 * 1024).encode())])
    assert status == 413


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "says"),
    [
        (f'{{"format": "dmmviz-scenario/1", "seed": {HUGE_INT}}}'.encode(), "an integer has 5000 digits"),
        (DEEP.encode(), "nested more than 32 levels"),
        (b'{"timers": {"access_delay_ms": Infinity}}', "Infinity is not a JSON number"),
    ],
)
def test_scenario_upload_refuses_with_400_naming_the_problem(client, content, says):
    response = client.post("/", {"file": SimpleUploadedFile("x.json", content, content_type="application/json")})
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not Scenario.objects.filter(builtin=False).exists()


@pytest.mark.django_db
def test_lesson_file_parse_refuses_huge_integers_with_a_lesson_error():
    from dmmviz.lessons import lessonfile

    with pytest.raises(lessonfile.LessonError) as err:
        lessonfile.parse_text(f'{{"steps": [{{"until": {HUGE_INT}}}]}}')
    assert "an integer has 5000 digits" in str(err.value.problems[0].message)




@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("frame", "says"),
    [
        (f'{{"v": 1, "type": "seek", "steps": {HUGE_INT}}}', "an integer has 5000 digits"),
        ("[" * 5_000 + "]" * 5_000, "nested more than 32"),
        ('{"v": 1, "type": "run_until", "t": 1e999}', "too large"),
    ],
)
async def test_websocket_frames_get_bad_json_naming_the_limit(new_session, clients, frame, says):
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    await client.send_raw(frame)
    error = await client.expect("error")
    assert error["code"] == "bad_json" and says in error["message"]
    assert (await client.request("step"))["revision"] == 1  # the socket still works, nothing changed before


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_commands_that_would_make_the_session_unopenable_are_refused_and_it_still_opens(new_session, clients):
    """Many start_flow commands with the longest flow ids: each is accepted until the session's state would no longer
    fit a message; then refused with a clear error. A new tab still opens the session, and reset works."""
    from dmmviz.web import consumers

    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    await client.request("run_until", t=1.0)
    limit = consumers.MAX_STATE_BYTES
    consumers.MAX_STATE_BYTES = 40 * 1024  # reach the limit in a few hundred commands rather than thousands
    try:
        refused = None
        for i in range(2000):
            flow = f"f{i:04d}" + "x" * 27  # the longest id accepted (32 characters)
            await client.send("command", command={"action": "start_flow", "mn": "MN1", "flow": flow, "cn": "CN1"})
            reply = await client.receive()
            if reply["type"] == "error":
                refused = reply
                break
        assert refused is not None and refused["code"] == "command_rejected"
        assert "this session is full" in refused["message"]
        other, snapshot = await clients(session.id)
        assert snapshot["type"] == "snapshot" and snapshot["revision"] == reply.get("revision", snapshot["revision"])
        reset = await other.request("reset", expect="snapshot")
        assert reset["journal"] == []
    finally:
        consumers.MAX_STATE_BYTES = limit
