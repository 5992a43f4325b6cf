"""The Governance page's FastAPI app, mounted by the plugin under ``/governance`` in Airflow's API server.

Every route depends on Airflow's auth manager: the user comes from the JWT the UI holds (its cookie, or
a bearer token), and must be allowed to read DAGs (``requires_access_dag("GET")``), else 401 (no user)
or 403 (a user without that right). A browser without a session is sent to Airflow's login page.
The pages are rendered on the server from the marts and the ledger (``synthgov.governance``); each
list is paged in the database. The JSON routes under ``/api`` return the same numbers for scripts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from synthgov.governance import evidence, marts
from synthgov.governance.marts import FindingFilter, GovernanceQueryError
from synthgov.warehouse import Warehouse, WarehouseError
from synthgov_airflow.governance import sources

URL_PREFIX = "/governance"
READ_DAGS = [Depends(requires_access_dag("GET"))]
SEVERITIES = ("high", "medium", "low")

_templates = Environment(
    loader=PackageLoader("synthgov_airflow.governance", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
)


def _render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(name).render(prefix=URL_PREFIX, **context), status_code=status_code)


def _query_error(request: Request, exc: GovernanceQueryError | WarehouseError) -> Response:
    """Bad input or missing marts: 400 with the reason, as a page for people and as JSON for scripts."""
    if request.url.path.startswith(f"{URL_PREFIX}/api/"):
        return JSONResponse({"detail": str(exc)}, status_code=400)
    return _render("error.html", status_code=400, message=str(exc))


def _unauthenticated(request: Request, exc: HTTPException) -> Response:
    """A page asked for without a session goes to Airflow's login; everything else keeps its status."""
    wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
    if exc.status_code == 401 and wants_page:
        return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)), status_code=303)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def create_app() -> FastAPI:
    app = FastAPI(title="synthgov governance", dependencies=READ_DAGS, docs_url=None, redoc_url=None)
    app.add_exception_handler(GovernanceQueryError, _query_error)  # type: ignore[arg-type]
    app.add_exception_handler(WarehouseError, _query_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _unauthenticated)  # type: ignore[arg-type]

    @app.get("/", response_class=HTMLResponse)
    def overview() -> HTMLResponse:
        warehouse = sources.warehouse()
        with warehouse:
            controls = marts.controls(warehouse)
            trend = marts.trend(warehouse)
            due = marts.candidates_due(warehouse)
            datasets = _datasets(warehouse)
        lake = sources.lake()
        pack = evidence.latest_pack()
        return _render(
            "overview.html",
            controls=controls,
            totals={s: sum(int(c[f"{s}_findings"] or 0) for c in controls) for s in SEVERITIES},
            trend=trend,
            due=due,
            approvals=sources.pending_approvals(),
            receipts=evidence.receipts(lake)[:20],
            pack_files=evidence.pack_files(pack) if pack else None,
            datasets=datasets,
        )

    @app.get("/api/summary")
    def summary_api() -> dict[str, Any]:
        warehouse = sources.warehouse()
        with warehouse:
            return {"controls": marts.controls(warehouse), "trend": marts.trend(warehouse)}

    @app.get("/controls/{control}", response_class=HTMLResponse)
    def control_findings(
        control: str,
        request: Request,
        where: Annotated[FindingFilter, Depends(_filter)],
        paging: Annotated[Paging, Depends(_paging)],
    ) -> HTMLResponse:
        page = paging.page
        warehouse = sources.warehouse()
        with warehouse:
            found = marts.findings(warehouse, control, where, page=page, size=paging.size, after=paging.after)
            options = marts.finding_options(warehouse, control)
        query = {k: v for k, v in request.query_params.items() if k not in ("page", "after") and v}
        return _render(
            "findings.html",
            control=control,
            found=found,
            options=options,
            where=where,
            since=request.query_params.get("since", ""),
            until=request.query_params.get("until", ""),
            org=sources.org_url(),
            page_link=lambda n: f"?{urlencode({**query, 'page': n})}",
            next_link=f"?{urlencode({**query, 'page': page + 1, 'after': found.next_cursor})}"
            if found.next_cursor
            else None,
        )

    @app.get("/api/controls/{control}/findings")
    def findings_api(
        control: str,
        where: Annotated[FindingFilter, Depends(_filter)],
        paging: Annotated[Paging, Depends(_paging)],
    ) -> dict[str, Any]:
        with sources.warehouse() as warehouse:
            found = marts.findings(warehouse, control, where, page=paging.page, size=paging.size, after=paging.after)
        org = sources.org_url()
        rows = [{**r, "org_link": f"{org}/{r['entity_id']}" if org else None} for r in found.rows]
        return {
            "control": control,
            "page": found.page,
            "size": found.size,
            "total": found.total,
            "next_cursor": found.next_cursor,
            "rows": rows,
        }

    @app.get("/candidates", response_class=HTMLResponse)
    def candidates(
        request: Request,
        policy_id: str = "",
        due_by: str = "",
        page: Annotated[int, Query(ge=1)] = 1,
    ) -> HTMLResponse:
        with sources.warehouse() as warehouse:
            listed = marts.candidates(
                warehouse, policy_id=policy_id, due_by=marts.parse_day("due_by", due_by), page=page
            )
        query = {k: v for k, v in request.query_params.items() if k != "page" and v}
        return _render(
            "candidates.html",
            listed=listed,
            policy_id=policy_id,
            due_by=due_by,
            org=sources.org_url(),
            page_link=lambda n: f"?{urlencode({**query, 'page': n})}",
        )

    @app.get("/api/candidates")
    def candidates_api(policy_id: str = "", due_by: str = "", page: Annotated[int, Query(ge=1)] = 1) -> dict[str, Any]:
        with sources.warehouse() as warehouse:
            listed = marts.candidates(
                warehouse, policy_id=policy_id, due_by=marts.parse_day("due_by", due_by), page=page
            )
        return {"page": listed.page, "size": listed.size, "total": listed.total, "rows": listed.rows}

    @app.post("/verify", response_class=HTMLResponse)
    def verify_page() -> HTMLResponse:
        return _render("verify.html", result=evidence.verify(sources.lake()))

    @app.post("/api/verify")
    def verify_api() -> dict[str, Any]:
        return evidence.verify(sources.lake())

    @app.get("/plans/{plan_id}", response_class=HTMLResponse)
    def plan_page(plan_id: str, page: Annotated[int, Query(ge=1)] = 1) -> HTMLResponse:
        stored = evidence.plan(sources.lake(), plan_id, page=page)
        return _render(
            "plan.html",
            plan=stored,
            org=sources.org_url(),
            page_link=lambda n: f"?{urlencode({'page': n})}",
        )

    @app.get("/api/plans/{plan_id}")
    def plan_api(plan_id: str, page: Annotated[int, Query(ge=1)] = 1) -> dict[str, Any]:
        stored = evidence.plan(sources.lake(), plan_id, page=page)
        rows = stored["rows"]
        return {**stored, "rows": {"page": rows.page, "size": rows.size, "total": rows.total, "rows": rows.rows}}

    @app.get("/pack/{name:path}")
    def pack_file(name: str) -> FileResponse:
        pack = evidence.latest_pack()
        if pack is None:
            raise GovernanceQueryError(
                "no regulator pack yet: the nightly's report task (or `synthgov report`) makes it"
            )
        return FileResponse(evidence.pack_file(pack, name or "index.html"))

    return app


@dataclass(frozen=True)
class Paging:
    page: int
    size: int
    after: str  # the keyset cursor a page's "next" link carries; empty: by page number


def _paging(
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=marts.MAX_PAGE_SIZE)] = marts.PAGE_SIZE,
    after: str = "",
) -> Paging:
    """The paging query parameters of every findings route (a FastAPI dependency)."""
    return Paging(page=page, size=size, after=after)


def _filter(
    object_name: str = "", severity: str = "", ai_tool: str = "", ai_model: str = "", since: str = "", until: str = ""
) -> FindingFilter:
    """The filter query parameters of every findings route (a FastAPI dependency); bad dates are a 400."""
    return FindingFilter(
        object_name=object_name.strip(),
        severity=severity.strip(),
        ai_tool=ai_tool.strip(),
        ai_model=ai_model.strip(),
        since=marts.parse_day("since", since),
        until=marts.parse_day("until", until),
    )


def _datasets(warehouse: Warehouse) -> list[dict[str, str | None]]:
    """The marts as OpenLineage datasets, each with its Marquez lineage link when Marquez is configured."""
    base = sources.marquez_url()
    out: list[dict[str, str | None]] = []
    for table in marts.mart_tables(warehouse):
        name = warehouse.dataset_name(table)
        link = sources.marquez_link(base, warehouse.lineage_namespace, name) if base else None
        out.append({"table": table, "dataset": name, "marquez": link})
    return out


def org_link(org: str | None, record_id: str | None) -> str | None:
    """The record in the org: My Domain + '/' + id (Salesforce redirects an id to its record page)."""
    return f"{org}/{quote(record_id, safe='')}" if org and record_id else None


_templates.globals["org_link"] = org_link
_templates.globals["plan_href"] = lambda plan_id: f"{URL_PREFIX}/plans/{quote(str(plan_id), safe='')}"
