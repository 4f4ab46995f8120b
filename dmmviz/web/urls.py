from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path

from . import views


def slug_actions(prefix: str, actions: dict[str, Callable[..., Any]], name: str = "{}") -> list[URLPattern]:
    """The routes `<prefix>/<slug>/<action>/` of the buttons that act on one object named by its slug (a scenario,
    a lesson), each named `name` with the action in place of {}."""
    return [path(f"{prefix}/<slug:slug>/{action}/", view, name=name.format(action)) for action, view in actions.items()]


urlpatterns = [
    path("", views.home, name="home"),
    path("scenarios/<slug:slug>/start/", views.session_new, name="session_new"),
    *slug_actions(
        "scenarios",
        {"rename": views.scenario_rename, "delete": views.scenario_delete, "publish": views.scenario_publish},
        name="scenario_{}",
    ),
    path("s/<uuid:session_id>/", views.session_page, name="session"),
    path("protocol.js", views.protocol_js, name="protocol_js"),
]
