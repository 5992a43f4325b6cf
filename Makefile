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
# A governance tool keeps its runs to itself: no usage telemetry from Cosmos or dbt.
export AIRFLOW__COSMOS__ENABLE_TELEMETRY ?= False
export DO_NOT_TRACK ?= 1
export DBT_SEND_ANONYMOUS_USAGE_STATS ?= False

.PHONY: demo test test-stack lint typecheck bench sandbox airflow stack stack-down dbt-manifest marquez clean help

help:
	@echo "make demo        run the demo end to end on embedded defaults"
	@echo "make test        lint, type-check and run the test suite"
	@echo "make test-stack  the stack's tests alone: e2e and faults on one shared stack (part of make test)"
	@echo "make bench       run the benchmarks in tests/bench (slow; not part of make test)"
	@echo "make sandbox     serve the sandbox org in the foreground"
	@echo "make airflow     airflow standalone on the project's DAGs, connected to the sandbox org"
	@echo "make stack       the production shape on one machine (CeleryExecutor, PostgreSQL, Redis, S3); Ctrl-C stops it"
	@echo "make stack-down  stop a stack started by make stack, by process id"
	@echo "make marquez     fetch Marquez's API server (marquez-api and its dependencies) with Maven"

$(BIN)/.synced: uv.lock pyproject.toml
	@if ! $(UV) --version >/dev/null 2>&1; then \
		echo "installing uv with pip"; $(PYTHON) -m pip install --quiet uv; fi
	$(UV) sync --frozen --quiet
	@touch $@

# Cosmos renders the dbt task group from the manifest: made here, never at DAG parse time.
DBT_MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' -o -name '*.md' \) -print 2>/dev/null)

$(DBT_MANIFEST): $(BIN)/.synced $(DBT_SOURCES) include/policies/*.yml
	$(BIN)/synthgov policies export --no-warehouse > /dev/null
	SYNTHGOV_DUCKDB_PATH=$(SYNTHGOV_HOME)/warehouse.duckdb $(BIN)/dbt parse --quiet \
		--project-dir dbt_project --profiles-dir dbt_project \
		--target "$$($(BIN)/python -c 'from synthgov.settings import dbt_target; print(dbt_target())')"

dbt-manifest: $(DBT_MANIFEST)

# OpenLineage events into $(SYNTHGOV_HOME)/lineage/events.jsonl (and OPENLINEAGE_URL if set), as for `make airflow`.
demo: $(BIN)/.synced $(DBT_MANIFEST)
	eval "$$($(BIN)/python -m synthgov_airflow.lineage)"; $(BIN)/synthgov demo

sandbox: $(BIN)/.synced
	$(BIN)/synthgov sandbox serve

AIRFLOW_PORT ?= 8080

# airflow standalone on dags/, with salesforce_default pointing at the sandbox org, the warehouse pool
# created, fixed local-only credentials (admin / admin) printed, and parallelism sized to the machine
# (synthgov_stack.airflow). OpenLineage: the file transport into $(SYNTHGOV_HOME)/lineage/events.jsonl,
# plus Marquez when OPENLINEAGE_URL is set. Ctrl-C or SIGTERM ends every process it started.
airflow: $(BIN)/.synced $(DBT_MANIFEST)
	$(BIN)/python -m synthgov_stack airflow --port $(AIRFLOW_PORT)

# The production shape on one machine (synthgov_stack.stack): PostgreSQL, Redis, moto's S3, the sandbox
# org, Marquez when `make marquez` fetched it, Airflow with the CeleryExecutor and two workers; state in
# $(SYNTHGOV_HOME)/stack, fresh each time. In the foreground: Ctrl-C stops it; so does `make stack-down`
# from another terminal (by the process ids in the state file).
stack: $(BIN)/.synced $(DBT_MANIFEST)
	$(BIN)/python -m synthgov_stack up

stack-down: $(BIN)/.synced
	$(BIN)/python -m synthgov_stack down

# Marquez's API server for the tests and local runs (tests/marquez.py runs it): the published marquez-api
# jar and its runtime dependencies, copied by Maven into an ignored folder (never committed). The jar is
# the plain one, so that folder is the classpath. Fetched into a side folder and moved, so a failed
# fetch never leaves half a classpath.
MARQUEZ_LIB := $(SYNTHGOV_HOME)/marquez/lib

$(MARQUEZ_LIB)/.fetched: include/marquez/pom.xml
	@command -v mvn >/dev/null || { echo "make marquez: needs Maven and Java 17 (apt-get install maven openjdk-17-jre-headless)" >&2; exit 1; }
	rm -rf "$(MARQUEZ_LIB).part"
	mvn -q -f include/marquez/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
		-DoutputDirectory="$(MARQUEZ_LIB).part"
	rm -rf "$(MARQUEZ_LIB)" && mv "$(MARQUEZ_LIB).part" "$(MARQUEZ_LIB)" && touch "$@"

marquez: $(MARQUEZ_LIB)/.fetched

lint: $(BIN)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.synced
	$(BIN)/mypy

# Two test workers (pytest-xdist) on the project's two-core machines; each module is one unit and the stack's
# modules share one worker (tests/conftest.py orders and groups them). TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
PYTEST_PARALLEL := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --no-loadscope-reorder)

test: lint typecheck $(DBT_MANIFEST)
	$(BIN)/pytest $(PYTEST_PARALLEL) --durations=20

# The stack's tests alone (part of make test): one shared stack, the e2e nightly and purge, then the faults
# (a worker killed mid-extract, lineage down, PostgreSQL and the scheduler restarted), in one process.
test-stack: $(BIN)/.synced $(DBT_MANIFEST)
	$(BIN)/pytest tests/stack

bench: $(BIN)/.synced
	$(BIN)/python -m tests.bench

clean:
	rm -rf .synthgov .pytest_cache .mypy_cache .ruff_cache
