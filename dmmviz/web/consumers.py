"""Websocket consumers: SessionConsumer speaks dmmviz/protocol.py for one simulation session; EchoConsumer is the
bench's baseline.

SessionConsumer is a thin adapter: it parses a frame (protocol.parse_client_frame), dispatches it through an explicit
table of allowed types, calls the engine under a work budget (budget.py), saves (live.save), and only then sends:
an acknowledged change is a stored change. A change is sent to the tab that asked (with its "re"), directly to the
session's other tabs in this process, and through the session's channel-layer group to other processes, each of which
is in the group once while it has tabs on the session and hands the change to them (relay.py). Each consumer remembers
the last revision it sent, so stale group messages are dropped and a missed one turns into a fresh snapshot
("resync").

Frames are queued and handled in order by one task per socket, so that Channels' dispatch stays free to hear the
client leave: the engine work of a request stops when its client has gone (StopHook). Per-process state (locks,
tabs, presence, the live cache) lives in one object, process.state() (made in WebConfig.ready).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
)
from channels.layers import InMemoryChannelLayer
from django.conf import settings
from django.db import DatabaseError

from dmmviz import protocol
from dmmviz.protocol import ClientMessage, ClientType, ErrorCode, ProtocolError
from simulator import CommandError, ScenarioError, Simulation
from simulator.events import changes_tables  # which events change a table of the state (the event catalogue)

from . import budget, live, process
from .batching import batcher
from .budget import StopHook, TooMuchWork
from .live import Live

log = logging.getLogger("dmmviz.consumers")

# How often one request is retried when another process keeps saving the session first.
MAX_ATTEMPTS = 5

# Frames a socket may have waiting behind the one being handled; beyond, a frame is refused with "busy".
MAX_QUEUED = 32

# The largest message the server sends: Daphne (autobahn) closes a socket whose frame is over 1 MiB. A snapshot drops
# its oldest events to fit; a change that would make the session's state, journal and scenario alone larger than
# MAX_STATE_BYTES is refused, so every session can always be opened again.
MAX_MESSAGE_BYTES = 900 * 1024
MAX_STATE_BYTES = 600 * 1024


def _error_code(value: str, fallback: ErrorCode) -> ErrorCode:
    """An error code of protocol.py, or `fallback` while protocol.py does not have it yet."""
    try:
        return ErrorCode(value)
    except ValueError:
        return fallback


TOO_MUCH_WORK = _error_code("too_much_work", ErrorCode.BUSY)
# The close code after an "unavailable" error (the database or Redis is away): like HTTP's 503. Daphne's websocket
# library only sends 1000 and 3000-4999, so not 1013 ("try again later").
CLOSE_UNAVAILABLE = getattr(protocol, "CLOSE_UNAVAILABLE", 4503)
UNAVAILABLE = _error_code("unavailable", ErrorCode.BUSY)

# The errors of a database or Redis that is away or stalled: the request gets an "unavailable" error frame, the
# socket stays open, and the page tries again later.
try:
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover
    RedisError = OSError  # type: ignore[misc,assignment]
SERVICE_ERRORS: tuple[type[BaseException], ...] = (DatabaseError, RedisError, OSError, asyncio.TimeoutError)


def _dumps(message: dict[str, Any]) -> str:
    """A server message as compact JSON text. orjson writes the same JSON values as json.dumps (non-ASCII as UTF-8
    rather than \\u escapes) several times faster; what it refuses (an integer beyond 64 bits in an uploaded scenario)
    goes the standard library's way."""
    try:
        return orjson.dumps(message).decode()
    except TypeError:
        return json.dumps(message, separators=(",", ":"))


def _db_timeout() -> float:
    return float(getattr(settings, "DMMVIZ_DB_TIMEOUT", 5.0))


async def _db(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a database function in Django's database thread, giving up after DMMVIZ_DB_TIMEOUT seconds (a stalled
    database then answers the tab with an "unavailable" error instead of leaving it waiting)."""
    return await asyncio.wait_for(database_sync_to_async(fn)(*args), _db_timeout())


def _with_re(text: str, re: str | int | None) -> str:
    """Add "re" to a serialised message object without serialising it again."""
    if re is None:
        return text
    return f'{text[:-1]},"re":{re if type(re) is int else json.dumps(re)}}}'


class SessionGone(Exception):
    """The session's row does not exist (never did, or was deleted)."""


class SnapshotTooLarge(Exception):
    """The session's state, journal and scenario do not fit one message even without events."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class TokenBucket:
    """RATE_BURST frames at once, RATE_PER_SECOND on average (wall clock: this is the adapter, not the engine)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.warned = 0.0

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def warn(self) -> bool:
        """Whether a frame ``take`` refused should be answered with an error: at most once a second (enough to tell
        a flooding client; the rest are dropped unanswered)."""
        now = time.monotonic()
        if now - self.warned < 1.0:
            return False
        self.warned = now
        return True


@dataclass(slots=True)
class Outcome:
    """What a request did: the simulation after it and the message to send (events, or a snapshot after a replay)."""

    sim: Simulation
    kind: str  # "events" or "snapshot"
    events: list[dict[str, Any]]
    more: bool = False


class SessionConsumer(AsyncWebsocketConsumer):
    """One browser tab on one simulation session (protocol: dmmviz/protocol.py)."""

    session_id: str
    lock: asyncio.Lock

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' consumer loop, plus one thing: if the channel layer fails while waiting for group messages
        (Redis went away), the tab gets an "unavailable" error frame and a close with CLOSE_UNAVAILABLE (4503: try again
        later; autobahn sends no 1013), on which the page reconnects with back-off, instead of a bare 1011."""
        try:
            await super().__call__(scope, receive, send)
        except SERVICE_ERRORS as exc:
            log.warning("websocket %s: channel layer failed: %s: %s", scope.get("path"), type(exc).__name__,
                        str(exc)[:200])
            self.gone = True
            if getattr(self, "worker", None) is not None:
                self.worker.cancel()
            try:
                if not getattr(self, "accepted", False):  # failed before the handshake was answered: answer it first
                    await send({"type": "websocket.accept"})
                await send({"type": "websocket.send", "text": _dumps(protocol.error_message(ProtocolError(
                    code=UNAVAILABLE,
                    message="the server's database or message service is not answering; reconnecting shortly",
                )))})
                await send({"type": "websocket.close", "code": CLOSE_UNAVAILABLE})
            except Exception:
                log.debug("websocket %s: could not say unavailable", scope.get("path"), exc_info=True)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, but a client's frame goes straight to its handler: Channels first sends every message
        to Django's one database thread to close stale connections, a queue that each frame of every tab then waits in
        behind the saves. This consumer reaches the database only through database_sync_to_async (_db, batching.py),
        which closes stale connections itself on each trip."""
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        await super().accept(subprotocol, headers)
        self.accepted = True

    async def connect(self) -> None:
        self.process = process.state()
        self.gone = False
        self.session_id = str(self.scope["url_route"]["kwargs"]["session_id"])
        self.lock = self.process.lock(self.session_id)
        self.last_revision = -1
        self.resync_pending = False
        self.bucket = TokenBucket(protocol.RATE_PER_SECOND, protocol.RATE_BURST)
        self.joined = False
        self.gone = False
        self.inbox: asyncio.Queue[tuple[str | None, bytes | None]] = asyncio.Queue(maxsize=MAX_QUEUED)
        self.worker: asyncio.Future[None] | None = None
        self.catch_up: asyncio.Future[None] | None = None
        await self.accept()
        try:
            # Join before the first snapshot: an update that lands in between is handed out, then dropped as stale.
            self.joined = True
            first = self.process.add_tab(self.session_id, self)
            await self.process.relay.join(self.channel_layer, self.session_id)
            if self.process.presence.shared:
                if first:
                    await self.process.presence.join(self.session_id)
                await self.process.relay.send(self.channel_layer, self.session_id, {"type": "session.presence"})
        except SERVICE_ERRORS as exc:
            await self._unavailable(exc, None, None)
            await self.close(code=CLOSE_UNAVAILABLE)  # "try again later": the page reconnects with back-off
            return
        await self._send_snapshot("connect", None)
        if self.process.presence.shared:
            self.catch_up = asyncio.ensure_future(self._catch_up())

    async def disconnect(self, code: int) -> None:
        self.gone = True  # the engine work of a request in flight stops at its next poll (StopHook)
        for task in (getattr(self, "worker", None), getattr(self, "catch_up", None)):
            if task is not None:
                task.cancel()
        if getattr(self, "joined", False):
            self.joined = False
            try:
                if self.process.remove_tab(self.session_id, self):
                    await self.process.relay.leave(self.channel_layer, self.session_id)
                    if self.process.presence.shared:
                        still_here = bool(self.process.tabs.get(self.session_id))
                        await self.process.presence.leave(self.session_id, still_here=still_here)
            except SERVICE_ERRORS:
                log.warning("session %s: could not leave the group or presence (Redis away?)", self.session_id)

    def alive(self) -> bool:
        return not self.gone

    # -- input -------------------------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Queue a frame for this socket's worker (frames are handled one at a time, in order)."""
        if not self.bucket.take():
            if self.bucket.warn():
                await self._send_error(
                    ProtocolError(
                        code=ErrorCode.RATE_LIMITED,
                        message=f"more than {protocol.RATE_BURST} frames at once or {protocol.RATE_PER_SECOND:g} "
                        "a second; "
                        "this one was dropped",
                    )
                )
            return
        try:
            self.inbox.put_nowait((text_data, bytes_data))
        except asyncio.QueueFull:
            await self._send_error(ProtocolError(
                code=ErrorCode.BUSY,
                message=f"more than {MAX_QUEUED} requests are waiting on this socket; this one was dropped",
            ))
            return
        if self.worker is None or self.worker.done():
            self.worker = asyncio.ensure_future(self._work())

    async def _work(self) -> None:
        while not self.inbox.empty() and not self.gone:
            text_data, bytes_data = self.inbox.get_nowait()
            await self._handle(text_data, bytes_data)

    async def _handle(self, text_data: str | None, bytes_data: bytes | None) -> None:
        message: ClientMessage | None = None
        try:
            message = parse_frame(text_data, bytes_data)
            handler = self.HANDLERS[message.type]
            await handler(self, message)
        except ProtocolError as err:
            if message is not None:
                err.request, err.re = message.type, message.id
            await self._send_error(err)
        except SessionGone:
            await self._session_gone()
        except TooMuchWork as exc:
            await self._send_error(ProtocolError(
                code=TOO_MUCH_WORK, message=budget.describe(exc),
                request=message.type if message else None, re=message.id if message else None,
            ))
        except SERVICE_ERRORS as exc:
            await self._unavailable(exc, message.type if message else None, message.id if message else None)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("session %s: request failed", self.session_id)
            self.process.cache.drop(self.session_id)
            await self._send_error(
                ProtocolError(
                    code=ErrorCode.INTERNAL, message="the server failed on this request; nothing was changed",
                    request=message.type if message else None, re=message.id if message else None,
                )
            )

    async def hello(self, message: ClientMessage) -> None:
        session = message.fields.get("session")
        if session is not None and not _same_uuid(session, self.session_id):
            raise ProtocolError(code=ErrorCode.BAD_FIELD, field="session",
                                message="this socket belongs to another session")
        await self._send_snapshot("hello", message.id)

    async def command(self, message: ClientMessage) -> None:
        command = message.fields["command"]

        def op(current: Live, hook: StopHook) -> Outcome:
            sim = current.sim
            try:
                events = sim.apply(command, **budget.engine_kwargs(sim.apply, hook, budget.IN_LOOP_ITEMS))
            except CommandError as exc:
                raise ProtocolError(
                    code=ErrorCode.COMMAND_REJECTED,
                    field=f"command.{exc.field}" if exc.field else "command",
                    message=exc.message,
                ) from None
            size = self._state_bytes(current, sim)
            if size > MAX_STATE_BYTES:
                raise SessionFull(size)
            return Outcome(sim, "events", events)

        await self._change(message, op, threaded=False)

    async def step(self, message: ClientMessage) -> None:
        def op(current: Live, hook: StopHook) -> Outcome:
            sim = current.sim
            if sim.peek() is None:
                raise ProtocolError(code=ErrorCode.NOTHING_SCHEDULED,
                                    message="nothing is scheduled: the simulation is idle")
            return Outcome(sim, "events", sim.step(**budget.engine_kwargs(sim.step, hook, budget.IN_LOOP_ITEMS)))

        await self._change(message, op, threaded=False)

    async def run_until(self, message: ClientMessage) -> None:
        t = float(message.fields["t"])

        def op(current: Live, hook: StopHook) -> Outcome:
            sim = current.sim
            if t < sim.now:
                raise ProtocolError(
                    code=ErrorCode.BAD_FIELD, field="t",
                    message=f"t={t:g} is before now={sim.now:g}; use step_back or seek to go back",
                )
            events, more = run_bounded(sim, t, protocol.MAX_RUN_STEPS, hook)
            return Outcome(sim, "events", events, more=more)

        await self._change(message, op, threaded=True)

    async def step_back(self, message: ClientMessage) -> None:
        def op(current: Live, hook: StopHook) -> Outcome:
            if not _can_step_back(current.sim):
                raise ProtocolError(code=ErrorCode.NOTHING_TO_UNDO, message="already at the start of the scenario")
            # One visible step: the last user command, or the last step that emitted events (the engine's rule), from
            # the nearest checkpoint rather than from t = 0 (live.step_back).
            return Outcome(live.step_back(current, hook), "snapshot", [])

        await self._change(message, op, threaded=True)

    async def reset(self, message: ClientMessage) -> None:
        def op(current: Live, hook: StopHook) -> Outcome:
            row = current.row
            return Outcome(Simulation.replay(row.scenario, row.seed, [], 0, mode=row.mode), "snapshot", [])

        await self._change(message, op, threaded=True, allow_unbuildable=True)

    async def seek(self, message: ClientMessage) -> None:
        target = int(message.fields["steps"])

        def op(current: Live, hook: StopHook) -> Outcome:
            sim = current.sim
            if target > sim.steps + protocol.MAX_RUN_STEPS:
                raise ProtocolError(
                    code=ErrorCode.BAD_FIELD, field="steps",
                    message=f"steps={target} is more than {protocol.MAX_RUN_STEPS} steps ahead of {sim.steps}",
                )
            return Outcome(live.seek(current, target, hook), "snapshot", [])

        await self._change(message, op, threaded=True)

    # The only message types a client may send, and what handles each.
    HANDLERS: dict[ClientType, Callable[[SessionConsumer, ClientMessage], Awaitable[None]]] = {
        ClientType.HELLO: hello,
        ClientType.COMMAND: command,
        ClientType.STEP: step,
        ClientType.RUN_UNTIL: run_until,
        ClientType.STEP_BACK: step_back,
        ClientType.RESET: reset,
        ClientType.SEEK: seek,
    }

    # -- changing a session ------------------------------------------------------------------------------------

    async def _change(
        self, message: ClientMessage, op: Callable[[Live, StopHook], Outcome], *, threaded: bool,
        allow_unbuildable: bool = False,
    ) -> None:
        """Run `op` on the session's simulation, save the result, then send it to this tab and to the group.

        `op` raises ProtocolError having changed nothing. If another process saved first, the save matches no row:
        this tab gets a "resync" snapshot of the stored state and `op` runs again on it. No tab is ever shown a change
        that is not stored. `allow_unbuildable` (reset) runs `op` even when the stored session is too long to rebuild.
        """
        async with self.lock:
            for _ in range(MAX_ATTEMPTS):
                try:
                    current = await self._live(fresh=False)
                except TooMuchWork:
                    if not allow_unbuildable:
                        raise
                    row = await _db(live.load_row, self.session_id)
                    if row is None:
                        raise SessionGone from None
                    current = Live(row=row, sim=None, revision=row.revision)  # type: ignore[arg-type]
                journal_before = current.sim.journal if current.sim is not None else None
                hook = StopHook(budget.REQUEST_CPU_SECONDS, self.alive)
                try:
                    if threaded:
                        outcome = await asyncio.to_thread(op, current, hook)  # the hook starts counting in the thread
                    else:
                        outcome = op(current, hook.begin())
                except ProtocolError:
                    # A refusal judged on a cached simulation that another process has since moved on from would be
                    # wrong (say, "not attached" when a tab elsewhere attached it): check, and retry on fresh state.
                    latest = await _db(live.load_revision, self.session_id)
                    if latest is not None and latest != current.revision:
                        self.process.cache.drop(self.session_id)
                        continue
                    raise
                except SessionFull as full:
                    self.process.cache.drop(self.session_id)  # the command was applied to the cached simulation
                    raise ProtocolError(
                        code=ErrorCode.COMMAND_REJECTED, field="command",
                        message=f"this session is full: after this command its state and commands would take "
                        f"{full.size // 1024} KiB, more than the {MAX_STATE_BYTES // 1024} KiB a page can be sent; "
                        "stop some flows, step back or reset",
                    ) from None
                except BaseException:
                    self.process.cache.drop(self.session_id)  # the simulation may be half changed
                    raise
                sim = outcome.sim
                updated = Live(row=current.row, sim=sim, revision=current.revision + 1,
                               checkpoints=live.checkpoints_after(current.checkpoints, sim))
                live.add_checkpoint(updated)
                if outcome.kind == "events":
                    text = _dumps(
                        protocol.events_message(
                            cause=message.type.value, revision=updated.revision, events=outcome.events,
                            state=sim.snapshot() if changes_tables(outcome.events) else None, now=sim.now,
                            next_time=sim.peek(), steps=sim.steps, can_step_back=_can_step_back(sim), more=outcome.more,
                        )
                    )
                    if len(text) > MAX_MESSAGE_BYTES:  # too many events for one message: a snapshot says it all
                        text = self._snapshot_text("resync", updated)
                else:
                    text = self._snapshot_text(message.type.value, updated)
                request = live.SaveRequest.of(self.session_id, current.revision, sim, sim.journal is not journal_before)
                try:
                    saved = await asyncio.wait_for(batcher.save(request), _db_timeout())
                except BaseException:
                    self.process.cache.drop(self.session_id)
                    raise
                if saved:
                    # Stored: now the tab that asked, and then the others, may hear of it.
                    self.process.cache.put(self.session_id, updated)
                    await self._deliver_own(text, updated, message.id, is_snapshot=outcome.kind == "snapshot")
                    await self._broadcast({"type": "session.update", "revision": updated.revision, "text": text})
                    return
                # Another process saved first: show this tab what did happen, then run the request again on top of it.
                self.process.cache.drop(self.session_id)
                fresh = await self._live(fresh=True)
                await self.send(text_data=self._snapshot_text("resync", fresh))
                self.last_revision = fresh.revision
        raise ProtocolError(
            code=ErrorCode.BUSY, message="the session kept changing under this request (other tabs?); try again"
        )

    async def _live(self, *, fresh: bool) -> Live:
        """The session's simulation: the cached one, or rebuilt from the database. `fresh` checks the cache against
        the database's revision first (for snapshots, which save nothing and so would not notice a stale cache)."""
        cache = self.process.cache
        current = cache.get(self.session_id)
        if current is not None and not fresh and current.revision >= self.last_revision:
            return current
        row = await _db(live.load_row, self.session_id)
        if row is None:
            cache.drop(self.session_id)
            raise SessionGone
        if current is not None and current.revision == row.revision:
            return current
        hook = StopHook(budget.REBUILD_CPU_SECONDS, self.alive)
        current = await asyncio.to_thread(functools.partial(live.rebuild, row, hook, window=True))
        cache.put(self.session_id, current)
        return current

    # -- output ------------------------------------------------------------------------------------------------

    def _snapshot_message(self, cause: str, current: Live) -> dict[str, Any]:
        sim = current.sim
        return protocol.snapshot_message(
            cause=cause, revision=current.revision, session=self.session_id, scenario=current.row.scenario,
            seed=current.row.seed, mode=sim.mode, now=sim.now, next_time=sim.peek(), steps=sim.steps,
            state=sim.snapshot(), events=sim.trace()["events"], journal=live.journal_json(sim),
            can_step_back=_can_step_back(sim),
        )

    def _snapshot_text(self, cause: str, current: Live) -> str:
        """A snapshot that fits MAX_MESSAGE_BYTES: the oldest events are left out (counted in events_omitted) until it
        does. Raises SnapshotTooLarge if even none would do (a session from before the size limit)."""
        message = self._snapshot_message(cause, current)
        message["events_omitted"] += live.trimmed(current.sim)  # what the live session no longer keeps
        text = _dumps(message)
        events = message["events"]
        while len(text.encode()) > MAX_MESSAGE_BYTES and events:
            keep = len(events) // 2
            message["events_omitted"] += len(events) - keep
            events = message["events"] = events[len(events) - keep:]
            text = _dumps(message)
        if len(text.encode()) > MAX_MESSAGE_BYTES:
            raise SnapshotTooLarge(len(text.encode()))
        return text

    def _state_bytes(self, current: Live, sim: Simulation) -> int:
        """About what a snapshot of `sim` takes without its events: state, journal and scenario."""
        return (len(orjson.dumps(sim.snapshot())) + len(orjson.dumps(live.journal_json(sim)))
                + current.row.scenario_bytes)

    async def _send_snapshot(self, cause: str, re: str | int | None) -> None:
        try:
            async with self.lock:
                current = await self._live(fresh=True)
                text = self._snapshot_text(cause, current)
                self.last_revision = current.revision
                await self.send(text_data=_with_re(text, re))
        except SessionGone:
            await self._session_gone()
        except SnapshotTooLarge as exc:
            # The socket stays open so that the page can still reset the session.
            await self._send_error(ProtocolError(
                code=TOO_MUCH_WORK, re=re,
                message=f"this session is too large to send ({exc.size // 1024} KiB, at most "
                f"{MAX_MESSAGE_BYTES // 1024} KiB); reset it to go on",
            ))
        except TooMuchWork as exc:
            await self._send_error(ProtocolError(
                code=TOO_MUCH_WORK, re=re,
                message=f"this session is too long to rebuild ({budget.describe(exc)}); reset it to go on",
            ))
        except SERVICE_ERRORS as exc:
            await self._unavailable(exc, None, re)
        except ScenarioError as exc:
            problems = "; ".join(f"{p.path}: {p.message}" for p in exc.problems) or str(exc)
            await self._send_error(
                ProtocolError(
                    code=ErrorCode.SCENARIO_INVALID, message=f"this session's scenario is refused: {problems}", re=re
                )
            )
            await self.close(code=protocol.CLOSE_SCENARIO_INVALID)

    async def _broadcast(self, event: dict[str, Any]) -> None:
        """Send a saved change to the session's other tabs: those in this process directly, under the session lock
        (so in order), and the others through the channel layer group. With the in-memory layer there are no others,
        and skipping the layer saves a round through its queues for every step; with channels_redis, only when another
        process has tabs on the session (presence.py)."""
        for tab in list(self.process.tabs.get(self.session_id, ())):
            if tab is not self:
                await tab.session_update(event)
        layer = self.channel_layer
        if isinstance(layer, InMemoryChannelLayer) or not await self.process.presence.others(self.session_id):
            return
        await self.process.relay.send(layer, self.session_id, event)

    async def session_presence(self, event: dict[str, Any]) -> None:
        """A tab connected somewhere (maybe in another process): read who has tabs on this session again."""
        self.process.presence.forget(self.session_id)

    async def _catch_up(self) -> None:
        """Some time after connecting, make sure no change was missed: a process that had not yet heard of this one
        may have skipped the group for a change saved after this tab's snapshot was read."""
        try:
            await asyncio.sleep(self.process.presence.CATCH_UP)
            latest = await _db(live.load_revision, self.session_id)
            if latest is not None and latest > self.last_revision:
                await asyncio.sleep(0.2)  # a change on its way now is not missed
                if self.joined and latest > self.last_revision and not self.resync_pending:
                    self.resync_pending = True
                    await self._resync()
        except Exception:  # the socket closed meanwhile: nothing to repair
            log.debug("session %s: catch-up not done", self.session_id, exc_info=True)

    async def _deliver_own(self, text: str, current: Live, re: str | int | None, *, is_snapshot: bool) -> None:
        """Send a change to the tab that asked for it; if this tab missed a revision, a snapshot instead."""
        if is_snapshot or current.revision == self.last_revision + 1:
            await self.send(text_data=_with_re(text, re))
        else:
            await self.send(text_data=_with_re(self._snapshot_text("resync", current), re))
        self.last_revision = current.revision

    async def session_update(self, event: dict[str, Any]) -> None:
        """A saved change of this session: from a tab in this process (directly, see _broadcast) or through the
        channel layer (from any process, this one included)."""
        revision = event["revision"]
        cached = self.process.cache.get(self.session_id)
        if cached is not None and cached.revision < revision:
            self.process.cache.drop(self.session_id)  # changed by another process: the next request replays
        if revision <= self.last_revision:
            return  # already sent (our own change, or covered by a snapshot)
        if revision == self.last_revision + 1:
            self.last_revision = revision
            await self.send(text_data=event["text"])
            return
        # Missed one: send a fresh snapshot, from a task of its own because the tab delivering this change may hold
        # the session lock that the snapshot needs. Until it goes out, nothing newer is forwarded (all gaps).
        if not self.resync_pending:
            self.resync_pending = True
            self.resync_task = asyncio.ensure_future(self._resync())

    async def _resync(self) -> None:
        try:
            await self._send_snapshot("resync", None)
        except Exception:  # the socket closed meanwhile: nothing to repair
            log.debug("session %s: resync not sent", self.session_id, exc_info=True)
        finally:
            self.resync_pending = False

    async def _send_error(self, err: ProtocolError) -> None:
        await self.send(text_data=_dumps(protocol.error_message(err)))

    async def _unavailable(self, exc: BaseException, request: Any, re: str | int | None) -> None:
        """The database or Redis is away or stalled: say so (one log line, no traceback); the page tries again."""
        log.warning("session %s: service unavailable: %s: %s", self.session_id, type(exc).__name__, str(exc)[:200])
        self.process.cache.drop(self.session_id)
        self.last_revision = -1  # whatever this tab missed meanwhile, its next answer is a snapshot
        try:
            await self._send_error(ProtocolError(
                code=UNAVAILABLE, request=str(request) if request is not None else None, re=re,
                message="the server's database or message service is not answering; nothing was changed. "
                "Try again in a few seconds.",
            ))
        except Exception:
            log.debug("session %s: could not send the unavailable error", self.session_id, exc_info=True)

    async def _session_gone(self) -> None:
        await self._send_error(
            ProtocolError(code=ErrorCode.SESSION_NOT_FOUND, message=f"there is no session {self.session_id}")
        )
        await self.close(code=protocol.CLOSE_SESSION_NOT_FOUND)


class SessionFull(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def parse_frame(text_data: str | None, bytes_data: bytes | None) -> ClientMessage:
    """A client frame, parsed by the server's one JSON parser (limits.loads, inside the protocol) and checked by the
    protocol; raises ProtocolError saying what is wrong."""
    return protocol.parse_client_frame(text_data, bytes_data)


def _can_step_back(sim: Simulation) -> bool:
    return sim.steps > 0 or bool(sim.journal)


def run_bounded(
    sim: Simulation, t: float, max_steps: int, hook: StopHook | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """`sim.run(t)` in slices of simulated time, stopping once `max_steps` items have been processed.

    Running to t1 and then to t2 is exactly running to t2 (the engine processes every item due by each bound), so the
    slices change nothing but where a long run may stop. Returns the events and whether items due by `t` remain.
    The engine polls `hook` inside each slice (its budget); the hook is also checked between slices.
    """
    start = sim.steps
    events: list[dict[str, Any]] = []
    span = 1.0
    kwargs = budget.engine_kwargs(sim.run, hook, max_steps * 50)
    while True:
        bound = min(t, sim.now + span)
        before = sim.steps
        events += sim.run(bound, **kwargs)
        if bound >= t:
            return events, False
        if sim.steps - start >= max_steps:
            nxt = sim.peek()
            return events, nxt is not None and nxt <= t
        if hook is not None:
            hook.check()
        done = sim.steps - before
        span = span / 2 if done > 2000 else span * 2 if done < 200 else span


class EchoConsumer(AsyncJsonWebsocketConsumer):
    """Sends every JSON frame straight back: the floor that bench/ws.py compares the session consumer with."""

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json(content)


def _same_uuid(text: Any, session_id: str) -> bool:
    """Whether ``text`` names ``session_id``: a UUID in any of its spellings (upper case, braces, no dashes)."""
    try:
        return uuid.UUID(str(text)) == uuid.UUID(str(session_id))
    except ValueError:
        return False
