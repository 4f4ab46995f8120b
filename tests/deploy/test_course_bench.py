"""bench/course.py keeps working: a tiny course (20 students in one class, an instructor, solo sessions, answers)
through the layout, every figure printed and no errors."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .layout import ROOT

pytestmark = pytest.mark.services


def test_a_tiny_course_runs_through_the_proxy_without_errors():
    result = subprocess.run(
        [sys.executable, "bench/course.py", "--students", "20", "--duration", "4", "--answer-think", "1",
         "--answer-share", "0.2", "--instructor-think", "1", "--tp-clients", "4", "--tp-duration", "1.5",
         "--tp-rounds", "1", "--procs", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "20 students, 2 workers" in out and "20 followers in 1 classes" in out
    for action in ("step", "answer", "instructor step", "class fan-out"):
        assert re.search(rf"^  {action} +\d+ ", out, re.M), f"no {action} line:\n{out}"
    assert "errors: 0" in out
    assert re.search(r"per 100 students", out) and "throughput ratio 2 workers / 1 worker:" in out
