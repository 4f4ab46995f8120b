"""Limits at the edge (simulator/limits.py): a scenario or command that would make a run unbounded is refused with
an error naming the field; nothing runs."""

from __future__ import annotations

import json

import pytest

from simulator import ScenarioError, Simulation, load_scenario
from simulator.commands import shape_problems
from simulator.limits import MAX_TIME, TIMER_RANGES
from simulator.scenario import parse_json

from .helpers import public, scenario


def refused(data: dict) -> dict[str, str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(data)
    return {p.path: p.message for p in info.value.problems}


@pytest.mark.parametrize(
    "timers, path",
    [
        ({"flow_interval": 0}, "timers.flow_interval"),
        ({"flow_interval": 0.000001}, "timers.flow_interval"),
        ({"access_delay_ms": 1e308}, "timers.access_delay_ms"),
        ({"core_delay_ms": -1}, "timers.core_delay_ms"),
        ({"data_size": 1e9}, "timers.data_size"),
        ({"binding_lifetime": 1e12}, "timers.binding_lifetime"),
    ],
)
def test_timers_outside_their_range_are_refused(timers, path):
    """A timer under its floor or over its ceiling is refused, naming the timer."""
    found = refused(public("fig5-handover") | {"timers": timers})
    assert path in found and "out of range" in found[path]


def test_times_past_the_longest_run_are_refused():
    """A script action after MAX_TIME is refused (script[i].at)."""
    data = public("fig5-handover")
    data["script"].append({"at": MAX_TIME * 2, "action": "detach", "mn": "MN1"})
    found = refused(data)
    assert any(path.endswith(".at") for path in found)


@pytest.mark.parametrize("seed", [2**70, -1])
def test_seed_out_of_range_is_refused(seed):
    """A seed outside 0..2**63-1 is refused, in the scenario and by the engine."""
    assert "seed" in refused(public("fig5-handover") | {"seed": seed})
    with pytest.raises(ScenarioError, match="seed"):
        Simulation(load_scenario(public("fig5-handover")), seed=seed)


def test_non_finite_numbers_are_refused():
    """NaN and infinity (which Python's json accepts) are refused by path."""
    data = public("fig5-handover")
    data["script"][0]["at"] = float("nan")
    assert "script[0].at" in refused(data)
    data = scenario()
    data["network"]["links"] = [{"between": ["MAR1", "MAR2"], "delay_ms": float("inf")}]
    assert "network.links[0].delay_ms" in refused(data)


def test_counts_and_id_lengths_are_bounded():
    """Too many mobile nodes or interfaces, or a long id, are refused naming the list or the id."""
    data = scenario(mns=[{"id": f"MN{i}"} for i in range(5_001)])
    assert "mobile_nodes" in refused(data)
    data = scenario(mns=[{"id": "MN1", "interfaces": [f"if{i}" for i in range(9)]}])
    assert "mobile_nodes[0].interfaces" in refused(data)
    data = scenario(mns=[{"id": "M" * 33}])
    assert "mobile_nodes[0].id" in refused(data)
    assert dict(shape_problems({"action": "stop_flow", "mn": "MN1", "flow": "f" * 33}))["flow"].endswith(
        "at most 32 characters"
    )


@pytest.mark.parametrize("text, says", [
    ('{"seed": ' + "9" * 5000 + "}", "an integer has 5000 digits; at most 20"),
    ('{"extra": 123456789012345678901234}', "an integer has 24 digits; at most 20"),
    ("[" * 200_000 + "]" * 200_000, "nested more than 32 levels"),
    ('{"extra": ' + "[" * 40 + "]" * 40 + "}", "nested more than 32 levels"),
    (b"\xef\xbb\xbf{\"a\": 1", "not valid JSON"),  # a byte order mark is fine, the JSON after it is not
    (b'{"title": "caf\xe9"}', "not UTF-8 text"),
])
def test_hostile_json_text_is_a_clear_error_and_the_same_as_on_the_web(text, says):
    """A scenario file is parsed as the web parses every input (simulator/jsonin.py): huge integers and deep nesting
    give a ScenarioError naming them, not a traceback, and the command line no longer accepts what the web refuses."""
    from dmmviz.web import limits

    with pytest.raises(ScenarioError) as info:
        parse_json(text)
    assert says in str(info.value)
    with pytest.raises(limits.JSONInputError) as web:
        limits.loads(text)
    assert web.value.message == info.value.problems[0].message


def test_every_timer_has_a_documented_range():
    """Every timer has a range in limits.py and the schema carries it (docs/scenario.schema.json is regenerated)."""
    from simulator.constants import TIMER_NAMES
    from simulator.scenario import SCHEMA

    from .helpers import ROOT

    assert set(TIMER_RANGES) == set(TIMER_NAMES)
    assert json.loads((ROOT / "docs" / "scenario.schema.json").read_text()) == json.loads(json.dumps(SCHEMA))


def test_flow_ids_per_mobile_node_are_bounded():
    """A mobile node may use at most MAX_FLOWS_PER_MN flow ids: the engine and the script validator refuse more,
    naming the flow; reusing an old id stays possible."""
    from simulator import CommandError
    from simulator.limits import MAX_FLOWS_PER_MN

    sim = Simulation(load_scenario(public("fig5-handover")))
    sim.run(3)
    for i in range(MAX_FLOWS_PER_MN - len(sim.mns["MN1"].flows)):
        sim.apply({"action": "start_flow", "mn": "MN1", "flow": f"x{i}", "cn": "CN1"})
        sim.apply({"action": "stop_flow", "mn": "MN1", "flow": f"x{i}"})
    with pytest.raises(CommandError) as info:
        sim.apply({"action": "start_flow", "mn": "MN1", "flow": "one-more", "cn": "CN1"})
    assert info.value.field == "flow" and str(MAX_FLOWS_PER_MN) in info.value.message
    sim.apply({"action": "start_flow", "mn": "MN1", "flow": "x0", "cn": "CN1"})
    data = scenario(
        script=[{"at": 0, "action": "attach", "mn": "MN1", "mar": "MAR1"}]
        + [
            {"at": 1, "action": "start_flow", "mn": "MN1", "flow": f"f{i}", "cn": "CN1"}
            for i in range(MAX_FLOWS_PER_MN + 1)
        ]
    )
    assert f"script[{MAX_FLOWS_PER_MN + 1}].flow" in refused(data)


def test_a_very_broken_scenario_reports_a_bounded_list():
    """Thousands of bad script steps give at most MAX_PROBLEMS problems plus a count of the rest."""
    from simulator.scenario import MAX_PROBLEMS, validate

    data = scenario(script=[{"at": 1, "action": "detach", "mn": "MN1"} for _ in range(2_000)])
    problems = validate(data)
    assert len(problems) == MAX_PROBLEMS + 1 and problems[-1].message == f"... and {2_000 - MAX_PROBLEMS} more problems"
    assert problems[0].path == "script[0].interface"


def test_an_id_with_a_final_newline_is_refused_in_a_scenario():
    """Python's "$" also matches before a final newline: "MN1\\n" passed the schema's id pattern (drawn as MN1)."""
    from .helpers import ROOT

    raw = json.loads((ROOT / "dmmviz" / "builtin_scenarios" / "fig5-handover.json").read_text())
    raw["mobile_nodes"][0]["id"] = "MN1\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario(raw)
    assert "mobile_nodes[0].id" in str(info.value)


def test_text_with_a_lone_surrogate_is_refused_where_it_is():
    """JSON can escape half a character ("\\ud800"); such text passed validation, then every diagram export failed
    with a traceback and the web's save with a 500."""
    from .helpers import ROOT

    raw = json.loads((ROOT / "dmmviz" / "builtin_scenarios" / "fig5-handover.json").read_text())
    raw["title"] = "\ud800"
    with pytest.raises(ScenarioError) as info:
        load_scenario(raw)
    assert str(info.value).startswith("title: has a lone surrogate")


@pytest.mark.parametrize("change, path, says", [
    (lambda raw: raw["mobile_nodes"][0].update(id="LMA"), "mobile_nodes[0].id",
     "duplicate id 'LMA' (already used at the LMA that centralized-pmipv6 adds"),
    (lambda raw: raw["network"]["mars"][1].update(prefix_pool="2001:db8:100::/48"), "network.mars[1].prefix_pool",
     "overlaps the prefix pool of the LMA that centralized-pmipv6 adds"),
])
def test_a_file_without_an_lma_leaves_room_for_the_one_centralized_mode_adds(change, path, says):
    """One file runs under every mode. A node named LMA became one node with the LMA centralized-pmipv6 adds (a tunnel
    to itself, every packet lost, a traceback in the ASCII export); a pool overlapping the LMA's shared its prefixes."""
    from .helpers import ROOT

    raw = json.loads((ROOT / "dmmviz" / "builtin_scenarios" / "fig5-handover.json").read_text())
    raw["script"] = []
    change(raw)
    with pytest.raises(ScenarioError) as info:
        load_scenario(raw)
    assert any(p.path == path and says in p.message for p in info.value.problems), info.value.problems
    raw["network"]["lma"] = {"id": "LMA0", "prefix_pool": "2001:db8:200::/48"}  # naming the LMA makes room
    load_scenario(raw)


def test_validation_knows_a_move_takes_the_handover_delay():
    """A move detaches at once and attaches l2_handover_delay later (50 ms): a second move at the same instant was
    accepted by validation and refused by the engine ('not attached'); 50 ms later it is fine."""
    from .helpers import ROOT

    raw = json.loads((ROOT / "dmmviz" / "builtin_scenarios" / "fig5-handover.json").read_text())
    move = next(step for step in raw["script"] if step["action"] == "move")
    back = {"at": move["at"], "action": "move", "mn": move["mn"], "mar": "MAR1"}
    raw["script"].append(back)
    with pytest.raises(ScenarioError) as info:
        load_scenario(raw)
    assert any("not attached" in p.message for p in info.value.problems), info.value.problems
    back["at"] = move["at"] + 0.051
    load_scenario(raw)
    sim = Simulation(load_scenario(raw))
    sim.run(back["at"] + 1)
    assert not [e for e in sim.events if e["kind"] == "action_rejected"]


def test_a_back_off_that_starts_above_its_ceiling_is_refused():
    """Each timer in its range, together nonsense: the first PBU retry after 100 s, 'doubling' up to 0.01 s."""
    from .helpers import ROOT

    raw = json.loads((ROOT / "dmmviz" / "builtin_scenarios" / "fig5-handover.json").read_text())
    raw["timers"] = {"initial_bindack_timeout": 100, "max_bindack_timeout": 200}
    load_scenario(raw)
    raw["timers"]["max_bindack_timeout"] = 50
    with pytest.raises(ScenarioError) as info:
        load_scenario(raw)
    assert [(p.path, p.message) for p in info.value.problems] == [(
        "timers.initial_bindack_timeout",
        "initial_bindack_timeout (100 s) is above max_bindack_timeout (50 s), the ceiling its back-off doubles up to")]


@pytest.mark.parametrize("change, path, says", [
    (lambda net: net["mars"][0].update(prefix_pool="fe80::/48"), "network.mars[0].prefix_pool", "is link-local"),
    (lambda net: net["mars"][0].update(prefix_pool="ff00::/48"), "network.mars[0].prefix_pool", "is multicast"),
    (lambda net: net["cns"][0].update(address="::"), "network.cns[0].address", "is the unspecified address"),
    (lambda net: net["cns"][0].update(address="fe80::1%eth0"), "network.cns[0].address", "is scoped to one link"),
    (lambda net: net["cns"][1].update(address=net["cns"][0]["address"]), "network.cns[1].address",
     "is already CN1's address"),
    (lambda net: net["cns"][0].update(address="2001:db8:1::5"), "network.cns[0].address",
     "is inside network.mars[0].prefix_pool"),
])
def test_addresses_no_host_could_use_are_refused(change, path, says):
    """A multicast or link-local pool, a CN at ::, a scoped, shared or pool address: each passed validation and made
    a network no packet capture could make sense of."""
    from .helpers import ROOT

    raw = json.loads((ROOT / "dmmviz" / "builtin_scenarios" / "fig5-handover.json").read_text())
    change(raw["network"])
    with pytest.raises(ScenarioError) as info:
        load_scenario(raw)
    assert any(p.path == path and says in p.message for p in info.value.problems), info.value.problems
