"""With PostgreSQL selected, the whole house uses it: the nightly and a retention run through dag.test()
load, build, plan and purge in PostgreSQL, and no DuckDB file appears anywhere.

One setting (SYNTHGOV_WAREHOUSE) chooses the warehouse for the load, export_policies, dbt (its target)
and retention alike; a DuckDB path is set on purpose, so that anything still opening DuckDB would
create it.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg2
import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import DagRunState
from psycopg2.extensions import parse_dsn

from synthgov import lake as lakes
from synthgov.retention.evidence import EvidenceLedger
from synthgov.settings import duckdb_path
from synthgov.training.zone import open_training_zone
from synthgov_sandbox.process import SandboxProcess
from tests.integration.test_dbt_duckdb import RULE_BASED, truth_keys
from tests.integration.test_nightly_dag import expected_rows

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _rows(dsn: str, sql: str) -> set[tuple[str, str]]:
    with psycopg2.connect(dsn) as con, con.cursor() as cur:
        cur.execute(sql)
        return {(str(a), str(b)) for a, b in cur.fetchall()}


def test_postgres_selected_runs_the_nightly_and_retention_without_duckdb(
    org: SandboxProcess, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_db: None
) -> None:
    home = tmp_path / "synthgov"
    never = tmp_path / "never" / "warehouse.duckdb"
    pg = parse_dsn(database)
    for name, value in {
        "SYNTHGOV_HOME": str(home),
        "SYNTHGOV_LAKE_URL": str(home / "lake"),
        "SYNTHGOV_DUCKDB_PATH": str(never),
        "SYNTHGOV_WAREHOUSE": "postgres",
        # The parts, not SYNTHGOV_PG_DSN: dbt's profile reads these, the loader builds its DSN from them.
        "SYNTHGOV_PG_HOST": pg["host"],
        "SYNTHGOV_PG_PORT": pg["port"],
        "SYNTHGOV_PG_USER": pg["user"],
        "SYNTHGOV_PG_PASSWORD": "",
        "SYNTHGOV_PG_DATABASE": pg["dbname"],
        "SYNTHGOV_WINDOW_LAG_SECONDS": "0",
        "SYNTHGOV_BULK_POLL_SECONDS": "0",
        "AIRFLOW_CONN_SALESFORCE_DEFAULT": org.airflow_connection(),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("SYNTHGOV_PG_DSN", "SYNTHGOV_DBT_TARGET", "SYNTHGOV_EXTRACT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    zone = open_training_zone(lakes.open_lake())
    for manifest in org.control("GET", "training-manifests")["manifests"]:
        zone.lake.put_bytes(manifest["key"], json.dumps(manifest["document"]).encode())
    bag = DagBag(dag_folder=REPO / "dags")
    assert not bag.import_errors

    nightly = bag.dags["synthgov_nightly"].test()
    assert nightly.state == DagRunState.SUCCESS

    loaded = {
        name: _rows(database, f'SELECT count(*), 0 FROM raw_salesforce."{name.lower()}"') for name in expected_rows(org)
    }
    assert {name: int(next(iter(rows))[0]) for name, rows in loaded.items()} == expected_rows(org)
    truth = org.control("GET", "ground-truth")
    for label, sql in sorted(RULE_BASED.items()):
        assert _rows(database, sql) == truth_keys(truth, label, heuristic=False), label

    tasks = {rid for obj, rid in truth_keys(truth, "retention_due", heuristic=False) if obj == "Task"}
    retention = bag.dags["synthgov_retention"].test(
        run_conf={"dry_run": False, "reason": "TICKET-43: purge old AI tasks", "policy_ids": ["ai-task-90d"]}
    )
    assert retention.state == DagRunState.SUCCESS
    (entry,) = EvidenceLedger(lakes.open_lake()).entries()
    assert entry["counts"]["outcome_purged"] == len(tasks) > 0
    assert _rows(database, "SELECT object_name, record_id FROM raw_salesforce._sg_purged") == {
        ("Task", rid) for rid in tasks
    }
    assert not _rows(database, 'SELECT "Id", 0 FROM raw_salesforce.task') & {(rid, "0") for rid in tasks}

    assert duckdb_path() == never.resolve()
    assert not never.exists() and not never.parent.exists()
    assert sorted(tmp_path.rglob("*.duckdb*")) == []
