"""Practice mode pages: any scenario (built in, uploaded, a lesson's, or a lesson step's state) in the live
visualiser, with a panel that asks the student to predict the next step, grades it and shows it happen.

The answer is computed from the engine (practice.next_question runs a copy of the session forward) and stays on the
server until the student has answered.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from dmmviz import access
from dmmviz.web import limits
from dmmviz.web.models import SimSession
from dmmviz.web.views import session_context
from simulator import Simulation

from . import lessonfile, practice
from .checkpoints import Question, ResponseError, normalise_response
from .models import PracticeQuestion, PracticeRun
from .permissions import owner_fields, owns_record
from .views import _own_attempt, _viewable


def _new_run(request: HttpRequest, title: str, session: SimSession) -> HttpResponse:
    run = PracticeRun.objects.create(sim_session=session, title=title[:200], **owner_fields(request))
    return redirect("lessons:practice", run_id=run.id)


@require_POST
def practice_scenario(request: HttpRequest, slug: str) -> HttpResponse:
    """Practise a scenario of the home page's list."""
    scenario = access.scenario_or_404(request, slug)  # a private upload is practised only by its uploader
    data = scenario.data
    session = SimSession.objects.create(scenario=scenario, scenario_data=data, seed=lessonfile.seed_of(data))
    return _new_run(request, scenario.title, session)


@require_POST
def practice_lesson(request: HttpRequest, slug: str) -> HttpResponse:
    """Practise a lesson's scenario from its start."""
    lesson = _viewable(request, slug)
    session = SimSession.objects.create(scenario_data=lesson.scenario, seed=lessonfile.seed_of(lesson.scenario))
    return _new_run(request, lesson.title, session)


@require_POST
def practice_attempt(request: HttpRequest, attempt_id: Any) -> HttpResponse:
    """Practise from where a lesson attempt's simulation is now (a copy: the attempt is untouched)."""
    attempt = _own_attempt(request, attempt_id)
    source = attempt.sim_session
    if source is None:
        raise Http404("this attempt has no simulation")
    return _new_run(request, attempt.lesson_data.get("title", "Lesson"), source.copy())


def _own_run(request: HttpRequest, run_id: Any) -> PracticeRun:
    run = get_object_or_404(PracticeRun.objects.select_related("sim_session"), id=run_id)
    if not owns_record(request.user, request.session.session_key, run):
        raise Http404("no such practice")
    return run


@require_GET
def practice_page(request: HttpRequest, run_id: Any) -> HttpResponse:
    run = _own_run(request, run_id)
    session = run.sim_session
    context = {**session_context(session), "run": run, "score": run.score()}
    return render(request, "lessons/practice.html", context)


def _simulation(session: SimSession) -> Simulation:
    return Simulation.replay(
        session.scenario_data, session.seed, session.journal, session.steps, now=session.now, mode=session.mode or None
    )


def _stored(question: Question) -> dict[str, Any]:
    return {
        **question.public(),
        "answer": list(question.answer) if isinstance(question.answer, tuple) else question.answer,
        "answer_text": question.answer_text(),
        "explanation": question.explanation,
    }


def _question_of(record: PracticeQuestion) -> Question:
    q = record.question
    answer = tuple(q["answer"]) if isinstance(q["answer"], list) else q["answer"]
    return Question(
        kind=q["kind"],
        prompt=q["prompt"],
        input=q["input"],
        choices=tuple(tuple(c) for c in q["choices"]),
        answer=answer,
        explanation=q["explanation"],
    )


@require_POST
def practice_question(request: HttpRequest, run_id: Any) -> HttpResponse:
    """The question about the session's next step (the same one again while it is open and the session is still)."""
    run = _own_run(request, run_id)
    session = SimSession.objects.get(pk=run.sim_session_id)  # fresh: the socket may have moved it
    open_question = run.questions.filter(correct=None, steps=session.steps).last()
    if open_question is not None:
        return JsonResponse({"id": open_question.id, "question": _public(open_question), "now": session.now})
    sim = _simulation(session)
    found = practice.next_question(sim, salt=f"{run.id}|{run.questions.count()}")
    if found is None:
        return JsonResponse(
            {
                "question": None,
                "now": sim.now,
                "message": "Nothing more is scheduled: drag a mobile node or start a flow, then ask again.",
            }
        )
    record = PracticeQuestion.objects.create(
        run=run, steps=sim.steps, question=_stored(found.question), reveal_t=found.reveal_t
    )
    return JsonResponse({"id": record.id, "question": _public(record), "now": sim.now})


def _public(record: PracticeQuestion) -> dict[str, Any]:
    q = record.question
    return {"kind": q["kind"], "prompt": q["prompt"], "input": q["input"], "choices": q["choices"]}


def _question_id(value: Any) -> int | None:
    """A question's id as the client sent it (a JSON integer, or a form's digits), or None for anything else: not a
    lookup the database would refuse (a word, a list, a number past its 64-bit integers)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        return value
    return None


@require_POST
def practice_answer(request: HttpRequest, run_id: Any) -> HttpResponse:
    """Grade a prediction; reply with the truth, why, and the time to run to so the student sees it happen."""
    run = _own_run(request, run_id)
    if request.content_type == "application/json" or request.body.lstrip()[:1] in (b"{", b"["):
        try:
            body = limits.loads(request.body or b"{}")
        except limits.JSONInputError as exc:
            return JsonResponse({"error": exc.message, "field": None}, status=400)
    else:
        body = {"id": request.POST.get("id"), "answer": request.POST.getlist("answer")}
    question_id = _question_id(body.get("id") if isinstance(body, dict) else None)
    record = None if question_id is None else run.questions.filter(id=question_id).first()
    if record is None:
        return JsonResponse({"error": "no such question; ask for a new one", "field": "id"}, status=400)
    if record.correct is not None:
        return JsonResponse(
            {"error": "this question is already answered; ask for the next one", "field": "id"}, status=400
        )
    steps_now = SimSession.objects.filter(pk=run.sim_session_id).values_list("steps", flat=True).first()
    if steps_now != record.steps:  # a prediction is about what comes next: after seeing it happen, it is no guess
        return JsonResponse(
            {"error": "the simulation has moved on since this question was asked; ask a new one", "field": "id"},
            status=409,
        )
    question = _question_of(record)
    try:
        value = normalise_response(question, body.get("answer"))
    except ResponseError as exc:
        return JsonResponse({"error": str(exc), "field": "answer"}, status=400)
    record.response = list(value) if isinstance(value, tuple) else value
    record.correct = value == question.answer
    record.save(update_fields=["response", "correct"])
    return JsonResponse(
        {
            "correct": record.correct,
            "answer": record.question["answer_text"],
            "explanation": record.question["explanation"],
            "reveal_t": record.reveal_t,
            "score": run.score(),
        }
    )
