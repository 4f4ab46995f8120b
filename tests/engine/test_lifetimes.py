"""Lifetimes: refresh before expiry (HI 5), expiry removes binding and tunnel, the tables count down, the state export
tells the truth after a de-registration, and the host's two-hour valid-lifetime rule (RFC 4862 §5.5.3 e)."""

import pytest

from .helpers import messages, public, run, states

HNP1, HNP2 = "2001:db8:1:1::/64", "2001:db8:2:1::/64"


def fig5_with(*steps, **extra):
    data = public("fig5-handover")
    data["script"] = [*data["script"], *steps]
    data.update(extra)
    return data


def test_binding_is_refreshed_with_hi5_before_it_expires():
    """Lifetime 10 s: MAR2 re-registers HNP1 at 9 s (90 % of the lifetime) with Handoff Indicator 5, a new sequence
    number, and the binding lives on; nothing expires."""
    sim = run(fig5_with(timers={"binding_lifetime": 10}), 40)
    pbus = messages(sim, "PBU", "MAR2", "MAR1")
    assert [p["handoff_indicator"] for p in pbus][:3] == [3, 5, 5]
    assert pbus[1]["t"] == pytest.approx(pbus[0]["t"] + 9) and pbus[2]["t"] == pytest.approx(pbus[1]["t"] + 9)
    assert [p["sequence"] for p in pbus] == sorted({p["sequence"] for p in pbus})
    assert pbus[1]["hnps"] == [HNP1] and pbus[1]["lifetime"] == 10
    assert not states(sim, "binding_deleted")
    assert states(sim, "bul_refreshed") and states(sim, "bul_refreshing")
    state = sim.snapshot()
    assert [(b["hnp"], b["serving"], b["state"]) for b in state["mars"]["MAR1"]["binding_cache"]] == [
        (HNP1, "MAR2", "active")
    ]
    assert any(e["flow"] == "flow1" and e["dst"] == "MN1" for e in messages(sim, "DATA", after=39))


def test_unrefreshed_binding_expires_with_its_tunnel():
    """Every refresh lost: the anchor deletes the binding when its lifetime runs out (RFC 5213 §5.3.3), and the tunnel
    goes with it."""
    sim = run(
        fig5_with(
            {"at": 6.0, "action": "drop", "kind": "PBU", "dst": "MAR1", "count": 100},
            timers={"binding_lifetime": 10, "max_bindack_timeout": 2},
        ),
        20,
    )
    registered = messages(sim, "PBU", "MAR2", "MAR1")[0]
    deleted = states(sim, "binding_deleted")
    assert len(deleted) == 1 and deleted[0]["reason"] == "lifetime expired"
    assert deleted[0]["t"] == pytest.approx(registered["arrive"] + 10)
    assert [e["peer"] for e in states(sim, "tunnel_down")] == ["MAR2"]
    assert sim.snapshot()["mars"]["MAR1"]["binding_cache"] == [] and sim.tunnels_of("MAR1") == []


def test_tables_show_the_remaining_lifetime():
    sim = run(public("fig5-handover"), 10)
    b = sim.snapshot()["mars"]["MAR1"]["binding_cache"][0]
    e = sim.snapshot()["mars"]["MAR2"]["binding_update_list"][0]
    sim.run(110)
    b2 = sim.snapshot()["mars"]["MAR1"]["binding_cache"][0]
    e2 = sim.snapshot()["mars"]["MAR2"]["binding_update_list"][0]
    assert b["lifetime"] - b2["lifetime"] == pytest.approx(100) and e["lifetime"] - e2["lifetime"] == pytest.approx(100)
    assert 3590 < b["lifetime"] < 3600 and b["expires"] == b2["expires"] == pytest.approx(b["lifetime"] + 10)


def test_state_export_after_deregistration_tells_the_truth():
    """flow1 stops while MN1 is away: the binding being de-registered shows lifetime 0 and the de-registration's
    sequence number, not 3600 and the old one."""
    sim = run(fig5_with({"at": 9.0, "action": "stop_flow", "mn": "MN1", "flow": "flow1"}), 12)
    dereg = next(p for p in messages(sim, "PBU", "MAR2", "MAR1") if p["lifetime"] == 0)
    b = sim.snapshot()["mars"]["MAR1"]["binding_cache"][0]
    assert b["state"] == "deregistering" and b["lifetime"] == 0 and b["sequence"] == dereg["sequence"]


def test_host_keeps_two_hours_of_a_deprecated_prefix():
    """RFC 4862 §5.5.3 e: the RA at MAR2 gives HNP1 a valid lifetime of 3600 s; the MN had 30 days left, so it keeps
    two hours (7200 s), not 3600."""
    sim = run(public("fig5-handover"), 8)
    ra = messages(sim, "RA", "MAR2")[0]
    assert {p["prefix"]: p["valid_lifetime"] for p in ra["prefixes"]}[HNP1] == 3600
    mn = {p["prefix"]: p for p in sim.snapshot()["mns"]["MN1"]["prefixes"]}
    assert mn[HNP1]["valid_lifetime"] == 7200 and mn[HNP1]["deprecated"]
    assert mn[HNP2]["valid_lifetime"] == 2592000
