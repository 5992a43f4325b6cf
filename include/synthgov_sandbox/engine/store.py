"""The sandbox org's state: records in SQLite, the org clock, sessions, the API budget and faults.

One `Store` serves every request thread. Reads use a connection per thread; writes are
serialised by one lock, which is what SQLite allows anyway and keeps read-check-write
sequences (delete, upsert) atomic.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import sqlite3
import threading
import time
from array import array
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from synthgov_sandbox.engine import ids
from synthgov_sandbox.engine.ddl import create_tables, quote
from synthgov_sandbox.engine.files import derive_file_fields
from synthgov_sandbox.engine.schema import SObject, catalogue, get_object
from synthgov_sandbox.engine.soql import CompiledQuery
from synthgov_sandbox.engine.values import ValueProblem, db_datetime, parse_datetime, to_db

DEFAULT_API_MAX = 1_000_000
# Salesforce keeps query cursors for a while; the sandbox keeps the most recent ones.
MAX_CURSORS = 256


class ApiError(Exception):
    """A Salesforce-shaped error: HTTP status, errorCode and message."""

    def __init__(self, status: int, code: str, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = list(fields)

    def body(self) -> list[dict[str, object]]:
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]


@dataclass
class RecordResult:
    """The outcome of one record in a DML call (composite or bulk)."""

    id: str | None
    success: bool
    created: bool = False
    code: str = ""
    message: str = ""
    fields: list[str] = field(default_factory=list)


@dataclass
class Cursor:
    query: CompiledQuery
    rowids: array  # type: ignore[type-arg]
    created: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    kind: str
    spec: dict[str, Any]
    remaining: int | None  # None: until cleared


@dataclass
class Session:
    token: str
    user_id: str
    issued_at: datetime


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._cursor_lock = threading.Lock()
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._faults: list[Fault] = []
        self._fault_lock = threading.Lock()
        self._rng = random.Random(0)
        self.stats: Counter[str] = Counter()
        # API calls per minute of the org clock, for the rolling 24-hour budget.
        self._usage: Counter[int] = Counter()
        self._usage_adjust = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._write_lock:
            conn = self.conn()
            conn.execute("PRAGMA journal_mode=WAL")
            create_tables(conn)
            conn.executescript(_META_DDL)

    # -- connections ---------------------------------------------------------------

    def conn(self) -> sqlite3.Connection:
        c: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            c.execute("PRAGMA synchronous=NORMAL")
            c.execute("PRAGMA cache_size=-65536")
            self._local.conn = c
        return c

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            c = self.conn()
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    # -- meta: settings, clock, serials ----------------------------------------------

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn().execute("SELECT value FROM _meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as c:
            c.execute("INSERT OR REPLACE INTO _meta (key, value) VALUES (?, ?)", (key, value))

    def credentials(self) -> dict[str, str]:
        """The org's connected-app credentials and demo password, made once per state dir."""
        out: dict[str, str] = {}
        makers: tuple[tuple[str, Callable[[], str]], ...] = (
            ("client_id", lambda: "3MVG9sandbox." + secrets.token_urlsafe(24)),
            ("client_secret", lambda: secrets.token_hex(32)),
            ("password", lambda: "Sandbox-" + secrets.token_urlsafe(12)),
        )
        for key, make in makers:
            value = self.meta(key)
            if value is None:
                value = make()
                self.set_meta(key, value)
            out[key] = value
        return out

    def now(self) -> datetime:
        """The org clock: wall time shifted by the offset `POST clock` sets."""
        offset = float(self.meta("clock_offset", "0") or 0)
        return datetime.now(UTC) + timedelta(seconds=offset)

    def set_clock(self, now: datetime | None = None, advance_days: float | None = None) -> datetime:
        offset = float(self.meta("clock_offset", "0") or 0)
        if now is not None:
            offset = (now - datetime.now(UTC)).total_seconds()
        if advance_days is not None:
            offset += advance_days * 86400
        self.set_meta("clock_offset", repr(offset))
        return self.now()

    def next_ids(self, obj: SObject, n: int, conn: sqlite3.Connection) -> list[str]:
        key = "serial:" + obj.name
        row = conn.execute("SELECT value FROM _meta WHERE key = ?", (key,)).fetchone()
        start = int(row[0]) if row else 0
        conn.execute("INSERT OR REPLACE INTO _meta (key, value) VALUES (?, ?)", (key, str(start + n)))
        return [ids.make_id(obj.key_prefix, start + i + 1) for i in range(n)]

    # -- sessions ----------------------------------------------------------------------

    def issue_session(self, user_id: str) -> Session:
        token = "00D" + ids.make_id("00D", 1)[3:15] + "!" + secrets.token_urlsafe(48)
        issued = self.now()
        with self._write() as c:
            c.execute(
                "INSERT INTO _sessions (token, user_id, issued_at) VALUES (?, ?, ?)",
                (token, user_id, db_datetime(issued)),
            )
        return Session(token, user_id, issued)

    def session(self, token: str) -> Session | None:
        row = self.conn().execute("SELECT user_id, issued_at FROM _sessions WHERE token = ?", (token,)).fetchone()
        if row is None:
            return None
        return Session(token, row[0], parse_datetime(row[1]))

    def expire_sessions(self) -> int:
        with self._write() as c:
            return c.execute("DELETE FROM _sessions").rowcount

    def user_by_username(self, username: str) -> str | None:
        row = (
            self.conn()
            .execute('SELECT "Id" FROM "User" WHERE "Username" = ? AND "IsActive" = 1', (username,))
            .fetchone()
        )
        return row[0] if row else None

    def api_user(self) -> str:
        """The user client-credentials sessions run as (the org's integration user)."""
        uid = self.meta("api_user_id")
        if uid is None or self.user_by_id(uid) is None:
            row = self.conn().execute('SELECT "Id" FROM "User" WHERE "IsActive" = 1 ORDER BY rowid LIMIT 1').fetchone()
            if row is None:
                raise ApiError(400, "invalid_grant", "the org has no active user")
            uid = row[0]
        return uid

    def user_by_id(self, uid: str) -> str | None:
        row = self.conn().execute('SELECT "Id" FROM "User" WHERE "Id" = ?', (uid,)).fetchone()
        return row[0] if row else None

    # -- API budget and statistics ---------------------------------------------------

    def api_max(self) -> int:
        return int(self.meta("api_max", str(DEFAULT_API_MAX)) or DEFAULT_API_MAX)

    def api_used(self) -> int:
        minute_now = int(self.now().timestamp() // 60)
        cutoff = minute_now - 24 * 60
        with self._fault_lock:
            for k in [k for k in self._usage if k <= cutoff]:
                del self._usage[k]
            used = sum(self._usage.values())
        return max(0, used + self._usage_adjust)

    def count_call(self, endpoint: str) -> tuple[int, int]:
        """Charge one API call; REQUEST_LIMIT_EXCEEDED once the rolling budget is spent."""
        used, maximum = self.api_used(), self.api_max()
        self.count_stat(endpoint)
        if used >= maximum:
            raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        with self._fault_lock:
            self._usage[int(self.now().timestamp() // 60)] += 1
        return used + 1, maximum

    def count_stat(self, endpoint: str) -> None:
        with self._fault_lock:
            self.stats[endpoint] += 1

    def set_remaining(self, remaining: int) -> None:
        """Make the budget show `remaining` calls left (the api_limit fault)."""
        with self._fault_lock:
            self._usage_adjust = 0
        self._usage_adjust = self.api_max() - remaining - self.api_used()

    # -- faults ------------------------------------------------------------------------

    def add_fault(self, kind: str, spec: dict[str, Any]) -> None:
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ApiError(400, "INVALID_FAULT", "count must be a positive integer")
        with self._fault_lock:
            self._faults.append(Fault(kind, spec, count if isinstance(count, int) else None))

    def clear_faults(self) -> None:
        with self._fault_lock:
            self._faults.clear()
            self._usage_adjust = 0

    def faults(self) -> list[dict[str, object]]:
        with self._fault_lock:
            return [{"kind": f.kind, **f.spec, "remaining": f.remaining} for f in self._faults]

    def take_fault(self, kind: str, method: str = "", path: str = "") -> Fault | None:
        """The first armed fault of `kind` matching the request, consuming one use."""
        with self._fault_lock:
            for f in self._faults:
                if f.kind != kind:
                    continue
                pattern = f.spec.get("path")
                if pattern and not re.search(str(pattern), path):
                    continue
                want = f.spec.get("method")
                if want and str(want).upper() != method.upper():
                    continue
                if f.remaining is not None:
                    f.remaining -= 1
                    if f.remaining <= 0:
                        self._faults.remove(f)
                return f
        return None

    def lock_fraction(self) -> float:
        with self._fault_lock:
            for f in self._faults:
                if f.kind == "lock_rows":
                    return float(f.spec.get("fraction", 0.05))
        return 0.0

    # -- reads ---------------------------------------------------------------------------

    def open_cursor(self, query: CompiledQuery) -> tuple[str, int]:
        """Run a query once and keep the ordered row ids; pages are read from that snapshot."""
        order = query.order_sql or "ORDER BY t0.rowid"
        sql = f"SELECT t0.rowid {query.from_sql} WHERE {query.where_sql} {order}"
        if query.limit is not None or query.offset is not None:
            sql += f" LIMIT {query.limit if query.limit is not None else -1} OFFSET {query.offset or 0}"
        rowids = array("q", (r[0] for r in self.conn().execute(sql, query.params)))
        cursor_id = "01g" + ids.make_id("01g", int.from_bytes(secrets.token_bytes(5), "big"))[3:15]
        with self._cursor_lock:
            self._cursors[cursor_id] = Cursor(query, rowids)
            while len(self._cursors) > MAX_CURSORS:
                self._cursors.popitem(last=False)
        return cursor_id, len(rowids)

    def cursor(self, cursor_id: str) -> Cursor | None:
        with self._cursor_lock:
            cur = self._cursors.get(cursor_id)
            if cur is not None:
                self._cursors.move_to_end(cursor_id)
            return cur

    def drop_cursor(self, cursor_id: str) -> None:
        with self._cursor_lock:
            self._cursors.pop(cursor_id, None)

    def fetch_rows(self, query: CompiledQuery, rowids: Sequence[int]) -> list[tuple[object, ...]]:
        """The selected columns of the given rows, in the given order."""
        if not rowids:
            return []
        sql = f"SELECT {query.select_sql} {query.from_sql} WHERE t0.rowid IN (SELECT value FROM json_each(?))"
        rows = self.conn().execute(sql, (json.dumps(list(rowids)),)).fetchall()
        position = {rid: i for i, rid in enumerate(rowids)}
        rows.sort(key=lambda r: position[r[0]])
        return rows

    def count(self, query: CompiledQuery) -> int:
        sql, params = query.count_sql()
        return int(self.conn().execute(sql, params).fetchone()[0])

    def get_record(self, obj: SObject, record_id: str) -> dict[str, object] | None:
        cols = ", ".join(quote(f.name) for f in obj.fields)
        row = self.conn().execute(f'SELECT {cols} FROM {quote(obj.name)} WHERE "Id" = ?', (record_id,)).fetchone()
        if row is None:
            return None
        return {f.name: v for f, v in zip(obj.fields, row, strict=True)}

    def find_by_field(self, obj: SObject, field_name: str, value: str) -> list[str]:
        f = obj.field(field_name)
        assert f is not None
        rows = (
            self.conn()
            .execute(
                f'SELECT "Id" FROM {quote(obj.name)} WHERE {quote(f.name)} = ?'
                + (' AND "IsDeleted" = 0' if obj.has_is_deleted else ""),
                (value,),
            )
            .fetchall()
        )
        return [r[0] for r in rows]

    def blob(self, obj: SObject, record_id: str, field_name: str) -> bytes | None:
        row = (
            self.conn()
            .execute(
                f'SELECT {quote(field_name)} FROM {quote(obj.name)} WHERE "Id" = ?'
                + (' AND "IsDeleted" = 0' if obj.has_is_deleted else ""),
                (record_id,),
            )
            .fetchone()
        )
        return None if row is None else row[0]

    def changed_ids(self, obj: SObject, start: datetime, end: datetime) -> list[str]:
        where = '"SystemModstamp" >= ? AND "SystemModstamp" < ?'
        if obj.has_is_deleted:
            where += ' AND "IsDeleted" = 0'
        rows = (
            self.conn()
            .execute(
                f'SELECT "Id" FROM {quote(obj.name)} WHERE {where} ORDER BY "SystemModstamp", "Id" LIMIT 600000',
                (db_datetime(start), db_datetime(end)),
            )
            .fetchall()
        )
        return [r[0] for r in rows]

    def deleted_ids(self, obj: SObject, start: datetime, end: datetime) -> list[tuple[str, str]]:
        rows = (
            self.conn()
            .execute(
                "SELECT id, deleted_date FROM _deleted WHERE object = ? AND deleted_date >= ? AND deleted_date < ? "
                "ORDER BY deleted_date, id LIMIT 600000",
                (obj.name, db_datetime(start), db_datetime(end)),
            )
            .fetchall()
        )
        return [(r[0], r[1]) for r in rows]

    def object_counts(self) -> dict[str, dict[str, int]]:
        out = {}
        for obj in catalogue().values():
            if obj.has_is_deleted:
                live, deleted = (
                    self.conn()
                    .execute(
                        'SELECT COALESCE(SUM("IsDeleted" = 0), 0), COALESCE(SUM("IsDeleted" = 1), 0) '
                        f"FROM {quote(obj.name)}"
                    )
                    .fetchone()
                )
            else:
                live, deleted = self.conn().execute(f"SELECT COUNT(*), 0 FROM {quote(obj.name)}").fetchone()
            out[obj.name] = {"records": int(live), "recycle_bin": int(deleted)}
        return out

    # -- writes ------------------------------------------------------------------------

    def _prepare(self, obj: SObject, values: dict[str, object], *, creating: bool) -> dict[str, object]:
        """API field values checked against describe and converted for storage."""
        out: dict[str, object] = {}
        for name, value in values.items():
            if name == "attributes":
                continue
            f = obj.field(name)
            if f is None:
                raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}", [name])
            if (creating and not f.createable) or (not creating and not f.updateable):
                if f.name == "Id":
                    continue
                raise ApiError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {f.name}. Please check the security settings of this field "
                    "and verify that it is read/write for your profile or permission set.",
                    [f.name],
                )
            try:
                out[f.name] = to_db(f, value)
            except ValueProblem as exc:
                raise ApiError(400, exc.code, str(exc), [f.name]) from None
        return out

    def _complete_new(self, obj: SObject, row: dict[str, object], user_id: str, now: str) -> dict[str, object]:
        for f in obj.fields:
            if f.type == "boolean" and f.name not in row:
                row[f.name] = 0
            elif f.default is not None and row.get(f.name) is None:
                row[f.name] = f.default
        for audit, value in (
            ("IsDeleted", 0),
            ("CreatedDate", now),
            ("CreatedById", user_id),
            ("LastModifiedDate", now),
            ("LastModifiedById", user_id),
            ("SystemModstamp", now),
            ("OwnerId", user_id),
        ):
            if obj.field(audit) and row.get(audit) is None:
                row[audit] = value
        missing = [
            f.name
            for f in obj.fields
            if not f.nillable and f.createable and f.type != "boolean" and row.get(f.name) in (None, "")
        ]
        if missing:
            raise ApiError(
                400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )
        self._derive(obj, row)
        return row

    @staticmethod
    def _derive(obj: SObject, row: dict[str, object]) -> None:
        if obj.name_from:
            parts = [str(row.get(n) or "") for n in obj.name_from]
            row["Name"] = " ".join(p for p in parts if p) or None
        if obj.name == "ContentVersion":
            derive_file_fields(row)

    def _insert_rows(self, c: sqlite3.Connection, obj: SObject, rows: list[dict[str, object]]) -> None:
        names = [f.name for f in obj.fields]
        sql = (
            f"INSERT INTO {quote(obj.name)} ({', '.join(quote(n) for n in names)}) "
            f"VALUES ({', '.join('?' for _ in names)})"
        )
        c.executemany(sql, ([r.get(n) for n in names] for r in rows))

    def create(self, obj: SObject, values: dict[str, object], user_id: str) -> str:
        if not obj.createable:
            raise ApiError(400, "INVALID_TYPE", f"entity type {obj.name} does not support create")
        row = self._prepare(obj, values, creating=True)
        if obj.name == "ContentVersion":
            return self._create_content_version(row, user_id)
        with self._write() as c:
            row["Id"] = self.next_ids(obj, 1, c)[0]
            self._complete_new(obj, row, user_id, db_datetime(self.now()))
            self._check_unique(c, obj, row)
            self._insert_rows(c, obj, [row])
        return str(row["Id"])

    def _create_content_version(self, row: dict[str, object], user_id: str) -> str:
        """A new ContentVersion makes its ContentDocument, as Salesforce does."""
        cv, cd = catalogue()["contentversion"], catalogue()["contentdocument"]
        now = db_datetime(self.now())
        with self._write() as c:
            row["Id"] = self.next_ids(cv, 1, c)[0]
            row["IsLatest"] = 1
            if row.get("ContentDocumentId") is None:
                doc_id = self.next_ids(cd, 1, c)[0]
                self._complete_new(cv, row, user_id, now)
                doc = {
                    "Id": doc_id,
                    "Title": row.get("Title"),
                    "FileType": row.get("FileType"),
                    "FileExtension": row.get("FileExtension"),
                    "LatestPublishedVersionId": row["Id"],
                    "ParentId": row.get("FirstPublishLocationId"),
                    "ContentSize": row.get("ContentSize"),
                }
                self._complete_new(cd, doc, user_id, now)
                row["ContentDocumentId"] = doc_id
                self._insert_rows(c, cd, [doc])
            else:
                self._complete_new(cv, row, user_id, now)
                c.execute(
                    'UPDATE "ContentVersion" SET "IsLatest" = 0 WHERE "ContentDocumentId" = ?',
                    (row["ContentDocumentId"],),
                )
                c.execute(
                    'UPDATE "ContentDocument" SET "LatestPublishedVersionId" = ? WHERE "Id" = ?',
                    (row["Id"], row["ContentDocumentId"]),
                )
            self._insert_rows(c, cv, [row])
        return str(row["Id"])

    def _check_unique(self, c: sqlite3.Connection, obj: SObject, row: dict[str, object]) -> None:
        for f in obj.fields:
            if f.external_id and row.get(f.name) is not None:
                hit = c.execute(
                    f'SELECT "Id" FROM {quote(obj.name)} WHERE {quote(f.name)} = ? AND "Id" != ?',
                    (row[f.name], row.get("Id")),
                ).fetchone()
                if hit:
                    raise ApiError(
                        400,
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {f.name} duplicates value on record with id: {hit[0]}",
                        [f.name],
                    )

    def update(self, obj: SObject, record_id: str, values: dict[str, object], user_id: str) -> None:
        if not obj.updateable:
            raise ApiError(400, "INVALID_TYPE", f"entity type {obj.name} does not support update")
        changes = self._prepare(obj, values, creating=False)
        with self._write() as c:
            current = self._live(c, obj, record_id)
            row = {**current, **changes}
            now = db_datetime(self.now())
            for audit, value in (("LastModifiedDate", now), ("LastModifiedById", user_id), ("SystemModstamp", now)):
                if obj.field(audit):
                    row[audit] = value
            self._derive(obj, row)
            self._check_unique(c, obj, row)
            names = [n for n in row if n != "Id"]
            c.execute(
                f'UPDATE {quote(obj.name)} SET {", ".join(quote(n) + " = ?" for n in names)} WHERE "Id" = ?',
                [row[n] for n in names] + [record_id],
            )

    def upsert(
        self, obj: SObject, ext_field: str, ext_value: str, values: dict[str, object], user_id: str
    ) -> tuple[str, bool]:
        """Create or update by an external id; returns (id, created)."""
        f = obj.field(ext_field)
        if f is None or not (f.external_id or f.name == "Id"):
            raise ApiError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {ext_field}"
            )
        with self._write_lock:
            matches = [ext_value] if f.name == "Id" else self.find_by_field(obj, f.name, ext_value)
            if len(matches) > 1:
                raise ApiError(300, "MULTIPLE_RECORDS", f"more than one record found for external id field {f.name}")
            if matches:
                self.update(obj, matches[0], values, user_id)
                return matches[0], False
            return self.create(obj, {**values, f.name: ext_value}, user_id), True

    def _live(self, c: sqlite3.Connection, obj: SObject, record_id: str) -> dict[str, object]:
        if not ids.is_valid(record_id):
            raise ApiError(400, "MALFORMED_ID", f"malformed id {record_id}")
        cols = [f.name for f in obj.fields]
        row = c.execute(
            f'SELECT {", ".join(quote(n) for n in cols)} FROM {quote(obj.name)} WHERE "Id" = ?',
            (ids.to18(record_id),),
        ).fetchone()
        if row is None:
            gone = c.execute("SELECT 1 FROM _deleted WHERE id = ?", (ids.to18(record_id),)).fetchone()
            if gone:
                raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        record = dict(zip(cols, row, strict=True))
        if record.get("IsDeleted"):
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return record

    def delete_many(self, obj: SObject | None, record_ids: Sequence[str], *, hard: bool = False) -> list[RecordResult]:
        """Delete records one by one with per-record outcomes (composite and Bulk 2.0 semantics).

        `obj` None means: resolve each id's object from its key prefix (composite delete).
        """
        results: list[RecordResult] = []
        fraction = self.lock_fraction()
        with self._write() as c:
            for rid in record_ids:
                try:
                    target = obj or _object_of(rid)
                    if fraction and self._rng.random() < fraction:
                        raise ApiError(
                            400,
                            "UNABLE_TO_LOCK_ROW",
                            f"unable to obtain exclusive access to this record or 1 records: {rid}",
                        )
                    self._delete_one(c, target, rid, hard=hard)
                    results.append(RecordResult(ids.to18(rid), True))
                except ApiError as exc:
                    code, message = exc.code, exc.message
                    if code == "NOT_FOUND":  # DML reports unknown ids this way; REST answers 404
                        code, message = "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id {rid}"
                    results.append(RecordResult(rid if ids.is_valid(rid) else None, False, code=code, message=message))
        return results

    def delete(self, obj: SObject, record_id: str) -> None:
        result = self.delete_many(obj, [record_id])[0]
        if result.code == "INVALID_CROSS_REFERENCE_KEY":
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if not result.success:
            status = 404 if result.code == "ENTITY_IS_DELETED" else 400
            raise ApiError(status, result.code, result.message)

    def _delete_one(self, c: sqlite3.Connection, obj: SObject, rid: str, *, hard: bool) -> None:
        if not obj.deletable:
            raise ApiError(400, "DELETE_FAILED", f"entity type cannot be deleted: {obj.name}")
        rid = ids.to18(rid)
        # A record already in the Recycle Bin counts as deleted for hardDelete too.
        self._live(c, obj, rid)
        now = db_datetime(self.now())
        children: list[tuple[SObject, str]] = []
        if obj.name == "ContentDocument":
            cv = catalogue()["contentversion"]
            children = [
                (cv, r[0]) for r in c.execute('SELECT "Id" FROM "ContentVersion" WHERE "ContentDocumentId" = ?', (rid,))
            ]
        for target, target_id in [(obj, rid), *children]:
            if hard or not target.recycle_bin:
                c.execute(f'DELETE FROM {quote(target.name)} WHERE "Id" = ?', (target_id,))
            else:
                c.execute(
                    f'UPDATE {quote(target.name)} SET "IsDeleted" = 1, "SystemModstamp" = ?, '
                    '"LastModifiedDate" = ? WHERE "Id" = ?',
                    (now, now, target_id),
                )
            c.execute(
                "INSERT OR REPLACE INTO _deleted (object, id, deleted_date, hard) VALUES (?, ?, ?, ?)",
                (target.name, target_id, now, int(hard or not target.recycle_bin)),
            )

    # -- seeding -------------------------------------------------------------------------

    def reset(self) -> None:
        with self._write() as c:
            for obj in catalogue().values():
                c.execute(f"DELETE FROM {quote(obj.name)}")
            c.execute("DELETE FROM _deleted")
            c.execute("DELETE FROM _ground_truth")
            c.execute("DELETE FROM _sessions")
            c.execute(
                "DELETE FROM _meta WHERE key LIKE 'serial:%' "
                "OR key IN ('seed', 'api_user_id', 'clock_offset', 'training_manifests')"
            )
        with self._cursor_lock:
            self._cursors.clear()
        with self._fault_lock:
            self._usage.clear()
            self._usage_adjust = 0
        self.clear_faults()
        self.stats.clear()

    def bulk_load(self, obj: SObject, rows: Iterable[dict[str, object]], chunk: int = 20000) -> int:
        """Insert already-converted rows (the seed's path): ids given or allocated, audit fields as given."""
        total = 0
        batch: list[dict[str, object]] = []
        with self._write() as c:
            for row in rows:
                self._derive(obj, row)
                batch.append(row)
                if len(batch) >= chunk:
                    total += self._load_batch(c, obj, batch)
                    batch = []
            if batch:
                total += self._load_batch(c, obj, batch)
        return total

    def _load_batch(self, c: sqlite3.Connection, obj: SObject, batch: list[dict[str, object]]) -> int:
        missing = [r for r in batch if not r.get("Id")]
        for r, new_id in zip(missing, self.next_ids(obj, len(missing), c), strict=True):
            r["Id"] = new_id
        self._insert_rows(c, obj, batch)
        return len(batch)

    def add_ground_truth(self, cases: Iterable[tuple[str, str, str, str]]) -> None:
        """(object, id, label, evidence) rows planted by a seed."""
        with self._write() as c:
            c.executemany(
                "INSERT OR IGNORE INTO _ground_truth (object, id, label, evidence) VALUES (?, ?, ?, ?)", cases
            )

    def ground_truth_rows(self) -> list[tuple[str, str, str, str]]:
        return [
            tuple(r)
            for r in self.conn().execute(
                "SELECT object, id, label, evidence FROM _ground_truth ORDER BY object, id, label"
            )
        ]


def _object_of(record_id: str) -> SObject:
    if not ids.is_valid(record_id):
        raise ApiError(400, "MALFORMED_ID", f"malformed id {record_id}")
    from synthgov_sandbox.engine.schema import by_prefix

    obj = by_prefix(record_id[:3])
    if obj is None or obj.tooling:
        raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id {record_id}")
    return obj


def resolve_object(name: str, *, tooling: bool = False) -> SObject:
    obj = get_object(name, tooling=tooling)
    if obj is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return obj


_META_DDL = """
CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS _sessions (token TEXT PRIMARY KEY, user_id TEXT NOT NULL, issued_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS _deleted (
    object TEXT NOT NULL, id TEXT PRIMARY KEY, deleted_date TEXT NOT NULL, hard INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ix_deleted_date ON _deleted (object, deleted_date);
CREATE TABLE IF NOT EXISTS _ground_truth (
    object TEXT NOT NULL, id TEXT NOT NULL, label TEXT NOT NULL, evidence TEXT NOT NULL,
    PRIMARY KEY (object, id, label));
CREATE TABLE IF NOT EXISTS _ingest_jobs (id TEXT PRIMARY KEY, info TEXT NOT NULL, data BLOB,
    successful BLOB, failed BLOB, unprocessed BLOB);
"""
