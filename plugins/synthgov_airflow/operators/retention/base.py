"""What every retention step shares: the task ids it reads from, the policies, and its lineage bookkeeping.

A step reads what it needs (the plan summary from XCom, the plan and journal from the lake) once,
in ``execute``, and keeps what it resolved on ``self``; its lineage methods report from there, as
the Amazon provider's ``S3DeleteObjectsOperator`` keeps its keys, instead of reading the lake again.
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
    from synthgov.policies import Policies
    from synthgov.retention.plan import Plan
    from synthgov.retention.run import PlanSummary
    from synthgov.warehouse import Warehouse

# Runs started by a person carry the trigger form's params; scheduled runs ignore them.
AD_HOC_RUN_TYPES = frozenset({"manual"})


def run_kind(context: Context) -> str:
    dag_run = context["dag_run"]
    run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
    return "ad_hoc" if run_type in AD_HOC_RUN_TYPES else "scheduled"


def load_policies_or_fail() -> Policies:
    """The policy files; a bad file fails the task without retries (a retry cannot fix it)."""
    from airflow.sdk.exceptions import AirflowFailException

    from synthgov.policies import PolicyError, load_policies

    try:
        return load_policies()
    except PolicyError as exc:
        raise AirflowFailException(str(exc)) from None


def plan_summary(context: Context, plan_task: str) -> PlanSummary | None:
    """The plan task's summary (its return value), or None when it wrote no plan."""
    from synthgov.retention.run import PlanSummary

    value = context["ti"].xcom_pull(task_ids=plan_task)
    return PlanSummary.from_xcom(value) if isinstance(value, dict) else None


@dataclass
class Seen:
    """A dataset a step touched, with its facets (and, for outputs, its output facets)."""

    namespace: str
    name: str
    facets: dict[str, DatasetFacet] = field(default_factory=dict)
    output_facets: dict[str, OutputDatasetFacet] = field(default_factory=dict)


class RetentionStep(BaseOperator):
    """One step of a retention run; subclasses run their body and record the datasets it touched."""

    controls: ClassVar[str]  # the job kind in synthgov.lineage.controls.JOB_CONTROLS
    with_policies: ClassVar[bool] = False  # report the retention policies in force as a job facet
    ui_color = "#f9d5d3"

    def __init__(
        self,
        *,
        plan_task: str = "plan",
        warehouse_conn_id: str | None = None,
        aws_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        """``plan_task``: the task whose return value is the plan summary (every step after planning).
        ``warehouse_conn_id`` / ``aws_conn_id``: the warehouse and lake connections (default: the settings';
        the environment when they do not exist)."""
        super().__init__(**kwargs)
        if not plan_task:
            raise ValueError(f"{self.task_id}: plan_task must name the planning task")
        for name, value in (("warehouse_conn_id", warehouse_conn_id), ("aws_conn_id", aws_conn_id)):
            if value is not None and not value:
                raise ValueError(f"{self.task_id}: {name} must name a connection, or be None for the default")
        self.plan_task = plan_task
        self.warehouse_conn_id = warehouse_conn_id
        self.aws_conn_id = aws_conn_id
        self._reset()

    def open_lake(self) -> Lake:
        """The lake, through the AWS connection when it is on S3 and the connection exists."""
        from synthgov_airflow.hooks.lake import open_airflow_lake

        return open_airflow_lake(aws_conn_id=self.aws_conn_id)

    def open_warehouse(self) -> Warehouse:
        """The warehouse the connection names (the environment's without it)."""
        from synthgov_airflow.hooks.warehouse import open_airflow_warehouse

        return open_airflow_warehouse(self.warehouse_conn_id)

    def _reset(self) -> None:
        self._inputs: list[Seen] = []
        self._outputs: list[Seen] = []
        self._run_facets: dict[str, RunFacet] = {}
        self.policies: Policies | None = None
        self.lake: Lake | None = None
        self.summary: PlanSummary | None = None
        self.plan: Plan | None = None

    def execute(self, context: Context) -> Any:
        # A retry may run on the same operator object: start each try afresh.
        self._reset()
        try:
            return self.run_step(context)
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

    def _policies(self) -> Policies:
        if self.policies is None:
            self.policies = load_policies_or_fail()
        return self.policies

    @staticmethod
    def _org_namespace() -> str:
        from synthgov.lineage.datasets import salesforce_namespace
        from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook

        # The connection's URL, read without logging in again.
        return salesforce_namespace(SynthgovSalesforceHook().get_credentials().instance_url)

    def _plan_input(self, lake: Lake, plan_id: str) -> None:
        from synthgov.lake import plan_prefix

        self._inputs.append(Seen(lake.namespace, lake.dataset_name(plan_prefix(plan_id))))

    def _job_facets(self) -> dict[str, RunFacet | JobFacet]:
        from synthgov.lineage import controls, facets, summaries

        job: dict[str, RunFacet | JobFacet] = {}
        extra: list[facets.RegulatoryControl] = []
        if self.with_policies:
            policies = self._policies()
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

        def merged(items: list[Seen]) -> list[Seen]:
            out: dict[tuple[str, str], Seen] = {}
            for seen in items:
                into = out.setdefault((seen.namespace, seen.name), Seen(seen.namespace, seen.name))
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


def dropped(namespace: str, name: str, records: int, what: str) -> Seen:
    """Records a purge removed from a store, as a dataset marked DROP (see synthgov.lineage.datasets).

    The count goes in the description: output statistics count rows written, and none were.
    """
    from openlineage.client.facet_v2 import documentation_dataset

    from synthgov.lineage.datasets import lifecycle

    text = f"{records} {what} removed by retention plan {name.rsplit('/', 1)[-1]}"
    return Seen(
        namespace,
        name,
        {
            "lifecycleStateChange": lifecycle("DROP"),
            "documentation": documentation_dataset.DocumentationDatasetFacet(description=text),
        },
    )
