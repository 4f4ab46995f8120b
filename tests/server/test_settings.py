"""Deployment settings: static files through the ASGI app, and the PostgreSQL / Redis switches."""

from __future__ import annotations

import os
import urllib.error
import urllib.request

import pytest
from channels.layers import get_channel_layer
from django.db import connection

from dmmviz.daphne_process import DaphneProcess


@pytest.mark.parametrize("debug", ["0", "1"], ids=["DEBUG off", "DEBUG on"])
def test_daphne_serves_static_files_without_collectstatic(debug):
    """`daphne dmmviz.asgi:application` (what `make run` starts) serves JS and CSS from the source tree, DEBUG on or
    off."""
    with DaphneProcess(env={"DMMVIZ_DEBUG": debug}) as server:
        with urllib.request.urlopen(f"{server.url}/static/admin/js/core.js", timeout=5) as response:
            assert response.status == 200
            assert "javascript" in response.headers["Content-Type"]
            assert b"function" in response.read()
        with urllib.request.urlopen(f"{server.url}/protocol.js", timeout=5) as response:
            assert b"export const CLIENT" in response.read()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{server.url}/static/no/such/file.js", timeout=5)
        assert missing.value.code == 404


@pytest.mark.services
@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="runs when DATABASE_URL names PostgreSQL (make test-services)")
@pytest.mark.django_db
def test_database_url_selects_postgresql():
    """With DATABASE_URL=postgres://..., the app and its tests really use PostgreSQL."""
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("select version()")
        assert cursor.fetchone()[0].startswith("PostgreSQL")


@pytest.mark.services
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="runs when REDIS_URL is set (make test-services)")
@pytest.mark.asyncio
async def test_redis_url_selects_channels_redis():
    """With REDIS_URL set, the channel layer is channels_redis and messages go through that Redis."""
    from channels_redis.core import RedisChannelLayer

    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "hello", "n": 1})
    assert (await layer.receive(channel))["n"] == 1
    await layer.close_pools()
