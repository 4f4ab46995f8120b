"""Retransmission with exponential back-off (RFC 5213 §6.9.4, RFC 6275 §11.8), and what happens when a MAR gives up."""

import pytest

from .helpers import messages, public, run, scenario, states

HNP1, HNP2 = "2001:db8:1:1::/64", "2001:db8:2:1::/64"


def fig5_with(*steps, **extra):
    data = public("fig5-handover")
    data["script"] = [*data["script"], *steps]
    data.update(extra)
    return data


def test_pbu_back_off_doubles_to_32_s_with_a_new_sequence_each_time_then_gives_up():
    """Every PBA lost: the PBU goes at +0, 1, 3, 7, 15, 31 s (timeouts 1, 2, 4, 8, 16, 32), each with a larger sequence
    number and a fresh Timestamp; 32 s after the sixth the MAR gives up, forgets the entry and never advertises HNP1."""
    sim = run(fig5_with({"at": 4.0, "action": "drop", "kind": "PBA", "count": 100}), 80)
    pbus = [p for p in messages(sim, "PBU") if p["lifetime"] > 0]
    first = pbus[0]["t"]
    # After giving up, flow1's next uplink packet at MAR2 has no binding: MAR2 looks the prefix up and tries afresh.
    lookup = [q for q in messages(sim, "DB_QUERY", "MAR2") if q.get("hnp") == HNP1 and q["t"] > first + 63]
    assert lookup and pbus[6]["t"] > lookup[0]["t"] and pbus[6]["attempt"] == 1
    pbus = pbus[:6]
    assert [round(p["t"] - first, 3) for p in pbus] == [0, 1, 3, 7, 15, 31]
    assert [p["attempt"] for p in pbus] == [1, 2, 3, 4, 5, 6]
    sequences = [p["sequence"] for p in pbus]
    assert sequences == sorted(set(sequences)) and [p["timestamp"] for p in pbus] == [p["t"] for p in pbus]
    gave_up = states(sim, "registration_gave_up")
    assert len(gave_up) == 1 and gave_up[0]["t"] == pytest.approx(first + 63) and gave_up[0]["hnps"] == [HNP1]
    assert gave_up[0]["node"] == "MAR2" and gave_up[0]["anchor"] == "MAR1" and gave_up[0]["attempts"] == 6
    assert not sim.snapshot()["mars"]["MAR2"]["binding_update_list"]
    # What the MN sees: its RA came at INITIAL_BINDACK_TIMEOUT with MAR2's own prefix only; HNP1 is never advertised
    # again, the MN keeps it deprecated for its flow until its valid lifetime runs out (RFC 4862 §5.5.3 e: 2 hours).
    ras = messages(sim, "RA", "MAR2")
    assert [[p["prefix"] for p in ra["prefixes"]] for ra in ras] == [[HNP2]]
    state = sim.snapshot()
    assert ras[0]["t"] == pytest.approx(messages(sim, "RS", dst="MAR2")[0]["t"] + 1.002, abs=0.003)
    mn = {p["prefix"]: p for p in state["mns"]["MN1"]["prefixes"]}
    assert mn[HNP1]["deprecated"] and mn[HNP1]["valid_lifetime"] <= 7200


def test_the_ra_waits_for_the_pba_at_most_initial_bindack_timeout():
    """RFC 5213 §6.9.2 holds the RA for the PBA; with the PBA lost the MN gets its new prefix after 1 s, and a second
    RA adds HNP1 (deprecated) as soon as the retransmitted PBU is accepted."""
    sim = run(fig5_with({"at": 4.0, "action": "drop", "kind": "PBA"}), 10)
    ras = messages(sim, "RA", "MAR2")
    assert [[p["prefix"] for p in ra["prefixes"]] for ra in ras] == [[HNP2], [HNP2, HNP1]]
    pba = next(p for p in messages(sim, "PBA") if p["arrive"] is not None)
    assert ras[1]["t"] == pba["arrive"]


def test_lost_db_query_is_repeated():
    """The lookup is repeated with the same back-off when the DB does not answer."""
    sim = run(fig5_with({"at": 4.0, "action": "drop", "kind": "DB_QUERY"}), 10)
    queries = [q for q in messages(sim, "DB_QUERY") if not q.get("hnp")]
    assert [q["attempt"] for q in queries] == [1, 2] and queries[1]["t"] == pytest.approx(queries[0]["t"] + 1)
    assert messages(sim, "PBU", "MAR2", "MAR1") and sim.snapshot()["mars"]["MAR1"]["binding_cache"]


def test_lost_rs_is_repeated_after_rtr_solicitation_interval():
    """RFC 4861 §6.3.7: no RA, so the MN sends its RS again 4 s later."""
    sim = run(fig5_with({"at": 4.0, "action": "drop", "kind": "RS"}), 12)
    rs = messages(sim, "RS", dst="MAR2")
    assert len(rs) == 2 and rs[1]["t"] == pytest.approx(rs[0]["t"] + 4)
    assert messages(sim, "RA", "MAR2") and messages(sim, "RA", "MAR2")[0]["t"] > rs[1]["t"]


def test_lost_pbu_from_a_centralised_mag_is_repeated():
    sim = run(fig5_with({"at": 4.0, "action": "drop", "kind": "PBU", "src": "MAR2"}), 10, mode="centralized-pmipv6")
    pbus = messages(sim, "PBU", src="MAR2")
    assert [p["attempt"] for p in pbus][:2] == [1, 2] and pbus[1]["t"] == pytest.approx(pbus[0]["t"] + 1)
    assert pbus[1]["sequence"] > pbus[0]["sequence"]
    assert [(b["mn"], b["serving"]) for b in sim.snapshot()["mars"]["LMA"]["binding_cache"]] == [("MN1", "MAR2")]


def test_client_bu_first_registration_waits_1_5_s():
    """RFC 6275 §11.8: a first registration with a home agent is sent again after InitialBindackTimeoutFirstReg."""
    sim = run(fig5_with({"at": 4.0, "action": "drop", "kind": "BA"}), 10, mode="client-dmm")
    bus = messages(sim, "BU")
    assert [b["attempt"] for b in bus][:2] == [1, 2] and bus[1]["t"] == pytest.approx(bus[0]["t"] + 1.5)
    assert bus[1]["sequence"] > bus[0]["sequence"]


def test_retransmission_timers_come_from_the_scenario():
    data = fig5_with(
        {"at": 4.0, "action": "drop", "kind": "PBA", "count": 2},
        timers={"initial_bindack_timeout": 0.5, "max_bindack_timeout": 4},
    )
    sim = run(data, 10)
    pbus = [p for p in messages(sim, "PBU") if p["lifetime"] > 0]
    assert [round(p["t"] - pbus[0]["t"], 3) for p in pbus] == [0, 0.5, 1.5]


def test_no_retransmission_without_faults():
    """The happy path sends every PBU once (the golden figures are unchanged)."""
    sim = run(public("fig4-three-mars"), 20)
    assert all(p["attempt"] == 1 for p in messages(sim, "PBU"))
    assert not states(sim, "registration_gave_up")
    data = scenario(mars=2, script=[{"at": 0, "action": "attach", "mn": "MN1", "mar": "MAR1"}])
    assert len(messages(run(data, 20), "RS")) == 1
