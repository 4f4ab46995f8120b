"""Websocket consumers: the session consumer (see dmmviz/protocol.py for the protocol) and a bare echo for the bench."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class EchoConsumer(AsyncJsonWebsocketConsumer):
    """Sends every JSON frame straight back: the floor that bench/ws.py compares the session consumer with."""

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json(content)


class SessionConsumer(AsyncJsonWebsocketConsumer):
    """Placeholder until the engine lands; the protocol is in dmmviz/protocol.py."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=1011)
