"""A request Django refuses before any view runs (too many form fields or files, a body over
DATA_UPLOAD_MAX_MEMORY_SIZE, a host not in ALLOWED_HOSTS, a malformed multipart body) is the client's doing.

- ``bad_request`` (``handler400`` in dmmviz/urls.py) answers 400 with a sentence that names the limit, as text for a
  browser's form and as ``{"error", "field"}`` JSON like the app's other 400s for a client that asked for JSON;
  Django's own page said "Bad Request (400)" and nothing else.
- ``OneLine`` (settings.LOGGING, the ``django.security`` loggers) logs such a request as one warning line: Django
  logged it at ERROR with two tracebacks, so a script sending 1,001 form fields filled the server's log with what
  looked like crashes.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousMultipartForm,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, JsonResponse


def explanation(exception: Exception | None) -> str:
    """What was wrong with the request, for the person or script that sent it."""
    if isinstance(exception, TooManyFieldsSent):
        return f"the request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} form fields"
    if isinstance(exception, TooManyFilesSent):
        return f"the request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} files"
    if isinstance(exception, RequestDataTooBig):
        return f"the request's form data is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024:,} KiB"
    if isinstance(exception, DisallowedHost):
        return "the request's Host header names a host this server does not serve"
    if isinstance(exception, SuspiciousMultipartForm):
        return "the request's multipart form data is malformed"
    return "the request is malformed"


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    text = explanation(exception)
    if "application/json" in request.headers.get("Accept", "") or request.content_type == "application/json":
        return JsonResponse({"error": text, "field": None}, status=400)
    return HttpResponse(f"400 Bad request: {text}.\n", status=400, content_type="text/plain; charset=utf-8")


class OneLine(logging.Filter):
    """Drops the traceback of a record (the request was refused; nothing in the server went wrong) and lowers it to
    a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
