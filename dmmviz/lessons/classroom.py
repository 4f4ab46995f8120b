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

from dmmviz.web.models import SimSession

from . import player, text
from .player import resync
from .models import Branch, LiveClass


def class_group(code: str) -> str:
    return f"class-{code.upper()}"


def notify(live_class: LiveClass) -> None:
    """Tell the lesson panels of the class what it is on now."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(class_group(live_class.code), {"type": "class.changed", "info": info_of(live_class)})


def session_of_code(code: str) -> str | None:
    live_class = LiveClass.objects.filter(code=code.upper(), active=True).only("sim_session_id").first()
    return str(live_class.sim_session_id) if live_class else None


def info_of(live_class: LiveClass) -> dict[str, Any]:
    """The class as its panels show it: the step on now, with its narrative (sanitised HTML, text.render)."""
    steps = live_class.lesson_data.get("steps", [])
    index = min(live_class.step, max(len(steps) - 1, 0))
    step = steps[index] if steps else {}
    moment = player.moments(live_class.lesson_data)[index] if steps else None
    return {
        "type": "class",
        "code": live_class.code,
        "active": live_class.active,
        "title": live_class.lesson_data.get("title", ""),
        "step": index,
        "count": len(steps),
        "step_title": step.get("title", ""),
        "step_html": text.render(step.get("text", "")),
        "question": moment.question.prompt if moment and moment.question else None,
        "t": moment.t if moment else 0.0,
    }


def class_info(code: str) -> dict[str, Any] | None:
    live_class = LiveClass.objects.filter(code=code.upper()).first()
    return info_of(live_class) if live_class else None


def start(lesson_data: dict[str, Any], instructor: Any, lesson: Any = None) -> LiveClass:
    """A new live class on its own simulation session, at the lesson's first step."""
    session = player.new_session(lesson_data)
    live_class = LiveClass.objects.create(
        code=LiveClass.new_code(), lesson=lesson, lesson_data=lesson_data, instructor=instructor, sim_session=session,
    )
    set_step(live_class, 0)
    return live_class


def set_step(live_class: LiveClass, index: int) -> None:
    """Move the class to step ``index``: its session to the lesson's state there; every socket and panel follows."""
    moments = player.moments(live_class.lesson_data)
    index = max(0, min(index, len(moments) - 1))
    live_class.step = index
    live_class.save(update_fields=["step"])
    player.sync_session(live_class.sim_session, moments[index])
    resync(live_class.sim_session_id)
    notify(live_class)


def end(live_class: LiveClass) -> None:
    live_class.active = False
    live_class.save(update_fields=["active"])
    notify(live_class)


def branch(live_class: LiveClass, owner: dict[str, Any]) -> Branch:
    """A private copy of the class's simulation as it is now, for one student (``owner``: permissions.owner_fields)."""
    source = SimSession.objects.get(pk=live_class.sim_session_id)
    copy = SimSession.objects.create(
        scenario=source.scenario, scenario_data=source.scenario_data, seed=source.seed, mode=source.mode,
        journal=source.journal, steps=source.steps, now=source.now,
    )
    return Branch.objects.create(live_class=live_class, sim_session=copy, **owner)
