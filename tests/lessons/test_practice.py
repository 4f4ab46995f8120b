"""Practice mode: questions about the next step, checked against what the engine then really does."""

from __future__ import annotations

import json

import pytest

from dmmviz.lessons import practice
from dmmviz.lessons.checkpoints import NONE, grade
from dmmviz.lessons.models import PracticeQuestion, PracticeRun
from simulator import Simulation, load_scenario

from .conftest import ROOT, builtin_lesson, client_for

SCENARIOS = sorted((ROOT / "dmmviz" / "builtin_scenarios").glob("*.json"))
INTERESTING = {"flow_started", "binding_created", "binding_updated", "prefixes_changed"}


def first_interesting_step(sim: Simulation) -> list[dict]:
    """Step the real simulation until a step does something a question could be about; return that step's events."""
    while sim.peek() is not None:
        events = sim.step()
        if any(e["kind"] in INTERESTING or ("src" in e and e["kind"] in practice.PARTNER) for e in events):
            return events
    return []


def truth_in(events: list[dict], question) -> bool:
    """Does this step of the real simulation contain what the question's answer says?"""
    answer = question.answer
    if question.kind == "next_message":
        first = next(e for e in events if "src" in e and e["kind"] in practice.PARTNER)
        return answer == (f"{first['src']}|{first['kind']}|{first['dst']}",)
    if question.kind == "new_flow_anchor":
        return any(e["kind"] == "flow_started" and (e["anchor"],) == answer for e in events)
    if question.kind == "binding_serving":
        return any(e["kind"] in ("binding_created", "binding_updated") and (e["serving"],) == answer for e in events)
    if question.kind == "deprecated_after_ra":
        for e in events:
            if e["kind"] == "prefixes_changed":
                deprecated = tuple(sorted(p["prefix"] for p in e["prefixes"] if p["deprecated"])) or (NONE,)
                return deprecated == answer
    return False


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_question_matches_the_engines_next_step(path):
    """Walk a whole scenario question by question; each answer is what the real simulation then does."""
    sim = Simulation(load_scenario(path))
    asked = set()
    for _ in range(60):
        found = practice.next_question(sim, salt=path.stem)
        if found is None:
            break
        q = found.question
        asked.add(q.kind)
        values = [v for v, _ in q.choices]
        assert len(values) == len(set(values)) >= 2, q
        assert set(q.answer) <= set(values), q
        assert grade(q, list(q.answer)) is True
        wrong = next(v for v in values if (v,) != q.answer and v != NONE) if q.input == "choice" else None
        if wrong:
            assert grade(q, [wrong]) is False
        # The question is about the step found.steps_after (a handover's PBU may be asked before the RS that
        # precedes it, issue 12 item 9): the real simulation, stepped there, does what the answer says.
        real = Simulation.replay(sim.scenario, sim.seed, sim.journal, sim.steps, now=sim.now)
        events = first_interesting_step(real)
        while real.steps < found.steps_after:
            events = real.step()
        assert real.steps == found.steps_after and truth_in(events, q), (q.prompt, q.answer)
        assert found.reveal_t >= sim.now
        sim.run(found.reveal_t)
    assert "next_message" in asked


def test_message_distractors_are_plausible_nodes_and_kinds():
    """Distractors name nodes of the topology and message kinds of the mode, never the true answer."""
    data = load_scenario(ROOT / "dmmviz" / "builtin_scenarios" / "fig5-handover.json")
    sim = Simulation(data)
    sim.run(5.06)  # MAR2 is about to ask the DB, then send the PBU
    nodes = {"MAR1", "MAR2", "DB", "MN1", "CN1", "CN2"}
    for _ in range(4):
        found = practice.next_question(sim, salt="t")
        if found is None:  # the handover's key messages are asked first, so fewer questions may be left
            break
        q = found.question
        if q.kind == "next_message":
            for value, label in q.choices:
                src, kind, dst = value.split("|")
                assert {src, dst} <= nodes and kind in practice.KINDS_BY_MODE["network-dmm"]
                assert label == f"{src} → {dst}: {kind}"
        sim.run(found.reveal_t)


def test_questions_leave_the_real_simulation_untouched():
    sim = Simulation(load_scenario(ROOT / "dmmviz" / "builtin_scenarios" / "fig4-three-mars.json"))
    sim.run(4.0)
    before = (sim.steps, sim.now, json.dumps(sim.snapshot(), sort_keys=True))
    practice.next_question(sim)
    assert (sim.steps, sim.now, json.dumps(sim.snapshot(), sort_keys=True)) == before


def test_nothing_left_to_predict_gives_no_question():
    sim = Simulation(load_scenario(builtin_lesson("fig5-handover")["scenario"]))
    sim.run(60.0)
    # Flows keep sending data forever, but no signalling is left: nothing to predict within the horizon.
    assert practice.next_question(sim) is None


@pytest.mark.django_db
def test_practice_page_asks_grades_and_keeps_the_answer_secret(db):
    from django.core.management import call_command

    call_command("load_builtin", verbosity=0)
    client = client_for(None)
    response = client.post("/practice/scenario/fig5-handover/")
    assert response.status_code == 302
    run = PracticeRun.objects.get()
    assert client.get(response["Location"]).status_code == 200
    asked = client.post(f"/practice/{run.id}/question/").json()
    assert "answer" not in json.dumps(asked["question"]) and "explanation" not in asked["question"]
    record = PracticeQuestion.objects.get(id=asked["id"])
    # Asking again before answering gives the same question, not a new draw.
    assert client.post(f"/practice/{run.id}/question/").json()["id"] == asked["id"]
    truth = record.question["answer"]
    reply = client.post(
        f"/practice/{run.id}/answer/", json.dumps({"id": asked["id"], "answer": truth}), content_type="application/json"
    ).json()
    assert reply["correct"] is True and reply["score"] == {"right": 1, "answered": 1}
    assert reply["reveal_t"] >= 0 and reply["explanation"]
    again = client.post(
        f"/practice/{run.id}/answer/", json.dumps({"id": asked["id"], "answer": truth}), content_type="application/json"
    )
    assert again.status_code == 400 and "already answered" in again.json()["error"]


@pytest.mark.django_db
def test_practice_refuses_a_non_answer_and_other_peoples_runs(db, make_user):
    from django.core.management import call_command

    call_command("load_builtin", verbosity=0)
    client = client_for(None)
    client.post("/practice/scenario/fig4-three-mars/")
    run = PracticeRun.objects.get()
    asked = client.post(f"/practice/{run.id}/question/").json()
    bad = client.post(
        f"/practice/{run.id}/answer/",
        json.dumps({"id": asked["id"], "answer": ["nobody"]}),
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["field"] == "answer"
    assert PracticeQuestion.objects.get(id=asked["id"]).correct is None
    other = client_for(make_user("eve"))
    assert other.get(f"/practice/{run.id}/").status_code == 404
    assert other.post(f"/practice/{run.id}/question/").status_code == 404


@pytest.mark.django_db
def test_a_prediction_after_the_simulation_moved_on_is_refused(db):
    """Ask, run the session forward (the answer happens on screen), then answer: that was graded right. A question is
    answered while the session stands where it was asked."""
    from django.core.management import call_command

    from dmmviz.web.models import SimSession

    call_command("load_builtin", verbosity=0)
    client = client_for(None)
    client.post("/practice/scenario/fig5-handover/")
    run = PracticeRun.objects.get()
    asked = client.post(f"/practice/{run.id}/question/").json()
    record = PracticeQuestion.objects.get(id=asked["id"])
    SimSession.objects.filter(pk=run.sim_session_id).update(steps=record.steps + 3)  # what the socket's run_until does
    body = json.dumps({"id": asked["id"], "answer": record.question["answer"]})
    late = client.post(f"/practice/{run.id}/answer/", body, content_type="application/json")
    assert late.status_code == 409 and "moved on" in late.json()["error"]
    assert PracticeQuestion.objects.get(id=asked["id"]).correct is None and run.score()["right"] == 0


@pytest.mark.django_db
def test_practise_from_a_lesson_step_copies_its_state(instructor, lesson_of):
    lesson = lesson_of(instructor, name="fig5-handover")
    client = client_for(None)
    start = client.post(f"/lessons/{lesson.slug}/start/")
    attempt_id = start["Location"].rstrip("/").split("/")[-1]
    client.post(f"/lessons/attempt/{attempt_id}/answer/", {"answer": "1"})
    client.post(f"/lessons/attempt/{attempt_id}/go/", {"step": "1"})
    client.post(f"/lessons/attempt/{attempt_id}/practice/")
    run = PracticeRun.objects.get()
    from dmmviz.lessons.models import Attempt

    attempt = Attempt.objects.get(id=attempt_id)
    assert run.sim_session_id != attempt.sim_session_id
    assert (run.sim_session.steps, run.sim_session.now) == (attempt.sim_session.steps, attempt.sim_session.now)


def test_figure5_practice_asks_about_the_handovers_pbu_before_filler():
    """Issue 12 item 9: from the start of Figure 5, the questions reach the handover's PBU, asked before the RS and
    DB look-up that precede it; and the RA that deprecates HNP1 is asked too."""
    sim = Simulation(load_scenario(ROOT / "dmmviz" / "builtin_scenarios" / "fig5-handover.json"))
    asked = []
    for _ in range(12):
        found = practice.next_question(sim, salt="fig5")
        if found is None:
            break
        event = found.event
        asked.append((found.question.kind, event.get("kind"), round(event["t"], 3)))
        sim.run(found.reveal_t)
    kinds = [kind for _, kind, _ in asked]
    assert "PBU" in kinds or any(q == "binding_serving" for q, _, _ in asked), asked
    handover = [a for a in asked if 5.0 <= a[2] < 5.5]
    assert handover and handover[0][1] in ("PBU", "binding_created", "binding_updated"), handover  # not the RS first
    assert not any(kind in ("RS", "DB_QUERY", "DB_REPLY") for _, kind, _ in handover[:2]), handover
    assert any(q == "deprecated_after_ra" or k == "RA" for q, k, t in handover), handover
