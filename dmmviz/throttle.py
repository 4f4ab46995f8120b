"""Rate limits on what a guesser or a flood would use: wrong class codes, sign-ups and scenario uploads.

Counts live in Django's cache in fixed windows (``settings.DMMVIZ_RATES``: name -> (count, seconds)). The cache is
per process unless ``DMMVIZ_CACHE_URL`` names a shared one (docs/security.md). Log-in failures are django-axes's job
(settings.AXES_*): it locks the account, never the address a whole class shares.

Class codes: every route with a ``<code>`` in its path, and the join form, count the *wrong* codes per client address
(``ThrottleMiddleware``); the class sockets do the same (``socket_refusal``). Past the limit the answer is 429 with
Retry-After. The limit is set so that a classroom behind one NAT address never reaches it by typing mistakes (200 wrong
codes in 15 minutes), while finding one of 10 live classes among 31**8 codes at that pace takes one address about
12,000 years on average. Sign-ups and uploads: ``POST_LIMITS``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse

CLASS_CODE = "class_code"
SIGNUP = "signup"
UPLOAD = "upload"
UPLOAD_PER_UPLOADER = "upload_per_uploader"


def _rate(name: str) -> tuple[int, int]:
    count, seconds = settings.DMMVIZ_RATES[name]
    return int(count), int(seconds)


def client_address(source: Any) -> str:
    """The client's address from a request or an ASGI scope. Behind a reverse proxy, run Daphne with --proxy-headers
    so that this is the browser's address, not the proxy's (docs/security.md)."""
    if isinstance(source, dict):
        client = source.get("client") or ("unknown", 0)
        return str(client[0])
    return str(source.META.get("REMOTE_ADDR") or "unknown")


def _key(name: str, ident: str, seconds: int, now: float) -> str:
    return f"dmmviz:rate:{name}:{ident}:{int(now // seconds)}"


def retry_after(name: str, ident: str) -> int | None:
    """Seconds until ``ident`` may try again if it has used up the ``name`` rate in this window; None if it may now."""
    count, seconds = _rate(name)
    now = time.time()
    if (cache.get(_key(name, ident, seconds, now)) or 0) < count:
        return None
    return max(1, math.ceil(seconds - now % seconds))


def hit(name: str, ident: str) -> None:
    """Count one use (or one failure) of ``ident`` against the ``name`` rate."""
    _, seconds = _rate(name)
    key = _key(name, ident, seconds, time.time())
    if not cache.add(key, 1, seconds + 1):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, seconds + 1)


def too_many(wait: int, message: str, *, json: bool = False) -> HttpResponse:
    """A 429 with Retry-After, in words a student understands."""
    text = f"{message} Try again in {wait} s."
    response: HttpResponse = (
        JsonResponse({"error": text, "retry_after": wait}, status=429)
        if json else HttpResponse(text, status=429, content_type="text/plain; charset=utf-8")
    )
    response["Retry-After"] = str(wait)
    return response


WRONG_CODES = "Too many wrong class codes from this network."


def uploader(request: HttpRequest) -> str:
    """Whom an upload counts against: the account, or the browser session (or the address without one)."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"key:{request.session.session_key or client_address(request)}"


# POSTs to these routes (namespace:name) count against these rates, by these identities: one table, so a new limit
# is one line here and no view needs a decorator.
POST_LIMITS: dict[str, list[tuple[str, Callable[[HttpRequest], str], str]]] = {
    "lessons:signup": [(SIGNUP, client_address, "Too many sign-ups from this network.")],
    "home": [
        (UPLOAD, client_address, "Too many uploads from this network."),
        (UPLOAD_PER_UPLOADER, uploader, "Too many uploads."),
    ],
}


def _is_class_code_route(request: HttpRequest) -> bool:
    match = request.resolver_match
    if match is None or match.namespace != "lessons":
        return False
    return "code" in match.kwargs or match.url_name == "class_join"


class ThrottleMiddleware:
    """Count wrong class codes (a 404 on a class route, or a refused join form) per client address, and the POSTs of
    POST_LIMITS; 429 with Retry-After past a limit.

    A middleware rather than a decorator on each view, so a new class route is covered without anyone remembering.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # resolver_match is known now; a wrong code is a 404 on a class route, or the join form refused (400).
        if _is_class_code_route(request) and response.status_code in (400, 404):
            hit(CLASS_CODE, client_address(request))
        return response

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        route = request.resolver_match.view_name if request.resolver_match else ""
        if request.method == "POST" and route in POST_LIMITS:
            for name, ident_of, message in POST_LIMITS[route]:
                wait = retry_after(name, ident_of(request))
                if wait is not None:
                    return too_many(wait, message)
            for name, ident_of, _ in POST_LIMITS[route]:
                hit(name, ident_of(request))
        if not _is_class_code_route(request):
            return None
        wait = retry_after(CLASS_CODE, client_address(request))
        if wait is None:
            return None
        return too_many(wait, WRONG_CODES, json=request.path.endswith(".json"))


def socket_refusal(scope: dict[str, Any]) -> int | None:
    """For the class sockets: seconds to wait if this address has used up its wrong codes; None if it may try."""
    return retry_after(CLASS_CODE, client_address(scope))


def socket_wrong_code(scope: dict[str, Any]) -> None:
    hit(CLASS_CODE, client_address(scope))
