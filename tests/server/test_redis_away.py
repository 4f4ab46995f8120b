"""Redis away (issue 10 item 6): a Daphne on channels_redis whose Redis dies tells its sockets with an "unavailable"
error frame and closes them with 4503 (CLOSE_UNAVAILABLE; the page reconnects with back-off), never a bare 1011; the
home page keeps answering; once Redis is back, a new socket works again. Uses a private redis-server, so the shared
one is not touched."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import redis
import websockets
from channels.db import database_sync_to_async as sync_to_async

from dmmviz.daphne_process import DaphneProcess, free_port

from .multiprocess import database_url

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


class PrivateRedis:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        server = shutil.which("redis-server")
        assert server, "redis-server is needed for this test (apt-get install redis-server)"
        self.proc = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


async def test_sockets_hear_that_redis_went_away_and_work_again_once_it_is_back(new_session):
    session = await sync_to_async(new_session)("fig5-handover")
    port = free_port()
    private = PrivateRedis(port).start()
    server = DaphneProcess(env={"DATABASE_URL": database_url(), "REDIS_URL": f"redis://127.0.0.1:{port}/0"}).start()
    try:
        ws = await websockets.connect(f"{server.ws_url}/ws/session/{session.id}/", origin=server.url)
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"

        private.kill()
        frames = []
        try:
            while True:
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), 20)))
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
        assert code == 4503, (code, frames)
        assert frames and frames[-1]["type"] == "error" and frames[-1]["code"] == "unavailable"

        # The home page (database only) still answers.
        with urllib.request.urlopen(f"{server.url}/", timeout=15) as response:
            assert response.status == 200

        private.start()
        for _ in range(50):  # the page's back-off: try again until it works
            try:
                ws = await websockets.connect(f"{server.ws_url}/ws/session/{session.id}/", origin=server.url)
                first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            except (OSError, websockets.WebSocketException):
                await asyncio.sleep(0.2)
                continue
            if first["type"] == "snapshot":
                break
            await ws.close()
            await asyncio.sleep(0.2)
        assert first["type"] == "snapshot"
        await ws.send(json.dumps({"v": 1, "type": "step", "id": 1}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert reply["type"] == "events" and reply["re"] == 1
        await ws.close()
    finally:
        server.stop()
        private.kill()
