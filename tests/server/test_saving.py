"""Saving steps (dmmviz/web/live.py, batching.py) and encoding messages (consumers._dumps): the step path's cheap
parts must still be right."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from channels.db import (
    database_sync_to_async as sync_to_async,  # closes its connections, so test DBs can be dropped
)

from dmmviz.web import batching, live
from dmmviz.web.consumers import _dumps, _with_re
from dmmviz.web.models import SimSession

pytestmark = pytest.mark.django_db(transaction=True)


def request(session: SimSession, expected: int, steps: int, journal: list | None = None) -> live.SaveRequest:
    return live.SaveRequest(session_id=str(session.id), expected_revision=expected, steps=steps, now=steps / 10,
                            journal=journal)


def test_one_batch_saves_each_session_that_is_still_at_its_revision(new_session):
    """One trip with several sessions: each is stored only if its row is at the revision it started from, and each
    caller learns its own outcome; a journal change rides in the same batch."""
    fresh, moved_on, commanded = new_session(), new_session(), new_session()
    SimSession.objects.filter(id=moved_on.id).update(revision=4, steps=40)  # another process saved it meanwhile
    command = [[3, 300000, {"action": "move", "mn": "MN1", "mar": "MAR2"}]]
    results = live.save_many([
        request(fresh, 0, 7), request(moved_on, 3, 9), request(commanded, 0, 3, journal=command),
    ])
    assert results == [True, False, True]
    rows = {s.id: s for s in SimSession.objects.all()}
    assert (rows[fresh.id].revision, rows[fresh.id].steps, rows[fresh.id].now) == (1, 7, 0.7)
    assert (rows[moved_on.id].revision, rows[moved_on.id].steps) == (4, 40)  # untouched
    assert (rows[commanded.id].revision, rows[commanded.id].steps, rows[commanded.id].journal) == (1, 3, command)


def test_a_batch_larger_than_one_statement_is_saved_whole(new_session, monkeypatch):
    """Batches are cut into statements of at most _POSITIONS_PER_STATEMENT rows; every row is still answered."""
    monkeypatch.setattr(live, "_POSITIONS_PER_STATEMENT", 2)
    sessions = [new_session() for _ in range(5)]
    SimSession.objects.filter(id=sessions[3].id).update(revision=1)
    assert live.save_many([request(s, 0, 5) for s in sessions]) == [True, True, True, False, True]
    assert sorted(SimSession.objects.values_list("revision", flat=True)) == [1, 1, 1, 1, 1]


@pytest.mark.asyncio
async def test_a_lone_save_goes_at_once_and_a_busy_server_shares_trips(new_session, monkeypatch):
    """A save with no company is not held back by the window (a single tab playing fast), while saves arriving
    together go in one trip."""
    sessions = [await sync_to_async(new_session)() for _ in range(4)]
    trips: list[int] = []
    real = batching._save_many

    async def counting(requests):
        trips.append(len(requests))
        return await real(requests)

    monkeypatch.setattr(batching, "_save_many", counting)
    monkeypatch.setattr(batching, "WINDOW", 0.5)
    saver = batching.SaveBatcher()
    started = time.perf_counter()
    for steps in (1, 2, 3):  # one tab, one save after the other
        assert await saver.save(request(sessions[0], steps - 1, steps))
    assert time.perf_counter() - started < 0.4, "a lone save waited for the window"
    assert await asyncio.gather(*(saver.save(request(s, 0, 1)) for s in sessions[1:])) == [True, True, True]
    assert trips == [1, 1, 1, 3]


def test_messages_are_the_same_json_whichever_encoder_writes_them():
    """orjson writes the messages; its text decodes to what the standard library would have written, and what it
    refuses (an integer beyond 64 bits, possible in an uploaded scenario) is still sent."""
    message = {"v": 1, "type": "snapshot", "scenario": {"title": "Übergabe → MAR2", "x": 1e16, "y": 1e-05},
               "state": None, "now": 0.1, "events": [{"kind": "DATA", "hnps": ("a", "b")}]}
    text = _dumps(message)
    assert json.loads(text) == json.loads(json.dumps(message))
    assert text.startswith('{"v":1,"type":"snapshot",')  # compact, keys in order (lessons' class consumer reads it)
    huge = {**message, "scenario": {"seed": 2**70}}
    assert json.loads(_dumps(huge))["scenario"]["seed"] == 2**70
    assert json.loads(_with_re(text, 7))["re"] == 7
    assert json.loads(_with_re(text, 'a"b'))["re"] == 'a"b'
