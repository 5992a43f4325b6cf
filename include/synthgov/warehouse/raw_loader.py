"""The raw-schema loader: append the lake's runs to ``raw_salesforce`` and ``raw_synthgov``, and purge from them.

Each object has a table ``<schema>.<object lower-case>`` whose columns are the Salesforce field
names (quoted, case kept) plus ``_sg_run_id`` and ``_sg_loaded_at``. The schema is the org's,
``raw_salesforce``, for extracted objects and ``raw_synthgov`` for synthgov's own findings runs
(``base.raw_schema`` decides). ``raw_salesforce._sg_loads`` records every loaded run of either,
``raw_salesforce._sg_purged`` every record a retention run purged (the warehouse's side of purging;
the lake keeps its own registry of purged ids).

A run is the unit of loading. The extractor writes a run's parquet parts and then its manifest (the
manifest is the run's commit marker); the loader reads parts through the Lake interface, so S3 works
without DuckDB's httpfs extension, which cannot be installed offline. Loading is idempotent by run
id: one transaction deletes any rows an earlier attempt of the run left, inserts the parts and
records the run in ``raw_salesforce._sg_loads``, so a retried task never doubles rows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from synthgov.lake import MANIFEST_NAME, Lake, LakeError, LakeNotFound, object_prefix, run_id_from_key
from synthgov.lake.layout import run_folder, run_prefix
from synthgov.lake.purged import references_of
from synthgov.lake.runs import RunManifest, RunManifestError, RunPart
from synthgov.warehouse.base import (
    LOADED_AT_COLUMN,
    LOADS_TABLE,
    PURGED_TABLE,
    RAW_SCHEMA,
    RUN_ID_COLUMN,
    SYNTHGOV_OBJECTS,
    SYNTHGOV_SCHEMA,
    Session,
    Warehouse,
    WarehouseError,
    quote,
    raw_schema,
    sql_table,
    table_name,
)

_PURGED_DDL = (
    f"CREATE TABLE IF NOT EXISTS {PURGED_TABLE} (object_name VARCHAR NOT NULL, "
    "record_id VARCHAR NOT NULL, purged_at TIMESTAMP NOT NULL, purge_run_id VARCHAR NOT NULL)"
)
# Tables keyed by another object's id that must lose a purged record's rows too: object → (table's object, id column).
PURGED_FINDINGS: dict[str, tuple[tuple[str, str], ...]] = {"ContentVersion": (("ContentVersion_Media", "record_id"),)}

_HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class LoadResult:
    """What one run's load did; ``replaced_rows`` > 0 means an earlier attempt of the run was redone.

    ``folder`` and ``manifest_key`` say where the run lives in the lake, so a caller (the load's
    lineage) never lists the lake again to find them.
    """

    object: str
    run_id: str
    folder: str
    manifest_key: str
    table: str
    rows: int
    files: int
    replaced_rows: int
    added_columns: tuple[str, ...]
    loaded_at: datetime


def load_run(warehouse: Warehouse, lake: Lake, manifest: dict[str, Any], key: str | None = None) -> LoadResult:
    """Load one run's parts into ``<schema>.<object>``, replacing any earlier attempt of the run.

    ``manifest`` is the run manifest's JSON form and ``key`` where it is stored; without ``key`` the
    manifest is taken to sit beside its parts (a run without parts is an extracted run).
    """
    try:
        run = RunManifest.from_json(manifest)
    except RunManifestError as exc:
        raise WarehouseError(str(exc)) from None
    if key is None:
        folder = run_folder(run.files[0].key) if run.files else run_prefix(run.object, run.run_date, run.run_id)
        key = folder + MANIFEST_NAME
    table = sql_table(run.object)
    schema = raw_schema(run.object)
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    with warehouse.session() as s:
        s.begin_load()
        try:
            for name in dict.fromkeys((RAW_SCHEMA, schema)):
                s.execute(f"CREATE SCHEMA IF NOT EXISTS {name}")
            s.execute(
                f"CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (object VARCHAR NOT NULL, run_id VARCHAR NOT NULL, "
                "rows BIGINT NOT NULL, loaded_at TIMESTAMP NOT NULL, files VARCHAR NOT NULL, "
                "PRIMARY KEY (object, run_id))"
            )
            # Empty until a retention run purges; dbt's staging reads it from the first build on.
            s.execute(_PURGED_DDL)
            _move_synthgov_tables(s)
            replaced = 0
            if s.columns(schema, run.object.lower()):
                replaced = s.execute(f"DELETE FROM {table} WHERE {RUN_ID_COLUMN} = {s.param}", [run.run_id])
            rows = 0
            added: list[str] = []
            for part in run.files:
                rows += _load_part(s, lake, run, part, table, loaded_at, added)
            s.index_raw_table(schema, run.object.lower())
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
        folder=run_folder(key),
        manifest_key=key,
        table=table_name(run.object),
        rows=rows,
        files=len(run.files),
        replaced_rows=replaced,
        added_columns=tuple(added),
        loaded_at=loaded_at,
    )


def loaded_runs(warehouse: Warehouse, obj: str) -> set[str]:
    """Run ids of the object already in the warehouse."""
    with warehouse.session() as s:
        if not s.columns(RAW_SCHEMA, "_sg_loads"):
            return set()
        rows = s.query(f"SELECT run_id FROM {LOADS_TABLE} WHERE object = {s.param}", [obj])
    return {str(row[0]) for row in rows}


def row_count(warehouse: Warehouse, obj: str) -> int:
    """Rows in the object's raw table (0 before its first load)."""
    with warehouse.session() as s:
        if not s.columns(raw_schema(obj), obj.lower()):
            return 0
        ((count,),) = s.query(f"SELECT count(*) FROM {sql_table(obj)}")
        return int(count)


def record_purged(warehouse: Warehouse, ids_by_object: dict[str, list[str]], run_id: str, purged_at: datetime) -> int:
    """Remove purged records (and their findings) from the raw tables and list them in ``raw_salesforce._sg_purged``.

    GDPR erasure reaches the warehouse copy too; the list lets staging keep them out even where an
    incremental model still holds an old version. Returns the raw rows removed.
    """
    return sum(purge_raw_rows(warehouse, ids_by_object, run_id, purged_at).values())


def purge_raw_rows(
    warehouse: Warehouse, ids_by_object: dict[str, list[str]], run_id: str, purged_at: datetime
) -> dict[str, int]:
    """``record_purged``, returning the rows removed per raw table (``raw_salesforce.contentdocument``: 2).

    Besides each record's own rows and its findings, the rows that only describe it go: a purged
    ContentDocument's versions and links (``lake.purged.DESCRIBING``), matched on their reference, so
    a version the purge did not list cannot keep the file's title in the warehouse.
    """
    removed: dict[str, int] = {}
    stamp = purged_at.astimezone(UTC).replace(tzinfo=None)
    with warehouse.session() as s:
        s.begin_load()
        try:
            s.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
            s.execute(_PURGED_DDL)
            _move_synthgov_tables(s)
            for obj, ids in ids_by_object.items():
                for part, marks in _chunks(s, ids):
                    for table, column in _purge_targets(obj):
                        real = _column(s, table, column)
                        if real is not None:
                            n = s.execute(f"DELETE FROM {sql_table(table)} WHERE {quote(real)} IN ({marks})", part)
                            removed[table_name(table)] = removed.get(table_name(table), 0) + n
                    rows = ", ".join(f"({s.param}, {s.param}, {s.param}, {s.param})" for _ in part)
                    values = [v for record_id in part for v in (obj, record_id, stamp, run_id)]
                    s.execute(f"INSERT INTO {PURGED_TABLE} VALUES {rows}", values)
            s.commit()
        except BaseException:
            s.rollback()
            raise
    return removed


def referencing_ids(warehouse: Warehouse, obj: str, column: str, parents: list[str]) -> set[str]:
    """Ids of ``obj``'s raw rows whose ``column`` names one of ``parents`` (a purged file's versions)."""
    found: set[str] = set()
    with warehouse.session() as s:
        real, id_column = _column(s, obj, column), _column(s, obj, "Id")
        if real is None or id_column is None:
            return found
        for part, marks in _chunks(s, parents):
            rows = s.query(f"SELECT {quote(id_column)} FROM {sql_table(obj)} WHERE {quote(real)} IN ({marks})", part)
            found |= {str(row[0]) for row in rows}
    return found


def purged_rows_left(warehouse: Warehouse, ids_by_object: dict[str, list[str]]) -> dict[str, int]:
    """Raw table -> rows still holding (or only describing) these purged records; empty when none is left."""
    left: dict[str, int] = {}
    with warehouse.session() as s:
        for obj, ids in ids_by_object.items():
            for part, marks in _chunks(s, ids):
                for table, column in _purge_targets(obj):
                    real = _column(s, table, column)
                    if real is None:
                        continue
                    ((count,),) = s.query(
                        f"SELECT count(*) FROM {sql_table(table)} WHERE {quote(real)} IN ({marks})", part
                    )
                    if count:
                        left[table_name(table)] = left.get(table_name(table), 0) + int(count)
    return left


def _purge_targets(obj: str) -> tuple[tuple[str, str], ...]:
    """(table's object, id column) of every raw table a purged record of ``obj`` must leave."""
    described = tuple((r.object, r.column) for r in references_of(obj))
    return ((obj, "Id"), *PURGED_FINDINGS.get(obj, ()), *described)


def _column(s: Session, obj: str, column: str) -> str | None:
    """The column as the object's raw table spells it, or None when the table or the column is not there."""
    present = s.columns(raw_schema(obj), obj.lower())
    found = present.get(column.lower())
    return found[0] if found else None


def _chunks(s: Session, ids: list[str]) -> list[tuple[list[str], str]]:
    """The ids in pieces a statement's parameter list takes, each with its placeholders."""
    pieces = [ids[start : start + 1000] for start in range(0, len(ids), 1000)]
    return [(piece, ", ".join(s.param for _ in piece)) for piece in pieces]


def _move_synthgov_tables(s: Session) -> None:
    """Move the tables of synthgov's own objects that an older warehouse keeps in ``raw_salesforce`` (see DECISIONS).

    Within the caller's transaction, by copy and drop (DuckDB has no ``ALTER TABLE ... SET SCHEMA``):
    the rows loaded so far stay, and no run is loaded again, as the ledger lists them already. A
    purge moves them too, so a purged file's findings never linger in the old schema.
    """
    for obj in sorted(SYNTHGOV_OBJECTS):
        old = f"{RAW_SCHEMA}.{quote(obj.lower())}"
        if s.columns(RAW_SCHEMA, obj.lower()) and not s.columns(SYNTHGOV_SCHEMA, obj.lower()):
            s.execute(f"CREATE SCHEMA IF NOT EXISTS {SYNTHGOV_SCHEMA}")
            s.execute(f"CREATE TABLE {sql_table(obj)} AS SELECT * FROM {old}")
            s.execute(f"DROP TABLE {old}")


def load_pending(warehouse: Warehouse, lake: Lake, objects: list[str]) -> list[LoadResult]:
    """Load every run in the lake of these objects that the warehouse lacks, oldest run first.

    Run ids start with their UTC start time (``YYYYMMDDTHHMMSSZ-xxxx``), so their order is the
    order the runs happened; loading in that order keeps ``_sg_loaded_at`` and the runs aligned.
    """
    pending: list[tuple[str, int, RunManifest, str]] = []
    with warehouse.session():
        for index, obj in enumerate(objects):
            loaded = loaded_runs(warehouse, obj)
            for key in lake.list(object_prefix(obj)):
                key_run = run_id_from_key(key)
                if not key.endswith("/" + MANIFEST_NAME) or key_run is None or key_run in loaded:
                    continue
                manifest = _read_manifest(lake, key)
                if manifest.object != obj or manifest.run_id != key_run:
                    raise WarehouseError(
                        f"manifest {lake.uri(key)} says object {manifest.object!r} run "
                        f"{manifest.run_id!r}, but its key says {obj!r} run {key_run!r}; "
                        "the lake layout is inconsistent, check what wrote it"
                    )
                pending.append((key_run, index, manifest, key))
        pending.sort(key=lambda item: (item[0], item[1]))
        return [load_run(warehouse, lake, manifest.to_json(), key) for _, _, manifest, key in pending]


def _read_manifest(lake: Lake, key: str) -> RunManifest:
    try:
        data = lake.get_bytes(key)
    except LakeError as exc:
        raise WarehouseError(f"cannot read manifest {key!r}: {exc}") from exc
    try:
        return RunManifest.from_bytes(data, f"manifest {lake.uri(key)}")
    except RunManifestError as exc:
        raise WarehouseError(str(exc)) from None


def _verified_sha256(f: IO[bytes], lake: Lake, run: RunManifest, part: RunPart) -> None:
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
    s: Session,
    lake: Lake,
    run: RunManifest,
    part: RunPart,
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
    s: Session, run: RunManifest, table: str, part_types: dict[str, str | None], key: str, added: list[str]
) -> dict[str, str]:
    """Create the table or add the part's new columns; refuse a column whose type changed.

    Returns the part's typed columns → the table's columns they go to. A changed type would be
    cast silently by the insert (a DOUBLE into a BIGINT column rounds), which would corrupt
    evidence without a trace; failing makes someone decide.
    """
    existing = s.columns(raw_schema(run.object), run.object.lower())
    typed = {name: dtype for name, dtype in part_types.items() if dtype is not None}
    if not existing:
        columns = [f"{quote(name)} {dtype}" for name, dtype in typed.items()]
        columns += [f"{RUN_ID_COLUMN} VARCHAR NOT NULL", f"{LOADED_AT_COLUMN} TIMESTAMP NOT NULL"]
        s.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
        return {name: name for name in typed}
    targets: dict[str, str] = {}
    for name, dtype in typed.items():
        current = existing.get(name.lower())
        if current is None:
            s.execute(f"ALTER TABLE {table} ADD COLUMN {quote(name)} {dtype}")
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
