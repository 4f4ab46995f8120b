"""Playing a lesson for a student: the moments of each step, their simulation session, answering a checkpoint.

The truth for every checkpoint is the lesson's own run (lessonfile.play): the state at the step's pause, computed by
the engine. A student's simulation session is set to that same run, where the step opens (before its key event,
paused), when they reach a step (``sync_session``); Play runs it to the step's end, where the checkpoint asks; what
they do in it afterwards (dragging, starting flows) is theirs to explore and does not change the question or its
answer. Going back to the step restores the lesson's run.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from dmmviz.web.models import SimSession
from dmmviz.web.relay import session_group

from . import lessonfile
from .checkpoints import Question, ResponseError, normalise_response
from .lessonfile import Moment, Position
from .models import Attempt

_CACHE_SIZE = 64
_cache: OrderedDict[str, list[Moment]] = OrderedDict()
_lock = threading.Lock()


def moments(lesson_data: dict[str, Any]) -> list[Moment]:
    """The lesson's pauses, one per step (cached per process by the document's content). Raises LessonError."""
    key = hashlib.sha256(json.dumps(lesson_data, sort_keys=True).encode()).hexdigest()
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    found = lessonfile.play(lesson_data)
    with _lock:
        _cache[key] = found
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return found


def new_session(lesson_data: dict[str, Any]) -> SimSession:
    """A fresh simulation session running the lesson's scenario (a private copy for one student or one class)."""
    scenario = lesson_data["scenario"]
    return SimSession.objects.create(scenario_data=scenario, seed=lessonfile.seed_of(scenario))


def sync_session(session: SimSession, moment: Moment | Position) -> None:
    """Put a session at a position of the lesson's run (a step's opening, or its end): the lesson's actions so far,
    stepped to there.

    The revision is bumped, so a socket that had cached the old position rebuilds it.
    """
    session.journal = [[int(steps), int(now_us), dict(command)] for steps, now_us, command in moment.journal]
    session.steps = moment.steps
    session.now = moment.t
    session.revision = session.revision + 1
    session.save(update_fields=["journal", "steps", "now", "revision", "updated"])


def resync(session_id: Any) -> None:
    """Every socket on this session, on every process, sends its tab a fresh snapshot from the database (after the
    server changed the session's row itself). Handled by the lessons app's consumers (consumers.py)."""
    layer = get_channel_layer()
    if layer is not None:
        # To every process with tabs on the session (dmmviz/web/relay.py), which hands it to each of them.
        event = {"type": "lessons.resync", "session": str(session_id)}
        async_to_sync(layer.group_send)(session_group(session_id), event)


def go_to(attempt: Attempt, index: int) -> Moment:
    """Show step ``index`` (at most one past the furthest reached, only past a step whose checkpoint is answered)."""
    all_moments = moments(attempt.lesson_data)
    index = max(0, min(index, len(all_moments) - 1, allowed_step(attempt)))
    moment = all_moments[index]
    attempt.step = index
    attempt.reached = max(attempt.reached, index)
    attempt.save(update_fields=["step", "reached", "updated"])
    if attempt.sim_session is not None:
        sync_session(attempt.sim_session, moment.opening)  # paused before the step's key event; Play runs to its end
        resync(attempt.sim_session_id)
    return moment


def allowed_step(attempt: Attempt) -> int:
    """The furthest step the student may open: one past the reached step, once its checkpoint is done (answered right,
    or the answer revealed)."""
    steps = attempt.lesson_data.get("steps", [])
    reached = attempt.reached
    if reached + 1 < len(steps) and step_done(attempt, reached):
        return reached + 1
    return reached


def step_done(attempt: Attempt, index: int) -> bool:
    steps = attempt.lesson_data.get("steps", [])
    if index >= len(steps) or index > attempt.reached:
        return False
    if not steps[index].get("checkpoint"):
        return True
    record = attempt.answers.get(str(index)) or {}
    return bool(record.get("correct") or record.get("revealed"))


def answer(attempt: Attempt, index: int, response: Any) -> dict[str, Any]:
    """Grade a response to step ``index``'s checkpoint and record it. Raises ResponseError for a non-answer.

    The first try decides the point; later tries can still get the step right and let the student go on.
    Returns what ``result_of`` returns.
    """
    question = _question(attempt, index)
    value = normalise_response(question, response)
    correct = value == question.answer
    record = dict(attempt.answers.get(str(index)) or {})
    tries = int(record.get("tries", 0)) + 1
    stored = list(value) if isinstance(value, tuple) else value
    if not correct:  # every wrong try, for the instructor's "most common wrong answers" (results.py)
        record["wrong"] = [*(record.get("wrong") or []), stored][-20:]
    if tries == 1 and _revealed_elsewhere(attempt, index):
        record["revealed_elsewhere"] = True  # seen in another attempt of the same lesson: no point for it here
    record.update(
        {
            "tries": tries,
            "first_try": bool(record.get("first_try")) if tries > 1 else (
                correct and not record.get("revealed") and not record.get("revealed_elsewhere")),
            "correct": bool(record.get("correct")) or correct,
            "response": stored,
            "last_correct": correct,
        }
    )
    attempt.answers = {**attempt.answers, str(index): record}
    attempt.save(update_fields=["answers", "updated"])
    return result_of(attempt, index)


OTHER_ATTEMPTS_LOOKED_AT = 50  # the latest attempts of the same student at the same lesson (bounds the query)


def _revealed_elsewhere(attempt: Attempt, index: int) -> bool:
    """Whether the same student (account, or browser session for a visitor) had the answer to this same checkpoint
    revealed in another attempt at the lesson: revealing it in a second attempt, then answering in the first, got
    every point right at the first try."""
    if attempt.lesson_id is None:
        return False
    owner = {"user_id": attempt.user_id} if attempt.user_id is not None else {
        "user_id": None, "session_key": attempt.session_key}
    if attempt.user_id is None and not attempt.session_key:
        return False
    others = Attempt.objects.filter(lesson_id=attempt.lesson_id, **owner).exclude(pk=attempt.pk)
    latest = others.order_by("-created").values_list("pk", "answers")[:OTHER_ATTEMPTS_LOOKED_AT]
    revealed = [pk for pk, answers in latest if ((answers or {}).get(str(index)) or {}).get("revealed")]
    if not revealed:
        return False  # the usual answer, without reading any other attempt's copy of the lesson (scenario included)
    question = attempt.lesson_data["steps"][index].get("checkpoint")
    for data in others.filter(pk__in=revealed).values_list("lesson_data", flat=True):
        steps = data.get("steps") or []
        if index < len(steps) and steps[index].get("checkpoint") == question:
            return True
    return False


def reveal(attempt: Attempt, index: int) -> dict[str, Any]:
    """Show the answer of step ``index``'s checkpoint (no point for it any more) so the student can go on."""
    _question(attempt, index)
    record = dict(attempt.answers.get(str(index)) or {})
    record["revealed"] = True
    record.setdefault("tries", 0)
    record.setdefault("first_try", False)
    record.setdefault("correct", False)
    attempt.answers = {**attempt.answers, str(index): record}
    attempt.save(update_fields=["answers", "updated"])
    return result_of(attempt, index)


def _question(attempt: Attempt, index: int) -> Question:
    all_moments = moments(attempt.lesson_data)
    if not 0 <= index < len(all_moments) or all_moments[index].question is None:
        raise ResponseError("this step has no checkpoint")
    if index > attempt.reached:
        raise ResponseError("this step has not been reached yet")
    return all_moments[index].question  # type: ignore[return-value]


def result_of(attempt: Attempt, index: int) -> dict[str, Any] | None:
    """What the student sees about step ``index``'s checkpoint after answering (None before any answer).

    {"correct" (the last try), "tries", "first_try", "revealed", "finished" (right or revealed: the answer is shown),
    "answer", "explanation" (only once finished), "feedback" (the instructor's Markdown for right or wrong)}.
    """
    record = attempt.answers.get(str(index))
    if not record:
        return None
    question = moments(attempt.lesson_data)[index].question
    checkpoint = attempt.lesson_data["steps"][index].get("checkpoint") or {}
    last_correct = bool(record.get("last_correct"))
    finished = bool(record.get("correct") or record.get("revealed"))
    feedback = (
        (checkpoint.get("feedback") or {}).get("correct" if last_correct else "incorrect", "")
        if record.get("tries")
        else ""
    )
    return {
        "index": index,
        "correct": last_correct,
        "tries": record.get("tries", 0),
        "first_try": bool(record.get("first_try")),
        "revealed": bool(record.get("revealed")),
        "revealed_elsewhere": bool(record.get("revealed_elsewhere")),  # its answer shown in another attempt: no point
        "finished": finished,
        "response": record.get("response"),
        "answer": question.answer_text() if finished and question else None,
        "explanation": question.explanation if finished and question else None,
        "feedback": feedback,
    }
