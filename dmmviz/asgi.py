"""ASGI entry point: `daphne dmmviz.asgi:application`.

HTTP goes to Django behind ASGIStaticFilesHandler, which serves STATICFILES_DIRS (the ES modules in static/) straight
from the source tree with DEBUG on or off, so `make run` needs no collectstatic and no CDN. Websockets go through
the exact Origin check (dmmviz/origin.py: scheme, host and port) to the URL router, which holds the web app's routes,
then the lessons app's (each path has one route; who may use a session is dmmviz/access.py's rule), then a catch-all
that answers an unknown /ws/ path with a clear error.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dmmviz.settings")

# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from dmmviz.secret import refuse_public_key  # noqa: E402

refuse_public_key()  # Daphne runs no system checks: never serve with a public signing key (docs/security.md)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from dmmviz.lessons import routing as lessons_routing  # noqa: E402
from dmmviz.origin import ExactOriginValidator  # noqa: E402
from dmmviz.web import routing as web_routing  # noqa: E402
from dmmviz.web.limits import BodyLimit  # noqa: E402

websocket_urlpatterns = [
    *web_routing.websocket_urlpatterns(),
    *lessons_routing.websocket_urlpatterns(),
    *web_routing.not_found_route(),
]

application = ProtocolTypeRouter(
    {
        "http": BodyLimit(ASGIStaticFilesHandler(django_asgi_app)),  # 413 before a too-large body is read
        "websocket": ExactOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
