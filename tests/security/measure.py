"""Measure the rate limits of a running dmmviz against what issue 11 found (220 wrong class codes/s answered, logins
at 9/s with no lock-out). Not a test: run it against a server you started, with an account you may lock for a while.

    .venv/bin/python tests/security/measure.py http://127.0.0.1:8765 USER PASSWORD

Prints how many wrong class codes got an answer before the 429s began (and Retry-After), and the statuses of seven
wrong passwords followed by the right one.
"""

from __future__ import annotations

import collections
import http.cookiejar
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def get(base: str, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(base + path, timeout=5) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def login(base: str, user: str, password: str) -> int:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect())
    page = opener.open(base + "/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": user, "password": password, "csrfmiddlewaretoken": token}).encode()
    referer = {"Referer": base + "/accounts/login/"}
    request = urllib.request.Request(base + "/accounts/login/", data=data, headers=referer)
    try:
        return opener.open(request).status
    except urllib.error.HTTPError as exc:
        return exc.code


def main(base: str, user: str, password: str) -> None:
    counts: collections.Counter[int] = collections.Counter()
    first_429 = None
    n, start = 0, time.time()
    while time.time() - start < 5:
        status, headers = get(base, f"/class/ZZZZZZ{n % 90:02d}/info.json")
        n += 1
        counts[status] += 1
        if status == 429 and first_429 is None:
            first_429 = (n, headers.get("Retry-After"))
    at, wait = first_429 or ("-", "-")
    print(f"wrong class codes through info.json for 5 s: {n} requests ({n / 5:.0f}/s), statuses {dict(counts)}; "
          f"first 429 at request {at} (Retry-After {wait} s)")
    wrong = [login(base, user, "wrong-password") for _ in range(7)]
    print(f"7 wrong passwords for {user}: {wrong}; then the right one: {login(base, user, password)}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
