"""Build synthgov's facets from what the pipeline holds: the marts, the policy file, the evidence ledger."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthgov.lineage.facets import (
    EvidenceCount,
    LedgerEntry,
    ObjectCount,
    ProvenanceClassCount,
    ProvenanceSummaryDatasetFacet,
    PurgeReceiptRunFacet,
    PurgeVerification,
    RetentionPolicy,
    RetentionPolicyJobFacet,
)

if TYPE_CHECKING:
    from synthgov.retention.rules import Policy
    from synthgov.warehouse import Warehouse

PROVENANCE_LEDGER = "marts.provenance_ledger"
GOVERNANCE_SUMMARY = "marts.governance_summary"


def provenance_summary(warehouse: Warehouse) -> ProvenanceSummaryDatasetFacet | None:
    """Counts of ``marts.provenance_ledger`` by class, evidence and object; None before the ledger is built."""
    if not warehouse.has_table("marts", "provenance_ledger"):
        return None
    ((records, heuristic, personas, reviewed, disclosed, held, as_of),) = warehouse.query(
        "SELECT count(*), "
        "count(*) FILTER (WHERE is_heuristic), "
        "count(*) FILTER (WHERE is_synthetic_persona), "
        "count(*) FILTER (WHERE human_reviewed), "
        "count(*) FILTER (WHERE disclosed), "
        "count(*) FILTER (WHERE legal_hold), "
        f"max(as_of) FROM {PROVENANCE_LEDGER}"
    )

    def grouped(column: str) -> list[tuple[str, int]]:
        rows = warehouse.query(
            f"SELECT {column}, count(*) FROM {PROVENANCE_LEDGER} GROUP BY {column} ORDER BY count(*) DESC, {column}"
        )
        return [(str(key), int(n)) for key, n in rows]

    return ProvenanceSummaryDatasetFacet(
        records=int(records),
        heuristicRecords=int(heuristic),
        syntheticPersonas=int(personas),
        humanReviewed=int(reviewed),
        disclosed=int(disclosed),
        legalHold=int(held),
        byProvenanceClass=[ProvenanceClassCount(k, n) for k, n in grouped("provenance_class")],
        byEvidence=[EvidenceCount(k, n) for k, n in grouped("evidence")],
        byObject=[ObjectCount(k, n) for k, n in grouped("object_name")],
        asOf=_iso(as_of),
    )


def governance_regulations(warehouse: Warehouse) -> list[tuple[str, str]]:
    """``(control, regulation)`` of every governance control, as ``marts.governance_summary`` cites them."""
    if not warehouse.has_table("marts", "governance_summary"):
        return []
    return [
        (str(c), str(r)) for c, r in warehouse.query(f"SELECT control, regulation FROM {GOVERNANCE_SUMMARY} ORDER BY 1")
    ]


def retention_policy_facet(entries: Sequence[Policy], policy_file: Path) -> RetentionPolicyJobFacet:
    """The policies in force (validated ``retention.yml``), defaults as the planner applies them."""
    policies = []
    for p in entries:
        entry = p.as_entry()
        policies.append(
            RetentionPolicy(
                id=p.id,
                object=p.object,
                appliesTo=p.applies_to,
                days=p.days,
                clock=p.clock,
                action=p.action,
                regulation=p.regulation,
                approvalThreshold=p.approval_threshold,
                exempt=list(entry["exempt"]),
                maskFields=list(p.mask_fields),
                maxRecords=p.max_records,
                maxFraction=None if p.max_fraction is None else float(p.max_fraction),
            )
        )
    return RetentionPolicyJobFacet(
        policyFile=str(policy_file),
        policyFileSha256=hashlib.sha256(policy_file.read_bytes()).hexdigest(),
        policies=policies,
    )


def purge_receipt(entry: Mapping[str, Any], *, key: str, uri: str | None = None) -> PurgeReceiptRunFacet:
    """The receipt facet of a ``retention.purge`` evidence ledger entry, as the ledger stores it under ``key``."""
    counts = entry.get("counts") or {}
    outcomes = {k.removeprefix("outcome_"): int(v) for k, v in counts.items() if k.startswith("outcome_")}
    skipped = counts.get("skipped_at_plan") or {}
    check = entry.get("verification")
    verification = None
    if isinstance(check, Mapping):
        verification = PurgeVerification(
            ok=bool(check.get("ok")),
            salesforceAlive=_int_or_none(check.get("salesforce_alive")),
            lakeLeftovers=_int_or_none(check.get("lake_leftovers")),
            failedRecords=_int_or_none(check.get("failed_records")),
            detail=str(check["detail"]) if check.get("detail") else None,
        )
    by_object: dict[str, int] = {}
    for outcome in entry.get("outcomes") or []:
        by_object[str(outcome["object"])] = by_object.get(str(outcome["object"]), 0) + 1
    return PurgeReceiptRunFacet(
        planId=str(entry["plan_id"]),
        planSha256=str(entry["plan_sha256"]),
        runKind=str(entry["run_kind"]),
        approvalRequired=bool(entry.get("approval_required")),
        planned=int(counts.get("planned", 0)),
        deferred=int(counts.get("deferred", 0)),
        ledgerEntry=LedgerEntry(
            seq=int(entry["seq"]),
            sha256=str(entry["entry_sha256"]),
            key=key,
            uri=uri,
        ),
        approver=entry.get("approver") or None,
        reason=entry.get("reason") or None,
        requestedBy=entry.get("requested_by") or None,
        policies=sorted(str(p) for p in entry.get("policies") or {}),
        plannedByObject=dict(sorted(by_object.items())),
        skippedAtPlan={str(k): int(v) for k, v in skipped.items()} if isinstance(skipped, Mapping) else {},
        outcomes=dict(sorted(outcomes.items())),
        apiCalls=_int_or_none(entry.get("api_calls")),
        verification=verification,
    )


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _iso(value: Any) -> str | None:
    # Warehouse timestamps without a zone are UTC (dbt builds as of the org's clock, in UTC).
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).isoformat()
    return str(value) if value is not None else None
