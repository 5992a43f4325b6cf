"""Paged, filtered queries on the marts for the Governance page.

Every list is paged in the database (LIMIT/OFFSET on an indexed-order key), never fetched whole: at a
million records a page costs one short scan, not a transfer of the table. Values the user supplies
(filters, page numbers) travel as bound parameters; the only names put into SQL are a finding table
that ``governance_summary`` itself names and that matches ``finding_<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from synthgov.report.collect import MARTS, SEVERITY_ORDER, SUMMARY_COLUMNS, jsonable
from synthgov.report.status import status_css, status_text
from synthgov.warehouse import Warehouse

HISTORY_TABLE = "governance_summary_history"
TREND_BUILDS = 30
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
SEVERITIES = ("high", "medium", "low", "info")
FINDING_COLUMNS = (
    "finding_id",
    "entity_id",
    "object_name",
    "finding",
    "severity",
    "evidence",
    "detected_at",
    "ai_tool",
    "ai_model",
)
CANDIDATE_COLUMNS = ("policy_id", "object_name", "record_id", "evidence", "clock", "clock_at", "due_at", "action")


class GovernanceQueryError(ValueError):
    """A request the page cannot answer (an unknown control, a bad filter); the message says which and why."""


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, the page number (1-based), its size, and how many rows match in all."""

    rows: list[dict[str, Any]]
    page: int
    size: int
    total: int
    #: Where the next page starts (``findings(after=...)``), None on the last page or for lists without one.
    next_cursor: str | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


@dataclass(frozen=True)
class FindingFilter:
    """What a findings list is narrowed to; an empty field does not narrow. Dates bound detected_at (UTC days)."""

    object_name: str = ""
    severity: str = ""
    ai_tool: str = ""
    ai_model: str = ""
    since: date | None = None
    until: date | None = None
    applied: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.severity and self.severity not in SEVERITIES:
            raise GovernanceQueryError(f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")
        if self.since and self.until and self.since > self.until:
            raise GovernanceQueryError(f"the date range is empty: from {self.since} is after to {self.until}")


def parse_day(name: str, value: str | None) -> date | None:
    """A filter's date (YYYY-MM-DD), or None when empty; GovernanceQueryError naming the field otherwise."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise GovernanceQueryError(f"{name} must be a date as YYYY-MM-DD, not {value!r}") from exc


def page_bounds(page: int, size: int) -> tuple[int, int]:
    """(page, size) made safe: page from 1, size from 1 to MAX_PAGE_SIZE."""
    if page < 1:
        raise GovernanceQueryError(f"page must be 1 or more, not {page}")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise GovernanceQueryError(f"page size must be from 1 to {MAX_PAGE_SIZE}, not {size}")
    return page, size


def controls(warehouse: Warehouse) -> list[dict[str, Any]]:
    """governance_summary, one dict per control, with its status in words and the page's class for it."""
    rows = warehouse.query(f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM {MARTS}.governance_summary ORDER BY control")
    out = []
    for row in rows:
        control = dict(zip(SUMMARY_COLUMNS, map(jsonable, row), strict=True))
        control["status_text"] = status_text(control)
        control["status_css"] = status_css(control)
        out.append(control)
    return out


def trend(warehouse: Warehouse, builds: int = TREND_BUILDS) -> dict[str, Any]:
    """The last ``builds`` builds of governance_summary_history: per build its time, per control its counts.

    ``{"builds": [{"build_id", "built_at"}...] oldest first, "series": {control: [findings or None, ...]},
    "statuses": {control: [status or None, ...]}, "peak"}``; a control absent from a build has None there.
    Empty lists when the history table is not built yet (a warehouse from before the model)."""
    if not warehouse.has_table(MARTS, HISTORY_TABLE):
        return {"builds": [], "series": {}, "statuses": {}, "peak": 1}
    with warehouse.session() as s:
        recent = s.query(
            f"SELECT build_id, max(built_at) AS built_at FROM {MARTS}.{HISTORY_TABLE} "
            f"GROUP BY build_id ORDER BY built_at DESC, build_id DESC LIMIT {s.param}",
            [builds],
        )
        ids = [str(build_id) for build_id, _ in recent]
        rows = (
            s.query(
                f"SELECT build_id, control, findings, status FROM {MARTS}.{HISTORY_TABLE} "
                f"WHERE build_id IN ({', '.join([s.param] * len(ids))})",
                ids,
            )
            if ids
            else []
        )
    order = list(reversed(recent))
    index = {str(build_id): i for i, (build_id, _) in enumerate(order)}
    series: dict[str, list[int | None]] = {}
    statuses: dict[str, list[str | None]] = {}
    for build_id, control, findings, status in rows:
        series.setdefault(str(control), [None] * len(order))[index[str(build_id)]] = int(findings or 0)
        statuses.setdefault(str(control), [None] * len(order))[index[str(build_id)]] = str(status)
    return {
        "builds": [{"build_id": str(b), "built_at": jsonable(at)} for b, at in order],
        "series": dict(sorted(series.items())),
        "statuses": dict(sorted(statuses.items())),
        # The chart's top: the most findings any control had in these builds (1 when all were 0).
        "peak": max([1, *(v for values in series.values() for v in values if v is not None)]),
    }


def finding_table(warehouse: Warehouse, control: str) -> str:
    """The finding table governance_summary names for ``control``; GovernanceQueryError for an unknown one."""
    with warehouse.session() as s:
        rows = s.query(f"SELECT finding_table FROM {MARTS}.governance_summary WHERE control = {s.param}", [control])
    if not rows:
        raise GovernanceQueryError(f"no control {control!r} in {MARTS}.governance_summary")
    table = str(rows[0][0])
    if not (table.startswith("finding_") and table[8:].replace("_", "").isalnum() and table.isascii()):
        raise GovernanceQueryError(f"governance_summary names {table!r} for {control!r}, which is not a finding table")
    if not warehouse.has_table(MARTS, table):
        raise GovernanceQueryError(f"{MARTS}.{table} of control {control!r} is not in the warehouse: rebuild the marts")
    return table


def findings(
    warehouse: Warehouse, control: str, where: FindingFilter, *, page: int = 1, size: int = PAGE_SIZE, after: str = ""
) -> Page:
    """One page of a control's findings, worst first, with the record's AI tool and model from the ledger.

    Tool and model come from marts.provenance_ledger (a finding on a record the ledger lacks, such as a
    permission-set assignment, has none, and a tool or model filter leaves it out). The page is cut from
    the finding table first and only its rows are joined to the ledger: joining a million findings to a
    million ledger rows to show fifty cost seconds. A tool or model filter narrows by a semi-join on
    the ledger's rows of that tool or model. ``after`` (a previous page's ``next_cursor``) starts the page
    after that row instead of skipping ``(page - 1) * size`` rows: an OFFSET deep into a million findings
    sorts everything before it, a cursor only filters."""
    page, size = page_bounds(page, size)
    cursor = _cursor(after) if after else None
    table = finding_table(warehouse, control)
    with warehouse.session() as s:
        p = s.param
        conditions: list[str] = []
        params: list[Any] = []
        for column, value in (("f.object_name", where.object_name), ("f.severity", where.severity)):
            if value:
                conditions.append(f"{column} = {p}")
                params.append(value)
        if where.since:
            conditions.append(f"f.detected_at >= {p}")
            params.append(datetime.combine(where.since, datetime.min.time()))
        if where.until:
            conditions.append(f"f.detected_at < {p}")
            params.append(datetime.combine(where.until + timedelta(days=1), datetime.min.time()))
        ledger = [
            (column, value) for column, value in (("ai_tool", where.ai_tool), ("ai_model", where.ai_model)) if value
        ]
        if ledger:
            matching = " AND ".join(f"l.{column} = {p}" for column, _ in ledger)
            conditions.append(
                f"EXISTS (SELECT 1 FROM {MARTS}.provenance_ledger AS l WHERE l.record_id = f.entity_id "
                f"AND l.object_name = f.object_name AND {matching})"
            )
            params += [value for _, value in ledger]
        filtered = f"FROM {MARTS}.{table} AS f" + (f" WHERE {' AND '.join(conditions)}" if conditions else "")
        ((total,),) = s.query(f"SELECT count(*) {filtered}", params)
        rank = SEVERITY_ORDER.replace("severity", "f.severity")
        order = f"{rank}, f.finding_id"
        page_params: list[Any]
        if cursor is None:
            page_sql, page_params = f"{filtered} ORDER BY {order} LIMIT {p} OFFSET {p}", [size, (page - 1) * size]
        else:
            past = f"({rank} > {p} OR ({rank} = {p} AND f.finding_id > {p}))"
            page_sql = f"{filtered} {'AND' if conditions else 'WHERE'} {past} ORDER BY {order} LIMIT {p}"
            page_params = [cursor[0], cursor[0], cursor[1], size]
        columns = ", ".join(f"l.{c}" if c.startswith("ai_") else f"f.{c}" for c in FINDING_COLUMNS)
        rows = s.query(
            f"SELECT {columns}, {rank} FROM (SELECT f.* {page_sql}) AS f "
            f"LEFT JOIN {MARTS}.provenance_ledger AS l ON l.record_id = f.entity_id AND l.object_name = f.object_name "
            f"ORDER BY {order}",
            [*params, *page_params],
        )
    listed = [dict(zip(FINDING_COLUMNS, map(jsonable, r[:-1]), strict=True)) for r in rows]
    last = f"{rows[-1][-1]}:{rows[-1][0]}" if rows and page * size < total else None
    return Page(listed, page, size, int(total), next_cursor=last)


def _cursor(after: str) -> tuple[int, str]:
    rank, _, finding_id = after.partition(":")
    if not rank.isdigit() or not finding_id:
        raise GovernanceQueryError(f"after must be a cursor from a previous page (<rank>:<finding id>), not {after!r}")
    return int(rank), finding_id


def finding_options(warehouse: Warehouse, control: str) -> dict[str, list[str]]:
    """The values the filter's lists offer for a control: its objects and severities (small, distinct sets)."""
    table = finding_table(warehouse, control)
    return {
        column: [str(v) for (v,) in warehouse.query(f"SELECT DISTINCT {column} FROM {MARTS}.{table} ORDER BY 1")]
        for column in ("object_name", "severity")
    }


def candidates_due(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Retention candidates counted by policy and due day (UTC), the earliest first."""
    rows = warehouse.query(
        f"SELECT policy_id, object_name, action, cast(due_at AS date) AS due_day, count(*) "
        f"FROM {MARTS}.retention_candidates GROUP BY policy_id, object_name, action, due_day "
        "ORDER BY due_day, policy_id"
    )
    keys = ("policy_id", "object_name", "action", "due_day", "candidates")
    return [dict(zip(keys, map(jsonable, row), strict=True)) for row in rows]


def candidates(
    warehouse: Warehouse, *, policy_id: str = "", due_by: date | None = None, page: int = 1, size: int = PAGE_SIZE
) -> Page:
    """One page of retention candidates, by due date, optionally of one policy and due by a day."""
    page, size = page_bounds(page, size)
    with warehouse.session() as s:
        p = s.param
        conditions: list[str] = []
        params: list[Any] = []
        if policy_id:
            conditions.append(f"policy_id = {p}")
            params.append(policy_id)
        if due_by:
            conditions.append(f"due_at < {p}")
            params.append(datetime.combine(due_by + timedelta(days=1), datetime.min.time()))
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        ((total,),) = s.query(f"SELECT count(*) FROM {MARTS}.retention_candidates {where}", params)
        rows = s.query(
            f"SELECT {', '.join(CANDIDATE_COLUMNS)} FROM {MARTS}.retention_candidates {where} "
            f"ORDER BY due_at, policy_id, record_id LIMIT {p} OFFSET {p}",
            [*params, size, (page - 1) * size],
        )
    return Page([dict(zip(CANDIDATE_COLUMNS, map(jsonable, r), strict=True)) for r in rows], page, size, int(total))


def mart_tables(warehouse: Warehouse) -> list[str]:
    """The tables of the marts schema (``marts.<name>``), sorted: what the page links to lineage for."""
    with warehouse.session() as s:
        rows = s.query(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = {s.param} ORDER BY 1", [MARTS]
        )
    return [f"{MARTS}.{name}" for (name,) in rows]
