"""The lesson editor's JSON API. Same rules as the pages (permissions.py); CSRF applies (send X-CSRFToken).

GET  /lessons/api/<slug>/      {"lesson": <dmmviz-lesson/1>, "status", "can_edit", "moments": [...]}; for anyone but
                               the lesson's editors and instructors, without checkpoint feedback and answers
PUT  /lessons/api/<slug>/      body: a dmmviz-lesson/1 document (optionally with "status"); the owner only.
                               200 {"ok": true, "lesson", "status", "moments"}
                               or 400 {"problems": [{"path", "message"}]}
POST /lessons/api/validate/    body: a lesson document -> {"problems", "moments"}; instructors only
POST /lessons/api/simulate/    body: {"scenario", "until", "command"?} or {"scenario", "steps", "step", "command"?}
                               -> {"state", "events", "now", "next"}: the state at `until` (or where step `step`
                               begins), after `command` if given (400 with its problem if the engine refuses it)
GET  /lessons/api/kinds/       the checkpoint kinds

``moments`` lists, per step, the simulated time it pauses at and its checkpoint's question with the engine's answer,
so the editor shows the author what students will be asked and what counts as right.
"""

from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from simulator import CommandError, ScenarioError, Simulation, load_scenario

from . import checkpoints, lessonfile, player, results
from .forms import MAX_FILE_BYTES
from .models import Lesson
from .permissions import can_edit, can_view, is_instructor

MAX_SIMULATE_UNTIL = 600.0


def _problems(problems: list[Any], status: int = 400) -> JsonResponse:
    return JsonResponse({"problems": [{"path": p.path, "message": p.message} for p in problems]}, status=status)


def _body(request: HttpRequest) -> Any:
    if len(request.body) > MAX_FILE_BYTES:
        raise lessonfile.LessonError(
            [lessonfile.Problem("", f"the request is larger than {MAX_FILE_BYTES // 1024} KiB")]
        )
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise lessonfile.LessonError([lessonfile.Problem("", "the request body is not UTF-8 text")]) from None
    return lessonfile.parse_text(text)


def moments_json(data: dict[str, Any], answers: bool = True) -> list[dict[str, Any]]:
    """Per step: where it opens and pauses, and the question students get, with the engine's answer (``answers``;
    never for a student) and the events between its opening and its end (for the editor's "pause before this")."""
    out = []
    messages = step_messages(data) if answers else []
    for m in player.moments(data):  # the lesson's run, played once per process (a GET by anyone replayed it each time)
        q = m.question
        question = (
            ({**q.public(), "answer": q.answer_text(), "explanation": q.explanation} if answers else q.public())
            if q
            else None
        )
        out.append(
            {
                "index": m.index,
                "start": m.opening.t,
                "t": m.t,
                "question": question,
                **({"messages": messages[m.index]} if answers else {}),
            }
        )
    return out


MAX_STEP_MESSAGES = 80


def step_messages(data: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Per step, the signalling messages sent from the previous step's pause to this one's (its actions applied
    first): what the editor lists under a step, to click one and make the step open just before it."""
    scenario = load_scenario(data["scenario"])
    sim = Simulation(scenario, seed=lessonfile.seed_of(scenario))
    out = []
    for step in data.get("steps", []):
        events = []
        for action in step.get("actions", []):
            events += sim.apply(dict(action))
        events += sim.run(float(step["until"]))
        out.append(
            [
                {"t": e["t"], "kind": e["kind"], "src": e["src"], "dst": e["dst"]}
                for e in events
                if "src" in e and "dst" in e and e["kind"].isupper() and e["kind"] != "DATA"
            ][:MAX_STEP_MESSAGES]
        )
    return out


def _forbidden(message: str) -> JsonResponse:
    return JsonResponse({"problems": [{"path": "", "message": message}]}, status=403)


@require_http_methods(["GET", "PUT"])
def lesson(request: HttpRequest, slug: str) -> HttpResponse:
    lesson = get_object_or_404(Lesson, slug=slug)
    tokens = request.session.get("lesson_share_tokens", [])
    if not can_view(request.user, lesson, lesson.share_token if lesson.share_token in tokens else None):
        return JsonResponse({"problems": [{"path": "", "message": "no such lesson"}]}, status=404)
    if request.method == "GET":
        full = results.sees_answers(request.user, lesson)  # a student gets no feedback and no engine answers
        try:
            moments = moments_json(lesson.document(), answers=full)
        except lessonfile.LessonError:
            moments = []
        document = lesson.document() if full else results.student_document(lesson.document())
        return JsonResponse(
            {
                "lesson": document,
                "status": lesson.status,
                "slug": lesson.slug,
                "can_edit": can_edit(request.user, lesson),
                "moments": moments,
            }
        )
    if not can_edit(request.user, lesson):
        return _forbidden(
            "only the instructor who owns this lesson may change it"
            if not lesson.builtin
            else "built-in lessons are read-only; duplicate it to change it"
        )
    try:
        data = _body(request)
    except lessonfile.LessonError as exc:
        return _problems(exc.problems)
    status = data.pop("status", lesson.status) if isinstance(data, dict) else lesson.status
    problems = lessonfile.validate(data)
    if status not in Lesson.Status.values:
        problems.append(lessonfile.Problem("status", f"one of {', '.join(Lesson.Status.values)}"))
    elif status == Lesson.Status.PUBLISHED and isinstance(data, dict) and not data.get("steps"):
        problems.append(lessonfile.Problem("steps", "a lesson needs at least one step before it can be published"))
    if problems:
        return _problems(problems)
    lesson.set_document(data)
    lesson.status = status
    # The reply's moments run the lesson again: before the save, so a run past the request's budget (a 422 that
    # says nothing changed) leaves the stored lesson as it was.
    moments = moments_json(lesson.document())
    lesson.retitle_slug()
    lesson.save()
    return JsonResponse(
        {"ok": True, "lesson": lesson.document(), "status": lesson.status, "slug": lesson.slug, "moments": moments}
    )


def _editor_call(view: Any) -> Any:
    """The editor's POST calls: instructors only (403), the body parsed within the input limits (400 naming the
    problem); the view gets the parsed body."""

    @require_POST
    @functools.wraps(view)
    def door(request: HttpRequest) -> HttpResponse:
        if not is_instructor(request.user):
            return _forbidden("only instructors may use the editor")
        try:
            body = _body(request)
        except lessonfile.LessonError as exc:
            return _problems(exc.problems)
        return view(request, body)

    return door


@_editor_call
def validate(request: HttpRequest, data: Any) -> HttpResponse:
    problems = lessonfile.validate(data)
    if problems:
        return JsonResponse({"problems": [{"path": p.path, "message": p.message} for p in problems], "moments": []})
    return JsonResponse({"problems": [], "moments": moments_json(data)})


@_editor_call
def simulate(request: HttpRequest, body: Any) -> HttpResponse:
    """Run a scenario (with the editor's recorded commands) to ``until``: the state and the non-data events.

    The editor's record mode uses this to show the network while the author drags nodes and starts flows.
    """
    if not isinstance(body, dict):
        return _problems([lessonfile.Problem("", 'an object {"scenario": ..., "until": t}')])
    until = body.get("until", 0)
    if isinstance(until, bool) or not isinstance(until, (int, float)) or not 0 <= until <= MAX_SIMULATE_UNTIL:
        return _problems([lessonfile.Problem("until", f"a time in seconds between 0 and {MAX_SIMULATE_UNTIL:g}")])
    step = body.get("step")
    steps = body.get("steps")
    if step is not None and (
        isinstance(step, bool) or not isinstance(step, int) or not isinstance(steps, list) or not 0 <= step < len(steps)
    ):
        return _problems([lessonfile.Problem("step", "the index of one of the lesson's steps (send the steps too)")])
    try:
        if step is not None:
            # Where the step begins (previous steps played, its own actions applied): recording into a step.
            sim = lessonfile.step_start(body.get("scenario"), steps, step)
            events = []
        else:
            scenario = load_scenario(body.get("scenario"))
            sim = Simulation(scenario, seed=lessonfile.seed_of(scenario))
            events = sim.run(float(until))
    except ScenarioError as exc:
        return _problems(
            [lessonfile.Problem(f"scenario.{p.path}" if p.path else "scenario", p.message) for p in exc.problems]
        )
    except lessonfile.LessonError as exc:
        return _problems(exc.problems)
    except ValueError as exc:
        return _problems([lessonfile.Problem("scenario.mode", str(exc))])
    command = body.get("command")
    if command is not None:
        try:
            events += sim.apply(command)
        except CommandError as exc:
            where = "command" if exc.field in ("", "command") else f"command.{exc.field}"  # a non-object is the command
            return _problems([lessonfile.Problem(where, exc.message)])
    shown = [e for e in events if e["kind"] != "DATA"]
    return JsonResponse({"state": sim.snapshot(), "events": shown[-200:], "now": sim.now, "next": sim.peek()})


@require_GET
def kinds(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"kinds": checkpoints.kinds_catalogue()})
