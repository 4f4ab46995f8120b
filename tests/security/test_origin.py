"""The websocket Origin is checked exactly: scheme, host and port (dmmviz/origin.py)."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from dmmviz import asgi
from dmmviz.origin import parse_origin

pytestmark = pytest.mark.django_db(transaction=True)

SERVED = b"127.0.0.1:8123"  # the Host the browser connected to: the page's own origin is http://127.0.0.1:8123


async def handshake(origin: bytes | None, host: bytes | None = SERVED, scheme: str = "ws") -> bool:
    headers = [(b"origin", origin)] if origin is not None else []
    if host is not None:
        headers.append((b"host", host))
    comm = WebsocketCommunicator(asgi.application, "/ws/class/NOSUCH23/events/", headers=headers)
    comm.scope["scheme"] = scheme
    connected, _ = await comm.connect(timeout=10)
    await comm.disconnect()
    return connected


@pytest.mark.parametrize("origin", [
    b"http://127.0.0.1:9999",  # another port on the same host
    b"https://127.0.0.1",  # the other scheme
    b"http://localhost:1",  # an allowed host name, the wrong port
    b"http://127.0.0.1",  # port 80 is not 8123
    b"https://127.0.0.1:8123",  # right host and port, wrong scheme
    b"http://evil.example:8123",
    b"http://127.0.0.1:8123.evil.example",
    b"null",
    b"",
])
@pytest.mark.asyncio
async def test_foreign_origins_are_refused(origin):
    assert not await handshake(origin)


@pytest.mark.asyncio
async def test_a_missing_origin_is_refused():
    assert not await handshake(None)


@pytest.mark.asyncio
async def test_the_served_origin_is_accepted():
    assert await handshake(b"http://127.0.0.1:8123")
    assert await handshake(b"http://localhost:8123", host=b"localhost:8123")
    assert await handshake(b"https://127.0.0.1", host=b"127.0.0.1", scheme="wss")


@pytest.mark.asyncio
async def test_a_host_not_in_allowed_hosts_is_not_an_origin():
    """A forged Host header does not make its origin acceptable: the host must be one the site serves."""
    assert not await handshake(b"http://evil.example:8123", host=b"evil.example:8123")


@pytest.mark.asyncio
async def test_listed_origins_are_accepted_exactly(settings):
    """DMMVIZ_ALLOWED_ORIGINS: the default lists the `make run` address; anything listed matches exactly."""
    assert await handshake(b"http://127.0.0.1:8000", host=None)
    assert not await handshake(b"http://127.0.0.1:8001", host=None)
    settings.DMMVIZ_ALLOWED_ORIGINS = ["https://dmm.example.edu"]
    assert await handshake(b"https://dmm.example.edu", host=None)
    assert not await handshake(b"https://dmm.example.edu:8443", host=None)
    assert not await handshake(b"http://127.0.0.1:8000", host=None)


def test_parse_origin_fills_in_default_ports():
    assert parse_origin("http://Example.org") == ("http", "example.org", 80)
    assert parse_origin("https://example.org:443") == ("https", "example.org", 443)
    assert parse_origin("http://[::1]:8000") == ("http", "::1", 8000)
    for bad in ("ftp://example.org", "http://", "http://example.org/path", "http://user@example.org", "x"):
        assert parse_origin(bad) is None, bad
