"""`GET /healthz`: is this worker able to serve? For the proxy, systemd, `make serve` and monitoring.

Checks the two things a worker shares with the others: the database (one `SELECT 1`) and the channel layer (a message
sent to a fresh channel of this worker and received back, through the layer's public API: with channels_redis that is
a round trip to Redis). Answers 200 with `{"status": "ok", ...}`, or 503 naming what failed; either way the body says
which worker answered (`DMMVIZ_WORKER`, else the process id), so a test can see where the proxy sent it.
A worker that has been told to drain (SIGTERM under `scripts/serve.py`) is taken out of the proxy before it stops.
"""

from __future__ import annotations

import asyncio
import os
import time

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse

TIMEOUT = 2.0  # seconds per check: a health check that hangs is a failed one


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    # The default prefix: channels_redis receives every channel of a process named "specific.…!" in one loop, so this
    # one is served by whichever receive is already waiting (the relay's, dmmviz/web/relay.py); another prefix would
    # wait up to 5 s for that loop's blocking pop to let go of the layer's receive lock.
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "healthz.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "healthz.ping":
        raise RuntimeError(f"unexpected message {message.get('type')!r}")


async def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    started = time.perf_counter()
    for name, check in (("database", sync_to_async(_database)), ("channel_layer", _channel_layer)):
        try:
            await asyncio.wait_for(check(), TIMEOUT)
            checks[name] = "ok"
        except TimeoutError:
            checks[name] = f"no answer within {TIMEOUT:g} s"
        except Exception as exc:  # any failure of a dependency is a 503 with its reason, never a 500
            checks[name] = f"{type(exc).__name__}: {exc}"
    ok = all(value == "ok" for value in checks.values())
    body = {
        "status": "ok" if ok else "failing",
        **checks,
        "worker": os.environ.get("DMMVIZ_WORKER") or str(os.getpid()),
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    response = JsonResponse(body, status=200 if ok else 503)
    response["Cache-Control"] = "no-store"
    return response
