"""The lesson file format: validation with JSON paths, playing through the engine, normalising."""

from __future__ import annotations

import copy

import pytest

from dmmviz.lessons import lessonfile
from simulator import Simulation, load_scenario

from .conftest import BUILTIN_LESSONS, builtin_lesson

BUILTINS = sorted(p.stem for p in BUILTIN_LESSONS.glob("*.json"))


def paths(problems):
    return {p.path: p.message for p in problems}


def test_library_covers_the_topics_of_the_issue():
    """Figures 2, 4, 5, 6, REQ2, return to the anchor, release, centralised vs distributed: each has a lesson."""
    assert set(BUILTINS) >= {
        "fig2-client-dmm",
        "fig4-three-mars",
        "fig5-handover",
        "fig6-multi-interface",
        "req2-idle-prefix",
        "return-to-anchor",
        "release-on-flow-end",
        "centralised-vs-distributed",
    }


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_lesson_is_valid_with_narrative_and_checkpoints(name):
    """Every built-in lesson plays, every step has narrative, and it asks at least three checkpoints."""
    data = builtin_lesson(name)
    assert lessonfile.validate(data) == []
    moments = lessonfile.play(data)
    assert all(step["text"].strip() for step in data["steps"])
    assert sum(1 for m in moments if m.question) >= 3


def test_checkpoint_answer_is_the_engine_state_at_the_pause():
    """Figure 5 step 4 asks who anchors flow1 after the handover; the answer is the flow's anchor in snapshot()."""
    data = builtin_lesson("fig5-handover")
    moment = lessonfile.play(data)[3]
    sim = Simulation(load_scenario(data["scenario"]))
    sim.run(data["steps"][3]["until"])
    flow = next(f for f in sim.snapshot()["mns"]["MN1"]["flows"] if f["id"] == "flow1")
    assert moment.question.answer == (flow["anchor"],) == ("MAR1",)
    assert sim.snapshot()["mns"]["MN1"]["interfaces"]["if1"] == "MAR2"  # it is a real handover, not a trivial case


def test_step_actions_run_when_the_step_is_reached():
    """Return to the anchor: step 2's move action puts MN1 back on MAR1 at the time step 1 paused."""
    data = builtin_lesson("return-to-anchor")
    moments = lessonfile.play(data)
    assert moments[0].state["mns"]["MN1"]["interfaces"]["if1"] == "MAR2"
    assert moments[1].state["mns"]["MN1"]["interfaces"]["if1"] == "MAR1"
    ((_steps_before, now_us, command),) = moments[1].journal
    assert now_us == 6_000_000 and command["mar"] == "MAR1"


def test_not_json_names_line_and_column():
    with pytest.raises(lessonfile.LessonError) as exc:
        lessonfile.parse_text('{"format": "dmmviz-lesson/1",\n "title": }')
    assert "line 2" in str(exc.value) and "column" in str(exc.value)


@pytest.mark.parametrize(
    "data, path, words",
    [
        ([1, 2], "", "JSON object"),
        ({"format": "dmmviz-scenario/1"}, "format", "scenario file"),
        ({"format": "dmmviz-lesson/2"}, "format", "not supported"),
        ({"title": "x"}, "format", "missing"),
        ({"format": "dmmviz-lesson/1", "title": "", "scenario": {}}, "title", "title"),
    ],
)
def test_malformed_lesson_gets_a_specific_problem(data, path, words):
    found = paths(lessonfile.validate(data))
    assert path in found and words in found[path]


def test_problems_point_into_steps_and_scenario():
    data = copy.deepcopy(builtin_lesson("fig5-handover"))
    data["scenario"]["network"]["mars"][1]["prefix_pool"] = "not-a-prefix"
    found = paths(lessonfile.validate(data))
    assert "scenario.network.mars[1].prefix_pool" in found

    data = copy.deepcopy(builtin_lesson("fig5-handover"))
    data["steps"][2]["until"] = 1.0
    data["steps"][1]["untill"] = 3
    data["steps"][3]["checkpoint"]["answer"] = "MAR2"
    found = paths(lessonfile.validate(data))
    assert "earlier" in found["steps[2].until"] or "before" in found["steps[2].until"]
    assert "steps[1].untill" in found
    assert "takes no key 'answer'" in found["steps[3].checkpoint.answer"]


def test_engine_refusals_are_reported_at_the_step():
    """An action the engine refuses, and a checkpoint about a flow that is not active, name their keys."""
    data = copy.deepcopy(builtin_lesson("fig5-handover"))
    data["steps"][1]["actions"] = [{"action": "move", "mn": "MN1", "mar": "MAR9"}]
    data["steps"][0]["checkpoint"] = {"kind": "flow_anchor", "mn": "MN1", "flow": "flow7"}
    found = paths(lessonfile.validate(data))
    assert "MAR9" in found["steps[1].actions[0].mar"]
    assert "no active flow 'flow7'" in found["steps[0].checkpoint.flow"]


@pytest.mark.parametrize("kind", ["guess", ["x"], {}, None, 3])
def test_unknown_checkpoint_kind_lists_the_kinds(kind):
    """A kind that is no kind (a list or an object was a 500: unhashable) is named with the kinds there are."""
    data = copy.deepcopy(builtin_lesson("fig5-handover"))
    data["steps"][0]["checkpoint"] = {"kind": kind}
    found = paths(lessonfile.validate(data))
    assert "flow_anchor" in found["steps[0].checkpoint.kind"]


def test_normalise_fills_defaults_and_round_trips():
    data = builtin_lesson("fig4-three-mars")
    sparse = copy.deepcopy(data)
    for step in sparse["steps"]:
        step.pop("actions")
        step.pop("title")
    normal = lessonfile.normalise(sparse)
    assert normal["steps"][0]["title"] == "Step 1" and normal["steps"][0]["actions"] == []
    assert lessonfile.normalise(lessonfile.normalise(data)) == lessonfile.normalise(data)


def test_scenario_file_becomes_a_one_step_lesson():
    scenario = builtin_lesson("fig5-handover")["scenario"]
    data = lessonfile.from_scenario(scenario)
    assert lessonfile.validate(data) == []
    assert data["steps"][0]["until"] > max(s["at"] for s in scenario["script"])


def test_a_scenario_whose_script_ends_late_still_becomes_a_lesson():
    """A script step at 86,399 s made a step until 86,401 s, refused past the longest run (a path not in the file)."""
    scenario = copy.deepcopy(builtin_lesson("fig5-handover")["scenario"])
    scenario["script"].append({"at": 86_399, "action": "detach", "mn": "MN1", "interface": "if1"})
    data = lessonfile.from_scenario(scenario)
    assert data["steps"][0]["until"] == lessonfile.MAX_TIME  # (playing it to check it takes a day of simulated time)
