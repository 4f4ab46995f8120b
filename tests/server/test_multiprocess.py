"""Two real Daphne processes sharing one database and channels_redis: tabs on either stay in sync, and a reconnect
to the other process resumes the session exactly. Needs the Redis on 127.0.0.1:6379 (CI starts it)."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from channels.db import database_sync_to_async as sync_to_async  # closes its connections, so test DBs can be dropped

from dmmviz.daphne_process import DaphneProcess

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True), pytest.mark.services]

class Tab:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.n = 0

    @classmethod
    async def open(cls, server: DaphneProcess, session_id) -> tuple[Tab, dict]:
        ws = await websockets.connect(f"{server.ws_url}/ws/session/{session_id}/", origin=server.url)
        tab = cls(ws)
        snapshot = await tab.receive()
        assert snapshot["type"] == "snapshot"
        return tab, snapshot

    async def receive(self) -> dict:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout=10))

    async def request(self, type_: str, **fields) -> dict:
        self.n += 1
        await self.ws.send(json.dumps({"v": 1, "type": type_, "id": self.n, **fields}))
        reply = await self.receive()
        assert reply.get("re") == self.n, reply
        return reply


async def test_tabs_on_two_processes_stay_in_sync_and_resume(two_servers, new_session):
    """A tab on process 1 and a tab on process 2 see each other's changes; a reconnect to process 2 resumes exactly."""
    one, two = two_servers
    session = await sync_to_async(new_session)("fig5-handover")
    tab1, snap1 = await Tab.open(one, session.id)
    tab2, snap2 = await Tab.open(two, session.id)
    assert snap1["state"] == snap2["state"] and snap1["revision"] == snap2["revision"] == 0

    ran = await tab1.request("run_until", t=3.0)
    seen = await tab2.receive()
    assert seen["type"] == "events" and seen["revision"] == 1 and seen["state"] == ran["state"]

    moved = await tab2.request("command", command={"action": "move", "mn": "MN1", "mar": "MAR2"})
    seen = await tab1.receive()
    assert seen["revision"] == 2 and seen["events"] == moved["events"]

    after = await tab1.request("run_until", t=3.5)
    assert "PBU" in [e["kind"] for e in after["events"]]
    assert (await tab2.receive())["state"] == after["state"]

    before = await tab1.request("hello")
    await tab1.ws.close()
    resumed, again = await Tab.open(two, session.id)
    for key in ("revision", "steps", "now", "state", "events", "journal"):
        assert again[key] == before[key], key
    assert again["state"]["mars"]["MAR1"]["tunnels"] == ["MAR2"]

    back = await resumed.request("step_back")
    assert back["type"] == "snapshot" and back["revision"] == before["revision"] + 1
    assert (await tab2.receive())["revision"] == back["revision"]
    await resumed.ws.close()
    await tab2.ws.close()
