"""Issue 9 item 4: importing the web app changes nothing in the interpreter (the tuning is the server entry point's,
behind a setting), and per-process state is one object made by WebConfig.ready."""

from __future__ import annotations

import subprocess
import sys

from django.apps import apps

from dmmviz.web import live, process
from dmmviz.web.presence import LocalPresence, RedisPresence

PROBE = """
import gc, sys, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dmmviz.settings")
import django; django.setup()
import dmmviz.asgi, dmmviz.web.consumers
print(gc.get_freeze_count(), sys.getswitchinterval())
from dmmviz.server import tune_process
print(tune_process(), gc.get_freeze_count() > 0, sys.getswitchinterval())
"""


def run_probe(**env: str) -> list[str]:
    import os

    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                         env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    return out.stdout.split("\n")


def test_importing_the_app_leaves_the_interpreter_alone_and_the_entry_point_tunes_it():
    before, after, _ = run_probe(DMMVIZ_PROCESS_TUNING="1")
    assert before == "0 0.005"  # no frozen objects, the default switch interval
    assert after == "True True 0.0005"


def test_the_tuning_is_off_when_the_setting_says_so():
    _, after, _ = run_probe(DMMVIZ_PROCESS_TUNING="0")
    assert after == "False False 0.005"


def test_per_process_state_is_one_object_made_by_the_app_config():
    assert apps.get_app_config("web").ready
    state = process.state()
    assert state.cache is live.cache  # the consumer and the tests use the same cache
    assert isinstance(state.presence, (LocalPresence, RedisPresence))
    assert state.lock("a") is state.lock("a") and state.lock("a") is not state.lock("b")
