"""Websocket routes of the lessons app (dmmviz/asgi.py mounts them after the web app's).

Each route is wrapped in AuthMiddlewareStack: the consumers need the user and the browser session (for visitors who
are not logged in). Simulation sessions themselves, lesson ones included, are served by the web app's one
/ws/session/<uuid>/ route under dmmviz/access.py's rule.
"""

from channels.auth import AuthMiddlewareStack
from django.urls import path


def websocket_urlpatterns() -> list:
    from . import consumers

    return [
        path("ws/class/<str:code>/events/", AuthMiddlewareStack(consumers.ClassEventsConsumer.as_asgi())),
        path("ws/class/<str:code>/", AuthMiddlewareStack(consumers.ClassFollowerConsumer.as_asgi())),
    ]
