"""``plan`` and ``needs_approval``: the plan made and hashed in the lake, then the branch to a person or to apply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.branch import BaseBranchOperator

from synthgov_airflow.operators.retention.base import (
    RetentionStep,
    Seen,
    plan_summary,
    run_kind,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from synthgov.warehouse import Warehouse


class RetentionPlanOperator(RetentionStep):
    """``plan``: candidates from the marts, re-checked in Salesforce, into a hashed plan file in the lake.

    Returns the plan summary (``synthgov.retention.run.PlanSummary.to_xcom``), the one XCom every
    later step reads. A dry run, or a plan with nothing in it, skips the rest of the run.
    """

    controls = "retention_plan"
    with_policies = True
    warehouse: Warehouse | None

    def __init__(self, *, run_kind: str | None = None, **kwargs: Any) -> None:
        """``run_kind``: ``ad_hoc`` (the run's params narrow the plan, a reason is required) or ``scheduled``
        (every due record, params ignored) for every run of the DAG; None: by the run's type (manual is ad hoc)."""
        super().__init__(**kwargs)
        if run_kind not in (None, "ad_hoc", "scheduled"):
            raise ValueError(f"{self.task_id}: run_kind must be 'ad_hoc', 'scheduled' or None, got {run_kind!r}")
        self.run_kind = run_kind

    def run_step(self, context: Context) -> Any:
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from synthgov.retention.plan import PlanInputError, PlanRequest, build_plan
        from synthgov.retention.run import PlanSummary
        from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook

        kind = self.run_kind or run_kind(context)
        params = dict(context["params"]) if kind == "ad_hoc" else {"dry_run": False}
        requested_by = getattr(context["dag_run"], "triggering_user_name", None)
        request = PlanRequest.from_params(params, run_kind=kind, requested_by=requested_by)  # type: ignore[arg-type]
        self.warehouse = self.open_warehouse()
        self.lake = self.open_lake()
        policies = self._policies()
        try:
            self.plan = build_plan(
                SynthgovSalesforceHook().get_conn(),
                self.lake,
                self.warehouse,
                policies.retention,
                policies.mapping,
                request,
            )
        except PlanInputError as exc:
            raise AirflowFailException(str(exc)) from None
        summary = self.summary = PlanSummary.of(self.plan, self.lake)
        counts = self.plan.manifest["counts"]
        print(
            f"plan {summary.plan_id}: {summary.planned} records to purge {summary.by_object}; "
            f"skipped {summary.skipped or 'none'}; deferred by caps {summary.deferred}; file {summary.plan_uri}; "
            f"page {summary.page}"
        )
        if not summary.planned:
            raise AirflowSkipException(
                f"nothing to purge: {counts['candidates']} candidates matched the run's filters and none may go "
                f"(skipped: {summary.skipped or 'none'}); nothing was changed"
            )
        if request.dry_run:
            raise AirflowSkipException(
                f"dry run: {summary.planned} records would be purged ({summary.by_object}); nothing was changed. "
                f"The plan is {summary.plan_uri}; trigger again with dry_run off to apply"
            )
        return summary.to_xcom()

    def _reset(self) -> None:
        super()._reset()
        self.warehouse = None

    def record_lineage(self, context: Context) -> None:
        from synthgov.lake import plan_prefix
        from synthgov.lineage import datasets

        warehouse = self.warehouse or self.open_warehouse()
        for table in ("marts.retention_candidates", "marts.provenance_ledger"):
            self._inputs.append(Seen(warehouse.lineage_namespace, warehouse.dataset_name(table)))
        if self.plan is None or self.lake is None:  # failed before a plan was written
            return
        org = self._org_namespace()
        for obj in sorted({str(r["object_name"]) for r in self.plan.rows}):
            self._inputs.append(Seen(org, obj))
        stored = self.plan.manifest["file"]
        self._outputs.append(
            Seen(
                self.lake.namespace,
                self.lake.dataset_name(plan_prefix(self.plan.plan_id)),
                {"lifecycleStateChange": datasets.lifecycle("CREATE")},
                {"outputStatistics": datasets.output_statistics(rows=int(stored["rows"]), size=int(stored["bytes"]))},
            )
        )


class RetentionApprovalBranchOperator(BaseBranchOperator):
    """``needs_approval``: to ``approve_task`` when the plan needs a person, else straight to ``apply_task``."""

    def __init__(
        self, *, plan_task: str = "plan", approve_task: str = "approve", apply_task: str = "apply", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.plan_task, self.approve_task, self.apply_task = plan_task, approve_task, apply_task

    def choose_branch(self, context: Context) -> str:
        summary = plan_summary(context, self.plan_task)
        if summary is None:
            # Unreachable in the DAG (a plan that skipped skips this too); failing beats guessing.
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(f"{self.plan_task} returned no plan summary")
        return self.approve_task if summary.approval_required else self.apply_task


__all__ = ["RetentionApprovalBranchOperator", "RetentionPlanOperator"]
