"""The PostgreSQL warehouse: parts arrive by ``COPY`` (CSV streamed from parquet), loads queue on an advisory lock.

PostgreSQL loads take a transaction-scoped advisory lock, so concurrent loaders queue instead of
racing on the schema. The address comes from ``SYNTHGOV_PG_DSN`` or ``SYNTHGOV_PG_*`` (``postgres_dsn``),
whose defaults are dbt_project/profiles.yml's.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from synthgov import settings
from synthgov.warehouse.base import (
    BATCH_ROWS,
    LOADED_AT_COLUMN,
    RUN_ID_COLUMN,
    Session,
    Warehouse,
    WarehouseError,
    quote,
)

# Any fixed key works; this one is "synthgov" in ASCII, unlikely to collide with another application's lock.
_PG_LOAD_LOCK = 0x73796E7468676F76
# A silent, unreachable host would otherwise block a task for the OS's TCP timeout (minutes).
_PG_CONNECT_TIMEOUT_S = 10
_PG_COPY_READ = 1024 * 1024


def dsn_from_parts(parts: dict[str, str]) -> str:
    """A libpq DSN from keywords (host, port, user, password, dbname); empty values are left to libpq."""
    from psycopg2.extensions import make_dsn

    # make_dsn quotes values, so a password with spaces or quotes stays one value.
    return str(make_dsn(**{keyword: value for keyword, value in parts.items() if value}))


def postgres_dsn() -> str:
    """``$SYNTHGOV_PG_DSN`` (a libpq key=value string or a ``postgresql://`` URI), else one built from parts.

    The parts are ``SYNTHGOV_PG_HOST`` (127.0.0.1), ``SYNTHGOV_PG_PORT`` (5432), ``SYNTHGOV_PG_USER``
    (postgres), ``SYNTHGOV_PG_PASSWORD`` and ``SYNTHGOV_PG_DATABASE`` (synthgov); an unset password is
    left to libpq (``PGPASSWORD``, ``~/.pgpass``).
    """
    configured = settings.postgres_dsn_override()
    if configured:
        return configured
    try:
        parts = settings.postgres_parts()
    except settings.SettingsError as exc:
        raise WarehouseError(str(exc)) from None
    return dsn_from_parts(parts)


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


class _PostgresSession(Session):
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

    def columns(self, schema: str, name: str) -> dict[str, tuple[str, str]]:
        # format_type spells types with their modifiers (numeric(18,2)), which information_schema drops.
        rows = self.query(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            [schema, name],
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

    def index_raw_table(self, schema: str, name: str) -> None:
        # A nightly build reads the versions loaded since its watermark, then every version of those
        # ids: without these indexes PostgreSQL scans each whole raw table for 1% of it.
        columns = self.columns(schema, name)
        if not columns:  # a first run without parts creates no table
            return
        wanted = [(LOADED_AT_COLUMN, "loaded_at")] + ([(quote(columns["id"][0]), "id")] if "id" in columns else [])
        for column, suffix in wanted:
            index_name = f"{name}__sg_{suffix}_idx"
            if len(index_name) > _PG_MAX_IDENTIFIER:
                # A namespaced object's name can reach 60 characters; PostgreSQL would cut the index name
                # to 63, and two long names cut alike would share one index name (IF NOT EXISTS: none).
                digest = hashlib.sha256(name.encode()).hexdigest()[:8]
                index_name = f"{name[:35]}_{digest}__sg_{suffix}_idx"
            index = quote(index_name)
            self.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {schema}.{quote(name)} ({column})")

    def insert(
        self, table: str, parquet: pq.ParquetFile, targets: dict[str, str], run_id: str, loaded_at: datetime
    ) -> int:
        columns = ", ".join([*(quote(column) for column in targets.values()), RUN_ID_COLUMN, LOADED_AT_COLUMN])
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
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=names):
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


class PostgresWarehouse(Warehouse):
    """The PostgreSQL warehouse, from a libpq DSN (key=value or ``postgresql://`` URI); see ``postgres_dsn``."""

    def __init__(self, dsn: str, *, source: str | None = None) -> None:
        """``source``: where the DSN came from, for error messages (default: the SYNTHGOV_PG_* variables)."""
        from psycopg2 import ProgrammingError
        from psycopg2.extensions import parse_dsn

        super().__init__()
        self.source = source or f"{settings.PG_DSN.name} or SYNTHGOV_PG_HOST/PORT/USER/PASSWORD/DATABASE"
        try:
            params: dict[str, str] = parse_dsn(dsn)
        except ProgrammingError:
            # libpq's message quotes the text it choked on, which may be the password: neither it nor the
            # chained exception is shown.
            raise WarehouseError(
                f"the PostgreSQL DSN (from {self.source}) is neither "
                "a libpq 'key=value ...' string "
                "nor a 'postgresql://user@host:port/database' URI"
            ) from None
        self._dsn = dsn
        self._params = params
        self.host = params.get("host") or os.environ.get("PGHOST") or "the default Unix socket"
        self.port = params.get("port") or os.environ.get("PGPORT") or "5432"
        self.database = params.get("dbname") or os.environ.get("PGDATABASE") or "(the user's name)"
        self.user = params.get("user") or os.environ.get("PGUSER") or "(the OS user)"

    @property
    def description(self) -> str:
        return f"postgresql {self.host}:{self.port}/{self.database}"

    @property
    def lineage_namespace(self) -> str:
        # The warehouse shows "the default Unix socket" when libpq picks the host; a dataset needs a
        # name either way, so it becomes libpq's own default.
        host = "localhost" if self.host.startswith("the ") else self.host
        return f"postgres://{host}:{self.port}"

    def dataset_name(self, table: str) -> str:
        # ``<database>.<schema>.<table>``, the database being libpq's default when the DSN names none.
        database = "postgres" if self.database.startswith("(") else self.database
        return f"{database}.{table}"

    def _open(self) -> Session:
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
                f"the address comes from {self.source}"
            ) from exc
        # Reads run on their own; a load opens its transaction explicitly, as on DuckDB.
        con.autocommit = True
        return _PostgresSession(con)
