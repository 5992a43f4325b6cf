"""The ground truth of the planted cases, as the org stands now.

Static labels were written by the seed. Labels that depend on the clock or on later edits
(`retention_due`, `legal_hold`, and the training-data labels `training_no_consent` and
`training_provenance_mismatch`) are computed here from the live records, the demo policy and the
demo training manifests, so advancing the clock, putting a record on hold or withdrawing consent
changes the answer. Records that were deleted since drop out.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import timedelta
from typing import Any

from synthgov_sandbox.demo.seed import DEMO_POLICY
from synthgov_sandbox.demo.training import stored_manifests, training_labels
from synthgov_sandbox.engine.ddl import quote
from synthgov_sandbox.engine.schema import catalogue
from synthgov_sandbox.engine.store import Store
from synthgov_sandbox.engine.values import api_datetime, db_datetime, parse_datetime

# Evidence a rule can see; text markers are only a heuristic and a policy must not purge on them.
HEURISTIC_EVIDENCE = ("text_marker",)


def ground_truth(store: Store) -> dict[str, Any]:
    now = store.now()
    rows = store.ground_truth_rows()
    by_record: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for obj, rid, label, evidence in rows:
        by_record[(obj, rid)][label] = evidence
    planted_only = {key: dict(labels) for key, labels in by_record.items()}
    training = training_labels(stored_manifests(store.meta), planted_only, lambda keys: _live_records(store, keys))
    for key, labels in training.items():
        by_record[key].update(labels)
    live = _live_records(store, {k for k in by_record})
    policies = {p["object"]: p for p in DEMO_POLICY["retention"]}
    cases = []
    for (obj, rid), planted in sorted(by_record.items()):
        record = live.get((obj, rid))
        if record is None:
            continue
        labels = dict(planted)
        ai = "ai_generated" in labels and labels["ai_generated"] not in HEURISTIC_EVIDENCE
        if ai and record.get("Legal_Hold__c"):
            labels["legal_hold"] = "field:Legal_Hold__c"
        policy = policies.get(obj)
        if ai and policy and _due(record, policy, now):
            labels["retention_due"] = "policy:" + policy["id"]
        cases.append({"object": obj, "id": rid, "labels": sorted(labels), "evidence": labels})
    return {
        "now": api_datetime(db_datetime(now)),
        "seed": store.meta("seed"),
        "policy": DEMO_POLICY,
        "cases": cases,
        "aggregates": {"lead_score_gap": _score_gap(store)},
    }


def _live_records(store: Store, keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    wanted: dict[str, list[str]] = defaultdict(list)
    for obj, rid in keys:
        wanted[obj].append(rid)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for obj_name, record_ids in wanted.items():
        sobject = catalogue()[obj_name.lower()]
        cols = [f.name for f in sobject.fields if f.type != "base64"]
        deleted = ' AND "IsDeleted" = 0' if sobject.has_is_deleted else ""
        for i in range(0, len(record_ids), 500):
            chunk = record_ids[i : i + 500]
            sql = (
                f"SELECT {', '.join(quote(c) for c in cols)} FROM {quote(sobject.name)} "
                f'WHERE "Id" IN ({", ".join("?" for _ in chunk)}){deleted}'
            )
            for row in store.conn().execute(sql, chunk):
                record = dict(zip(cols, row, strict=True))
                out[(sobject.name, str(record["Id"]))] = record
    return out


def _due(record: dict[str, Any], policy: dict[str, Any], now: Any) -> bool:
    if any(record.get(field) for field in policy["exempt"]):
        return False
    clock = record.get("AI_Generated_At__c") or record.get("CreatedDate")
    if not clock:
        return False
    return bool(parse_datetime(str(clock)) + timedelta(days=policy["days"]) <= now)


def _score_gap(store: Store) -> dict[str, Any]:
    """Mean lead score of leads scored on synthetic inputs against the others (NIST MEASURE 2.11)."""
    synthetic: list[float] = []
    authentic: list[float] = []
    for score, persona, ai in store.conn().execute(
        'SELECT "Lead_Score__c", "Synthetic_Persona__c", "AI_Generated__c" FROM "Lead" '
        'WHERE "IsDeleted" = 0 AND "Lead_Score__c" IS NOT NULL'
    ):
        (synthetic if persona or ai else authentic).append(float(score))
    if not synthetic or not authentic:
        return {"synthetic_n": len(synthetic), "authentic_n": len(authentic)}
    return {
        "model": "LeadScorer v3",
        "synthetic_n": len(synthetic),
        "authentic_n": len(authentic),
        "synthetic_mean": round(statistics.fmean(synthetic), 2),
        "authentic_mean": round(statistics.fmean(authentic), 2),
        "gap": round(statistics.fmean(synthetic) - statistics.fmean(authentic), 2),
    }
