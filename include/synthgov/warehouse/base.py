"""The warehouse contract both backends keep: one connection at a time, read-only queries, self-description.

A ``Warehouse`` opens a ``Session`` (one connection) per call, or one for a whole ``with`` block;
the raw-schema loader (``synthgov.warehouse.raw_loader``) works through the session, the rest of
the product through ``query``, ``has_table`` and ``columns``. What differs between DuckDB and
PostgreSQL beyond SQL (its OpenLineage name, how the pack names it, whether it exists yet) the
warehouse says itself, so no caller asks which backend it holds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

RAW_SCHEMA = "raw_salesforce"
#: synthgov's own data, kept apart from the org's objects so a table there is never taken for an sObject.
SYNTHGOV_SCHEMA = "raw_synthgov"
#: The runs synthgov writes of its own findings: the media findings (``synthgov.extract.media``) and the
#: training-zone snapshots (``synthgov.training``); tests/unit/test_raw_schemas.py holds them to the writers.
SYNTHGOV_OBJECTS = frozenset(
    {"ContentVersion_Media", "Training_Manifests", "Training_Manifest_Records", "Training_Lake_Posture"}
)
# The ledger of every loaded run and the purged records, whichever schema a run went to.
LOADS_TABLE = f"{RAW_SCHEMA}._sg_loads"
# Records a retention run purged (written by raw_loader.record_purged; staging leaves them out).
PURGED_TABLE = f"{RAW_SCHEMA}._sg_purged"
RUN_ID_COLUMN = "_sg_run_id"
LOADED_AT_COLUMN = "_sg_loaded_at"
# Rows handed to the database at a time; bounds memory to one batch of one part, not the whole run.
BATCH_ROWS = 65_536


class WarehouseError(Exception):
    """A run cannot be loaded or the warehouse cannot be opened; the message says which and why."""


class WarehouseQueryError(WarehouseError):
    """The database refused a query (a table or column missing, a type mismatch); the driver's error is the cause."""


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def raw_schema(obj: str) -> str:
    """The schema an object's runs are loaded into: ``raw_synthgov`` for synthgov's own, else ``raw_salesforce``."""
    return SYNTHGOV_SCHEMA if obj in SYNTHGOV_OBJECTS else RAW_SCHEMA


def table_name(obj: str) -> str:
    """The raw table of an object: ``raw_salesforce.<object lower-case>`` (or ``raw_synthgov.``, see ``raw_schema``)."""
    return f"{raw_schema(obj)}.{obj.lower()}"


def sql_table(obj: str) -> str:
    # Quoted, because object names such as Order, Case and Group are SQL keywords.
    return f"{raw_schema(obj)}.{quote(obj.lower())}"


class Session(ABC):
    """One open connection, and the few things the loader needs that differ between databases."""

    #: The driver's parameter placeholder.
    param: str
    #: The driver's errors, which a failed insert or query is reported as.
    errors: tuple[type[Exception], ...]

    @abstractmethod
    def begin_load(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the rows it changed (0 for DDL)."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def columns(self, schema: str, name: str) -> dict[str, tuple[str, str]]:
        """Columns of ``<schema>.<name>``: lower-case name → (name, type); empty if there is no table.

        Keyed lower-case because Salesforce field names are case-insensitive: a part that spells a
        field differently still lands in the same column, on both databases.
        """

    @abstractmethod
    def column_types(self, schema: pa.Schema, where: str) -> dict[str, str | None]:
        """The database type of each of a part's columns, as ``columns`` reports it; None for null-typed ones."""

    @abstractmethod
    def insert(
        self, table: str, parquet: pq.ParquetFile, targets: dict[str, str], run_id: str, loaded_at: datetime
    ) -> int:
        """Append a part's ``targets`` columns (part column → table column) with the run's id and time; returns rows."""

    @abstractmethod
    def index_raw_table(self, schema: str, name: str) -> None:
        """Index what the incremental staging models look up in ``<schema>.<name>`` (if it exists)."""


class Warehouse(ABC):
    """A warehouse, on any backend. Each call opens and closes a connection unless used as a context manager."""

    def __init__(self) -> None:
        self._session: Session | None = None

    @abstractmethod
    def _open(self) -> Session:
        """Connect, or raise WarehouseError saying what to check."""

    @property
    @abstractmethod
    def description(self) -> str:
        """How the evidence pack and error messages name this warehouse (``duckdb <file>``, ``postgresql <host>``)."""

    @property
    @abstractmethod
    def lineage_namespace(self) -> str:
        """The OpenLineage namespace of the warehouse's datasets (see ``synthgov.lineage.datasets``)."""

    @abstractmethod
    def dataset_name(self, table: str) -> str:
        """The OpenLineage dataset name of ``table`` (``schema.table``) in ``lineage_namespace``."""

    def exists(self) -> bool:
        """False when opening would create an empty warehouse (a DuckDB file not made yet)."""
        return True

    def __enter__(self) -> Self:
        self._session = self._open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """The open session, or one for the duration of this call (nested calls share it)."""
        if self._session is not None:
            yield self._session
            return
        self._session = session = self._open()
        try:
            yield session
        finally:
            session.close()
            self._session = None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query (the retention planner reads the marts this way).

        ``params`` fill the driver's placeholders (``%s`` on PostgreSQL, ``?`` on DuckDB); callers that
        pass none need not know which.
        """
        with self.session() as s:
            try:
                return s.query(sql, params)
            except s.errors as exc:
                raise WarehouseQueryError(f"query on {self.description} failed: {exc}") from exc

    def has_table(self, schema: str, name: str) -> bool:
        with self.session() as s:
            rows = s.query(
                "SELECT count(*) FROM information_schema.tables "
                f"WHERE table_schema = {s.param} AND table_name = {s.param}",
                [schema, name],
            )
            return bool(rows[0][0])

    def columns(self, tables: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """``schema.table`` → [(column, data type)] in ordinal order; tables that do not exist are left out.

        Types as ``information_schema`` spells them (what the load's lineage reports).
        """
        wanted = [tuple(t.split(".", 1)) for t in sorted(set(tables))]
        if not wanted:
            return {}
        with self.session() as s:
            pairs = " OR ".join(f"(table_schema = {s.param} AND table_name = {s.param})" for _ in wanted)
            rows = s.query(
                "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
                f"WHERE {pairs} ORDER BY table_schema, table_name, ordinal_position",
                [part for pair in wanted for part in pair],
            )
        out: dict[str, list[tuple[str, str]]] = {}
        for schema, table, column, dtype in rows:
            out.setdefault(f"{schema}.{table}", []).append((str(column), str(dtype)))
        return out

    def raw_columns(self, objects: Iterable[str]) -> dict[str, set[str]]:
        """Salesforce object → the column names of its raw table, for the objects loaded so far."""
        tables = {table_name(obj): obj for obj in objects}
        return {tables[table]: {c for c, _ in columns} for table, columns in self.columns(tables).items()}
