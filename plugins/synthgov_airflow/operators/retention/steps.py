"""The steps after approval: ``apply``, ``purge_stores``, ``verify`` and ``evidence``.

What passes between them is small (the plan summary, counts, the approver) and never a record's
content or a secret: each step reads the plan and the apply journal from the lake itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

from synthgov_airflow.operators.retention.base import RetentionStep, Seen, dropped, plan_summary

# The approval step's option that skips the purge, and the field in which the approver says why.
REJECT = "Reject"
REJECTION_REASON = "comment"
# The approver's answer, kept under its own key: a rejection skips downstream by raising, so the
# ApprovalOperator's return value never becomes an XCom when it matters most.
ANSWER_KEY = "answer"


class RetentionApprovalOperator(ApprovalOperator):
    """Airflow's ApprovalOperator that also keeps the answer (option, fields, who, when) for ``evidence``."""

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        if "error" not in event:
            context["ti"].xcom_push(
                key=ANSWER_KEY,
                value={
                    "chosen_options": list(event["chosen_options"]),
                    "params_input": dict(event.get("params_input") or {}),
                    "responded_by_user": event.get("responded_by_user"),
                    "responded_at": str(event.get("responded_at")),
                },
            )
        return super().execute_complete(context, event)


if TYPE_CHECKING:
    from airflow.sdk import Context

    from synthgov.lake import Lake
    from synthgov.retention.apply import ApplyResult
    from synthgov.retention.plan import Plan
    from synthgov.retention.run import Evidenced, PlanSummary


def _required_summary(context: Context, plan_task: str) -> PlanSummary:
    from airflow.sdk.exceptions import AirflowFailException

    summary = plan_summary(context, plan_task)
    if summary is None:
        raise AirflowFailException(f"{plan_task} returned no plan summary: there is no plan to work on")
    return summary


class _AppliedStep(RetentionStep):
    """A step that works on the applied plan: it loads the plan and its journal once, in ``execute``."""

    def _reset(self) -> None:
        super()._reset()
        self.result: ApplyResult | None = None

    def _load_applied(self, context: Context, *, api_calls: int = 0) -> tuple[Lake, Plan, ApplyResult]:
        """The lake, the plan and the apply's outcomes, kept on ``self`` for the lineage as well."""
        from synthgov.retention.apply import load_applied

        self.summary = _required_summary(context, self.plan_task)
        lake = self.lake = self.open_lake()
        plan, result = load_applied(lake, self.summary.plan_id, self.summary.sha256, api_calls=api_calls)
        self.plan, self.result = plan, result
        return lake, plan, result


class RetentionApplyOperator(_AppliedStep):
    """``apply``: the approved plan, applied in Salesforce; refuses a plan whose hash changed.

    ``approve_task``: the ApprovalOperator's task id, whose answer names the approver.
    """

    controls = "retention_apply"
    with_policies = True

    def __init__(self, *, approve_task: str = "approve", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not approve_task:
            raise ValueError(f"{self.task_id}: approve_task must name the approval task")
        self.approve_task = approve_task

    def run_step(self, context: Context) -> Any:
        from airflow.sdk.exceptions import AirflowFailException

        from synthgov.retention.apply import apply_plan
        from synthgov.retention.plan import PlanTampered
        from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook

        summary = self.summary = _required_summary(context, self.plan_task)
        policies = self._policies()
        self.lake = self.open_lake()
        try:
            self.result = apply_plan(
                SynthgovSalesforceHook().get_conn(),
                self.lake,
                summary.plan_id,
                summary.sha256,
                policies.retention,
                policies.mapping,
            )
        except PlanTampered as exc:
            raise AirflowFailException(str(exc)) from None
        print(
            f"plan {summary.plan_id}: {self.result.counts} in {self.result.api_calls} API calls, "
            f"{self.result.lock_retries} lock retries"
        )
        return {
            "plan_id": summary.plan_id,
            "counts": self.result.counts,
            "api_calls": self.result.api_calls,
            "approver": self._approver(context),
        }

    def _approver(self, context: Context) -> str | None:
        answer = context["ti"].xcom_pull(task_ids=self.approve_task)
        if not answer:
            return None
        user = answer.get("responded_by_user") or {}
        return str(user.get("name") or user.get("id") or "") or None

    def record_lineage(self, context: Context) -> None:
        from synthgov.lineage import datasets
        from synthgov.retention.apply import ApplyResult, journalled_outcomes
        from synthgov.retention.run import erased_by_object

        if self.summary is None or self.lake is None:
            return
        self._plan_input(self.lake, self.summary.plan_id)
        result = self.result
        if result is None:
            # Failed half-way: what it changed before the failure is in the journal, and is lineage too.
            outcomes = journalled_outcomes(self.lake, self.summary.plan_id)
            result = ApplyResult(self.summary.plan_id, self.summary.sha256, outcomes, 0)
        org = self._org_namespace()
        for obj in sorted(erased_by_object(result, include_masked=True)):
            self._outputs.append(Seen(org, obj))
        for obj, ids in sorted(erased_by_object(result, include_masked=False).items()):
            name = datasets.purged_set_name(obj, self.summary.plan_id)
            self._outputs.append(dropped(org, name, len(ids), f"{obj} records deleted in Salesforce"))


class RetentionPurgeStoresOperator(_AppliedStep):
    """``purge_stores``: the purged records out of every lake file and version, and out of the warehouse."""

    controls = "retention_purge_stores"
    report: dict[str, Any]

    def run_step(self, context: Context) -> Any:
        from synthgov.retention.run import purge_stores

        lake, plan, result = self._load_applied(context)
        # The plan id names the purge in the lake's registry (Airflow run ids hold ':' and '+').
        self.report = purge_stores(lake, self.open_warehouse(), plan, result, run_id=plan.plan_id)
        print(f"lake and warehouse: {self.report}")
        return self.report

    def _reset(self) -> None:
        super()._reset()
        self.report = {}

    def record_lineage(self, context: Context) -> None:
        from synthgov import lake as lakes
        from synthgov.lineage import datasets
        from synthgov.retention.run import erased_by_object
        from synthgov.warehouse import PURGED_FINDINGS, PURGED_TABLE, table_name

        lake, plan, result = self.lake, self.plan, self.result
        if lake is None or plan is None or result is None:
            return
        self._plan_input(lake, plan.plan_id)
        purged = self.report.get("lake") or {}
        for folder in sorted({key.rsplit("/", 1)[0] for key in purged.get("files_rewritten", [])}):
            self._outputs.append(
                Seen(
                    lake.namespace, lake.dataset_name(folder), {"lifecycleStateChange": datasets.lifecycle("OVERWRITE")}
                )
            )
        for obj, rows in sorted((purged.get("rows_removed") or {}).items()):
            container = lake.dataset_name(lakes.object_prefix(obj).rstrip("/"))
            name = datasets.purged_set_name(container, plan.plan_id)
            self._outputs.append(
                dropped(lake.namespace, name, int(rows), f"rows of {obj} records (and their versions)")
            )
        deleted = erased_by_object(result, include_masked=False)
        if deleted:
            warehouse = self.open_warehouse()
            findings = [table_name(t) for obj in sorted(deleted) for t, _ in PURGED_FINDINGS.get(obj, ())]
            # The tables a purged file's document, versions and links went from, as the purge counted them.
            touched = sorted(self.report.get("warehouse_rows_removed_by_table") or {})
            tables = [*(table_name(obj) for obj in sorted(deleted)), *findings, *touched, PURGED_TABLE]
            for table in dict.fromkeys(tables):
                self._outputs.append(Seen(warehouse.lineage_namespace, warehouse.dataset_name(table)))


class RetentionVerifyOperator(_AppliedStep):
    """``verify``: nothing the run removed is alive in Salesforce, in any lake file or in any S3 version."""

    controls = "retention_verify"

    def run_step(self, context: Context) -> Any:
        from airflow.sdk.exceptions import AirflowFailException

        from synthgov.retention.run import mask_fields_by_object, verify_purge
        from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook

        lake, plan, result = self._load_applied(context)
        masks = mask_fields_by_object(self._policies().retention)
        check = verify_purge(SynthgovSalesforceHook().get_conn(), lake, plan, result, masks, self.open_warehouse())
        if not check.ok:
            problems = check.salesforce_alive + check.lake_leftovers + check.warehouse_leftovers
            raise AirflowFailException(
                f"verification FAILED for plan {plan.plan_id}: {len(check.salesforce_alive)} still in "
                f"Salesforce, {len(check.lake_leftovers)} still in the lake, {len(check.warehouse_leftovers)} "
                f"warehouse tables still hold purged rows, {check.failed_records} records failed "
                "to purge. " + "; ".join(problems[:20])
            )
        return check.as_dict()

    def record_lineage(self, context: Context) -> None:
        from synthgov import lake as lakes
        from synthgov.retention.run import erased_by_object

        lake, result = self.lake, self.result
        if lake is None or result is None:
            return
        org = self._org_namespace()
        for obj in sorted(erased_by_object(result, include_masked=True)):
            self._inputs.append(Seen(org, obj))
            self._inputs.append(Seen(lake.namespace, lake.dataset_name(lakes.object_prefix(obj).rstrip("/"))))


class RetentionEvidenceOperator(_AppliedStep):
    """``evidence``: the run's entry in the hash-chained ledger, and its receipt (also after a failed verify).

    ``apply_task``, ``purge_task`` and ``verify_task`` name the steps whose results go into the entry.
    """

    controls = "retention_evidence"
    ui_color = "#e2d5f9"

    def __init__(
        self,
        *,
        apply_task: str = "apply",
        purge_task: str = "purge_stores",
        verify_task: str = "verify",
        approve_task: str = "approve",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.apply_task, self.purge_task, self.verify_task = apply_task, purge_task, verify_task
        self.approve_task = approve_task

    def _reset(self) -> None:
        super()._reset()
        self.evidenced: Evidenced | None = None

    def run_step(self, context: Context) -> Any:
        """Write the ledger entry whenever apply ran, verification failed or not: what was deleted is on record."""
        from airflow.sdk.exceptions import AirflowSkipException

        from synthgov.retention.run import evidence_entry, record_evidence

        ti = context["ti"]
        applied = ti.xcom_pull(task_ids=self.apply_task)
        dag_run = context["dag_run"]
        airflow_run = {"dag_id": str(dag_run.dag_id), "run_id": str(dag_run.run_id)}
        if not applied:
            answer = ti.xcom_pull(task_ids=self.approve_task, key=ANSWER_KEY)
            if isinstance(answer, dict) and REJECT in (answer.get("chosen_options") or []):
                return self._rejected(context, answer, airflow_run)
            raise AirflowSkipException("apply did not run: nothing was changed, so there is nothing to evidence")
        lake, plan, result = self._load_applied(context, api_calls=int(applied.get("api_calls", 0)))
        checked = ti.xcom_pull(task_ids=self.verify_task) or {
            "ok": False,
            "detail": f"the {self.verify_task} task failed or did not run",
        }
        entry = evidence_entry(
            plan,
            result,
            approver=applied.get("approver"),
            stores=ti.xcom_pull(task_ids=self.purge_task),
            verification=checked,
            airflow_run=airflow_run,
        )
        self.evidenced = record_evidence(lake, plan, result, entry)
        print(self.evidenced.receipt)
        return self.evidenced.receipt

    def _rejected(self, context: Context, answer: dict[str, Any], airflow_run: dict[str, str]) -> str:
        """A rejected plan is evidenced too: who rejected it and why, and that nothing was changed."""
        from synthgov.retention.plan import load_plan
        from synthgov.retention.run import record_rejection, rejection_entry

        self.summary = _required_summary(context, self.plan_task)
        lake = self.lake = self.open_lake()
        plan = self.plan = load_plan(lake, self.summary.plan_id, self.summary.sha256)
        user = answer.get("responded_by_user") or {}
        given = (answer.get("params_input") or {}).get(REJECTION_REASON)
        responded = answer.get("responded_at")
        entry = rejection_entry(
            plan,
            rejected_by=str(user.get("name") or user.get("id") or "") or None,
            comment=str(given) if given is not None else None,
            responded_at=str(responded) if responded is not None else None,
            airflow_run=airflow_run,
        )
        self.evidenced = record_rejection(lake, plan, entry)
        print(self.evidenced.receipt)
        return self.evidenced.receipt

    def record_lineage(self, context: Context) -> None:
        import json

        from synthgov.lineage import datasets, facets, summaries

        lake, plan, evidenced = self.lake, self.plan, self.evidenced
        if lake is None or plan is None or evidenced is None:  # skipped: neither applied nor rejected
            return
        self._plan_input(lake, plan.plan_id)
        key = evidenced.appended.key
        raw = lake.get_bytes(key)
        entry = json.loads(raw)
        if entry.get("kind") == "retention.purge":  # a rejection purged nothing: it has no purge receipt
            self._run_facets[facets.PURGE_RECEIPT_KEY] = summaries.purge_receipt(entry, key=key, uri=lake.uri(key))
        self._outputs.append(
            Seen(
                lake.namespace,
                lake.dataset_name(key),
                {"lifecycleStateChange": datasets.lifecycle("CREATE")},
                {"outputStatistics": datasets.output_statistics(rows=1, size=len(raw), files=1)},
            )
        )


__all__ = [
    "RetentionApplyOperator",
    "RetentionApprovalOperator",
    "RetentionEvidenceOperator",
    "RetentionPurgeStoresOperator",
    "RetentionVerifyOperator",
]
