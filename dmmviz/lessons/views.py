"""Lesson pages: the library, a lesson's page, a student's attempt (steps, checkpoints, score), keeping lessons
(import, export, duplicate, publish, share, delete) and accounts. Rules about who may do what: permissions.py.

Everything a student does works as plain HTML forms; the page's script only adds the live visualiser.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dmmviz import access

from . import lessonfile, player, results, text
from .checkpoints import ResponseError
from .forms import ImportForm, SignupForm
from .models import NEW_LESSON_TITLE, Attempt, Lesson
from .permissions import can_edit, can_view, is_instructor, owner_fields, owns_record

SHARED_TOKENS = "lesson_share_tokens"  # session key: share links this browser has opened


def _token(request: HttpRequest, lesson: Lesson) -> str | None:
    """The lesson's share token if this browser opened its share link."""
    tokens = request.session.get(SHARED_TOKENS, [])
    return lesson.share_token if lesson.share_token in tokens else None


def _viewable(request: HttpRequest, slug: str) -> Lesson:
    lesson = get_object_or_404(Lesson, slug=slug)
    if not can_view(request.user, lesson, _token(request, lesson)):
        raise Http404("no such lesson")  # a draft is not even admitted to exist
    return lesson


def _editable(request: HttpRequest, slug: str) -> Lesson:
    lesson = _viewable(request, slug)
    if not can_edit(request.user, lesson):
        raise PermissionDenied403(lesson)
    return lesson


class PermissionDenied403(Exception):
    def __init__(self, lesson: Lesson) -> None:
        self.lesson = lesson


def _forbidden(request: HttpRequest, lesson: Lesson) -> HttpResponse:
    reason = (
        "Built-in lessons are read-only: duplicate it to make your own version."
        if lesson.builtin
        else "Only the instructor who owns this lesson may change it. Instructors can duplicate it."
    )
    return render(request, "lessons/forbidden.html", {"lesson": lesson, "reason": reason}, status=403)


def guarded(view: Any) -> Any:
    """Turn PermissionDenied403 into a 403 page that says why."""

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied403 as exc:
            return _forbidden(request, exc.lesson)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def instructors_only(doing: str, *, lesson: bool = False) -> Any:
    """Refuse anyone but an instructor: 403 "Only instructors can <doing>.". With lesson=True the view gets the
    Lesson at <slug> as `lesson`, after a 404 for one this visitor may not view (no draft is admitted to exist)."""

    def wrap(view: Any) -> Any:
        @functools.wraps(view)
        def door(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if lesson:
                kwargs["lesson"] = _viewable(request, kwargs.pop("slug"))
            if not is_instructor(request.user):
                return HttpResponseForbidden(f"Only instructors can {doing}.")
            return view(request, *args, **kwargs)

        return door

    return wrap


# -- the library ------------------------------------------------------------------------------------------------


@require_GET
def lesson_list(request: HttpRequest) -> HttpResponse:
    """Published lessons for everyone; an instructor also sees their own drafts and the import form."""
    instructor = is_instructor(request.user)
    mine = Lesson.objects.filter(owner=request.user) if request.user.is_authenticated else Lesson.objects.none()
    attempts = Attempt.objects.filter(preview=False, lesson__isnull=False).select_related("lesson")
    if request.user.is_authenticated:
        attempts = attempts.filter(user=request.user)
    elif request.session.session_key:
        attempts = attempts.filter(user=None, session_key=request.session.session_key)
    else:
        attempts = attempts.none()
    context = {
        "published": Lesson.objects.published(),
        "mine": mine,
        "attempts": attempts[:10],
        "instructor": instructor,
        "import_form": ImportForm() if instructor else None,
        "scenarios": access.visible_scenarios(access.Who.of(request)),  # uploads are private to their uploader
    }
    return render(request, "lessons/list.html", context)


@require_GET
def lesson_detail(request: HttpRequest, slug: str) -> HttpResponse:
    lesson = _viewable(request, slug)
    return _detail(request, lesson)


def _detail(request: HttpRequest, lesson: Lesson, status: int = 200) -> HttpResponse:
    context = {
        "lesson": lesson,
        "summary_html": mark_safe(text.render(lesson.summary)),
        "steps": [s for s in lesson.steps if isinstance(s, dict)],
        "can_edit": can_edit(request.user, lesson),
        "instructor": is_instructor(request.user),
        "may_see_results": results.may_see_results(request.user, lesson),
        "share_url": request.build_absolute_uri(reverse("lessons:shared", args=[lesson.share_token])),
    }
    return render(request, "lessons/detail.html", context, status=status)


@require_GET
def lesson_shared(request: HttpRequest, token: str) -> HttpResponse:
    """A share link: opens the lesson even as a draft, and remembers the token for this browser."""
    lesson = get_object_or_404(Lesson, share_token=token)
    tokens = request.session.get(SHARED_TOKENS, [])
    if token not in tokens:
        request.session[SHARED_TOKENS] = [*tokens[-49:], token]
    return redirect("lessons:detail", slug=lesson.slug)


# -- attempts ---------------------------------------------------------------------------------------------------


@require_POST
def attempt_start(request: HttpRequest, slug: str) -> HttpResponse:
    """Start working through a lesson: the student's own copy of the lesson and of its simulation session.

    ``preview=1`` from the lesson's owner starts a preview (not counted among the students' attempts).
    """
    lesson = _viewable(request, slug)
    data = lesson.document()
    try:
        moments = player.moments(data)
    except lessonfile.LessonError as exc:
        messages.error(request, f"This lesson cannot be played: {exc}")
        return redirect("lessons:detail", slug=slug)
    if not moments:
        messages.error(request, "This lesson has no steps yet.")
        return redirect("lessons:detail", slug=slug)
    with transaction.atomic():
        attempt = Attempt.objects.create(
            lesson=lesson,
            lesson_data=data,
            sim_session=player.new_session(data),
            preview=bool(request.POST.get("preview")) and can_edit(request.user, lesson),
            **owner_fields(request),
        )
        player.go_to(attempt, 0)
    return redirect("lessons:attempt", attempt_id=attempt.id)


def _own_attempt(request: HttpRequest, attempt_id: Any) -> Attempt:
    attempt = get_object_or_404(Attempt.objects.select_related("sim_session", "lesson"), id=attempt_id)
    if not owns_record(request.user, request.session.session_key, attempt):
        raise Http404("no such attempt")  # someone else's attempt does not exist for you
    return attempt


@require_GET
def attempt_page(request: HttpRequest, attempt_id: Any) -> HttpResponse:
    attempt = _own_attempt(request, attempt_id)
    return render(request, "lessons/attempt.html", attempt_context(request, attempt))


def attempt_context(request: HttpRequest, attempt: Attempt) -> dict[str, Any]:
    moments = player.moments(attempt.lesson_data)
    index = min(attempt.step, len(moments) - 1)
    moment = moments[index]
    step = attempt.lesson_data["steps"][index]
    result = player.result_of(attempt, index)
    steps = []
    for k, s in enumerate(attempt.lesson_data["steps"]):
        record = attempt.answers.get(str(k)) or {}
        steps.append(
            {
                "index": k,
                "title": s.get("title") or f"Step {k + 1}",
                "current": k == index,
                "open": k <= player.allowed_step(attempt),
                "checkpoint": bool(s.get("checkpoint")),
                "done": player.step_done(attempt, k),
                "points": bool(record.get("first_try")),
            }
        )
    session = attempt.sim_session
    authoring = bool(attempt.preview and attempt.lesson and can_edit(request.user, attempt.lesson))
    return {
        "attempt": attempt,
        # The author previewing their lesson may set this step's moment from the log ("pause before this").
        "authoring": authoring,
        "api_url": reverse("lessons:api_lesson", args=[attempt.lesson.slug]) if authoring else "",
        "lesson_title": attempt.lesson_data.get("title", ""),
        "index": index,
        "number": index + 1,
        "count": len(moments),
        "step": step,
        "step_html": mark_safe(text.render(step.get("text", ""))),
        "steps": steps,
        "moment": moment,
        "question": moment.question,
        "result": result,
        "feedback_html": mark_safe(text.render(result["feedback"])) if result and result.get("feedback") else "",
        "done_here": player.step_done(attempt, index),
        "can_next": index + 1 < len(moments) and player.allowed_step(attempt) > index,
        "finished": index + 1 == len(moments) and player.step_done(attempt, index),
        "score": attempt.score(),
        "progress": attempt.progress_percent(),
        "state": moment.state,
        "session": session,
        "scenario": session.scenario_data if session else attempt.lesson_data["scenario"],
        "ws_path": f"/ws/session/{session.id}/" if session else "",
    }


@require_POST
def attempt_go(request: HttpRequest, attempt_id: Any) -> HttpResponse:
    """Open step ``step`` (the next one only once this step's checkpoint is done)."""
    attempt = _own_attempt(request, attempt_id)
    try:
        index = int(request.POST.get("step", attempt.step))
    except ValueError:
        index = attempt.step
    player.go_to(attempt, index)
    return redirect("lessons:attempt", attempt_id=attempt.id)


@require_POST
def attempt_answer(request: HttpRequest, attempt_id: Any) -> HttpResponse:
    """Grade an answer to the current step's checkpoint. HTML form post, or JSON with Accept: application/json."""
    attempt = _own_attempt(request, attempt_id)
    index = attempt.step
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        if request.POST.get("reveal", "").strip().lower() in ("1", "true", "yes", "on"):  # "reveal=false" is no
            result = player.reveal(attempt, index)
        else:
            result = player.answer(attempt, index, request.POST.getlist("answer"))
    except ResponseError as exc:
        if wants_json:
            return JsonResponse({"error": str(exc), "field": "answer"}, status=400)
        context = attempt_context(request, attempt)
        context["answer_error"] = str(exc)
        return render(request, "lessons/attempt.html", context, status=400)
    if wants_json:
        moments = player.moments(attempt.lesson_data)
        return JsonResponse(
            {
                "result": {
                    **result,
                    "feedback_html": text.render(result["feedback"]) if result.get("feedback") else "",
                },
                "score": attempt.score(),
                "progress": attempt.progress_percent(),
                "done": player.step_done(attempt, index),
                "can_next": index + 1 < len(moments) and player.allowed_step(attempt) > index,
                "finished": index + 1 == len(moments) and player.step_done(attempt, index),
            }
        )
    # Without the page's script: back to the page, scrolled to the question and its verdict.
    return redirect(reverse("lessons:attempt", args=[attempt.id]) + "#checkpoint")


# -- keeping lessons --------------------------------------------------------------------------------------------


@login_required
@require_POST
@instructors_only("import lessons")
def lesson_import(request: HttpRequest) -> HttpResponse:
    """Import a lesson or scenario file as a new draft of the instructor's. Errors name the JSON path, status 400."""
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        context = {
            "published": Lesson.objects.published(),
            "mine": Lesson.objects.filter(owner=request.user),
            "attempts": [],
            "instructor": True,
            "import_form": form,
            "import_failed": True,  # the form and every problem go to the top of the page
            "scenarios": access.visible_scenarios(access.Who.of(request)),  # uploads are private to their uploader
        }
        return render(request, "lessons/list.html", context, status=400)
    lesson = Lesson.new_draft(request.user, form.cleaned_data["file"])
    messages.success(request, f"Imported “{lesson.title}” as a draft.")
    return redirect("lessons:detail", slug=lesson.slug)


@login_required
@require_POST
@instructors_only("create lessons")
def lesson_new(request: HttpRequest) -> HttpResponse:
    """A new draft lesson for an instructor: two MARs, a CN and a mobile node to start from, then the editor."""
    lesson = Lesson.new_draft(request.user, starter_lesson())
    return redirect("lessons:edit", slug=lesson.slug)


def starter_lesson() -> dict[str, Any]:
    return {
        "format": lessonfile.FORMAT,
        "title": NEW_LESSON_TITLE,
        "summary": "",
        "scenario": {
            "format": lessonfile.SCENARIO_FORMAT,
            "title": NEW_LESSON_TITLE,
            "mode": "network-dmm",
            "network": {
                "mars": [{"id": "MAR1", "prefix_pool": "2001:db8:1::/48"}],
                "cns": [{"id": "CN1", "address": "2001:db8:ca5e::1"}],
                "links": [],
            },
            "mobile_nodes": [{"id": "MN1", "interfaces": ["if1"]}],
            "script": [{"at": 0.0, "action": "attach", "mn": "MN1", "interface": "if1", "mar": "MAR1"}],
            "layout": {"MAR1": [200, 300], "CN1": [200, 80], "MN1": [200, 450]},
        },
        "steps": [{"title": "Introduction", "text": "", "actions": [], "until": 1.0, "checkpoint": None}],
    }


@login_required
@require_POST
@instructors_only("duplicate lessons", lesson=True)
def lesson_duplicate(request: HttpRequest, lesson: Lesson) -> HttpResponse:
    """Copy a lesson one may view into a new draft of one's own (the way to change a built-in or a colleague's)."""
    document = {**lesson.document(), "title": f"{lesson.title} (copy)"[:200]}
    copy = Lesson.new_draft(request.user, document, copied_from=lesson)
    messages.success(request, f"Made your own copy of “{lesson.title}”.")
    return redirect("lessons:detail", slug=copy.slug)


@login_required
@require_POST
@guarded
def lesson_publish(request: HttpRequest, slug: str) -> HttpResponse:
    """Publish (``publish=1``) or return to draft (``publish=0``)."""
    lesson = _editable(request, slug)
    publish = request.POST.get("publish") == "1"
    if publish and not lesson.steps:
        messages.error(request, "A lesson needs at least one step before it can be published.")
        return redirect("lessons:detail", slug=slug)
    if publish:
        problems = lessonfile.validate(lesson.document())
        if problems:
            messages.error(request, "Fix these first: " + "; ".join(f"{p.path}: {p.message}" for p in problems[:5]))
            return redirect("lessons:detail", slug=slug)
    lesson.status = Lesson.Status.PUBLISHED if publish else Lesson.Status.DRAFT
    lesson.save(update_fields=["status", "updated"])
    return redirect("lessons:detail", slug=slug)


@login_required
@require_POST
@guarded
def lesson_delete(request: HttpRequest, slug: str) -> HttpResponse:
    lesson = _editable(request, slug)
    title = lesson.title
    lesson.delete()
    messages.success(request, f"Deleted “{title}”.")
    return redirect("lessons:list")


@require_GET
def lesson_export(request: HttpRequest, slug: str) -> HttpResponse:
    """The lesson file ("dmmviz-lesson/1") as a download."""
    lesson = _viewable(request, slug)
    document = (
        lesson.document() if results.sees_answers(request.user, lesson) else results.student_document(lesson.document())
    )
    return _download(document, f"{lesson.slug}.lesson.json")


@require_GET
def scenario_export(request: HttpRequest, slug: str) -> HttpResponse:
    """The lesson's scenario file ("dmmviz-scenario/1") as a download."""
    lesson = _viewable(request, slug)
    return _download(lesson.scenario, f"{lesson.slug}.scenario.json")


def _download(data: dict[str, Any], filename: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n", content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# -- accounts ---------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account (a student; an administrator makes instructors) and log in."""
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("lessons:list")
    return render(request, "lessons/signup.html", {"form": form}, status=400 if form.errors else 200)


# -- the editor -------------------------------------------------------------------------------------------------


@login_required
@require_GET
@guarded
def lesson_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """The browser editor (network, record mode, steps); it loads and saves through api.py."""
    lesson = _editable(request, slug)
    return render(request, "lessons/edit.html", {"lesson": lesson})


# -- results ----------------------------------------------------------------------------------------------------


def _results_lesson(request: HttpRequest, slug: str) -> Lesson:
    lesson = _viewable(request, slug)
    if not results.may_see_results(request.user, lesson):
        raise PermissionDenied403(lesson)
    return lesson


@login_required
@require_GET
@guarded
def lesson_results(request: HttpRequest, slug: str) -> HttpResponse:
    """Every student attempt at the lesson, with right/wrong per checkpoint and the most common wrong answers."""
    lesson = _results_lesson(request, slug)
    return render(request, "lessons/results.html", {"lesson": lesson, **results.lesson_results(lesson)})


@login_required
@require_GET
@guarded
def lesson_results_csv(request: HttpRequest, slug: str) -> HttpResponse:
    lesson = _results_lesson(request, slug)
    response = HttpResponse(results.results_csv(lesson), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{lesson.slug}.results.csv"'
    return response
