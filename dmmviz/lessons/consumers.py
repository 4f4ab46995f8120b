"""Websocket consumers of the lessons app, built on the web app's SessionConsumer (dmmviz/web/consumers.py). The lessons
app depends on the web app, never the other way. Lesson sessions themselves (attempts, practice, branches, a class's
session for its instructor) go through the web app's one /ws/session/<uuid>/ route and dmmviz/access.py's rule.

- ``ClassFollowerConsumer`` serves ``/ws/class/<code>/``: a student watching a live class gets the class session's
  ``snapshot`` and ``events`` (the same channel-layer group as the instructor's tab, so it works across Daphne
  processes with REDIS_URL) and may only say ``hello``. The instructor's session id is never sent to followers.
- ``ClassEventsConsumer`` serves ``/ws/class/<code>/events/``: the class itself (its lesson step, ended) for the
  lesson panels of the instructor and the students.

Wrong class codes count against the client address (dmmviz/throttle.py); past the limit the socket is refused with
``rate_limited`` and close code 4429.

The follower consumer also answers ``lessons.resync`` group messages (sent by classroom.resync after the server
changed a session's row, e.g. the instructor moved the class to another step) with a fresh snapshot.
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dmmviz import protocol, throttle
from dmmviz.protocol import ClientMessage, ClientType, ErrorCode, ProtocolError
from dmmviz.web.consumers import SessionConsumer, TokenBucket
from dmmviz.web.guard import Refusable
from dmmviz.web.guard import refuse as refuse_socket

from . import classroom

CLOSE_RATE_LIMITED = 4429


async def _code_refused(consumer: Any) -> bool:
    """Refuse the socket (and say when to retry) if this address has used up its wrong class codes."""
    wait = throttle.socket_refusal(consumer.scope)
    if wait is None:
        return False
    await refuse_socket(consumer, ErrorCode.RATE_LIMITED, f"{throttle.WRONG_CODES} Try again in {wait} s.",
                        CLOSE_RATE_LIMITED)
    return True


class ClassFollowerConsumer(Refusable, SessionConsumer):
    """A student following a live class: the class session's updates, read-only."""

    async def connect(self) -> None:
        self.code = str(self.scope["url_route"]["kwargs"]["code"]).upper()
        self.bucket = TokenBucket(PANEL_FRAMES_PER_SECOND, PANEL_BURST)
        if await _code_refused(self):
            return
        session_id = await database_sync_to_async(classroom.session_of_code)(self.code)
        if session_id is None:
            throttle.socket_wrong_code(self.scope)
            await refuse_socket(self, ErrorCode.SESSION_NOT_FOUND, f"there is no live class {self.code[:12]!r}",
                                protocol.CLOSE_SESSION_NOT_FOUND)
            return
        self.scope["url_route"]["kwargs"]["session_id"] = session_id
        await super().connect()
        # The class's own news too (classroom.notify): when it ends, the follower stops seeing the instructor's
        # session, which the instructor may go on using
        self.class_group = classroom.class_group(self.code)
        await self.channel_layer.group_add(self.class_group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "class_group"):
            await self.channel_layer.group_discard(self.class_group, self.channel_name)
        await super().disconnect(code)

    async def class_changed(self, event: dict[str, Any]) -> None:
        if not event["info"].get("active", True):
            await self.send(text_data=json.dumps(protocol.error_message(ProtocolError(
                code=ErrorCode.SESSION_NOT_FOUND, message=f"the class {self.code} has ended"))))
            await self.close(code=protocol.CLOSE_SESSION_NOT_FOUND)

    async def refuse(self, message: ClientMessage) -> None:
        raise ProtocolError(
            code=ErrorCode.READ_ONLY,
            message="you are following the class: only the instructor moves it. Branch off to explore on your own.",
        )

    async def hello(self, message: ClientMessage) -> None:
        if message.fields.get("session") == f"class-{self.code}":  # the name its snapshots give the session
            message.fields.pop("session")
        await SessionConsumer.hello(self, message)

    HANDLERS = dict.fromkeys(ClientType, refuse) | {ClientType.HELLO: hello}

    def _snapshot_message(self, cause: str, current: Any) -> dict[str, Any]:
        message = super()._snapshot_message(cause, current)
        message["session"] = f"class-{self.code}"  # the instructor's session id stays with the instructor
        return message

    async def session_update(self, event: dict[str, Any]) -> None:
        text = event["text"]
        if text.startswith('{"v":1,"type":"snapshot"'):
            message = json.loads(text)
            message["session"] = f"class-{self.code}"
            event = {**event, "text": json.dumps(message, separators=(",", ":"))}
        await super().session_update(event)

    async def lessons_resync(self, event: dict[str, Any]) -> None:
        await self._send_snapshot("resync", None)


PANEL_FRAMES_PER_SECOND = 2.0  # a class panel's frames (each asks for the class as it is now)
PANEL_BURST = 10


class ClassEventsConsumer(AsyncJsonWebsocketConsumer):
    """The class as a whole: {"type": "class", "code", "step", "active", "title"} now and on every change."""

    async def connect(self) -> None:
        self.code = str(self.scope["url_route"]["kwargs"]["code"]).upper()
        self.bucket = TokenBucket(PANEL_FRAMES_PER_SECOND, PANEL_BURST)
        if await _code_refused(self):
            return
        info = await database_sync_to_async(classroom.class_info)(self.code)
        await self.accept()
        if info is None:
            throttle.socket_wrong_code(self.scope)
            await self.send_json({"type": "class", "code": self.code, "active": False, "missing": True})
            await self.close(code=protocol.CLOSE_SESSION_NOT_FOUND)
            return
        self.group = classroom.class_group(self.code)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json(info)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        # Nothing to ask but the current state of the class: any frame asks it, and is not even read (the JSON
        # consumer's parser answered a frame that was not JSON with a traceback and close code 1011). The page never
        # asks (the class comes to it on every change), so a few a second are plenty; past that a frame is dropped,
        # with one error a second.
        if not self.bucket.take():
            if self.bucket.warn():
                await self.send_json({"type": "error", "code": ErrorCode.RATE_LIMITED,
                                      "message": f"more than {PANEL_BURST} frames at once or "
                                                 f"{PANEL_FRAMES_PER_SECOND:g} a second; this one was dropped"})
            return
        info = await database_sync_to_async(classroom.class_info)(self.code)
        await self.send_json(info or {"type": "class", "code": self.code, "active": False, "missing": True})

    async def class_changed(self, event: dict[str, Any]) -> None:
        await self.send_json(event["info"])
