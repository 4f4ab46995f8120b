"""A long session still reloads: every message the server sends fits Daphne's 1 MiB websocket frame limit."""

import json

import pytest
from channels.db import database_sync_to_async as sync_to_async

from dmmviz import protocol

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

DAPHNE_LIMIT = 1024 * 1024  # autobahn's maxMessagePayloadSize as Daphne sets it: a larger message closes the socket


async def test_long_session_snapshot_and_replies_fit_a_websocket_frame(new_session, clients):
    """80 s of the mostly-static scenario (thousands of events): the replies and the reload's snapshot stay under
    1 MiB."""
    session = await sync_to_async(new_session)("mostly-static")
    client, _ = await clients(session.id)
    reply = await client.request("run_until", t=80.0)
    sizes = [len(json.dumps(reply))]
    while reply.get("more"):
        reply = await client.request("run_until", t=80.0)
        sizes.append(len(json.dumps(reply)))
    assert reply["now"] == 80.0 and max(sizes) < DAPHNE_LIMIT
    _, snapshot = await clients(session.id)  # a reload
    assert snapshot["type"] == "snapshot" and snapshot["now"] == 80.0
    assert len(json.dumps(snapshot)) < DAPHNE_LIMIT
    assert snapshot["events_omitted"] > 0 and len(snapshot["events"]) <= protocol.MAX_SNAPSHOT_EVENTS
