"""ServiceMiddleware: a page whose database or Redis is away or stalled gets a clear 503 within seconds, never a 500
or a request that hangs.

It is first in MIDDLEWARE and async, so it can stop waiting: the rest of the chain (sync views in Django's thread)
runs under `asyncio.wait_for` with DMMVIZ_PAGE_TIMEOUT seconds. A new database connection gives up after the
connect timeout in settings.DATABASES (a stalled PostgreSQL that accepts and never answers); a stalled query on an
open connection is what the wait bounds. DatabaseError and Redis errors raised by a view become the same 503, and
the engine's TooMuchWork (a page's run over its work budget) a 422 that says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from .budget import TooMuchWork, too_much_work_response

try:
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover
    RedisError = OSError  # type: ignore[misc,assignment]

log = logging.getLogger("dmmviz.web")

UNAVAILABLE_TEXT = (
    "503 Service Unavailable\n\nThe server's database or message service is not answering just now; nothing was "
    "changed. Try again in a few seconds.\n"
)


# A page over its time limit: its view may still be running in a worker thread (a thread cannot be stopped), so what it
# was asked to do may yet be done; it must not say "nothing was changed" (a class start that took too long did start).
SLOW_TEXT = (
    "503 Service Unavailable\n\nThe server is not answering within {timeout:g} s: it is busy, or its database is slow. "
    "What you asked may still be done: reload the page to see before trying again.\n"
)


def unavailable(text: str = UNAVAILABLE_TEXT) -> HttpResponse:
    response = HttpResponse(text, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = "5"
    return response


class ServiceMiddleware:
    async_capable = True
    sync_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponse]]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        timeout = float(getattr(settings, "DMMVIZ_PAGE_TIMEOUT", 8.0))
        try:
            return await asyncio.wait_for(self.get_response(request), timeout)
        except TimeoutError:
            log.warning("%s %s: no answer within %g s (busy, or the database stalled): 503", request.method,
                        request.path, timeout)
            return unavailable(SLOW_TEXT.format(timeout=timeout))
        except (DatabaseError, RedisError, ConnectionError) as exc:
            log.warning("%s %s: %s: %s: 503", request.method, request.path, type(exc).__name__, str(exc)[:200])
            return unavailable()

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """An exception inside a view is turned into a response by Django before it reaches __call__: catch the
        service errors here."""
        if isinstance(exception, (DatabaseError, RedisError, ConnectionError)):
            log.warning("%s %s: %s: %s: 503", request.method, request.path, type(exception).__name__,
                        str(exception)[:200])
            return unavailable()
        if isinstance(exception, TooMuchWork):
            # An export, compare, practice or lesson page whose engine run went over its budget (simulator/limits.py):
            # a clear 422 naming the reason, never a 500. Views may catch it themselves to answer in their own form.
            log.info("%s %s: %s: 422", request.method, request.path, exception)
            return too_much_work_response(exception, request)
        return None
