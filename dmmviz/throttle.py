"""Rate limits on what a guesser or a flood would use: wrong class codes, sign-ups and scenario uploads.

Counts live in Django's cache in fixed windows (``settings.DMMVIZ_RATES``: name -> (count, seconds)). The cache is
per process unless ``DMMVIZ_CACHE_URL`` names a shared one (docs/security.md). Log-in failures are django-axes's job
(settings.AXES_*): it locks the account, never the address a whole class shares.

Class codes: every route with a ``<code>`` in its path, and the join form, count the *wrong* codes per client address
(``ClassCodeThrottleMiddleware``); the class sockets do the same (``socket_refusal``). Past the limit the answer is
429 with Retry-After. The limit is set so that a classroom behind one NAT address never reaches it by typing mistakes
(200 wrong codes in 15 minutes), while guessing an 8-character code at that pace would take longer than the universe.
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


def limit(name: str, ident_of: Callable[[HttpRequest], str], message: str, *, method: str = "POST") -> Callable:
    """Decorator: refuse (429) a view's ``method`` requests past the ``name`` rate, counting every one that got through."""

    def decorate(view: Callable) -> Callable:
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == method:
                ident = ident_of(request)
                wait = retry_after(name, ident)
                if wait is not None:
                    return too_many(wait, message)
                hit(name, ident)
            return view(request, *args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = view.__name__, view.__doc__
        wrapper.__wrapped__ = view  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _is_class_code_route(request: HttpRequest) -> bool:
    match = request.resolver_match
    if match is None or match.namespace != "lessons":
        return False
    return "code" in match.kwargs or match.url_name == "class_join"


class ClassCodeThrottleMiddleware:
    """Count wrong class codes (a 404 on a class route, or a refused join form) per client address; 429 past the limit.

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
