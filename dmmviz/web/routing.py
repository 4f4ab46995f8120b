"""Websocket routes (asgi.py mounts them behind the origin check)."""

from django.conf import settings
from django.urls import path, re_path


def websocket_urlpatterns() -> list:
    from . import consumers

    from dmmviz.lessons.routing import websocket_urlpatterns as lessons_routes

    # The lessons app's routes come first: its /ws/session/ consumer adds the owner check for lesson, practice and
    # class sessions (dmmviz/lessons/consumers.py); every other session behaves as with SessionConsumer.
    routes = [*lessons_routes(), path("ws/session/<uuid:session_id>/", consumers.SessionConsumer.as_asgi())]
    if settings.DMMVIZ_WS_ECHO:
        # A bare JSON echo, the baseline that bench/ws.py measures the session consumer against.
        routes.append(path("ws/echo/", consumers.EchoConsumer.as_asgi()))
    from .notfound import NotFoundConsumer

    routes.append(re_path(r"^ws/", NotFoundConsumer.as_asgi()))  # anything else: a clear error, not a 500
    return routes
