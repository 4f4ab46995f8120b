"""Limits at the server's edge: one JSON parser for every input, and a cap on request bodies.

Every door that reads JSON from a user (websocket frames, scenario upload, lesson import, the lesson API, practice
answers) parses it with `loads`, which refuses, with a message naming the problem, what the standard parser would
turn into a 500 or a runaway: an integer with more digits than MAX_INT_DIGITS (Python's 4,300-digit limit raises a
bare ValueError), a number the float cannot hold (1e999 becomes inf), NaN/Infinity, and nesting deeper than
MAX_DEPTH (100,000 brackets raise RecursionError). `BodyLimit` wraps the ASGI application so that a request body
larger than `body_limit()` is answered 413 before the application reads it; under Daphne the server entry point
refuses it even earlier, before Daphne reads it into memory (dmmviz/server.py).

Nothing here imports Django at module level, so the protocol module and the engine's callers can use `loads` too.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any

# Integers: at most 20 digits (a signed 64-bit integer has 19; SQLite, PostgreSQL's bigint and orjson all stop there).
MAX_INT_DIGITS = 20
# Nesting: objects and arrays at most 32 deep. A scenario is about 5 deep, a lesson about 7.
MAX_DEPTH = 32
# A request body: 1 MiB. Uploads are checked again by their own, lower limit (DMMVIZ_MAX_SCENARIO_BYTES).
MAX_BODY_BYTES = 1024 * 1024


class JSONInputError(ValueError):
    """Input that is not JSON we accept; `message` says why, for people (no traceback, no Python repr)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]')


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Refuse text whose brackets nest deeper than `limit` (brackets inside strings do not count). One C-speed scan:
    the only Python work is per bracket or string, so a 16 KiB frame costs microseconds."""
    if text.count("[") + text.count("{") <= limit:
        return
    depth = 0
    for match in _BRACKETS.finditer(text):
        c = match.group()[0]
        if c in "[{":
            depth += 1
            if depth > limit:
                raise JSONInputError(f"nested more than {limit} levels deep (objects and arrays)")
        elif c in "]}":
            depth -= 1


def _parse_int(digits: str) -> int:
    count = len(digits.lstrip("-"))
    if count > MAX_INT_DIGITS:
        raise JSONInputError(f"an integer has {count} digits; at most {MAX_INT_DIGITS} are accepted")
    return int(digits)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError(f"the number {text[:30]}{'…' if len(text) > 30 else ''} is too large")
    return value


def _parse_constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not a JSON number")


def loads(text: str | bytes) -> Any:
    """Parse JSON text within the limits above; raise JSONInputError saying what is wrong (with line and column
    for a syntax error)."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JSONInputError(f"not UTF-8 text (byte {exc.start})") from None
    check_depth(text)
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:  # not reached after check_depth; kept so no traceback can ever come from here
        raise JSONInputError(f"nested more than {MAX_DEPTH} levels deep (objects and arrays)") from None
    if _SURROGATE_ESCAPE.search(text):  # only then look closer: "\\ud800" escapes a backslash, not a surrogate
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise JSONInputError("a string has a lone surrogate (an escape such as \\ud800 alone): not Unicode "
                                 "text, which no page or database can hold") from None
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


# -- request bodies ------------------------------------------------------------------------------------------------

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class BodyTooLarge(Exception):
    pass


def body_limit() -> int:
    """The largest request body the server reads, in bytes: settings.DMMVIZ_MAX_BODY_BYTES (default MAX_BODY_BYTES).
    Daphne's HTTP channel (dmmviz/server.py) and BodyLimit below both refuse past it."""
    from django.conf import settings

    return int(getattr(settings, "DMMVIZ_MAX_BODY_BYTES", MAX_BODY_BYTES))


class BodyLimit:
    """ASGI middleware: an HTTP request whose Content-Length is over `limit` is answered 413 without reading its body;
    one without a Content-Length (chunked) is counted as it streams in and cut off with 413 once over the limit."""

    def __init__(self, app: Callable[..., Awaitable[None]], limit: int | None = None) -> None:
        self.app = app
        self.limit = limit

    def _limit(self) -> int:
        return self.limit if self.limit is not None else body_limit()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit()
        length = None
        for name, value in scope.get("headers", ()):
            if name.lower() == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    await _refuse(send, 400, "Content-Length is not a number")
                    return
        if length is not None and length > limit:
            await _refuse(send, 413, too_large_text(length, limit))
            return
        received = 0
        started = False

        async def counted_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await _refuse(send, 413, too_large_text(received, limit, more=True))


def too_large_text(size: int, limit: int, more: bool = False) -> str:
    """The sentence of a 413 answer (ASGI BodyLimit and Daphne's channel in dmmviz/server.py say the same)."""
    return (f"The request body is {'over ' if more else ''}{size // 1024} KiB; this server accepts at most "
            f"{limit // 1024} KiB.")


async def _refuse(send: Send, status: int, text: str) -> None:
    body = f"{status} {text}\n".encode()
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": body})
