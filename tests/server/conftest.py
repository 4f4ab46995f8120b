"""Fixtures for the Django/Channels tests: built-in scenarios in the database, sessions, websocket clients."""

from __future__ import annotations

import json
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.db import connections

from dmmviz.asgi import application
from dmmviz.web import live
from dmmviz.web.models import Scenario, SimSession

from .multiprocess import two_servers  # noqa: F401 (a fixture of the multi-process tests)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
TIMEOUT = 10


def tables(state: dict[str, Any]) -> dict[str, Any]:
    """A state without what an events message with state null leaves out of date: the clock, packet counters and
    the remaining lifetimes that count down with the clock (each row's `expires` changes only with a state event)."""
    state = json.loads(json.dumps(state))
    del state["t"]
    for mn in state["mns"].values():
        for flow in mn["flows"]:
            del flow["packets"]
        for row in mn.get("binding_update_list", []):
            del row["lifetime"]
    for tables in state["mars"].values():
        for row in tables["binding_cache"] + tables["binding_update_list"]:
            del row["lifetime"]
    return state


@pytest.fixture
def builtins(transactional_db) -> dict[str, Scenario]:
    """The built-in scenarios, loaded as `make run` loads them, by slug. Committed, so consumer threads see them."""
    call_command("load_builtin", verbosity=0)
    return {s.slug: s for s in Scenario.objects.all()}


@pytest.fixture
def new_session(builtins):
    """Make a session of a built-in scenario: new_session("fig5-handover") -> SimSession."""

    def make(slug: str = "fig5-handover", **fields: Any) -> SimSession:
        scenario = builtins[slug]
        return SimSession.objects.create(scenario=scenario, scenario_data=scenario.data, **fields)

    return make


@pytest.fixture(autouse=True)
def _empty_live_cache():
    """Each test starts with a cold per-process cache, as a freshly started Daphne would."""
    live.cache.clear()
    yield
    live.cache.clear()


class Client:
    """A websocket client on one session, with helpers that fail with the unexpected frame in the message."""

    def __init__(self, session_id: Any, origin: tuple[bytes, bytes] = ORIGIN) -> None:
        self.comm = WebsocketCommunicator(application, f"/ws/session/{session_id}/", headers=[origin])
        self.next_id = 0

    async def connect(self) -> dict[str, Any]:
        connected, _ = await self.comm.connect(timeout=TIMEOUT)
        assert connected, "the websocket handshake was refused"
        return await self.expect("snapshot")

    async def send(self, type_: str, **fields: Any) -> int:
        self.next_id += 1
        await self.comm.send_json_to({"v": 1, "type": type_, "id": self.next_id, **fields})
        return self.next_id

    async def send_raw(self, text: str | None = None, binary: bytes | None = None) -> None:
        await self.comm.send_to(text_data=text, bytes_data=binary)

    async def receive(self) -> dict[str, Any]:
        return await self.comm.receive_json_from(timeout=TIMEOUT)

    async def expect(self, type_: str) -> dict[str, Any]:
        message = await self.receive()
        assert message["type"] == type_, f"expected {type_}, got {json.dumps(message)[:500]}"
        return message

    async def request(self, type_: str, expect: str = "events", **fields: Any) -> dict[str, Any]:
        """Send a request and return its reply (which must be `expect` and carry the request's id as "re")."""
        msg_id = await self.send(type_, **fields)
        message = await self.expect(expect)
        assert message.get("re") == msg_id, f"reply without re={msg_id}: {json.dumps(message)[:300]}"
        return message

    async def error(self, type_: str | None = None, **fields: Any) -> dict[str, Any]:
        if type_ is not None:
            await self.send(type_, **fields)
        return await self.expect("error")

    async def nothing(self) -> None:
        assert await self.comm.receive_nothing(timeout=0.2), "an unexpected frame arrived"

    async def close(self) -> None:
        await self.comm.disconnect()


@pytest_asyncio.fixture
async def clients():
    """Open websocket clients with `await clients(session_id)`; all are disconnected at the end of the test."""
    opened: list[Client] = []

    async def open_client(session_id: Any, **kwargs: Any) -> tuple[Client, dict[str, Any]]:
        client = Client(session_id, **kwargs)
        opened.append(client)
        snapshot = await client.connect()
        return client, snapshot

    yield open_client
    for client in opened:
        await client.close()
    # The consumer keeps its database connection open in the sync thread; close it so the test database can go.
    await database_sync_to_async(connections.close_all)()
