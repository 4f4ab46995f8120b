"""A session's channel-layer group has one member per process, not one per tab: the relay.

A change saved by one process reaches the tabs of the others through the channel layer (consumers._broadcast). When
every tab joined the session's group itself, a class of 100 followers cost 100 messages per instructor step, and on
channels_redis a process pops one message per round trip to Redis, each then dispatched through its tab's consumer
(with a trip to Django's one database thread to close stale connections): the last follower saw the step seconds
after the first (bench/course.py, issue 14). Now each process joins a session's group once, with one channel of its
own, while it has tabs on the session; one receive loop hands each message to this process's tabs of that session, in
the order the layer delivered them. Messages to a session's group carry its id (``session``); those that came from
this process (``origin``) already reached its tabs directly and are not handed out twice.

The tabs' handlers are the consumers' own (``session_update``, ``session_presence``, ``lessons_resync``): the relay
only routes. A membership is made before a tab's first snapshot is read (SessionConsumer.connect), so no change saved
after that snapshot can miss the process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("dmmviz.relay")

# Seconds between attempts to receive again after the channel layer failed (Redis away), doubling up to the last.
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)
# Seconds the relay waits for its receive to end when it is stopped (the process or a test's event loop closing).
STOP_SECONDS = 2.0


def session_group(session_id: Any) -> str:
    """The channel-layer group of a session: the processes that have tabs on it."""
    return f"session-{str(session_id).replace('-', '')}"


class Relay:
    def __init__(self, tabs: dict[str, set[Any]]) -> None:
        self._tabs = tabs  # ProcessState.tabs: the open tabs of each session in this process
        self._loop: asyncio.AbstractEventLoop | None = None
        self._layer: Any = None
        self.channel: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._members: set[str] = set()  # sessions whose group this process's channel is in
        self._locks: dict[str, asyncio.Lock] = {}  # one per session: its join and leave in order
        self._life = asyncio.Lock()  # starting and stopping the receive loop
        self._aside: set[asyncio.Future[None]] = set()  # handlers running beside the receive loop

    def _start(self, layer: Any) -> None:
        """Forget everything made on another event loop or layer (tests run one loop each)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop or layer is not self._layer:
            self._loop, self._layer, self.channel, self._task = loop, layer, None, None
            self._members, self._locks, self._life = set(), {}, asyncio.Lock()

    def _lock(self, session_id: str) -> asyncio.Lock:
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        return lock

    async def join(self, layer: Any, session_id: str) -> None:
        """Make sure this process is in the session's group (every connecting tab calls this; the first adds)."""
        self._start(layer)
        async with self._lock(session_id):
            if session_id in self._members:
                return
            async with self._life:
                if self.channel is None:
                    self.channel = await layer.new_channel()
                if self._task is None or self._task.done():
                    self._task = asyncio.get_running_loop().create_task(self._receive(layer, self.channel))
                await layer.group_add(session_group(session_id), self.channel)
                self._members.add(session_id)

    async def leave(self, layer: Any, session_id: str) -> None:
        """Leave the session's group once this process has no tab on it (a tab that came back meanwhile keeps it).
        With no session left, the receive loop stops too, as a tab's own receive does when it closes."""
        self._start(layer)
        async with self._lock(session_id):
            if session_id not in self._members or self._tabs.get(session_id):
                return
            self._members.discard(session_id)
            self._locks.pop(session_id, None)
            assert self.channel is not None
            await layer.group_discard(session_group(session_id), self.channel)
        async with self._life:
            if not self._members and self._task is not None:
                task, self._task = self._task, None
                task.cancel()
                await asyncio.wait({task}, timeout=2 * STOP_SECONDS)

    async def send(self, layer: Any, session_id: str, event: dict[str, Any]) -> None:
        """Send `event` to every process with tabs on the session (this one's tabs have had it: see consumers)."""
        self._start(layer)
        await layer.group_send(session_group(session_id), {**event, "session": session_id, "origin": self.channel})

    async def _receive(self, layer: Any, channel: str) -> None:
        failures = 0
        while True:
            receiving = asyncio.ensure_future(layer.receive(channel))
            try:
                message = await asyncio.shield(receiving)
            except asyncio.CancelledError:
                await _stop_receiving(layer, channel, receiving)
                raise
            except Exception as exc:  # Redis away: the tabs hear of it through their own channels; retry quietly
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning("relay: receive failed (%s: %s); again in %g s", type(exc).__name__, str(exc)[:200], delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            await self.hand_out(message)

    async def hand_out(self, message: dict[str, Any]) -> None:
        """Give a group message to each of this process's tabs on its session, through the tab's own handler."""
        session_id = message.get("session")
        if message.get("origin") == self.channel and message.get("type") == "session.update":
            return  # saved here: this process's tabs were sent it directly, under the session lock
        name = str(message.get("type", "")).replace(".", "_")
        for tab in _open(self._tabs.get(str(session_id), ())):
            handler = getattr(tab, name, None)
            if handler is None:
                continue
            if name != "session_update":
                # Anything else (a resync reads the database under the session lock) runs beside the loop, so the
                # next change of every session is not held up behind it.
                task = asyncio.ensure_future(self._deliver(handler, message, name, session_id))
                self._aside.add(task)
                task.add_done_callback(self._aside.discard)
                continue
            await self._deliver(handler, message, name, session_id)

    @staticmethod
    async def _deliver(handler: Any, message: dict[str, Any], name: str, session_id: Any) -> None:
        try:
            await handler(message)
        except asyncio.CancelledError:
            raise
        except Exception:  # one tab's failure (its socket closed meanwhile) is not the others'
            log.debug("relay: %s not delivered to a tab of %s", name, session_id, exc_info=True)


async def _stop_receiving(layer: Any, channel: str, receiving: asyncio.Future[Any]) -> None:
    """End the relay's receive. A cancel usually does; when it does not (on Python 3.11, asyncio.timeout inside redis-py
    can turn a cancel into a read timeout, which channels_redis answers by popping again), a message of the relay's
    own to pop does."""
    receiving.cancel()
    done, _ = await asyncio.wait({receiving}, timeout=STOP_SECONDS / 2)
    if not done:
        try:
            await asyncio.wait_for(layer.send(channel, {"type": "relay.stop"}), STOP_SECONDS)
        except Exception:  # Redis away: then the pop fails and ends by itself
            log.debug("relay: could not send the stop message", exc_info=True)
        await asyncio.wait({receiving}, timeout=STOP_SECONDS)
    # channels_redis clears each popped message from its backup queue in a task of its own, which holds a lock until
    # it ends; let that task start before the event loop may close, or the lock stays held for the next loop.
    for _ in range(2):
        await asyncio.sleep(0)


def _open(tabs: Iterable[Any]) -> list[Any]:
    return [tab for tab in list(tabs) if getattr(tab, "joined", False)]
