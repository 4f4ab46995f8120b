"""Issue 12 item 10: validate() reports every stage's problems in one round (schema, cross-references, the script's
feasibility), so a student who fixes what is listed does not meet new problems on the next upload."""

import json
from pathlib import Path

import pytest

from simulator.scenario import MAX_PROBLEMS, validate

from .helpers import SCENARIOS


def fig5():
    return json.loads((SCENARIOS / "fig5-handover.json").read_text())


def listed(doc):
    return {p.path: p.message for p in validate(doc)}


def test_schema_reference_and_script_problems_in_one_round():
    """A wrong-typed delay, a link to an unknown node and a script step to an unknown MAR: all three at once,
    each with its usual message and JSON path, in stage order."""
    doc = fig5()
    doc["network"]["links"][0]["delay_ms"] = "two"
    doc["network"]["links"].append({"between": ["MAR1", "MAR7"], "delay_ms": 3})
    doc["script"][2]["mar"] = "MAR9"
    problems = validate(doc)
    assert [str(p) for p in problems] == [
        "network.links[0].delay_ms: must be a number, not a string",
        "network.links[1].between[1]: unknown node 'MAR7'",
        "script[2].mar: unknown MAR 'MAR9'",
    ]


def test_fixing_what_is_listed_leaves_nothing_new():
    """Fix exactly the listed problems and the document is valid: no second round."""
    doc = fig5()
    doc["network"]["mars"][1]["prefix_pool"] = 7
    doc["network"]["cns"][0]["address"] = "not an address"
    doc["script"][3]["cn"] = "CN9"
    assert set(listed(doc)) == {"network.mars[1].prefix_pool", "network.cns[0].address", "script[3].cn"}
    doc["network"]["mars"][1]["prefix_pool"] = "2001:db8:2::/48"
    doc["network"]["cns"][0]["address"] = "2001:db8:ca5e::1"
    doc["script"][3]["cn"] = "CN2"
    assert validate(doc) == []


def test_a_mis_shaped_step_is_skipped_not_guessed_about():
    """A step whose own keys are wrong is reported by the schema only; later steps of the same mobile node are not
    judged against a state that step would have changed (no "not attached" after a broken attach), while other
    steps are still checked."""
    doc = fig5()
    doc["mobile_nodes"].append({"id": "MN2", "interfaces": ["if1"]})
    doc["script"][0]["mar"] = 5  # MN1's attach: wrong type
    doc["script"].append({"at": 2.0, "action": "attach", "mn": "MN2", "mar": "MAR8"})
    problems = listed(doc)
    assert problems == {"script[0].mar": "must be a string, not a number", "script[4].mar": "unknown MAR 'MAR8'"}


def test_an_unreadable_node_id_silences_unknown_node_reports():
    """When a MAR's id cannot be read, "unknown node" would be a guess: only the schema problem is listed."""
    doc = fig5()
    doc["network"]["mars"][1]["id"] = ["MAR2"]
    assert list(listed(doc)) == ["network.mars[1].id"]


def test_non_finite_and_references_together():
    """A NaN or an infinity (said once, by the non-finite check) holds back neither the schema's problems nor the
    script's."""
    doc = fig5()
    doc["network"]["links"][0]["delay_ms"] = float("nan")
    doc["script"][1]["cn"] = "CN5"
    doc["network"]["links"].append({"between": ["MAR1", "MAR2"], "delay_ms": float("inf")})
    doc["title"] = 5
    assert listed(doc) == {
        "network.links[0].delay_ms": "nan is not a finite number",
        "network.links[1].delay_ms": "inf is not a finite number",
        "title": "must be a string, not a number",
        "script[1].cn": "unknown CN 'CN5'",
    }


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.json")), ids=lambda p: p.stem)
def test_valid_documents_stay_valid(path: Path):
    """Every built-in scenario (each valid before) is still valid."""
    assert validate(json.loads(path.read_text())) == []


def test_the_cap_holds_across_stages():
    """Schema problems and script problems together still stop at MAX_PROBLEMS plus a count of the rest."""
    doc = fig5()
    doc["network"]["links"] = [{"between": ["MAR1", "MAR2"], "delay_ms": "x"} for _ in range(60)]
    doc["script"] = [{"at": 1.0, "action": "attach", "mn": "MN1", "mar": f"M{i}"} for i in range(60)]
    problems = validate(doc)
    assert len(problems) == MAX_PROBLEMS + 1 and problems[-1].message == "... and 20 more problems"
    assert problems[0].path == "network.links[0].delay_ms" and problems[-2].path.startswith("script[")


@pytest.mark.parametrize(
    "doc",
    [
        {"format": "dmmviz-scenario/1"},
        {"format": "dmmviz-scenario/1", "network": [], "mobile_nodes": {}},
        {"format": "dmmviz-scenario/1", "network": {"mars": "x", "links": [1, {"between": 3}]}, "mobile_nodes": [1]},
        {
            "format": "dmmviz-scenario/1",
            "network": {"mars": [{"id": "A"}], "lma": {}},
            "mobile_nodes": [{"id": 1}],
            "script": [None, {"at": "x", "action": "attach", "mn": "M"}, {"at": 1, "action": "fly"}],
            "layout": [],
        },
        "mn-list",
    ],
)
def test_broken_shapes_give_problems_not_tracebacks(doc):
    """The later stages read only what the schema accepted: wrong shapes anywhere give problems, not a crash."""
    if doc == "mn-list":  # found by tests/server/test_fuzz.py: an unhashable value where a node id goes
        doc = fig5()
        doc["script"][0]["mn"] = []
        doc["network"]["links"][0]["between"] = [["MAR1"], "MAR2"]
    problems = validate(doc)
    assert problems and all(p.message for p in problems)


def test_a_misshapen_step_is_named_without_knock_on_problems_for_its_node():
    """An unknown key in the attach of MN1: that is the one problem. The steps after it about MN1 were reported as
    'not attached' too, though fixing the key fixes them (docs/engine.md: later steps of a skipped step's node are
    skipped)."""
    raw = json.loads((SCENARIOS / "fig5-handover.json").read_text())
    raw["script"][0]["extra"] = 1
    assert [(p.path, p.message) for p in validate(raw)] == [
        ("script[0].extra", "unknown key 'extra' (attach takes interface, mar, mn)")]
