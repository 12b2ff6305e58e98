# One command each for install, run, test, lint and bench (ARCHITECTURE.md convention 10).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
export TONGXIN_DATA_DIR ?= $(CURDIR)/var

.PHONY: install run test test-pg test-browser lint format bench messages clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

$(VENV)/.synced: requirements.lock | $(PY)
	$(VENV)/bin/uv pip sync --quiet --python $(PY) requirements.lock
	touch $@

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

install: $(VENV)/.synced node_modules/.package-lock.json

run: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py serve --port $(PORT)

test: install
	$(PY) -m pytest -n 2 -q

test-pg: install
	TONGXIN_DATABASE_URL=$(PG_URL) $(PY) -m pytest -n 2 -q

test-browser: install
	$(PY) -m pytest -m browser -q -p no:xdist tests_browser

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) bench/run.py
	$(PY) bench/bench_events.py

messages: install
	cd tongxin && ../$(PY) ../manage.py makemessages -l en --no-obsolete && ../$(PY) ../manage.py compilemessages -l en

clean:
	rm -rf $(VENV) node_modules var
