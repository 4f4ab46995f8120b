# dmmviz: `make run` serves http://127.0.0.1:8000, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-tools test-server test-services test-browser setup bench lint lock serve serve-stop

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when a lock file is newer than the last install. `make run` installs the run-time lock only;
# tests and lint add requirements-dev.txt (both compiled by `make lock` from their .in files).
$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

DEV_STAMP := $(VENV)/.installed-dev
$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt -r requirements-dev.txt
	touch $(STAMP) $(DEV_STAMP)

# Recompile both locks after editing requirements.in or requirements-dev.in (needs PyPI).
LOCK_FLAGS := --quiet --strip-extras --no-header --annotate --no-emit-index-url --no-emit-find-links
lock: $(DEV_STAMP)
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) requirements.in -o requirements.txt
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) requirements-dev.in -o requirements-dev.txt

# ruff on every Python file, mypy --strict on simulator/ and dmmviz/protocol.py (config: pyproject.toml).
lint: $(DEV_STAMP)
	@status=0; $(VENV)/bin/ruff check . || status=1; $(VENV)/bin/mypy || status=1; exit $$status

setup: $(STAMP)
	$(PY) -m dmmviz.secret  # the signing key: DMMVIZ_SECRET_KEY, else .secret_key (made once, mode 0600, gitignored)
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py load_builtin
	$(PY) manage.py load_lessons

run: setup
	$(PY) manage.py expire_uploads  # anonymous uploads older than DMMVIZ_UPLOAD_TTL_DAYS (docs/security.md)
	$(PY) -m dmmviz.server -e tcp:port=$(PORT):interface=$(HOST):backlog=1024  # Daphne, tuned (dmmviz/server.py)

# PostgreSQL and Redis for the second run of the server tests (the machines run both on loopback).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

# 1. everything but the browser tests, on the defaults (SQLite file, in-memory channel layer);
# 2. the server, lessons and security tests again on PostgreSQL and channels_redis, the multi-process setup
#    (tests/deploy starts its own nginx + workers layout on PostgreSQL and Redis in pass 1);
# 3. the browser tests in their own process: Playwright's sync API and pytest-asyncio clash in one.
# pytest's exit status 5 means "no tests collected", which is not a failure for a directory still empty.
# Lint first: ruff on the whole tree, mypy --strict on simulator/ and dmmviz/protocol.py; CI follows (.ci/run).
test: lint test-tools setup test-server test-services test-browser

# What pip cannot install (Chromium, tshark, PlantUML, nginx, Mermaid's parser; apt-get/npm as root, else it names
# the command and fails), and PostgreSQL and Redis on loopback. .ci/run reaches these through `make test` too.
test-tools:
	scripts/install-test-tools.sh
	scripts/start-services.sh

test-server: $(DEV_STAMP)
	$(PY) -m pytest --ignore=tests/browser

test-services: $(DEV_STAMP)
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest tests/server tests/lessons tests/security

test-browser: $(DEV_STAMP)
	@if [ -d tests/browser ]; then \
		$(PY) -m pytest tests/browser; status=$$?; \
		if [ $$status -eq 5 ]; then echo "tests/browser: no tests collected"; status=0; fi; exit $$status; \
	else echo "tests/browser: none yet"; fi

# The production layout locally (deploy/, docs/deploy.md): nginx on http://127.0.0.1:$(SERVE_PORT) in front of
# $(WORKERS) Daphne workers on PostgreSQL and Redis (started if they are not running), in the background.
WORKERS ?= 2
SERVE_PORT ?= 8080
serve: $(STAMP)
	scripts/install-test-tools.sh nginx
	$(PY) scripts/serve.py start --workers $(WORKERS) --port $(SERVE_PORT)

serve-stop:
	@if [ -x $(PY) ]; then $(PY) scripts/serve.py stop; else echo "not serving"; fi

bench: setup $(DEV_STAMP)
	$(PY) bench/ws.py
