"""The warehouse hook: an Airflow connection becomes synthgov's Warehouse (PostgreSQL or a DuckDB file).

The connection (id ``synthgov_warehouse``, or ``SYNTHGOV_WAREHOUSE_CONN_ID``) is either

- conn_type ``postgres``: host, port, login, password, and schema = the database (Airflow's usual
  meaning of a Postgres connection's schema); or
- conn_type ``synthgov_duckdb`` (registered by this package's provider info): the file in the extra
  ``path`` or the host field, made absolute.

When the connection does not exist, the environment decides, as outside Airflow
(``synthgov.warehouse.open_warehouse``: ``SYNTHGOV_WAREHOUSE``, ``SYNTHGOV_PG_*``,
``SYNTHGOV_DUCKDB_PATH``), so a deployment without the connection works as before. The connection is
read when a task runs, never when a DAG is parsed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException, AirflowNotFoundException

from synthgov import settings

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from synthgov.warehouse import Warehouse

DUCKDB_CONN_TYPE = "synthgov_duckdb"
POSTGRES_CONN_TYPES = ("postgres", "postgresql")


@dataclass(frozen=True)
class WarehouseTarget:
    """Where the warehouse is: its kind, the DuckDB file or the libpq keywords, and what said so."""

    kind: settings.WarehouseKind
    source: str
    duckdb_path: Path | None = None
    postgres: dict[str, str] = field(default_factory=dict, repr=False)  # may hold the password
    conn_id: str | None = None  # None: from the environment


class WarehouseHook(BaseHook):
    """Open the warehouse a ``postgres`` or ``synthgov_duckdb`` connection names (else the environment's).

    Registered for the ``synthgov_duckdb`` connection type, so the UI's form and *Test* button know it;
    ``PostgresWarehouseHook`` is the same hook registered for ``postgres``.
    """

    conn_name_attr = "warehouse_conn_id"
    default_conn_name = settings.WAREHOUSE_CONN_ID.default
    conn_type = DUCKDB_CONN_TYPE
    hook_name = "DuckDB warehouse (synthgov)"

    def __init__(self, warehouse_conn_id: str | None = None) -> None:
        super().__init__()
        self.warehouse_conn_id = warehouse_conn_id or settings.warehouse_conn_id()

    def _connection(self) -> Connection | None:
        try:
            return self.get_connection(self.warehouse_conn_id)
        except AirflowNotFoundException:
            return None

    def get_target(self) -> WarehouseTarget:
        """The connection's warehouse, or the environment's when there is no such connection."""
        conn = self._connection()
        if conn is None:
            return _target_from_env()
        where = f"the Airflow connection {self.warehouse_conn_id!r}"
        conn_type = (conn.conn_type or "").lower()
        if conn_type == DUCKDB_CONN_TYPE:
            raw = str(conn.extra_dejson.get("path") or "").strip() or (conn.host or "").strip()
            if not raw:
                raise AirflowException(
                    f"{where} ({DUCKDB_CONN_TYPE}) names no file: set the extra 'path' (or the host)"
                )
            path = Path(raw).expanduser().resolve()
            return WarehouseTarget("duckdb", where, duckdb_path=path, conn_id=self.warehouse_conn_id)
        if conn_type in POSTGRES_CONN_TYPES:
            if not conn.host or not conn.schema:
                raise AirflowException(
                    f"{where} (postgres) needs a host and a schema (the database's name); it has "
                    f"host={conn.host or ''!r}, schema={conn.schema or ''!r}"
                )
            parts = {
                "host": conn.host,
                "port": str(conn.port or 5432),
                "user": conn.login or "",
                "password": conn.password or "",
                "dbname": conn.schema,
            }
            return WarehouseTarget("postgres", where, postgres=parts, conn_id=self.warehouse_conn_id)
        raise AirflowException(
            f"{where} has conn_type {conn.conn_type!r}; "
            f"the warehouse is a 'postgres' or '{DUCKDB_CONN_TYPE}' connection"
        )

    def get_conn(self) -> Warehouse:
        """The warehouse (a new object each call: a Warehouse opens a session per use)."""
        from synthgov.warehouse import WarehouseError, open_warehouse, open_warehouse_at

        target = self.get_target()
        try:
            if target.conn_id is None:
                return open_warehouse()
            return open_warehouse_at(
                target.kind, duckdb_path=target.duckdb_path, postgres=target.postgres, source=target.source
            )
        except WarehouseError as exc:
            raise AirflowException(str(exc)) from None

    def test_connection(self) -> tuple[bool, str]:
        """PostgreSQL: connect and ``select 1``. DuckDB: open the file and ``select 1``, or, before the
        first load made it, check that its folder can be written."""
        from synthgov.warehouse import DuckDBWarehouse, WarehouseError

        try:
            warehouse = self.get_conn()
            if isinstance(warehouse, DuckDBWarehouse) and not warehouse.path.exists():
                return _duckdb_folder_writable(warehouse.path)
            rows = warehouse.query("select 1")
        except (AirflowException, WarehouseError) as exc:
            return False, str(exc)
        if rows != [(1,)]:
            return False, f"{warehouse.description} answered {rows!r} to select 1"
        return True, f"connected to {warehouse.description}"


class PostgresWarehouseHook(WarehouseHook):
    """The warehouse hook for ``postgres`` connections (the UI's *Test* button on the warehouse's connection)."""

    conn_type = "postgres"
    hook_name = "PostgreSQL warehouse (synthgov)"


def _target_from_env() -> WarehouseTarget:
    try:
        kind = settings.warehouse_kind()
    except settings.SettingsError as exc:
        raise AirflowException(str(exc)) from None
    source = f"the environment ({settings.WAREHOUSE.name})"
    if kind == "duckdb":
        return WarehouseTarget("duckdb", source, duckdb_path=settings.duckdb_path())
    return WarehouseTarget("postgres", source)


def _duckdb_folder_writable(path: Path) -> tuple[bool, str]:
    """Before the first load: it creates the file (and folders) if the nearest existing folder is writable."""
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return False, f"the DuckDB file {path} does not exist and {folder} is not a writable folder to create it in"
    return True, f"the DuckDB file {path} does not exist yet; the first load creates it ({folder} is writable)"


def open_airflow_warehouse(conn_id: str | None = None) -> Warehouse:
    """The warehouse for a task: the connection's if it exists, else the environment's."""
    return WarehouseHook(conn_id).get_conn()


def warehouse_kind(conn_id: str | None = None) -> settings.WarehouseKind:
    """``duckdb`` or ``postgres``, from the connection if it exists (else the environment), for sizing the pool."""
    return WarehouseHook(conn_id).get_target().kind
