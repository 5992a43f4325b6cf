"""One retention run from plan to receipt, as plain functions: the DAG's tasks and the demo call these.

plan -> (approval, in Airflow) -> apply -> purge lake and warehouse -> verify -> evidence -> receipt.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from typing import Any

from synthgov.lake import Lake
from synthgov.retention.apply import REDACTED, ApplyResult
from synthgov.retention.evidence import AppendedEntry, EvidenceLedger
from synthgov.retention.plan import Plan
from synthgov.retention.rules import Policy
from synthgov.retention.salesforce_ops import alive_ids, fetch_rows
from synthgov.salesforce.connection import SalesforceConnection
from synthgov.salesforce.ids import hash_record_id
from synthgov.warehouse import Warehouse, raw_loader

log = logging.getLogger(__name__)

DONE = ("purged", "already_deleted")


class VerificationFailed(RuntimeError):
    """Something the plan set out to remove is still there: the message lists what and where."""


@dataclass
class Verification:
    salesforce_alive: list[str] = field(default_factory=list)
    lake_leftovers: list[str] = field(default_factory=list)
    failed_records: int = 0
    # Raw tables still holding rows of purged records (counts per table; no ids, they are in the warehouse).
    warehouse_leftovers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.salesforce_alive or self.lake_leftovers or self.warehouse_leftovers or self.failed_records)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "salesforce_alive": len(self.salesforce_alive),
            "lake_leftovers": len(self.lake_leftovers),
            "warehouse_leftovers": len(self.warehouse_leftovers),
            "failed_records": self.failed_records,
        }


@dataclass(frozen=True)
class PlanSummary:
    """What the steps after planning need of a plan, and what its approver reads, small enough for XCom.

    Bounded whatever the plan's size: counts, one group per skip reason, and the approval card with
    its sample of ``card.SAMPLE_SIZE`` records; never the record id lists, never content beyond the sample.
    """

    plan_id: str
    sha256: str
    run_kind: str
    planned: int
    skipped: dict[str, int]  # reason -> records left alone at planning
    deferred: int
    by_object: dict[str, int]
    approval_required: bool
    approval_why: list[str]
    plan_uri: str  # for logs and tasks; people follow `page`
    by_policy: dict[str, int] = field(default_factory=dict)
    by_tool: dict[str, int] = field(default_factory=dict)
    skip_groups: list[dict[str, Any]] = field(default_factory=list)
    page: str = ""
    card: str = ""  # the approval step's body (markdown)

    @classmethod
    def of(cls, plan: Plan, lake: Lake) -> PlanSummary:
        from synthgov.retention import card

        manifest = plan.manifest
        counts = manifest["counts"]
        request = manifest["request"]
        values: dict[str, Any] = {
            "plan_id": plan.plan_id,
            "sha256": plan.sha256,
            "run_kind": str(request["run_kind"]),
            "planned": int(counts["planned"]),
            "skipped": dict(counts["skipped"]),
            "deferred": int(counts["deferred"]),
            "by_object": dict(counts["by_object"]),
            "approval_required": bool(manifest["approval"]["required"]),
            "approval_why": list(manifest["approval"]["why"]),
            "plan_uri": lake.uri(manifest["file"]["key"]),
            "by_policy": dict(counts.get("by_policy") or {}),
            "by_tool": dict(counts.get("by_tool") or {}),
            "skip_groups": list(manifest.get("skip_groups") or card.skip_groups(plan.rows)),
            "page": str(manifest.get("page") or card.plan_page(plan.plan_id)),
        }
        shown = {
            **values,
            "policies": manifest["policies"],
            "human_reviewed": counts.get("human_reviewed", 0),
            "sample": manifest.get("sample") or card.sample(plan.planned),
            "scope": request.get("scope"),
            "reason": request.get("reason"),
            "requested_by": request.get("requested_by"),
        }
        return cls(**values, card=card.approval_card(shown))

    def to_xcom(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any]) -> PlanSummary:
        return cls(**{f.name: value[f.name] for f in dataclass_fields(cls) if f.name in value})


def mask_fields_by_object(policies: Sequence[Policy]) -> dict[str, list[str]]:
    """object -> the fields its masking policy blanks (what verification reads back)."""
    return {p.object: list(p.mask_fields) for p in policies}


def erased_by_object(result: ApplyResult, *, include_masked: bool) -> dict[str, list[str]]:
    """Record ids per object whose content is gone from the org (masked ones too if asked)."""
    out: dict[str, list[str]] = defaultdict(list)
    for rid, o in sorted(result.outcomes.items()):
        if o["outcome"] in DONE and (include_masked or o["action"] != "mask"):
            out[o["object"]].append(rid)
    return dict(out)


def purge_stores(
    lake: Lake, warehouse: Warehouse | None, plan: Plan, result: ApplyResult, *, run_id: str
) -> dict[str, Any]:
    """Remove what the org no longer holds from the lake (every file and version) and the warehouse.

    Masked records lose their old rows too (they held the content); they are not registered as
    purged, so the next extraction brings back their masked version. A purged file takes its
    ContentDocument, every version, link and media finding with it (``retention.dependents``).
    """
    from synthgov.lake.purged import record_purged
    from synthgov.retention import dependents, lake_purge

    content = erased_by_object(result, include_masked=True)
    deleted = erased_by_object(result, include_masked=False)
    planned = dependents.merged(deleted, dependents.file_targets(plan, result))
    everything = dependents.merged(
        dependents.with_describing_rows(lake, warehouse, planned), dependents.remembered(lake, plan.plan_id)
    )
    # Journalled and registered first: should the purge die half-way, a retry still knows every
    # version of the files, and no extraction in between brings the rows back.
    dependents.remember(lake, plan.plan_id, everything)
    for obj, ids in sorted(everything.items()):
        record_purged(lake, obj, ids, run_id)
    report = lake_purge.purge_lake(lake, dependents.merged(content, everything), run_id=run_id)
    by_table: dict[str, int] = {}
    if warehouse is not None and everything:
        lists = {obj: sorted(ids) for obj, ids in sorted(everything.items())}
        by_table = raw_loader.purge_raw_rows(warehouse, lists, run_id, datetime.now(UTC))
    return {
        "lake": report.as_dict(),
        "warehouse_rows_removed": sum(by_table.values()),
        "warehouse_rows_removed_by_table": by_table,
        # Records that went because they only describe a purged file, beyond the planned ones (counts only).
        "removed_with_files": dependents.extra(everything, deleted),
    }


def verify_purge(
    conn: SalesforceConnection,
    lake: Lake,
    plan: Plan,
    result: ApplyResult,
    mask_fields: Mapping[str, Sequence[str]],
    warehouse: Warehouse | None = None,
) -> Verification:
    """Nothing the run removed is alive in the org, in any lake file or S3 version, or in the warehouse.

    "Removed" includes what only describes a purged file: its ContentDocument, every version (those
    the purge journalled and any row naming the document), links and findings.
    """
    from synthgov.lake.purged import references_of
    from synthgov.retention import dependents, lake_purge

    check = Verification(failed_records=len(result.failed))
    rows = {r["record_id"]: r for r in plan.rows}
    by_object: dict[tuple[str, str], list[str]] = defaultdict(list)
    for rid, o in result.outcomes.items():
        if o["outcome"] in DONE or o["outcome"] == "failed":
            by_object[(o["object"], o["action"])].append(rid)
    for (obj, action), ids in sorted(by_object.items()):
        if action == "mask":
            fields = list(mask_fields.get(obj, ()))
            for row in fetch_rows(conn, obj, ids, ["Id", *fields]):
                if any(row.get(f) not in (REDACTED, None, "") for f in fields):
                    check.salesforce_alive.append(f"{obj} {row['Id']}: a masked field still holds content")
            continue
        for rid in sorted(alive_ids(conn, obj, ids)):
            check.salesforce_alive.append(f"{obj} {rid} is alive (policy {rows[rid]['policy_id']})")
    deleted = dependents.merged(
        erased_by_object(result, include_masked=False),
        dependents.file_targets(plan, result),
        dependents.remembered(lake, plan.plan_id),
    )
    # A row naming a purged file is a leftover even if no journal knows its id (planted back, re-extracted).
    for parent, parent_ids in list(deleted.items()):
        for ref in references_of(parent):
            found = lake_purge.referencing_ids(lake, ref.object, ref.column, parent_ids)
            deleted = dependents.merged(deleted, {ref.object: found})
    content = dependents.merged(erased_by_object(result, include_masked=True), deleted)
    for leftover in lake_purge.find_in_lake(lake, content):
        check.lake_leftovers.append(str(leftover))
    if warehouse is not None and deleted:
        left = raw_loader.purged_rows_left(warehouse, {obj: sorted(ids) for obj, ids in sorted(deleted.items())})
        check.warehouse_leftovers += [f"{table}: {n} rows of purged records" for table, n in sorted(left.items())]
    return check


def evidence_entry(
    plan: Plan,
    result: ApplyResult,
    *,
    approver: str | None,
    stores: Mapping[str, Any] | None,
    verification: Mapping[str, Any] | None,
    airflow_run: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ledger entry of one run: what, why, on whose approval, per-record outcomes by hashed id."""
    request = plan.manifest["request"]
    entry = _plan_entry("retention.purge", plan, airflow_run)
    entry["counts"] |= {f"outcome_{k}": v for k, v in sorted(result.counts.items())}
    return entry | {
        "approver": approver,
        "approval_required": plan.manifest["approval"]["required"],
        "record_ids_requested": len(request.get("record_ids") or []),
        "api_calls": result.api_calls,
        "outcomes": [_outcome(rid, o) for rid, o in sorted(result.outcomes.items())],
        "stores": dict(stores or {}),
        "verification": dict(verification) if verification is not None else None,
    }


def _plan_entry(kind: str, plan: Plan, airflow_run: Mapping[str, str] | None) -> dict[str, Any]:
    """What every ledger entry of a plan says, applied or rejected: the plan, its request and its counts."""
    request = plan.manifest["request"]
    counts = plan.manifest["counts"]
    return {
        "kind": kind,
        "plan_id": plan.plan_id,
        "plan_sha256": plan.sha256,
        "run_kind": request["run_kind"],
        "reason": request.get("reason"),
        "requested_by": request.get("requested_by"),
        "approval_why": plan.manifest["approval"]["why"],
        "policies": plan.manifest["policies"],
        "filters": {k: request[k] for k in ("policy_ids", "objects", "tools", "models", "scope", "max_records")},
        "as_of": plan.manifest["as_of"],
        "counts": {"planned": counts["planned"], "skipped_at_plan": counts["skipped"], "deferred": counts["deferred"]},
        "airflow": dict(airflow_run or {}),
    }


def rejection_entry(
    plan: Plan,
    *,
    rejected_by: str | None,
    comment: str | None,
    responded_at: str | None = None,
    airflow_run: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ledger entry of a plan a person rejected: who, why and what would have gone (nothing was changed)."""
    return _plan_entry("retention.rejected", plan, airflow_run) | {
        "rejected_by": rejected_by,
        # The approver's own words; the ledger keeps "no reason given" rather than nothing.
        "rejection_reason": (comment or "").strip() or None,
        "responded_at": responded_at,
        "outcomes": [],
    }


def record_rejection(lake: Lake, plan: Plan, entry: Mapping[str, Any]) -> Evidenced:
    """Append a rejection's entry and verify the chain; the receipt says nothing was changed and why."""
    appended = write_evidence(lake, entry)
    intact = EvidenceLedger(lake).verify().ok
    why = entry.get("rejection_reason") or "no reason given"
    text = receipt(plan, None, None, None, unapplied=f"rejected by {entry.get('rejected_by') or 'unknown'}: {why}")
    text += f"\n  evidence: ledger entry #{appended.seq}, SHA-256 {appended.sha256} ({appended.key})"
    text += f"\n  evidence ledger verification: {'intact' if intact else 'FAILED'}"
    return Evidenced(appended, intact, text)


def _outcome(record_id: str, outcome: Mapping[str, str]) -> dict[str, str]:
    item = {"id_sha256": hash_record_id(record_id), "object": outcome["object"], "outcome": outcome["outcome"]}
    if outcome["code"]:
        # Salesforce status codes as they come; synthgov's own skip reasons in the same upper-case form.
        item["code"] = outcome["code"].upper()
    return item


@dataclass(frozen=True)
class Evidenced:
    """A run's ledger entry as written, whether the whole ledger still verifies, and the receipt."""

    appended: AppendedEntry
    ledger_ok: bool
    receipt: str


def write_evidence(lake: Lake, entry: Mapping[str, Any]) -> AppendedEntry:
    return EvidenceLedger(lake).append(entry)


def record_evidence(lake: Lake, plan: Plan, result: ApplyResult, entry: Mapping[str, Any]) -> Evidenced:
    """Append the entry, verify the chain it joined, and write the receipt for people."""
    appended = write_evidence(lake, entry)
    intact = EvidenceLedger(lake).verify().ok
    return Evidenced(appended, intact, receipt(plan, result, appended, intact, stores=entry.get("stores")))


def receipt(
    plan: Plan,
    result: ApplyResult | None,
    appended: AppendedEntry | None,
    ledger_ok: bool | None,
    *,
    stores: Mapping[str, Any] | None = None,
    unapplied: str = "dry run: nothing was changed",
) -> str:
    """A short text for people: what was removed, under which policy, and where the proof is.

    `unapplied`: why nothing was changed when there is no result (a dry run, nothing due, waiting for approval).
    """
    lines = [f"Retention receipt, plan {plan.plan_id} (SHA-256 {plan.sha256[:16]}...)"]
    request = plan.manifest["request"]
    lines.append(f"  run: {request['run_kind']}" + (f", reason: {request['reason']}" if request.get("reason") else ""))
    counts = plan.manifest["counts"]
    lines.append(
        f"  planned {counts['planned']} of {counts['candidates']} candidates; skipped at planning: "
        f"{counts['skipped'] or 'none'}; deferred by caps: {counts['deferred']}"
    )
    for pid, info in sorted(plan.manifest["policies"].items()):
        lines.append(
            f"  policy {pid}: {info['planned']} {info['object']} records, {info['action']} ({info['regulation']})"
        )
    if result is None:
        lines.append(f"  {unapplied}")
        return "\n".join(lines)
    lines.append(f"  outcomes: {result.counts} in {result.api_calls} API calls")
    with_files = (stores or {}).get("removed_with_files")
    if with_files:
        removed = ", ".join(f"{n} {obj}" for obj, n in sorted(with_files.items()))
        lines.append(f"  removed with the purged files (rows that only describe them): {removed}")
    if appended is not None:
        lines.append(f"  evidence: ledger entry #{appended.seq}, SHA-256 {appended.sha256} ({appended.key})")
    if ledger_ok is not None:
        lines.append(f"  evidence ledger verification: {'intact' if ledger_ok else 'FAILED'}")
    return "\n".join(lines)


@dataclass
class ScheduledRun:
    plan: Plan
    result: ApplyResult | None
    appended: AppendedEntry | None
    receipt: str


def run_scheduled(
    conn: SalesforceConnection,
    lake: Lake,
    warehouse: Warehouse,
    policies: Sequence[Policy],
    mapping: Mapping[str, Any],
) -> ScheduledRun:
    """A scheduled purge outside Airflow (the demo): every due record, unless the plan needs a person.

    A plan that needs approval stops after planning, as the DAG's does; approving is a person's act
    and happens in Airflow's UI.
    """
    from synthgov.retention.apply import apply_plan
    from synthgov.retention.plan import PlanRequest, build_plan

    plan = build_plan(conn, lake, warehouse, policies, mapping, PlanRequest(run_kind="scheduled"))
    if not plan.planned:
        # A scheduled run is no dry run: it had nothing to do.
        return ScheduledRun(plan, None, None, receipt(plan, None, None, None, unapplied="nothing was due"))
    if plan.manifest["approval"]["required"]:
        text = receipt(plan, None, None, None, unapplied="waits for approval")
        why = "; ".join(plan.manifest["approval"]["why"])
        return ScheduledRun(plan, None, None, f"{text}\n  approval needed ({why}): run the DAG in Airflow to approve")
    result = apply_plan(conn, lake, plan.plan_id, plan.sha256, policies, mapping)
    stores = purge_stores(lake, warehouse, plan, result, run_id=plan.plan_id)
    check = verify_purge(conn, lake, plan, result, mask_fields_by_object(policies), warehouse)
    entry = evidence_entry(plan, result, approver=None, stores=stores, verification=check.as_dict())
    evidenced = record_evidence(lake, plan, result, entry)
    if not check.ok:
        raise VerificationFailed(f"{evidenced.receipt}\n  verification FAILED: {check.as_dict()}")
    return ScheduledRun(plan, result, evidenced.appended, evidenced.receipt)
