"""The DuckDB warehouse (the embedded default): one file, one writer at a time.

DuckDB allows one writer per file: open a warehouse per task (Airflow's warehouse tasks share a
one-slot pool) rather than holding it open.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from synthgov.settings import DUCKDB_PATH, duckdb_path
from synthgov.warehouse.base import (
    BATCH_ROWS,
    LOADED_AT_COLUMN,
    RUN_ID_COLUMN,
    Session,
    Warehouse,
    WarehouseError,
    quote,
)

# Arrow's null type (a column with no values in this part) has no useful DuckDB column type.
_DUCKDB_NULL_TYPE = '"NULL"'


class _DuckDBSession(Session):
    param = "?"
    errors = (duckdb.Error,)

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def begin_load(self) -> None:
        self.con.begin()

    def commit(self) -> None:
        self.con.commit()

    def rollback(self) -> None:
        self.con.rollback()

    def close(self) -> None:
        self.con.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        row = self.con.execute(sql, list(params)).fetchone()
        return int(row[0]) if row else 0

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, list(params)).fetchall()

    def columns(self, schema: str, name: str) -> dict[str, tuple[str, str]]:
        rows = self.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, name],
        )
        return {str(column).lower(): (str(column), str(dtype)) for column, dtype in rows}

    def column_types(self, schema: pa.Schema, where: str) -> dict[str, str | None]:
        # DuckDB's own Arrow mapping, so the types are exactly what an insert from Arrow would create.
        types = (str(t) for t in self.con.from_arrow(schema.empty_table()).dtypes)
        return {name: None if t == _DUCKDB_NULL_TYPE else t for name, t in zip(schema.names, types, strict=True)}

    def index_raw_table(self, schema: str, name: str) -> None:
        # None: DuckDB scans columnar data with zone maps (min/max per row group on _sg_loaded_at), so an
        # ART index would only slow every append.
        return None

    def insert(
        self, table: str, parquet: pq.ParquetFile, targets: dict[str, str], run_id: str, loaded_at: datetime
    ) -> int:
        schema = parquet.schema_arrow
        batches = pa.RecordBatchReader.from_batches(schema, parquet.iter_batches(batch_size=BATCH_ROWS))
        # BY NAME matches names case-insensitively, as `columns` does; null-typed columns stay out and stay NULL.
        selected = "".join(f"{quote(name)}, " for name in targets)
        self.con.register("_sg_part", batches)
        try:
            return self.execute(
                f"INSERT INTO {table} BY NAME SELECT {selected}?::VARCHAR AS {RUN_ID_COLUMN}, "
                f"?::TIMESTAMP AS {LOADED_AT_COLUMN} FROM _sg_part",
                [run_id, loaded_at],
            )
        finally:
            self.con.unregister("_sg_part")


class DuckDBWarehouse(Warehouse):
    """The DuckDB warehouse: one file (``SYNTHGOV_DUCKDB_PATH``, else ``<SYNTHGOV_HOME>/warehouse.duckdb``)."""

    def __init__(self, path: Path | None = None, *, source: str = DUCKDB_PATH.name) -> None:
        """``source``: what named the file, for error messages (default: the SYNTHGOV_DUCKDB_PATH variable)."""
        super().__init__()
        self.path = Path(path).expanduser().resolve() if path is not None else duckdb_path()
        self.source = source

    @property
    def description(self) -> str:
        return f"duckdb {self.path}"

    @property
    def lineage_namespace(self) -> str:
        return f"duckdb://{self.path}"

    def dataset_name(self, table: str) -> str:
        # ``<catalog>.<schema>.<table>``: DuckDB names an attached file's catalog after its stem.
        return f"{self.path.stem}.{table}"

    def exists(self) -> bool:
        return self.path.exists()

    def _open(self) -> Session:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return _DuckDBSession(duckdb.connect(str(self.path)))
        except (OSError, duckdb.Error) as exc:
            raise WarehouseError(
                f"cannot open the DuckDB warehouse {self.path}: {exc}; DuckDB allows one writer at a time, so "
                f"check that no other process holds the file, or change {self.source}"
            ) from exc
