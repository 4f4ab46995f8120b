"""Which Daphne processes have tabs on a session, so that a change goes through the channel layer only when another
process has a tab to hear it (a group_send cost about 400 µs of a step's 900).

Two implementations behind one small interface (`Presence`):

- `LocalPresence`: one process (the in-memory channel layer): there are never others.
- `RedisPresence`: while a process has tabs on a session it is a member of the Redis set `dmmviz:tabs:<session>`,
  through a redis-py client of its own (public API only; channels_redis keeps its connections to itself). A process
  reads a set at most once every REFRESH seconds, and at once after a `session.presence` group message, which every
  tab sends when it connects. A change skipped in between (the newcomer's message was still on its way) is repaired
  by the newcomer's check CATCH_UP seconds after connecting (SessionConsumer._catch_up). A process that dies without
  leaving stays in the set: the others then keep sending, which costs time but loses nothing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Protocol


class Presence(Protocol):
    CATCH_UP: float

    async def join(self, session_id: str) -> None: ...

    async def leave(self, session_id: str, still_here: bool) -> None: ...

    def forget(self, session_id: str) -> None: ...

    async def others(self, session_id: str) -> bool: ...


class LocalPresence:
    """One process serves every tab: nobody else to tell."""

    CATCH_UP = 1.5
    shared = False

    async def join(self, session_id: str) -> None:
        return None

    async def leave(self, session_id: str, still_here: bool) -> None:
        return None

    def forget(self, session_id: str) -> None:
        return None

    async def others(self, session_id: str) -> bool:
        return False


class RedisPresence:
    """Presence in Redis sets, read through a short-timeout client so a Redis that went away fails fast."""

    REFRESH = 1.0
    CATCH_UP = 1.5
    KEY_TTL = 7 * 24 * 3600  # sets of sessions nobody opens again go away
    shared = True

    def __init__(self, url: str, timeout: float = 2.0) -> None:
        self.url = url
        self.timeout = timeout
        self.process = uuid.uuid4().hex.encode()
        self._read: dict[str, tuple[float, bool]] = {}  # session -> (when read, another process has tabs)
        self._clients: dict[asyncio.AbstractEventLoop, Any] = {}  # a redis.asyncio client belongs to one loop

    def _redis(self) -> Any:
        import redis.asyncio

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            for old in [old for old in self._clients if old.is_closed()]:
                del self._clients[old]
            # A blocking pool: a burst of tabs joining at once (hundreds per process) waits up to `timeout` for a
            # connection instead of failing with MaxConnectionsError.
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url, max_connections=200, timeout=self.timeout,
                socket_timeout=self.timeout, socket_connect_timeout=self.timeout,
            )
            client = redis.asyncio.Redis(connection_pool=pool)
            self._clients[loop] = client
        return client

    @staticmethod
    def key(session_id: str) -> str:
        return f"dmmviz:tabs:{session_id}"

    async def join(self, session_id: str) -> None:
        key = self.key(session_id)
        async with self._redis().pipeline(transaction=False) as pipe:
            await pipe.sadd(key, self.process).expire(key, self.KEY_TTL).execute()

    async def leave(self, session_id: str, still_here: bool) -> None:
        self.forget(session_id)
        if not still_here:  # a tab that came while the last one left keeps this process listed
            await self._redis().srem(self.key(session_id), self.process)

    def forget(self, session_id: str) -> None:
        self._read.pop(session_id, None)

    async def others(self, session_id: str) -> bool:
        read = self._read.get(session_id)
        now = time.monotonic()
        if read is None or now - read[0] >= self.REFRESH:
            members = await self._redis().smembers(self.key(session_id))
            read = (now, any(member != self.process for member in members))
            self._read[session_id] = read
        return read[1]


def for_settings() -> LocalPresence | RedisPresence:
    """The presence that matches the channel layer in settings."""
    from django.conf import settings

    layer = settings.CHANNEL_LAYERS.get("default", {})
    if layer.get("BACKEND", "").startswith("channels_redis") and getattr(settings, "REDIS_URL", ""):
        return RedisPresence(settings.REDIS_URL)
    return LocalPresence()
