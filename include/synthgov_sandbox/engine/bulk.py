"""Bulk API 2.0 jobs: query jobs read from a cursor snapshot, ingest jobs apply CSV through the store."""

from __future__ import annotations

import csv
import io
import json
import threading
from dataclasses import dataclass, field

from synthgov_sandbox.engine import ids
from synthgov_sandbox.engine.schema import API_VERSION, SObject, get_object
from synthgov_sandbox.engine.soql import compile_soql
from synthgov_sandbox.engine.store import ApiError, RecordResult, Store
from synthgov_sandbox.engine.values import db_datetime

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
# Salesforce accepts at most 150 MB of CSV per upload (after base64 it is 100 MB; we use the raw figure).
MAX_UPLOAD_BYTES = 150 * 1024 * 1024
DEFAULT_MAX_RECORDS = 50_000


def _job_id(prefix: str) -> str:
    import secrets

    return ids.make_id(prefix, int.from_bytes(secrets.token_bytes(6), "big") % (62**9))


@dataclass
class QueryJob:
    info: dict[str, object]
    cursor_id: str | None = None
    total: int = 0


@dataclass
class IngestJob:
    info: dict[str, object]
    data: list[bytes] = field(default_factory=list)
    successful: bytes = b""
    failed: bytes = b""
    unprocessed: bytes = b""


def _format(info: dict[str, object]) -> tuple[str, str]:
    delim = str(info.get("columnDelimiter") or "COMMA")
    ending = str(info.get("lineEnding") or "LF")
    return DELIMITERS[delim], LINE_ENDINGS[ending]


def _check_format(body: dict[str, object]) -> None:
    delim = body.get("columnDelimiter", "COMMA")
    if delim not in DELIMITERS:
        raise ApiError(400, "INVALIDJOB", f"Invalid columnDelimiter: {delim}. Allowed: {', '.join(DELIMITERS)}")
    ending = body.get("lineEnding", "LF")
    if ending not in LINE_ENDINGS:
        raise ApiError(400, "INVALIDJOB", f"Invalid lineEnding: {ending}. Allowed: LF, CRLF")
    content = body.get("contentType", "CSV")
    if content != "CSV":
        raise ApiError(400, "INVALIDJOB", f"Invalid contentType: {content}. Only CSV is supported")


class BulkJobs:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._query: dict[str, QueryJob] = {}

    # -- shared --------------------------------------------------------------------

    def _base_info(
        self, job_id: str, operation: str, obj: str, user_id: str, body: dict[str, object]
    ) -> dict[str, object]:
        now = db_datetime(self.store.now())
        return {
            "id": job_id,
            "operation": operation,
            "object": obj,
            "createdById": user_id,
            "createdDate": now[:-1] + "+0000",
            "systemModstamp": now[:-1] + "+0000",
            "state": "UploadComplete",
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(API_VERSION),
            "lineEnding": body.get("lineEnding", "LF"),
            "columnDelimiter": body.get("columnDelimiter", "COMMA"),
        }

    def _maybe_fail(self, info: dict[str, object]) -> bool:
        fault = self.store.take_fault("bulk_job_fail")
        if fault is None:
            return False
        info["state"] = "Failed"
        info["errorMessage"] = str(fault.spec.get("message") or "InternalServerError: the sandbox failed this job")
        return True

    # -- query jobs --------------------------------------------------------------------

    def create_query(self, body: dict[str, object], user_id: str) -> dict[str, object]:
        operation = body.get("operation", "query")
        if operation not in ("query", "queryAll"):
            raise ApiError(400, "INVALIDJOB", f"Invalid operation: {operation}. Allowed: query, queryAll")
        soql = body.get("query")
        if not isinstance(soql, str) or not soql.strip():
            raise ApiError(400, "INVALIDJOB", "query is required")
        _check_format(body)
        query = compile_soql(soql, include_deleted=operation == "queryAll", now=self.store.now())
        if query.count_only:
            raise ApiError(400, "INVALIDJOB", "COUNT() is not supported by Bulk API 2.0 query jobs")
        if any(c.field.type == "base64" for c in query.columns):
            raise ApiError(400, "INVALIDJOB", "Bulk API 2.0 query jobs do not support base64 fields")
        job_id = _job_id("750")
        info = self._base_info(job_id, str(operation), query.obj.name, user_id, body)
        info.update(
            {"jobType": "V2Query", "numberRecordsProcessed": 0, "retries": 0, "totalProcessingTime": 0, "query": soql}
        )
        job = QueryJob(info)
        if not self._maybe_fail(info):
            job.cursor_id, job.total = self.store.open_cursor(query)
            info["state"] = "JobComplete"
            info["numberRecordsProcessed"] = job.total
        with self._lock:
            self._query[job_id] = job
        return {k: v for k, v in info.items() if k != "query"} | {"state": "UploadComplete"}

    def query_job(self, job_id: str) -> QueryJob:
        with self._lock:
            job = self._query.get(job_id)
        if job is None:
            raise ApiError(404, "NOT_FOUND", f"Job with id {job_id} not found")
        return job

    def query_results(self, job_id: str, locator: str | None, max_records: str | None) -> tuple[bytes, int, str]:
        job = self.query_job(job_id)
        if job.info["state"] != "JobComplete":
            raise ApiError(
                400, "INVALIDJOBSTATE", f"Job {job_id} is in state {job.info['state']}; results need JobComplete"
            )
        cursor = self.store.cursor(job.cursor_id or "")
        if cursor is None:
            raise ApiError(404, "NOT_FOUND", f"The results of job {job_id} have expired")
        try:
            size = int(max_records) if max_records else DEFAULT_MAX_RECORDS
            start = int(locator, 36) if locator else 0
        except ValueError:
            raise ApiError(400, "INVALIDLOCATOR", "locator and maxRecords must be valid") from None
        if size < 1 or start < 0 or start > len(cursor.rowids):
            raise ApiError(400, "INVALIDLOCATOR", "locator or maxRecords out of range")
        page = cursor.rowids[start : start + size]
        rows = self.store.fetch_rows(cursor.query, page)
        delim, ending = _format(job.info)
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=delim, lineterminator=ending, quoting=csv.QUOTE_ALL)
        writer.writerow(cursor.query.csv_header())
        writer.writerows(cursor.query.to_csv_row(r) for r in rows)
        end = start + len(page)
        next_locator = _b36(end) if end < len(cursor.rowids) else "null"
        return buf.getvalue().encode(), len(rows), next_locator

    def abort_query(self, job_id: str, state: object) -> dict[str, object]:
        job = self.query_job(job_id)
        if state != "Aborted":
            raise ApiError(400, "INVALIDJOBSTATE", "a query job can only be set to Aborted")
        if job.info["state"] in ("JobComplete", "Failed"):
            raise ApiError(400, "INVALIDJOBSTATE", f"Job {job_id} is already {job.info['state']}")
        job.info["state"] = "Aborted"
        return job.info

    def delete_query(self, job_id: str) -> None:
        job = self.query_job(job_id)
        with self._lock:
            self._query.pop(job_id, None)
        if job.cursor_id:
            self.store.drop_cursor(job.cursor_id)

    def list_query(self) -> list[dict[str, object]]:
        with self._lock:
            return [dict(j.info) for j in self._query.values()]

    # -- ingest jobs -------------------------------------------------------------------

    def create_ingest(self, body: dict[str, object], user_id: str) -> dict[str, object]:
        operation = body.get("operation")
        if operation not in INGEST_OPERATIONS:
            raise ApiError(
                400, "INVALIDJOB", f"Invalid operation: {operation}. Allowed: {', '.join(INGEST_OPERATIONS)}"
            )
        obj = get_object(str(body.get("object", "")))
        if obj is None:
            raise ApiError(400, "INVALIDENTITY", f"Entity '{body.get('object')}' is not supported by the Bulk API.")
        _check_format(body)
        ext = body.get("externalIdFieldName")
        if operation == "upsert":
            f = obj.field(str(ext or ""))
            if f is None or not (f.external_id or f.name == "Id"):
                raise ApiError(
                    400, "INVALIDJOB", f"externalIdFieldName '{ext}' is not an external id field of {obj.name}"
                )
        job_id = _job_id("750")
        info = self._base_info(job_id, str(operation), obj.name, user_id, body)
        info.update(
            {
                "state": "Open",
                "jobType": "V2Ingest",
                "contentUrl": f"services/data/v{API_VERSION}/jobs/ingest/{job_id}/batches",
                "numberRecordsProcessed": 0,
                "numberRecordsFailed": 0,
                "retries": 0,
                "totalProcessingTime": 0,
            }
        )
        if ext:
            info["externalIdFieldName"] = ext
        self._save(IngestJob(info))
        return info

    def _save(self, job: IngestJob) -> None:
        with self.store._write() as c:
            c.execute(
                "INSERT OR REPLACE INTO _ingest_jobs (id, info, data, successful, failed, unprocessed) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    job.info["id"],
                    json.dumps(job.info),
                    json.dumps([d.decode() for d in job.data]).encode(),
                    job.successful,
                    job.failed,
                    job.unprocessed,
                ),
            )

    def ingest_job(self, job_id: str) -> IngestJob:
        row = (
            self.store.conn()
            .execute("SELECT info, data, successful, failed, unprocessed FROM _ingest_jobs WHERE id = ?", (job_id,))
            .fetchone()
        )
        if row is None:
            raise ApiError(404, "NOT_FOUND", f"Job with id {job_id} not found")
        return IngestJob(json.loads(row[0]), [d.encode() for d in json.loads(row[1])], row[2], row[3], row[4])

    def upload(self, job_id: str, data: bytes) -> None:
        job = self.ingest_job(job_id)
        if job.info["state"] != "Open":
            raise ApiError(400, "INVALIDJOBSTATE", f"Job {job_id} is in state {job.info['state']}; uploads need Open")
        if sum(map(len, job.data)) + len(data) > MAX_UPLOAD_BYTES:
            raise ApiError(400, "EXCEEDED_QUOTA", "the job's data exceeds 150 MB")
        if not data.strip():
            raise ApiError(400, "INVALIDDATA", "the uploaded CSV is empty")
        job.data.append(data)
        self._save(job)

    def set_ingest_state(self, job_id: str, state: object, user_id: str) -> dict[str, object]:
        job = self.ingest_job(job_id)
        current = job.info["state"]
        if state == "Aborted":
            if current in ("JobComplete", "Failed", "Aborted"):
                raise ApiError(400, "INVALIDJOBSTATE", f"Job {job_id} is already {current}")
            job.info["state"] = "Aborted"
        elif state == "UploadComplete":
            if current != "Open":
                raise ApiError(400, "INVALIDJOBSTATE", f"Job {job_id} is in state {current}; expected Open")
            if not job.data:
                raise ApiError(400, "INVALIDJOBSTATE", f"Job {job_id} has no data uploaded")
            self._process(job, user_id)
        else:
            raise ApiError(400, "INVALIDJOBSTATE", f"Invalid state: {state}. Allowed: UploadComplete, Aborted")
        self._save(job)
        return job.info

    def _process(self, job: IngestJob, user_id: str) -> None:
        delim, ending = _format(job.info)
        header: list[str] | None = None
        rows: list[list[str]] = []
        for chunk in job.data:
            reader = csv.reader(io.StringIO(chunk.decode("utf-8-sig"), newline=""), delimiter=delim)
            try:
                part = list(reader)
            except csv.Error as exc:
                raise ApiError(400, "INVALIDDATA", f"the CSV could not be parsed: {exc}") from None
            if not part:
                continue
            if header is None:
                header = part[0]
            elif part[0] != header:
                raise ApiError(400, "INVALIDDATA", "every upload of a job must carry the same header")
            rows.extend(r for r in part[1:] if r)
        assert header is not None
        obj = get_object(str(job.info["object"]))
        assert obj is not None
        if self._maybe_fail(job.info):
            job.unprocessed = _csv(delim, ending, header, rows)
            return
        results = self._apply(obj, str(job.info["operation"]), header, rows, user_id, job.info)
        ok = [
            [r.id or "", "true" if r.created else "false", *row]
            for r, row in zip(results, rows, strict=True)
            if r.success
        ]
        bad = [
            [r.id or "", f"{r.code}:{r.message}:{'--' if not r.fields else ','.join(r.fields)}", *row]
            for r, row in zip(results, rows, strict=True)
            if not r.success
        ]
        job.successful = _csv(delim, ending, ["sf__Id", "sf__Created", *header], ok)
        job.failed = _csv(delim, ending, ["sf__Id", "sf__Error", *header], bad)
        job.unprocessed = _csv(delim, ending, header, [])
        job.info["state"] = "JobComplete"
        job.info["numberRecordsProcessed"] = len(rows)
        job.info["numberRecordsFailed"] = len(bad)
        job.data = []

    def _apply(
        self,
        obj: SObject,
        operation: str,
        header: list[str],
        rows: list[list[str]],
        user_id: str,
        info: dict[str, object],
    ) -> list[RecordResult]:
        if operation in ("delete", "hardDelete"):
            if [h.strip() for h in header] != ["Id"]:
                raise ApiError(400, "INVALIDDATA", f"{operation} jobs take exactly one column, Id; got {header}")
            return self.store.delete_many(obj, [r[0].strip() for r in rows], hard=operation == "hardDelete")
        for name in header:
            if obj.field(name) is None:
                raise ApiError(400, "INVALIDDATA", f"Field name not found : {name}")
        results: list[RecordResult] = []
        for row in rows:
            values: dict[str, object] = {h: (v if v != "" else None) for h, v in zip(header, row, strict=False)}
            record_id = values.pop("Id", None)
            try:
                if operation == "insert":
                    results.append(RecordResult(self.store.create(obj, values, user_id), True, created=True))
                elif operation == "update":
                    if not record_id:
                        raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
                    self.store.update(obj, str(record_id), values, user_id)
                    results.append(RecordResult(str(record_id), True))
                else:
                    ext = str(info["externalIdFieldName"])
                    key = record_id if ext == "Id" else values.pop(ext, None)
                    if not key:
                        raise ApiError(400, "MISSING_ARGUMENT", f"{ext} not specified", [ext])
                    new_id, created = self.store.upsert(obj, ext, str(key), values, user_id)
                    results.append(RecordResult(new_id, True, created=created))
            except ApiError as exc:
                results.append(
                    RecordResult(
                        str(record_id) if record_id else None,
                        False,
                        code=exc.code,
                        message=exc.message,
                        fields=exc.fields,
                    )
                )
        return results

    def ingest_results(self, job_id: str, kind: str) -> bytes:
        job = self.ingest_job(job_id)
        if kind == "unprocessedRecords":
            return job.unprocessed
        if job.info["state"] != "JobComplete":
            raise ApiError(
                400, "INVALIDJOBSTATE", f"Job {job_id} is in state {job.info['state']}; results need JobComplete"
            )
        return job.successful if kind == "successfulResults" else job.failed

    def delete_ingest(self, job_id: str) -> None:
        job = self.ingest_job(job_id)
        if job.info["state"] in ("Open", "UploadComplete", "InProgress"):
            raise ApiError(400, "INVALIDJOBSTATE", "abort the job before deleting it")
        with self.store._write() as c:
            c.execute("DELETE FROM _ingest_jobs WHERE id = ?", (job_id,))

    def list_ingest(self) -> list[dict[str, object]]:
        return [json.loads(r[0]) for r in self.store.conn().execute("SELECT info FROM _ingest_jobs ORDER BY rowid")]


def _csv(delim: str, ending: str, header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delim, lineterminator=ending, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode()


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out
