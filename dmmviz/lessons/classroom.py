"""Live classes: an instructor presents a lesson; students join with a short code and follow its simulation live.

The class's simulation is an ordinary SimSession owned by the class (only the instructor may command it, see
permissions.may_command_session). Students follow it read-only through ``/ws/class/<code>/`` (consumers.py), which
joins the session's channel-layer group: every change the instructor makes reaches every follower, on any Daphne
process when REDIS_URL selects channels_redis. When the server itself changes a session's row (the instructor moves the
class to another step), ``resync`` asks every socket on that session for a fresh snapshot, and ``notify`` tells the
class's lesson panels (``/ws/class/<code>/events/``) which step is on.

A student may branch off: a private copy of the class session at that moment (``branch``), theirs to explore, and
rejoin the class whenever they like.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from dmmviz.web.models import SimSession

from . import player, text
from .checkpoints import ResponseError, normalise_response
from .models import Branch, ClassAnswer, ClassMember, LiveClass
from .player import resync


def class_group(code: str) -> str:
    return f"class-{code.upper()}"


def notify(live_class: LiveClass) -> None:
    """Tell the lesson panels of the class what it is on now."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(
            class_group(live_class.code), {"type": "class.changed", "info": info_of(live_class)}
        )


def session_of_code(code: str) -> str | None:
    live_class = LiveClass.objects.filter(code=code.upper(), active=True).only("sim_session_id").first()
    return str(live_class.sim_session_id) if live_class else None


def info_of(live_class: LiveClass) -> dict[str, Any]:
    """The class as its panels show it: the step on now, with its narrative (sanitised HTML, text.render)."""
    steps = live_class.lesson_data.get("steps", [])
    index = min(live_class.step, max(len(steps) - 1, 0))
    step = steps[index] if steps else {}
    moment = player.moments(live_class.lesson_data)[index] if steps else None
    question = moment.question if moment else None
    revealed = question is not None and index in (live_class.revealed or [])
    return {
        "type": "class",
        "code": live_class.code,
        "active": live_class.active,
        "title": live_class.lesson_data.get("title", ""),
        "step": index,
        "count": len(steps),
        "step_title": step.get("title", ""),
        "step_html": text.render(step.get("text", "")),
        "question": question.prompt if question else None,
        # What a student may see before answering; the answer only once the instructor reveals it.
        "checkpoint": question.public() if question else None,
        "revealed": revealed,
        "answer": question.answer_text() if revealed else None,
        "explanation": question.explanation if revealed else None,
        "start": moment.opening.t if moment else 0.0,
        "t": moment.t if moment else 0.0,
        "highlight": list(step.get("highlight") or []),
    }


def class_info(code: str) -> dict[str, Any] | None:
    """The class's panel info, or None for an unknown or ended class (an ended code is dead)."""
    live_class = LiveClass.objects.filter(code=code.upper(), active=True).first()
    return info_of(live_class) if live_class else None


def answer(live_class: LiveClass, owner: dict[str, Any], response: Any) -> dict[str, Any]:
    """Grade a class follower's answer to the checkpoint of the step the class is on (raises ResponseError for a
    non-answer). The first response counts on the instructor's panel; later ones may still get it right.
    Returns {"step", "correct", "tries", "answer", "explanation" (once right or revealed)}."""
    index = live_class.step
    moment = player.moments(live_class.lesson_data)[index]
    question = moment.question
    if question is None:
        raise ResponseError("the class is on a step without a question")
    value = normalise_response(question, response)
    stored = list(value) if isinstance(value, tuple) else value
    correct = value == question.answer
    # One row per follower and step (a unique constraint): the first answer creates it; a later one, or one that
    # raced it, updates it in one statement (tries counted by the database, so answers sent together all count).
    mine_only = ClassAnswer.objects.filter(
        live_class=live_class, step=index, user=owner["user"], session_key=owner["session_key"]
    )
    try:
        with transaction.atomic():
            mine = ClassAnswer.objects.create(
                live_class=live_class, step=index, first=stored, first_correct=correct, response=stored,
                correct=correct, **owner,
            )
    except IntegrityError:
        changes: dict[str, Any] = {"response": stored, "tries": F("tries") + 1, "updated": timezone.now()}
        if correct:  # right once is right: a wrong try after it does not undo it
            changes["correct"] = True
        mine_only.update(**changes)
        mine = mine_only.get()
    return result_of(live_class, mine, last_correct=correct)


def result_of(live_class: LiveClass, mine: ClassAnswer, last_correct: bool | None = None) -> dict[str, Any]:
    """What a follower sees of their answer (again after a reload): the verdict of the last try, the instructor's
    feedback for it, and the answer and explanation once right or revealed."""
    index = mine.step
    question = player.moments(live_class.lesson_data)[index].question
    correct = mine.correct if last_correct is None else last_correct
    feedback = ((live_class.lesson_data["steps"][index].get("checkpoint") or {}).get("feedback") or {}).get(
        "correct" if correct else "incorrect", ""
    )
    shown = question is not None and (mine.correct or index in (live_class.revealed or []))
    return {
        "step": index,
        "correct": correct,
        "tries": mine.tries,
        "feedback_html": text.render(feedback) if feedback else "",
        "answer": question.answer_text() if shown else None,
        "explanation": question.explanation if shown else None,
    }


def reveal(live_class: LiveClass) -> None:
    """The instructor shows the current checkpoint's answer to the whole class."""
    if live_class.step not in (live_class.revealed or []):
        live_class.revealed = [*(live_class.revealed or []), live_class.step]
        live_class.save(update_fields=["revealed"])
    notify(live_class)


def join(live_class: LiveClass, owner: dict[str, Any]) -> None:
    """Count a student who opened the class page (once per user or browser session)."""
    member = ClassMember.objects.filter(
        live_class=live_class, user=owner["user"], session_key=owner["session_key"]
    ).first()
    if member is None:
        ClassMember.objects.create(live_class=live_class, **owner)
    else:
        member.save(update_fields=["seen"])


def start(lesson_data: dict[str, Any], instructor: Any, lesson: Any = None) -> LiveClass:
    """A new live class on its own simulation session, at the lesson's first step."""
    session = player.new_session(lesson_data)
    live_class = LiveClass.objects.create(
        code=LiveClass.new_code(),
        lesson=lesson,
        lesson_data=lesson_data,
        instructor=instructor,
        sim_session=session,
    )
    set_step(live_class, 0)
    return live_class


def set_step(live_class: LiveClass, index: int) -> None:
    """Move the class to step ``index``: its session to the lesson's state there; every socket and panel follows."""
    moments = player.moments(live_class.lesson_data)
    index = max(0, min(index, len(moments) - 1))
    live_class.step = index
    live_class.save(update_fields=["step"])
    player.sync_session(live_class.sim_session, moments[index].opening)
    resync(live_class.sim_session_id)
    notify(live_class)


def end(live_class: LiveClass) -> None:
    live_class.active = False
    live_class.save(update_fields=["active"])
    notify(live_class)


def branch(live_class: LiveClass, owner: dict[str, Any]) -> Branch:
    """A private copy of the class's simulation as it is now, for one student (``owner``: permissions.owner_fields)."""
    source = SimSession.objects.get(pk=live_class.sim_session_id)
    return Branch.objects.create(live_class=live_class, sim_session=source.copy(scenario=source.scenario), **owner)
