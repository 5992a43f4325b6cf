"""Retention purges against the sandbox demo org: plan, apply, purge the stores, verify, evidence.

Each test starts from the same governed org (see tests/retention_world.py) and checks what the
org, the lake and the ledger hold afterwards, against the org's own ground truth.
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq
import pytest

from synthgov.lake import MAPPED_PREFIXES, plan_prefix
from synthgov.retention.apply import ApplyResult, apply_plan
from synthgov.retention.evidence import EvidenceLedger
from synthgov.retention.plan import Plan, PlanInputError, PlanRequest, PlanTampered, build_plan
from synthgov.retention.run import evidence_entry, mask_fields_by_object, purge_stores, verify_purge, write_evidence
from tests.retention_world import World

pytestmark = pytest.mark.integration


def make_plan(world: World, request: PlanRequest | None = None) -> Plan:
    return build_plan(
        world.conn,
        world.lake,
        world.warehouse,
        world.policies.retention,
        world.policies.mapping,
        request or PlanRequest(),
    )


def apply(world: World, plan: Plan, **kwargs: Any) -> ApplyResult:
    kwargs.setdefault("backoff_seconds", 0)
    kwargs.setdefault("poll_seconds", 0)
    return apply_plan(
        world.conn, world.lake, plan.plan_id, plan.sha256, world.policies.retention, world.policies.mapping, **kwargs
    )


def full_run(world: World, plan: Plan, **kwargs: Any) -> tuple[ApplyResult, dict[str, Any]]:
    result = apply(world, plan, **kwargs)
    stores = purge_stores(world.lake, world.warehouse, plan, result, run_id="test-run")
    check = verify_purge(world.conn, world.lake, plan, result, mask_fields_by_object(world.policies.retention))
    assert check.ok, check
    entry = evidence_entry(plan, result, approver=None, stores=stores, verification=check.as_dict())
    write_evidence(world.lake, entry)
    return result, entry


def test_a_scheduled_run_deletes_exactly_the_records_due(world: World) -> None:
    due = world.labelled("retention_due")
    assert due, "the demo org plants records due for deletion"
    before = world.deleted()
    plan = make_plan(world)
    assert not plan.manifest["approval"]["required"], plan.manifest["approval"]
    assert {(r["object_name"], r["record_id"]) for r in plan.planned} == due
    result, entry = full_run(world, plan)
    assert set(result.counts) == {"purged"}
    assert world.deleted() - before == due
    # Nothing of an authentic record went: every deleted record is planted AI content.
    assert EvidenceLedger(world.lake).verify().ok
    assert entry["counts"]["outcome_purged"] == len(due)
    # Plans, journals, the registry and the ledger are all on the lake's map.
    assert [k for k in world.lake.list() if not k.startswith(MAPPED_PREFIXES)] == []


def _most_common_tool(plan: Plan) -> str:
    tools = [r["ai_tool"] for r in plan.planned if r["ai_tool"]]
    return str(max(sorted(set(tools)), key=tools.count))


def test_an_ad_hoc_dry_run_changes_nothing_and_writes_a_plan(world: World) -> None:
    before = world.deleted()
    request = PlanRequest(run_kind="ad_hoc", dry_run=True, reason="TICKET-1: what would go?")
    plan = make_plan(world, request)
    assert plan.manifest["counts"]["planned"] == len(world.labelled("retention_due"))
    assert world.lake.exists(f"{plan_prefix(plan.plan_id)}/plan.parquet")
    assert world.lake.exists(f"{plan_prefix(plan.plan_id)}/manifest.json")
    assert plan.manifest["request"]["dry_run"] is True
    assert world.deleted() == before


def test_an_ad_hoc_run_filtered_by_tool_purges_only_that_tools_content(world: World) -> None:
    tool = _most_common_tool(make_plan(world))
    before = world.deleted()
    request = PlanRequest(run_kind="ad_hoc", reason="INC-7: compromised tool", tools=(tool,), scope="all_ai")
    plan = make_plan(world, request)
    assert plan.planned and all(r["ai_tool"] == tool for r in plan.planned)
    tools_in_ledger = {
        str(rid): str(t) for rid, t in world.warehouse.query("SELECT record_id, ai_tool FROM marts.provenance_ledger")
    }
    result, _ = full_run(world, plan)
    gone = world.deleted() - before
    assert {rid for _, rid in gone} == {r["record_id"] for r in plan.planned}
    assert all(tools_in_ledger[rid] == tool for _, rid in gone)
    # all_ai reaches content of the tool that is not due yet, and still never one on legal hold.
    held = {rid for _, rid in world.labelled("legal_hold")}
    assert not held & {rid for _, rid in gone}
    assert plan.manifest["approval"]["required"], "everything a tool made, due or not, needs a person's approval"
    assert set(result.counts) == {"purged"}


def test_an_incident_purge_takes_human_reviewed_records_of_the_tool_and_a_due_run_spares_them(world: World) -> None:
    scheduled = make_plan(world)
    tool = _most_common_tool(scheduled)
    reviewed = next(
        r for r in scheduled.planned if r["ai_tool"] == tool and r["object_name"] in ("EmailMessage", "Task")
    )
    obj, rid = reviewed["object_name"], reviewed["record_id"]
    world.org.rest("PATCH", f"sobjects/{obj}/{rid}", json={"Human_Reviewed__c": True})
    incident = PlanRequest(run_kind="ad_hoc", reason="INC-8: tool misused", tools=(tool,), scope="all_ai")
    taken = make_plan(world, incident)
    (row,) = [r for r in taken.rows if r["record_id"] == rid]
    assert row["status"] == "planned" and row["human_reviewed"] is True
    # The demo's tool already made reviewed records that a due run spares; the incident takes them all.
    reviewed_planned = sum(1 for r in taken.planned if r["human_reviewed"])
    assert taken.manifest["counts"]["human_reviewed"] == reviewed_planned > 1
    # Its subject, as the org holds it, is what the approver reads in the sample and on the plan's page.
    assert row["label"] == world.org.rest("GET", f"sobjects/{obj}/{rid}")["Subject"]
    due = make_plan(world, PlanRequest(run_kind="ad_hoc", reason="TICKET-3", record_ids=(rid,)))
    (spared,) = due.rows
    assert (spared["status"], spared["reason"]) == ("skipped", "human_reviewed")
    assert [g["reason"] for g in due.manifest["skip_groups"]] == ["human_reviewed"]


def test_apply_refuses_an_altered_plan(world: World) -> None:
    plan = make_plan(world)
    key = f"{plan_prefix(plan.plan_id)}/plan.parquet"
    table = pq.read_table(io.BytesIO(world.lake.get_bytes(key)))
    sink = io.BytesIO()
    pq.write_table(table.slice(1), sink)  # one record fewer: looks harmless, is still a different plan
    world.lake.put_bytes(key, sink.getvalue())
    before = world.deleted()
    with pytest.raises(PlanTampered, match="changed after it was made"):
        apply(world, plan)
    assert world.deleted() == before


def test_records_held_or_edited_after_planning_are_skipped_and_reported(world: World) -> None:
    plan = make_plan(world)
    task = next(r["record_id"] for r in plan.planned if r["object_name"] == "Task")
    email = next(r["record_id"] for r in plan.planned if r["object_name"] == "EmailMessage")
    world.org.control("POST", "clock", {"advance_days": 0.001})
    world.org.rest("PATCH", f"sobjects/Task/{task}", json={"Legal_Hold__c": True})
    world.org.rest("PATCH", f"sobjects/EmailMessage/{email}", json={"Subject": "edited by a rep"})
    before = world.deleted()
    result, entry = full_run(world, plan)
    assert result.outcomes[task]["outcome"] == "skipped" and result.outcomes[task]["code"] == "legal_hold"
    assert result.outcomes[email]["outcome"] == "skipped" and result.outcomes[email]["code"] == "edited_after_plan"
    gone = {rid for _, rid in world.deleted() - before}
    assert task not in gone and email not in gone
    assert len(gone) == len(plan.planned) - 2
    assert entry["counts"]["outcome_skipped"] == 2


def test_a_crash_after_the_bulk_job_is_created_resumes_without_deleting_twice(world: World) -> None:
    plan = make_plan(world)
    created: list[str] = []

    def crash_on_second_job(job_id: str) -> None:
        created.append(job_id)
        if len(created) == 2:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError, match="worker killed"):
        apply(world, plan, bulk_threshold=1, after_job_created=crash_on_second_job)
    before_resume = world.deleted()
    result, entry = full_run(world, plan, bulk_threshold=1)
    assert set(result.counts) == {"purged"}
    assert len(result.outcomes) == len(plan.planned)
    jobs = world.org.rest("GET", "jobs/ingest")["records"]
    processed = sum(int(j["numberRecordsProcessed"]) for j in jobs)
    targets = {r["target_id"] for r in plan.planned}
    # Every target went to exactly one processed job: the crashed job was aborted, never run.
    assert processed == len(targets)
    assert any(j["state"] == "Aborted" for j in jobs)
    assert len({o["id_sha256"] for o in entry["outcomes"]}) == len(entry["outcomes"]) == len(plan.planned)
    assert before_resume <= world.deleted()


@pytest.mark.parametrize("bulk_threshold", [1, 10_000], ids=["bulk", "composite"])
def test_lock_failures_are_retried_until_none_fails(world: World, bulk_threshold: int) -> None:
    plan = make_plan(world)
    world.org.control("POST", "faults", {"kind": "lock_rows", "fraction": 0.03})
    result, _ = full_run(world, plan, bulk_threshold=bulk_threshold)
    assert result.lock_retries > 0, "3% of ~100 records should lock at least once"
    assert result.failed == {}
    assert set(result.counts) == {"purged"}


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (PlanRequest(run_kind="ad_hoc", reason="x", policy_ids=("no-such-policy",)), "unknown policy id"),
        (PlanRequest(run_kind="ad_hoc", reason="x", record_ids=("00Q-not-an-id",)), "not a Salesforce record id"),
        (PlanRequest(run_kind="ad_hoc", reason=None), "needs a reason"),
        (PlanRequest(run_kind="ad_hoc", reason="x", scope="all_ai"), "needs tools or models"),
    ],
    ids=["unknown-policy", "malformed-id", "no-reason", "all-ai-without-tool"],
)
def test_bad_input_is_refused_before_anything_happens(world: World, request_: PlanRequest, message: str) -> None:
    before = world.deleted()
    with pytest.raises(PlanInputError, match=message):
        make_plan(world, request_)
    assert world.deleted() == before


def test_a_filter_that_matches_nothing_is_a_clean_no_op(world: World) -> None:
    plan = make_plan(world, PlanRequest(run_kind="ad_hoc", reason="x", tools=("No Such Tool",)))
    assert plan.manifest["counts"]["candidates"] == 0 and plan.planned == []
    assert not plan.manifest["approval"]["required"]
