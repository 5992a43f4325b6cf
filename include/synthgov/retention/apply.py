"""Carry out a stored plan in the org, record by record, so that a crash never deletes anything twice.

Order of work for each (policy, object, action) group of the plan:
1. A step already in the journal (a crashed or retried run) is re-attached first: its Bulk API 2.0
   job is awaited or read, never sent again.
2. The rest is re-checked: records changed in the org since the plan read them back are read again
   and go through `rules.decide` with the plan's SystemModstamp; a legal hold, a human review or any
   edit leaves the record for the next plan (reported, not deleted).
3. Soft deletes of small sets go through composite collections; large sets, hard deletes and masks
   through one Bulk API 2.0 job. `ENTITY_IS_DELETED` counts as done.
4. `UNABLE_TO_LOCK_ROW` failures are retried on their own, in batches that keep the records of one
   parent together (the parent's lock is what they contend for), with backoff.
Outcomes are journalled after every step; the evidence entry is written from the journal.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from synthgov.lake import Lake, plan_journal_prefix
from synthgov.retention.plan import Plan, load_plan
from synthgov.retention.rules import LiveRecord, Policy, Request, decide, evidence_kinds
from synthgov.retention.salesforce_ops import (
    BULK_THRESHOLD,
    REST_CHUNK,
    DmlResult,
    Journal,
    RecordOutcome,
    bulk_ingest,
    changed_since,
    composite_delete,
)
from synthgov.salesforce.connection import SalesforceConnection

log = logging.getLogger(__name__)

# What a masked field is set to: a visible marker rather than an empty value, which Bulk API 2.0
# would read as "leave unchanged".
REDACTED = "[removed under retention policy]"
# Records edited this close to the plan's read-back are read again: clocks and commits are not exact.
_RECHECK_MARGIN = timedelta(seconds=60)
_OPERATIONS = {"soft_delete": "delete", "hard_delete": "hardDelete", "mask": "update"}


@dataclass
class ApplyResult:
    plan_id: str
    plan_sha256: str
    # record id -> {"object", "policy_id", "action", "outcome", "code"}
    outcomes: dict[str, dict[str, str]]
    api_calls: int
    # Records retried after UNABLE_TO_LOCK_ROW (each retry of each record counts).
    lock_retries: int = 0

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(o["outcome"] for o in self.outcomes.values()))

    @property
    def failed(self) -> dict[str, dict[str, str]]:
        return {k: v for k, v in self.outcomes.items() if v["outcome"] == "failed"}


def _journal(lake: Lake, plan_id: str) -> Journal:
    """Where apply records its Bulk jobs and per-record outcomes: next to the plan."""
    return Journal(lake, plan_journal_prefix(plan_id))


def load_applied(lake: Lake, plan_id: str, expected_sha256: str, *, api_calls: int = 0) -> tuple[Plan, ApplyResult]:
    """The plan (checked against the approved hash) and what applying it did, as its journal holds it.

    The steps after apply read outcomes from the lake rather than from XCom, which stays small;
    `api_calls` is the apply's own count, when the caller has it (the journal does not keep it).
    """
    plan = load_plan(lake, plan_id, expected_sha256)
    return plan, ApplyResult(plan.plan_id, plan.sha256, journalled_outcomes(lake, plan_id), api_calls)


def journalled_outcomes(lake: Lake, plan_id: str) -> dict[str, dict[str, str]]:
    """Per-record outcomes so far (also of an apply that failed half-way: what it changed is on record)."""
    outcomes: dict[str, dict[str, str]] = _journal(lake, plan_id).get("outcomes") or {}
    return outcomes


def apply_plan(
    conn: SalesforceConnection,
    lake: Lake,
    plan_id: str,
    expected_sha256: str,
    policies: Sequence[Policy],
    mapping: Mapping[str, Any],
    *,
    bulk_threshold: int = BULK_THRESHOLD,
    lock_rounds: int = 6,
    backoff_seconds: float = 0.5,
    poll_seconds: float = 0.5,
    after_job_created: Callable[[str], None] | None = None,
) -> ApplyResult:
    """Apply the plan (checked against `expected_sha256`, the hash that was approved)."""
    plan = load_plan(lake, plan_id, expected_sha256)
    by_id = {p.id: p for p in policies}
    journal = _journal(lake, plan_id)
    outcomes: dict[str, dict[str, str]] = journal.get("outcomes") or {}
    calls_before = conn.budget.calls
    request = Request(
        scope=plan.manifest["request"]["scope"],
        tools=frozenset(plan.manifest["request"]["tools"]),
        models=frozenset(plan.manifest["request"]["models"]),
    )
    checked_at = datetime.fromisoformat(plan.manifest["as_of"])
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in plan.planned:
        groups[(row["policy_id"], row["object_name"], row["action"])].append(row)
    changed: dict[str, dict[str, LiveRecord]] = {}
    retries = 0

    def record(rows: Sequence[dict[str, Any]], result: Mapping[str, RecordOutcome], by_target: bool) -> None:
        for row in rows:
            key = row["target_id"] if by_target else row["record_id"]
            if key in result:
                outcome = result[key]
                outcomes[row["record_id"]] = {
                    "object": row["object_name"],
                    "policy_id": row["policy_id"],
                    "action": row["action"],
                    "outcome": outcome.outcome,
                    "code": outcome.code,
                }
        journal.put("outcomes", outcomes)

    for (policy_id, obj, action), group_rows in sorted(groups.items()):
        policy = by_id.get(policy_id)
        if policy is None:
            raise RuntimeError(f"plan {plan_id} names policy {policy_id!r}, which retention.yml no longer has")
        step = f"{policy_id}.{obj}.{action}"
        rows = [r for r in group_rows if r["record_id"] not in outcomes]
        if not rows:
            continue
        entry = journal.get(step)
        if entry and entry.get("job_id"):
            sent = set(entry.get("ids", []))
            resumed = [r for r in rows if r["target_id"] in sent]
            result = _run_bulk(conn, journal, step, policy.mask_fields, resumed, action, poll_seconds, None)
            retries += _finish(
                conn,
                journal,
                step,
                resumed,
                action,
                policy.mask_fields,
                result,
                lock_rounds,
                backoff_seconds,
                poll_seconds,
                record,
            )
            rows = [r for r in rows if r["record_id"] not in outcomes]
            if not rows:
                continue
        # Re-check what changed in the org since the plan read the records back.
        if obj not in changed:
            changed[obj] = changed_since(conn, obj, checked_at - _RECHECK_MARGIN, mapping)
        ready: list[dict[str, Any]] = []
        skipped: dict[str, RecordOutcome] = {}
        for row in rows:
            live = changed[obj].get(row["record_id"])
            planned_stamp = datetime.fromisoformat(row["system_modstamp"]) if row["system_modstamp"] else None
            if live is not None and live.system_modstamp != planned_stamp:
                reason = decide(
                    policy, evidence_kinds(row["evidence"]), live, checked_at, request, planned_modstamp=planned_stamp
                )
                skipped[row["record_id"]] = RecordOutcome("skipped", reason or "edited_after_plan")
                continue
            ready.append(row)
        record(rows, skipped, by_target=False)
        if not ready:
            continue
        targets = list(dict.fromkeys(r["target_id"] for r in ready))
        if action == "soft_delete" and len(targets) < bulk_threshold:
            result = composite_delete(conn, targets)
        else:
            journal.put(step, {"ids": targets})
            result = _run_bulk(conn, journal, step, policy.mask_fields, ready, action, poll_seconds, after_job_created)
        retries += _finish(
            conn,
            journal,
            step,
            ready,
            action,
            policy.mask_fields,
            result,
            lock_rounds,
            backoff_seconds,
            poll_seconds,
            record,
        )
    return ApplyResult(plan_id, plan.sha256, outcomes, conn.budget.calls - calls_before, retries)


def _bulk_rows(
    rows: Sequence[dict[str, Any]], action: str, mask_fields: Sequence[str]
) -> tuple[list[str], list[list[str]]]:
    targets = list(dict.fromkeys(r["target_id"] for r in rows))
    if action == "mask":
        return ["Id", *mask_fields], [[t, *([REDACTED] * len(mask_fields))] for t in targets]
    return ["Id"], [[t] for t in targets]


def _run_bulk(
    conn: SalesforceConnection,
    journal: Journal,
    step: str,
    mask_fields: Sequence[str],
    rows: Sequence[dict[str, Any]],
    action: str,
    poll_seconds: float,
    after_job_created: Callable[[str], None] | None,
) -> DmlResult:
    header, data = _bulk_rows(rows, action, mask_fields)
    return bulk_ingest(
        conn,
        journal,
        step,
        rows[0]["target_object"],
        _OPERATIONS[action],
        header,
        data,
        poll_seconds=poll_seconds,
        after_create=after_job_created,
    )


def _finish(
    conn: SalesforceConnection,
    journal: Journal,
    step: str,
    rows: Sequence[dict[str, Any]],
    action: str,
    mask_fields: Sequence[str],
    result: DmlResult,
    lock_rounds: int,
    backoff_seconds: float,
    poll_seconds: float,
    record: Callable[[Sequence[dict[str, Any]], Mapping[str, RecordOutcome], bool], None],
) -> int:
    """Record the outcomes of a step, then retry its lock failures alone, grouped by parent; returns the retries."""
    record(rows, result.done, True)
    locked = list(dict.fromkeys(result.locked))
    by_target = {r["target_id"]: r for r in rows}
    retries = 0
    for attempt in range(1, lock_rounds + 1):
        if not locked:
            return retries
        retries += len(locked)
        log.info("%s: %d records were locked; retry %d of %d", step, len(locked), attempt, lock_rounds)
        time.sleep(backoff_seconds * 2 ** (attempt - 1))
        # Records of one parent in the same batch, one batch after another: they no longer race each other.
        ordered = sorted(locked, key=lambda t: (by_target[t]["parent_id"] or "", t))
        retry_rows = [by_target[t] for t in ordered]
        if action == "soft_delete" and len(ordered) < BULK_THRESHOLD:
            result = DmlResult()
            for batch in _parent_batches(retry_rows):
                part = composite_delete(conn, [r["target_id"] for r in batch])
                result.done.update(part.done)
                result.locked.extend(part.locked)
        else:
            retry_step = f"{step}.retry{attempt}"
            if not (journal.get(retry_step) or {}).get("job_id"):
                journal.put(retry_step, {"ids": ordered})
            result = _run_bulk(conn, journal, retry_step, mask_fields, retry_rows, action, poll_seconds, None)
        record(retry_rows, result.done, True)
        locked = list(dict.fromkeys(result.locked))
    if locked:
        record(
            [by_target[t] for t in locked],
            {t: RecordOutcome("failed", "UNABLE_TO_LOCK_ROW") for t in locked},
            True,
        )
    return retries


def _parent_batches(rows: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Batches of at most REST_CHUNK records that never split one parent's records (unless it has more)."""
    by_parent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_parent[row["parent_id"] or row["target_id"]].append(row)
    batches: list[list[dict[str, Any]]] = [[]]
    for group in by_parent.values():
        for start in range(0, len(group), REST_CHUNK):
            piece = group[start : start + REST_CHUNK]
            if len(batches[-1]) + len(piece) > REST_CHUNK:
                batches.append([])
            batches[-1].extend(piece)
    return [b for b in batches if b]
