"""GET /healthz: 200 when the database and the channel layer answer, 503 naming the one that does not."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from dmmviz import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_with_the_worker_name(client, monkeypatch):
    monkeypatch.setenv("DMMVIZ_WORKER", "w7")
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["channel_layer"] == "ok"
    assert body["worker"] == "w7"
    assert response["Cache-Control"] == "no-store"


def test_a_failing_database_is_a_503_that_names_it(client, monkeypatch):
    def broken() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "_database", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["database"] == "OperationalError: connection refused"
    assert body["channel_layer"] == "ok"


def test_a_channel_layer_that_hangs_is_a_503_not_a_hang(client, monkeypatch):
    async def hangs() -> None:
        import asyncio

        await asyncio.sleep(60)

    monkeypatch.setattr(health, "_channel_layer", hangs)
    monkeypatch.setattr(health, "TIMEOUT", 0.2)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["channel_layer"] == "no answer within 0.2 s"
