"""Loading extractor runs from the lake (local folder and S3 on moto) into the warehouse.

The load contract (idempotence, schema evolution, integrity checks, pending runs) is tested on both
backends, DuckDB and PostgreSQL; what only one of them has is tested beside it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthgov.lake import Lake, LocalLake, manifest_key, raw_part_key
from synthgov.lake.layout import FINDINGS_NAME, findings_prefix, run_folder
from synthgov.lake.runs import write_one_part_run
from synthgov.settings import duckdb_path
from synthgov.warehouse import (
    DuckDBWarehouse,
    PostgresWarehouse,
    Warehouse,
    WarehouseError,
    load_pending,
    load_run,
    loaded_runs,
    record_purged,
    row_count,
)
from tests.lake_runs import DAY, RUN_1, RUN_2, RUN_3
from tests.lake_runs import leads as _leads
from tests.lake_runs import write_run as _write_run
from tests.postgres import query as pg_query

pytestmark = pytest.mark.integration


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    return DuckDBWarehouse(tmp_path / "warehouse.duckdb")


@dataclass
class Backend:
    warehouse: Warehouse
    query: Callable[[str], list[tuple[Any, ...]]]


@pytest.fixture(params=["duckdb", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "duckdb":
        duck = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
        return Backend(duck, lambda sql: _query(duck, sql))
    dsn: str = request.getfixturevalue("database")
    return Backend(PostgresWarehouse(dsn), lambda sql: pg_query(dsn, sql))


def _query(warehouse: DuckDBWarehouse, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_load_run(lake: Lake, warehouse: DuckDBWarehouse) -> None:
    manifest = _write_run(lake, RUN_1, [_leads(["00Q1", "00Q2"]), _leads(["00Q3"])])
    result = load_run(warehouse, lake, manifest)

    assert (result.object, result.run_id, result.table) == ("Lead", RUN_1, "raw_salesforce.lead")
    assert (result.rows, result.files, result.replaced_rows, result.added_columns) == (3, 2, 0, ())
    assert row_count(warehouse, "Lead") == 3
    assert loaded_runs(warehouse, "Lead") == {RUN_1}
    rows = _query(
        warehouse,
        'SELECT "Id", "CreatedDate", "Lead_Score__c", _sg_run_id, _sg_loaded_at FROM raw_salesforce.lead ORDER BY 1',
    )
    assert [r[0] for r in rows] == ["00Q1", "00Q2", "00Q3"]
    assert rows[0][1] == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert rows[0][2] == Decimal("50.25")
    assert {r[3] for r in rows} == {RUN_1}
    assert {r[4] for r in rows} == {result.loaded_at}
    types = dict(
        _query(warehouse, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'lead'")
    )
    assert types["CreatedDate"] == "TIMESTAMP WITH TIME ZONE"
    assert types["_sg_run_id"] == "VARCHAR"
    assert types["_sg_loaded_at"] == "TIMESTAMP"
    (load,) = _query(warehouse, "SELECT object, run_id, rows, files FROM raw_salesforce._sg_loads")
    assert load[:3] == ("Lead", RUN_1, 3)
    assert [f["key"] for f in json.loads(load[3])] == [f["key"] for f in manifest["files"]]


def test_retried_load_does_not_double_rows(lake: Lake, backend: Backend) -> None:
    manifest = _write_run(lake, RUN_1, [_leads(["00Q1", "00Q2"])])
    load_run(backend.warehouse, lake, manifest)
    again = load_run(backend.warehouse, lake, manifest)
    assert again.replaced_rows == 2
    assert row_count(backend.warehouse, "Lead") == 2
    assert backend.query("SELECT count(*) FROM raw_salesforce._sg_loads") == [(1,)]


def test_schema_evolution(lake: Lake, backend: Backend) -> None:
    load_run(backend.warehouse, lake, _write_run(lake, RUN_1, [_leads(["00Q1"])]))
    second = load_run(
        backend.warehouse,
        lake,
        _write_run(lake, RUN_2, [_leads(["00Q2"], Score_Model__c=["gbm-v3"]).drop_columns(["Lead_Score__c"])]),
    )
    assert second.added_columns == ("Score_Model__c",)
    rows = backend.query('SELECT "Id", "Lead_Score__c", "Score_Model__c" FROM raw_salesforce.lead ORDER BY 1')
    assert rows == [("00Q1", Decimal("50.25"), None), ("00Q2", None, "gbm-v3")]


def test_schema_evolution_within_one_run_and_null_typed_columns(lake: Lake, backend: Backend) -> None:
    manifest = _write_run(
        lake,
        RUN_1,
        [
            _leads(["00Q1"], Description=pa.array([None], pa.null())),
            _leads(["00Q2"], Description=["written by a person"]),
        ],
    )
    result = load_run(backend.warehouse, lake, manifest)
    assert result.added_columns == ("Description",)
    assert backend.query('SELECT "Id", "Description" FROM raw_salesforce.lead ORDER BY 1') == [
        ("00Q1", None),
        ("00Q2", "written by a person"),
    ]


def test_changed_column_type_is_refused(lake: Lake, warehouse: DuckDBWarehouse) -> None:
    load_run(warehouse, lake, _write_run(lake, RUN_1, [_leads(["00Q1"])]))
    changed = _leads(["00Q2"]).set_column(3, "Lead_Score__c", pa.array([50.7]))
    with pytest.raises(WarehouseError, match=r"'Lead_Score__c' .* is DOUBLE, but raw_salesforce.lead.Lead_Score__c"):
        load_run(warehouse, lake, _write_run(lake, RUN_2, [changed]))
    assert loaded_runs(warehouse, "Lead") == {RUN_1}


def test_sha_mismatch_loads_nothing(lake: Lake, backend: Backend) -> None:
    manifest = _write_run(lake, RUN_1, [_leads(["00Q1"]), _leads(["00Q2"])])
    tampered = manifest["files"][1]["key"]
    buffer = io.BytesIO()
    pq.write_table(_leads(["00Qevil"]), buffer)
    lake.put_bytes(tampered, buffer.getvalue())

    with pytest.raises(WarehouseError, match=rf"{lake.uri(tampered)} has SHA-256 .* but the manifest"):
        load_run(backend.warehouse, lake, manifest)
    assert row_count(backend.warehouse, "Lead") == 0  # the first, intact part was rolled back with the run
    assert loaded_runs(backend.warehouse, "Lead") == set()


def test_missing_part_and_row_count_mismatch(lake: Lake, backend: Backend) -> None:
    manifest = _write_run(lake, RUN_1, [_leads(["00Q1", "00Q2"])])
    wrong_rows = json.loads(json.dumps(manifest))
    wrong_rows["files"][0]["rows"] = 3
    with pytest.raises(WarehouseError, match=r"holds 2 rows, but the manifest .* says 3"):
        load_run(backend.warehouse, lake, wrong_rows)
    lake.delete(manifest["files"][0]["key"])
    with pytest.raises(WarehouseError, match=r"is listed in the manifest of Lead run .* but missing"):
        load_run(backend.warehouse, lake, manifest)
    assert row_count(backend.warehouse, "Lead") == 0


@pytest.mark.parametrize(
    ("manifest", "match"),
    [
        ({"object": "Lead; DROP", "run_id": RUN_1, "files": []}, "'object' must be"),
        ({"object": "Lead", "files": []}, "'run_id' must be"),
        ({"object": "Lead", "run_id": RUN_1}, "'files' must be a list"),
        ({"object": "Lead", "run_id": RUN_1, "files": [{"key": "k", "rows": 1, "sha256": "x"}]}, "sha256"),
        ({"object": "Lead", "run_id": RUN_1, "files": [{"key": "k", "rows": -1, "sha256": "0" * 64}]}, "rows"),
    ],
)
def test_malformed_manifest(tmp_path: Path, warehouse: DuckDBWarehouse, manifest: dict[str, Any], match: str) -> None:
    with pytest.raises(WarehouseError, match=match):
        load_run(warehouse, LocalLake(tmp_path / "lake"), manifest)


def test_empty_run_is_recorded(lake: Lake, backend: Backend) -> None:
    result = load_run(backend.warehouse, lake, _write_run(lake, RUN_1, []))
    assert (result.rows, result.files) == (0, 0)
    assert loaded_runs(backend.warehouse, "Lead") == {RUN_1}
    assert row_count(backend.warehouse, "Lead") == 0


def test_keyword_object_names_are_quoted(lake: Lake, backend: Backend) -> None:
    order = pa.table({"Id": ["801A"], "Status": ["Draft"]})
    result = load_run(backend.warehouse, lake, _write_run(lake, RUN_1, [order], obj="Order"))
    assert result.table == "raw_salesforce.order"
    assert row_count(backend.warehouse, "Order") == 1


def test_load_pending_picks_only_new_runs_in_order(lake: Lake, backend: Backend) -> None:
    assert load_pending(backend.warehouse, lake, ["Lead", "Contact"]) == []
    # Written out of order, and RUN_3 on a later run_date folder than RUN_2.
    _write_run(lake, RUN_2, [_leads(["00Q2"])])
    _write_run(lake, RUN_1, [_leads(["00Q1"])])
    _write_run(lake, RUN_1, [pa.table({"Id": ["003A"]})], obj="Contact")
    lake.put_bytes(raw_part_key("Lead", DAY, "20261105T090000Z-dddd", 0), b"a run still being written")

    first = load_pending(backend.warehouse, lake, ["Lead", "Contact"])
    assert [(r.run_id, r.object) for r in first] == [(RUN_1, "Lead"), (RUN_1, "Contact"), (RUN_2, "Lead")]
    loaded_at = dict(backend.query('SELECT "Id", _sg_loaded_at FROM raw_salesforce.lead'))
    assert loaded_at["00Q1"] <= loaded_at["00Q2"]

    _write_run(lake, RUN_3, [_leads(["00Q3"])], run_date=date(2026, 11, 4))
    with backend.warehouse:
        second = load_pending(backend.warehouse, lake, ["Lead", "Contact"])
        assert [(r.run_id, r.object) for r in second] == [(RUN_3, "Lead")]
        assert load_pending(backend.warehouse, lake, ["Lead", "Contact"]) == []
        assert row_count(backend.warehouse, "Lead") == 3
        assert loaded_runs(backend.warehouse, "Lead") == {RUN_1, RUN_2, RUN_3}


def test_load_pending_refuses_a_manifest_at_the_wrong_key(lake: Lake, warehouse: DuckDBWarehouse) -> None:
    manifest = _write_run(lake, RUN_1, [_leads(["00Q1"])])
    lake.put_bytes(manifest_key("Lead", DAY, RUN_2), json.dumps(manifest).encode())
    with pytest.raises(
        WarehouseError, match=rf"says object 'Lead' run '{RUN_1}', but its key says 'Lead' run '{RUN_2}'"
    ):
        load_pending(warehouse, lake, ["Lead"])


def test_load_pending_refuses_unreadable_manifest(lake: Lake, warehouse: DuckDBWarehouse) -> None:
    lake.put_bytes(manifest_key("Lead", DAY, RUN_1), b"{not json")
    with pytest.raises(WarehouseError, match="is not valid JSON"):
        load_pending(warehouse, lake, ["Lead"])


def test_unopenable_warehouse_file(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(b"this is not a duckdb file")
    with pytest.raises(WarehouseError, match=rf"cannot open the DuckDB warehouse {path}"):
        row_count(DuckDBWarehouse(path), "Lead")


def test_duckdb_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SYNTHGOV_DUCKDB_PATH", raising=False)
    monkeypatch.setenv("SYNTHGOV_HOME", "state")
    assert duckdb_path() == tmp_path.resolve() / "state" / "warehouse.duckdb"
    monkeypatch.setenv("SYNTHGOV_DUCKDB_PATH", "data/wh.duckdb")
    assert duckdb_path() == tmp_path.resolve() / "data" / "wh.duckdb"
    monkeypatch.setenv("SYNTHGOV_DUCKDB_PATH", str(tmp_path / "abs.duckdb"))
    assert duckdb_path() == tmp_path / "abs.duckdb"
    assert DuckDBWarehouse().path == tmp_path / "abs.duckdb"


def test_load_result_says_where_the_run_lives(lake: Lake, warehouse: DuckDBWarehouse) -> None:
    manifest = _write_run(lake, RUN_1, [_leads(["00Q1"])])
    given = load_run(warehouse, lake, manifest)
    assert given.manifest_key == manifest_key("Lead", DAY, RUN_1)
    assert given.folder == run_folder(given.manifest_key)
    _write_run(lake, RUN_2, [])  # a run without parts: its folder is still known, from the key it was found at
    (pending,) = load_pending(warehouse, lake, ["Lead"])
    assert (pending.folder, pending.manifest_key) == (
        run_folder(manifest_key("Lead", DAY, RUN_2)),
        manifest_key("Lead", DAY, RUN_2),
    )


def _findings_run(lake: Lake, run_id: str, ids: list[str]) -> dict[str, Any]:
    findings = pa.table({"record_id": pa.array(ids, pa.string()), "status": ["no_manifest"] * len(ids)})
    folder = findings_prefix(DAY, run_id)
    return write_one_part_run(
        lake, folder, "ContentVersion_Media", DAY, run_id, findings, part_name=FINDINGS_NAME
    ).to_json()


def test_synthgov_findings_go_to_their_own_schema(lake: Lake, backend: Backend) -> None:
    result = load_run(backend.warehouse, lake, _findings_run(lake, RUN_1, ["068A"]))
    assert (result.table, result.folder) == ("raw_synthgov.contentversion_media", findings_prefix(DAY, RUN_1))
    assert backend.query("SELECT record_id FROM raw_synthgov.contentversion_media") == [("068A",)]
    assert backend.query("SELECT object, run_id FROM raw_salesforce._sg_loads") == [("ContentVersion_Media", RUN_1)]
    assert not backend.warehouse.has_table("raw_salesforce", "contentversion_media")
    record_purged(backend.warehouse, {"ContentVersion": ["068A"]}, "purge-1", datetime(2026, 11, 3, tzinfo=UTC))
    assert row_count(backend.warehouse, "ContentVersion_Media") == 0


def test_findings_of_a_warehouse_from_before_raw_synthgov_move_there(lake: Lake, backend: Backend) -> None:
    """Such a warehouse keeps the findings in raw_salesforce; the next load moves them, nothing reloads."""
    load_run(backend.warehouse, lake, _findings_run(lake, RUN_1, ["068A", "068B"]))
    with backend.warehouse.session() as s:  # put the table where the loader used to write it
        s.begin_load()
        s.execute("CREATE TABLE raw_salesforce.contentversion_media AS SELECT * FROM raw_synthgov.contentversion_media")
        s.execute("DROP TABLE raw_synthgov.contentversion_media")
        s.commit()

    load_run(backend.warehouse, lake, _findings_run(lake, RUN_2, ["068C"]))

    assert not backend.warehouse.has_table("raw_salesforce", "contentversion_media")
    rows = backend.query("SELECT record_id, _sg_run_id FROM raw_synthgov.contentversion_media ORDER BY 1")
    assert rows == [("068A", RUN_1), ("068B", RUN_1), ("068C", RUN_2)]
