"""The bodies of the retention DAG's tasks, kept here so the DAG file only declares.

Each task opens what it needs (the org through the `salesforce_default` connection, the lake,
the warehouse) and calls `synthgov.retention`; what passes between tasks is small (plan id, hash,
counts) and never a record's content or a secret.
"""

from __future__ import annotations

from typing import Any

# Runs started by a person carry these params (the trigger form); scheduled runs ignore them.
AD_HOC_RUN_TYPES = frozenset({"manual"})


def _policies() -> Any:
    from airflow.sdk.exceptions import AirflowFailException

    from synthgov.policies import PolicyError, load_policies

    try:
        return load_policies()
    except PolicyError as exc:
        raise AirflowFailException(str(exc)) from None


def run_kind(context: Any) -> str:
    dag_run = context["dag_run"]
    run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
    return "ad_hoc" if run_type in AD_HOC_RUN_TYPES else "scheduled"


def plan(context: Any) -> dict[str, Any]:
    """Make the plan; a dry run, or a plan with nothing in it, ends the run here (the rest is skipped)."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from synthgov.lake import open_lake
    from synthgov.retention.plan import PlanInputError, PlanRequest, build_plan
    from synthgov.warehouse import open_warehouse
    from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook

    kind = run_kind(context)
    params = dict(context["params"]) if kind == "ad_hoc" else {"dry_run": False}
    requested_by = getattr(context["dag_run"], "triggering_user_name", None)
    request = PlanRequest.from_params(params, run_kind=kind, requested_by=requested_by)  # type: ignore[arg-type]
    policies = _policies()
    lake = open_lake()
    try:
        result = build_plan(
            SynthgovSalesforceHook().get_conn(),
            lake,
            open_warehouse(),
            policies.retention,
            policies.mapping,
            request,
        )
    except PlanInputError as exc:
        raise AirflowFailException(str(exc)) from None
    counts = result.manifest["counts"]
    summary = {
        "plan_id": result.plan_id,
        "sha256": result.sha256,
        "run_kind": kind,
        "planned": counts["planned"],
        "skipped": counts["skipped"],
        "deferred": counts["deferred"],
        "by_object": counts["by_object"],
        "approval_required": result.manifest["approval"]["required"],
        "approval_why": result.manifest["approval"]["why"],
        "plan_uri": lake.uri(result.manifest["file"]["key"]),
    }
    context["ti"].xcom_push(key="summary", value=summary)
    print(
        f"plan {result.plan_id}: {counts['planned']} records to purge {counts['by_object']}; "
        f"skipped {counts['skipped'] or 'none'}; deferred by caps {counts['deferred']}; file {summary['plan_uri']}"
    )
    if not counts["planned"]:
        raise AirflowSkipException(
            f"nothing to purge: {counts['candidates']} candidates matched the run's filters and none may go "
            f"(skipped: {counts['skipped'] or 'none'}); nothing was changed"
        )
    if request.dry_run:
        raise AirflowSkipException(
            f"dry run: {counts['planned']} records would be purged ({counts['by_object']}); nothing was changed. "
            f"The plan is {summary['plan_uri']}; trigger again with dry_run off to apply"
        )
    return summary


def approval_branch(context: Any, *, approve_task: str, apply_task: str) -> str:
    summary = context["ti"].xcom_pull(task_ids="plan")
    return approve_task if summary["approval_required"] else apply_task


def _approver(context: Any, approve_task: str) -> str | None:
    answer = context["ti"].xcom_pull(task_ids=approve_task)
    if not answer:
        return None
    user = answer.get("responded_by_user") or {}
    return str(user.get("name") or user.get("id") or "") or None


def apply(context: Any, *, approve_task: str) -> dict[str, Any]:
    """Apply the approved plan; the hash from the plan task is the one that must still hold."""
    from airflow.sdk.exceptions import AirflowFailException

    from synthgov.lake import open_lake
    from synthgov.retention.apply import apply_plan
    from synthgov.retention.plan import PlanTampered
    from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook

    summary = context["ti"].xcom_pull(task_ids="plan")
    policies = _policies()
    try:
        result = apply_plan(
            SynthgovSalesforceHook().get_conn(),
            open_lake(),
            summary["plan_id"],
            summary["sha256"],
            policies.retention,
            policies.mapping,
        )
    except PlanTampered as exc:
        raise AirflowFailException(str(exc)) from None
    print(
        f"plan {summary['plan_id']}: {result.counts} in {result.api_calls} API calls, "
        f"{result.lock_retries} lock retries"
    )
    return {
        "plan_id": summary["plan_id"],
        "counts": result.counts,
        "api_calls": result.api_calls,
        "approver": _approver(context, approve_task),
    }


def _reload(summary: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The plan and the apply outcomes (from the journal in the lake: XComs stay small)."""
    from synthgov.lake import open_lake, plan_journal_prefix
    from synthgov.retention.apply import ApplyResult
    from synthgov.retention.plan import load_plan
    from synthgov.retention.salesforce_ops import Journal

    lake = open_lake()
    plan_ = load_plan(lake, summary["plan_id"], summary["sha256"])
    outcomes = Journal(lake, plan_journal_prefix(plan_.plan_id)).get("outcomes") or {}
    return lake, plan_, ApplyResult(plan_.plan_id, plan_.sha256, outcomes, 0)


def purge_stores(context: Any) -> dict[str, Any]:
    from synthgov.retention.run import purge_stores as purge
    from synthgov.warehouse import open_warehouse

    summary = context["ti"].xcom_pull(task_ids="plan")
    lake, plan_, result = _reload(summary)
    # The plan id names the purge in the lake's registry (Airflow run ids hold ':' and '+').
    report = purge(lake, open_warehouse(), plan_, result, run_id=plan_.plan_id)
    print(f"lake and warehouse: {report}")
    return report


def verify(context: Any) -> dict[str, Any]:
    from airflow.sdk.exceptions import AirflowFailException

    from synthgov.retention.run import verify_purge
    from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook

    summary = context["ti"].xcom_pull(task_ids="plan")
    lake, plan_, result = _reload(summary)
    masks = {p["object"]: list(p.get("mask_fields") or []) for p in _policies().retention}
    check = verify_purge(SynthgovSalesforceHook().get_conn(), lake, plan_, result, masks)
    if not check.ok:
        problems = check.salesforce_alive + check.lake_leftovers
        raise AirflowFailException(
            f"verification FAILED for plan {plan_.plan_id}: {len(check.salesforce_alive)} still in Salesforce, "
            f"{len(check.lake_leftovers)} still in the lake, {check.failed_records} records failed to purge. "
            + "; ".join(problems[:20])
        )
    return check.as_dict()


def evidence(context: Any, *, approve_task: str) -> str:
    """Write the ledger entry whenever apply ran, verification failed or not: what was deleted is on record."""
    from airflow.sdk.exceptions import AirflowSkipException

    from synthgov.retention.evidence import EvidenceLedger
    from synthgov.retention.run import evidence_entry, receipt, write_evidence

    ti = context["ti"]
    applied = ti.xcom_pull(task_ids="apply")
    if not applied:
        raise AirflowSkipException("apply did not run: nothing was changed, so there is nothing to evidence")
    summary = ti.xcom_pull(task_ids="plan")
    lake, plan_, result = _reload(summary)
    result.api_calls = int(applied.get("api_calls", 0))
    checked = ti.xcom_pull(task_ids="verify") or {"ok": False, "detail": "the verify task failed or did not run"}
    dag_run = context["dag_run"]
    entry = evidence_entry(
        plan_,
        result,
        approver=applied.get("approver"),
        stores=ti.xcom_pull(task_ids="purge_stores"),
        verification=checked,
        airflow_run={"dag_id": str(dag_run.dag_id), "run_id": str(dag_run.run_id)},
    )
    appended = write_evidence(lake, entry)
    intact = EvidenceLedger(lake).verify().ok
    text = receipt(plan_, result, appended, intact)
    print(text)
    ti.xcom_push(key="ledger_entry", value={"seq": appended.seq, "sha256": appended.sha256, "key": appended.key})
    return text
