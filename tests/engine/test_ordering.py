"""Ordering at the anchor (RFC 5213 §5.5: Timestamp, status 156/157), REQ2 under a stale session DB, and the baseline's
old-MAG de-registration."""

from .helpers import messages, public, run, scenario, states

HNP1, HNP2, HNP3 = "2001:db8:1:1::/64", "2001:db8:2:1::/64", "2001:db8:3:1::/64"


def race(second_move_at: float) -> dict:
    """Issue 13's race: MN1 moves MAR1 -> MAR2 -> MAR3 within a quarter second over a slow core; MAR3 sits next to
    MAR1 and the DB, so MAR3's PBU reaches MAR1 before MAR2's older one."""
    return scenario(
        mars=3,
        timers={"core_delay_ms": 50},
        script=[
            {"at": 0, "action": "attach", "mn": "MN1", "mar": "MAR1"},
            {"at": 1, "action": "start_flow", "mn": "MN1", "flow": "f1", "cn": "CN1"},
            {"at": 5, "action": "move", "mn": "MN1", "mar": "MAR2"},
            {"at": second_move_at, "action": "move", "mn": "MN1", "mar": "MAR3"},
        ],
    ) | {
        "network": {
            **scenario(mars=3)["network"],
            "links": [{"between": ["MAR3", "MAR1"], "delay_ms": 2}, {"between": ["MAR3", "DB"], "delay_ms": 2}],
        }
    }


def test_the_stale_registration_loses_the_race():
    """MAR2's PBU (older Timestamp) arrives after MAR3's and is refused with 157: MAR1 stays bound to MAR3 and f1 is
    delivered both ways for good (before: the binding went back to MAR2 and was then deleted)."""
    sim = run(race(5.26), 25)
    pbus = {p["src"]: p for p in messages(sim, "PBU", dst="MAR1")}
    assert pbus["MAR3"]["arrive"] < pbus["MAR2"]["arrive"] and pbus["MAR3"]["timestamp"] > pbus["MAR2"]["timestamp"]
    answers = {p["dst"]: p["status"] for p in messages(sim, "PBA", src="MAR1")}
    assert answers == {"MAR3": 0, "MAR2": 157}
    assert not [e for e in states(sim, "binding_updated") if e["serving"] == "MAR2"]
    assert not states(sim, "binding_deleted")
    state = sim.snapshot()
    assert [(b["hnp"], b["serving"]) for b in state["mars"]["MAR1"]["binding_cache"]] == [(HNP1, "MAR3")]
    assert state["mars"]["MAR2"]["binding_update_list"] == []
    down = list(messages(sim, "DATA", dst="MN1", after=6))
    up = list(messages(sim, "DATA", dst="CN1", after=6))
    assert len(down) >= 90 and len(up) >= 90
    assert not [d for d in states(sim, "drop") if d["t"] > 6]


def test_a_pbu_older_than_the_validity_window_gets_156():
    """RFC 5213 §5.5: a PBU that spent more than TimestampValidityWindow (300 ms) on the way is refused with 156;
    the MAG keeps its entry pending and tries again with a fresh Timestamp (here it never arrives in time)."""
    data = public("fig5-handover")
    data["network"]["links"] = []
    data["timers"] = {"core_delay_ms": 160, "max_bindack_timeout": 4}
    sim = run(data, 30)
    pbas = messages(sim, "PBA", "MAR1", "MAR2")
    assert pbas and {p["status"] for p in pbas} == {156} and all(p["lifetime"] == 0 for p in pbas)
    assert [p["attempt"] for p in messages(sim, "PBU", "MAR2", "MAR1")][:4] == [
        1,
        2,
        3,
        1,
    ]  # then afresh, see retransmission
    assert states(sim, "registration_gave_up") and not sim.snapshot()["mars"]["MAR1"]["binding_cache"]


def test_stale_db_entry_for_an_idle_prefix_gets_no_pbu_and_does_not_hold_the_ra():
    """REQ2 under a stale DB: HNP2 (idle, released by MAR2 as MN1 left) is still listed while its DB_UPDATE remove is
    on its way; MAR3 sends no PBU for it, and the RA follows MAR1's PBA at once."""
    sim = run(race(5.2), 10)
    reply = messages(sim, "DB_REPLY", dst="MAR3")[0]
    assert HNP2 in {e["hnp"] for e in reply["entries"]}  # the stale entry is there
    assert not messages(sim, "PBU", "MAR3", "MAR2")
    pba = messages(sim, "PBA", "MAR1", "MAR3")[0]
    ra = messages(sim, "RA", "MAR3")[0]
    assert ra["t"] == pba["arrive"]
    attach = next(e for e in states(sim, "l2_attach") if e["node"] == "MAR3")
    assert ra["arrive"] - attach["t"] < 0.02


def test_centralised_old_mag_deregisters_when_the_mn_moves_away():
    """RFC 5213 §6.9.1.2: the MAG the MN left sends PBU lifetime 0 / HI 4 on a move, not only on detach; the LMA keeps
    the prefix and re-points the binding when the new MAG registers, and the flow goes on."""
    sim = run(public("centralized-baseline"), 12, mode="centralized-pmipv6")
    deregs = [p for p in messages(sim, "PBU") if p["lifetime"] == 0]
    assert [(p["src"], p["handoff_indicator"]) for p in deregs][:1] == [("MAR1", 4)]
    assert not states(sim, "hnp_released")
    assert {p["prefix"] for ra in messages(sim, "RA", dst="MN1") for p in ra["prefixes"]} == {"2001:db8:100:1::/64"}
