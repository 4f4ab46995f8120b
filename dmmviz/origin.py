"""The websocket Origin check: a socket is accepted only from a page this server served.

An Origin is compared exactly, as (scheme, host, port), with default ports filled in (http 80, https 443):
- with the socket's own origin: the scheme of the connection (wss -> https, ws -> http; behind a TLS proxy, Daphne's
  --proxy-headers), the Host header and its port, when that host is in ALLOWED_HOSTS; or
- with one of settings.DMMVIZ_ALLOWED_ORIGINS (e.g. "https://dmm.example.edu"), for a front end served elsewhere.
Anything else (another port, the other scheme, a missing or unparsable Origin) is refused before the consumer runs:
Channels' WebsocketDenier closes the handshake (HTTP 403).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def parse_origin(text: str) -> Origin | None:
    """("http", "127.0.0.1", 8000) from "http://127.0.0.1:8000"; None for anything that is not a plain web origin."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host or parts.path not in ("", "/") or parts.query or parts.username:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def served_origin(scope: dict[str, Any]) -> Origin | None:
    """The origin of the page that may open this socket: the connection's scheme and its Host header."""
    headers = dict(scope.get("headers") or [])
    host_header = headers.get(b"host", b"").decode("latin1").strip().lower()
    if not host_header:
        return None
    domain, port = split_domain_port(host_header)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    try:
        number = int(port) if port else DEFAULT_PORTS[scheme]
    except ValueError:
        return None
    return scheme, domain.strip("[]"), number  # urlsplit gives an IPv6 literal without its brackets too


def origin_allowed(scope: dict[str, Any]) -> bool:
    headers = dict(scope.get("headers") or [])
    origin = parse_origin(headers.get(b"origin", b"").decode("latin1"))
    if origin is None:
        return False
    if origin == served_origin(scope):
        return True
    return origin in {parse_origin(o) for o in settings.DMMVIZ_ALLOWED_ORIGINS}


class ExactOriginValidator:
    """ASGI middleware for the websocket router: refuse any socket whose Origin is not exactly an allowed one."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
