# Jinfu: two commands for a fresh machine — `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Two workers (the standard machine has 2 cores); a test file stays on one worker so module fixtures
# (served apps, seeded worlds) are built once; the slowest tests are listed at the end.
PYTEST_ARGS ?= -n 2 --dist loadfile --durations=30

.PHONY: run test venv install install-dev system-deps lint migrate seed seed-large bench clean

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)

$(STAMP_RUN): requirements.txt pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps -e .
	@touch $@

$(STAMP_DEV): requirements-dev.txt $(STAMP_RUN)
	$(PIP) install -q -r requirements-dev.txt
	@touch $@

install: $(STAMP_RUN)
install-dev: $(STAMP_DEV)

## run: install, migrate, seed the demo data when the database is empty, start every app (Ctrl-C stops)
run: install
	$(PY) scripts/run_all.py

## system-deps: Debian's Chromium, nginx and CJK fonts for browser tests and the load balancer (as root)
system-deps:
	@bash scripts/install_system_deps.sh

## test: everything the tests need, then the whole suite on SQLite and PostgreSQL, with real Chromium
test: install-dev system-deps
	@bash scripts/ensure_services.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

migrate: install
	$(VENV)/bin/alembic upgrade head

seed: install
	$(PY) scripts/seed_demo.py --scale demo --as-of $${SEED_AS_OF:-today}

seed-large: install
	$(PY) scripts/seed_demo.py --scale large --as-of $${SEED_AS_OF:-today}

clean:
	rm -rf $(VENV) data/jinfu.db data/jinfu.db-* data/cache data/run
