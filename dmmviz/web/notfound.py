"""The websocket answer for a path that names no session: a protocol error and close code 4404, never a 500."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dmmviz import protocol


class NotFoundConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()
        path = self.scope.get("path", "")
        if path.startswith("/ws/session/"):
            message = f"no simulation session at {path}: a session id looks like /ws/session/<uuid>/"
        else:
            message = f"no websocket at {path}"
        error = protocol.ProtocolError(code=protocol.ErrorCode.SESSION_NOT_FOUND, message=message)
        await self.send_json(protocol.error_message(error))
        await self.close(code=protocol.CLOSE_SESSION_NOT_FOUND)
