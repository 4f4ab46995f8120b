"""Websocket consumers of the lessons app, built on the server engineer's SessionConsumer (dmmviz/web/consumers.py).

- ``GuardedSessionConsumer`` serves ``/ws/session/<uuid>/`` in place of the plain one: a session that belongs to
  someone in the lessons app (an attempt's, a practice run's or a branch's student, a class's instructor) accepts
  only its owner, so nobody commands a simulation that is not theirs. Other sessions behave exactly as before.
- ``ClassFollowerConsumer`` serves ``/ws/class/<code>/``: a student watching a live class gets the class session's
  ``snapshot`` and ``events`` (the same channel-layer group as the instructor's tab, so it works across Daphne
  processes with REDIS_URL) and may only say ``hello``. The instructor's session id is never sent to followers.
- ``ClassEventsConsumer`` serves ``/ws/class/<code>/events/``: the class itself (its lesson step, ended) for the
  lesson panels of the instructor and the students.

Both session consumers also answer ``lessons.resync`` group messages (sent by classroom.resync after the server
changed a session's row, e.g. the instructor moved the class to another step) with a fresh snapshot.
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dmmviz import protocol
from dmmviz.protocol import ClientMessage, ClientType, ErrorCode, ProtocolError
from dmmviz.web.consumers import SessionConsumer

from . import classroom
from .permissions import may_command_session


def _who(scope: dict[str, Any]) -> tuple[Any, str | None]:
    session = scope.get("session")
    return scope.get("user"), getattr(session, "session_key", None) if session is not None else None


class GuardedSessionConsumer(SessionConsumer):
    """SessionConsumer that refuses anyone but the owner of a lessons-owned session (``forbidden``, close 4403)."""

    async def connect(self) -> None:
        session_id = str(self.scope["url_route"]["kwargs"]["session_id"])
        user, key = _who(self.scope)
        if not await database_sync_to_async(may_command_session)(user, key, session_id):
            await self.accept()
            await self.send(text_data=json.dumps(protocol.error_message(ProtocolError(
                code=ErrorCode.FORBIDDEN, message="this simulation belongs to someone else; open your own copy",
            ))))
            await self.close(code=protocol.CLOSE_FORBIDDEN)
            return
        await super().connect()

    async def lessons_resync(self, event: dict[str, Any]) -> None:
        await self._send_snapshot("resync", None)


class ClassFollowerConsumer(SessionConsumer):
    """A student following a live class: the class session's updates, read-only."""

    async def connect(self) -> None:
        self.code = str(self.scope["url_route"]["kwargs"]["code"]).upper()
        session_id = await database_sync_to_async(classroom.session_of_code)(self.code)
        if session_id is None:
            await self.accept()
            await self.send(text_data=json.dumps(protocol.error_message(ProtocolError(
                code=ErrorCode.SESSION_NOT_FOUND, message=f"there is no live class {self.code[:12]!r}",
            ))))
            await self.close(code=protocol.CLOSE_SESSION_NOT_FOUND)
            return
        self.scope["url_route"]["kwargs"]["session_id"] = session_id
        await super().connect()

    async def refuse(self, message: ClientMessage) -> None:
        raise ProtocolError(
            code=ErrorCode.READ_ONLY,
            message="you are following the class: only the instructor moves it. Branch off to explore on your own.",
        )

    HANDLERS = dict.fromkeys(ClientType, refuse) | {ClientType.HELLO: SessionConsumer.hello}

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


class ClassEventsConsumer(AsyncJsonWebsocketConsumer):
    """The class as a whole: {"type": "class", "code", "step", "active", "title"} now and on every change."""

    async def connect(self) -> None:
        self.code = str(self.scope["url_route"]["kwargs"]["code"]).upper()
        info = await database_sync_to_async(classroom.class_info)(self.code)
        await self.accept()
        if info is None:
            await self.send_json({"type": "class", "code": self.code, "active": False, "missing": True})
            await self.close(code=protocol.CLOSE_SESSION_NOT_FOUND)
            return
        self.group = classroom.class_group(self.code)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json(info)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Nothing to ask but the current state of the class.
        info = await database_sync_to_async(classroom.class_info)(self.code)
        await self.send_json(info or {"type": "class", "code": self.code, "active": False, "missing": True})

    async def class_changed(self, event: dict[str, Any]) -> None:
        await self.send_json(event["info"])
