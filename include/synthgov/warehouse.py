"""The warehouse loader: append the extractor's runs from the lake to the ``raw_salesforce`` schema.

Two backends share one contract and one table layout: DuckDB (the embedded default, a file) and
PostgreSQL (``open_warehouse`` picks from ``SYNTHGOV_WAREHOUSE``). Each object has a table
``raw_salesforce.<object lower-case>`` whose columns are the Salesforce field names (quoted, case
kept) plus ``_sg_run_id`` and ``_sg_loaded_at``; ``raw_salesforce._sg_loads`` records every loaded run.

A run is the unit of loading. The extractor writes a run's parquet parts and then its manifest (the
manifest is the run's commit marker); the loader reads parts through the Lake interface, so S3 works
without DuckDB's httpfs extension, which cannot be installed offline. Loading is idempotent by run
id: one transaction deletes any rows an earlier attempt of the run left, inserts the parts and
records the run in ``raw_salesforce._sg_loads``, so a retried task never doubles rows.

DuckDB allows one writer per file: open a Warehouse per task (Airflow's warehouse tasks share a
one-slot pool) rather than holding it open. PostgreSQL loads take a transaction-scoped advisory
lock, so concurrent loaders queue instead of racing on the schema.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from synthgov.lake import MANIFEST_NAME, Lake, LakeError, LakeNotFound, object_prefix, run_id_from_key
from synthgov.settings import duckdb_path

DUCKDB_PATH_ENV = "SYNTHGOV_DUCKDB_PATH"  # read by synthgov.settings.duckdb_path
WAREHOUSE_ENV = "SYNTHGOV_WAREHOUSE"
PG_DSN_ENV = "SYNTHGOV_PG_DSN"
# libpq keyword → variable, and the default when the variable is unset (None: libpq's own default).
PG_PART_ENVS: dict[str, tuple[str, str | None]] = {
    "host": ("SYNTHGOV_PG_HOST", "127.0.0.1"),
    "port": ("SYNTHGOV_PG_PORT", "5432"),
    "user": ("SYNTHGOV_PG_USER", None),
    "password": ("SYNTHGOV_PG_PASSWORD", None),
    "dbname": ("SYNTHGOV_PG_DATABASE", "synthgov"),
}
RAW_SCHEMA = "raw_salesforce"
LOADS_TABLE = f"{RAW_SCHEMA}._sg_loads"
# Records a retention run purged (written by record_purged; staging leaves them out).
PURGED_TABLE = f"{RAW_SCHEMA}._sg_purged"
_PURGED_DDL = (
    f"CREATE TABLE IF NOT EXISTS {PURGED_TABLE} (object_name VARCHAR NOT NULL, "
    "record_id VARCHAR NOT NULL, purged_at TIMESTAMP NOT NULL, purge_run_id VARCHAR NOT NULL)"
)
# Tables keyed by another object's id that must lose a purged record's rows too.
PURGED_FINDINGS: dict[str, tuple[tuple[str, str], ...]] = {"ContentVersion": (("ContentVersion_Media", "record_id"),)}
RUN_ID_COLUMN = "_sg_run_id"
LOADED_AT_COLUMN = "_sg_loaded_at"

# Rows handed to the database at a time; bounds memory to one batch of one part, not the whole run.
_BATCH_ROWS = 65_536
_HASH_CHUNK = 1024 * 1024
_OBJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Arrow's null type (a column with no values in this part) has no useful DuckDB column type.
_DUCKDB_NULL_TYPE = '"NULL"'
# Any fixed key works; this one is "synthgov" in ASCII, unlikely to collide with another application's lock.
_PG_LOAD_LOCK = 0x73796E7468676F76
# A silent, unreachable host would otherwise block a task for the OS's TCP timeout (minutes).
_PG_CONNECT_TIMEOUT_S = 10
_PG_COPY_READ = 1024 * 1024


class WarehouseError(Exception):
    """A run cannot be loaded or the warehouse cannot be opened; the message says which and why."""


def postgres_dsn() -> str:
    """``$SYNTHGOV_PG_DSN`` (a libpq key=value string or a ``postgresql://`` URI), else one built from parts.

    The parts are ``SYNTHGOV_PG_HOST`` (127.0.0.1), ``SYNTHGOV_PG_PORT`` (5432), ``SYNTHGOV_PG_USER``,
    ``SYNTHGOV_PG_PASSWORD`` and ``SYNTHGOV_PG_DATABASE`` (synthgov); an unset user or password is
    left to libpq (``PGUSER``, the OS user; ``PGPASSWORD``, ``~/.pgpass``).
    """
    from psycopg2.extensions import make_dsn

    configured = os.environ.get(PG_DSN_ENV)
    if configured:
        return configured
    parts: dict[str, str] = {}
    for keyword, (name, default) in PG_PART_ENVS.items():
        value = os.environ.get(name) or default
        if value is not None:
            parts[keyword] = value
    port = parts["port"]
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise WarehouseError(f"{PG_PART_ENVS['port'][0]} must be a TCP port number, got {port!r}")
    # make_dsn quotes values, so a password with spaces or quotes stays one value.
    return str(make_dsn(**parts))


def open_warehouse() -> BaseWarehouse:
    """The warehouse the environment names: ``SYNTHGOV_WAREHOUSE=duckdb`` (default) or ``postgres``."""
    raw = os.environ.get(WAREHOUSE_ENV, "")
    kind = raw.strip().lower() or "duckdb"
    if kind == "duckdb":
        return Warehouse()
    if kind in ("postgres", "postgresql"):
        return PostgresWarehouse(postgres_dsn())
    raise WarehouseError(f"{WAREHOUSE_ENV} must be 'duckdb' or 'postgres', got {raw!r}")


@dataclass(frozen=True)
class LoadResult:
    """What one run's load did; ``replaced_rows`` > 0 means an earlier attempt of the run was redone."""

    object: str
    run_id: str
    table: str
    rows: int
    files: int
    replaced_rows: int
    added_columns: tuple[str, ...]
    loaded_at: datetime


@dataclass(frozen=True)
class _Part:
    key: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class _Manifest:
    object: str
    run_id: str
    files: tuple[_Part, ...]


def _parse_manifest(manifest: dict[str, Any]) -> _Manifest:
    """Check the fields the loader relies on, so a malformed manifest fails before any row moves."""
    obj = manifest.get("object")
    run_id = manifest.get("run_id")
    where = f"manifest of {obj!r} run {run_id!r}"
    if not isinstance(obj, str) or not _OBJECT_NAME.fullmatch(obj):
        raise WarehouseError(f"{where}: 'object' must be a Salesforce object name")
    if not isinstance(run_id, str) or not run_id:
        raise WarehouseError(f"{where}: 'run_id' must be a non-empty string")
    files = manifest.get("files")
    if not isinstance(files, list):
        raise WarehouseError(f"{where}: 'files' must be a list")
    parts = []
    for i, entry in enumerate(files):
        if not isinstance(entry, dict):
            raise WarehouseError(f"{where}: files[{i}] must be an object with key, rows and sha256")
        key, rows, sha = entry.get("key"), entry.get("rows"), entry.get("sha256")
        if not isinstance(key, str) or not key:
            raise WarehouseError(f"{where}: files[{i}].key must be a lake key")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise WarehouseError(f"{where}: files[{i}].rows must be a whole number of at least 0")
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha.lower()):
            raise WarehouseError(f"{where}: files[{i}].sha256 must be 64 hex digits")
        parts.append(_Part(key, rows, sha.lower()))
    return _Manifest(obj, run_id, tuple(parts))


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def table_name(obj: str) -> str:
    """The raw table of a Salesforce object: ``raw_salesforce.<object lower-case>``."""
    return f"{RAW_SCHEMA}.{obj.lower()}"


def _sql_table(obj: str) -> str:
    # Quoted, because object names such as Order, Case and Group are SQL keywords.
    return f"{RAW_SCHEMA}.{_quote(obj.lower())}"


class _Session(ABC):
    """One open connection, and the few things the loader needs that differ between databases."""

    #: The driver's parameter placeholder.
    param: str
    #: The driver's errors, which a failed insert is reported as.
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
    def columns(self, name: str) -> dict[str, tuple[str, str]]:
        """Columns of ``raw_salesforce.<name>``: lower-case name → (name, type); empty if there is no table.

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
    def index_raw_table(self, name: str) -> None:
        """Index what the incremental staging models look up in ``raw_salesforce.<name>`` (if it exists)."""


class _DuckDBSession(_Session):
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

    def columns(self, name: str) -> dict[str, tuple[str, str]]:
        rows = self.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [RAW_SCHEMA, name],
        )
        return {str(column).lower(): (str(column), str(dtype)) for column, dtype in rows}

    def column_types(self, schema: pa.Schema, where: str) -> dict[str, str | None]:
        # DuckDB's own Arrow mapping, so the types are exactly what an insert from Arrow would create.
        types = (str(t) for t in self.con.from_arrow(schema.empty_table()).dtypes)
        return {name: None if t == _DUCKDB_NULL_TYPE else t for name, t in zip(schema.names, types, strict=True)}

    def index_raw_table(self, name: str) -> None:
        # None: DuckDB scans columnar data with zone maps (min/max per row group on _sg_loaded_at), so an
        # ART index would only slow every append.
        return None

    def insert(
        self, table: str, parquet: pq.ParquetFile, targets: dict[str, str], run_id: str, loaded_at: datetime
    ) -> int:
        schema = parquet.schema_arrow
        batches = pa.RecordBatchReader.from_batches(schema, parquet.iter_batches(batch_size=_BATCH_ROWS))
        # BY NAME matches names case-insensitively, as `columns` does; null-typed columns stay out and stay NULL.
        selected = "".join(f"{_quote(name)}, " for name in targets)
        self.con.register("_sg_part", batches)
        try:
            return self.execute(
                f"INSERT INTO {table} BY NAME SELECT {selected}?::VARCHAR AS {RUN_ID_COLUMN}, "
                f"?::TIMESTAMP AS {LOADED_AT_COLUMN} FROM _sg_part",
                [run_id, loaded_at],
            )
        finally:
            self.con.unregister("_sg_part")


_PG_TYPES = {
    pa.bool_(): "boolean",
    pa.int8(): "smallint",
    pa.int16(): "smallint",
    pa.int32(): "integer",
    pa.int64(): "bigint",
    pa.uint8(): "smallint",
    pa.uint16(): "integer",
    pa.uint32(): "bigint",
    pa.float32(): "real",
    pa.float64(): "double precision",
    pa.date32(): "date",
    pa.date64(): "date",
    pa.string(): "text",
    pa.large_string(): "text",
}


def _postgres_type(dtype: pa.DataType) -> str | None:
    """The PostgreSQL type for an Arrow type, spelled as ``format_type`` reports it; None for the null type.

    Raises KeyError for types without a faithful CSV round trip (binary, lists, structs, uint64).
    """
    if pa.types.is_null(dtype):
        return None
    if pa.types.is_timestamp(dtype):
        return "timestamp with time zone" if dtype.tz else "timestamp without time zone"
    if pa.types.is_decimal(dtype):
        return f"numeric({dtype.precision},{dtype.scale})"
    return _PG_TYPES[dtype]


_PG_MAX_IDENTIFIER = 63


class _PostgresSession(_Session):
    param = "%s"

    def __init__(self, con: Any) -> None:
        import psycopg2

        self.con = con
        self.errors = (psycopg2.Error,)

    def begin_load(self) -> None:
        self.execute("BEGIN")
        # DDL (CREATE SCHEMA/TABLE IF NOT EXISTS, ADD COLUMN) races between concurrent loaders; queue them instead.
        self.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOAD_LOCK])

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        import psycopg2

        # A failing ROLLBACK means the connection is gone and the server rolled back with it; the caller
        # re-raises the error that got us here, which says more than this one.
        with contextlib.suppress(psycopg2.Error):
            self.execute("ROLLBACK")

    def close(self) -> None:
        self.con.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self.con.cursor() as cur:
            # No parameters: pass None, so psycopg2 leaves any % in quoted column names alone.
            cur.execute(sql, list(params) if params else None)
            return max(int(cur.rowcount), 0)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.con.cursor() as cur:
            cur.execute(sql, list(params) if params else None)
            return [tuple(row) for row in cur.fetchall()]

    def columns(self, name: str) -> dict[str, tuple[str, str]]:
        # format_type spells types with their modifiers (numeric(18,2)), which information_schema drops.
        rows = self.query(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            [RAW_SCHEMA, name],
        )
        return {str(column).lower(): (str(column), str(dtype)) for column, dtype in rows}

    def column_types(self, schema: pa.Schema, where: str) -> dict[str, str | None]:
        types: dict[str, str | None] = {}
        unsupported: list[str] = []
        for field in schema:
            try:
                types[field.name] = _postgres_type(field.type)
            except KeyError:
                unsupported.append(f"{field.name} ({field.type})")
        if unsupported:
            raise WarehouseError(
                f"{where} has columns of types the PostgreSQL warehouse does not map: {', '.join(unsupported)}; "
                "it maps booleans, integers, floats, decimals, dates, timestamps and strings"
            )
        return types

    def index_raw_table(self, name: str) -> None:
        # A nightly build reads the versions loaded since its watermark, then every version of those
        # ids: without these indexes PostgreSQL scans each whole raw table for 1% of it.
        columns = self.columns(name)
        if not columns:  # a first run without parts creates no table
            return
        wanted = [(LOADED_AT_COLUMN, "loaded_at")] + ([(_quote(columns["id"][0]), "id")] if "id" in columns else [])
        for column, suffix in wanted:
            index_name = f"{name}__sg_{suffix}_idx"
            if len(index_name) > _PG_MAX_IDENTIFIER:
                # A namespaced object's name can reach 60 characters; PostgreSQL would cut the index name
                # to 63, and two long names cut alike would share one index name (IF NOT EXISTS: none).
                digest = hashlib.sha256(name.encode()).hexdigest()[:8]
                index_name = f"{name[:35]}_{digest}__sg_{suffix}_idx"
            index = _quote(index_name)
            self.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {RAW_SCHEMA}.{_quote(name)} ({column})")

    def insert(
        self, table: str, parquet: pq.ParquetFile, targets: dict[str, str], run_id: str, loaded_at: datetime
    ) -> int:
        columns = ", ".join([*(_quote(column) for column in targets.values()), RUN_ID_COLUMN, LOADED_AT_COLUMN])
        stream = _CsvStream(_csv_chunks(parquet, list(targets), run_id, loaded_at))
        with self.con.cursor() as cur:
            cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", stream, size=_PG_COPY_READ)
            return int(cur.rowcount)


def _csv_chunks(parquet: pq.ParquetFile, names: list[str], run_id: str, loaded_at: datetime) -> Iterator[bytes]:
    """A part as CSV, one record batch at a time, with the run's id and load time appended to every row.

    Arrow's CSV writer quotes every string and leaves nulls as empty unquoted fields, which is how
    PostgreSQL's CSV format tells NULL from ''; timestamps carry their UTC offset, so the session's
    time zone never shifts them.
    """
    options = pa_csv.WriteOptions(include_header=False)
    loaded = pa.scalar(loaded_at, pa.timestamp("us"))
    for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=names):
        rows = batch.num_rows
        full = pa.RecordBatch.from_arrays(
            [*batch.columns, pa.repeat(pa.scalar(run_id, pa.string()), rows), pa.repeat(loaded, rows)],
            names=[*names, RUN_ID_COLUMN, LOADED_AT_COLUMN],
        )
        buffer = io.BytesIO()
        pa_csv.write_csv(full, buffer, options)
        yield buffer.getvalue()


class _CsvStream:
    """The file-like object ``copy_expert`` reads from, fed by CSV chunks as it asks for more."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._chunk = b""
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        while self._offset >= len(self._chunk):
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._chunk, self._offset = chunk, 0
        # Slices of the current chunk, never a growing buffer: copying stays linear in the part's size.
        end = len(self._chunk) if size < 0 else self._offset + size
        out = self._chunk[self._offset : end]
        self._offset += len(out)
        return out


class BaseWarehouse(ABC):
    """The loader, on any backend. Each call opens and closes a connection unless used as a context manager."""

    def __init__(self) -> None:
        self._session: _Session | None = None

    @abstractmethod
    def _open(self) -> _Session:
        """Connect, or raise WarehouseError saying what to check."""

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
    def _connection(self) -> Iterator[_Session]:
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

    def load_run(self, lake: Lake, manifest: dict[str, Any]) -> LoadResult:
        """Load one run's parts into ``raw_salesforce.<object>``, replacing any earlier attempt of the run."""
        run = _parse_manifest(manifest)
        table = _sql_table(run.object)
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        with self._connection() as s:
            s.begin_load()
            try:
                s.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
                s.execute(
                    f"CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (object VARCHAR NOT NULL, run_id VARCHAR NOT NULL, "
                    "rows BIGINT NOT NULL, loaded_at TIMESTAMP NOT NULL, files VARCHAR NOT NULL, "
                    "PRIMARY KEY (object, run_id))"
                )
                # Empty until a retention run purges; dbt's staging reads it from the first build on.
                s.execute(_PURGED_DDL)
                replaced = 0
                if s.columns(run.object.lower()):
                    replaced = s.execute(f"DELETE FROM {table} WHERE {RUN_ID_COLUMN} = {s.param}", [run.run_id])
                rows = 0
                added: list[str] = []
                for part in run.files:
                    rows += _load_part(s, lake, run, part, table, loaded_at, added)
                s.index_raw_table(run.object.lower())
                s.execute(
                    f"DELETE FROM {LOADS_TABLE} WHERE object = {s.param} AND run_id = {s.param}",
                    [run.object, run.run_id],
                )
                files = json.dumps([{"key": p.key, "rows": p.rows, "sha256": p.sha256} for p in run.files])
                s.execute(
                    f"INSERT INTO {LOADS_TABLE} VALUES ({', '.join([s.param] * 5)})",
                    [run.object, run.run_id, rows, loaded_at, files],
                )
                s.commit()
            except BaseException:
                s.rollback()
                raise
        return LoadResult(
            object=run.object,
            run_id=run.run_id,
            table=table_name(run.object),
            rows=rows,
            files=len(run.files),
            replaced_rows=replaced,
            added_columns=tuple(added),
            loaded_at=loaded_at,
        )

    def loaded_runs(self, obj: str) -> set[str]:
        """Run ids of the object already in the warehouse."""
        with self._connection() as s:
            if not s.columns("_sg_loads"):
                return set()
            rows = s.query(f"SELECT run_id FROM {LOADS_TABLE} WHERE object = {s.param}", [obj])
        return {str(row[0]) for row in rows}

    def row_count(self, obj: str) -> int:
        """Rows in the object's raw table (0 before its first load)."""
        with self._connection() as s:
            if not s.columns(obj.lower()):
                return 0
            ((count,),) = s.query(f"SELECT count(*) FROM {_sql_table(obj)}")
            return int(count)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a read-only query (the retention planner reads the marts this way)."""
        with self._connection() as s:
            return s.query(sql)

    def has_table(self, schema: str, name: str) -> bool:
        with self._connection() as s:
            rows = s.query(
                "SELECT count(*) FROM information_schema.tables "
                f"WHERE table_schema = {s.param} AND table_name = {s.param}",
                [schema, name],
            )
            return bool(rows[0][0])

    def record_purged(self, ids_by_object: dict[str, list[str]], run_id: str, purged_at: datetime) -> int:
        """Remove purged records from the raw tables and list them in ``raw_salesforce._sg_purged``.

        GDPR erasure reaches the warehouse copy too; the list lets staging keep them out even where an
        incremental model still holds an old version. Returns the raw rows removed.
        """
        removed = 0
        with self._connection() as s:
            s.begin_load()
            try:
                s.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
                s.execute(_PURGED_DDL)
                for obj, ids in ids_by_object.items():
                    for start in range(0, len(ids), 1000):
                        part = ids[start : start + 1000]
                        marks = ", ".join(s.param for _ in part)
                        for table, column in ((obj, "Id"), *PURGED_FINDINGS.get(obj, ())):
                            present = s.columns(table.lower())
                            if column.lower() in present:
                                real = present[column.lower()][0]
                                removed += s.execute(
                                    f"DELETE FROM {_sql_table(table)} WHERE {_quote(real)} IN ({marks})", part
                                )
                        stamp = purged_at.astimezone(UTC).replace(tzinfo=None)
                        rows = ", ".join(f"({s.param}, {s.param}, {s.param}, {s.param})" for _ in part)
                        values = [v for record_id in part for v in (obj, record_id, stamp, run_id)]
                        s.execute(f"INSERT INTO {PURGED_TABLE} VALUES {rows}", values)
                s.commit()
            except BaseException:
                s.rollback()
                raise
        return removed

    def load_pending(self, lake: Lake, objects: list[str]) -> list[LoadResult]:
        """Load every run in the lake of these objects that the warehouse lacks, oldest run first.

        Run ids start with their UTC start time (``YYYYMMDDTHHMMSSZ-xxxx``), so their order is the
        order the runs happened; loading in that order keeps ``_sg_loaded_at`` and the runs aligned.
        """
        pending: list[tuple[str, int, dict[str, Any]]] = []
        with self._connection():
            for index, obj in enumerate(objects):
                loaded = self.loaded_runs(obj)
                for key in lake.list(object_prefix(obj)):
                    key_run = run_id_from_key(key)
                    if not key.endswith("/" + MANIFEST_NAME) or key_run is None or key_run in loaded:
                        continue
                    manifest = _read_manifest(lake, key)
                    if manifest.get("object") != obj or manifest.get("run_id") != key_run:
                        raise WarehouseError(
                            f"manifest {lake.uri(key)} says object {manifest.get('object')!r} run "
                            f"{manifest.get('run_id')!r}, but its key says {obj!r} run {key_run!r}; "
                            "the lake layout is inconsistent, check what wrote it"
                        )
                    pending.append((key_run, index, manifest))
            pending.sort(key=lambda item: (item[0], item[1]))
            return [self.load_run(lake, manifest) for _, _, manifest in pending]


class Warehouse(BaseWarehouse):
    """The DuckDB warehouse (the embedded default): one file."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__()
        self.path = Path(path).resolve() if path is not None else duckdb_path()

    def _open(self) -> _Session:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return _DuckDBSession(duckdb.connect(str(self.path)))
        except (OSError, duckdb.Error) as exc:
            raise WarehouseError(
                f"cannot open the DuckDB warehouse {self.path}: {exc}; DuckDB allows one writer at a time, so "
                f"check that no other process holds the file, or set {DUCKDB_PATH_ENV}"
            ) from exc


class PostgresWarehouse(BaseWarehouse):
    """The PostgreSQL warehouse, from a libpq DSN (key=value or ``postgresql://`` URI); see ``postgres_dsn``."""

    def __init__(self, dsn: str) -> None:
        from psycopg2 import ProgrammingError
        from psycopg2.extensions import parse_dsn

        super().__init__()
        try:
            params: dict[str, str] = parse_dsn(dsn)
        except ProgrammingError:
            # libpq's message quotes the text it choked on, which may be the password: neither it nor the
            # chained exception is shown.
            raise WarehouseError(
                f"the PostgreSQL DSN (from {PG_DSN_ENV} or SYNTHGOV_PG_*) is neither a libpq 'key=value ...' string "
                "nor a 'postgresql://user@host:port/database' URI"
            ) from None
        self._dsn = dsn
        self._params = params
        self.host = params.get("host") or os.environ.get("PGHOST") or "the default Unix socket"
        self.port = params.get("port") or os.environ.get("PGPORT") or "5432"
        self.database = params.get("dbname") or os.environ.get("PGDATABASE") or "(the user's name)"
        self.user = params.get("user") or os.environ.get("PGUSER") or "(the OS user)"

    def _open(self) -> _Session:
        import psycopg2

        extra: dict[str, Any] = {"client_encoding": "UTF8"}
        if "connect_timeout" not in self._params:
            extra["connect_timeout"] = _PG_CONNECT_TIMEOUT_S
        try:
            con = psycopg2.connect(self._dsn, **extra)
        except psycopg2.Error as exc:
            reason = " ".join(str(exc).split())
            raise WarehouseError(
                f"cannot connect to the PostgreSQL warehouse at {self.host}:{self.port}, database {self.database!r}, "
                f"user {self.user!r}: {reason}. Check that the server runs and listens there (listen_addresses, "
                "port), that the database exists and that the user may log in from here (pg_hba.conf, password); "
                f"the address comes from {PG_DSN_ENV} or SYNTHGOV_PG_HOST/PORT/USER/PASSWORD/DATABASE"
            ) from exc
        # Reads run on their own; a load opens its transaction explicitly, as on DuckDB.
        con.autocommit = True
        return _PostgresSession(con)


def _read_manifest(lake: Lake, key: str) -> dict[str, Any]:
    try:
        manifest = json.loads(lake.get_bytes(key))
    except LakeError as exc:
        raise WarehouseError(f"cannot read manifest {key!r}: {exc}") from exc
    except ValueError as exc:
        raise WarehouseError(f"manifest {lake.uri(key)} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise WarehouseError(f"manifest {lake.uri(key)} must be a JSON object")
    return manifest


def _verified_sha256(f: IO[bytes], lake: Lake, run: _Manifest, part: _Part) -> None:
    digest = hashlib.sha256()
    while chunk := f.read(_HASH_CHUNK):
        digest.update(chunk)
    if digest.hexdigest() != part.sha256:
        raise WarehouseError(
            f"{lake.uri(part.key)} has SHA-256 {digest.hexdigest()}, but the manifest of {run.object} run "
            f"{run.run_id} says {part.sha256}; the part changed after extraction (or the manifest is wrong). "
            "Nothing of the run was loaded; re-extract the run rather than load it"
        )
    f.seek(0)


def _load_part(
    s: _Session,
    lake: Lake,
    run: _Manifest,
    part: _Part,
    table: str,
    loaded_at: datetime,
    added: list[str],
) -> int:
    """Verify one part, widen the table to its columns, and insert it by name; returns its rows."""
    try:
        f = lake.open_read(part.key)
    except LakeNotFound as exc:
        raise WarehouseError(
            f"{lake.uri(part.key)} is listed in the manifest of {run.object} run {run.run_id} but missing"
        ) from exc
    except LakeError as exc:
        raise WarehouseError(f"cannot read part {part.key!r} of {run.object} run {run.run_id}: {exc}") from exc
    with f:
        _verified_sha256(f, lake, run, part)
        try:
            parquet = pq.ParquetFile(f)
        except (pa.ArrowException, OSError) as exc:
            raise WarehouseError(f"{lake.uri(part.key)} is not a readable parquet file: {exc}") from exc
        schema = parquet.schema_arrow
        reserved = [name for name in schema.names if name.lower().startswith("_sg_")]
        if reserved:
            raise WarehouseError(f"{lake.uri(part.key)} has columns {reserved} in the loader's reserved _sg_ namespace")
        part_types = s.column_types(schema, lake.uri(part.key))
        targets = _widen_table(s, run, table, part_types, part.key, added)
        try:
            inserted = s.insert(table, parquet, targets, run.run_id, loaded_at)
        except s.errors as exc:
            raise WarehouseError(f"cannot insert {lake.uri(part.key)} into {table}: {exc}") from exc
    if inserted != part.rows:
        raise WarehouseError(
            f"{lake.uri(part.key)} holds {inserted} rows, but the manifest of {run.object} run {run.run_id} "
            f"says {part.rows}; nothing of the run was loaded"
        )
    return inserted


def _widen_table(
    s: _Session, run: _Manifest, table: str, part_types: dict[str, str | None], key: str, added: list[str]
) -> dict[str, str]:
    """Create the table or add the part's new columns; refuse a column whose type changed.

    Returns the part's typed columns → the table's columns they go to. A changed type would be
    cast silently by the insert (a DOUBLE into a BIGINT column rounds), which would corrupt
    evidence without a trace; failing makes someone decide.
    """
    existing = s.columns(run.object.lower())
    typed = {name: dtype for name, dtype in part_types.items() if dtype is not None}
    if not existing:
        columns = [f"{_quote(name)} {dtype}" for name, dtype in typed.items()]
        columns += [f"{RUN_ID_COLUMN} VARCHAR NOT NULL", f"{LOADED_AT_COLUMN} TIMESTAMP NOT NULL"]
        s.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
        return {name: name for name in typed}
    targets: dict[str, str] = {}
    for name, dtype in typed.items():
        current = existing.get(name.lower())
        if current is None:
            s.execute(f"ALTER TABLE {table} ADD COLUMN {_quote(name)} {dtype}")
            added.append(name)
            targets[name] = name
        elif current[1] != dtype:
            raise WarehouseError(
                f"column {name!r} of {key!r} is {dtype}, but {table_name(run.object)}.{name} is {current[1]}; the "
                "extractor's type for "
                "this field changed. Alter the column (or rebuild the table) on purpose, then load again"
            )
        else:
            targets[name] = current[0]
    return targets
