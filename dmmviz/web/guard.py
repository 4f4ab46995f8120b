"""The websocket door of a session: SessionConsumer behind the one ownership rule (dmmviz/access.py).

Only whoever may change the session (access.can_change) gets its snapshot and may command it; anyone else gets a
``forbidden`` error and close code 4403. There is one /ws/session/<uuid>/ route (routing.py), so no route order decides.
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async

from dmmviz import access, protocol
from dmmviz.protocol import ErrorCode, ProtocolError

from .consumers import SessionConsumer


async def refuse(consumer: Any, code: ErrorCode, message: str, close_code: int) -> None:
    """Accept (so the browser can read why), send one protocol error, close with ``close_code``."""
    consumer.refused = True
    await consumer.accept()
    await consumer.send(text_data=json.dumps(protocol.error_message(ProtocolError(code=code, message=message))))
    await consumer.close(code=close_code)


class Refusable:
    """For a SessionConsumer that may refuse in connect() before SessionConsumer.connect set anything up: a refused
    socket ignores what the client still sends and has nothing to leave when it closes."""

    refused = False

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.refused:
            await super().receive(text_data=text_data, bytes_data=bytes_data)  # type: ignore[misc]

    async def disconnect(self, code: int) -> None:
        if not self.refused:
            await super().disconnect(code)  # type: ignore[misc]


class OwnedSessionConsumer(Refusable, SessionConsumer):
    async def connect(self) -> None:
        session_id = str(self.scope["url_route"]["kwargs"]["session_id"])
        who = access.Who.of(self.scope)
        if not await database_sync_to_async(access.can_change)(who, session_id):
            await refuse(self, ErrorCode.FORBIDDEN, "this simulation belongs to someone else; open your own copy",
                         protocol.CLOSE_FORBIDDEN)
            return
        await super().connect()

    async def lessons_resync(self, event: dict[str, Any]) -> None:
        """The server changed the session's row (the lessons app moved an attempt or a class to another step)."""
        await self._send_snapshot("resync", None)
