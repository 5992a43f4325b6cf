"""What a purge asks of the org: read records back, delete or mask them, and check they are gone.

Reads go by `Id IN (...)`: REST queries for small sets, Bulk API 2.0 query jobs (about 4,000 ids
per job, under SOQL's 100,000-character limit) for large ones, so re-checking 100,000 records costs
well under one API call per thousand. Deletes go through composite collections (200 ids per call)
for small sets and one Bulk API 2.0 ingest job for large ones. Every ingest job id is written to the
journal before its data is uploaded, so a run that crashes re-attaches to its job instead of
sending the same deletes twice.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from synthgov.lake import Lake
from synthgov.retention.rules import LiveRecord
from synthgov.salesforce.bulk import PAGE_ROWS, query_pages
from synthgov.salesforce.connection import SalesforceConnection

log = logging.getLogger(__name__)

REST_CHUNK = 200  # ids per REST query (the URL stays far below its length limit) and per composite call
BULK_QUERY_CHUNK = 4000  # ids per Bulk 2.0 query job: 4,000 quoted ids are ~84,000 characters of SOQL
BULK_THRESHOLD = 2000  # from this many ids on, Bulk API 2.0 rather than REST / composite
LOCK_ERROR = "UNABLE_TO_LOCK_ROW"
GONE_ERROR = "ENTITY_IS_DELETED"
# The parent whose lock a child's DML takes: lock failures are retried grouped by it.
PARENT_FIELD = {
    "EmailMessage": "RelatedToId",
    "Task": "WhatId",
    "Contact": "AccountId",
    "Opportunity": "AccountId",
    "ContentVersion": "ContentDocumentId",
}
# The field a person recognises a record by, where the object has one (shown on the approval card).
LABEL_FIELD = {
    "EmailMessage": "Subject",
    "Task": "Subject",
    "ContentVersion": "Title",
    "Lead": "Name",
    "Contact": "Name",
}
# Provenance roles of include/policies/provenance_mapping.yml the decision reads.
LIVE_ROLES = (
    "ai_generated",
    "synthetic_persona",
    "generated_at",
    "legal_hold",
    "human_reviewed",
    "ai_tool",
    "ai_model",
)


class PurgeApiError(RuntimeError):
    """The org refused a purge request as a whole (not one record): the message says what and why."""


@dataclass
class RecordOutcome:
    """What happened to one record (or file) in the org."""

    outcome: str  # purged | already_deleted | skipped | failed
    code: str = ""


@dataclass
class DmlResult:
    done: dict[str, RecordOutcome] = field(default_factory=dict)
    locked: list[str] = field(default_factory=list)


# -- reading records back ------------------------------------------------------------------------


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value).replace("Z", "+0000")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, fmt).astimezone(UTC)
        except ValueError:
            continue
    return None


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1")


def live_fields(obj: str, mapping: Mapping[str, Any]) -> dict[str, str]:
    """role -> field API name for the object: the provenance roles plus what every purge needs."""
    roles = dict(mapping.get("objects", {}).get(obj, {}))
    fields = {role: str(roles[role]) for role in LIVE_ROLES if role in roles}
    fields.update({"id": "Id", "system_modstamp": "SystemModstamp", "created_at": "CreatedDate"})
    if obj in PARENT_FIELD:
        fields["parent_id"] = PARENT_FIELD[obj]
    if obj in LABEL_FIELD:
        fields["label"] = LABEL_FIELD[obj]
    return fields


def _soql_ids(ids: Sequence[str]) -> str:
    return ", ".join(f"'{i}'" for i in ids)


def query_rows(
    conn: SalesforceConnection,
    soql: str,
    *,
    bulk: bool,
    keep: Callable[[dict[str, Any]], bool] | None = None,
) -> list[dict[str, Any]]:
    """Every row of a query (or those `keep` accepts, filtered page by page), over REST or one Bulk 2.0 job."""
    if not bulk:
        result = conn.call(lambda sf: sf.query_all(soql))
        rows = [{k: v for k, v in r.items() if k != "attributes"} for r in result["records"]]
        return [r for r in rows if keep is None or keep(r)]
    # synthgov.salesforce.bulk refuses a page with fewer rows than the org declared.
    return [r for page in query_pages(conn, soql) for r in page.records() if keep is None or keep(r)]


def object_count(conn: SalesforceConnection, obj: str) -> int:
    """Live records of the object (one call)."""
    return int(conn.call(lambda sf: sf.query(f"SELECT COUNT() FROM {obj}"))["totalSize"])


def _whole_object_is_cheaper(n_ids: int, total: int) -> bool:
    """Read the whole object in one Bulk job rather than `Id IN` chunks? Only when it costs fewer calls
    (a job is ~3 calls plus a page per 50,000 rows) and the object is at most four times the id set, so
    a read never walks a huge object for a few ids."""
    chunk_calls = 3 * -(-n_ids // BULK_QUERY_CHUNK)
    whole_calls = 3 + max(0, -(-total // PAGE_ROWS) - 1)
    return total <= 4 * n_ids and whole_calls < chunk_calls


def fetch_rows(
    conn: SalesforceConnection, obj: str, ids: Sequence[str], fields: Iterable[str], *, where: str = "Id"
) -> list[dict[str, Any]]:
    """The rows of `obj` whose `where` field is one of `ids` (live records only: no Recycle Bin).

    Small sets: REST queries of 200 ids. Large sets: Bulk 2.0 query jobs of 4,000 ids, or, when the
    object is not much larger than the set, one job over the whole object filtered here page by page
    (a 100k-record purge then reads back in a handful of calls instead of 75).
    """
    wanted = sorted(set(ids))
    if not wanted:
        return []
    columns = ", ".join(dict.fromkeys([*fields, where]))
    bulk = len(wanted) >= BULK_THRESHOLD
    if bulk and _whole_object_is_cheaper(len(wanted), object_count(conn, obj)):
        members = set(wanted)
        return query_rows(conn, f"SELECT {columns} FROM {obj}", bulk=True, keep=lambda r: r.get(where) in members)
    chunk = BULK_QUERY_CHUNK if bulk else REST_CHUNK
    rows: list[dict[str, Any]] = []
    for start in range(0, len(wanted), chunk):
        part = wanted[start : start + chunk]
        rows.extend(query_rows(conn, f"SELECT {columns} FROM {obj} WHERE {where} IN ({_soql_ids(part)})", bulk=bulk))
    return rows


def fetch_live(
    conn: SalesforceConnection, obj: str, ids: Sequence[str], mapping: Mapping[str, Any]
) -> dict[str, LiveRecord]:
    """The live state of each record that still exists, keyed by its 18-character id."""
    fields = _fields_for(obj, mapping)
    return {str(r["Id"]): _to_live(obj, fields, r) for r in fetch_rows(conn, obj, ids, fields.values())}


def _to_live(obj: str, fields: dict[str, str], row: dict[str, Any]) -> LiveRecord:
    def get(role: str) -> Any:
        name = fields.get(role)
        value = row.get(name) if name else None
        return None if value in (None, "") else value

    def text(role: str) -> str | None:
        value = get(role)
        return None if value is None else str(value)

    return LiveRecord(
        id=str(row["Id"]),
        system_modstamp=_parse_time(get("system_modstamp")),
        created_at=_parse_time(get("created_at")),
        generated_at=_parse_time(get("generated_at")),
        ai_flag=_truthy(get("ai_generated")),
        synthetic_persona=_truthy(get("synthetic_persona")),
        legal_hold=_truthy(get("legal_hold")),
        human_reviewed=_truthy(get("human_reviewed")),
        ai_tool=text("ai_tool"),
        ai_model=text("ai_model"),
        parent_id=text("parent_id"),
        content_document_id=text("content_document_id"),
        label=text("label"),
    )


def _fields_for(obj: str, mapping: Mapping[str, Any]) -> dict[str, str]:
    fields = live_fields(obj, mapping)
    if obj == "ContentVersion":
        fields["content_document_id"] = "ContentDocumentId"
    return fields


def changed_since(
    conn: SalesforceConnection, obj: str, since: datetime, mapping: Mapping[str, Any]
) -> dict[str, LiveRecord]:
    """Live records of `obj` modified at or after `since` (one query, usually a handful of rows).

    The apply step re-checks a plan this way: a record untouched since the plan's own read-back
    still has the facts the plan recorded, so only what changed is read again.
    """
    fields = _fields_for(obj, mapping)
    stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    soql = f"SELECT {', '.join(dict.fromkeys(fields.values()))} FROM {obj} WHERE SystemModstamp >= {stamp}"
    return {str(r["Id"]): _to_live(obj, fields, r) for r in query_rows(conn, soql, bulk=False)}


def alive_ids(conn: SalesforceConnection, obj: str, ids: Sequence[str]) -> set[str]:
    """Which of `ids` the org still returns to a plain query (the Recycle Bin is not alive)."""
    return {str(r["Id"]) for r in fetch_rows(conn, obj, ids, ["Id"])}


# -- the journal: what a crashed run must find again ---------------------------------------------


class Journal:
    """Small JSON documents next to the plan in the lake, one per step of the apply."""

    def __init__(self, lake: Lake, prefix: str) -> None:
        self.lake = lake
        self.prefix = prefix.rstrip("/")

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}.json"

    def get(self, name: str) -> Any:
        key = self._key(name)
        if not self.lake.exists(key):
            return None
        return json.loads(self.lake.get_bytes(key))

    def put(self, name: str, value: Any) -> None:
        self.lake.put_bytes(self._key(name), json.dumps(value, sort_keys=True).encode())


# -- deleting and masking -----------------------------------------------------------------------


def _classify(record_id: str, success: bool, code: str, out: DmlResult) -> None:
    if success:
        out.done[record_id] = RecordOutcome("purged")
    elif code == GONE_ERROR:
        # Deleted by someone else, or by an earlier attempt of this run: the goal holds.
        out.done[record_id] = RecordOutcome("already_deleted", GONE_ERROR)
    elif code == LOCK_ERROR:
        out.locked.append(record_id)
    else:
        out.done[record_id] = RecordOutcome("failed", code or "UNKNOWN")


def composite_delete(conn: SalesforceConnection, ids: Sequence[str]) -> DmlResult:
    """Delete through composite collections, 200 ids per call, each id with its own outcome."""
    out = DmlResult()
    path = f"/services/data/v{conn.creds.api_version}/composite/sobjects"
    for start in range(0, len(ids), REST_CHUNK):
        part = list(ids[start : start + REST_CHUNK])
        response = conn.request("DELETE", f"{path}?ids={','.join(part)}&allOrNone=false")
        for record_id, item in zip(part, response.json(), strict=True):
            errors = item.get("errors") or []
            code = str(errors[0].get("statusCode", "")) if errors else ""
            _classify(record_id, bool(item.get("success")), code, out)
    return out


def _csv_bytes(header: list[str], rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def bulk_ingest(
    conn: SalesforceConnection,
    journal: Journal,
    step: str,
    obj: str,
    operation: str,
    header: list[str],
    rows: Sequence[Sequence[str]],
    *,
    poll_seconds: float = 0.5,
    after_create: Callable[[str], None] | None = None,
) -> DmlResult:
    """One Bulk API 2.0 ingest job (delete, hardDelete or update) over `rows`; the first column is Id.

    The job id is journalled under `step` before any data is sent. Run again after a crash, the
    same step re-attaches: an Open job (data maybe half sent, nothing processed) is aborted and
    replaced, a running one is awaited, a finished one only has its results read.
    """
    base = f"/services/data/v{conn.creds.api_version}/jobs/ingest"
    entry = journal.get(step)
    job_id: str | None = None
    if entry and entry.get("job_id"):
        job_id = str(entry["job_id"])
        state = conn.request("GET", f"{base}/{job_id}").json()["state"]
        log.info("re-attaching to Bulk API 2.0 job %s (%s) of step %s", job_id, state, step)
        if state == "Open":
            conn.request("PATCH", f"{base}/{job_id}", json_body={"state": "Aborted"})
            job_id = None
        elif state in ("Failed", "Aborted"):
            # Nothing of an aborted job was processed; a failed job's records are asked for again
            # and any already deleted come back as ENTITY_IS_DELETED, which counts as done.
            job_id = None
    if job_id is None:
        body = {"object": obj, "operation": operation, "contentType": "CSV", "lineEnding": "LF"}
        job_id = str(conn.request("POST", base, json_body=body).json()["id"])
        journal.put(
            step,
            {
                **(journal.get(step) or {}),
                "job_id": job_id,
                "object": obj,
                "operation": operation,
                "records": len(rows),
            },
        )
        if after_create is not None:
            after_create(job_id)
        conn.request("PUT", f"{base}/{job_id}/batches", data=_csv_bytes(header, rows), content_type="text/csv")
        conn.request("PATCH", f"{base}/{job_id}", json_body={"state": "UploadComplete"})
    delay = poll_seconds
    while True:
        info = conn.request("GET", f"{base}/{job_id}").json()
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            break
        time.sleep(delay)
        delay = min(delay * 2, 30.0)
    out = DmlResult()
    if info["state"] != "JobComplete":
        raise PurgeApiError(
            f"Bulk API 2.0 {operation} job {job_id} on {obj} ended {info['state']}: {info.get('errorMessage', '')}; "
            "nothing was counted as done, a retry of the task asks again"
        )
    ok = conn.request("GET", f"{base}/{job_id}/successfulResults", accept="text/csv").text
    for row in csv.DictReader(io.StringIO(ok)):
        _classify(row["Id"] or row["sf__Id"], True, "", out)
    failed = conn.request("GET", f"{base}/{job_id}/failedResults", accept="text/csv").text
    for row in csv.DictReader(io.StringIO(failed)):
        code = row["sf__Error"].split(":", 1)[0]
        _classify(row["Id"] or row["sf__Id"], False, code, out)
    unprocessed = conn.request("GET", f"{base}/{job_id}/unprocessedRecords", accept="text/csv").text
    for row in csv.DictReader(io.StringIO(unprocessed)):
        out.locked.append(row["Id"])  # never tried: asked again with the lock retries
    journal.put(step, {**(journal.get(step) or {}), "job_id": job_id, "state": "read"})
    return out
