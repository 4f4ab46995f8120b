"""Websocket routes of the lessons app, listed by dmmviz/web/routing.py *before* its own, so that
``/ws/session/<uuid>/`` reaches GuardedSessionConsumer (the plain SessionConsumer plus the ownership check).

Each route is wrapped in AuthMiddlewareStack: the consumers need the user and the browser session (for visitors who
are not logged in) to tell an owner from anyone else.
"""

from channels.auth import AuthMiddlewareStack
from django.urls import path


def websocket_urlpatterns() -> list:
    from . import consumers

    return [
        path("ws/session/<uuid:session_id>/", AuthMiddlewareStack(consumers.GuardedSessionConsumer.as_asgi())),
        path("ws/class/<str:code>/events/", AuthMiddlewareStack(consumers.ClassEventsConsumer.as_asgi())),
        path("ws/class/<str:code>/", AuthMiddlewareStack(consumers.ClassFollowerConsumer.as_asgi())),
    ]
