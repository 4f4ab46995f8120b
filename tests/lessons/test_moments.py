"""Steps play into their moment (issue 12, item 1): a step opens before its key event, paused, and pauses at its end;
what it talks about is named in "highlight". Old lesson files (no start, no highlight) still load and play."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from dmmviz.lessons import lessonfile, player
from dmmviz.lessons.models import Attempt
from simulator import Simulation

from .conftest import BUILTIN_LESSONS, builtin_lesson, client_for

MESSAGES = {"RS", "RA", "PBU", "PBA", "BU", "BA", "DB_QUERY", "DB_REPLY", "DB_UPDATE"}


def _kinds_between(data, index):
    """The signalling message kinds the engine sends between step ``index``'s opening and its end."""
    m = lessonfile.play(data)[index]
    sim = Simulation.replay(
        data["scenario"], lessonfile.seed_of(data["scenario"]), m.opening.journal, m.opening.steps, now=m.opening.t
    )
    return [e["kind"] for e in sim.run(m.t) if e["kind"] in MESSAGES]


def test_figure5_handover_step_opens_before_the_handover_and_ends_after_it():
    data = builtin_lesson("fig5-handover")
    handover = lessonfile.play(data)[2]
    assert handover.opening.t < 5.0 < handover.t  # opens before the move scripted at t = 5
    assert handover.opening.state["mns"]["MN1"]["interfaces"]["if1"] == "MAR1"  # not moved yet
    assert handover.state["mns"]["MN1"]["interfaces"]["if1"] == "MAR2"
    kinds = _kinds_between(data, 2)
    assert kinds.index("PBU") < kinds.index("PBA") and "RS" in kinds and "RA" in kinds
    assert {"PBU", "PBA", "MAR2"} <= set(data["steps"][2]["highlight"])


@pytest.mark.parametrize("path", sorted(BUILTIN_LESSONS.glob("*.json")), ids=lambda p: p.stem)
def test_every_builtin_step_has_a_moment_and_highlights_what_exists(path: Path):
    """Every built-in step says where it opens and what it is about; a step that has signalling in it opens before
    that signalling (so Play shows it), and every highlighted name is a node or a message kind of the scenario."""
    data = json.loads(path.read_text(encoding="utf-8"))
    assert lessonfile.validate(data) == []
    scenario = data["scenario"]
    nodes = {n["id"] for group in ("mars", "cns") for n in scenario["network"].get(group, [])}
    nodes |= {mn["id"] for mn in scenario.get("mobile_nodes", [])} | {"DB", "LMA"}
    moments = lessonfile.play(data)
    for k, step in enumerate(data["steps"]):
        assert "start" in step and step["highlight"], (path.stem, k)
        assert set(step["highlight"]) <= nodes | MESSAGES, (path.stem, k, step["highlight"])
        assert moments[k].opening.t <= moments[k].t
        named_messages = set(step["highlight"]) & MESSAGES
        if named_messages:
            assert named_messages & set(_kinds_between(data, k)), (
                path.stem,
                k,
                "the highlighted messages happen in the step",
            )


def test_old_lesson_file_without_start_still_loads_and_opens_where_the_previous_step_paused():
    data = builtin_lesson("fig5-handover")
    for step in data["steps"]:
        step.pop("start"), step.pop("highlight")
    assert lessonfile.validate(data) == []
    moments = lessonfile.play(data)
    assert moments[0].opening.t == 0 and moments[0].opening.steps == 0
    for previous, moment in itertools.pairwise(moments):
        assert moment.opening.t == previous.t and moment.opening.steps == previous.steps
    normal = lessonfile.normalise(data)
    assert normal["steps"][0]["start"] is None and normal["steps"][0]["highlight"] == []
    assert lessonfile.validate(normal) == []


@pytest.mark.parametrize(
    "change, path, words",
    [
        ({"start": 9.0}, "steps[2].start", "after this step's end"),
        ({"start": 1.0}, "steps[2].start", "before the previous step's pause"),
        ({"start": "soon"}, "steps[2].start", "a number"),
        ({"highlight": "PBU"}, "steps[2].highlight", "a list"),
        ({"highlight": ["PBU", ""]}, "steps[2].highlight[1]", "non-empty"),
    ],
)
def test_bad_start_or_highlight_is_refused_at_its_path(change, path, words):
    data = builtin_lesson("fig5-handover")
    data["steps"][2].update(change)
    problems = lessonfile.validate(data)
    assert any(p.path == path and words in p.message for p in problems), problems


def test_every_problem_is_reported_in_one_round():
    """Shape problems and the engine's problems together (issue 12 item 10: no 'fix two, two new ones appear')."""
    data = builtin_lesson("fig5-handover")
    data["steps"][0]["untill"] = 3
    data["steps"][1]["checkpoint"]["flow"] = "flow9"
    data["steps"][2]["actions"] = [{"action": "move", "mn": "MN1", "mar": "MAR9"}]
    data["steps"][3]["until"] = "x"
    paths = [p.path for p in lessonfile.validate(data)]
    assert sorted(paths) == sorted(
        ["steps[0].untill", "steps[3].until", "steps[1].checkpoint.flow", "steps[2].actions[0].mar"]
    )


@pytest.mark.django_db
def test_a_students_session_opens_each_step_at_its_start_paused(instructor, lesson_of):
    lesson = lesson_of(instructor)
    client = client_for(None)
    response = client.post(f"/lessons/{lesson.slug}/start/")
    attempt = Attempt.objects.get(id=response["Location"].rstrip("/").split("/")[-1])
    for k, value in enumerate(["1", "no"]):
        client.post(f"/lessons/attempt/{attempt.id}/answer/", {"answer": value})
        client.post(f"/lessons/attempt/{attempt.id}/go/", {"step": str(k + 1)})
    attempt.refresh_from_db()
    session = attempt.sim_session
    moment = player.moments(attempt.lesson_data)[2]
    assert attempt.step == 2 and session.now == moment.opening.t < 5.0  # not at 5.5 with the PBU already in the log
    html = client.get(f"/lessons/attempt/{attempt.id}/").content.decode()
    assert f'data-until="{moment.t}"' in html and 'data-highlight="MAR2 DB_QUERY PBU PBA RA"' in html
    assert "Press <strong>Play</strong> to watch" in html


@pytest.mark.django_db
def test_a_step_where_nothing_happens_says_so(instructor, lesson_of):
    """Figure 4's "MAR3's view" opens and pauses at 10.5 s: the page does not ask the student to press Play."""
    lesson = lesson_of(instructor, name="fig4-three-mars")
    client = client_for(None)
    response = client.post(f"/lessons/{lesson.slug}/start/")
    attempt = Attempt.objects.get(id=response["Location"].rstrip("/").split("/")[-1])
    for k in range(4):  # each step's answer revealed: the answers do not matter here
        moment = player.moments(attempt.lesson_data)[k]
        assert moment.question is not None
        client.post(f"/lessons/attempt/{attempt.id}/answer/", {"reveal": "1"})
        client.post(f"/lessons/attempt/{attempt.id}/go/", {"step": str(k + 1)})
    html = client.get(f"/lessons/attempt/{attempt.id}/").content.decode()
    assert "Step 5 of 6" in html and "nothing\n    more happens in this step" in html
    assert "Press <strong>Play</strong>" not in html
