"""No public default secret: a generated key file (0600, outside git), the environment wins, a check refuses
defaults."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from dmmviz import secret

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("DMMVIZ_SECRET_KEY", "DMMVIZ_SECRET_KEY_FILE")}
    environment.update(env)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=120)


def test_the_first_setup_makes_a_private_key_file_and_keeps_it(tmp_path):
    where = tmp_path / "conf" / "secret_key"
    made = run(["-m", "dmmviz.secret"], DMMVIZ_SECRET_KEY_FILE=str(where))
    assert made.returncode == 0 and str(where) in made.stdout and "new, mode 0600" in made.stdout
    assert stat.S_IMODE(where.stat().st_mode) == 0o600
    key = where.read_text().strip()
    assert len(key) >= 50 and key not in secret.KNOWN_DEFAULTS
    again = run(["-m", "dmmviz.secret"], DMMVIZ_SECRET_KEY_FILE=str(where))
    assert again.returncode == 0 and "new" not in again.stdout and where.read_text().strip() == key


def test_two_key_files_differ(tmp_path):
    one, two = secret.ensure_key_file(tmp_path / "a"), secret.ensure_key_file(tmp_path / "b")
    assert one.read_text() != two.read_text()


def test_the_environment_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("DMMVIZ_SECRET_KEY_FILE", str(tmp_path / "k"))
    monkeypatch.setenv("DMMVIZ_SECRET_KEY", "from-the-environment-" + "x" * 40)
    assert secret.secret_key() == "from-the-environment-" + "x" * 40
    assert not (tmp_path / "k").exists()
    monkeypatch.delenv("DMMVIZ_SECRET_KEY")
    assert secret.secret_key() == (tmp_path / "k").read_text().strip()


def test_the_key_file_is_ignored_by_git():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".secret_key"], cwd=ROOT)
    assert ignored.returncode == 0


def test_the_running_site_does_not_sign_with_a_public_key():
    assert settings.SECRET_KEY not in secret.KNOWN_DEFAULTS and len(settings.SECRET_KEY) >= 32


def test_a_public_default_fails_the_system_check_loudly():
    """`manage.py check` (and migrate, which `make run` runs first) stops with dmmviz.E001 on the old public key."""
    result = run(["manage.py", "check"], DMMVIZ_SECRET_KEY="dmmviz-local-only-not-secret")
    assert result.returncode != 0
    assert "dmmviz.E001" in result.stderr and "DMMVIZ_SECRET_KEY" in result.stderr
    assert run(["manage.py", "check"], DMMVIZ_SECRET_KEY="short").returncode != 0
    assert run(["manage.py", "check"]).returncode == 0


def test_an_unwritable_key_file_falls_back_and_the_check_catches_it(tmp_path, settings):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    os.environ.pop("DMMVIZ_SECRET_KEY", None)
    result = run(["manage.py", "check"], DMMVIZ_SECRET_KEY_FILE=str(blocked / "key"))
    assert result.returncode != 0 and "dmmviz.E001" in result.stderr
    settings.SECRET_KEY = secret.FALLBACK
    assert [e.id for e in secret.check_secret_key()] == ["dmmviz.E001"]


def test_the_server_refuses_to_start_with_a_public_key():
    """Daphne runs no system checks, so the ASGI application itself refuses (make run, make serve, deploy/)."""
    for public in ("dmmviz-local-only-not-secret", "change-me"):
        result = run(["-c", "import dmmviz.asgi"], DMMVIZ_SECRET_KEY=public)
        assert result.returncode != 0 and "SECRET_KEY is a public default" in result.stderr
    assert run(["-c", "import dmmviz.asgi"], DMMVIZ_SECRET_KEY="a-private-key-" + "k" * 40).returncode == 0
