"""Pages: the scenario list with upload, a session's page, and the protocol constants as an ES module.

Templates: `web/home.html` and `web/session.html`. Minimal ones live in dmmviz/web/templates/; the project's
templates/ directory comes first in the search path, so the front end overrides them there.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dmmviz import protocol

from .forms import ScenarioUploadForm
from .models import Scenario, SimSession


@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """GET: the scenarios with an upload form. POST: upload a scenario file; errors are shown on the form, status 400."""
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
            )
            return redirect("home")
        status = 400
    context = {"scenarios": Scenario.objects.all(), "form": form}
    return render(request, "web/home.html", context, status=status)


@require_POST
def session_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Start a simulation session of a scenario and go to its page (its own URL, shareable between tabs)."""
    scenario = get_object_or_404(Scenario, slug=slug)
    session = SimSession.objects.create(scenario=scenario, scenario_data=scenario.data)
    return redirect("session", session_id=session.id)


@require_GET
def session_page(request: HttpRequest, session_id: str) -> HttpResponse:
    """The live visualiser for one session. Context: session, scenario (the document), ws_path."""
    session = get_object_or_404(SimSession, id=session_id)
    context = {
        "session": session,
        "scenario": session.scenario_data,
        "ws_path": f"/ws/session/{session.id}/",
    }
    return render(request, "web/session.html", context)


@require_GET
def protocol_js(request: HttpRequest) -> HttpResponse:
    """dmmviz/protocol.py's constants as an ES module, so the browser never spells a message name of its own."""
    response = HttpResponse(protocol.javascript_module(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
