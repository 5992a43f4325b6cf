"""Extract one Salesforce object into the lake: incremental or snapshot, REST or Bulk API 2.0.

The contract a run keeps, whatever fails:
- pages stream into parquet part files of at most `part_rows` rows, so memory stays flat;
- every part reaches the lake whole (the lake's put is atomic), and the run's manifest is
  written after its last part: readers take only runs with a manifest;
- the watermark moves only after the manifest is written, so a run that dies at any point is
  simply read again from the old watermark next time (no gap), and the loader's idempotence by
  run id means a repeated window never duplicates rows in the warehouse;
- parts of runs that died before their manifest are removed by the next run of the object.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from synthgov import lake as lakes
from synthgov.extract.config import ObjectSpec
from synthgov.lake.purged import drop_purged_rows, purged_filters
from synthgov.lake.runs import RunManifest, RunPart, sha256_file
from synthgov.salesforce import bulk
from synthgov.salesforce.connection import ApiLimitReached, SalesforceConnection

log = logging.getLogger(__name__)

# Types describe reports that the extraction cannot store as columns (compound values, blobs).
SKIPPED_TYPES = frozenset({"address", "location", "base64", "anyType", "complexvalue"})
_ARROW_TYPES: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "int": pa.int64(),
    "double": pa.float64(),
    "currency": pa.float64(),
    "percent": pa.float64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("ms", tz="UTC"),
    "time": pa.string(),
}


class ExtractionError(RuntimeError):
    """A configuration the org refuses (unknown object or field): the message names it."""


@dataclass
class ColumnSpec:
    path: str  # the SOQL path, e.g. "SubscriberPackage.NamespacePrefix"
    column: str  # the parquet column, e.g. "SubscriberPackage_NamespacePrefix"
    sf_type: str

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES.get(self.sf_type, pa.string())


@dataclass
class Progress:
    """Logged as the pages come in: pages, rows, rows/s and the API budget."""

    obj: str
    pages: int = 0
    rows: int = 0
    started: float = field(default_factory=time.monotonic)
    report: Callable[[str], None] = log.info

    def page(self, rows: int, budget: dict[str, Any]) -> None:
        self.pages += 1
        self.rows += rows
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.report(
            f"{self.obj}: page {self.pages}, {self.rows} rows, {self.rows / elapsed:,.0f} rows/s, "
            f"API calls this run {budget['used_by_run']} (org {budget['org_used']}/{budget['org_max']})"
        )


@dataclass
class ObjectResult:
    obj: str
    run_id: str
    mode: str
    api: str
    rows: int
    rows_deleted: int
    files: list[dict[str, Any]]
    manifest_key: str
    window_start: str | None
    window_end: str
    api_calls: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _soql_datetime(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def read_watermark(lake: lakes.Lake, obj: str) -> datetime | None:
    try:
        data = json.loads(lake.get_bytes(lakes.watermark_key(obj)))
    except lakes.LakeNotFound:
        return None
    return datetime.fromisoformat(data["watermark"])


def describe_columns(conn: SalesforceConnection, spec: ObjectSpec) -> list[ColumnSpec]:
    """The columns to read: configured fields checked against describe, or every storable field."""
    described = _describe(conn, spec.name, spec.tooling)
    by_name = {f["name"].lower(): f for f in described["fields"]}
    if spec.fields is None:
        return [
            ColumnSpec(f["name"], f["name"], f["type"]) for f in described["fields"] if f["type"] not in SKIPPED_TYPES
        ]
    columns = []
    parents: dict[str, dict[str, Any]] = {}  # each parent described once, however many of its fields are read
    for path in spec.fields:
        *rels, name = path.split(".")
        fields, obj = by_name, spec.name
        for rel in rels:
            ref = next((f for f in fields.values() if (f.get("relationshipName") or "").lower() == rel.lower()), None)
            if ref is None or len(ref.get("referenceTo") or []) != 1:
                raise ExtractionError(f"{spec.name}: {path}: {obj} has no parent relationship {rel!r}")
            obj = ref["referenceTo"][0]
            if obj not in parents:
                parents[obj] = {f["name"].lower(): f for f in _describe(conn, obj, spec.tooling)["fields"]}
            fields = parents[obj]
        f = fields.get(name.lower())
        if f is None:
            raise ExtractionError(f"{spec.name}: field {path!r} does not exist on {obj} (check the extraction config)")
        if f["type"] in SKIPPED_TYPES:
            raise ExtractionError(f"{spec.name}: field {path!r} is {f['type']}, which cannot be extracted as a column")
        canonical = ".".join([*rels, f["name"]])
        columns.append(ColumnSpec(canonical, canonical.replace(".", "_"), f["type"]))
    if not any(c.column == "Id" for c in columns):
        raise ExtractionError(f"{spec.name}: the configured fields must include Id")
    return columns


def _describe(conn: SalesforceConnection, obj: str, tooling: bool) -> dict[str, Any]:
    def run(sf: Salesforce) -> Any:
        if tooling:
            return sf.restful(f"tooling/sobjects/{obj}/describe")
        return getattr(sf, obj).describe()

    try:
        result: dict[str, Any] = conn.call(run)
    except (SalesforceResourceNotFound, SalesforceMalformedRequest):
        raise ExtractionError(
            f"the org has no {'Tooling ' if tooling else ''}object {obj!r} (check the extraction config)"
        ) from None
    return result


class _PartWriter:
    """Rows in, parquet parts out: each part is written locally, then put into the lake whole."""

    def __init__(
        self, lake: lakes.Lake, obj: str, run_date: date, run_id: str, schema: pa.Schema, part_rows: int, staging: Path
    ) -> None:
        self.lake, self.obj, self.run_date, self.run_id = lake, obj, run_date, run_id
        self.schema = schema
        self.part_rows = part_rows
        self.staging = staging
        self.files: list[RunPart] = []
        self._writer: pq.ParquetWriter | None = None
        self._path: Path | None = None
        self._rows = 0
        self.min_modstamp: Any = None
        self.max_modstamp: Any = None
        self.rows_deleted = 0

    def write(self, table: pa.Table) -> None:
        table = table.cast(self.schema)
        self._track(table)
        offset = 0
        while offset < table.num_rows:
            if self._writer is None:
                self._open()
            room = self.part_rows - self._rows
            chunk = table.slice(offset, room)
            assert self._writer is not None
            self._writer.write_table(chunk)
            self._rows += chunk.num_rows
            offset += chunk.num_rows
            if self._rows >= self.part_rows:
                self._close_part()

    def _track(self, table: pa.Table) -> None:
        import pyarrow.compute as pc

        if "SystemModstamp" in table.column_names and table.num_rows:
            lo, hi = pc.min_max(table["SystemModstamp"]).values()
            lo, hi = lo.as_py(), hi.as_py()
            if lo is not None:
                self.min_modstamp = lo if self.min_modstamp is None else min(self.min_modstamp, lo)
                self.max_modstamp = hi if self.max_modstamp is None else max(self.max_modstamp, hi)
        if "IsDeleted" in table.column_names:
            self.rows_deleted += int(pc.sum(table["IsDeleted"].cast(pa.int64())).as_py() or 0)

    def _open(self) -> None:
        self._path = self.staging / f"part-{len(self.files):05d}.parquet"
        self._writer = pq.ParquetWriter(self._path, self.schema, compression="zstd")
        self._rows = 0

    def _close_part(self) -> None:
        assert self._writer is not None and self._path is not None
        self._writer.close()
        key = lakes.raw_part_key(self.obj, self.run_date, self.run_id, len(self.files))
        part = RunPart(key, self._rows, sha256_file(self._path), self._path.stat().st_size)
        self.lake.put_file(key, self._path)
        self.files.append(part)
        self._path.unlink()
        self._writer, self._path = None, None

    def finish(self) -> list[RunPart]:
        if self._writer is not None:
            self._close_part()
        if not self.files:
            # An empty window still gets one (empty) part, so the schema travels with the run.
            self._open()
            assert self._writer is not None
            self._writer.write_table(self.schema.empty_table())
            self._close_part()
        return self.files

    def abort(self) -> None:
        """Take back what this run put in the lake; a killed process leaves it to the next run."""
        if self._writer is not None:
            self._writer.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)
        for f in self.files:
            self.lake.delete(f.key)
        self.files = []


def _records_to_table(records: list[dict[str, Any]], columns: list[ColumnSpec], schema: pa.Schema) -> pa.Table:
    arrays = []
    for col, fld in zip(columns, schema, strict=True):
        values = [_dig(r, col.path) for r in records]
        if col.sf_type in {"datetime", "date"}:
            arrays.append(pa.array(values, pa.string()).cast(fld.type))
        else:
            arrays.append(pa.array(values, fld.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _dig(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if value is None:
            return None
        value = value.get(part)
    return value


def clean_orphans(lake: lakes.Lake, obj: str) -> list[str]:
    """Remove parts of earlier runs of `obj` that died before writing their manifest."""
    keys = lake.list(lakes.object_prefix(obj))
    complete = {k.rsplit("/", 1)[0] for k in keys if k.endswith(lakes.MANIFEST_NAME)}
    orphans = [k for k in keys if k.rsplit("/", 1)[0] not in complete]
    for key in orphans:
        lake.delete(key)
    if orphans:
        log.info("%s: removed %d part files of runs that did not finish", obj, len(orphans))
    return orphans


def extract_object(
    conn: SalesforceConnection,
    lake: lakes.Lake,
    spec: ObjectSpec,
    *,
    run_id: str,
    run_start: datetime,
    bulk_threshold: int = 50_000,
    part_rows: int = 250_000,
    page_size: int = 2000,
    bulk_poll_seconds: float = 1.0,
    report: Callable[[str], None] = log.info,
) -> ObjectResult:
    """Extract one object for the run that started at `run_start` (the org's clock)."""
    clean_orphans(lake, spec.name)
    # Purged records (and rows naming a purged file) come back through queryAll (soft deletes, 15 days)
    # and with the purge's own SystemModstamp change; they never reach a part again.
    purged = purged_filters(lake, spec.name)
    left_out = 0
    calls_before = conn.budget.used_by_run
    columns = describe_columns(conn, spec)
    schema = pa.schema([pa.field(c.column, c.arrow_type) for c in columns])
    field_list = ", ".join(c.path for c in columns)
    has = {c.column for c in columns}
    window_start: datetime | None = None
    where: list[str] = []
    if spec.mode == "incremental":
        if "SystemModstamp" not in has:
            raise ExtractionError(f"{spec.name}: incremental extraction needs SystemModstamp; use mode: snapshot")
        window_start = read_watermark(lake, spec.name)
        if window_start is not None:
            where.append(f"SystemModstamp >= {_soql_datetime(window_start)}")
        where.append(f"SystemModstamp < {_soql_datetime(run_start)}")
    elif spec.window_days:
        where.append(f"CreatedDate >= {_soql_datetime(run_start - timedelta(days=spec.window_days))}")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    order = " ORDER BY SystemModstamp, Id" if spec.mode == "incremental" else ""
    soql = f"SELECT {field_list} FROM {spec.name}{clause}{order}"
    include_deleted = spec.mode == "incremental" and "IsDeleted" in has

    api = spec.api
    if api == "auto":
        if spec.tooling:
            api = "rest"
        else:
            count_soql = f"SELECT COUNT() FROM {spec.name}{clause}"
            total = int(conn.call(lambda sf: sf.query(count_soql, include_deleted=include_deleted))["totalSize"])
            api = "bulk" if total >= bulk_threshold else "rest"
            report(
                f"{spec.name}: {total} rows in the window; reading with {'Bulk API 2.0' if api == 'bulk' else 'REST'}"
            )

    run_date = run_start.date()
    progress = Progress(spec.name, report=report)
    with tempfile.TemporaryDirectory(prefix=f"synthgov-{spec.name}-") as tmp:
        writer = _PartWriter(lake, spec.name, run_date, run_id, schema, part_rows, Path(tmp))
        try:
            pages: Iterator[pa.Table]
            if api == "bulk":
                pages = _bulk_pages(conn, soql, include_deleted, columns, schema, bulk_poll_seconds)
            else:
                pages = _rest_pages(conn, soql, include_deleted, spec.tooling, columns, schema, page_size)
            for page in pages:
                table = drop_purged_rows(page, purged)
                left_out += page.num_rows - table.num_rows
                writer.write(table)
                progress.page(table.num_rows, conn.budget.summary())
            files = writer.finish()
        except BaseException:
            writer.abort()
            raise
    calls = conn.budget.used_by_run - calls_before
    api_name = "bulk2" if api == "bulk" else "rest"
    start, end = window_start.isoformat() if window_start else None, run_start.isoformat()
    details = {
        "mode": spec.mode,
        "api": api_name,
        "soql": soql,
        "query_all": include_deleted,
        "window": {"start": start, "end": end},
        "rows_deleted": writer.rows_deleted,
        "rows_left_out_purged": left_out,
        "min_system_modstamp": writer.min_modstamp.isoformat() if writer.min_modstamp else None,
        "max_system_modstamp": writer.max_modstamp.isoformat() if writer.max_modstamp else None,
        "columns": [{"name": c.column, "path": c.path, "type": c.sf_type} for c in columns],
        "api_calls": calls,
        "written_at": datetime.now(UTC).isoformat(),
    }
    manifest = RunManifest(spec.name, run_id, run_date, tuple(files), details)
    key = lakes.manifest_key(spec.name, run_date, run_id)
    lake.put_bytes(key, manifest.to_bytes())
    if spec.mode == "incremental":
        # Only now: a run that died before this line is read again from the old watermark.
        mark = {"object": spec.name, "watermark": run_start.isoformat(), "run_id": run_id}
        lake.put_bytes(lakes.watermark_key(spec.name), json.dumps(mark).encode())
    report(
        f"{spec.name}: {manifest.rows} rows ({writer.rows_deleted} deleted) in {len(files)} files, {calls} API calls"
        + (f"; left out {left_out} rows of purged records" if left_out else "")
    )
    return ObjectResult(
        spec.name,
        run_id,
        spec.mode,
        api_name,
        manifest.rows,
        writer.rows_deleted,
        [part.to_json() for part in files],
        key,
        start,
        end,
        calls,
    )


def _rest_pages(
    conn: SalesforceConnection,
    soql: str,
    include_deleted: bool,
    tooling: bool,
    columns: list[ColumnSpec],
    schema: pa.Schema,
    page_size: int,
) -> Iterator[pa.Table]:
    headers = {"Sforce-Query-Options": f"batchSize={page_size}"}

    def first(sf: Salesforce) -> Any:
        if tooling:
            return sf.restful("tooling/query/", params={"q": soql}, headers=headers)
        return sf.query(soql, include_deleted=include_deleted, headers=headers)

    page = conn.call(first)
    while True:
        yield _records_to_table(page["records"], columns, schema)
        next_url = page.get("nextRecordsUrl")
        if page.get("done", True) or not next_url:
            return

        def more(sf: Salesforce, url: str = next_url) -> Any:
            return sf.query_more(url, identifier_is_url=True, headers=headers)

        page = conn.call(more)


def _bulk_pages(
    conn: SalesforceConnection,
    soql: str,
    include_deleted: bool,
    columns: list[ColumnSpec],
    schema: pa.Schema,
    poll_seconds: float,
) -> Iterator[pa.Table]:
    """Bulk API 2.0 query pages as tables (synthgov.salesforce.bulk: one call at a time, cut pages refused)."""
    # Bulk CSV headers are the SOQL paths; null and empty text look the same in CSV.
    convert = pacsv.ConvertOptions(
        column_types={c.path: c.arrow_type for c in columns},
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        timestamp_parsers=[pacsv.ISO8601],
    )
    header_map = {c.path: c.column for c in columns}
    for page in bulk.query_pages(conn, soql, include_deleted=include_deleted, poll_seconds=poll_seconds):
        try:
            table = pacsv.read_csv(
                io.BytesIO(page.body), read_options=pacsv.ReadOptions(use_threads=False), convert_options=convert
            )
        except pa.ArrowInvalid as exc:
            # A body cut inside a row does not parse at all; one cut between rows parses short.
            raise bulk.BulkQueryError(f"Bulk API 2.0 page of job {page.job_id} cannot be read: {exc}") from None
        # Never write a page that lost rows.
        page.check(table.num_rows)
        yield table.rename_columns([header_map.get(n, n) for n in table.column_names]).select(schema.names)


__all__ = ["ApiLimitReached", "ExtractionError", "ObjectResult", "extract_object"]
