"""Websocket routes (asgi.py mounts them behind the origin check)."""

from django.conf import settings
from django.urls import path


def websocket_urlpatterns() -> list:
    from . import consumers

    routes = [path("ws/session/<uuid:session_id>/", consumers.SessionConsumer.as_asgi())]
    if settings.DMMVIZ_WS_ECHO:
        # A bare JSON echo, the baseline that bench/ws.py measures the session consumer against.
        routes.append(path("ws/echo/", consumers.EchoConsumer.as_asgi()))
    return routes
