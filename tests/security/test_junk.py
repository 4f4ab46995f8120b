"""Every door, used by the person it is for, with junk in every field a form or query of the app reads: a clear
answer (below 500), never a server error. The permission matrix (test_matrix.py) sends what the pages send; this sends
what a curious student's script might."""

from __future__ import annotations

import json

import pytest

from .rules import HTTP_RULES

# Every name a view reads from a form or a query string (grep request.POST / request.GET / forms.py).
FIELDS = ("step", "answer", "id", "mode", "title", "public", "preview", "reveal", "publish", "kind", "code", "until",
          "start", "end", "data", "nodes", "time_axis", "format", "name", "file", "username", "password", "status")
JUNK = ("", "x", "-1", "0", "1e308", "nan", "inf", "9" * 30, "1.5", "\u0661", "\x00", "<b>x</b>", "x" * 5000,
        "[1]", "{}", "null", "true")
JSON_JUNK = (b"", b"{", b"[]", b"null", b'"x"', b"1e999", b'{"id": [1], "answer": {"a": 1}, "step": "x"}',
             b'{"scenario": null, "steps": "x", "step": -1}', b"[" * 40 + b"]" * 40)


def _cases():
    for name, rule in sorted(HTTP_RULES.items()):
        if rule.allowed:
            yield pytest.param(name, id=name)


def _owner_client(school, rule):
    kind = "own" if rule.per_session_kind else None
    if kind:
        path = rule.path(school, kind)
        owner = school.session_of(kind)[1]
    else:
        path = rule.path(school)
        owner = "irene" if rule.owner == "instructor" else "sam"
    role = "owner" if "owner" in rule.allowed else sorted(rule.allowed)[0]
    return school.as_role(role, owner), path


@pytest.mark.parametrize("name", list(_cases()))
def test_junk_in_every_field_gets_an_answer_not_a_server_error(school, name):
    rule = HTTP_RULES[name]
    client, path = _owner_client(school, rule)
    answers = []
    for value in JUNK:  # every field at once, all with the same junk (each view reads the fields it knows)
        data = dict.fromkeys(FIELDS, value)
        response = client.get(path, data) if rule.method == "GET" else client.post(path, data)
        answers.append((f"every field {value[:20]!r}", response.status_code))
    if rule.method == "POST":
        for body in JSON_JUNK:
            response = client.post(path, body, content_type="application/json")
            answers.append((f"JSON {body[:30]!r}", response.status_code))
            response = client.put(path, body, content_type="application/json")
            answers.append((f"PUT {body[:30]!r}", response.status_code))
    errors = [(what, status) for what, status in answers if status >= 500]
    assert errors == [], f"{rule.method} {path}: {json.dumps(errors[:10])}"
