"""Every HTTP door that runs the engine works under a CPU-time limit polled inside the event loop (issue 10 item 2;
dmmviz/web/budget.py PageBudgetMiddleware): a valid but heavy request over DMMVIZ_PAGE_CPU_SECONDS gets a clear
"too much work" answer (a page: text; a script: JSON), never a 500, and changes nothing; a cancelled page (client gone,
page timed out) stops its engine work."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
import urllib.request

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.test import Client

from dmmviz.daphne_process import DaphneProcess
from dmmviz.lessons.models import PracticeQuestion, PracticeRun
from dmmviz.web.budget import PageBudgetMiddleware
from dmmviz.web.models import SimSession
from simulator import Simulation, load_scenario
from simulator.limits import TooMuchWork

from .multiprocess import database_url

SMALL = 0.01  # CPU seconds: far less than any of the requests below needs
HEAVY = "mostly-static"  # a shipped scenario whose comparison to 600 s takes seconds of CPU


@pytest.fixture
def small_cpu_limit(settings):
    settings.DMMVIZ_PAGE_CPU_SECONDS = SMALL


def says_too_much_work(response, json_body: bool) -> str:
    assert response.status_code == 422, response.content[:300]
    if json_body:
        reply = response.json()
        assert reply["code"] == "too_much_work" and reply["problems"][0]["message"] == reply["error"]
        text = reply["error"]
    else:
        assert response["Content-Type"].startswith("text/plain")
        text = response.content.decode()
    assert text.startswith("too much work: stopped by its caller") and "Nothing was changed" in text
    return text


def row_of(session: SimSession) -> tuple:
    row = SimSession.objects.get(id=session.id)
    return row.revision, row.steps, row.now, row.journal


@pytest.mark.django_db
def test_compare_page_and_document_over_the_cpu_limit_say_too_much_work(client, builtins, small_cpu_limit):
    says_too_much_work(client.get(f"/compare/{HEAVY}/?until=600"), json_body=False)
    says_too_much_work(client.get(f"/compare/{HEAVY}/?until=600&format=json"), json_body=True)


@pytest.mark.django_db
def test_the_same_compare_page_answers_under_the_default_limit(client, builtins):
    assert client.get("/compare/fig5-handover/?until=60").status_code == 200


@pytest.mark.django_db
def test_exports_of_a_long_session_over_the_cpu_limit_say_so_and_leave_it_alone(client, new_session, small_cpu_limit):
    session = new_session("fig5-handover", steps=30_000, now=300.0)
    before = row_of(session)
    says_too_much_work(client.get(f"/s/{session.id}/export/trace/"), json_body=False)
    says_too_much_work(client.get(f"/s/{session.id}/sequence.json", HTTP_ACCEPT="application/json"), json_body=True)
    assert row_of(session) == before


@pytest.mark.django_db
def test_a_practice_question_over_the_cpu_limit_says_so_and_records_nothing(client, builtins, settings):
    assert client.post(f"/practice/scenario/{HEAVY}/").status_code == 302
    run = PracticeRun.objects.get()
    SimSession.objects.filter(id=run.sim_session_id).update(steps=30_000, now=300.0)
    before = row_of(run.sim_session)
    settings.DMMVIZ_PAGE_CPU_SECONDS = SMALL
    reply = client.post(f"/practice/{run.id}/question/", "{}", content_type="application/json",
                        HTTP_ACCEPT="application/json")
    says_too_much_work(reply, json_body=True)
    assert PracticeQuestion.objects.count() == 0 and row_of(run.sim_session) == before


@pytest.mark.django_db
def test_the_lesson_simulate_api_over_the_cpu_limit_answers_json(builtins, django_user_model, small_cpu_limit):
    django_user_model.objects.create_user(username="ingrid", password="pw-ingrid-123")
    call_command("grant_instructor", "ingrid", stdout=open("/dev/null", "w"))
    client = Client()
    client.force_login(django_user_model.objects.get(username="ingrid"))
    body = {"scenario": builtins[HEAVY].data, "until": 600}
    reply = client.post("/lessons/api/simulate/", json.dumps(body), content_type="application/json",
                        HTTP_ACCEPT="application/json")
    says_too_much_work(reply, json_body=True)


@pytest.mark.asyncio
async def test_a_cancelled_page_stops_its_engine_work(settings, builtins):
    """Django cancels a page's task when its client disconnects (ServiceMiddleware when it times out); the view's
    thread cannot be cancelled, so the engine's next poll of the page's hook stops it."""
    settings.DMMVIZ_PAGE_CPU_SECONDS = 600.0  # the CPU limit is not what stops it here
    scenario = load_scenario(builtins[HEAVY].data)
    started, finished = threading.Event(), threading.Event()
    outcome: dict[str, str] = {}

    def view(request):
        sim = Simulation(scenario)
        started.set()
        try:
            sim.run(86_400.0, collect=False)
            outcome["reason"] = "finished"
        except TooMuchWork as exc:
            outcome["reason"], outcome["message"] = exc.reason, str(exc)
        finally:
            finished.set()

    page = asyncio.ensure_future(PageBudgetMiddleware(sync_to_async(view))(object()))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
    await asyncio.sleep(0.1)
    page.cancel()
    assert await asyncio.get_running_loop().run_in_executor(None, finished.wait, 10)
    assert outcome["reason"] == "stopped", outcome


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used (/proc/PID/stat)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.django_db(transaction=True)
def test_a_download_whose_client_hangs_up_stops_working_in_the_real_server(new_session):
    """Daphne tells Django the client went away; Django cancels the page; the export's replay stops at the engine's
    next poll instead of running on for nobody (the CPU limit is set far away, so it is not what stops it)."""
    session = new_session("fig5-handover", steps=5_000_000, now=20_000.0)  # a replay of many seconds
    env = {"DATABASE_URL": database_url(), "DMMVIZ_PAGE_CPU_SECONDS": "600"}
    with DaphneProcess(env=env) as server:
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(f"GET /s/{session.id}/export/trace/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        time.sleep(0.5)
        start = cpu_seconds(server.pid)
        time.sleep(1.0)
        working = cpu_seconds(server.pid) - start  # the replay running
        sock.close()
        time.sleep(0.5)
        start = cpu_seconds(server.pid)
        time.sleep(1.0)
        after = cpu_seconds(server.pid) - start
        assert working > 0.2 and after < working / 4, (working, after)
        with urllib.request.urlopen(f"{server.url}/protocol.js", timeout=10) as response:
            assert response.status == 200
