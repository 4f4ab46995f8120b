"""Live sessions keep a window of events; rebuilds for exports keep every event (issue 10 item 3)."""

from __future__ import annotations

import pytest

from dmmviz.web import live
from simulator import Simulation


@pytest.mark.django_db
def test_exports_rebuild_every_event_while_live_sessions_keep_a_window(builtins):
    """The live session keeps its last 2,000 events only; a rebuild for an export (live.rebuild without window) keeps
    every event of the run, so a download is whole."""
    scenario = builtins["mostly-static"]
    sim = Simulation(scenario.data)
    sim.run(80.0)
    total = len(sim.events)
    assert total > 2 * live.EVENT_WINDOW
    row = live.SessionRow(id="x", scenario=scenario.data, seed=0, mode=None, journal=[], steps=sim.steps, now=80.0,
                          revision=0)
    assert len(live.rebuild(row).sim.trace()["events"]) == total
    windowed = live.rebuild(row, window=True).sim
    assert len(windowed.events) == live.EVENT_WINDOW and live.trimmed(windowed) == total - live.EVENT_WINDOW
