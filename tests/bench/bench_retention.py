"""Retention purge benchmark: a 100k-record purge by synthgov against per-record REST deletes, in one run.

The sandbox org (empty profile: users only) is given N AI-generated Tasks (AI_Generated__c true,
AI_Tool__c "GenAI Outreach", generated 200 days before the org clock) and the baseline's own Tasks,
through Bulk API 2.0 insert jobs; the org clock is then moved on one day, so the records were made
the day before the purge (as in production, where candidates are months old, apply's re-check of
"changed since the plan" finds none of them). Setup is timed apart and is not measured.

The warehouse is a DuckDB file holding just the two marts the planner reads
(`marts.retention_candidates`, `marts.provenance_ledger`), filled with the N Task ids under policy
ai-task-90d with evidence 'explicit_field': this benchmarks the purge, not dbt. The lake is a
LocalLake in a temporary directory (plans, journal; no raw data, so verification's lake scan is
cheap). The policy's caps (max_records 5,000, max_fraction 0.2) would defer all but 5,000 records,
so the benchmark passes the policies with ai-task-90d's caps at max_records N, max_fraction 1.0; the plan
still says approval is required (over the threshold of 500): the DAG waits for a person there, the
benchmark applies as if approved.

synthgov is measured end to end (plan: candidates, read-back from the org, plan file; apply:
Bulk API 2.0 delete; verify: nothing alive in the org or the lake) with one SalesforceConnection.
API calls are read from the sandbox's counter before and after each step and from the connection's
own count. The baseline deletes records one HTTPS call each (`DELETE .../sobjects/Task/{id}`); by
default on a 10,000-record sample, its calls per 1,000 records and records/s measured on that
sample. Target (issue "Retention purges"): at most 2 API calls per 1,000 records on Bulk 2.0.
Measured once; nothing is asserted on time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import requests

from synthgov.lake import LocalLake
from synthgov.policies import load_policies
from synthgov.retention.apply import apply_plan
from synthgov.retention.plan import PlanRequest, build_plan
from synthgov.retention.rules import Policy
from synthgov.retention.run import verify_purge
from synthgov.salesforce.connection import Credentials, SalesforceConnection
from synthgov.warehouse import DuckDBWarehouse
from synthgov_sandbox.engine.schema import API_VERSION
from synthgov_sandbox.engine.values import parse_datetime
from synthgov_sandbox.process import SandboxProcess
from tests.bench.bulk import http_session, ingest

POLICY_ID = "ai-task-90d"
TOOL = "GenAI Outreach"
MODEL = "gpt-4o"
AGE_DAYS = 200
TARGET_CALLS_PER_1000 = 2.0
PURGE_SUBJECT = "Bench purge"
BASELINE_SUBJECT = "Bench baseline"
INSERT_CHUNK = 50_000  # rows per Bulk API 2.0 insert job in the setup


def org_used(org: SandboxProcess) -> int:
    """The org's API usage counter (the control API itself is not counted)."""
    return int(org.control("GET", "stats")["api_usage"]["used"])


def count_tasks(org: SandboxProcess, subject: str, *, deleted: bool = False) -> int:
    """Tasks whose Subject starts with `subject`: live ones, or with `deleted` those in the Recycle Bin."""
    kind, extra = ("queryAll", " AND IsDeleted = true") if deleted else ("query", "")
    soql = f"SELECT COUNT() FROM Task WHERE Subject LIKE '{subject}%'{extra}"
    return int(org.rest("GET", kind, params={"q": soql})["totalSize"])


# -- setup (not measured) -------------------------------------------------------------------------


def insert_tasks(org: SandboxProcess, http: requests.Session, subject: str, count: int, generated_at: str) -> list[str]:
    """`count` AI-generated Tasks through Bulk API 2.0 insert jobs; their ids, in order."""
    out: list[str] = []
    for start in range(0, count, INSERT_CHUNK):
        rows = [
            {
                "Subject": f"{subject} {i:07d}",
                "Status": "Completed",
                "Priority": "Normal",
                "AI_Generated__c": "true",
                "AI_Tool__c": TOOL,
                "AI_Model__c": MODEL,
                "AI_Generated_At__c": generated_at,
            }
            for i in range(start, min(count, start + INSERT_CHUNK))
        ]
        out.extend(ingest(org, "Task", "insert", rows, http=http, want_ids=True)[1])
    if len(out) != count:
        raise RuntimeError(f"insert Task: asked for {count:,} records, the org made {len(out):,}")
    return out


def build_warehouse(path: Path, ids: Sequence[str], generated_at: datetime, as_of: datetime) -> None:
    """The two marts the planner reads, as dbt would leave them for these Tasks (the columns it reads and more)."""
    n = len(ids)
    gen = generated_at.replace(tzinfo=None)
    now = as_of.replace(tzinfo=None)
    ledger_ids = [f"Task:{i}" for i in ids]
    candidates = pa.table(
        {
            "candidate_id": [f"{POLICY_ID}:Task:{i}" for i in ids],
            "policy_id": [POLICY_ID] * n,
            "object_name": ["Task"] * n,
            "record_id": list(ids),
            "ledger_id": ledger_ids,
            "applies_to": ["ai_generated"] * n,
            "evidence": ["explicit_field"] * n,
            "clock": ["generated_at"] * n,
            "clock_at": pa.array([gen] * n, pa.timestamp("us")),
            "retention_days": [90] * n,
            "due_at": pa.array([gen + timedelta(days=90)] * n, pa.timestamp("us")),
            "action": ["soft_delete"] * n,
            "regulation": ["GDPR Art. 5(1)(e)"] * n,
            "as_of": pa.array([now] * n, pa.timestamp("us")),
        }
    )
    ledger = pa.table(
        {
            "ledger_id": ledger_ids,
            "object_name": ["Task"] * n,
            "record_id": list(ids),
            "provenance_class": ["ai_generated"] * n,
            "evidence": ["explicit_field"] * n,
            "evidence_all": ["explicit_field"] * n,
            "confidence": ["high"] * n,
            "is_heuristic": [False] * n,
            "is_synthetic_persona": [False] * n,
            "ai_tool": [TOOL] * n,
            "ai_model": [MODEL] * n,
            "generated_at": pa.array([gen] * n, pa.timestamp("us")),
            "human_reviewed": [False] * n,
            "legal_hold": [False] * n,
            "as_of": pa.array([now] * n, pa.timestamp("us")),
        }
    )
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA marts")
        con.register("candidates_in", candidates)
        con.register("ledger_in", ledger)
        con.execute("CREATE TABLE marts.retention_candidates AS SELECT * FROM candidates_in")
        con.execute("CREATE TABLE marts.provenance_ledger AS SELECT * FROM ledger_in")
    finally:
        con.close()


def bench_policies(records: int) -> tuple[list[Policy], dict[str, Any]]:
    """The repository's policies, with ai-task-90d's caps opened up to `records` (the file is untouched)."""
    policies = load_policies()
    if not any(p.id == POLICY_ID for p in policies.retention):
        raise RuntimeError(f"include/policies/retention.yml has no policy {POLICY_ID!r}")
    opened = [
        dataclasses.replace(p, max_records=records, max_fraction=1.0) if p.id == POLICY_ID else p
        for p in policies.retention
    ]
    return opened, policies.mapping


# -- measurement --------------------------------------------------------------------------------


Mark = tuple[int, dict[str, int], int, float]


def _mark(org: SandboxProcess, conn: SalesforceConnection) -> Mark:
    """The org's API usage, its calls per endpoint, the client's call count and the time, before a step."""
    stats = org.control("GET", "stats")
    return int(stats["api_usage"]["used"]), dict(stats["calls"]), conn.budget.calls, time.perf_counter()


def _step(org: SandboxProcess, conn: SalesforceConnection, before: Mark) -> dict[str, Any]:
    seconds = time.perf_counter() - before[3]
    stats = org.control("GET", "stats")
    calls = {k: n - before[1].get(k, 0) for k, n in sorted(stats["calls"].items()) if not k.startswith("control")}
    return {
        "seconds": round(seconds, 2),
        "api_calls_org": int(stats["api_usage"]["used"]) - before[0],
        "api_calls_client": conn.budget.calls - before[2],
        "calls_by_endpoint": {k: n for k, n in calls.items() if n},
    }


def measure_synthgov(
    org: SandboxProcess,
    root: Path,
    ids: Sequence[str],
    policies: Sequence[Policy],
    mapping: Mapping[str, Any],
    warehouse_path: Path,
) -> dict[str, Any]:
    creds = Credentials(
        instance_url=org.instance_url,
        client_id=org.ready["client_id"],
        client_secret=org.ready["client_secret"],
        ca_bundle=org.ca_bundle,
    )
    conn = SalesforceConnection(creds)
    lake = LocalLake(root / "lake")
    warehouse = DuckDBWarehouse(warehouse_path)
    start = time.perf_counter()

    mark = _mark(org, conn)
    plan = build_plan(conn, lake, warehouse, policies, mapping, PlanRequest(run_kind="scheduled"))
    plan_step = _step(org, conn, mark)
    print(f"    plan: {json.dumps(plan_step)}; counts {json.dumps(plan.manifest['counts'])}", flush=True)

    mark = _mark(org, conn)
    result = apply_plan(conn, lake, plan.plan_id, plan.sha256, policies, mapping, poll_seconds=0.2)
    apply_step = _step(org, conn, mark)
    print(f"    apply: {json.dumps(apply_step)}; outcomes {json.dumps(result.counts)}", flush=True)

    mark = _mark(org, conn)
    check = verify_purge(conn, lake, plan, result, {})
    verify_step = _step(org, conn, mark)
    print(f"    verify: {json.dumps(verify_step)}; {json.dumps(check.as_dict())}", flush=True)

    seconds = time.perf_counter() - start
    steps = {"plan": plan_step, "apply": apply_step, "verify": verify_step}
    total: dict[str, Any] = {
        "seconds": round(seconds, 2),
        "api_calls_org": sum(s["api_calls_org"] for s in steps.values()),
        "api_calls_client": sum(s["api_calls_client"] for s in steps.values()),
    }
    endpoints: dict[str, int] = {}
    for step in steps.values():
        for name, count in step["calls_by_endpoint"].items():
            endpoints[name] = endpoints.get(name, 0) + count
    total["calls_by_endpoint"] = dict(sorted(endpoints.items()))
    return {
        "records": len(ids),
        "steps": steps,
        "total": total,
        "planned": plan.manifest["counts"]["planned"],
        "plan_counts": plan.manifest["counts"],
        "approval": plan.manifest["approval"],
        "outcomes": result.counts,
        "lock_retries": result.lock_retries,
        "verification": check.as_dict(),
        "records_per_second": round(len(ids) / total["seconds"], 1),
        "logins": conn.logins,
    }


def measure_baseline(org: SandboxProcess, ids: Sequence[str]) -> dict[str, Any]:
    """One `DELETE /sobjects/Task/{id}` per record over one keep-alive HTTPS session."""
    http = http_session(org)
    auth = {"Authorization": f"Bearer {org.token()}"}
    base = f"{org.instance_url}/services/data/v{API_VERSION}/sobjects/Task"
    used = org_used(org)
    failed = 0
    t0 = time.perf_counter()
    for record_id in ids:
        response = http.delete(f"{base}/{record_id}", headers=auth, timeout=60)
        if response.status_code != 204:
            failed += 1
    seconds = time.perf_counter() - t0
    return {
        "records": len(ids),
        "seconds": round(seconds, 2),
        "api_calls_org": org_used(org) - used,
        "failed": failed,
        "records_per_second": round(len(ids) / seconds, 1),
    }


def per_1000(calls: int, records: int) -> float:
    return round(calls * 1000 / max(records, 1), 3)


def run(records: int, baseline_records: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="synthgov-bench-retention-") as tmp:
        root = Path(tmp)
        print("  starting the sandbox org (empty profile: users, no records) ...", flush=True)
        t0 = time.perf_counter()
        with SandboxProcess(root / "org", seed="empty") as org:
            now = parse_datetime(org.control("GET", "stats")["now"])
            generated = now - timedelta(days=AGE_DAYS)
            stamp = generated.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            http = http_session(org)
            print(f"  inserting {records:,} + {baseline_records:,} Tasks (Bulk API 2.0 insert jobs) ...", flush=True)
            purge_ids = insert_tasks(org, http, PURGE_SUBJECT, records, stamp)
            baseline_ids = insert_tasks(org, http, BASELINE_SUBJECT, baseline_records, stamp)
            # The records were made "yesterday": apply's re-check (records changed since the plan) sees none.
            org.control("POST", "clock", {"advance_days": 1})
            as_of = parse_datetime(org.control("GET", "stats")["now"])
            warehouse_path = root / "warehouse.duckdb"
            build_warehouse(warehouse_path, purge_ids, generated, as_of)
            policies, mapping = bench_policies(records)
            before = {
                "purge_live": count_tasks(org, PURGE_SUBJECT),
                "baseline_live": count_tasks(org, BASELINE_SUBJECT),
            }
            setup_seconds = round(time.perf_counter() - t0, 1)
            print(f"  setup done in {setup_seconds} s: {json.dumps(before)}", flush=True)

            print(f"  synthgov: plan, apply, verify over {records:,} records ...", flush=True)
            synthgov = measure_synthgov(org, root, purge_ids, policies, mapping, warehouse_path)
            print(f"  baseline: {baseline_records:,} per-record REST deletes ...", flush=True)
            baseline = measure_baseline(org, baseline_ids)
            after = {
                "purge_live": count_tasks(org, PURGE_SUBJECT),
                "purge_recycle_bin": count_tasks(org, PURGE_SUBJECT, deleted=True),
                "baseline_live": count_tasks(org, BASELINE_SUBJECT),
                "baseline_recycle_bin": count_tasks(org, BASELINE_SUBJECT, deleted=True),
                "sandbox_task_counts": org.control("GET", "stats")["objects"]["Task"],
            }
    return {
        "records": records,
        "baseline_records": baseline_records,
        "setup_seconds": setup_seconds,
        "before": before,
        "after": after,
        "synthgov": synthgov,
        "baseline": baseline,
    }


def report(result: dict[str, Any]) -> bool:
    n, b = result["records"], result["baseline_records"]
    sg, base = result["synthgov"], result["baseline"]
    print(
        f"\nretention purge benchmark: {n:,} AI-generated Tasks, policy {POLICY_ID} (soft delete; caps opened to "
        f"max_records {n:,}, max_fraction 1.0 for the benchmark; the plan says approval "
        f"{'required' if sg['approval']['required'] else 'not required'}, applied as if approved)"
    )
    print(f"setup (not measured): {result['setup_seconds']} s\n")
    head = f"{'step':<40}{'seconds':>9}{'API calls (org)':>17}{'(client)':>10}{'calls / 1,000':>15}{'records/s':>12}"
    print(head)
    print("-" * len(head))
    for name, step in [*sg["steps"].items(), ("synthgov end to end", sg["total"])]:
        label = f"synthgov {name}" if name in sg["steps"] else name
        print(
            f"{label:<40}{step['seconds']:>9.2f}{step['api_calls_org']:>17,}{step['api_calls_client']:>10,}"
            f"{per_1000(step['api_calls_org'], n):>15.3f}{n / max(step['seconds'], 1e-9):>12,.0f}"
        )
    sample = f" (sample of {b:,})" if b < n else ""
    print(
        f"{'baseline REST delete' + sample:<40}{base['seconds']:>9.2f}{base['api_calls_org']:>17,}{'-':>10}"
        f"{per_1000(base['api_calls_org'], b):>15.3f}{base['records_per_second']:>12,.0f}"
    )
    if b < n:
        print(
            f"  the baseline makes one HTTPS call per record, so it ran on {b:,} records; its calls per 1,000 and "
            f"records/s are measured on that sample (at {n:,} records it would take about "
            f"{n / max(base['records_per_second'], 1e-9):,.0f} s and {n:,} calls)"
        )
    print(
        "  API calls (org): the sandbox's counter, as the org charges them; (client): the connection's own count, "
        "which includes its OAuth login (oauth_token below), not charged by the org"
    )
    print("\nAPI calls by endpoint (the sandbox's counter):")
    for name, step in [*sg["steps"].items(), ("total", sg["total"])]:
        print(f"  {name:<7} {json.dumps(step['calls_by_endpoint'])}")
    jobs = int(sg["total"]["calls_by_endpoint"].get("bulk2_query_jobs", 0))
    if jobs:
        headroom = TARGET_CALLS_PER_1000 * n / 1000 - sg["total"]["api_calls_org"]
        print(
            f"  the sandbox completes a Bulk API 2.0 query job as it is created, so each of the {jobs} query jobs "
            "(read-back and verification: the whole object in one job when it is at most 4x the purge, else "
            "4,000 ids a job) cost its minimum: create, one status check, "
            f"results. In a real org each further status check per job adds {jobs * 1000 / n:.2f} calls per "
            f"1,000 records; the target leaves room for {max(0, math.floor(headroom / jobs))} more per job."
        )
    sg_rate = per_1000(sg["total"]["api_calls_org"], n)
    base_rate = per_1000(base["api_calls_org"], b)
    print(
        f"\nAPI calls: baseline / synthgov = {base_rate / max(sg_rate, 1e-9):,.0f}x fewer calls per record; "
        f"throughput: synthgov end to end {sg['records_per_second']:,.0f} records/s vs baseline "
        f"{base['records_per_second']:,.0f} records/s = {sg['records_per_second'] / base['records_per_second']:.1f}x"
    )
    after = result["after"]
    gone = after["purge_live"] == 0 and after["purge_recycle_bin"] == n
    print(
        f"purge: planned {sg['planned']:,} of {n:,}; outcomes {sg['outcomes']}; lock retries {sg['lock_retries']}; "
        f"verification {'ok' if sg['verification']['ok'] else 'FAILED'} {sg['verification']}"
    )
    print(
        f"org after: purge Tasks live {after['purge_live']:,}, in the Recycle Bin {after['purge_recycle_bin']:,}; "
        f"baseline Tasks live {after['baseline_live']:,}, in the Recycle Bin {after['baseline_recycle_bin']:,} "
        f"(baseline failures {base['failed']})"
    )
    met = sg_rate <= TARGET_CALLS_PER_1000
    ok = met and gone and sg["verification"]["ok"] and base["failed"] == 0
    print(
        f"\ntarget: <= {TARGET_CALLS_PER_1000:g} API calls per 1,000 records on Bulk 2.0 (plan + apply + verify): "
        f"{sg_rate:.3f} -> {'PASS' if met else 'FAIL'}"
    )
    print(f"all {n:,} records deleted and verified: {'PASS' if gone and sg['verification']['ok'] else 'FAIL'}")
    return ok


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench retention", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="AI-generated Tasks synthgov purges")
    parser.add_argument(
        "--baseline-records",
        type=int,
        default=10_000,
        help="Tasks the per-record REST baseline deletes (one HTTPS call each; a sample by default)",
    )
    parser.add_argument("--out", type=Path, default=Path(".synthgov/bench/retention.json"))
    args = parser.parse_args(argv)
    if args.records < 1 or args.baseline_records < 1:
        parser.error("--records and --baseline-records must be 1 or more")
    print(f"retention purge benchmark ({args.records:,} records; baseline on {args.baseline_records:,})", flush=True)
    result = run(args.records, args.baseline_records)
    result["passed"] = report(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"written to {args.out}")
    return 0 if result["passed"] else 1
