"""ASGI entry point: `daphne dmmviz.asgi:application`.

HTTP goes to Django behind ASGIStaticFilesHandler, which serves STATICFILES_DIRS (the ES modules in static/) straight
from the source tree with DEBUG on or off, so `make run` needs no collectstatic and no CDN. Websockets go through
AllowedHostsOriginValidator (an Origin whose host is not in ALLOWED_HOSTS is refused) to the URL router.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dmmviz.settings")

# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from dmmviz.web.limits import BodyLimit  # noqa: E402
from dmmviz.web.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodyLimit(ASGIStaticFilesHandler(django_asgi_app)),  # 413 before a too-large body is read
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns())),
    }
)
