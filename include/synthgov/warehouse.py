"""The warehouse loader: append the extractor's runs from the lake to DuckDB's ``raw_salesforce`` schema.

A run is the unit of loading. The extractor writes a run's parquet parts and then its manifest (the
manifest is the run's commit marker); the loader reads parts through the Lake interface, so S3 works
without DuckDB's httpfs extension, which cannot be installed offline. Loading is idempotent by run
id: one transaction deletes any rows an earlier attempt of the run left, inserts the parts and
records the run in ``raw_salesforce._sg_loads``, so a retried task never doubles rows.

DuckDB allows one writer per file: open a Warehouse per task (Airflow's warehouse tasks share a
one-slot pool) rather than holding it open.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from synthgov import settings
from synthgov.lake import MANIFEST_NAME, Lake, LakeError, LakeNotFound, object_prefix, run_id_from_key

DUCKDB_PATH_ENV = "SYNTHGOV_DUCKDB_PATH"
RAW_SCHEMA = "raw_salesforce"
LOADS_TABLE = f"{RAW_SCHEMA}._sg_loads"
RUN_ID_COLUMN = "_sg_run_id"
LOADED_AT_COLUMN = "_sg_loaded_at"

# Rows handed to DuckDB at a time; bounds memory to one batch of one part, not the whole run.
_BATCH_ROWS = 65_536
_HASH_CHUNK = 1024 * 1024
_OBJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Arrow's null type (a column with no values in this part) has no useful DuckDB column type.
_NULL_TYPE = '"NULL"'


class WarehouseError(Exception):
    """A run cannot be loaded or the warehouse cannot be opened; the message says which and why."""


def duckdb_path() -> Path:
    """The DuckDB file: ``$SYNTHGOV_DUCKDB_PATH`` (made absolute), else ``<SYNTHGOV_HOME>/warehouse.duckdb``.

    Always absolute, because Airflow tasks and dbt run from different working directories and must
    open the same file.
    """
    configured = os.environ.get(DUCKDB_PATH_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return settings.home() / "warehouse.duckdb"


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


class Warehouse:
    """The DuckDB warehouse. Each call opens and closes the file unless used as a context manager."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path).resolve() if path is not None else duckdb_path()
        self._con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> Self:
        self._con = self._open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def _open(self) -> duckdb.DuckDBPyConnection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return duckdb.connect(str(self.path))
        except (OSError, duckdb.Error) as exc:
            raise WarehouseError(
                f"cannot open the DuckDB warehouse {self.path}: {exc}; DuckDB allows one writer at a time, so "
                f"check that no other process holds the file, or set {DUCKDB_PATH_ENV}"
            ) from exc

    @contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The open connection, or one for the duration of this call (nested calls share it)."""
        if self._con is not None:
            yield self._con
            return
        self._con = con = self._open()
        try:
            yield con
        finally:
            con.close()
            self._con = None

    def load_run(self, lake: Lake, manifest: dict[str, Any]) -> LoadResult:
        """Load one run's parts into ``raw_salesforce.<object>``, replacing any earlier attempt of the run."""
        run = _parse_manifest(manifest)
        table = _sql_table(run.object)
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        with self._connection() as con:
            con.begin()
            try:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
                con.execute(
                    f"CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (object VARCHAR NOT NULL, run_id VARCHAR NOT NULL, "
                    "rows BIGINT NOT NULL, loaded_at TIMESTAMP NOT NULL, files VARCHAR NOT NULL, "
                    "PRIMARY KEY (object, run_id))"
                )
                replaced = 0
                if _table_columns(con, run.object.lower()):
                    replaced = _count(con.execute(f"DELETE FROM {table} WHERE {RUN_ID_COLUMN} = ?", [run.run_id]))
                rows = 0
                added: list[str] = []
                for part in run.files:
                    rows += _load_part(con, lake, run, part, table, loaded_at, added)
                con.execute(f"DELETE FROM {LOADS_TABLE} WHERE object = ? AND run_id = ?", [run.object, run.run_id])
                files = json.dumps([{"key": p.key, "rows": p.rows, "sha256": p.sha256} for p in run.files])
                con.execute(
                    f"INSERT INTO {LOADS_TABLE} VALUES (?, ?, ?, ?, ?)",
                    [run.object, run.run_id, rows, loaded_at, files],
                )
                con.commit()
            except BaseException:
                con.rollback()
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
        with self._connection() as con:
            if not _table_columns(con, "_sg_loads"):
                return set()
            rows = con.execute(f"SELECT run_id FROM {LOADS_TABLE} WHERE object = ?", [obj]).fetchall()
        return {str(row[0]) for row in rows}

    def row_count(self, obj: str) -> int:
        """Rows in the object's raw table (0 before its first load)."""
        with self._connection() as con:
            if not _table_columns(con, obj.lower()):
                return 0
            return _count(con.execute(f"SELECT count(*) FROM {_sql_table(obj)}"))

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


def _count(result: duckdb.DuckDBPyConnection) -> int:
    row = result.fetchone()
    return int(row[0]) if row else 0


def _table_columns(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
    """Columns of ``raw_salesforce.<name>``, lower-case (DuckDB compares names so) → type; empty if no table."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [RAW_SCHEMA, name],
    ).fetchall()
    return {str(column).lower(): str(dtype) for column, dtype in rows}


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
    con: duckdb.DuckDBPyConnection,
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
        part_types = dict(zip(schema.names, (str(t) for t in con.from_arrow(schema.empty_table()).dtypes), strict=True))
        reserved = [name for name in part_types if name.lower().startswith("_sg_")]
        if reserved:
            raise WarehouseError(f"{lake.uri(part.key)} has columns {reserved} in the loader's reserved _sg_ namespace")
        _widen_table(con, run, table, part_types, part.key, added)
        # Null-typed columns hold nothing; leaving them out keeps them NULL and keeps the type of the table's column.
        nulls = [_quote(name) for name, dtype in part_types.items() if dtype == _NULL_TYPE]
        exclude = f" EXCLUDE ({', '.join(nulls)})" if nulls else ""
        batches = pa.RecordBatchReader.from_batches(schema, parquet.iter_batches(batch_size=_BATCH_ROWS))
        con.register("_sg_part", batches)
        try:
            inserted = _count(
                con.execute(
                    f"INSERT INTO {table} BY NAME SELECT *{exclude}, ?::VARCHAR AS {RUN_ID_COLUMN}, "
                    f"?::TIMESTAMP AS {LOADED_AT_COLUMN} FROM _sg_part",
                    [run.run_id, loaded_at],
                )
            )
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot insert {lake.uri(part.key)} into {table}: {exc}") from exc
        finally:
            con.unregister("_sg_part")
    if inserted != part.rows:
        raise WarehouseError(
            f"{lake.uri(part.key)} holds {inserted} rows, but the manifest of {run.object} run {run.run_id} "
            f"says {part.rows}; nothing of the run was loaded"
        )
    return inserted


def _widen_table(
    con: duckdb.DuckDBPyConnection, run: _Manifest, table: str, part_types: dict[str, str], key: str, added: list[str]
) -> None:
    """Create the table or add the part's new columns; refuse a column whose type changed.

    A changed type would be cast silently by INSERT (a DOUBLE into a BIGINT column rounds), which
    would corrupt evidence without a trace; failing makes someone decide.
    """
    existing = _table_columns(con, run.object.lower())
    typed = {name: dtype for name, dtype in part_types.items() if dtype != _NULL_TYPE}
    if not existing:
        columns = [f"{_quote(name)} {dtype}" for name, dtype in typed.items()]
        columns += [f"{RUN_ID_COLUMN} VARCHAR NOT NULL", f"{LOADED_AT_COLUMN} TIMESTAMP NOT NULL"]
        con.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
        return
    for name, dtype in typed.items():
        current = existing.get(name.lower())
        if current is None:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {_quote(name)} {dtype}")
            added.append(name)
        elif current != dtype:
            raise WarehouseError(
                f"column {name!r} of {key!r} is {dtype}, but {table_name(run.object)}.{name} is {current}; the "
                "extractor's type for "
                "this field changed. Alter the column (or rebuild the table) on purpose, then load again"
            )
