"""Saving many sessions' steps in one trip to the database thread.

Every step of every session is saved before the other tabs hear of it (dmmviz/web/live.py). A trip from the event
loop to Django's database thread and back costs more than the UPDATE itself, so a save waits a couple of milliseconds for
others, and those that pile up meanwhile (or while a trip is under way) go together (one transaction). Under heavy
load the trips stay few. Each caller still learns whether its own save matched its revision.
"""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async

from . import live
from .live import SaveRequest

_save_many = sync_to_async(live.save_many, thread_sensitive=True)

WINDOW = 0.005  # seconds a save may wait for others to join its trip


class SaveBatcher:
    """Queue saves; one task per event loop takes them to the database thread in batches."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[SaveRequest, asyncio.Future[bool]]] = []
        self._task: asyncio.Task[None] | None = None

    async def save(self, request: SaveRequest) -> bool:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests run one per test): forget the old one's state
            self._loop, self._pending, self._task = loop, [], None
        future: asyncio.Future[bool] = loop.create_future()
        self._pending.append((request, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        # Let the saves of the requests already on their way join this trip. The asking tabs have their replies
        # already; only a next request on the same session waits for this (at most WINDOW longer).
        await asyncio.sleep(WINDOW)
        while self._pending:
            batch, self._pending = self._pending, []
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
