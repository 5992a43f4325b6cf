"""What the pack says, read from its sources into one JSON-ready bundle.

Every number comes straight from a query on the marts (or from the ledger, the policy files, the
event log and dbt's manifest), so the pack and the warehouse cannot disagree. The bundle is what
``bundle.json`` holds; the page and the CSV files are drawn from it alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from synthgov.lake import Lake, LakeError
from synthgov.policies import PolicyError, load_policies
from synthgov.report.status import FINDINGS, could_not_judge
from synthgov.retention.evidence import EvidenceLedger, LedgerError
from synthgov.warehouse import RAW_SCHEMA, SYNTHGOV_SCHEMA, Warehouse

FORMAT = "synthgov-evidence-pack"
FORMAT_VERSION = 1
MARTS = "marts"
SUMMARY_COLUMNS = (
    "control",
    "finding_table",
    "regulation",
    "description",
    "findings",
    "high_findings",
    "medium_findings",
    "low_findings",
    "heuristic_findings",
    "info_findings",
    "status",
    "insufficient_data_reason",
    "as_of",
)
COUNT_COLUMNS = ("findings", "high_findings", "medium_findings", "low_findings", "heuristic_findings", "info_findings")
FINDING_COLUMNS = (
    "finding_id",
    "entity_id",
    "object_name",
    "finding",
    "severity",
    "regulation",
    "evidence",
    "detected_at",
)
SEVERITY_ORDER = "CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END"
PROVENANCE_DIMENSIONS = ("provenance_class", "evidence", "confidence", "object_name", "ai_tool")
PROVENANCE_FLAGS = ("is_heuristic", "is_synthetic_persona", "human_reviewed", "disclosed", "legal_hold")
CANDIDATE_COLUMNS = (
    "candidate_id",
    "policy_id",
    "object_name",
    "record_id",
    "applies_to",
    "evidence",
    "clock",
    "clock_at",
    "retention_days",
    "due_at",
    "action",
    "regulation",
)
DOC_SCHEMAS = (RAW_SCHEMA, SYNTHGOV_SCHEMA, "policy", "staging", "intermediate", "marts")
_FINDING_TABLE = re.compile(r"finding_[a-z0-9_]{1,60}")


class ReportError(Exception):
    """The pack cannot be made: the message says what is missing and what to run first."""


def jsonable(value: Any) -> Any:
    """Database values as JSON values: times in ISO 8601, decimals as numbers."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    return value


def _rows(warehouse: Warehouse, sql: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    return [dict(zip(columns, map(jsonable, row), strict=True)) for row in warehouse.query(sql)]


def _owners(warehouse: Warehouse, table: str) -> dict[str, str]:
    """finding_id -> the record's owner (a User id) for findings about records the provenance ledger holds."""
    sql = (
        f"SELECT f.finding_id, l.owner_id FROM {MARTS}.{table} AS f JOIN {MARTS}.provenance_ledger AS l "
        "ON l.object_name = f.object_name AND l.record_id = f.entity_id WHERE l.owner_id IS NOT NULL"
    )
    return {str(finding): str(owner) for finding, owner in warehouse.query(sql)}


def check_warehouse(warehouse: Warehouse) -> None:
    """Raise ReportError when the warehouse is not there, before opening it would create an empty one."""
    if not warehouse.exists():
        raise ReportError(
            f"no warehouse at {warehouse.description} yet: run `make demo` (or the nightly DAG) first, "
            "or point SYNTHGOV_DUCKDB_PATH at the warehouse"
        )


def check_marts(warehouse: Warehouse) -> None:
    """Raise ReportError unless the marts are there: the pack reports what the nightly built."""
    if not warehouse.has_table(MARTS, "governance_summary"):
        raise ReportError(
            f"the warehouse ({warehouse.description}) has no marts yet (no {MARTS}.governance_summary): "
            "run `make demo` or the nightly DAG first, so dbt builds them"
        )


def governance(warehouse: Warehouse) -> dict[str, Any]:
    """Each control's counts (marts.governance_summary) with its finding rows (marts.finding_<control>)."""
    controls = _rows(
        warehouse,
        f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM {MARTS}.governance_summary ORDER BY control",
        SUMMARY_COLUMNS,
    )
    ledger = f"{MARTS}.provenance_ledger"
    with_owners = any(name == "owner_id" for name, _ in warehouse.columns([ledger]).get(ledger, []))
    for control in controls:
        table = str(control["finding_table"])
        if not _FINDING_TABLE.fullmatch(table) or not warehouse.has_table(MARTS, table):
            control["rows"] = None  # the summary names a table the warehouse lacks: shown, not guessed
            continue
        control["rows"] = _rows(
            warehouse,
            f"SELECT {', '.join(FINDING_COLUMNS)} FROM {MARTS}.{table} ORDER BY {SEVERITY_ORDER}, finding_id",
            FINDING_COLUMNS,
        )
        owners = _owners(warehouse, table) if with_owners else {}
        for row in control["rows"]:
            row["owner_id"] = owners.get(str(row["finding_id"]))
    totals = {name: sum(int(c[name] or 0) for c in controls) for name in COUNT_COLUMNS}
    as_of = sorted({str(c["as_of"]) for c in controls if c["as_of"] is not None})
    return {
        "as_of": as_of[-1] if as_of else None,
        "totals": {
            **totals,
            "controls": len(controls),
            "controls_with_findings": sum(1 for c in controls if c["status"] == FINDINGS),
            "controls_insufficient_data": could_not_judge(controls),
        },
        "controls": controls,
    }


def provenance(warehouse: Warehouse) -> dict[str, Any]:
    """Counts of marts.provenance_ledger: in all, per flag, and by class, evidence, confidence, object and tool."""
    flags = ", ".join(f"sum(CASE WHEN {flag} THEN 1 ELSE 0 END)" for flag in PROVENANCE_FLAGS)
    ((total, *flag_counts),) = warehouse.query(f"SELECT count(*), {flags} FROM {MARTS}.provenance_ledger")
    by: dict[str, list[dict[str, Any]]] = {}
    for dimension in PROVENANCE_DIMENSIONS:
        by[dimension] = [
            {"value": jsonable(value), "records": int(n)}
            for value, n in warehouse.query(
                f"SELECT {dimension}, count(*) FROM {MARTS}.provenance_ledger GROUP BY {dimension} "
                f"ORDER BY count(*) DESC, {dimension}"
            )
        ]
    return {
        "records": int(total),
        **{flag: int(n or 0) for flag, n in zip(PROVENANCE_FLAGS, flag_counts, strict=True)},
        "by": by,
    }


def retention(warehouse: Warehouse) -> dict[str, Any]:
    """marts.retention_candidates: what is due under which policy, as of the build."""
    rows = _rows(
        warehouse,
        f"SELECT {', '.join(CANDIDATE_COLUMNS)} FROM {MARTS}.retention_candidates ORDER BY policy_id, record_id",
        CANDIDATE_COLUMNS,
    )
    by_policy: dict[str, dict[str, Any]] = {}
    for row in rows:
        policy = by_policy.setdefault(
            str(row["policy_id"]),
            {
                "policy_id": row["policy_id"],
                "object_name": row["object_name"],
                "action": row["action"],
                "regulation": row["regulation"],
                "candidates": 0,
                "earliest_due_at": row["due_at"],
            },
        )
        policy["candidates"] += 1
        if row["due_at"] is not None and (
            policy["earliest_due_at"] is None or row["due_at"] < policy["earliest_due_at"]
        ):
            policy["earliest_due_at"] = row["due_at"]
    return {"candidates": len(rows), "by_policy": list(by_policy.values()), "rows": rows}


def policies(directory: Path | None) -> dict[str, Any]:
    """The policy files in force, as validated, with the SHA-256 of each file."""
    try:
        loaded = load_policies(directory)
    except PolicyError as exc:
        raise ReportError(f"the policy files do not validate, so the pack cannot say what is in force: {exc}") from exc
    files = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(loaded.directory.glob("*.yml"))
        if path.is_file()
    }
    return {
        "directory": str(loaded.directory),
        "files_sha256": files,
        "retention": [p.as_entry() for p in loaded.retention],
        "ai_tools": jsonable(loaded.ai_tools),
        "mapping": jsonable(loaded.mapping),
    }


def evidence(lake: Lake) -> dict[str, Any]:
    """The ledger's verification, and every entry (the purge receipts) with its per-record outcomes apart."""
    ledger = EvidenceLedger(lake)
    try:
        report = ledger.verify()
        try:
            entries, read_error = ledger.entries(), None
        except LedgerError as exc:
            entries, read_error = [], str(exc)
    except LakeError as exc:
        raise ReportError(f"cannot read the evidence ledger in the lake: {exc}") from exc
    receipts, outcomes = [], []
    for entry in entries:
        listed = entry.get("outcomes")
        items: list[Any] = listed if isinstance(listed, list) else []
        tally = Counter(str(item.get("outcome")) for item in items if isinstance(item, dict))
        receipts.append(
            {**{k: v for k, v in entry.items() if k != "outcomes"}, "outcome_counts": dict(sorted(tally.items()))}
        )
        outcomes += [
            {"seq": entry.get("seq"), "entry_sha256": entry.get("entry_sha256"), **item}
            for item in items
            if isinstance(item, dict)
        ]
    return {
        "ledger": report.ledger,
        "verification": {
            "ok": report.ok,
            "summary": report.summary(),
            "segments": report.segments,
            "entries": report.entries,
            "head_seq": report.head_seq,
            "head_sha256": report.head_sha256,
            "worm": report.worm,
            "versioned": report.versioned,
            "locked_entries": report.locked_entries,
            "storage": report.storage_text(),
            "problems": [str(p) for p in report.problems],
        },
        "read_error": read_error,
        "receipts": jsonable(receipts),
        "outcomes": jsonable(outcomes),
    }


def docs(project: Path, warehouse: Warehouse) -> dict[str, Any]:
    """Datasets and columns: dbt's descriptions (manifest, and catalog types if `dbt docs generate` ran),
    completed with every column the warehouse actually has and its type."""
    target = project / "target"
    manifest_path, catalog_path = target / "manifest.json", target / "catalog.json"
    actual = _warehouse_columns(warehouse)
    if not manifest_path.is_file():
        return {
            "manifest": None,
            "catalog": None,
            "note": f"no dbt manifest at {manifest_path}: run `make dbt-manifest` for the descriptions",
            "datasets": [
                {
                    "kind": "table",
                    "name": table,
                    "relation": f"{schema}.{table}",
                    "layer": schema,
                    "description": "",
                    "columns": [
                        {"name": n, "type": t, "description": "", "documented": False} for n, t in columns.values()
                    ],
                }
                for (schema, table), columns in sorted(actual.items())
            ],
        }
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read dbt's manifest {manifest_path}: {exc}; run `make dbt-manifest`") from exc
    catalog = _catalog_types(catalog_path)
    datasets = []
    for node in [*manifest.get("nodes", {}).values(), *manifest.get("sources", {}).values()]:
        kind = node.get("resource_type")
        if kind not in ("model", "seed", "source"):
            continue
        schema = str(node.get("schema") or "")
        table = str(node.get("identifier") or node.get("alias") or node.get("name") or "")
        fqn = node.get("fqn") or []
        layer = (
            "sources" if kind == "source" else "seeds" if kind == "seed" else str(fqn[1] if len(fqn) > 2 else schema)
        )
        columns = actual.get((schema.lower(), table.lower()), {})
        typed = catalog.get(str(node.get("unique_id")), {})
        documented = node.get("columns") or {}
        entries = [
            {
                "name": name,
                "type": typed.get(name.lower()) or columns.get(name.lower(), ("", ""))[1] or info.get("data_type"),
                "description": str(info.get("description") or ""),
                "documented": True,
            }
            for name, info in documented.items()
        ]
        known = {name.lower() for name in documented}
        entries += [
            {"name": n, "type": t, "description": "", "documented": False}
            for key, (n, t) in columns.items()
            if key not in known
        ]
        datasets.append(
            {
                "kind": kind,
                "name": f"{node.get('source_name')}.{node.get('name')}" if kind == "source" else str(node.get("name")),
                "relation": f"{schema}.{table}",
                "layer": layer,
                "description": str(node.get("description") or ""),
                "in_warehouse": (schema.lower(), table.lower()) in actual,
                "columns": entries,
            }
        )
    order = {"sources": 0, "seeds": 1, "staging": 2, "intermediate": 3, "marts": 4}
    datasets.sort(key=lambda d: (order.get(d["layer"], 5), d["layer"], d["name"]))
    metadata = manifest.get("metadata") or {}
    return {
        "manifest": str(manifest_path),
        "manifest_generated_at": metadata.get("generated_at"),
        "dbt_version": metadata.get("dbt_version"),
        "catalog": str(catalog_path) if catalog else None,
        "note": None,
        "datasets": datasets,
    }


def _warehouse_columns(warehouse: Warehouse) -> dict[tuple[str, str], dict[str, tuple[str, str]]]:
    """(schema, table) -> lower-case column -> (column as spelt, type); keyed lower-case as dbt and Salesforce
    spell names differently."""
    schemas = ", ".join(f"'{s}'" for s in DOC_SCHEMAS)
    out: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
    for schema, table, column, dtype in warehouse.query(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema IN ({schemas}) ORDER BY table_schema, table_name, ordinal_position"
    ):
        out.setdefault((str(schema).lower(), str(table).lower()), {})[str(column).lower()] = (str(column), str(dtype))
    return out


def _catalog_types(path: Path) -> dict[str, dict[str, str]]:
    """unique_id -> column (lower-case) -> type, from catalog.json when `dbt docs generate` wrote one."""
    if not path.is_file():
        return {}
    try:
        catalog = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    out: dict[str, dict[str, str]] = {}
    for group in ("nodes", "sources"):
        for unique_id, node in (catalog.get(group) or {}).items():
            columns = node.get("columns") or {}
            out[str(unique_id)] = {
                str(k).lower(): str(v.get("type")) for k, v in columns.items() if isinstance(v, dict)
            }
    return out
