"""Who may use each route: the permission matrix's rows. A route in the URLconf or the websocket routes without a rule
here fails tests/security/test_matrix.py, so a new door cannot open without someone deciding who may walk through.

Each rule: (method, path maker, who is allowed, whose object the path names).
- who: a set of roles (conftest.ROLES), or EVERYONE.
- owner: "student" (sam owns it) or "instructor" (irene owns it): which person the "owner" role is.
Allowed means not refused: no 403, no 404, no redirect to a log-in page. Refused means exactly one of those.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

EVERYONE = frozenset({"anonymous", "student", "other_student", "owner", "instructor"})
OWNER = frozenset({"owner"})
INSTRUCTORS = frozenset({"owner", "instructor"})  # on instructor-owned objects: the owner is an instructor too
LOGGED_IN = frozenset({"student", "other_student", "owner", "instructor"})
NOBODY = frozenset()

SESSION_KINDS = ("own", "attempt", "practice", "branch", "class")


@dataclass(frozen=True)
class Rule:
    method: str
    path: Callable[[Any], str]  # School -> path
    allowed: frozenset[str]
    owner: str = "student"
    data: Callable[[Any], dict] | None = None
    per_session_kind: bool = False  # the path takes a session: check it for every kind of session


def _session(fmt: str = "") -> Callable[[Any, str], str]:
    return lambda school, kind: f"/s/{school.session_of(kind)[0].id}/{fmt}"


L = lambda s: s.lesson.slug  # noqa: E731
C = lambda s: s.live_class.code  # noqa: E731

HTTP_RULES: dict[str, Rule] = {
    # the site
    "healthz": Rule("GET", lambda s: "/healthz", EVERYONE),
    "home": Rule("GET", lambda s: "/", EVERYONE),
    "protocol_js": Rule("GET", lambda s: "/protocol.js", EVERYONE),
    "compare_index": Rule("GET", lambda s: "/compare/", EVERYONE),
    "compare": Rule("GET", lambda s: f"/compare/{s.upload.slug}/", OWNER),  # a private upload's comparison
    "metrics_doc": Rule("GET", lambda s: "/docs/metrics/", EVERYONE),
    "compare_watch": Rule("POST", lambda s: f"/compare/{s.upload.slug}/watch/", OWNER,
                          data=lambda s: {"mode": "client-dmm"}),
    # scenarios: a private upload is its uploader's; an instructor publishes their own
    "session_new": Rule("POST", lambda s: f"/scenarios/{s.upload.slug}/start/", OWNER),
    "scenario_rename": Rule("POST", lambda s: f"/scenarios/{s.upload.slug}/rename/", OWNER,
                            data=lambda s: {"title": "x"}),
    "scenario_delete": Rule("POST", lambda s: f"/scenarios/{s.upload.slug}/delete/", OWNER),
    "scenario_publish": Rule("POST", lambda s: f"/scenarios/{s.instructor_upload.slug}/publish/", OWNER, "instructor"),
    # sessions, for every kind of session (the class's belongs to its instructor)
    "session": Rule("GET", _session(), OWNER, per_session_kind=True),
    "session_export": Rule("GET", _session("export/trace/"), OWNER, per_session_kind=True),
    "session_sequence": Rule("GET", _session("sequence.json"), OWNER, per_session_kind=True),
    # lessons: published ones are for everyone; instructors author; owners change theirs
    "lessons:list": Rule("GET", lambda s: "/lessons/", EVERYONE),
    "lessons:new": Rule("POST", lambda s: "/lessons/new/", INSTRUCTORS, "instructor"),
    "lessons:import": Rule("POST", lambda s: "/lessons/import/", INSTRUCTORS, "instructor"),
    "lessons:shared": Rule("GET", lambda s: f"/lessons/shared/{s.lesson.share_token}/", EVERYONE, "instructor"),
    "lessons:api_validate": Rule("POST", lambda s: "/lessons/api/validate/", INSTRUCTORS, "instructor"),
    "lessons:api_simulate": Rule("POST", lambda s: "/lessons/api/simulate/", INSTRUCTORS, "instructor"),
    "lessons:api_kinds": Rule("GET", lambda s: "/lessons/api/kinds/", EVERYONE),
    "lessons:api_lesson": Rule("GET", lambda s: f"/lessons/api/{L(s)}/", EVERYONE, "instructor"),
    "lessons:detail": Rule("GET", lambda s: f"/lessons/{L(s)}/", EVERYONE, "instructor"),
    "lessons:start": Rule("POST", lambda s: f"/lessons/{L(s)}/start/", EVERYONE, "instructor"),
    "lessons:edit": Rule("GET", lambda s: f"/lessons/{L(s)}/edit/", OWNER, "instructor"),
    "lessons:duplicate": Rule("POST", lambda s: f"/lessons/{L(s)}/duplicate/", INSTRUCTORS, "instructor"),
    "lessons:publish": Rule("POST", lambda s: f"/lessons/{L(s)}/publish/", OWNER, "instructor"),
    "lessons:delete": Rule("POST", lambda s: f"/lessons/{L(s)}/delete/", OWNER, "instructor"),
    "lessons:export": Rule("GET", lambda s: f"/lessons/{L(s)}/lesson.json", EVERYONE, "instructor"),
    "lessons:export_scenario": Rule("GET", lambda s: f"/lessons/{L(s)}/scenario.json", EVERYONE, "instructor"),
    "lessons:results": Rule("GET", lambda s: f"/lessons/{L(s)}/results/", OWNER, "instructor"),
    "lessons:results_csv": Rule("GET", lambda s: f"/lessons/{L(s)}/results.csv", OWNER, "instructor"),
    "lessons:class_start": Rule("POST", lambda s: f"/lessons/{L(s)}/class/", INSTRUCTORS, "instructor"),
    "lessons:practice_lesson": Rule("POST", lambda s: f"/lessons/{L(s)}/practice/", EVERYONE, "instructor"),
    # a student's own attempt and practice
    "lessons:attempt": Rule("GET", lambda s: f"/lessons/attempt/{s.attempt.id}/", OWNER),
    "lessons:attempt_go": Rule("POST", lambda s: f"/lessons/attempt/{s.attempt.id}/go/", OWNER,
                               data=lambda s: {"step": "1"}),
    "lessons:attempt_answer": Rule("POST", lambda s: f"/lessons/attempt/{s.attempt.id}/answer/", OWNER),
    "lessons:practice_attempt": Rule("POST", lambda s: f"/lessons/attempt/{s.attempt.id}/practice/", OWNER),
    "lessons:practice_scenario": Rule("POST", lambda s: "/practice/scenario/fig5-handover/", EVERYONE),
    "lessons:practice": Rule("GET", lambda s: f"/practice/{s.practice.id}/", OWNER),
    "lessons:practice_question": Rule("POST", lambda s: f"/practice/{s.practice.id}/question/", OWNER),
    "lessons:practice_answer": Rule("POST", lambda s: f"/practice/{s.practice.id}/answer/", OWNER),
    # a live class: anyone with the code follows, answers and branches; only its instructor teaches
    "lessons:class_join": Rule("GET", lambda s: "/class/", EVERYONE),
    "lessons:class_follow": Rule("GET", lambda s: f"/class/{C(s)}/", EVERYONE, "instructor"),
    "lessons:class_info": Rule("GET", lambda s: f"/class/{C(s)}/info.json", EVERYONE, "instructor"),
    "lessons:class_export": Rule("GET", lambda s: f"/class/{C(s)}/export/trace/", EVERYONE, "instructor"),
    "lessons:class_sequence": Rule("GET", lambda s: f"/class/{C(s)}/sequence.json", EVERYONE, "instructor"),
    "lessons:class_answer": Rule("POST", lambda s: f"/class/{C(s)}/answer/", EVERYONE, "instructor"),
    "lessons:class_branch": Rule("POST", lambda s: f"/class/{C(s)}/branch/", EVERYONE, "instructor"),
    "lessons:class_teach": Rule("GET", lambda s: f"/class/{C(s)}/teach/", OWNER, "instructor"),
    "lessons:class_step": Rule("POST", lambda s: f"/class/{C(s)}/step/", OWNER, "instructor",
                               data=lambda s: {"step": "1"}),
    "lessons:class_end": Rule("POST", lambda s: f"/class/{C(s)}/end/", OWNER, "instructor"),
    "lessons:class_reveal": Rule("POST", lambda s: f"/class/{C(s)}/reveal/", OWNER, "instructor"),
    "lessons:class_stats": Rule("GET", lambda s: f"/class/{C(s)}/teach/stats.json", OWNER, "instructor"),
    "lessons:class_branch_page": Rule("GET", lambda s: f"/class/{s.branch.live_class.code}/branch/{s.branch.id}/",
                                      OWNER),
    # accounts
    "lessons:login": Rule("GET", lambda s: "/accounts/login/", EVERYONE),
    "lessons:logout": Rule("POST", lambda s: "/accounts/logout/", EVERYONE),
    "lessons:signup": Rule("GET", lambda s: "/accounts/signup/", EVERYONE),
}

# The admin: staff only, and none of the five roles is staff (superusers: tests/security/test_access.py).
ADMIN_RULE = Rule("GET", lambda s: f"/admin/web/simsession/{s.own_session.id}/change/", NOBODY)

# Websocket routes, keyed by their route pattern.
WS_RULES: dict[str, Rule] = {
    "ws/session/<uuid:session_id>/": Rule("WS", lambda s, kind: f"/ws/session/{s.session_of(kind)[0].id}/", OWNER,
                                          per_session_kind=True),
    "ws/class/<str:code>/": Rule("WS", lambda s: f"/ws/class/{C(s)}/", EVERYONE, "instructor"),
    "ws/class/<str:code>/events/": Rule("WS", lambda s: f"/ws/class/{C(s)}/events/", EVERYONE, "instructor"),
    "^ws/": Rule("WS", lambda s: "/ws/nothing-here/", NOBODY),  # the catch-all: a clear error for everyone
}
