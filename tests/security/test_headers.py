"""Headers: a Content-Security-Policy that allows scripts from this site's files only (so no template may carry an
inline script or an on* handler), Referrer-Policy, and secure cookies with HSTS when DMMVIZ_HTTPS says so."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted([*ROOT.glob("templates/**/*.html"), *ROOT.glob("dmmviz/*/templates/**/*.html")])


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in header.split(";")) if d}


@pytest.mark.parametrize("path", ["/", "/lessons/", "/class/", "/compare/", "/accounts/login/"])
def test_pages_carry_the_policy_and_referrer_policy(school, path):
    response = school.client("sam").get(path)
    assert response.status_code == 200
    csp = policy(response)
    assert csp["script-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_session_page_carries_the_policy(school):
    response = school.client("sam").get(f"/s/{school.own_session.id}/")
    assert policy(response)["script-src"] == ["'self'"] and policy(response)["connect-src"] == ["'self'"]


def test_templates_have_no_inline_script_nor_event_handler_attributes():
    assert TEMPLATES, "no templates found"
    problems = []
    for template in TEMPLATES:
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b[^>]*>", text, re.I):
            if "src=" not in match.group(0):
                problems.append(f"{template.relative_to(ROOT)}: inline {match.group(0)}")
        for match in re.finditer(r"<[a-z][^>]*\s(on[a-z]+)\s*=", text, re.I):
            problems.append(f"{template.relative_to(ROOT)}: {match.group(1)}= attribute")
        if re.search(r"href\s*=\s*[\"']javascript:", text, re.I):
            problems.append(f"{template.relative_to(ROOT)}: javascript: link")
    assert problems == []


def settings_with(**env: str) -> dict:
    code = ("import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({k: "
            "getattr(s, k, None) for k in ['SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', "
            "'SECURE_PROXY_SSL_HEADER', 'CSRF_TRUSTED_ORIGINS']}))")
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "dmmviz.settings", **env}
    environment.pop("DMMVIZ_HTTPS", None) if "DMMVIZ_HTTPS" not in env else None
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(out.stdout)


def test_https_setting_makes_cookies_secure_and_sends_hsts():
    plain = settings_with()
    assert plain["SESSION_COOKIE_SECURE"] is False and not plain["SECURE_HSTS_SECONDS"]
    https = settings_with(DMMVIZ_HTTPS="1", DMMVIZ_ALLOWED_HOSTS="dmm.example.edu")
    assert https["SESSION_COOKIE_SECURE"] is True and https["CSRF_COOKIE_SECURE"] is True
    assert https["SECURE_HSTS_SECONDS"] >= 180 * 24 * 3600
    assert https["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert "https://dmm.example.edu" in https["CSRF_TRUSTED_ORIGINS"]


def test_hsts_header_is_sent_over_https(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/protocol.js", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/protocol.js")
