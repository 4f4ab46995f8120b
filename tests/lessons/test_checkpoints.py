"""Checkpoint kinds: answers read from the engine, grading, and responses that are not answers."""

from __future__ import annotations

import pytest

from dmmviz.lessons import checkpoints
from dmmviz.lessons.checkpoints import CheckpointError, ResponseError, ask, grade
from simulator import Simulation, load_scenario

from .conftest import builtin_lesson


def state_at(name: str, t: float) -> dict:
    sim = Simulation(load_scenario(builtin_lesson(name)["scenario"]))
    sim.run(t)
    return sim.snapshot()


def test_flow_anchor_grades_the_anchor_right_and_others_wrong():
    q = ask({"kind": "flow_anchor", "mn": "MN1", "flow": "flow1"}, state_at("fig5-handover", 6.0))
    assert q.input == "choice" and ("MAR2", "MAR2") in q.choices
    assert grade(q, ["MAR1"]) is True
    assert grade(q, "MAR2") is False
    assert "MAR2" in q.explanation and "tunnel" in q.explanation


def test_deprecated_prefix_after_handover_and_none_before():
    after = ask({"kind": "deprecated_prefix", "mn": "MN1"}, state_at("fig5-handover", 5.5))
    assert after.answer == ("2001:db8:1:1::/64",)
    assert grade(after, ["2001:db8:1:1::/64"]) and not grade(after, ["2001:db8:2:1::/64"])
    assert not grade(after, ["2001:db8:1:1::/64", "2001:db8:2:1::/64"])  # one too many is wrong
    before = ask({"kind": "deprecated_prefix", "mn": "MN1"}, state_at("fig5-handover", 2.0))
    assert before.answer == (checkpoints.NONE,)


def test_tunnel_count_and_peers_in_figure_4():
    state = state_at("fig4-three-mars", 10.5)
    count = ask({"kind": "tunnel_count"}, state)
    assert count.answer == 2 and grade(count, "2") and not grade(count, "3")
    peers = ask({"kind": "tunnel_peers", "node": "MAR3"}, state)
    assert peers.answer == ("MAR1", "MAR2")
    assert grade(peers, ["MAR2", "MAR1"])


def test_per_flow_tunnel_in_figure_6():
    state = state_at("fig6-multi-interface", 6.0)
    assert ask({"kind": "flow_tunnelled", "mn": "MN1", "flow": "flow2"}, state).answer == ("yes",)
    assert ask({"kind": "flow_tunnelled", "mn": "MN1", "flow": "flow1"}, state).answer == ("no",)
    assert ask({"kind": "binding_count", "node": "MAR1"}, state).answer == 1


def test_centralised_anchor_is_the_lma():
    q = ask({"kind": "flow_anchor", "mn": "MN2", "flow": "flow9"}, state_at("centralised-vs-distributed", 2.0))
    assert q.answer == ("LMA",)


@pytest.mark.parametrize(
    "checkpoint, field",
    [
        ({"kind": "flow_anchor", "mn": "MN7", "flow": "flow1"}, "mn"),
        ({"kind": "flow_anchor", "mn": "MN1", "flow": "flow2"}, "flow"),  # flow2 starts at t=7
        ({"kind": "tunnel_peers", "node": "MAR9"}, "node"),
        ({"kind": "serving_mar", "mn": "MN1", "interface": "if9"}, "interface"),
        ({"kind": "nonsense"}, "kind"),
    ],
)
def test_checkpoint_that_cannot_be_asked_names_its_key(checkpoint, field):
    with pytest.raises(CheckpointError) as exc:
        ask(checkpoint, state_at("fig5-handover", 2.0))
    assert exc.value.field == field


@pytest.mark.parametrize(
    "checkpoint, response, words",
    [
        ({"kind": "tunnel_count"}, "two", "whole number"),
        ({"kind": "tunnel_count"}, "-1", "0 or more"),
        ({"kind": "flow_anchor", "mn": "MN1", "flow": "flow1"}, [], "choose"),
        ({"kind": "flow_anchor", "mn": "MN1", "flow": "flow1"}, ["MAR9"], "not one of the choices"),
        ({"kind": "flow_anchor", "mn": "MN1", "flow": "flow1"}, ["MAR1", "MAR2"], "exactly one"),
        ({"kind": "deprecated_prefix", "mn": "MN1"}, ["none", "2001:db8:1:1::/64"], "together"),
    ],
)
def test_response_that_is_not_an_answer_is_refused(checkpoint, response, words):
    q = ask(checkpoint, state_at("fig5-handover", 6.0))
    with pytest.raises(ResponseError) as exc:
        grade(q, response)
    assert words in str(exc.value)


def test_custom_question_text_keeps_the_engine_answer():
    q = ask({"kind": "tunnel_count", "question": "Count the tunnels!"}, state_at("fig5-handover", 6.0))
    assert q.prompt == "Count the tunnels!" and q.answer == 1
