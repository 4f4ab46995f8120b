"""Classroom pages: start a live class from a lesson, teach it, join it with a code, follow it, branch off, rejoin."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dmmviz import views_export
from dmmviz.web import live
from dmmviz.web.views import session_context

from . import classroom, lessonfile, player, results
from .checkpoints import ResponseError
from .forms import JoinForm
from .models import Branch, Lesson, LiveClass
from .permissions import owner_fields, owns_record
from .views import instructors_only


@login_required
@require_POST
@instructors_only("start a live class", lesson=True)
def class_start(request: HttpRequest, lesson: Lesson) -> HttpResponse:
    """An instructor starts a live class from a lesson they may view; they get a join code."""
    try:
        player.moments(lesson.document())
    except lessonfile.LessonError as exc:
        messages.error(request, f"This lesson cannot be played: {exc}")
        return redirect("lessons:detail", slug=lesson.slug)
    if not lesson.steps:
        messages.error(request, "This lesson has no steps yet.")
        return redirect("lessons:detail", slug=lesson.slug)
    live_class = classroom.start(lesson.document(), request.user, lesson)
    return redirect("lessons:class_teach", code=live_class.code)


def _class(code: str, active_only: bool = False) -> LiveClass:
    qs = LiveClass.objects.select_related("sim_session")
    if active_only:
        qs = qs.filter(active=True)
    return get_object_or_404(qs, code=code.upper())


def _taught(request: HttpRequest, code: str) -> LiveClass:
    live_class = _class(code)
    if not (request.user.is_authenticated and live_class.instructor_id == request.user.pk):
        raise Http404("no such class")  # only its instructor teaches it
    return live_class


def _panel_context(request: HttpRequest, live_class: LiveClass) -> dict[str, Any]:
    return {
        "live_class": live_class,
        "info": classroom.info_of(live_class),
        "join_url": request.build_absolute_uri(reverse("lessons:class_follow", args=[live_class.code])),
        "events_path": f"/ws/class/{live_class.code}/events/",
    }


@login_required
@require_GET
def class_teach(request: HttpRequest, code: str) -> HttpResponse:
    """The instructor's page: the class's simulation (theirs to drive), the join code and the step controls."""
    live_class = _taught(request, code)
    session = live_class.sim_session
    context = {**_panel_context(request, live_class), **session_context(session), "role": "teach"}
    return render(request, "lessons/class.html", context)


@login_required
@require_POST
def class_step(request: HttpRequest, code: str) -> HttpResponse:
    """Move the class to another step (the instructor only); every follower's view and panel follows."""
    live_class = _taught(request, code)
    if not live_class.active:
        return JsonResponse({"error": "the class has ended"}, status=400)
    try:
        index = int(request.POST.get("step", ""))
    except ValueError:
        return JsonResponse({"error": "step must be a step number", "field": "step"}, status=400)
    classroom.set_step(live_class, index)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(classroom.info_of(live_class))
    return redirect("lessons:class_teach", code=live_class.code)


@login_required
@require_POST
def class_end(request: HttpRequest, code: str) -> HttpResponse:
    live_class = _taught(request, code)
    classroom.end(live_class)
    messages.success(request, f"Class {live_class.code} has ended.")
    return redirect("lessons:detail", slug=live_class.lesson.slug) if live_class.lesson else redirect("lessons:list")


@require_http_methods(["GET", "POST"])
def class_join(request: HttpRequest) -> HttpResponse:
    """Enter a join code."""
    form = JoinForm(request.POST or request.GET or None)
    if form.is_bound and form.is_valid():
        code = form.cleaned_data["code"]
        if LiveClass.objects.filter(code=code, active=True).exists():
            return redirect("lessons:class_follow", code=code)
        form.add_error("code", f"No live class has the code {code}. Check it with your instructor.")
    return render(request, "lessons/join.html", {"form": form}, status=400 if form.errors else 200)


@require_GET
def class_follow(request: HttpRequest, code: str) -> HttpResponse:
    """A student's view of the class: the instructor's simulation, live and read-only, and the lesson step."""
    live_class = _class(code)
    if not live_class.active:
        messages.info(request, f"Class {live_class.code} has ended.")
        return redirect("lessons:class_join")
    session = live_class.sim_session
    owner = owner_fields(request)
    classroom.join(live_class, owner)
    mine = live_class.answers.filter(step=live_class.step, **owner).first()
    context = {
        **_panel_context(request, live_class),
        # The page is drawn from the scenario and the class's own socket and downloads (/ws/class/<code>/,
        # /class/<code>/export/...): the instructor's session id is never in it.
        "session": None,
        "scenario": session.scenario_data,
        "ws_path": f"/ws/class/{live_class.code}/",
        "role": "follow",
        "my_answer": classroom.result_of(live_class, mine) if mine else None,
    }
    return render(request, "lessons/class.html", context)


@require_POST
def class_branch(request: HttpRequest, code: str) -> HttpResponse:
    """Branch off: a private copy of the class's simulation as it is now."""
    live_class = _class(code, active_only=True)
    branch = classroom.branch(live_class, owner_fields(request))
    return redirect("lessons:class_branch_page", code=live_class.code, branch_id=branch.id)


@require_GET
def class_branch_page(request: HttpRequest, code: str, branch_id: int) -> HttpResponse:
    live_class = _class(code)
    branch = get_object_or_404(Branch.objects.select_related("sim_session"), id=branch_id, live_class=live_class)
    if not owns_record(request.user, request.session.session_key, branch):
        raise Http404("no such branch")
    session = branch.sim_session
    context = {**_panel_context(request, live_class), **session_context(session), "role": "branch", "branch": branch}
    return render(request, "lessons/class.html", context)


@require_GET
def class_info(request: HttpRequest, code: str) -> HttpResponse:
    info = classroom.class_info(code)
    if info is None:
        return JsonResponse({"error": "no such class"}, status=404)
    return JsonResponse(info)


@require_POST
def class_answer(request: HttpRequest, code: str) -> HttpResponse:
    """A follower answers the current step's checkpoint (JSON, graded on the server)."""
    live_class = _class(code, active_only=True)
    try:
        step = int(request.POST.get("step", live_class.step))
    except ValueError:
        step = -1
    if step != live_class.step:
        return JsonResponse(
            {"error": "the class has moved to another step; answer the question shown now", "field": "step"}, status=409
        )
    try:
        result = classroom.answer(live_class, owner_fields(request), request.POST.getlist("answer"))
    except ResponseError as exc:
        # 422, not 400: the class code is right (a 400/404 on a class route counts as a wrong code in dmmviz/throttle)
        return JsonResponse({"error": str(exc), "field": "answer"}, status=422)
    return JsonResponse(result)


@login_required
@require_POST
def class_reveal(request: HttpRequest, code: str) -> HttpResponse:
    """The instructor reveals the current checkpoint's answer to every student."""
    live_class = _taught(request, code)
    classroom.reveal(live_class)
    return JsonResponse(results.class_stats(live_class))


@login_required
@require_GET
def class_stats(request: HttpRequest, code: str) -> HttpResponse:
    """For the instructor's panel only: students joined, branched off, and the answers to the current checkpoint."""
    live_class = _taught(request, code)
    return JsonResponse(results.class_stats(live_class))


def _class_live(code: str) -> Any:
    """The class's simulation as stored, with its revision."""
    live_class = _class(code, active_only=True)
    row = live.load_row(str(live_class.sim_session_id))
    if row is None:
        raise Http404("no such class")
    return live.rebuild(row)


@require_GET
def class_export(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    """The follower's Download menu: the class's simulation as a file, by class code (never the session id)."""
    return views_export.download(request, fmt, lambda: _class_live(code).sim, lambda _: f"class-{code.upper()[:12]}")


@require_GET
def class_sequence(request: HttpRequest, code: str) -> HttpResponse:
    """The follower's live sequence diagram, by class code."""
    current = _class_live(code)
    # With the revision, the panel folds exactly the socket's later changes onto this model (not guessed by clock).
    return views_export.sequence(request, current.sim, revision=current.revision)
