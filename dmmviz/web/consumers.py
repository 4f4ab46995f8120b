"""Websocket consumers: SessionConsumer speaks dmmviz/protocol.py for one simulation session; EchoConsumer is the
bench's baseline.

SessionConsumer is a thin adapter: it parses a frame (protocol.parse_client_frame), dispatches it through an explicit
table of allowed types, calls the engine, saves (live.save) and sends. Every tab of a session joins the channel-layer
group of that session; a change is sent straight to the tab that asked (with its "re") and through the group to the
others. Each consumer remembers the last revision it sent, so stale group messages are dropped and a missed one
turns into a fresh snapshot ("resync").
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import sys
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
)
from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer

from dmmviz import protocol
from dmmviz.protocol import ClientMessage, ClientType, ErrorCode, ProtocolError
from simulator import CommandError, ScenarioError, Simulation

from . import live
from .batching import batcher
from .live import Live

log = logging.getLogger("dmmviz.consumers")

# How often one request is retried when another process keeps saving the session first.
MAX_ATTEMPTS = 5

# One asyncio lock per session in this process, shared by its tabs' consumers (each holds a strong reference).
_session_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


# The open tabs of each session in this process (every tab also joins the session's channel-layer group).
_local_tabs: dict[str, set[SessionConsumer]] = {}

# Two settings of the process that serves the sockets, both for the tail of the latency (the p99 of bench/ws.py):
# - What exists once the routes are loaded (Django, Daphne, the engine's modules) lives as long as the process. Leave it
#   out of the garbage collector's full passes, which otherwise walk it again each time and stall every socket of the
#   process for tens of milliseconds.
# - Saves run in Django's database thread (batching.py), which needs the interpreter lock a few times per trip. While
#   the event loop is busy, each time it would wait out the switch interval (5 ms by default): under the bench's load,
#   trips of 15-50 ms and a p99 several times higher. At 0.5 ms the loop lets go sooner.
gc.freeze()
sys.setswitchinterval(0.0005)


def _session_lock(session_id: str) -> asyncio.Lock:
    lock = _session_locks.get(session_id)
    if lock is None:
        lock = asyncio.Lock()
        _session_locks[session_id] = lock
    return lock


class Presence:
    """Which Daphne processes have tabs on a session, so that with channels_redis a change goes through the channel
    layer only when another process has a tab to hear it (a group_send cost about 400 µs of a step's 900).

    While a process has tabs on a session it is a member of the Redis set `dmmviz:tabs:<session>`. A process reads a
    set at most once every REFRESH seconds, and at once after a `session.presence` group message, which every tab
    sends when it connects. A change skipped in between (the newcomer's message was still on its way) is repaired by
    the newcomer's check CATCH_UP seconds after connecting (SessionConsumer._catch_up). A process that dies without
    leaving stays in the set: the others then keep sending, which costs time but loses nothing.
    """

    REFRESH = 1.0
    CATCH_UP = 1.5
    PROCESS = uuid.uuid4().hex.encode()

    def __init__(self) -> None:
        self._read: dict[str, tuple[float, bool]] = {}  # session -> (when read, another process has tabs)

    @staticmethod
    def _redis(layer: RedisChannelLayer, key: str) -> Any:
        return layer.connection(layer.consistent_hash(key))

    async def join(self, layer: RedisChannelLayer, session_id: str) -> None:
        key = f"dmmviz:tabs:{session_id}"
        await self._redis(layer, key).sadd(key, self.PROCESS)
        await self._redis(layer, key).expire(key, 7 * 24 * 3600)  # sets of sessions nobody opens again go away

    async def leave(self, layer: RedisChannelLayer, session_id: str) -> None:
        key = f"dmmviz:tabs:{session_id}"
        await self._redis(layer, key).srem(key, self.PROCESS)
        self.forget(session_id)
        if _local_tabs.get(session_id):  # a tab came while this one left: stay listed
            await self.join(layer, session_id)

    def forget(self, session_id: str) -> None:
        self._read.pop(session_id, None)

    async def others(self, layer: RedisChannelLayer, session_id: str) -> bool:
        read = self._read.get(session_id)
        now = time.monotonic()
        if read is None or now - read[0] >= self.REFRESH:
            key = f"dmmviz:tabs:{session_id}"
            members = await self._redis(layer, key).smembers(key)
            read = (now, any(member != self.PROCESS for member in members))
            self._read[session_id] = read
        return read[1]


presence = Presence()


def _dumps(message: dict[str, Any]) -> str:
    """A server message as compact JSON text. orjson writes the same JSON values as json.dumps (non-ASCII as UTF-8
    rather than \\u escapes) several times faster; what it refuses (an integer beyond 64 bits in an uploaded scenario)
    goes the standard library's way."""
    try:
        return orjson.dumps(message).decode()
    except TypeError:
        return json.dumps(message, separators=(",", ":"))


def _with_re(text: str, re: str | int | None) -> str:
    """Add "re" to a serialised message object without serialising it again."""
    if re is None:
        return text
    return f'{text[:-1]},"re":{re if type(re) is int else json.dumps(re)}}}'


class SessionGone(Exception):
    """The session's row does not exist (never did, or was deleted)."""


class TokenBucket:
    """RATE_BURST frames at once, RATE_PER_SECOND on average (wall clock: this is the adapter, not the engine)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(slots=True)
class Outcome:
    """What a request did: the simulation after it and the message to send (events, or a snapshot after a replay)."""

    sim: Simulation
    kind: str  # "events" or "snapshot"
    events: list[dict[str, Any]]
    more: bool = False


class DispatchWithoutDatabaseHop:
    """Channels' dispatch without its trip to a worker thread to close stale database connections before every
    message: that trip cost more than a whole step. Database work in these consumers goes through
    database_sync_to_async (which closes stale connections itself) or live.save_many (which reopens a broken one)."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)


class SessionConsumer(DispatchWithoutDatabaseHop, AsyncWebsocketConsumer):
    """One browser tab on one simulation session (protocol: dmmviz/protocol.py)."""

    session_id: str
    group: str
    lock: asyncio.Lock

    async def connect(self) -> None:
        self.session_id = str(self.scope["url_route"]["kwargs"]["session_id"])
        self.group = f"session-{self.session_id.replace('-', '')}"
        self.lock = _session_lock(self.session_id)
        self.last_revision = -1
        self.resync_pending = False
        self.bucket = TokenBucket(protocol.RATE_PER_SECOND, protocol.RATE_BURST)
        self.last_rate_error = 0.0
        self.joined = False
        await self.accept()
        # Join before the first snapshot: an update that lands in between is queued, then dropped as stale.
        await self.channel_layer.group_add(self.group, self.channel_name)
        _local_tabs.setdefault(self.session_id, set()).add(self)
        self.joined = True
        if isinstance(self.channel_layer, RedisChannelLayer):
            await presence.join(self.channel_layer, self.session_id)
            await self.channel_layer.group_send(self.group, {"type": "session.presence"})
        await self._send_snapshot("connect", None)
        if isinstance(self.channel_layer, RedisChannelLayer):
            self.catch_up = asyncio.ensure_future(self._catch_up())

    async def disconnect(self, code: int) -> None:
        if getattr(self, "joined", False):
            self.joined = False
            if getattr(self, "catch_up", None) is not None:
                self.catch_up.cancel()
            await self.channel_layer.group_discard(self.group, self.channel_name)
            tabs = _local_tabs.get(self.session_id)
            if tabs is not None:
                tabs.discard(self)
                if not tabs:
                    del _local_tabs[self.session_id]
                    if isinstance(self.channel_layer, RedisChannelLayer):
                        await presence.leave(self.channel_layer, self.session_id)

    # -- input -------------------------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.bucket.take():
            # One error a second is enough to tell a flooding client; the rest are dropped unanswered.
            now = time.monotonic()
            if now - self.last_rate_error >= 1.0:
                self.last_rate_error = now
                await self._send_error(
                    ProtocolError(
                        code=ErrorCode.RATE_LIMITED,
                        message=f"more than {protocol.RATE_BURST} frames at once or {protocol.RATE_PER_SECOND:g} a second; "
                        "this one was dropped",
                    )
                )
            return
        message: ClientMessage | None = None
        try:
            message = protocol.parse_client_frame(text_data, bytes_data)
            handler = self.HANDLERS[message.type]
            await handler(self, message)
        except ProtocolError as err:
            if message is not None:
                err.request, err.re = message.type, message.id
            await self._send_error(err)
        except SessionGone:
            await self._session_gone()
        except Exception:
            log.exception("session %s: request failed", self.session_id)
            live.cache.drop(self.session_id)
            await self._send_error(
                ProtocolError(
                    code=ErrorCode.INTERNAL, message="the server failed on this request; nothing was changed",
                    request=message.type if message else None, re=message.id if message else None,
                )
            )

    async def hello(self, message: ClientMessage) -> None:
        session = message.fields.get("session")
        if session is not None and session != self.session_id:
            raise ProtocolError(code=ErrorCode.BAD_FIELD, field="session", message="this socket belongs to another session")
        await self._send_snapshot("hello", message.id)

    async def command(self, message: ClientMessage) -> None:
        command = message.fields["command"]

        def op(current: Live) -> Outcome:
            try:
                events = current.sim.apply(command)
            except CommandError as exc:
                raise ProtocolError(
                    code=ErrorCode.COMMAND_REJECTED,
                    field=f"command.{exc.field}" if exc.field else "command",
                    message=exc.message,
                ) from None
            return Outcome(current.sim, "events", events)

        await self._change(message, op, threaded=False)

    async def step(self, message: ClientMessage) -> None:
        def op(current: Live) -> Outcome:
            if current.sim.peek() is None:
                raise ProtocolError(code=ErrorCode.NOTHING_SCHEDULED, message="nothing is scheduled: the simulation is idle")
            return Outcome(current.sim, "events", current.sim.step())

        await self._change(message, op, threaded=False)

    async def run_until(self, message: ClientMessage) -> None:
        t = float(message.fields["t"])

        def op(current: Live) -> Outcome:
            sim = current.sim
            if t < sim.now:
                raise ProtocolError(
                    code=ErrorCode.BAD_FIELD, field="t", message=f"t={t:g} is before now={sim.now:g}; use step_back or seek to go back"
                )
            events, more = run_bounded(sim, t, protocol.MAX_RUN_STEPS)
            return Outcome(sim, "events", events, more=more)

        await self._change(message, op, threaded=True)

    async def step_back(self, message: ClientMessage) -> None:
        def op(current: Live) -> Outcome:
            if not _can_step_back(current.sim):
                raise ProtocolError(code=ErrorCode.NOTHING_TO_UNDO, message="already at the start of the scenario")
            # The engine knows what one visible step is: the last user command, or the last step that emitted events.
            return Outcome(current.sim.step_back(), "snapshot", [])

        await self._change(message, op, threaded=True)

    async def reset(self, message: ClientMessage) -> None:
        def op(current: Live) -> Outcome:
            row = current.row
            return Outcome(Simulation.replay(row.scenario, row.seed, [], 0, mode=row.mode), "snapshot", [])

        await self._change(message, op, threaded=True)

    async def seek(self, message: ClientMessage) -> None:
        target = int(message.fields["steps"])

        def op(current: Live) -> Outcome:
            sim, row = current.sim, current.row
            if target > sim.steps + protocol.MAX_RUN_STEPS:
                raise ProtocolError(
                    code=ErrorCode.BAD_FIELD, field="steps",
                    message=f"steps={target} is more than {protocol.MAX_RUN_STEPS} steps ahead of {sim.steps}",
                )
            new = Simulation.replay(row.scenario, row.seed, live.journal_json(sim), target, mode=row.mode)
            return Outcome(new, "snapshot", [])

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

    async def _change(self, message: ClientMessage, op: Callable[[Live], Outcome], *, threaded: bool) -> None:
        """Run `op` on the session's simulation, send the result to this tab, save it, then send it to the group.

        `op` raises ProtocolError having changed nothing. If another process saved first, the save matches no row:
        this tab gets a "resync" snapshot of the stored state and `op` runs again on it. Other tabs only ever get
        saved changes.
        """
        async with self.lock:
            for _ in range(MAX_ATTEMPTS):
                current = await self._live(fresh=False)
                journal_before = current.sim.journal
                try:
                    outcome = await asyncio.to_thread(op, current) if threaded else op(current)
                except ProtocolError:
                    # A refusal judged on a cached simulation that another process has since moved on from would be
                    # wrong (say, "not attached" when a tab elsewhere attached it): check, and retry on fresh state.
                    latest = await database_sync_to_async(live.load_revision)(self.session_id)
                    if latest is not None and latest != current.revision:
                        live.cache.drop(self.session_id)
                        continue
                    raise
                except BaseException:
                    live.cache.drop(self.session_id)  # the simulation may be half changed
                    raise
                sim = outcome.sim
                updated = Live(row=current.row, sim=sim, revision=current.revision + 1)
                if outcome.kind == "events":
                    text = _dumps(
                        protocol.events_message(
                            cause=message.type.value, revision=updated.revision, events=outcome.events,
                            state=sim.snapshot() if changes_tables(outcome.events) else None, now=sim.now,
                            next_time=sim.peek(), steps=sim.steps, can_step_back=_can_step_back(sim), more=outcome.more,
                        )
                    )
                else:
                    text = _dumps(self._snapshot_message(message.type.value, updated))
                # The asking tab sees its result before the save: the save is most of a step's cost, and it fails
                # only when another process saved this session first, which the lines below repair.
                await self._deliver_own(text, updated, message.id, is_snapshot=outcome.kind == "snapshot")
                request = live.SaveRequest.of(self.session_id, current.revision, sim, sim.journal is not journal_before)
                try:
                    saved = await batcher.save(request)
                except Exception:
                    live.cache.drop(self.session_id)
                    self.last_revision = -1  # this tab was shown an unsaved change: its next message is a snapshot
                    raise
                if saved:
                    live.cache.put(self.session_id, updated)
                    await self._broadcast({"type": "session.update", "revision": updated.revision, "text": text})
                    return
                # Another process saved first, so what this tab was just shown did not happen: show it what did,
                # then run the request again on top of that.
                live.cache.drop(self.session_id)
                fresh = await self._live(fresh=True)
                await self.send(text_data=_dumps(self._snapshot_message("resync", fresh)))
                self.last_revision = fresh.revision
        raise ProtocolError(
            code=ErrorCode.BUSY, message="the session kept changing under this request (other tabs?); try again"
        )

    async def _live(self, *, fresh: bool) -> Live:
        """The session's simulation: the cached one, or rebuilt from the database. `fresh` checks the cache against
        the database's revision first (for snapshots, which save nothing and so would not notice a stale cache)."""
        current = live.cache.get(self.session_id)
        if current is not None and not fresh and current.revision >= self.last_revision:
            return current
        row = await database_sync_to_async(live.load_row)(self.session_id)
        if row is None:
            live.cache.drop(self.session_id)
            raise SessionGone
        if current is not None and current.revision == row.revision:
            return current
        current = await asyncio.to_thread(live.rebuild, row)
        live.cache.put(self.session_id, current)
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

    async def _send_snapshot(self, cause: str, re: str | int | None) -> None:
        try:
            async with self.lock:
                current = await self._live(fresh=True)
                text = _dumps(self._snapshot_message(cause, current))
                self.last_revision = current.revision
                await self.send(text_data=_with_re(text, re))
        except SessionGone:
            await self._session_gone()
        except ScenarioError as exc:
            problems = "; ".join(f"{p.path}: {p.message}" for p in exc.problems) or str(exc)
            await self._send_error(
                ProtocolError(code=ErrorCode.SCENARIO_INVALID, message=f"this session's scenario is refused: {problems}", re=re)
            )
            await self.close(code=protocol.CLOSE_SCENARIO_INVALID)

    async def _broadcast(self, event: dict[str, Any]) -> None:
        """Send a saved change to the session's other tabs: those in this process directly, under the session lock
        (so in order), and the others through the channel layer group. With the in-memory layer there are no others,
        and skipping the layer saves a round through its queues for every step; with channels_redis, only when another
        process has tabs on the session (Presence)."""
        for tab in list(_local_tabs.get(self.session_id, ())):
            if tab is not self:
                await tab.session_update(event)
        layer = self.channel_layer
        if isinstance(layer, InMemoryChannelLayer):
            return
        if isinstance(layer, RedisChannelLayer) and not await presence.others(layer, self.session_id):
            return
        await layer.group_send(self.group, event)

    async def session_presence(self, event: dict[str, Any]) -> None:
        """A tab connected somewhere (maybe in another process): read who has tabs on this session again."""
        presence.forget(self.session_id)

    async def _catch_up(self) -> None:
        """Some time after connecting, make sure no change was missed: a process that had not yet heard of this one
        may have skipped the group for a change saved after this tab's snapshot was read."""
        try:
            await asyncio.sleep(Presence.CATCH_UP)
            latest = await database_sync_to_async(live.load_revision)(self.session_id)
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
            await self.send(text_data=_with_re(_dumps(self._snapshot_message("resync", current)), re))
        self.last_revision = current.revision

    async def session_update(self, event: dict[str, Any]) -> None:
        """A saved change of this session: from a tab in this process (directly, see _broadcast) or through the
        channel layer (from any process, this one included)."""
        revision = event["revision"]
        cached = live.cache.get(self.session_id)
        if cached is not None and cached.revision < revision:
            live.cache.drop(self.session_id)  # changed by another process: the next request replays from the database
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
            asyncio.ensure_future(self._resync())

    async def _resync(self) -> None:
        try:
            await self._send_snapshot("resync", None)
        except Exception:  # the socket closed meanwhile: nothing to repair
            log.debug("session %s: resync not sent", self.session_id, exc_info=True)
        finally:
            self.resync_pending = False

    async def _send_error(self, err: ProtocolError) -> None:
        await self.send(text_data=_dumps(protocol.error_message(err)))

    async def _session_gone(self) -> None:
        await self._send_error(
            ProtocolError(code=ErrorCode.SESSION_NOT_FOUND, message=f"there is no session {self.session_id}")
        )
        await self.close(code=protocol.CLOSE_SESSION_NOT_FOUND)


def changes_tables(events: list[dict[str, Any]]) -> bool:
    """Whether these events changed any table of the state: the engine reports every table change with a state event
    (kind in lower case, docs/engine.md), and of those only `drop` changes none; messages (upper case) change none.
    Most steps of a running scenario are data packets only, and then the state is not built, encoded or sent."""
    return any(e["kind"] != "drop" and e["kind"].islower() for e in events)


def _can_step_back(sim: Simulation) -> bool:
    return sim.steps > 0 or bool(sim.journal)


def run_bounded(sim: Simulation, t: float, max_steps: int) -> tuple[list[dict[str, Any]], bool]:
    """`sim.run(t)` in slices of simulated time, stopping once `max_steps` items have been processed.

    Running to t1 and then to t2 is exactly running to t2 (the engine processes every item due by each bound), so the
    slices change nothing but where a long run may stop. Returns the events and whether items due by `t` remain.
    """
    start = sim.steps
    events: list[dict[str, Any]] = []
    span = 1.0
    while True:
        bound = min(t, sim.now + span)
        before = sim.steps
        events += sim.run(bound)
        if bound >= t:
            return events, False
        if sim.steps - start >= max_steps:
            nxt = sim.peek()
            return events, nxt is not None and nxt <= t
        done = sim.steps - before
        span = span / 2 if done > 2000 else span * 2 if done < 200 else span


class EchoConsumer(DispatchWithoutDatabaseHop, AsyncJsonWebsocketConsumer):
    """Sends every JSON frame straight back: the floor that bench/ws.py compares the session consumer with (the same
    dispatch as SessionConsumer, so the comparison is of the work per message, not of Channels' extra hop)."""

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json(content)
