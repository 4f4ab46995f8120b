"""Pages: the scenario list with upload (rename, delete, publish), a session's page, and the protocol constants as
an ES module. Who may see and change what is decided in dmmviz/access.py, never here.

Templates: `web/home.html` and `web/session.html`. Minimal ones live in dmmviz/web/templates/; the project's
templates/ directory comes first in the search path, so the front end overrides them there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dmmviz import access, protocol
from dmmviz.access import Who

from .forms import ScenarioRenameForm, ScenarioUploadForm
from .models import Scenario, SimSession


def _cards(request: HttpRequest) -> list[dict]:
    """The scenarios this visitor sees, each with what they may do to it (the template shows only those buttons)."""
    who = Who.of(request)
    return [
        {
            "scenario": scenario,
            "can_manage": access.can_manage_scenario(who, scenario),
            "can_publish": access.can_publish_scenario(who, scenario),
        }
        for scenario in access.visible_scenarios(who)
    ]


@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """GET: the scenarios this visitor may see, with an upload form. POST: upload a scenario file, private to its
    uploader (the account, or this browser session) until an instructor publishes it; errors are shown on the form,
    status 400. Uploads are rate-limited (dmmviz/throttle.py POST_LIMITS)."""
    form = ScenarioUploadForm()
    status = 200
    if request.method == "POST":
        form = ScenarioUploadForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data["file"]
            fallback = request.FILES["file"].name.removesuffix(".json") or "Uploaded scenario"
            title = str(data.get("title") or fallback)[:200]
            Scenario.objects.create(
                title=title,
                description=str(data.get("description") or ""),
                slug=Scenario.unique_slug(title),
                data=data,
                builtin=False,
                **access.owner_fields(request),
            )
            return redirect("home")
        status = 400
    cards = _cards(request)
    context = {
        "scenarios": [card["scenario"] for card in cards],
        "cards": cards,
        "form": form,
        "upload_ttl_days": settings.DMMVIZ_UPLOAD_TTL_DAYS,
    }
    return render(request, "web/home.html", context, status=status)


def _plain(text: str, status: int) -> HttpResponse:
    """A refusal the page's fetch() shows as it is."""
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _scenario_action(may: Callable[[Who, Scenario], bool], refusal: str) -> Callable[..., Any]:
    """A POST view on the scenario at <slug>: 404 unless this visitor sees it, 403 saying `refusal` unless `may` lets
    them act on it; the view itself gets the Scenario."""

    def wrap(view: Callable[[HttpRequest, Scenario], HttpResponse]) -> Callable[[HttpRequest, str], HttpResponse]:
        @require_POST
        @functools.wraps(view)
        def door(request: HttpRequest, slug: str) -> HttpResponse:
            scenario = access.scenario_or_404(request, slug)
            if not may(Who.of(request), scenario):
                return _plain(refusal, status=403)
            return view(request, scenario)

        return door

    return wrap


def _home_saying(request: HttpRequest, text: str) -> HttpResponse:
    """Back to the scenario list, which shows `text` once."""
    messages.success(request, text)
    return redirect("home")


@_scenario_action(access.can_manage_scenario, "Only the person who uploaded this scenario may rename it.")
def scenario_rename(request: HttpRequest, scenario: Scenario) -> HttpResponse:
    """The uploader renames their upload (the slug, and so the address, stays)."""
    form = ScenarioRenameForm(request.POST)
    if not form.is_valid():
        return _plain("; ".join(form.errors["title"]), status=400)
    scenario.title = form.cleaned_data["title"]
    scenario.save(update_fields=["title"])
    return _home_saying(request, f"Renamed to {scenario.title}.")


@_scenario_action(access.can_manage_scenario, "Only the person who uploaded this scenario may delete it.")
def scenario_delete(request: HttpRequest, scenario: Scenario) -> HttpResponse:
    """The uploader deletes their upload; sessions already started keep their own copy of it."""
    scenario.delete()
    return _home_saying(request, f"Deleted {scenario.title}.")


@_scenario_action(access.can_publish_scenario, "Only instructors may publish a scenario for everyone.")
def scenario_publish(request: HttpRequest, scenario: Scenario) -> HttpResponse:
    """An instructor lists an upload for everyone (public=1) or takes it back (public=0)."""
    scenario.public = request.POST.get("public", "1") not in ("0", "false", "")
    scenario.save(update_fields=["public"])
    listed = "listed for everyone" if scenario.public else "private again"
    return _home_saying(request, f"{scenario.title} is {listed}.")


@require_POST
def session_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Start a simulation session of a scenario and go to its page (its own URL: the starter's tabs share it)."""
    scenario = access.scenario_or_404(request, slug)
    session = SimSession.objects.create(scenario=scenario, scenario_data=scenario.data, **access.owner_fields(request))
    return redirect("session", session_id=session.id)


@require_GET
def session_page(request: HttpRequest, session_id: str) -> HttpResponse:
    """The live visualiser for one session. Context: session, scenario (the document), ws_path."""
    return render(request, "web/session.html", session_context(access.session_or_404(request, session_id)))


def session_context(session: SimSession) -> dict[str, Any]:
    """What a page with the visualiser needs for one session (web/session.html and the lessons pages that extend it):
    the session, its scenario document and its websocket path."""
    return {"session": session, "scenario": session.scenario_data, "ws_path": f"/ws/session/{session.id}/"}


@require_GET
def protocol_js(request: HttpRequest) -> HttpResponse:
    """dmmviz/protocol.py's constants as an ES module, so the browser never spells a message name of its own."""
    response = HttpResponse(protocol.javascript_module(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
