"""The warehouse: DuckDB (the embedded default, a file) or PostgreSQL, chosen by ``SYNTHGOV_WAREHOUSE``.

``open_warehouse()`` is the way in: it returns the warehouse the settings name, the same one dbt's
target follows (``synthgov.settings.dbt_target``). Both backends share one contract
(``synthgov.warehouse.base.Warehouse``) and one table layout; the raw-schema loader
(``synthgov.warehouse.raw_loader``) appends the lake's runs and purges records through it.
"""

from __future__ import annotations

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
from synthgov.warehouse.postgres_warehouse import PostgresWarehouse, postgres_dsn
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
