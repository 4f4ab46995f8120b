"""Rate limits: wrong class codes per client address (page, JSON, socket), log-in lock-out per account, sign-ups and
uploads; 429 with Retry-After, and a classroom behind one address never reaches the class-code limit by mistakes."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from dmmviz import asgi

from .conftest import scenario_file


def wrong(client: Client, n: int, address: str = "10.0.0.1") -> list[int]:
    """n wrong codes, spread over the three HTTP ways in."""
    paths = ["/class/ZZZZZZZZ/", "/class/ZZZZZZZZ/info.json"]
    statuses = []
    for k in range(n):
        if k % 3 == 2:
            response = client.post("/class/", {"code": "ZZZZZZZZ"}, REMOTE_ADDR=address)
        else:
            response = client.get(paths[k % 3], REMOTE_ADDR=address)
        statuses.append(response.status_code)
    return statuses


def test_wrong_class_codes_are_limited_per_address_with_retry_after(school, settings):
    settings.DMMVIZ_RATES = {**settings.DMMVIZ_RATES, "class_code": (10, 900)}
    code = school.live_class.code
    guesser = Client()
    assert set(wrong(guesser, 10)) <= {400, 404}
    page = guesser.get("/class/ZZZZZZZZ/", REMOTE_ADDR="10.0.0.1")
    assert page.status_code == 429 and 1 <= int(page["Retry-After"]) <= 900
    assert "Too many wrong class codes" in page.content.decode()
    info = guesser.get(f"/class/{code}/info.json", REMOTE_ADDR="10.0.0.1")  # even a right code, until the wait ends
    assert info.status_code == 429 and info.json()["retry_after"] == int(info["Retry-After"])
    assert guesser.post("/class/", {"code": code}, REMOTE_ADDR="10.0.0.1").status_code == 429
    # another address is not affected
    assert Client().get(f"/class/{code}/", REMOTE_ADDR="10.0.0.2").status_code == 200


def test_a_classroom_behind_one_address_never_reaches_the_limit(school):
    """40 students behind one NAT address, each mistyping the code 3 times, then all joining: nobody gets a 429."""
    code = school.live_class.code
    students = [Client() for _ in range(40)]
    for student in students:
        assert 429 not in wrong(student, 3, address="192.0.2.7")
    for student in students:
        assert student.post("/class/", {"code": code}, REMOTE_ADDR="192.0.2.7").status_code == 302
        assert student.get(f"/class/{code}/", REMOTE_ADDR="192.0.2.7").status_code == 200


def test_right_codes_do_not_count(school, settings):
    settings.DMMVIZ_RATES = {**settings.DMMVIZ_RATES, "class_code": (3, 900)}
    code = school.live_class.code
    client = Client()
    for _ in range(10):
        assert client.get(f"/class/{code}/info.json", REMOTE_ADDR="10.0.0.3").status_code == 200


def test_an_ended_class_code_is_dead(school):
    code = school.live_class.code
    assert school.client("irene").post(f"/class/{code}/end/").status_code == 302
    assert Client().get(f"/class/{code}/info.json").status_code == 404
    assert Client().post("/class/", {"code": code}).status_code == 400


def test_class_codes_are_long_enough(db):
    from dmmviz.lessons.models import LiveClass

    codes = {LiveClass.new_code() for _ in range(50)}
    assert all(len(c) >= 8 for c in codes) and len(codes) == 50


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_wrong_codes_on_the_class_sockets_are_limited(school, settings):
    settings.DMMVIZ_RATES = {**settings.DMMVIZ_RATES, "class_code": (4, 900)}

    async def attempt(path: str) -> dict:
        comm = WebsocketCommunicator(asgi.application, path, headers=[(b"origin", b"http://127.0.0.1:8000")])
        comm.scope["client"] = ("10.0.0.9", 5555)
        assert (await comm.connect(timeout=10))[0]
        first = await comm.receive_json_from(timeout=10)
        closed = await comm.receive_output(timeout=10)
        await comm.disconnect()
        return {**first, "close": closed.get("code")}

    for k in range(4):
        gone = await attempt("/ws/class/ZZZZZZZZ/" if k % 2 else "/ws/class/ZZZZZZZZ/events/")
        assert gone["close"] == 4404
    limited = await attempt("/ws/class/ZZZZZZZZ/")
    assert limited["type"] == "error" and limited["code"] == "rate_limited" and limited["close"] == 4429
    assert "Try again in" in limited["message"]
    code = await sync_to_async(lambda: school.live_class.code)()
    assert (await attempt(f"/ws/class/{code}/events/"))["close"] == 4429


def test_failed_logins_lock_the_account_not_the_address(school):
    """5 wrong passwords lock that account for a while (even the right password is refused, 429); another student at
    the same address logs in fine."""
    for k in range(5):
        response = Client().post("/accounts/login/", {"username": "sam", "password": "wrong"}, REMOTE_ADDR="192.0.2.9")
        assert response.status_code == (200 if k < 4 else 429)  # the form again with its error; the 5th locks
    locked = Client().post("/accounts/login/", {"username": "sam", "password": "pw-sam-123"}, REMOTE_ADDR="192.0.2.9")
    assert locked.status_code == 429
    elsewhere = Client().post("/accounts/login/", {"username": "sam", "password": "pw-sam-123"}, REMOTE_ADDR="10.1.1.1")
    assert elsewhere.status_code == 429  # the account, wherever the guesses come from
    other = Client().post("/accounts/login/", {"username": "stu", "password": "pw-stu-123"}, REMOTE_ADDR="192.0.2.9")
    assert other.status_code == 302  # the address is not locked


def test_a_right_password_resets_the_count(school):
    for _ in range(4):
        Client().post("/accounts/login/", {"username": "olga", "password": "wrong"})
    assert Client().post("/accounts/login/", {"username": "olga", "password": "pw-olga-123"}).status_code == 302
    for _ in range(4):
        Client().post("/accounts/login/", {"username": "olga", "password": "wrong"})
    assert Client().post("/accounts/login/", {"username": "olga", "password": "pw-olga-123"}).status_code == 302


def test_signups_are_limited_per_address(school, settings):
    settings.DMMVIZ_RATES = {**settings.DMMVIZ_RATES, "signup": (3, 3600)}
    for k in range(3):
        response = Client().post("/accounts/signup/", {"username": f"new{k}", "password1": "a-Long-pass-93",
                                                       "password2": "a-Long-pass-93"}, REMOTE_ADDR="10.0.0.5")
        assert response.status_code in (200, 302)
    refused = Client().post("/accounts/signup/", {"username": "new9", "password1": "a-Long-pass-93",
                                                  "password2": "a-Long-pass-93"}, REMOTE_ADDR="10.0.0.5")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert Client().get("/accounts/signup/", REMOTE_ADDR="10.0.0.5").status_code == 200  # the page still shows


def test_uploads_are_limited_per_uploader_and_per_address(school, settings):
    settings.DMMVIZ_RATES = {**settings.DMMVIZ_RATES, "upload_per_uploader": (2, 3600), "upload": (3, 3600)}
    sam = school.client("sam")
    assert sam.post("/", {"file": scenario_file("a")}, REMOTE_ADDR="10.0.0.6").status_code == 302
    assert sam.post("/", {"file": scenario_file("b")}, REMOTE_ADDR="10.0.0.6").status_code == 302
    refused = sam.post("/", {"file": scenario_file("c")}, REMOTE_ADDR="10.0.0.6")
    assert refused.status_code == 429 and refused["Retry-After"]
    assert school.client("stu").post("/", {"file": scenario_file("d")}, REMOTE_ADDR="10.0.0.6").status_code == 302
    # the address has now used its 3 (sam's refused one does not count)
    assert school.client("olga").post("/", {"file": scenario_file("e")}, REMOTE_ADDR="10.0.0.6").status_code == 429
    assert sam.get("/", REMOTE_ADDR="10.0.0.6").status_code == 200  # the list still shows
