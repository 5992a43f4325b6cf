# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates .venv from the committed uv.lock when it is missing or stale.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := $(PYTHON) -m uv
endif
VENV := .venv
BIN := $(VENV)/bin
export SYNTHGOV_HOME ?= $(CURDIR)/.synthgov

.PHONY: demo test lint typecheck unit integration bench sandbox clean help

help:
	@echo "make demo        run the demo end to end on embedded defaults"
	@echo "make test        lint, type-check and run the test suite"
	@echo "make bench       run the benchmarks in tests/bench (slow; not part of make test)"
	@echo "make sandbox     serve the sandbox org in the foreground"

$(BIN)/.synced: uv.lock pyproject.toml
	@if ! $(UV) --version >/dev/null 2>&1; then \
		echo "installing uv with pip"; $(PYTHON) -m pip install --quiet uv; fi
	$(UV) sync --frozen --quiet
	@touch $@

demo: $(BIN)/.synced
	$(BIN)/synthgov demo

sandbox: $(BIN)/.synced
	$(BIN)/synthgov sandbox serve

lint: $(BIN)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.synced
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

bench: $(BIN)/.synced
	$(BIN)/python -m tests.bench

clean:
	rm -rf .synthgov .pytest_cache .mypy_cache .ruff_cache
