"""Live simulations behind the websocket: rebuild from the database, change, save, with a per-process cache.

The database row (SimSession) is the truth: (scenario data, seed, mode, journal, steps, now) plus a `revision` that
every change bumps. A change runs on the cached Simulation when the cache holds this session at the revision the
change starts from, and is saved with `UPDATE ... WHERE revision = <that revision>`. If another process (or a tab on
another process) saved first, nothing is updated: the cache entry is dropped, the simulation is rebuilt from the row
by `Simulation.replay`, and the change is tried again. So the cache only saves replays; correctness never rests on it.

Nothing here is async: the consumer calls these functions through `database_sync_to_async` (database) or in the
event loop (cheap engine calls), under its per-session asyncio lock.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.utils import timezone

from simulator import Simulation

from .models import SimSession


@dataclass(slots=True, kw_only=True)
class SessionRow:
    """What the database holds for one session: enough to rebuild its simulation exactly."""

    id: str
    scenario: dict[str, Any]
    seed: int
    mode: str | None
    journal: list[list[Any]]
    steps: int
    now: float
    revision: int
    scenario_bytes: int = 0  # the scenario's JSON size, for the cache's estimate of a live session's memory


@dataclass(slots=True, kw_only=True)
class Live:
    """A simulation as of `revision` of its session, with periodic checkpoints of its past (for step back and seek)."""

    row: SessionRow
    sim: Simulation
    revision: int
    checkpoints: list[Simulation] = field(default_factory=list)


def load_row(session_id: str) -> SessionRow | None:
    """Read a session from the database (None if there is no such session)."""
    values = (
        SimSession.objects.filter(id=session_id)
        .values("scenario_data", "seed", "mode", "journal", "steps", "now", "revision")
        .first()
    )
    if values is None:
        return None
    return SessionRow(
        id=str(session_id),
        scenario=values["scenario_data"],
        seed=values["seed"],
        mode=values["mode"] or None,
        journal=list(values["journal"] or []),
        steps=values["steps"],
        now=values["now"],
        revision=values["revision"],
        scenario_bytes=len(json.dumps(values["scenario_data"], separators=(",", ":"))),
    )


def load_revision(session_id: str) -> int | None:
    """The session's current revision in the database (None if there is no such session)."""
    return SimSession.objects.filter(id=session_id).values_list("revision", flat=True).first()


def rebuild(row: SessionRow, hook: Any = None, *, window: bool = False) -> Live:
    """Replay the session's simulation from its row, under a work budget whose `should_stop` is `hook` (budget.py).
    Raises the engine's ScenarioError if the scenario is refused, TooMuchWork if the replay is over budget.

    `window` (the live sessions of the websocket): keep only the last EVENT_WINDOW events, and rebuild a long session
    without recording its events at all. Without it (exports), every event of the run is kept, as the engine keeps
    them."""
    from .budget import engine_kwargs

    kwargs = engine_kwargs(Simulation.replay, hook)
    if window and kwargs and row.steps > RECORD_REBUILD_MAX_STEPS:
        # A long session is rebuilt without keeping its events (they would all be held until trimmed): memory then
        # follows the network's state; the first snapshot after such a rebuild has no events of the past.
        kwargs["record"] = False
    sim = Simulation.replay(row.scenario, row.seed, row.journal, row.steps, now=row.now, mode=row.mode, **kwargs)
    if window:
        sim.record = True  # from here on, events are kept again (in the window); each engine call reads it afresh
        trim(sim)
    return Live(row=row, sim=sim, revision=row.revision)


def journal_json(sim: Simulation) -> list[list[Any]]:
    """`Simulation.journal` as stored and sent: [[steps_before, now_us, command], ...]."""
    return [[int(steps), int(now_us), dict(command)] for steps, now_us, command in sim.journal]


@dataclass(slots=True, kw_only=True)
class SaveRequest:
    """One session's new position, to be stored if its row is still at `expected_revision`."""

    session_id: str
    expected_revision: int
    steps: int
    now: float
    journal: list[list[Any]] | None  # None: unchanged

    @classmethod
    def of(cls, session_id: str, expected_revision: int, sim: Simulation, journal_changed: bool) -> SaveRequest:
        return cls(session_id=session_id, expected_revision=expected_revision, steps=sim.steps, now=sim.now,
                   journal=journal_json(sim) if journal_changed else None)


def save(session_id: str, expected_revision: int, sim: Simulation, journal_changed: bool) -> bool:
    """Store the simulation's (journal, steps, now) if the row is still at `expected_revision`; True if it was."""
    return save_many([SaveRequest.of(session_id, expected_revision, sim, journal_changed)])[0]


def save_many(requests: list[SaveRequest]) -> list[bool]:
    """Store several sessions' positions at once; for each, whether its row was still at the expected
    revision (False: another process saved it first, nothing was written for it).

    Runs for every step of every session, so the common case (journal unchanged) is one UPDATE for the whole batch
    rather than one query per session. A connection found broken (the database restarted) is reopened once.
    """
    positions = [r for r in requests if r.journal is None]
    # One statement is a transaction of its own; more (journals, or a batch too big for one) share one, so that a retry
    # after a broken connection never finds its own half-done work and calls it another process's.
    one_statement = len(positions) == len(requests) and len(positions) <= _POSITIONS_PER_STATEMENT
    for attempt in (1, 2):
        try:
            with contextlib.nullcontext() if one_statement else transaction.atomic():
                moved = iter(_save_positions(positions))
                return [next(moved) if r.journal is None else _save_with_journal(r) for r in requests]
        except (InterfaceError, OperationalError):
            connection.close()
            if attempt == 2:
                raise
    raise AssertionError("not reached")


def _save_with_journal(request: SaveRequest) -> bool:
    return SimSession.objects.filter(id=request.session_id, revision=request.expected_revision).update(
        steps=request.steps, now=request.now, revision=request.expected_revision + 1, updated=timezone.now(),
        journal=request.journal,
    ) == 1


# Rows per UPDATE: 4 parameters each, well under SQLite's 32,766 and PostgreSQL's 65,535.
_POSITIONS_PER_STATEMENT = 500


def _save_positions(requests: list[SaveRequest]) -> list[bool]:
    """`UPDATE ... FROM (VALUES (id, expected revision, steps, now), ...) ... RETURNING id`: every session's new
    position in one statement (SQLite >= 3.35 and PostgreSQL both speak it); for each, whether its row matched."""
    if not requests:
        return []
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself: each attribute of django.db.connection is a lookup
    updated = SimSession._meta.get_field("updated").get_db_prep_value(timezone.now(), db)
    keys = [_db_key(r.session_id, db.vendor) for r in requests]
    moved = set()
    for start in range(0, len(requests), _POSITIONS_PER_STATEMENT):
        chunk = requests[start:start + _POSITIONS_PER_STATEMENT]
        params: list[Any] = [updated]
        for key, r in zip(keys[start:], chunk, strict=False):
            params += (key, r.expected_revision, r.steps, r.now)
        with db.cursor() as cursor:
            cursor.execute(_positions_sql(len(chunk), db.vendor), params)
            moved.update(row[0] for row in cursor.fetchall())
    return [key in moved for key in keys]


@functools.lru_cache(maxsize=64)
def _positions_sql(rows: int, vendor: str) -> str:
    q = connections[DEFAULT_DB_ALIAS].ops.quote_name
    table = q(SimSession._meta.db_table)
    # VALUES columns are column1..column4 in both databases; SET may not name the table, WHERE must.
    return (
        f"UPDATE {table} SET {q('steps')} = v.column3, {q('now')} = v.column4, {q('revision')} = v.column2 + 1, "
        f"{q('updated')} = %s FROM (VALUES {', '.join(['(%s, %s, %s, %s)'] * rows)}) AS v "
        f"WHERE {table}.{q('id')} = v.column1 AND {table}.{q('revision')} = v.column2 RETURNING {table}.{q('id')}"
    )


@functools.lru_cache(maxsize=4096)
def _db_key(session_id: str, vendor: str) -> Any:
    """A session id as the database stores and returns it (hex text in SQLite, uuid in PostgreSQL), so that the ids
    RETURNING gives back compare as they are."""
    return SimSession._meta.pk.get_db_prep_value(session_id, connections[DEFAULT_DB_ALIAS])


# -- checkpoints: step back and seek cost what they travel, not the session's length --------------------------------
#
# A live session keeps a copy of its simulation every CHECKPOINT_EVERY scheduled items (at most MAX_CHECKPOINTS, the
# most recent; events left out). Going to an earlier point starts from the nearest checkpoint at or before it whose
# commands are a prefix of the wanted journal, and runs forward from there (with the same journal entries a replay
# would apply), so it costs at most CHECKPOINT_EVERY items plus the distance from that checkpoint, whatever the
# session's length. Without a usable checkpoint it is a replay from t = 0, as before.

CHECKPOINT_EVERY = 5_000
MAX_CHECKPOINTS = 20
_FAR_US = 10**15  # a time no item reaches (microseconds): run() is stopped by its item budget, not by time
_CHUNK = 100_000  # items per run() while advancing (the budget is checked once per chunk)


class _NeedReplay(Exception):
    """The queue ran dry before the wanted point: the copy cannot say where the clock stopped; replay instead."""


def _copy_without_events(sim: Simulation) -> Simulation:
    events, sim.events = sim.events, []
    try:
        return copy.deepcopy(sim)
    finally:
        sim.events = events


def add_checkpoint(current: Live) -> None:
    """Keep a copy of the simulation if CHECKPOINT_EVERY items have gone by since the latest checkpoint."""
    sim = current.sim
    last = current.checkpoints[-1].steps if current.checkpoints else 0
    if sim.steps - last >= CHECKPOINT_EVERY:
        current.checkpoints.append(_copy_without_events(sim))
        del current.checkpoints[:-MAX_CHECKPOINTS]


def on_the_way(checkpoint: Simulation, journal: tuple[Any, ...]) -> bool:
    """Whether the run with `journal`'s commands passes through `checkpoint`: the checkpoint's commands are the first
    of `journal`, and the next one (if any) comes at or after its step. A checkpoint made before a seek back, further
    on, has the same commands but not one given after the seek, at an earlier step: it is of an undone future."""
    given = len(checkpoint.journal)
    if tuple(journal[:given]) != tuple(checkpoint.journal):
        return False
    return len(journal) == given or int(journal[given][0]) >= checkpoint.steps


def usable_checkpoints(checkpoints: list[Simulation], journal: tuple[Any, ...]) -> list[Simulation]:
    """The checkpoints a run with `journal`'s commands passes through (the others belong to an undone future)."""
    return [cp for cp in checkpoints if on_the_way(cp, journal)]


def checkpoints_after(checkpoints: list[Simulation], sim: Simulation) -> list[Simulation]:
    """The checkpoints still on `sim`'s way after a change."""
    return usable_checkpoints(checkpoints, sim.journal)


def _advance(sim: Simulation, n: int, hook: Any) -> None:
    """Process exactly `n` more scheduled items (raises _NeedReplay if the queue runs dry first)."""
    from simulator.limits import Budget, TooMuchWork

    while n > 0:
        chunk = min(n, _CHUNK)
        before = sim.steps
        budget = Budget(max_items=chunk, max_same_instant=10**15, poll_every=chunk, should_stop=hook)
        try:
            sim.run(_FAR_US / 1_000_000, collect=False, budget=budget)
        except TooMuchWork as exc:
            if exc.reason != "items":
                raise
        else:
            raise _NeedReplay
        n -= sim.steps - before


def go_to(
    current: Live, journal: tuple[Any, ...], target: int, now: float | None = None, hook: Any = None
) -> Simulation:
    """The session's simulation after `target` scheduled items with the commands of `journal` given up to there:
    exactly what `Simulation.replay(scenario, seed, journal, target, now)` builds, from the nearest usable
    checkpoint."""
    from .budget import engine_kwargs

    row = current.row
    # Strictly before the target: a checkpoint's clock may read past its last item (run() leaves it at its `until`),
    # while a replay stopped at that item reads the item's time; one item on, both read the item's time.
    usable = [cp for cp in usable_checkpoints(current.checkpoints, journal) if cp.steps < target]
    if usable:
        checkpoint = usable[-1]
        sim = copy.deepcopy(checkpoint)
        try:
            for steps_before, now_us, command in journal[len(sim.journal):]:
                steps_before, now_us = int(steps_before), int(now_us)
                if steps_before > target:
                    break
                _advance(sim, steps_before - sim.steps, hook)
                sim.now_us = max(sim.now_us, now_us)
                sim.apply(command)
            try:
                _advance(sim, target - sim.steps, hook)
            except _NeedReplay:
                if now is None:
                    raise
                # The queue ran dry on the way to the target (the items ended there): as in a replay, the clock then
                # reads `now`, which the caller knows (it is at least the last item's time).
            if now is not None:
                sim.now_us = max(sim.now_us, round(now * 1_000_000)) if sim.now_us < _FAR_US else round(now * 1_000_000)
            sim.events[:0] = _common_past(current.sim, checkpoint)
            trim(sim)
            return sim
        except _NeedReplay:
            pass
    return Simulation.replay(row.scenario, row.seed, journal, target, now=now, mode=row.mode,
                             **engine_kwargs(Simulation.replay, hook))


def _common_past(sim: Simulation, checkpoint: Simulation) -> list[dict[str, Any]]:
    """The events `sim` still keeps from before `checkpoint` (a checkpoint keeps none): a simulation rebuilt from the
    checkpoint shares that past (its journal is a prefix of the one wanted), so its snapshot shows them as a replay's
    would, instead of only what it recorded since the checkpoint."""
    if checkpoint.steps > sim.steps or not on_the_way(checkpoint, sim.journal):
        return []  # sim has not been there (its events would leave a gap), or its past differs from the checkpoint's
    before = checkpoint._seq  # the number of the first event after the checkpoint
    return [event for event in sim.events[-EVENT_WINDOW:] if event["seq"] < before]


def seek(current: Live, target: int, hook: Any = None) -> Simulation:
    """The session after `target` scheduled items, keeping the commands given up to there (protocol `seek`). Forward
    goes on from the live simulation itself (changed in place); back from the nearest checkpoint."""
    sim = current.sim
    if target >= sim.steps:
        now = sim.now
        try:
            _advance(sim, target - sim.steps, hook)
            return sim
        except _NeedReplay:
            # The items ran out on the way: a replay says where the clock stopped, and the clock never goes back from
            # where the session stood (a run_until may have moved it past the last item).
            row = current.row
            from .budget import engine_kwargs

            return Simulation.replay(row.scenario, row.seed, sim.journal, target, now=now, mode=row.mode,
                                     **engine_kwargs(Simulation.replay, hook))
    return go_to(current, sim.journal, target, hook=hook)


def step_back(current: Live, hook: Any = None) -> Simulation:
    """`sim.step_back()` from the nearest checkpoint: before the last user command, or before the last step that
    emitted events (the engine's rule, simulator/engine.py Simulation.step_back)."""
    sim = current.sim
    if sim.last_was_command and sim.journal:
        return go_to(current, sim.journal[:-1], sim.steps, now=sim.now, hook=hook)
    return go_to(current, sim.journal, sim.visible_before, hook=hook)


# A live session keeps its last EVENT_WINDOW events (what a snapshot sends), not every event of its run: memory per
# session follows the network's state, not the session's length.
EVENT_WINDOW = 2_000
# A session longer than this (scheduled items) is rebuilt from the database without recording its events.
RECORD_REBUILD_MAX_STEPS = 50_000

# Rough bytes of what a live simulation holds: measured with tracemalloc on the built-in scenarios (an event dict
# is 580-630 bytes; the network's tables and the scenario document about 40 times its JSON text).
_BYTES_PER_EVENT = 650
_BYTES_PER_JOURNAL_ENTRY = 400
_BYTES_PER_SCENARIO_BYTE = 40


def trim(sim: Simulation) -> None:
    """Drop all but the last EVENT_WINDOW recorded events (amortised: only once the list is twice that long)."""
    if len(sim.events) > 2 * EVENT_WINDOW:
        del sim.events[: len(sim.events) - EVENT_WINDOW]


def trimmed(sim: Simulation) -> int:
    """How many events of the run come before the first one `sim` still keeps: events are numbered from 0 by `seq`
    without gaps while events are recorded, so that is the first kept event's `seq`."""
    return int(sim.events[0]["seq"]) if sim.events else 0


def estimate_bytes(current: Live) -> int:
    sim = current.sim
    scenario = current.row.scenario_bytes
    return ((1 + len(current.checkpoints)) * scenario * _BYTES_PER_SCENARIO_BYTE + len(sim.events) * _BYTES_PER_EVENT
            + len(sim.journal) * _BYTES_PER_JOURNAL_ENTRY + 4096)


class LiveCache:
    """The most recently used live simulations of this process, by session id, bounded by their estimated bytes
    (`max_bytes`): least recently used dropped first. A session's entry is only a saved replay; dropping it costs a
    rebuild, never a change."""

    def __init__(self, max_bytes: int = 128 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[Live, int]] = OrderedDict()
        self._lock = threading.Lock()  # get/put may come from the event loop and from worker threads

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, session_id: str) -> Live | None:
        with self._lock:
            entry = self._entries.get(session_id)
            if entry is None:
                return None
            self._entries.move_to_end(session_id)
            return entry[0]

    def put(self, session_id: str, live: Live) -> None:
        trim(live.sim)
        size = estimate_bytes(live)
        with self._lock:
            old = self._entries.pop(session_id, None)
            if old is not None:
                self.bytes -= old[1]
            if size > self.max_bytes:
                return  # larger than the whole cache: rebuilt on each use rather than evicting everyone else
            self._entries[session_id] = (live, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped

    def drop(self, session_id: str) -> None:
        with self._lock:
            old = self._entries.pop(session_id, None)
            if old is not None:
                self.bytes -= old[1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0


# Replaced by WebConfig.ready with the process state's cache (dmmviz/web/process.py); this one serves code that runs
# without the app registry.
cache = LiveCache(getattr(settings, "DMMVIZ_LIVE_CACHE_BYTES", 128 * 1024 * 1024))
