"""The retention DAG's steps as operators: each runs its body in ``synthgov_airflow.retention`` and reports lineage.

What each step reports (dataset names: ``synthgov.lineage.datasets``):

- ``plan``: reads ``marts.retention_candidates`` and ``marts.provenance_ledger`` and the Salesforce
  objects it re-checks; writes the plan folder in the lake. Job facets: the retention policies in
  force and the regulatory controls.
- ``apply``: reads the plan; writes each Salesforce object it purged, plus the purged records as a
  dataset of their own, marked ``LifecycleStateChangeDatasetFacet(DROP)``.
- ``purge_stores``: rewrites lake run folders (``OVERWRITE``), drops the purged records from the lake
  (``DROP``), removes rows from the warehouse's raw tables.
- ``verify``: reads the Salesforce objects and lake folders it checks.
- ``evidence``: writes the ledger entry; run facet: the purge receipt.

Task ids, return values (the XCom contract) and behaviour are the task bodies', unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.facet_v2 import DatasetFacet, JobFacet, OutputDatasetFacet, RunFacet

    from synthgov.lake import Lake
    from synthgov.retention.plan import Plan


@dataclass
class _Seen:
    """A dataset a step touched, with its facets (and, for outputs, its output facets)."""

    namespace: str
    name: str
    facets: dict[str, DatasetFacet] = field(default_factory=dict)
    output_facets: dict[str, OutputDatasetFacet] = field(default_factory=dict)


class _RetentionStep(BaseOperator):
    """One step of a retention run; subclasses run their body and record the datasets it touched."""

    controls: ClassVar[str]  # the job kind in synthgov.lineage.controls.JOB_CONTROLS
    with_policies: ClassVar[bool] = False  # report the retention policies in force as a job facet
    ui_color = "#f9d5d3"

    def __init__(self, *, approve_task: str = "approve", **kwargs: Any) -> None:
        """``approve_task``: the ApprovalOperator's task id, whose answer names the approver (apply, evidence)."""
        super().__init__(**kwargs)
        if not approve_task:
            raise ValueError(f"{self.task_id}: approve_task must name the approval task")
        self.approve_task = approve_task
        self._inputs: list[_Seen] = []
        self._outputs: list[_Seen] = []
        self._run_facets: dict[str, RunFacet] = {}

    def execute(self, context: Context) -> Any:
        # A retry may run on the same operator object: start each try's lineage afresh.
        self._inputs, self._outputs, self._run_facets = [], [], {}
        self._result: Any = None
        try:
            self._result = self.run_step(context)
            return self._result
        finally:
            # Also after a skip or a failure: what the step did so far is lineage too.
            self._record_lineage(context)

    def run_step(self, context: Context) -> Any:
        raise NotImplementedError

    def _record_lineage(self, context: Context) -> None:
        """Collect datasets and facets for the provider; a problem here is logged, never the task's failure."""
        try:
            self.record_lineage(context)
        except Exception:
            self.log.warning("OpenLineage: could not collect this step's lineage", exc_info=True)

    def record_lineage(self, context: Context) -> None:
        raise NotImplementedError

    # -- helpers --------------------------------------------------------------------------------------

    @staticmethod
    def _summary(context: Context) -> dict[str, Any] | None:
        summary = context["ti"].xcom_pull(task_ids="plan", key="summary")
        return summary if isinstance(summary, dict) else None

    @staticmethod
    def _org_namespace() -> str:
        from synthgov.lineage.datasets import salesforce_namespace
        from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook

        # The connection's URL, read without logging in again.
        return salesforce_namespace(SynthgovSalesforceHook().get_credentials().instance_url)

    def _plan_input(self, lake: Lake, plan_id: str) -> None:
        from synthgov.retention.plan import plan_prefix

        self._inputs.append(_Seen(lake.namespace, lake.dataset_name(plan_prefix(plan_id))))

    @staticmethod
    def _reload(summary: dict[str, Any]) -> tuple[Lake, Plan, Any]:
        """The plan and the apply outcomes, read the way the task bodies read them (plan file and journal)."""
        from synthgov_airflow import retention

        return retention._reload(summary)

    def _job_facets(self) -> dict[str, RunFacet | JobFacet]:
        from synthgov.lineage import controls, facets, summaries
        from synthgov.policies import load_policies

        job: dict[str, RunFacet | JobFacet] = {}
        extra: list[facets.RegulatoryControl] = []
        if self.with_policies:
            policies = load_policies()
            job[facets.RETENTION_POLICY_KEY] = summaries.retention_policy_facet(
                policies.retention, policies.directory / "retention.yml"
            )
            extra = controls.retention_policy_controls(policies.retention)
        job[facets.REGULATORY_CONTROLS_KEY] = controls.controls_facet(self.controls, extra)
        return job

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Dataset, RunFacet | JobFacet]:
        """The datasets the step read and wrote (as ``execute`` recorded them) and its facets."""
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import InputDataset, OutputDataset

        def merged(items: list[_Seen]) -> list[_Seen]:
            out: dict[tuple[str, str], _Seen] = {}
            for seen in items:
                into = out.setdefault((seen.namespace, seen.name), _Seen(seen.namespace, seen.name))
                into.facets.update(seen.facets)
                into.output_facets.update(seen.output_facets)
            return list(out.values())

        return OperatorLineage(
            inputs=[InputDataset(namespace=d.namespace, name=d.name, facets=d.facets) for d in merged(self._inputs)],
            outputs=[
                OutputDataset(namespace=d.namespace, name=d.name, facets=d.facets, outputFacets=d.output_facets)
                for d in merged(self._outputs)
            ],
            run_facets=dict(self._run_facets),
            job_facets=self._job_facets(),
        )


class RetentionPlanOperator(_RetentionStep):
    """``plan``: candidates from the marts, re-checked in Salesforce, into a hashed plan file in the lake."""

    controls = "retention_plan"
    with_policies = True

    def run_step(self, context: Context) -> Any:
        from synthgov_airflow import retention

        return retention.plan(context)

    def record_lineage(self, context: Context) -> None:
        from synthgov.lake import open_lake
        from synthgov.lineage import datasets
        from synthgov.retention.plan import load_plan, plan_prefix
        from synthgov.warehouse import open_warehouse

        warehouse = open_warehouse()
        for table in ("marts.retention_candidates", "marts.provenance_ledger"):
            self._inputs.append(_Seen(warehouse.lineage_namespace, warehouse.dataset_name(table)))
        summary = self._summary(context)
        if summary is None:  # failed before a plan was written
            return
        lake = open_lake()
        plan = load_plan(lake, summary["plan_id"], summary["sha256"])
        org = self._org_namespace()
        for obj in sorted({str(r["object_name"]) for r in plan.rows}):
            self._inputs.append(_Seen(org, obj))
        stored = plan.manifest["file"]
        self._outputs.append(
            _Seen(
                lake.namespace,
                lake.dataset_name(plan_prefix(plan.plan_id)),
                {"lifecycleStateChange": datasets.lifecycle("CREATE")},
                {"outputStatistics": datasets.output_statistics(rows=int(stored["rows"]), size=int(stored["bytes"]))},
            )
        )


class RetentionApplyOperator(_RetentionStep):
    """``apply``: the approved plan, applied in Salesforce; refuses a plan whose hash changed."""

    controls = "retention_apply"
    with_policies = True

    def run_step(self, context: Context) -> Any:
        from synthgov_airflow import retention

        return retention.apply(context, approve_task=self.approve_task)

    def record_lineage(self, context: Context) -> None:
        from synthgov.lineage import datasets
        from synthgov.retention.run import erased_by_object

        summary = self._summary(context)
        if summary is None:
            return
        lake, plan, result = self._reload(summary)
        self._plan_input(lake, plan.plan_id)
        org = self._org_namespace()
        changed = erased_by_object(plan, result, include_masked=True)
        deleted = erased_by_object(plan, result, include_masked=False)
        for obj in sorted(changed):
            self._outputs.append(_Seen(org, obj))
        for obj, ids in sorted(deleted.items()):
            name = datasets.purged_set_name(obj, plan.plan_id)
            self._outputs.append(_dropped(org, name, len(ids), f"{obj} records deleted in Salesforce"))


class RetentionPurgeStoresOperator(_RetentionStep):
    """``purge_stores``: the purged records out of every lake file and version, and out of the warehouse."""

    controls = "retention_purge_stores"

    def run_step(self, context: Context) -> Any:
        from synthgov_airflow import retention

        return retention.purge_stores(context)

    def record_lineage(self, context: Context) -> None:
        from synthgov import lake as lakes
        from synthgov.lineage import datasets
        from synthgov.retention.run import erased_by_object
        from synthgov.warehouse import PURGED_TABLE, open_warehouse, table_name

        summary = self._summary(context)
        if summary is None:
            return
        lake, plan, result = self._reload(summary)
        self._plan_input(lake, plan.plan_id)
        purged = (self._result or {}).get("lake") or {}
        for folder in sorted({key.rsplit("/", 1)[0] for key in purged.get("files_rewritten", [])}):
            self._outputs.append(
                _Seen(
                    lake.namespace, lake.dataset_name(folder), {"lifecycleStateChange": datasets.lifecycle("OVERWRITE")}
                )
            )
        for obj, rows in sorted((purged.get("rows_removed") or {}).items()):
            container = lake.dataset_name(lakes.object_prefix(obj).rstrip("/"))
            name = datasets.purged_set_name(container, plan.plan_id)
            self._outputs.append(
                _dropped(lake.namespace, name, int(rows), f"rows of {obj} records (and their versions)")
            )
        deleted = erased_by_object(plan, result, include_masked=False)
        if deleted:
            warehouse = open_warehouse()
            for table in [*(table_name(obj) for obj in sorted(deleted)), PURGED_TABLE]:
                self._outputs.append(_Seen(warehouse.lineage_namespace, warehouse.dataset_name(table)))


class RetentionVerifyOperator(_RetentionStep):
    """``verify``: nothing the run removed is alive in Salesforce, in any lake file or in any S3 version."""

    controls = "retention_verify"

    def run_step(self, context: Context) -> Any:
        from synthgov_airflow import retention

        return retention.verify(context)

    def record_lineage(self, context: Context) -> None:
        from synthgov import lake as lakes
        from synthgov.retention.run import erased_by_object

        summary = self._summary(context)
        if summary is None:
            return
        lake, plan, result = self._reload(summary)
        org = self._org_namespace()
        for obj in sorted(erased_by_object(plan, result, include_masked=True)):
            self._inputs.append(_Seen(org, obj))
            self._inputs.append(_Seen(lake.namespace, lake.dataset_name(lakes.object_prefix(obj).rstrip("/"))))


class RetentionEvidenceOperator(_RetentionStep):
    """``evidence``: the run's entry in the hash-chained ledger, and its receipt (also after a failed verify)."""

    controls = "retention_evidence"
    ui_color = "#e2d5f9"

    def run_step(self, context: Context) -> Any:
        from synthgov_airflow import retention

        return retention.evidence(context, approve_task=self.approve_task)

    def record_lineage(self, context: Context) -> None:
        import json

        from synthgov.lineage import datasets, facets, summaries

        written = context["ti"].xcom_pull(task_ids=self.task_id, key="ledger_entry")
        summary = self._summary(context)
        if not isinstance(written, dict) or summary is None:  # skipped: apply did not run
            return
        lake, plan, _ = self._reload(summary)
        self._plan_input(lake, plan.plan_id)
        raw = lake.get_bytes(str(written["key"]))
        entry = json.loads(raw)
        self._run_facets[facets.PURGE_RECEIPT_KEY] = summaries.purge_receipt(
            entry, key=str(written["key"]), uri=lake.uri(str(written["key"]))
        )
        self._outputs.append(
            _Seen(
                lake.namespace,
                lake.dataset_name(str(written["key"])),
                {"lifecycleStateChange": datasets.lifecycle("CREATE")},
                {"outputStatistics": datasets.output_statistics(rows=1, size=len(raw), files=1)},
            )
        )


def _dropped(namespace: str, name: str, records: int, what: str) -> _Seen:
    """Records a purge removed from a store, as a dataset marked DROP (see synthgov.lineage.datasets).

    The count goes in the description: output statistics count rows written, and none were.
    """
    from openlineage.client.facet_v2 import documentation_dataset

    from synthgov.lineage.datasets import lifecycle

    text = f"{records} {what} removed by retention plan {name.rsplit('/', 1)[-1]}"
    return _Seen(
        namespace,
        name,
        {
            "lifecycleStateChange": lifecycle("DROP"),
            "documentation": documentation_dataset.DocumentationDatasetFacet(description=text),
        },
    )
