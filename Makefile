# Haven: `make demo`, `make test`. Everything installs itself: Debian packages when missing,
# then a virtualenv in .venv (re-made only when pyproject.toml changes).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.haven-installed
PIP_LOG := $(VENV)/pip-install.log

# The private PostgreSQL test server (scripts/pg.sh) and the URL the tests read.
PG_PORT ?= 54329
export HAVEN_PG_PORT := $(PG_PORT)
export HAVEN_TEST_PG_URL ?= postgresql+psycopg://haven@127.0.0.1:$(PG_PORT)/haven_test
# HAVEN_REQUIRE_PG=1: fail when PostgreSQL cannot start, instead of skipping its tests.
HAVEN_REQUIRE_PG ?= 0

# `make test PYTEST_ARGS='-k store -n0'` to narrow a run.
PYTEST_ARGS ?= -n 2 --durations=10
LINT_PATHS := $(wildcard src tests bench)

.PHONY: help venv sysdeps test lint fmt demo serve bench pg-start pg-stop clean distclean

help:
	@echo "make demo       install what is missing, then run the demonstration (scripts/demo.sh)"
	@echo "make test       install what is missing, start PostgreSQL, ruff, then the whole pytest suite"
	@echo "make lint       ruff check"
	@echo "make fmt        ruff format and ruff check --fix"
	@echo "make serve      the web app on the demo's store: http://127.0.0.1:8750 (Ctrl+C stops it)"
	@echo "make bench      python bench/triage.py"
	@echo "make venv       only the install step (.venv)"
	@echo "make pg-start / pg-stop   the private PostgreSQL test server (scripts/pg.sh)"
	@echo "make clean      caches, build files and the test cluster; make distclean also removes .venv"

# Debian packages: checked each time (dpkg, fast), installed only when missing.
sysdeps:
	@bash scripts/apt-deps.sh "$(PYTHON)"

venv: $(STAMP)

$(STAMP): pyproject.toml | sysdeps
	@start=$$SECONDS; \
	echo "venv: installing Haven and its development tools into $(VENV) (log: $(PIP_LOG))"; \
	if ! $(BIN)/python -c 'import sys' >/dev/null 2>&1; then \
		$(PYTHON) -m venv --clear $(VENV) || { echo "venv: ERROR: '$(PYTHON) -m venv' failed" >&2; exit 1; }; \
	fi; \
	if ! { $(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip \
	       && $(BIN)/python -m pip install --disable-pip-version-check -q -e '.[dev]'; } >$(PIP_LOG) 2>&1; then \
		tail -n 40 $(PIP_LOG) >&2; \
		echo "venv: ERROR: pip install failed (full log: $(PIP_LOG))" >&2; \
		exit 1; \
	fi; \
	touch $@; \
	echo "venv: ready in $$((SECONDS - start)) s"

pg-start: sysdeps
	@if ! bash scripts/pg.sh start; then \
		if [ "$(HAVEN_REQUIRE_PG)" = 1 ]; then exit 1; fi; \
		echo "pg: WARNING: PostgreSQL is not available: the PostgreSQL tests will be SKIPPED" >&2; \
	fi

pg-stop:
	@bash scripts/pg.sh stop

# ruff and pytest both run; the target fails if either did. pytest's "no tests collected" (5) is a failure.
test: venv pg-start
	@rc=0; \
	echo "ruff check $(LINT_PATHS)"; \
	$(BIN)/ruff check $(LINT_PATHS) || rc=1; \
	$(BIN)/python -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -ne 0 ]; then echo "make test: FAILED" >&2; fi; \
	exit $$rc

lint: venv
	@$(BIN)/ruff check $(LINT_PATHS)

fmt: venv
	@$(BIN)/ruff format $(LINT_PATHS)
	@$(BIN)/ruff check --fix $(LINT_PATHS)

demo: venv
	@PATH="$(CURDIR)/$(BIN):$$PATH" VIRTUAL_ENV="$(CURDIR)/$(VENV)" bash scripts/demo.sh

# The web app on the demo's store (or HAVEN_HOME / HAVEN_DATABASE_URL when set), until Ctrl+C.
SERVE_HOME ?= $(CURDIR)/demo-out/haven-data
SERVE_PORT ?= 8750
serve: venv
	@HAVEN_HOME="$${HAVEN_HOME:-$(SERVE_HOME)}" $(BIN)/haven serve --host 127.0.0.1 --port $(SERVE_PORT)

bench: venv
	@$(BIN)/python bench/triage.py

# Only files inside the repository. Case data (haven-data/) and demo output are left alone.
clean:
	@if [ -d .pg ] || ls -d /tmp/haven-pg-* >/dev/null 2>&1; then bash scripts/pg.sh stop || true; fi
	rm -rf .pg .pytest_cache .ruff_cache .mypy_cache build dist src/*.egg-info $(STAMP)
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
