"""The sandbox org's Salesforce surface: REST, Bulk 2.0, Tooling and OAuth/SOAP login.

The `/__sandbox__/` control plane is not here: it knows the demo org (seeding, ground truth), so
it lives in `synthgov_sandbox.control` and reaches the app through `build_app(extra_routes=...)`.

Handlers are plain functions run in Starlette's thread pool (SQLite calls block). Every
error a client can see is Salesforce-shaped: a JSON list of `{message, errorCode, fields}`.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import re
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

from cryptography import x509
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from synthgov_sandbox.engine import ids
from synthgov_sandbox.engine.bulk import BulkJobs
from synthgov_sandbox.engine.schema import API_VERSION, Field, SObject, catalogue
from synthgov_sandbox.engine.soql import SoqlError, compile_soql
from synthgov_sandbox.engine.store import ApiError, Store, resolve_object
from synthgov_sandbox.engine.values import api_datetime, db_datetime, from_db, parse_datetime

log = logging.getLogger("synthgov_sandbox")

MIN_BATCH, MAX_BATCH = 200, 2000


JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class Config:
    instance_url: str
    page_size: int = 2000
    # The connected app's certificate: JWT bearer assertions must be signed by its key.
    jwt_cert: x509.Certificate | None = None


@dataclass
class Ctx:
    request: Request
    body: bytes
    params: dict[str, str]
    user_id: str = ""

    @property
    def query(self) -> Any:
        return self.request.query_params

    def json(self) -> Any:
        ctype = self.request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if ctype and ctype not in ("application/json", "text/json", "*/*"):
            raise ApiError(
                415, "UNSUPPORTED_MEDIA_TYPE", f"Content type '{ctype}' not supported; send application/json"
            )
        if not self.body.strip():
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body is empty; a JSON object is required")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character in the JSON body: {exc}") from None

    def json_object(self) -> dict[str, Any]:
        value = self.json()
        if not isinstance(value, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        return value


Handler = Callable[[Ctx], Response | dict[str, Any] | list[Any] | None]
# One route: path, endpoint name (counted in stats and API usage), handler, methods and the
# options of `Sandbox.endpoint` (auth, control).
RouteSpec = tuple[str, str, Handler, list[str], dict[str, bool]]


class Sandbox:
    """Routes bound to one store."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.bulk = BulkJobs(store)

    @property
    def base(self) -> str:
        return f"/services/data/v{API_VERSION}"

    # -- plumbing ------------------------------------------------------------------------

    def endpoint(self, name: str, handler: Handler, *, auth: bool = True, control: bool = False) -> Callable[..., Any]:
        async def run(request: Request) -> Response:
            body = await request.body()
            ctx = Ctx(request, body, dict(request.path_params))
            return await run_in_threadpool(self._dispatch, name, handler, ctx, auth, control)

        return run

    def _dispatch(self, name: str, handler: Handler, ctx: Ctx, auth: bool, control: bool) -> Response:
        limit_info = None
        path, method = ctx.request.url.path, ctx.request.method
        try:
            if control:
                self._check_loopback(ctx.request)
            else:
                latency = self.store.take_fault("latency", method, path)
                if latency is not None:
                    time.sleep(float(latency.spec.get("ms", 100)) / 1000)
                injected = self.store.take_fault("http_error", method, path)
                if injected is not None:
                    spec = injected.spec
                    raise ApiError(
                        int(spec.get("status", 503)),
                        str(spec.get("errorCode", "SERVER_UNAVAILABLE")),
                        str(spec.get("message", "injected by the sandbox")),
                    )
            if auth:
                ctx.user_id = self._authenticate(ctx.request)
                used, maximum = self.store.count_call(name)
                limit_info = f"api-usage={used}/{maximum}"
            else:
                self.store.count_stat(name)
            result = handler(ctx)
            if isinstance(result, Response):
                response = result
            elif result is None:
                response = Response(status_code=204)
            else:
                response = JSONResponse(result)
        except ApiError as exc:
            response = JSONResponse(exc.body(), status_code=exc.status)
        except SoqlError as exc:
            response = JSONResponse([{"message": exc.message, "errorCode": exc.code}], status_code=400)
        except Exception:  # noqa: BLE001 - a stand-in server must answer, not crash; the trace goes to the log
            log.error("unhandled error on %s %s\n%s", method, path, traceback.format_exc())
            response = JSONResponse(
                [
                    {
                        "message": "An unexpected error occurred in the sandbox; see its log",
                        "errorCode": "UNKNOWN_EXCEPTION",
                    }
                ],
                status_code=500,
            )
        if limit_info is None and auth and response.status_code == 403:
            limit_info = f"api-usage={self.store.api_used()}/{self.store.api_max()}"
        if limit_info:
            response.headers["Sforce-Limit-Info"] = limit_info
        # Clients learn the org's time from Date (the org clock can run ahead of the wall clock).
        response.headers["Date"] = format_datetime(self.store.now(), usegmt=True)
        return response

    def _check_loopback(self, request: Request) -> None:
        host = request.client.host if request.client else ""
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ApiError(403, "FORBIDDEN", "the sandbox control API answers loopback clients only")

    def _authenticate(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        token = ""
        for scheme in ("Bearer ", "OAuth "):
            if header.startswith(scheme):
                token = header[len(scheme) :].strip()
        token = token or request.headers.get("x-sfdc-session", "")
        session = self.store.session(token) if token else None
        if session is None:
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return session.user_id

    # -- auth ----------------------------------------------------------------------------

    def oauth_token(self, ctx: Ctx) -> Response:
        try:
            form = {k: v[0] for k, v in parse_qs(ctx.body.decode()).items()}
        except UnicodeDecodeError:
            form = {}
        grant = form.get("grant_type", "")
        creds = self.store.credentials()
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = ctx.request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            try:
                client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return _oauth_error("invalid_client", "invalid client credentials")
        if grant == "client_credentials":
            if client_id != creds["client_id"] or client_secret != creds["client_secret"]:
                return _oauth_error("invalid_client", "invalid client credentials")
            user_id = self.store.api_user()
        elif grant == "password":
            if client_id is not None and (client_id != creds["client_id"] or client_secret != creds["client_secret"]):
                return _oauth_error("invalid_client", "invalid client credentials")
            user = self.store.user_by_username(form.get("username", ""))
            if user is None or not form.get("password", "").startswith(creds["password"]):
                return _oauth_error("invalid_grant", "authentication failure")
            user_id = user
        elif grant == JWT_BEARER:
            user_or_error = self._jwt_user(form.get("assertion", ""), creds["client_id"])
            if isinstance(user_or_error, Response):
                return user_or_error
            user_id = user_or_error
        elif grant:
            return _oauth_error("unsupported_grant_type", f"grant type not supported: {grant}")
        else:
            return _oauth_error(
                "invalid_request", "grant_type is required (client_credentials, password or jwt-bearer)"
            )
        session = self.store.issue_session(user_id)
        return JSONResponse(
            {
                "access_token": session.token,
                "instance_url": self.config.instance_url,
                "id": f"{self.config.instance_url}/id/{_org_id()}/{user_id}",
                "token_type": "Bearer",
                "issued_at": str(int(session.issued_at.timestamp() * 1000)),
                "signature": base64.b64encode(session.token[:32].encode()).decode(),
            }
        )

    def _jwt_user(self, assertion: str, client_id: str) -> str | Response:
        """The user a JWT bearer assertion names, if the connected app's certificate signed it."""
        import jwt

        if self.config.jwt_cert is None:
            return _oauth_error("unsupported_grant_type", "this org has no certificate for JWT bearer")
        try:
            claims = jwt.decode(
                assertion,
                self.config.jwt_cert.public_key(),  # type: ignore[arg-type]
                algorithms=["RS256"],
                audience=[self.config.instance_url, "https://login.salesforce.com", "https://test.salesforce.com"],
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.PyJWTError as exc:
            return _oauth_error("invalid_grant", f"invalid assertion: {exc}")
        if claims["iss"] != client_id:
            return _oauth_error("invalid_client", "client identifier invalid")
        user = self.store.user_by_username(str(claims["sub"]))
        if user is None:
            return _oauth_error("invalid_grant", "user hasn't approved this consumer")
        return user

    def soap_login(self, ctx: Ctx) -> Response:
        try:
            root = ElementTree.fromstring(ctx.body)
        except ElementTree.ParseError:
            return _soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
        found = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
        user = self.store.user_by_username(found.get("username", ""))
        if user is None or not found.get("password", "").startswith(self.store.credentials()["password"]):
            return _soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
        session = self.store.issue_session(user)
        version = ctx.params.get("version", API_VERSION)
        server = f"{self.config.instance_url}/services/Soap/u/{version}/{_org_id()}"
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com">'
            "<soapenv:Body><loginResponse><result>"
            f"<metadataServerUrl>{self.config.instance_url}/services/Soap/m/{version}/{_org_id()}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
            f"<serverUrl>{server}</serverUrl><sessionId>{session.token}</sessionId><userId>{user}</userId>"
            f"<userInfo><organizationId>{_org_id()}</organizationId><userId>{user}</userId></userInfo>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Response(xml, media_type="text/xml")

    # -- describe ------------------------------------------------------------------------

    def versions(self, ctx: Ctx) -> list[dict[str, str]]:
        return [{"label": "Winter '24", "url": self.base, "version": API_VERSION}]

    def global_describe(self, ctx: Ctx) -> dict[str, Any]:
        return {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [o.summary(self.base) for o in catalogue().values() if not o.tooling],
        }

    def sobject_info(self, ctx: Ctx) -> dict[str, Any]:
        obj = resolve_object(ctx.params["object"])
        return {"objectDescribe": obj.summary(self.base), "recentItems": []}

    def describe(self, ctx: Ctx, *, tooling: bool = False) -> dict[str, Any]:
        obj = resolve_object(ctx.params["object"], tooling=tooling)
        return obj.describe(self.base + ("/tooling" if tooling else ""))

    # -- records -------------------------------------------------------------------------

    def create(self, ctx: Ctx) -> Response:
        obj = resolve_object(ctx.params["object"])
        values = ctx.json_object()
        if obj.name == "ContentVersion" and isinstance(values.get("VersionData"), str):
            try:
                values["VersionData"] = base64.b64decode(values["VersionData"], validate=True)
            except ValueError:
                raise ApiError(
                    400, "INVALID_TYPE_ON_FIELD_IN_RECORD", "VersionData: not valid base64", ["VersionData"]
                ) from None
        new_id = self.store.create(obj, values, ctx.user_id)
        return JSONResponse({"id": new_id, "success": True, "errors": []}, status_code=201)

    def record(self, ctx: Ctx) -> Response | dict[str, Any] | None:
        obj = resolve_object(ctx.params["object"])
        rid = ctx.params["id"]
        method = ctx.request.method
        if method == "PATCH":
            self.store.update(obj, self._valid_id(obj, rid), ctx.json_object(), ctx.user_id)
            return None
        if method == "DELETE":
            if not obj.deletable:
                raise ApiError(
                    405, "METHOD_NOT_ALLOWED", "HTTP Method 'DELETE' not allowed. Allowed are GET,PATCH,HEAD"
                )
            self.store.delete(obj, self._valid_id(obj, rid))
            return None
        return self._get_record(obj, self._valid_id(obj, rid), ctx.query.get("fields"))

    def _valid_id(self, obj: SObject, rid: str) -> str:
        if not ids.is_valid(rid) or rid[:3] != obj.key_prefix:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return ids.to18(rid)

    def _get_record(self, obj: SObject, rid: str, fields: str | None) -> dict[str, Any]:
        record = self.store.get_record(obj, rid)
        if record is None or record.get("IsDeleted"):
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        wanted: list[Field] = list(obj.fields)
        if fields:
            wanted = []
            for name in fields.split(","):
                f = obj.field(name.strip())
                if f is None:
                    raise ApiError(400, "INVALID_FIELD", f"No such column '{name.strip()}' on entity '{obj.name}'")
                wanted.append(f)
        out: dict[str, Any] = {"attributes": {"type": obj.name, "url": f"{self.base}/sobjects/{obj.name}/{rid}"}}
        for f in wanted:
            if f.type == "base64":
                out[f.name] = f"{self.base}/sobjects/{obj.name}/{rid}/{f.name}"
            else:
                out[f.name] = from_db(f, record[f.name])
        return out

    def by_field(self, ctx: Ctx) -> Response | dict[str, Any] | None:
        """`sobjects/O/{id}/{BlobField}` for blobs, else `sobjects/O/{ExtField}/{value}` (get or upsert)."""
        obj = resolve_object(ctx.params["object"])
        first, second = ctx.params["first"], ctx.params["second"]
        blob_field = obj.field(second)
        if ids.is_valid(first) and blob_field is not None and blob_field.type == "base64":
            if ctx.request.method != "GET":
                raise ApiError(405, "METHOD_NOT_ALLOWED", "blob fields are read-only here")
            data = self.store.blob(obj, ids.to18(first), blob_field.name)
            if data is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return Response(data, media_type="application/octetstream")
        if ctx.request.method == "PATCH":
            new_id, created = self.store.upsert(obj, first, second, ctx.json_object(), ctx.user_id)
            if created:
                return JSONResponse({"id": new_id, "success": True, "errors": [], "created": True}, status_code=201)
            return None
        f = obj.field(first)
        if f is None or not f.external_id:
            raise ApiError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {first}")
        matches = self.store.find_by_field(obj, f.name, second)
        if not matches:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if len(matches) > 1:
            return JSONResponse([f"{self.base}/sobjects/{obj.name}/{m}" for m in matches], status_code=300)
        return self._get_record(obj, matches[0], ctx.query.get("fields"))

    def _window(self, ctx: Ctx, days: int) -> tuple[datetime, datetime]:
        try:
            start = parse_datetime(ctx.query["start"].replace(" ", "+"))
            end = parse_datetime(ctx.query["end"].replace(" ", "+"))
        except KeyError as exc:
            raise ApiError(400, "MISSING_ARGUMENT", f"{exc.args[0]} is required") from None
        except ValueError as exc:
            raise ApiError(400, "INVALID_DATE_FORMAT", str(exc)) from None
        now = self.store.now()
        if end <= start:
            raise ApiError(400, "INVALID_REPLICATION_DATE", "end must be after start")
        if start < now - timedelta(days=days):
            raise ApiError(400, "INVALID_REPLICATION_DATE", f"start must be within the last {days} days")
        return start, min(end, now)

    def updated(self, ctx: Ctx) -> dict[str, Any]:
        obj = resolve_object(ctx.params["object"])
        start, end = self._window(ctx, 30)
        latest = end.replace(second=0, microsecond=0)
        return {
            "ids": self.store.changed_ids(obj, start, latest),
            "latestDateCovered": api_datetime(db_datetime(latest)),
        }

    def deleted(self, ctx: Ctx) -> dict[str, Any]:
        obj = resolve_object(ctx.params["object"])
        start, end = self._window(ctx, 15)
        latest = end.replace(second=0, microsecond=0)
        rows = self.store.deleted_ids(obj, start, latest)
        return {
            "deletedRecords": [{"id": i, "deletedDate": api_datetime(d)} for i, d in rows],
            "earliestDateAvailable": api_datetime(db_datetime(self.store.now() - timedelta(days=15))),
            "latestDateCovered": api_datetime(db_datetime(latest)),
        }

    def composite_delete(self, ctx: Ctx) -> list[dict[str, Any]]:
        raw = ctx.query.get("ids", "")
        record_ids = [i for i in raw.split(",") if i]
        if not record_ids:
            raise ApiError(400, "MISSING_ARGUMENT", "ids is required")
        if len(record_ids) > 200:
            raise ApiError(
                400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"
            )
        all_or_none = ctx.query.get("allOrNone", "false").lower() == "true"
        if all_or_none:
            with self.store._write_lock:
                return self._all_or_none(record_ids)
        return [_delete_result(r) for r in self.store.delete_many(None, record_ids)]

    def _all_or_none(self, record_ids: list[str]) -> list[dict[str, Any]]:
        # Check first, then delete: a failure anywhere rolls back everything.
        probe: list[ApiError | None] = []
        for rid in record_ids:
            try:
                from synthgov_sandbox.engine.store import _object_of

                obj = _object_of(rid)
                if not obj.deletable:
                    raise ApiError(400, "DELETE_FAILED", f"entity type cannot be deleted: {obj.name}")
                with self.store._write() as c:
                    self.store._live(c, obj, rid)
                probe.append(None)
            except ApiError as exc:
                probe.append(exc)
        if any(probe):
            return [
                {"success": False, "errors": [{"statusCode": e.code, "message": e.message, "fields": []}]}
                if e
                else {
                    "success": False,
                    "errors": [
                        {
                            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                            "message": "Record rolled back because not all records were valid "
                            "and the request was using AllOrNone header",
                            "fields": [],
                        }
                    ],
                }
                for e in probe
            ]
        return [_delete_result(r) for r in self.store.delete_many(None, record_ids)]

    # -- queries -------------------------------------------------------------------------

    def query(self, ctx: Ctx, *, include_deleted: bool = False, tooling: bool = False) -> Response:
        soql = ctx.query.get("q")
        if not soql:
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        compiled = compile_soql(soql, tooling=tooling, include_deleted=include_deleted, now=self.store.now())
        if compiled.count_only:
            return JSONResponse({"totalSize": self.store.count(compiled), "done": True, "records": []})
        cursor_id, _ = self.store.open_cursor(compiled)
        return self._page(ctx, cursor_id, 0, include_deleted, tooling)

    def query_more(self, ctx: Ctx, *, include_deleted: bool = False, tooling: bool = False) -> Response:
        m = re.fullmatch(r"(01g[A-Za-z0-9]+)-(\d+)", ctx.params["cursor"])
        if not m:
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(ctx, m[1], int(m[2]), include_deleted, tooling)

    def _batch_size(self, ctx: Ctx) -> int:
        options = ctx.request.headers.get("sforce-query-options", "")
        m = re.search(r"batchSize\s*=\s*(\d+)", options)
        if not m:
            return self.config.page_size
        return max(MIN_BATCH, min(MAX_BATCH, int(m[1])))

    def _page(self, ctx: Ctx, cursor_id: str, start: int, include_deleted: bool, tooling: bool) -> Response:
        cursor = self.store.cursor(cursor_id)
        if cursor is None or start > len(cursor.rowids):
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        size = self._batch_size(ctx)
        page_ids = cursor.rowids[start : start + size]
        rows = self.store.fetch_rows(cursor.query, page_ids)
        base = self.base + ("/tooling" if tooling else "")
        records = [cursor.query.to_record(r, base) for r in rows]
        end = start + len(page_ids)
        done = end >= len(cursor.rowids)
        body: dict[str, Any] = {"totalSize": len(cursor.rowids), "done": done}
        if not done:
            kind = "tooling/query" if tooling else ("queryAll" if include_deleted else "query")
            body["nextRecordsUrl"] = f"{self.base}/{kind}/{cursor_id}-{end}"
        body["records"] = records
        payload = json.dumps(body, separators=(",", ":")).encode()
        if self.store.take_fault("truncate_page", ctx.request.method, ctx.request.url.path):
            payload = payload[: len(payload) // 2]
        return Response(payload, media_type="application/json;charset=UTF-8")

    def limits(self, ctx: Ctx) -> dict[str, Any]:
        used, maximum = self.store.api_used(), self.store.api_max()
        return {
            "DailyApiRequests": {"Max": maximum, "Remaining": max(0, maximum - used)},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "DataStorageMB": {"Max": 5120, "Remaining": 5120},
            "FileStorageMB": {"Max": 20480, "Remaining": 20480},
        }

    # -- bulk 2.0 ------------------------------------------------------------------------

    def jobs_query(self, ctx: Ctx) -> Response | dict[str, Any]:
        if ctx.request.method == "POST":
            return self.bulk.create_query(ctx.json_object(), ctx.user_id)
        return {"done": True, "records": self.bulk.list_query(), "nextRecordsUrl": None}

    def job_query(self, ctx: Ctx) -> dict[str, Any] | None:
        job_id = ctx.params["job"]
        if ctx.request.method == "PATCH":
            return self.bulk.abort_query(job_id, ctx.json_object().get("state"))
        if ctx.request.method == "DELETE":
            self.bulk.delete_query(job_id)
            return None
        return {k: v for k, v in self.bulk.query_job(job_id).info.items() if k != "query"}

    def job_query_results(self, ctx: Ctx) -> Response:
        data, count, locator = self.bulk.query_results(
            ctx.params["job"], ctx.query.get("locator"), ctx.query.get("maxRecords")
        )
        if self.store.take_fault("truncate_page", ctx.request.method, ctx.request.url.path):
            data = data[: len(data) // 2]
        return Response(
            data, media_type="text/csv", headers={"Sforce-NumberOfRecords": str(count), "Sforce-Locator": locator}
        )

    def jobs_ingest(self, ctx: Ctx) -> Response | dict[str, Any]:
        if ctx.request.method == "POST":
            return self.bulk.create_ingest(ctx.json_object(), ctx.user_id)
        return {"done": True, "records": self.bulk.list_ingest(), "nextRecordsUrl": None}

    def job_ingest(self, ctx: Ctx) -> dict[str, Any] | None:
        job_id = ctx.params["job"]
        if ctx.request.method == "PATCH":
            return self.bulk.set_ingest_state(job_id, ctx.json_object().get("state"), ctx.user_id)
        if ctx.request.method == "DELETE":
            self.bulk.delete_ingest(job_id)
            return None
        return self.bulk.ingest_job(job_id).info

    def job_ingest_batches(self, ctx: Ctx) -> Response:
        ctype = ctx.request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "text/csv":
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", f"Content type '{ctype}' not supported; send text/csv")
        self.bulk.upload(ctx.params["job"], ctx.body)
        return Response(status_code=201)

    def job_ingest_results(self, ctx: Ctx) -> Response:
        data = self.bulk.ingest_results(ctx.params["job"], ctx.params["kind"])
        return Response(data, media_type="text/csv")


def _org_id() -> str:
    return ids.make_id("00D", 1)


def _oauth_error(error: str, description: str) -> Response:
    status = 401 if error == "invalid_client" else 400
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _soap_fault(code: str, message: str) -> Response:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring>"
        f"<detail><sf:LoginFault><sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{message}</sf:exceptionMessage></sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(xml, status_code=500, media_type="text/xml")


def _delete_result(r: Any) -> dict[str, Any]:
    if r.success:
        return {"id": r.id, "success": True, "errors": []}
    return {"success": False, "errors": [{"statusCode": r.code, "message": r.message, "fields": []}]}


def build_app(store: Store, config: Config, *, extra_routes: Sequence[RouteSpec] = ()) -> Starlette:
    s = Sandbox(store, config)
    data = "/services/data/v{version:str}"
    routes: list[RouteSpec] = [
        ("/services/oauth2/token", "oauth_token", s.oauth_token, ["POST"], {"auth": False}),
        ("/services/Soap/u/{version:str}", "soap_login", s.soap_login, ["POST"], {"auth": False}),
        ("/services/data", "versions", s.versions, ["GET"], {"auth": False}),
        (data + "/sobjects", "describe_global", s.global_describe, ["GET"], {}),
        (data + "/sobjects/{object:str}", "sobject", s.sobject_info, ["GET"], {}),
        (data + "/sobjects/{object:str}", "create", s.create, ["POST"], {}),
        (data + "/sobjects/{object:str}/describe", "describe", s.describe, ["GET"], {}),
        (data + "/sobjects/{object:str}/updated", "updated", s.updated, ["GET"], {}),
        (data + "/sobjects/{object:str}/deleted", "deleted", s.deleted, ["GET"], {}),
        (data + "/sobjects/{object:str}/{id:str}", "record", s.record, ["GET", "PATCH", "DELETE"], {}),
        (data + "/sobjects/{object:str}/{first:str}/{second:str}", "record_by_field", s.by_field, ["GET", "PATCH"], {}),
        (data + "/query", "query", s.query, ["GET"], {}),
        (data + "/query/{cursor:str}", "query_more", s.query_more, ["GET"], {}),
        (data + "/queryAll", "query_all", lambda c: s.query(c, include_deleted=True), ["GET"], {}),
        (
            data + "/queryAll/{cursor:str}",
            "query_all_more",
            lambda c: s.query_more(c, include_deleted=True),
            ["GET"],
            {},
        ),
        (data + "/tooling/query", "tooling_query", lambda c: s.query(c, tooling=True), ["GET"], {}),
        (
            data + "/tooling/query/{cursor:str}",
            "tooling_query_more",
            lambda c: s.query_more(c, tooling=True),
            ["GET"],
            {},
        ),
        (
            data + "/tooling/sobjects/{object:str}/describe",
            "tooling_describe",
            lambda c: s.describe(c, tooling=True),
            ["GET"],
            {},
        ),
        (data + "/limits", "limits", s.limits, ["GET"], {}),
        (data + "/composite/sobjects", "composite_delete", s.composite_delete, ["DELETE"], {}),
        (data + "/jobs/query", "bulk2_query_jobs", s.jobs_query, ["GET", "POST"], {}),
        (data + "/jobs/query/{job:str}", "bulk2_query_job", s.job_query, ["GET", "PATCH", "DELETE"], {}),
        (data + "/jobs/query/{job:str}/results", "bulk2_query_results", s.job_query_results, ["GET"], {}),
        (data + "/jobs/ingest", "bulk2_ingest_jobs", s.jobs_ingest, ["GET", "POST"], {}),
        (data + "/jobs/ingest/{job:str}", "bulk2_ingest_job", s.job_ingest, ["GET", "PATCH", "DELETE"], {}),
        (data + "/jobs/ingest/{job:str}/batches", "bulk2_ingest_upload", s.job_ingest_batches, ["PUT"], {}),
        (data + "/jobs/ingest/{job:str}/{kind:str}", "bulk2_ingest_results", s.job_ingest_results, ["GET"], {}),
        *extra_routes,
    ]
    merged: dict[str, dict[str, Callable[..., Any]]] = {}
    for path, name, handler, methods, opts in routes:
        for method in methods:
            merged.setdefault(path, {})[method] = s.endpoint(name, handler, **opts)
    route_objs = []
    for path, by_method in merged.items():
        endpoint = _by_method(by_method)
        # Register the bare and the trailing-slash form: clients use both, and a redirect
        # would turn a DELETE into a GET in some clients.
        for variant in (path, path + "/"):
            route_objs.append(Route(variant, endpoint, methods=list(by_method)))
    app = Starlette(routes=route_objs, exception_handlers={404: _not_found, 405: _not_allowed})
    app.router.redirect_slashes = False
    app.state.sandbox = s
    return app


def _by_method(handlers: dict[str, Callable[..., Any]]) -> Callable[..., Any]:
    async def dispatch(request: Request) -> Response:
        handler = handlers.get(request.method)
        if handler is None:
            return await _not_allowed(request, None)
        response: Response = await handler(request)
        return response

    return dispatch


async def _not_found(request: Request, exc: Exception | None) -> Response:
    return JSONResponse(
        [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}], status_code=404
    )


async def _not_allowed(request: Request, exc: Exception | None) -> Response:
    return JSONResponse(
        [{"message": f"HTTP Method '{request.method}' not allowed here", "errorCode": "METHOD_NOT_ALLOWED"}],
        status_code=405,
    )
