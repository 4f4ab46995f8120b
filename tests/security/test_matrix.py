"""The permission matrix: every route of the URLconf and of the websocket router, against every role.

The rows come from rules.py; test_every_route_has_a_rule makes the URLconf and the websocket routes the source of
truth, so a route added without a rule fails the suite. Session routes are checked for every kind of session (one
started from the home page, a lesson attempt's, a practice run's, a class branch's and a live class's).
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.urls import URLPattern, URLResolver, get_resolver

from dmmviz import asgi

from .conftest import ROLES
from .rules import ADMIN_RULE, HTTP_RULES, SESSION_KINDS, WS_RULES, Rule

ORIGIN = b"http://127.0.0.1:8000"


def url_names(patterns=None, namespace: str | None = None) -> set[str]:
    names: set[str] = set()
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            names |= url_names(p.url_patterns, p.namespace or namespace)
        elif isinstance(p, URLPattern):
            names.add(f"{namespace}:{p.name}" if namespace else str(p.name))
    return names


def ws_routes() -> set[str]:
    return {str(route.pattern) for route in asgi.websocket_urlpatterns}


def test_every_route_has_a_rule():
    """Each named URL (the admin's under one rule) and each websocket route has a row in rules.py, and no row is
    left over for a route that no longer exists."""
    names = {n for n in url_names() if not n.startswith("admin:")}
    assert names - set(HTTP_RULES) == set(), "routes without a rule in tests/security/rules.py"
    assert set(HTTP_RULES) - names == set(), "rules for routes that are gone"
    assert any(n.startswith("admin:") for n in url_names())
    assert ws_routes() - set(WS_RULES) == set(), "websocket routes without a rule in tests/security/rules.py"
    assert set(WS_RULES) - ws_routes() == set()


def test_every_websocket_path_has_exactly_one_route():
    """Who may use a socket never depends on the order of the routes: no path pattern is listed twice."""
    patterns = [str(route.pattern) for route in asgi.websocket_urlpatterns]
    assert len(patterns) == len(set(patterns)), patterns


def refused(response) -> bool:
    if response.status_code in (403, 404):
        return True
    return response.status_code in (301, 302) and "login" in response.get("Location", "")


def check(response, rule: Rule, role: str, what: str) -> None:
    assert response.status_code < 500, f"{what} as {role}: {response.status_code}"
    assert response.status_code not in (405, 429), f"{what} as {role}: {response.status_code} (rule is wrong?)"
    if role in rule.allowed:
        assert not refused(response), f"{what}: {role} should be let in, got {response.status_code}"
    else:
        assert refused(response), f"{what}: {role} should be refused, got {response.status_code}"


def _cases():
    for name, rule in sorted(HTTP_RULES.items()):
        kinds = SESSION_KINDS if rule.per_session_kind else (None,)
        for kind in kinds:
            for role in ROLES:
                yield pytest.param(name, kind, role, id=f"{name}-{kind}-{role}" if kind else f"{name}-{role}")


@pytest.mark.parametrize("name, kind, role", list(_cases()))
def test_http_route(school, name, kind, role):
    rule = HTTP_RULES[name]
    if kind:
        _, owner = school.session_of(kind)
        path = rule.path(school, kind)
    else:
        owner = "irene" if rule.owner == "instructor" else "sam"
        path = rule.path(school)
    client = school.as_role(role, owner)
    data = rule.data(school) if rule.data else {}
    response = client.get(path) if rule.method == "GET" else client.post(path, data)
    check(response, rule, role, f"{rule.method} {path} ({name})")


@pytest.mark.parametrize("role", ROLES)
def test_admin(school, role):
    path = ADMIN_RULE.path(school)
    check(school.as_role(role, "sam").get(path), ADMIN_RULE, role, f"GET {path}")


def _ws_cases():
    for pattern, rule in sorted(WS_RULES.items()):
        for kind in SESSION_KINDS if rule.per_session_kind else (None,):
            for role in ROLES:
                yield pytest.param(pattern, kind, role, id=f"{pattern}-{kind}-{role}" if kind else f"{pattern}-{role}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("pattern, kind, role", list(_ws_cases()))
async def test_websocket_route(school, pattern, kind, role):
    rule = WS_RULES[pattern]

    def prepare():
        if kind:
            owner = school.session_of(kind)[1]
            path = rule.path(school, kind)
        else:
            owner = "irene" if rule.owner == "instructor" else "sam"
            path = rule.path(school)
        client = school.as_role(role, owner)
        cookie = client.cookies.get("sessionid")
        return path, cookie.value if cookie else None

    path, sessionid = await sync_to_async(prepare)()
    headers = [(b"origin", ORIGIN), (b"host", b"127.0.0.1:8000")]
    if sessionid:
        headers.append((b"cookie", f"sessionid={sessionid}".encode()))
    comm = WebsocketCommunicator(asgi.application, path, headers=headers)
    connected, _ = await comm.connect(timeout=10)
    assert connected
    first = await comm.receive_json_from(timeout=10)
    let_in = first.get("type") in ("snapshot", "class") and not first.get("missing")
    if role in rule.allowed:
        assert let_in, f"{path}: {role} should be let in, got {first}"
    else:
        assert not let_in and first.get("type") == "error", f"{path}: {role} should be refused, got {first}"
        closed = await comm.receive_output(timeout=10)
        assert closed["type"] == "websocket.close" and closed["code"] in (4403, 4404)
    await comm.disconnect()
