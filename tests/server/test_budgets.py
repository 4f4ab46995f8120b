"""Work budgets from the web side (issue 10 item 2): a request over its CPU budget answers too_much_work and changes
nothing; the stop hook stops work once the client has gone."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async as sync_to_async

from dmmviz.web import budget, consumers
from dmmviz.web.budget import StopHook, TooMuchWork
from dmmviz.web.models import SimSession


def test_stop_hook_stops_on_cpu_time_and_on_a_gone_client():
    here = {"alive": True}
    hook = StopHook(0.05, lambda: here["alive"]).begin()
    assert not hook()
    here["alive"] = False
    assert hook() and hook.reason == "the client went away"

    busy = StopHook(0.02).begin()
    end = time.thread_time() + 0.05
    while time.thread_time() < end:
        pass
    assert busy() and "CPU time" in busy.reason
    with pytest.raises(TooMuchWork):
        busy.check()


def test_engine_calls_get_a_budget_with_the_hook():
    from simulator import Simulation

    hook = StopHook(1.0)
    kwargs = budget.engine_kwargs(Simulation.run, hook, 1000)
    assert kwargs["budget"].should_stop is hook and kwargs["budget"].max_items == 1000


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_request_over_its_cpu_budget_answers_too_much_work_and_changes_nothing(
    new_session, clients, monkeypatch
):
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    await client.request("run_until", t=1.0)
    monkeypatch.setattr(budget, "REQUEST_CPU_SECONDS", 0.0)
    error = await client.error("run_until", t=60.0)
    assert error["code"] == "too_much_work" and "Nothing was changed" in error["message"]
    row = await sync_to_async(SimSession.objects.get)(id=session.id)
    assert (row.revision, row.now) == (1, 1.0)
    monkeypatch.setattr(budget, "REQUEST_CPU_SECONDS", 2.0)
    after = await client.request("run_until", t=2.0)  # the socket and the session go on as before
    assert (after["revision"], after["now"]) == (2, 2.0)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_socket_that_closes_marks_its_work_stopped(new_session, clients):
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    tabs = consumers.process.state().tabs[str(session.id)]
    (consumer,) = tabs
    assert consumer.alive()
    await client.close()
    assert not consumer.alive() and str(session.id) not in consumers.process.state().tabs


@pytest.mark.django_db
def test_a_page_whose_engine_run_is_over_budget_answers_422_saying_so(client, builtins, monkeypatch):
    """Any page that runs the engine (here the compare page) turns the engine's TooMuchWork into a clear 422."""
    from simulator import Simulation

    def over_budget(self, *args, **kwargs):
        raise TooMuchWork("storm", "more than 100,000 scheduled items at one instant (t = 3 s)", 100_000)

    monkeypatch.setattr(Simulation, "run", over_budget)
    response = client.get("/compare/fig5-handover/")
    assert response.status_code == 422
    assert "too much work" in response.content.decode() and "one instant" in response.content.decode()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_session_too_long_to_rebuild_says_so_and_can_still_be_reset(new_session, clients, monkeypatch):
    """Opening a session whose replay is over the rebuild budget gives a clear error, and the socket stays open so the
    page can reset it."""
    session = await sync_to_async(new_session)("fig5-handover", steps=30_000, now=300.0)
    monkeypatch.setattr(budget, "REBUILD_CPU_SECONDS", 0.0)
    client = consumers_client(session.id)
    connected, _ = await client.comm.connect(timeout=10)
    assert connected
    error = await client.expect("error")
    assert error["code"] == "too_much_work" and "reset it" in error["message"]
    reset = await client.request("reset", expect="snapshot")
    assert (reset["steps"], reset["now"], reset["journal"]) == (0, 0.0, [])
    await client.close()
    row = await sync_to_async(SimSession.objects.get)(id=session.id)
    assert (row.steps, row.revision) == (0, 1)


def consumers_client(session_id):
    from .conftest import Client

    return Client(session_id)
