"""With channels_redis, a change goes through the channel layer only when another process has tabs on the session
(presence.RedisPresence), and a tab that a process skipped while it had not yet heard of it is caught up."""

from __future__ import annotations

import asyncio
import os

import pytest
import redis.asyncio
from channels.db import (
    database_sync_to_async as sync_to_async,  # closes its connections, so test DBs can be dropped
)
from channels.layers import get_channel_layer

from dmmviz.web import live, process
from dmmviz.web.presence import RedisPresence

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="runs when REDIS_URL is set (make test-services)"),
]


def redis_client() -> redis.asyncio.Redis:
    return redis.asyncio.Redis.from_url(os.environ["REDIS_URL"])


def test_this_process_uses_the_redis_presence():
    assert isinstance(process.state().presence, RedisPresence)


@pytest.fixture
def group_sends(monkeypatch):
    """The types of the messages sent to channel-layer groups during the test."""
    layer = get_channel_layer()
    sent: list[str] = []
    real = layer.group_send

    async def spy(group, message):
        sent.append(message["type"])
        await real(group, message)

    monkeypatch.setattr(layer, "group_send", spy)
    return sent


async def test_changes_go_through_redis_only_while_another_process_has_tabs(new_session, clients, group_sends):
    """Two tabs in this process are kept in sync directly; once another process has a tab on the session (it joins the
    session's set in Redis and says so to the group), every change also goes to the group."""
    session = await sync_to_async(new_session)("fig5-handover")
    tab_a, _ = await clients(session.id)
    tab_b, _ = await clients(session.id)
    for _ in range(3):
        mine = await tab_a.request("step")
        assert (await tab_b.expect("events"))["revision"] == mine["revision"]
    await tab_a.request("hello", expect="snapshot")  # answered once the last change is saved and sent
    assert group_sends.count("session.update") == 0

    layer = get_channel_layer()
    key = RedisPresence.key(str(session.id))
    redis = redis_client()
    await redis.sadd(key, b"another-process")
    try:
        # What another process's new tab says to the session's group (dmmviz/web/relay.py: with the session's id).
        await layer.group_send(f"session-{session.id.hex}", {"type": "session.presence", "session": str(session.id)})
        await asyncio.sleep(0.2)  # the tabs hear of it
        mine = await tab_a.request("step")
        assert (await tab_b.expect("events"))["revision"] == mine["revision"]
        await tab_a.request("hello", expect="snapshot")
        assert group_sends.count("session.update") == 1
    finally:
        await redis.delete(key)


async def test_a_change_saved_unannounced_after_connecting_is_caught_up(new_session, clients, monkeypatch):
    """A process that had not yet heard of this tab's process saves a change without telling the group: the tab still
    gets it, as a resync snapshot, soon after connecting."""
    monkeypatch.setattr(process.state().presence, "CATCH_UP", 0.3)
    session = await sync_to_async(new_session)("fig5-handover")
    tab, snapshot = await clients(session.id)
    assert snapshot["revision"] == 0

    def other_process_steps():
        row = live.load_row(str(session.id))
        other = live.rebuild(row)
        other.sim.step()
        assert live.save(str(session.id), row.revision, other.sim, journal_changed=False)

    await sync_to_async(other_process_steps)()
    resync = await tab.expect("snapshot")
    assert (resync["cause"], resync["revision"], resync["steps"]) == ("resync", 1, 1)
    await tab.nothing()
