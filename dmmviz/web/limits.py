"""Limits at the server's edge: one JSON parser for every input, and a cap on request bodies.

Every door that reads JSON from a user (websocket frames, scenario upload, lesson import, the lesson API, practice
answers) parses it with `loads` (simulator/jsonin.py, which the command line uses for its files too), refusing with a
message naming the problem what the standard parser would turn into a 500 or a runaway. `BodyLimit` wraps the ASGI
application so that a request body larger than `body_limit()` is answered 413 before the application reads it; under
Daphne the server entry point refuses it even earlier, before Daphne reads it into memory (dmmviz/server.py).

Nothing here imports Django at module level, so the protocol module and the engine's callers can use `loads` too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

# The JSON parser is the engine's (the command line reads files with it too); its names stay importable from here.
from simulator.jsonin import MAX_DEPTH, MAX_INT_DIGITS, JSONInputError, check_depth, loads  # noqa: F401

# A request body: 1 MiB. Uploads are checked again by their own, lower limit (DMMVIZ_MAX_SCENARIO_BYTES).
MAX_BODY_BYTES = 1024 * 1024


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
