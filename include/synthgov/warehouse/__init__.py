"""The warehouse: DuckDB (the embedded default, a file) or PostgreSQL, chosen by ``SYNTHGOV_WAREHOUSE``.

``open_warehouse()`` is the way in: it returns the warehouse the settings name, the same one dbt's
target follows (``synthgov.settings.dbt_target``). ``open_warehouse_at(...)`` opens one from explicit
parameters instead (what Airflow's warehouse connection holds). Both backends share one contract
(``synthgov.warehouse.base.Warehouse``) and one table layout; the raw-schema loader
(``synthgov.warehouse.raw_loader``) appends the lake's runs and purges records through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from synthgov.settings import SettingsError, warehouse_kind
from synthgov.warehouse.base import (
    LOADED_AT_COLUMN,
    LOADS_TABLE,
    PURGED_TABLE,
    RAW_SCHEMA,
    RUN_ID_COLUMN,
    SYNTHGOV_SCHEMA,
    Warehouse,
    WarehouseError,
    WarehouseQueryError,
    raw_schema,
    table_name,
)
from synthgov.warehouse.duckdb_warehouse import DuckDBWarehouse
from synthgov.warehouse.postgres_warehouse import PostgresWarehouse, dsn_from_parts, postgres_dsn
from synthgov.warehouse.raw_loader import (
    PURGED_FINDINGS,
    LoadResult,
    load_pending,
    load_run,
    loaded_runs,
    record_purged,
    row_count,
)

__all__ = [
    "LOADED_AT_COLUMN",
    "LOADS_TABLE",
    "PURGED_FINDINGS",
    "PURGED_TABLE",
    "RAW_SCHEMA",
    "RUN_ID_COLUMN",
    "SYNTHGOV_SCHEMA",
    "DuckDBWarehouse",
    "LoadResult",
    "PostgresWarehouse",
    "Warehouse",
    "WarehouseError",
    "WarehouseQueryError",
    "load_pending",
    "load_run",
    "loaded_runs",
    "open_warehouse",
    "open_warehouse_at",
    "postgres_dsn",
    "raw_schema",
    "record_purged",
    "row_count",
    "table_name",
]


def open_warehouse() -> Warehouse:
    """The warehouse the environment names: ``SYNTHGOV_WAREHOUSE=duckdb`` (default) or ``postgres``."""
    try:
        kind = warehouse_kind()
    except SettingsError as exc:
        raise WarehouseError(str(exc)) from None
    if kind == "postgres":
        return PostgresWarehouse(postgres_dsn())
    return DuckDBWarehouse()


def open_warehouse_at(
    kind: str,
    *,
    duckdb_path: Path | None = None,
    postgres: Mapping[str, str] | None = None,
    source: str,
) -> Warehouse:
    """The warehouse these parameters name, whatever the environment says.

    ``kind`` is ``duckdb`` (``duckdb_path``: the file, made absolute) or ``postgres`` (``postgres``: libpq
    keywords ``host``, ``port``, ``user``, ``password``, ``dbname``; empty ones are left to libpq).
    ``source`` says where the parameters came from (e.g. an Airflow connection), for error messages.
    """
    if kind == "duckdb":
        if duckdb_path is None:
            raise WarehouseError(f"{source} names a DuckDB warehouse but no file: set its path")
        return DuckDBWarehouse(duckdb_path, source=source)
    if kind == "postgres":
        parts = dict(postgres or {})
        port = parts.get("port", "")
        if port and (not port.isdigit() or not 0 < int(port) < 65536):
            raise WarehouseError(f"{source}: the port must be a TCP port number, got {port!r}")
        return PostgresWarehouse(dsn_from_parts(parts), source=source)
    raise WarehouseError(f"{source} names a warehouse of kind {kind!r}; synthgov knows 'duckdb' and 'postgres'")
