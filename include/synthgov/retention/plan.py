"""A retention plan: which records a purge will touch, fixed in a file with a hash before anything is deleted.

The warehouse proposes candidates (`marts.retention_candidates`, or for incident response every
rule-based AI record of a tool from `marts.provenance_ledger`); each is read back from the org and
passed through `synthgov.retention.rules.decide`; caps bound the run. The result is a parquet file
and a manifest (counts, filters, reason, approval needed and why, the file's SHA-256) in the lake
under ``retention/plans/<plan_id>/``. Apply refuses a plan whose bytes no longer match that hash.

``manifest.json`` keys (readers of older plans must treat the later ones as optional):
``plan_id``, ``created_at``, ``as_of``, ``request``, ``policies``, ``approval`` {required, why},
``file`` {key, sha256, rows, bytes}, ``counts`` {candidates, planned, skipped (reason -> records),
deferred, by_object}; added for the approval card and the governance page: ``counts.by_policy``,
``counts.by_tool`` (``unknown tool`` where neither the ledger nor the record names one),
``counts.human_reviewed`` (planned records a person reviewed: only ``all_ai`` takes them),
``skip_groups`` (one per reason a record is left alone: reason, status ``skipped`` or ``deferred``,
records, by_object, meaning in words), ``sample`` (at most ``card.SAMPLE_SIZE`` planned records:
object, id, label, tool, model, generated_at, policy, due_at) and ``page`` (the plan's page in the
Airflow UI, ``/governance/plans/<plan_id>``). ``plan.parquet`` rows gained ``label`` (name or
subject), ``generated_at``, ``due_at`` and ``human_reviewed``.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from synthgov.lake import Lake, plan_prefix
from synthgov.lake.runs import new_run_id
from synthgov.retention import card
from synthgov.retention.rules import (
    SCOPES,
    LiveRecord,
    Policy,
    Request,
    Scope,
    cap_count,
    clock_of,
    decide,
    evidence_kinds,
)
from synthgov.retention.salesforce_ops import fetch_live, fetch_rows, object_count
from synthgov.salesforce.connection import SalesforceConnection
from synthgov.salesforce.ids import is_valid_id, to18
from synthgov.warehouse import Warehouse

PLAN_FILE = "plan.parquet"
MANIFEST_FILE = "manifest.json"
RunKind = Literal["scheduled", "ad_hoc"]

PLAN_SCHEMA = pa.schema(
    [
        ("object_name", pa.string()),
        ("record_id", pa.string()),
        ("policy_id", pa.string()),
        ("action", pa.string()),
        ("evidence", pa.string()),
        ("ai_tool", pa.string()),
        ("ai_model", pa.string()),
        # The id the DML goes to: the ContentDocument of a ContentVersion, else the record itself.
        ("target_object", pa.string()),
        ("target_id", pa.string()),
        ("parent_id", pa.string()),
        ("system_modstamp", pa.string()),
        ("status", pa.string()),  # planned | skipped | deferred
        ("reason", pa.string()),
        # Added later (plans made before lack them; readers use .get): what a person judges a plan by.
        ("label", pa.string()),  # name or subject, as the org holds it now
        ("generated_at", pa.string()),
        ("due_at", pa.string()),  # when the policy's retention ran out (future under scope all_ai)
        ("human_reviewed", pa.bool_()),
    ]
)


class PlanInputError(ValueError):
    """The run's parameters cannot make a plan; each line says which parameter and what to do."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("cannot plan this purge:\n  " + "\n  ".join(problems))
        self.problems = problems


class PlanTampered(RuntimeError):
    """The plan file is not the one that was made (or approved): nothing is applied."""


@dataclass(frozen=True)
class PlanRequest:
    """What a run asks for. Scheduled runs take every due candidate; ad-hoc runs narrow it down."""

    run_kind: RunKind = "scheduled"
    dry_run: bool = False
    reason: str | None = None
    policy_ids: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    record_ids: tuple[str, ...] = ()
    max_records: int | None = None
    scope: Scope = "due"
    requested_by: str | None = None

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any], *, run_kind: RunKind, requested_by: str | None = None
    ) -> PlanRequest:
        """From Airflow params (lists may arrive as None or as comma/line-separated text)."""

        def items(name: str) -> tuple[str, ...]:
            value: Any = params.get(name)
            if value is None or value == "":
                return ()
            if isinstance(value, str):
                value = value.replace(",", "\n").splitlines()
            return tuple(str(v).strip() for v in value if str(v).strip())

        max_records: Any = params.get("max_records")
        return cls(
            run_kind=run_kind,
            dry_run=bool(params.get("dry_run", run_kind == "ad_hoc")),
            reason=(str(params["reason"]).strip() or None) if params.get("reason") else None,
            policy_ids=items("policy_ids"),
            objects=items("objects"),
            tools=items("tools"),
            models=items("models"),
            record_ids=items("record_ids"),
            max_records=int(max_records) if max_records not in (None, "") else None,
            scope=str(params.get("scope") or "due"),  # type: ignore[arg-type]  # checked in validate
            requested_by=requested_by,
        )

    def validate(self, policies: Sequence[Policy]) -> None:
        problems: list[str] = []
        known = {p.id for p in policies}
        objects = {p.object for p in policies}
        if self.run_kind == "ad_hoc" and not (self.reason and self.reason.strip()):
            problems.append(
                "reason: an ad-hoc purge needs a reason (the ticket, the incident, the regulator's request); "
                "it is written to the evidence ledger"
            )
        for pid in self.policy_ids:
            if pid not in known:
                problems.append(f"policy_ids: unknown policy id {pid!r}; known: {', '.join(sorted(known))}")
        for obj in self.objects:
            if obj not in objects:
                problems.append(f"objects: no retention policy covers {obj!r}; covered: {', '.join(sorted(objects))}")
        for rid in self.record_ids:
            if not is_valid_id(rid):
                problems.append(
                    f"record_ids: {rid!r} is not a Salesforce record id (15 or 18 letters and digits, checksum valid)"
                )
        if self.scope not in SCOPES:
            problems.append(f"scope: {self.scope!r} is not one of {', '.join(SCOPES)}")
        if self.scope == "all_ai" and not (self.tools or self.models):
            problems.append(
                "scope: all_ai (everything a tool made, due or not) needs tools or models to say which tool"
            )
        if self.max_records is not None and self.max_records < 1:
            problems.append(f"max_records: must be 1 or more, got {self.max_records}")
        if problems:
            raise PlanInputError(problems)

    def rule_request(self) -> Request:
        return Request(scope=self.scope, tools=frozenset(self.tools), models=frozenset(self.models))


@dataclass(frozen=True)
class Candidate:
    policy_id: str
    object_name: str
    record_id: str
    evidence: str
    ai_tool: str | None
    ai_model: str | None


@dataclass
class Plan:
    plan_id: str
    manifest: dict[str, Any]
    rows: list[dict[str, Any]] = field(repr=False)

    @property
    def sha256(self) -> str:
        return str(self.manifest["file"]["sha256"])

    @property
    def planned(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == "planned"]


def read_candidates(warehouse: Warehouse, request: PlanRequest, policies: Sequence[Policy]) -> list[Candidate]:
    """Candidates from the marts, narrowed by the request; one per record (the first policy in the file wins)."""
    if not warehouse.has_table("marts", "retention_candidates"):
        raise PlanInputError(
            ["the warehouse has no marts.retention_candidates yet: run the nightly DAG (dbt build) first"]
        )
    order = {p.id: i for i, p in enumerate(policies)}
    rows: list[Candidate] = []
    if request.scope == "due":
        sql = (
            "SELECT c.policy_id, c.object_name, c.record_id, l.evidence_all, l.ai_tool, l.ai_model "
            "FROM marts.retention_candidates AS c JOIN marts.provenance_ledger AS l ON l.ledger_id = c.ledger_id"
        )
        rows = [Candidate(*(str(v) if v is not None else None for v in r)) for r in warehouse.query(sql)]  # type: ignore[arg-type]
    else:
        sql = (
            "SELECT object_name, record_id, evidence_all, ai_tool, ai_model, is_synthetic_persona "
            "FROM marts.provenance_ledger WHERE NOT is_heuristic"
        )
        for obj, rid, evidence, tool, model, persona in warehouse.query(sql):
            for p in policies:
                if p.object == obj and (p.applies_to == "ai_generated" or bool(persona)):
                    rows.append(Candidate(p.id, str(obj), str(rid), str(evidence), tool, model))
    wanted_ids = {to18(r) for r in request.record_ids}
    tools = {t.lower() for t in request.tools}
    models = {m.lower() for m in request.models}
    chosen: dict[str, Candidate] = {}
    for c in sorted(rows, key=lambda c: (order.get(c.policy_id, len(order)), c.record_id)):
        if c.policy_id not in order:
            continue
        if request.policy_ids and c.policy_id not in request.policy_ids:
            continue
        if request.objects and c.object_name not in request.objects:
            continue
        if wanted_ids and c.record_id not in wanted_ids:
            continue
        if tools and (c.ai_tool or "").lower() not in tools:
            continue
        if models and (c.ai_model or "").lower() not in models:
            continue
        chosen.setdefault(c.record_id, c)
    return list(chosen.values())


def _siblings_outside(conn: SalesforceConnection, docs: dict[str, set[str]]) -> set[str]:
    """ContentDocuments that also hold versions outside the plan: deleting one would take those too."""
    if not docs:
        return set()
    rows = fetch_rows(conn, "ContentVersion", sorted(docs), ["Id", "ContentDocumentId"], where="ContentDocumentId")
    return {
        str(r["ContentDocumentId"]) for r in rows if str(r["Id"]) not in docs.get(str(r["ContentDocumentId"]), set())
    }


def _stamp(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def build_plan(
    conn: SalesforceConnection,
    lake: Lake,
    warehouse: Warehouse,
    policies: Sequence[Policy],
    mapping: Mapping[str, Any],
    request: PlanRequest,
    *,
    plan_id: str | None = None,
) -> Plan:
    """Make and store a plan. Nothing in the org changes; a dry run ends here."""
    request.validate(policies)
    by_id = {p.id: p for p in policies}
    candidates = read_candidates(warehouse, request, policies)
    as_of = conn.org_now()
    rule_request = request.rule_request()
    by_object: dict[str, list[Candidate]] = defaultdict(list)
    for c in candidates:
        by_object[c.object_name].append(c)
    live: dict[str, LiveRecord] = {}
    for obj, items in sorted(by_object.items()):
        live.update(fetch_live(conn, obj, [c.record_id for c in items], mapping))
    docs: dict[str, set[str]] = defaultdict(set)
    for c in candidates:
        record = live.get(c.record_id)
        if c.object_name == "ContentVersion" and record and record.content_document_id:
            docs[record.content_document_id].add(c.record_id)
    shared_docs = _siblings_outside(conn, docs)
    totals = {
        p.object: object_count(conn, p.object)
        for p in policies
        if p.max_fraction is not None and any(c.policy_id == p.id for c in candidates)
    }
    rows = select_rows(candidates, live, by_id, as_of, rule_request, shared_docs, totals, request.max_records)
    rows.sort(key=lambda r: (r["object_name"], r["policy_id"], r["record_id"]))
    plan_id = plan_id or new_run_id(as_of)  # plan ids sort like run ids
    return _store(lake, plan_id, rows, by_id, request, as_of)


def select_rows(
    candidates: Sequence[Candidate],
    live: Mapping[str, LiveRecord],
    policies: Mapping[str, Policy],
    as_of: datetime,
    request: Request,
    shared_docs: frozenset[str] | set[str] = frozenset(),
    object_totals: Mapping[str, int] | None = None,
    run_max: int | None = None,
) -> list[dict[str, Any]]:
    """The plan's rows: each candidate decided on its live values, then the caps. Pure, for the property test."""
    rows: list[dict[str, Any]] = []
    for c in candidates:
        policy = policies[c.policy_id]
        record = live.get(c.record_id)
        reason = decide(policy, evidence_kinds(c.evidence), record, as_of, request)
        clock = clock_of(policy, record) if record else None
        target_object, target_id = c.object_name, c.record_id
        if c.object_name == "ContentVersion" and record is not None:
            # Salesforce deletes files by their ContentDocument; a version cannot be deleted alone.
            target_object, target_id = "ContentDocument", record.content_document_id or c.record_id
            if reason is None and target_id in shared_docs:
                reason = "other_versions_outside_plan"
        if reason is None and policy.action == "mask" and c.object_name == "ContentVersion":
            reason = "mask_not_possible_on_files"
        rows.append(
            {
                "object_name": c.object_name,
                "record_id": c.record_id,
                "policy_id": c.policy_id,
                "action": policy.action,
                "evidence": c.evidence,
                "ai_tool": (record.ai_tool if record else None) or c.ai_tool,
                "ai_model": (record.ai_model if record else None) or c.ai_model,
                "target_object": target_object,
                "target_id": target_id,
                "parent_id": record.parent_id if record else None,
                "system_modstamp": _stamp(record.system_modstamp) if record else None,
                "status": "planned" if reason is None else "skipped",
                "reason": reason,
                "label": record.label if record else None,
                "generated_at": _stamp(record.generated_at) if record else None,
                "due_at": _stamp(clock + timedelta(days=policy.days)) if clock else None,
                "human_reviewed": record.human_reviewed if record else None,
            }
        )
    _apply_caps(rows, policies, object_totals or {}, run_max)
    return rows


def _apply_caps(
    rows: list[dict[str, Any]], policies: Mapping[str, Policy], totals: Mapping[str, int], run_max: int | None
) -> None:
    """Mark what is over a cap as deferred: the next run takes it. The run's own cap spans all policies."""
    taken: Counter[str] = Counter()
    run_taken = 0
    for row in sorted(rows, key=lambda r: (r["policy_id"], r["record_id"])):
        if row["status"] != "planned":
            continue
        policy = policies[row["policy_id"]]
        cap = cap_count(policy, totals.get(policy.object, 0), None)
        if (cap is not None and taken[policy.id] >= cap) or (run_max is not None and run_taken >= run_max):
            row["status"], row["reason"] = "deferred", "over_cap"
            continue
        taken[policy.id] += 1
        run_taken += 1


def _store(
    lake: Lake,
    plan_id: str,
    rows: list[dict[str, Any]],
    policies: Mapping[str, Policy],
    request: PlanRequest,
    as_of: datetime,
) -> Plan:
    table = pa.Table.from_pylist(rows, schema=PLAN_SCHEMA)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    data = sink.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    planned = [r for r in rows if r["status"] == "planned"]
    per_policy: dict[str, dict[str, Any]] = {}
    for pid, policy in policies.items():
        count = sum(1 for r in planned if r["policy_id"] == pid)
        if count:
            per_policy[pid] = {
                "object": policy.object,
                "action": policy.action,
                "planned": count,
                "approval_threshold": policy.approval_threshold,
                "regulation": policy.regulation,
            }
    why = [
        f"{pid}: {info['planned']} records, over its approval threshold of {info['approval_threshold']}"
        for pid, info in per_policy.items()
        if info["planned"] > info["approval_threshold"]
    ]
    why += [f"{pid}: hard delete" for pid, info in per_policy.items() if info["action"] == "hard_delete"]
    if request.scope == "all_ai" and planned:
        why.append("scope all_ai: records that are not yet due")
    prefix = plan_prefix(plan_id)
    manifest: dict[str, Any] = {
        "plan_id": plan_id,
        "created_at": datetime.now(UTC).isoformat(),
        # The org's clock when the records were read back: apply re-reads what changed since.
        "as_of": as_of.astimezone(UTC).isoformat(),
        "request": asdict(request),
        "counts": {
            "candidates": len(rows),
            "planned": len(planned),
            "skipped": dict(Counter(r["reason"] for r in rows if r["status"] == "skipped")),
            "deferred": sum(1 for r in rows if r["status"] == "deferred"),
            "by_object": dict(Counter(r["object_name"] for r in planned)),
            "by_policy": dict(Counter(r["policy_id"] for r in planned)),
            "by_tool": dict(Counter(r["ai_tool"] or card.UNKNOWN_TOOL for r in planned)),
            "human_reviewed": sum(1 for r in planned if r.get("human_reviewed")),
        },
        "skip_groups": card.skip_groups(rows),
        "sample": card.sample(planned),
        "page": card.plan_page(plan_id),
        "policies": per_policy,
        "approval": {"required": bool(why) and bool(planned), "why": why},
        "file": {"key": f"{prefix}/{PLAN_FILE}", "sha256": digest, "rows": len(rows), "bytes": len(data)},
    }
    lake.put_bytes(f"{prefix}/{PLAN_FILE}", data)
    # The manifest last: a plan without one is incomplete and never applied.
    lake.put_bytes(f"{prefix}/{MANIFEST_FILE}", json.dumps(manifest, indent=2, sort_keys=True).encode())
    return Plan(plan_id, manifest, rows)


def load_plan(lake: Lake, plan_id: str, expected_sha256: str | None = None) -> Plan:
    """The stored plan, after checking its bytes against the manifest and the hash the caller holds."""
    prefix = plan_prefix(plan_id)
    if not lake.exists(f"{prefix}/{MANIFEST_FILE}"):
        raise PlanTampered(f"plan {plan_id} has no manifest in the lake ({lake.uri(prefix)}): it is incomplete")
    manifest = json.loads(lake.get_bytes(f"{prefix}/{MANIFEST_FILE}"))
    data = lake.get_bytes(f"{prefix}/{PLAN_FILE}")
    digest = hashlib.sha256(data).hexdigest()
    for label, wanted in (("its manifest", manifest["file"]["sha256"]), ("the approved plan", expected_sha256)):
        if wanted is not None and digest != wanted:
            raise PlanTampered(
                f"plan {plan_id} changed after it was made: SHA-256 {digest} but {label} says {wanted}; "
                "nothing was applied. Make a new plan (and have it approved) instead of editing one."
            )
    rows = pq.read_table(io.BytesIO(data)).to_pylist()
    return Plan(plan_id, manifest, rows)
