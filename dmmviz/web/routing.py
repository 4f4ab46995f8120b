"""The web app's websocket routes; dmmviz/asgi.py mounts them, with the lessons app's, behind the origin check.

One route per path: /ws/session/<uuid>/ is OwnedSessionConsumer for every kind of session (home page, lesson attempt,
practice, branch, class); who may use it is decided by dmmviz/access.py, not by the order of this list.
"""

from channels.auth import AuthMiddlewareStack
from django.conf import settings
from django.urls import path, re_path


def websocket_urlpatterns() -> list:
    from . import consumers, guard

    # AuthMiddlewareStack: the user and browser session tell an owner from anyone else.
    routes = [path("ws/session/<uuid:session_id>/", AuthMiddlewareStack(guard.OwnedSessionConsumer.as_asgi()))]
    if settings.DMMVIZ_WS_ECHO:
        # A bare JSON echo, the baseline that bench/ws.py measures the session consumer against.
        routes.append(path("ws/echo/", consumers.EchoConsumer.as_asgi()))
    return routes


def not_found_route() -> list:
    """Last of all the site's routes: anything else under /ws/ gets a clear error, not a 500."""
    from .notfound import NotFoundConsumer

    return [re_path(r"^ws/", NotFoundConsumer.as_asgi())]
