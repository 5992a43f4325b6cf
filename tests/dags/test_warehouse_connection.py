"""The warehouse connection is read when tasks run, never when DAGs parse; dbt's profile and the pool follow it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag

from synthgov_airflow.pools import POSTGRES_SLOTS, WAREHOUSE_POOL, ensure_warehouse_pool

pytestmark = pytest.mark.unit

DAGS = Path(__file__).resolve().parents[2] / "dags"
CONN_ENV = "AIRFLOW_CONN_SYNTHGOV_WAREHOUSE"


def _dbt_mapping(bag: DagBag) -> Any:
    task: Any = next(t for t in bag.dags["synthgov_nightly"].tasks if t.task_id.startswith("dbt."))
    return task.profile_config.profile_mapping


def test_dags_parse_without_the_connection_and_dbt_falls_back_to_profiles_yml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(CONN_ENV, raising=False)
    monkeypatch.setenv("SYNTHGOV_WAREHOUSE", "postgres")
    bag = DagBag(dag_folder=DAGS)
    assert not bag.import_errors
    mapping = _dbt_mapping(bag)
    # Unrendered: dbt resolves SYNTHGOV_PG_* itself, exactly as outside Airflow.
    assert mapping.profile["host"] == "{{ env_var('SYNTHGOV_PG_HOST', '127.0.0.1') }}"
    assert mapping.env_vars == {}


def test_parsing_never_reads_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection no task could use does not stop the DAGs parsing: only running dbt finds out."""
    from airflow.sdk.exceptions import AirflowException

    monkeypatch.setenv(CONN_ENV, json.dumps({"conn_type": "mysql", "host": "db"}))
    bag = DagBag(dag_folder=DAGS)
    assert not bag.import_errors
    with pytest.raises(AirflowException, match="conn_type 'mysql'"):
        _ = _dbt_mapping(bag).profile


def test_a_postgres_connection_becomes_cosmos_postgres_profile_with_the_password_out_of_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conn = {"conn_type": "postgres", "host": "wh.internal", "port": 6543, "login": "sg", "password": "s3cr'et"}
    monkeypatch.setenv(CONN_ENV, json.dumps({**conn, "schema": "governance"}))
    mapping = _dbt_mapping(DagBag(dag_folder=DAGS))
    profile = mapping.profile
    assert {k: profile[k] for k in ("type", "host", "port", "user", "dbname", "schema", "threads")} == {
        "type": "postgres",
        "host": "wh.internal",
        "port": 6543,
        "user": "sg",
        "dbname": "governance",
        "schema": "analytics",  # profiles.yml's, not the connection's database
        "threads": 4,
    }
    assert "s3cr'et" not in json.dumps(profile)
    assert list(mapping.env_vars.values()) == ["s3cr'et"]


def test_a_duckdb_connection_becomes_cosmos_duckdb_profile_with_an_absolute_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(CONN_ENV, json.dumps({"conn_type": "synthgov_duckdb", "extra": {"path": "wh/w.duckdb"}}))
    profile = _dbt_mapping(DagBag(dag_folder=DAGS)).profile
    assert profile["type"] == "duckdb"
    assert profile["path"] == str(tmp_path / "wh" / "w.duckdb")
    assert profile["threads"] == 1
    assert profile["settings"] == {"TimeZone": "UTC"}


@pytest.mark.parametrize(
    ("warehouse", "connection", "slots"),
    [
        ("duckdb", None, 1),
        ("postgres", None, POSTGRES_SLOTS),
        # The connection decides over the variable.
        ("duckdb", {"conn_type": "postgres", "host": "h", "schema": "d"}, POSTGRES_SLOTS),
        ("postgres", {"conn_type": "synthgov_duckdb", "host": "/tmp/w.duckdb"}, 1),
    ],
)
def test_the_warehouse_pool_is_sized_to_the_warehouse(
    warehouse: str, connection: dict[str, str] | None, slots: int, monkeypatch: pytest.MonkeyPatch, airflow_db: None
) -> None:
    from airflow.models.pool import Pool

    monkeypatch.setenv("SYNTHGOV_WAREHOUSE", warehouse)
    if connection is None:
        monkeypatch.delenv(CONN_ENV, raising=False)
    else:
        monkeypatch.setenv(CONN_ENV, json.dumps(connection))
    bag = DagBag(dag_folder=DAGS)
    writers = [t for dag in bag.dags.values() for t in dag.tasks if t.pool == WAREHOUSE_POOL]
    assert {t.task_id for t in writers} >= {"load", "report", "purge_stores"}
    assert any(t.task_id.startswith("dbt.") for t in writers)
    assert ensure_warehouse_pool() == (
        slots,
        f"the Airflow connection {'synthgov_warehouse'!r}" if connection else "the environment (SYNTHGOV_WAREHOUSE)",
    )
    pool = Pool.get_pool(WAREHOUSE_POOL)
    assert pool is not None and pool.slots == slots
    # How many warehouse tasks the scheduler lets run at once.
    concurrent = pool.slots // max(t.pool_slots for t in writers)
    assert (concurrent == 1) if slots == 1 else (concurrent > 1)


def test_the_pool_setup_reads_the_warehouse_connection_from_the_metadata_database(
    monkeypatch: pytest.MonkeyPatch, airflow_db: None
) -> None:
    """As `make stack` and a deployment run it: the connection only in Airflow's database, no variable."""
    import os
    import subprocess
    import sys

    from airflow.models.connection import Connection
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    monkeypatch.delenv("SYNTHGOV_WAREHOUSE", raising=False)
    monkeypatch.delenv(CONN_ENV, raising=False)
    with create_session() as session:
        session.add(Connection(conn_id="synthgov_warehouse", conn_type="postgres", host="h", schema="d"))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "synthgov_airflow.pools"],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{POSTGRES_SLOTS} slots (the warehouse from the Airflow connection 'synthgov_warehouse')" in done.stdout
        pool = Pool.get_pool(WAREHOUSE_POOL)
        assert pool is not None and pool.slots == POSTGRES_SLOTS
    finally:
        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == "synthgov_warehouse").delete()
