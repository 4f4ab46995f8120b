"""Downloads of a session and the live sequence-diagram panel's model, for the visualiser page.

    /s/<uuid>/export/<fmt>/   fmt: trace, state (JSON documents of formats.md) or one of simulator.export.FORMATS
                              (svg, plantuml, mermaid, ascii, pcap); a file download named after the scenario.
    /s/<uuid>/sequence.json   the "dmmviz-sequence/1" model (docs/exports.md) the SVG export draws, for the live panel.

Query options, as the CLI's: start, end (seconds), data (fold | show), nodes (comma-separated ids), time_axis (1).
The session is rebuilt from its stored (scenario, seed, journal, steps) by the engine's replay, so a download is what
the page shows at that moment, as of the last saved change. Bad options get a 400 with the exporter's message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from dmmviz import access
from dmmviz.web import live
from simulator.export import FORMATS, ExportError, export, sequence_model
from simulator.limits import shortened

# fmt -> (file extension, content type)
FILES: dict[str, tuple[str, str]] = {
    "trace": ("trace.json", "application/json"),
    "state": ("state.json", "application/json"),
    "svg": ("svg", "image/svg+xml"),
    "plantuml": ("puml", "text/plain; charset=utf-8"),
    "mermaid": ("mmd", "text/plain; charset=utf-8"),
    "ascii": ("txt", "text/plain; charset=utf-8"),
    "pcap": ("pcap", "application/vnd.tcpdump.pcap"),
}
assert set(FORMATS) <= set(FILES), "a new export format needs a file name here"


def _simulation(request: HttpRequest, session_id: str):
    return _live(request, session_id).sim


def _live(request: HttpRequest, session_id: str) -> live.Live:
    access.session_or_404(request, session_id)  # the one ownership rule: a stranger gets the same 404 as for no session
    row = live.load_row(str(session_id))
    if row is None:
        raise Http404("no such session")
    return live.rebuild(row)


def _options(request: HttpRequest) -> dict[str, Any]:
    """The exporter's options from the query string; ExportError (a 400) for a value that is not a number."""
    options: dict[str, Any] = {}
    for key in ("start", "end"):
        if request.GET.get(key, "") != "":
            try:
                options[key] = float(request.GET[key])
            except ValueError:
                shown = shortened(repr(request.GET[key]))
                raise ExportError(f"option {key!r} must be a number of seconds, not {shown}") from None
    if request.GET.get("data"):
        options["data"] = request.GET["data"]
    if request.GET.get("nodes"):
        options["nodes"] = [n for n in request.GET["nodes"].split(",") if n]
    if request.GET.get("time_axis") in ("1", "true", "yes"):
        options["time_axis"] = True
    return options


def download(request: HttpRequest, fmt: str, simulation: Callable[[], Any],
             stem: Callable[[dict], str]) -> HttpResponse:
    """A simulation as a file in `fmt`, named stem(trace).<ext>: an unknown format is a 400 naming the formats (before
    `simulation()` is asked for), a bad option a 400 with the exporter's message. The session's and the class
    follower's Download menus both end here."""
    if fmt not in FILES:
        return HttpResponse(f"unknown format {fmt!r}; choose one of {', '.join(FILES)}", status=400,
                            content_type="text/plain; charset=utf-8")
    sim = simulation()
    trace = sim.trace()
    try:
        if fmt == "trace":
            body: str | bytes = json.dumps(trace, indent=1)
        elif fmt == "state":
            body = json.dumps(sim.snapshot(), indent=1)
        else:
            body = export(fmt, trace, options=_options(request))
    except ExportError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    ext, content_type = FILES[fmt]
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{stem(trace)}.{ext}"'
    return response


def sequence(request: HttpRequest, sim: Any, revision: int | None = None) -> HttpResponse:
    """The sequence-diagram model of a simulation so far (a live panel draws it), with its clock and, when given, the
    session's revision (the panel folds the socket's later revisions onto this model)."""
    try:
        model = sequence_model(sim.trace(), _options(request))
    except ExportError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    model["now"] = sim.now
    if revision is not None:
        model["revision"] = revision
    return JsonResponse(model)


@require_GET
def session_export(request: HttpRequest, session_id: str, fmt: str) -> HttpResponse:
    """The session as a file: its trace or state (JSON), a sequence diagram, or a packet capture."""
    return download(request, fmt, lambda: _simulation(request, session_id),
                    lambda trace: slugify(trace.get("title") or "dmmviz")[:60] or "dmmviz")


@require_GET
def session_sequence(request: HttpRequest, session_id: str) -> HttpResponse:
    """The sequence-diagram model of the session so far (the live panel draws it)."""
    current = _live(request, session_id)
    return sequence(request, current.sim, revision=current.revision)


urlpatterns = [
    path("s/<uuid:session_id>/export/<slug:fmt>/", session_export, name="session_export"),
    path("s/<uuid:session_id>/sequence.json", session_sequence, name="session_sequence"),
]
