"""Durability and services away (issue 10 item 6): kill -9 of a Daphne mid-session loses nothing a tab was told; a
stalled database gives a 503 within seconds and an "unavailable" error frame on the socket, never a 500 or a hang."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
import websockets
from channels.db import database_sync_to_async as sync_to_async

from dmmviz.daphne_process import DaphneProcess
from dmmviz.web.models import SimSession

from .multiprocess import database_url

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def _open(server: DaphneProcess, session_id) -> websockets.ClientConnection:
    ws = await websockets.connect(f"{server.ws_url}/ws/session/{session_id}/", origin=server.url)
    first = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert first["type"] == "snapshot", first
    return ws


async def test_kill_9_mid_session_loses_no_acknowledged_change(new_session):
    """30 tabs pipeline moves and steps; the server is killed with SIGKILL while they do; after a restart every
    session is at least at the last revision its tab was told, with the same step count."""
    sessions = [await sync_to_async(new_session)("fig5-handover") for _ in range(30)]
    env = {"DATABASE_URL": database_url()}
    server = DaphneProcess(env=env).start()
    acknowledged: dict[str, tuple[int, int]] = {}  # session -> (revision, steps) of the last reply seen
    try:
        sockets = [await _open(server, s.id) for s in sessions]

        async def drive(ws, session_id: str) -> None:
            n = 0
            try:
                while True:
                    n += 1
                    if n % 3 == 0:
                        mar = "MAR2" if n % 2 else "MAR1"
                        move = {"action": "move", "mn": "MN1", "mar": mar}
                        frame = {"v": 1, "type": "command", "id": n, "command": move}
                    else:
                        frame = {"v": 1, "type": "run_until", "id": n, "t": 0.25 * n}
                    await ws.send(json.dumps(frame))
                    reply = json.loads(await ws.recv())
                    if reply["type"] in ("events", "snapshot"):
                        acknowledged[session_id] = (reply["revision"], reply["steps"])
            except (websockets.ConnectionClosed, OSError):
                return

        tasks = [asyncio.ensure_future(drive(ws, str(s.id))) for ws, s in zip(sockets, sessions, strict=True)]
        await asyncio.sleep(1.5)
        server.kill()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
    finally:
        server.stop()
    assert len(acknowledged) == 30

    rows = {str(r.id): r for r in await sync_to_async(list)(SimSession.objects.filter(id__in=[s.id for s in sessions]))}
    lost = [sid for sid, (revision, _) in acknowledged.items() if rows[sid].revision < revision]
    assert lost == []

    # A new process resumes each session exactly where the database says.
    restarted = DaphneProcess(env=env).start()
    try:
        for sid in list(acknowledged)[:5]:
            ws = await websockets.connect(f"{restarted.ws_url}/ws/session/{sid}/", origin=restarted.url)
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 10))
            await ws.close()
            assert snapshot["revision"] == rows[sid].revision and snapshot["steps"] == rows[sid].steps
    finally:
        restarted.stop()


class StalledServer:
    """A TCP server that accepts connections and never answers: a PostgreSQL that has hung."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.stop = True
        for conn in self.conns:
            conn.close()
        self.sock.close()


async def test_a_stalled_postgresql_gives_503_pages_and_unavailable_frames_within_seconds():
    stalled = StalledServer()
    env = {"DATABASE_URL": f"postgres://postgres@127.0.0.1:{stalled.port}/test"}
    server = DaphneProcess(env=env).start()
    try:
        start = time.monotonic()
        status = None
        try:
            await asyncio.to_thread(urllib.request.urlopen, f"{server.url}/", timeout=30)
        except urllib.error.HTTPError as err:
            status, body = err.code, err.read().decode()
        assert status == 503 and "not answering" in body
        assert time.monotonic() - start < 10

        # The socket: an "unavailable" error frame, or (when the database is needed before the consumer runs, by the
        # session and access checks in front of it) a refused handshake; either way within seconds, never a hang.
        start = time.monotonic()
        try:
            path = "/ws/session/00000000-0000-4000-8000-000000000000/"
            ws = await websockets.connect(f"{server.ws_url}{path}", origin=server.url)
        except (websockets.InvalidMessage, websockets.InvalidStatus):
            frame = None
        else:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 15))
            await ws.close()
        if frame is not None:
            assert frame["type"] == "error" and frame["code"] == "unavailable"
            assert "not answering" in frame["message"]
        assert time.monotonic() - start < 10
    finally:
        server.stop()
        stalled.close()
