# dmmviz: `make run` serves http://127.0.0.1:8000, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-server test-services test-browser setup bench

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when requirements.txt is newer than the last install.
$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py load_builtin
	$(PY) manage.py load_lessons

run: setup
	$(VENV)/bin/daphne -e tcp:port=$(PORT):interface=$(HOST):backlog=1024 dmmviz.asgi:application

# PostgreSQL and Redis for the second run of the server tests (the machines run both on loopback).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

# 1. everything but the browser tests, on the defaults (SQLite file, in-memory channel layer);
# 2. the server tests again on PostgreSQL and channels_redis, the multi-process setup;
# 3. the browser tests in their own process: Playwright's sync API and pytest-asyncio clash in one.
# pytest's exit status 5 means "no tests collected", which is not a failure for a directory still empty.
test: setup test-server test-services test-browser

test-server: $(STAMP)
	$(PY) -m pytest --ignore=tests/browser

test-services: $(STAMP)
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest tests/server tests/lessons

test-browser: $(STAMP)
	@if [ -d tests/browser ]; then \
		$(PY) -m pytest tests/browser; status=$$?; \
		if [ $$status -eq 5 ]; then echo "tests/browser: no tests collected"; status=0; fi; exit $$status; \
	else echo "tests/browser: none yet"; fi

bench: setup
	$(PY) bench/ws.py
