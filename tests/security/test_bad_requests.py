"""Requests Django refuses before any view runs get a sentence that names the limit (dmmviz/badrequest.py), and the
server's log gets one warning line for them, not an ERROR with tracebacks; a practice answer naming no real question
is a 400, not a 500."""

from __future__ import annotations

import io
import logging

from django.test import Client


def browser() -> Client:
    """A browser that has been to the home page: it has the CSRF cookie, so the form it posts is read."""
    client = Client(enforce_csrf_checks=True)
    client.get("/")
    return client


def refused_log() -> io.StringIO:
    """The stream the django.security handler writes to, swapped for one the test reads."""
    (handler,) = [h for h in logging.getLogger("django.security").handlers if h.name == "refused"]
    stream = io.StringIO()
    handler.setStream(stream)
    return stream


def test_a_form_with_1001_fields_gets_400_naming_the_limit_and_one_log_line(school):
    log = refused_log()
    fields = {f"f{i}": "x" for i in range(1001)}
    response = browser().post("/practice/scenario/fig5-handover/", fields)
    assert response.status_code == 400
    assert response.content.decode() == "400 Bad request: the request has more than 1,000 form fields.\n"
    lines = log.getvalue().splitlines()
    assert len(lines) == 1 and " WARNING " in lines[0] and "DATA_UPLOAD_MAX_NUMBER_FIELDS" in lines[0]
    assert "Traceback" not in log.getvalue()


def test_a_json_client_gets_the_same_answer_as_json(school):
    refused_log()
    fields = "&".join(f"f{i}=x" for i in range(1001))
    response = browser().post("/practice/scenario/fig5-handover/", fields,
                             content_type="application/x-www-form-urlencoded", HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "the request has more than 1,000 form fields", "field": None}


def test_an_unknown_host_gets_400_saying_so(school):
    log = refused_log()
    response = Client(HTTP_HOST="evil.example").get("/")
    assert response.status_code == 400 and b"Host header names a host this server does not serve" in response.content
    assert "Traceback" not in log.getvalue() and "evil.example" in log.getvalue()


def test_a_practice_answer_to_a_question_id_that_is_not_a_number_is_a_400(school):
    practice = school.practice  # sam's
    sam = school.client("sam")
    answers = [{"id": question_id, "answer": "MAR1"}
               for question_id in ("x", "1.5", "", "-1", "99999999999999999999", "\u0661\u0662")]  # Arabic-Indic
    for body in answers:
        response = sam.post(f"/practice/{practice.id}/answer/", body)  # "x" was a 500 (a database lookup by "x")
        assert response.status_code == 400, (body, response.status_code)
        assert response.json() == {"error": "no such question; ask for a new one", "field": "id"}
    for raw in (b'{"id": [1], "answer": "MAR1"}', b'{"id": true}', b'{"id": 99999999999999999999}', b'{"id": "x"}'):
        response = sam.post(f"/practice/{practice.id}/answer/", raw, content_type="application/json")
        assert response.status_code == 400, (raw, response.status_code)
        assert response.json()["field"] == "id"
