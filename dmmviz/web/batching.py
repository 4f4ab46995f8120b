"""Saving many sessions' steps in one trip to the database thread.

Every step of every session is saved before any tab hears of it (dmmviz/web/consumers.py). A trip from the event
loop to Django's database thread and back costs several times what one more row in its UPDATE costs, so one trip
takes every save that piled up while the previous one was out (one statement): group commit. Each caller still learns
whether its own save matched its revision.
"""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async

from . import live
from .live import SaveRequest

# In Django's database thread; database_sync_to_async closes stale connections around the trip (the consumer's
# dispatch leaves that to each database call).
_save_many = database_sync_to_async(live.save_many)

# Seconds between the starts of two trips under load. A reply now waits for its save (an acknowledged change is a
# stored one), so the saves are grouped the way databases group commits: a trip starts as soon as the previous one is
# back and takes every save that piled up meanwhile; no extra wait (0). A positive WINDOW trades latency for fewer
# trips.
WINDOW = 0.0


class SaveBatcher:
    """Queue saves; one task per event loop takes them to the database thread in batches."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[SaveRequest, asyncio.Future[bool]]] = []
        self._task: asyncio.Task[None] | None = None
        self._last_trip = float("-inf")
        self._last_size = 0

    async def save(self, request: SaveRequest) -> bool:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests run one per test): forget the old one's state
            self._loop, self._pending, self._task, self._last_trip, self._last_size = loop, [], None, float("-inf"), 0
        future: asyncio.Future[bool] = loop.create_future()
        self._pending.append((request, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._flush(loop))
        return await future

    async def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        while self._pending:
            if self._last_size > 1:  # under load: let more saves join this trip
                wait = self._last_trip + WINDOW - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
            # One more pass of the loop first: Daphne writes the replies just sent when the socket reports writable, and
            # once the trip starts the database thread holds the interpreter lock for a while, which would hold them up.
            await asyncio.sleep(0)
            batch, self._pending = self._pending, []
            self._last_trip, self._last_size = loop.time(), len(batch)
            try:
                results = await _save_many([request for request, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), saved in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(saved)


batcher = SaveBatcher()
