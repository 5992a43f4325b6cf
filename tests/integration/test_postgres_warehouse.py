"""The warehouse contract on PostgreSQL: the same runs, tables and bookkeeping as on DuckDB, loaded with COPY.

Every test gets a database of its own on the session's throwaway cluster (tests/postgres.py).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from synthgov.extract.config import load_config
from synthgov.extract.media import FINDINGS_OBJECT
from synthgov.extract.run import extract_all
from synthgov.lake import Lake, LocalLake
from synthgov.salesforce.connection import Credentials, SalesforceConnection
from synthgov.settings import Settings
from synthgov.warehouse import (
    DuckDBWarehouse,
    PostgresWarehouse,
    Warehouse,
    WarehouseError,
    load_pending,
    load_run,
    loaded_runs,
    open_warehouse,
    postgres_dsn,
    row_count,
)
from synthgov_sandbox.process import SandboxProcess
from tests.lake_runs import RUN_1, RUN_2, leads, write_run
from tests.postgres import PostgresInfo, admin, query

pytestmark = pytest.mark.integration


@pytest.fixture
def warehouse(database: str) -> PostgresWarehouse:
    return PostgresWarehouse(database)


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return LocalLake(tmp_path / "lake")


def _types(dsn: str, table: str) -> dict[str, str]:
    return dict(
        query(
            dsn,
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            f"WHERE a.attrelid = 'raw_salesforce.{table}'::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        )
    )


def test_load_run(lake: Lake, warehouse: PostgresWarehouse, database: str) -> None:
    manifest = write_run(lake, RUN_1, [leads(["00Q1", "00Q2"]), leads(["00Q3"])])
    result = load_run(warehouse, lake, manifest)

    assert (result.object, result.run_id, result.table) == ("Lead", RUN_1, "raw_salesforce.lead")
    assert (result.rows, result.files, result.replaced_rows, result.added_columns) == (3, 2, 0, ())
    assert row_count(warehouse, "Lead") == 3
    assert loaded_runs(warehouse, "Lead") == {RUN_1}
    rows = query(
        database,
        'SELECT "Id", "CreatedDate", "AI_Generated__c", "Lead_Score__c", _sg_run_id, _sg_loaded_at '
        "FROM raw_salesforce.lead ORDER BY 1",
    )
    assert [r[0] for r in rows] == ["00Q1", "00Q2", "00Q3"]
    assert rows[0][1] == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert [r[2] for r in rows] == [True, False, True]
    assert rows[0][3] == Decimal("50.25")
    assert {r[4] for r in rows} == {RUN_1}
    assert {r[5] for r in rows} == {result.loaded_at}
    assert _types(database, "lead") == {
        "Id": "text",
        "CreatedDate": "timestamp with time zone",
        "AI_Generated__c": "boolean",
        "Lead_Score__c": "numeric(18,2)",
        "_sg_run_id": "character varying",
        "_sg_loaded_at": "timestamp without time zone",
    }
    (load,) = query(database, "SELECT object, run_id, rows, files FROM raw_salesforce._sg_loads")
    assert load[:3] == ("Lead", RUN_1, 3)
    assert [f["key"] for f in json.loads(load[3])] == [f["key"] for f in manifest["files"]]


def test_raw_tables_are_indexed_for_the_incremental_staging_reads(
    lake: Lake, warehouse: PostgresWarehouse, database: str
) -> None:
    """The nightly's staging models look up the versions loaded since a watermark, then those ids."""
    load_run(warehouse, lake, write_run(lake, RUN_1, [leads(["00Q1", "00Q2"])]))
    load_run(warehouse, lake, write_run(lake, RUN_2, [leads(["00Q2"])]))  # a second load keeps them, once
    indexes = query(
        database,
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'raw_salesforce' AND tablename = 'lead'",
    )
    assert sorted(definition.split(" USING btree ")[1] for _, definition in indexes) == ['("Id")', "(_sg_loaded_at)"]


def test_long_namespaced_objects_get_distinct_index_names(
    lake: Lake, warehouse: PostgresWarehouse, database: str
) -> None:
    """Two 60-character object names alike in their first 40: PostgreSQL would cut both index names alike."""
    stem = "acmeaigovernance__Generated_Content_Provenance_Record_"
    objects = [f"{stem}A__c", f"{stem}B__c"]
    for obj in objects:
        load_run(warehouse, lake, write_run(lake, RUN_1, [leads(["a0X1"])], obj=obj))
    indexes = query(database, "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'raw_salesforce'")
    names = {table: sorted(index for t, index in indexes if t == table) for table in {obj.lower() for obj in objects}}
    assert all(len(found) == 2 for found in names.values()), names
    every = [index for found in names.values() for index in found]
    assert len(set(every)) == 4 and all(len(index) <= 63 for index in every), every


def test_arrow_types_round_trip_through_copy(
    lake: Lake, warehouse: PostgresWarehouse, database: str, postgres: PostgresInfo
) -> None:
    # Timestamps travel with their offsets, so a session time zone other than UTC must change nothing.
    admin(postgres, f"ALTER DATABASE {database.rsplit('dbname=', 1)[1]} SET timezone TO 'America/New_York'")
    berlin = timezone(timedelta(hours=1))
    part = pa.table(
        {
            "Id": ["a1", "a2", "a3"],
            "NumberOfEmployees": pa.array([1, None, -(2**62)], pa.int64()),
            "Rating__c": pa.array([7, 8, None], pa.int32()),
            "AnnualRevenue": pa.array([0.1 + 0.2, None, 1e300], pa.float64()),
            "CloseDate": pa.array([date(2026, 1, 2), None, date(1999, 12, 31)], pa.date32()),
            "SystemModstamp": pa.array(
                [datetime(2026, 11, 2, 9, 0, 0, 123000, tzinfo=UTC), None, datetime(2026, 11, 2, 10, 0, tzinfo=berlin)],
                pa.timestamp("ms", tz="UTC"),
            ),
            # Written with its offset (+0100) rather than as UTC.
            "Berlin_Time__c": pa.array(
                [datetime(2026, 11, 2, 10, 0, tzinfo=berlin), None, None], pa.timestamp("us", tz="+01:00")
            ),
            "IsDeleted": pa.array([False, True, None], pa.bool_()),
            # Commas, quotes and newlines need CSV quoting; '' and NULL must stay apart.
            "Description": ['said "hi", then\nleft', "", None],
            "Name": pa.array(["Zoë 😀", "ok", "x"], pa.large_string()),
        }
    )
    load_run(warehouse, lake, write_run(lake, RUN_1, [part], obj="Account"))

    types = _types(database, "account")
    assert {k: v for k, v in types.items() if not k.startswith("_sg_")} == {
        "Id": "text",
        "NumberOfEmployees": "bigint",
        "Rating__c": "integer",
        "AnnualRevenue": "double precision",
        "CloseDate": "date",
        "SystemModstamp": "timestamp with time zone",
        "Berlin_Time__c": "timestamp with time zone",
        "IsDeleted": "boolean",
        "Description": "text",
        "Name": "text",
    }
    columns = ", ".join(f'"{name}"' for name in part.column_names)
    rows = query(database, f"SELECT {columns} FROM raw_salesforce.account ORDER BY 1")
    assert rows == [tuple(row.values()) for row in part.to_pylist()]


def test_a_field_spelled_in_another_case_lands_in_its_column(
    lake: Lake, warehouse: PostgresWarehouse, database: str
) -> None:
    # Salesforce field names are case-insensitive; DuckDB matches them so, and PostgreSQL must too.
    load_run(warehouse, lake, write_run(lake, RUN_1, [leads(["00Q1"])]))
    respelled = leads(["00Q2"]).rename_columns(["ID", "createddate", "AI_GENERATED__C", "lead_score__c"])
    result = load_run(warehouse, lake, write_run(lake, RUN_2, [respelled]))
    assert result.added_columns == ()
    assert query(database, 'SELECT "Id" FROM raw_salesforce.lead ORDER BY 1') == [("00Q1",), ("00Q2",)]


def test_changed_column_type_is_refused(lake: Lake, warehouse: PostgresWarehouse) -> None:
    load_run(warehouse, lake, write_run(lake, RUN_1, [leads(["00Q1"])]))
    changed = leads(["00Q2"]).set_column(3, "Lead_Score__c", pa.array([50.7]))
    with pytest.raises(
        WarehouseError,
        match=r"'Lead_Score__c' .* is double precision, but raw_salesforce.lead.Lead_Score__c is numeric\(18,2\)",
    ):
        load_run(warehouse, lake, write_run(lake, RUN_2, [changed]))
    assert loaded_runs(warehouse, "Lead") == {RUN_1}


def test_unmapped_arrow_type_is_refused_by_name(lake: Lake, warehouse: PostgresWarehouse) -> None:
    part = leads(["00Q1"], Photo__c=pa.array([b"\x89PNG"], pa.binary()))
    with pytest.raises(WarehouseError, match=r"does not map: Photo__c \(binary\)"):
        load_run(warehouse, lake, write_run(lake, RUN_1, [part]))
    assert loaded_runs(warehouse, "Lead") == set()


def test_a_part_larger_than_one_batch_streams_whole(lake: Lake, warehouse: PostgresWarehouse, database: str) -> None:
    ids = [f"00Q{i:07d}" for i in range(150_000)]  # over two of the loader's 65,536-row batches
    result = load_run(warehouse, lake, write_run(lake, RUN_1, [leads(ids)]))
    assert result.rows == row_count(warehouse, "Lead") == len(ids)
    assert query(database, 'SELECT count(DISTINCT "Id"), min("Id"), max("Id") FROM raw_salesforce.lead') == [
        (len(ids), ids[0], ids[-1])
    ]


def test_concurrent_loaders_queue_instead_of_racing(lake: Lake, database: str) -> None:
    # Without the load lock, simultaneous CREATE SCHEMA / CREATE TABLE IF NOT EXISTS fail on a unique index.
    objects = ["Lead", "Contact", "Account", "Task", "Opportunity", "Case"]
    manifests = [write_run(lake, RUN_1, [leads([f"{obj}1", f"{obj}2"])], obj=obj) for obj in objects]
    with ThreadPoolExecutor(len(manifests)) as pool:
        results = list(pool.map(lambda m: load_run(PostgresWarehouse(database), lake, m), manifests))
    assert [r.rows for r in results] == [2] * len(objects)
    assert query(database, "SELECT count(*) FROM raw_salesforce._sg_loads") == [(len(objects),)]


def test_unreachable_server_says_where_and_what_to_check(postgres: PostgresInfo) -> None:
    with pytest.raises(WarehouseError) as failed:
        row_count(PostgresWarehouse(f"host=127.0.0.1 port={postgres.port + 1} dbname=synthgov user=app"), "Lead")
    message = str(failed.value)
    assert (
        f"cannot connect to the PostgreSQL warehouse at 127.0.0.1:{postgres.port + 1}, database 'synthgov'" in message
    )
    assert "Check that the server runs and listens there" in message
    with pytest.raises(WarehouseError, match=r"database 'nope'.*database \"nope\" does not exist"):
        loaded_runs(PostgresWarehouse(postgres.dsn_for("nope")), "Lead")


def test_a_malformed_dsn_is_refused_without_echoing_it() -> None:
    with pytest.raises(WarehouseError, match=r"neither a libpq 'key=value \.\.\.' string") as failed:
        PostgresWarehouse("host=db password=hunter2 oops")
    assert "hunter2" not in str(failed.value)
    assert failed.value.__cause__ is None


def test_open_warehouse_picks_the_backend_from_the_environment(
    postgres: PostgresInfo, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SYNTHGOV_WAREHOUSE", "SYNTHGOV_PG_DSN", "SYNTHGOV_PG_USER", "SYNTHGOV_PG_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SYNTHGOV_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    default = open_warehouse()
    assert isinstance(default, DuckDBWarehouse) and default.path == tmp_path / "wh.duckdb"

    monkeypatch.setenv("SYNTHGOV_WAREHOUSE", "postgres")
    monkeypatch.setenv("SYNTHGOV_PG_DSN", database)
    by_dsn = open_warehouse()
    assert isinstance(by_dsn, PostgresWarehouse)
    assert row_count(by_dsn, "Lead") == 0  # it connects

    monkeypatch.delenv("SYNTHGOV_PG_DSN")
    monkeypatch.setenv("SYNTHGOV_PG_HOST", postgres.host)
    monkeypatch.setenv("SYNTHGOV_PG_PORT", str(postgres.port))
    monkeypatch.setenv("SYNTHGOV_PG_USER", postgres.user)
    monkeypatch.setenv("SYNTHGOV_PG_DATABASE", postgres.database)
    by_parts = open_warehouse()
    assert isinstance(by_parts, PostgresWarehouse)
    assert (by_parts.host, by_parts.port, by_parts.database) == (postgres.host, str(postgres.port), "synthgov")
    assert loaded_runs(by_parts, "Lead") == set()
    monkeypatch.setenv("SYNTHGOV_PG_PASSWORD", "it's a secret")
    assert "password='it\\'s a secret'" in postgres_dsn()  # quoted, so it stays one value

    monkeypatch.setenv("SYNTHGOV_PG_PORT", "54x")
    with pytest.raises(WarehouseError, match="SYNTHGOV_PG_PORT must be a TCP port number, got '54x'"):
        open_warehouse()
    monkeypatch.setenv("SYNTHGOV_WAREHOUSE", "snowflake")
    with pytest.raises(WarehouseError, match="SYNTHGOV_WAREHOUSE must be 'duckdb' or 'postgres', got 'snowflake'"):
        open_warehouse()


def _load_everything(warehouse: Warehouse, lake: Lake, objects: list[str], media: list[dict[str, Any]]) -> int:
    """What the nightly load task does (synthgov.extract.run.load_all), on any backend; returns the rows loaded."""
    results = load_pending(warehouse, lake, objects)
    results += [load_run(warehouse, lake, manifest) for manifest in media]
    return sum(r.rows for r in results)


_LAYOUT_SQL = (
    "SELECT table_name, column_name FROM information_schema.columns "
    "WHERE table_schema IN ('raw_salesforce', 'raw_synthgov') ORDER BY table_name, ordinal_position"
)


def _layout(rows: list[tuple[Any, ...]]) -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(str(table), []).append(str(column))
    return tables


def test_the_demo_org_extracted_and_loaded_matches_duckdb(
    org: SandboxProcess, tmp_path: Path, warehouse: PostgresWarehouse, database: str
) -> None:
    lake = LocalLake(tmp_path / "lake")
    config = load_config()
    credentials = Credentials(
        instance_url=org.instance_url,
        client_id=org.ready["client_id"],
        client_secret=org.ready["client_secret"],
        ca_bundle=org.ca_bundle,
    )
    report = extract_all(
        SalesforceConnection(credentials),
        lake,
        config,
        Settings(home=tmp_path, window_lag_seconds=0, bulk_poll_seconds=0),
    )
    assert report.stopped is None and report.media is not None
    objects = [spec.name for spec in config.objects]
    media_rows = sum(int(m["rows"]) for m in report.media.manifests)
    duckdb_warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")

    pg_rows = _load_everything(warehouse, lake, objects, report.media.manifests)
    duck_rows = _load_everything(duckdb_warehouse, lake, objects, report.media.manifests)

    assert pg_rows == duck_rows == sum(o.rows for o in report.objects) + media_rows
    with warehouse, duckdb_warehouse:
        for obj in [*objects, FINDINGS_OBJECT]:
            assert row_count(warehouse, obj) == row_count(duckdb_warehouse, obj) > 0, obj
            assert loaded_runs(warehouse, obj) == loaded_runs(duckdb_warehouse, obj), obj
        assert load_pending(warehouse, lake, objects) == []  # a second nightly load finds nothing new
    # The same layout on both: the same tables, with the same columns in the same order.
    with duckdb.connect(str(duckdb_warehouse.path), read_only=True) as con:
        duck_layout = _layout(con.execute(_LAYOUT_SQL).fetchall())
    pg_layout = _layout(query(database, _LAYOUT_SQL))
    assert pg_layout == duck_layout
    assert set(pg_layout) == {obj.lower() for obj in [*objects, FINDINGS_OBJECT]} | {"_sg_loads", "_sg_purged"}
    # And the same content, down to the provenance flags the governance models read.
    ai_leads = 'SELECT count(*) FROM raw_salesforce.lead WHERE "AI_Generated__c"'
    with duckdb.connect(str(duckdb_warehouse.path), read_only=True) as con:
        assert query(database, ai_leads) == con.execute(ai_leads).fetchall() != [(0,)]
