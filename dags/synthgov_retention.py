"""
#### Description

Purges expired AI-generated and synthetic content from Salesforce, the lake and the warehouse,
under `include/policies/retention.yml`, and proves it in a hash-chained evidence ledger.

Two DAGs with the same tasks:

- **`synthgov_retention_scheduled`** runs after every nightly build (the asset
  `synthgov_retention_candidates`) and takes every record that is due; it has no parameters
  (*Trigger* on it runs the scheduled purge now).
- **`synthgov_retention`** is the ad-hoc purge (*Trigger* in the UI): narrow it by policy, object,
  generating tool or model, or explicit record ids; `dry_run` is on by default. The form requires a
  reason and refuses to start a run without one (Airflow validates a DAG's params when it creates
  any run, scheduled ones included, which is why the scheduled purge is a DAG of its own). For
  incident response (a compromised generation tool), set `scope` to `all_ai` and name the tool:
  everything it made goes, due or not, human-reviewed or not (a legal hold still wins), after
  approval. See the README's incident-response runbook.

Tasks: `plan` (candidates from the marts, each read back from Salesforce: still AI-made, still
expired, not on hold; the plan file and its SHA-256 in the lake; a dry run stops here) →
`needs_approval` → `approve` (a person, for plans over a policy's threshold, every hard delete and
every `all_ai` run) → `apply` (refuses a plan whose hash changed; Bulk API 2.0 or composite; records
changed since planning are skipped) → `purge_stores` (lake files and S3 versions, warehouse rows)
→ `verify` (nothing purged is alive anywhere) → `evidence` (ledger entry and receipt, written even
when verification failed) → `report` (the regulator evidence pack, after any run that applied a plan).
`watcher` fails the run if any task failed.

#### Owner

data-platform with compliance (synthgov maintainers)

#### Triage

- **The trigger form refuses the run**: a field is invalid (no reason, a max of 0); nothing started.
- **`plan` fails with "cannot plan this purge"**: a parameter is wrong (unknown policy id, malformed
  record id, a reason of blanks); the message says which. Trigger again with it fixed.
- **`plan` is skipped**: a dry run, or nothing matched (the message says why). Nothing was changed.
- **`approve` waits**: the plan needs a person. Open *Required actions* in the UI: the card says what
  would go (by object, policy and tool), what is left alone and why, shows a sample of the records
  and links to the whole plan (`/governance/plans/<plan_id>`). Approve, or reject with a reason in
  the form's field: `evidence` writes the rejection (who, why) to the ledger; nothing is changed.
- **`apply` fails with "changed after it was made"**: the plan file in the lake is not the one that was
  planned and approved. Nothing was applied. Find out who changed it; trigger a new run.
- **`apply` fails otherwise**: clearing it is safe. Its Bulk API 2.0 jobs are journalled next to the
  plan, so a retry re-attaches to them and never deletes twice.
- **`verify` fails**: something the run deleted is still alive in Salesforce or in a lake file/version;
  the message lists it. The evidence entry records the failure. Clear `purge_stores` and `verify`.
- **`evidence` fails**: the ledger could not be written or its chain is broken: run
  `synthgov evidence verify` and escalate to compliance before any further purge.
- **`evidence` succeeds after a rejection**: that is the rejection's ledger entry (`retention.rejected`).
- **`report` is skipped**: nothing was applied (dry run, rejected or failed plan), so the nightly's
  pack still stands. **`report` fails** (and so the run): the message names the source it could not read
  or the folder it could not write. The purge and its evidence entry are complete; clear `report`, or
  run `synthgov report`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Asset, Param, TriggerRule, get_current_context, task

from synthgov_airflow.assets import RETENTION_CANDIDATES
from synthgov_airflow.notifiers import failure_notifiers
from synthgov_airflow.operators.retention import (
    REJECTION_REASON,
    RetentionApplyOperator,
    RetentionApprovalBranchOperator,
    RetentionApprovalOperator,
    RetentionEvidenceOperator,
    RetentionPlanOperator,
    RetentionPurgeStoresOperator,
    RetentionVerifyOperator,
)
from synthgov_airflow.pools import WAREHOUSE_POOL

APPROVE = "approve"
APPLY = "apply"

AD_HOC_PARAMS = {
    "dry_run": Param(
        True,
        type="boolean",
        title="Dry run",
        description="Plan only: say what would be purged and change nothing.",
    ),
    # No default and no null: the form will not start a run without it (the scheduled DAG has no params).
    "reason": Param(
        type="string",
        minLength=1,
        title="Reason",
        description="Why this purge: a ticket, an incident, a regulator's request. Goes into the evidence ledger.",
    ),
    "policy_ids": Param(
        [],
        type=["null", "array"],
        items={"type": "string"},
        title="Policy ids",
        description="Only these policies of retention.yml (one per line). Empty: all.",
    ),
    "objects": Param(
        [],
        type=["null", "array"],
        items={"type": "string"},
        title="Objects",
        description="Only these Salesforce objects, e.g. EmailMessage (one per line). Empty: all.",
    ),
    "tools": Param(
        [],
        type=["null", "array"],
        items={"type": "string"},
        title="Generating tools",
        description="Only content made by these tools (as the provenance ledger names them).",
    ),
    "models": Param(
        [],
        type=["null", "array"],
        items={"type": "string"},
        title="Generating models",
        description="Only content made by these models.",
    ),
    "record_ids": Param(
        [],
        type=["null", "array"],
        items={"type": "string"},
        title="Record ids",
        description="Only these 15- or 18-character Salesforce ids (one per line).",
    ),
    "scope": Param(
        "due",
        type="string",
        enum=["due", "all_ai"],
        title="Scope",
        description="due: records past their retention. all_ai: everything the named tools or models made, "
        "due or not, human-reviewed or not; never a record on legal hold (incident response; needs tools or "
        "models, always needs approval).",
    ),
    "max_records": Param(
        None,
        type=["null", "integer"],
        minimum=1,
        title="Max records",
        description="At most this many records in this run (the policies' caps apply as well).",
    ),
}


def retention_dag(dag_id: str, *, schedule: list[Asset] | None, ad_hoc: bool) -> DAG:
    """One purge DAG: plan, approval, apply, stores, verify, evidence, report (the module docstring)."""
    with DAG(
        dag_id=dag_id,
        schedule=schedule,
        catchup=False,
        max_active_runs=1,
        default_args={"owner": "data-platform", "retries": 2, "retry_delay": timedelta(minutes=2)},
        on_failure_callback=failure_notifiers(),
        tags=["synthgov", "salesforce", "retention", "gdpr"],
        doc_md=__doc__,
        params=AD_HOC_PARAMS if ad_hoc else {},
    ) as dag:
        approve = RetentionApprovalOperator(
            task_id=APPROVE,
            subject="Approve retention plan {{ ti.xcom_pull(task_ids='plan')['plan_id'] }}",
            body="{{ ti.xcom_pull(task_ids='plan')['card'] }}",
            params={
                REJECTION_REASON: Param(
                    None,
                    type=["null", "string"],
                    title="Why (when you reject)",
                    description="Your reason goes into the evidence ledger with your name.",
                )
            },
            response_timeout=timedelta(days=3),
        )

        # Steps that read or change data are operators: they report OpenLineage lineage and facets.
        planned = RetentionPlanOperator(task_id="plan", run_kind="ad_hoc" if ad_hoc else "scheduled")
        branch = RetentionApprovalBranchOperator(
            task_id="needs_approval", plan_task=planned.task_id, approve_task=approve.task_id, apply_task=APPLY
        )
        applied = RetentionApplyOperator(
            task_id=APPLY,
            plan_task=planned.task_id,
            approve_task=approve.task_id,
            trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
        )
        stores = RetentionPurgeStoresOperator(task_id="purge_stores", plan_task=planned.task_id, pool=WAREHOUSE_POOL)
        checked = RetentionVerifyOperator(task_id="verify", plan_task=planned.task_id)
        written = RetentionEvidenceOperator(
            task_id="evidence",
            plan_task=planned.task_id,
            approve_task=approve.task_id,
            apply_task=applied.task_id,
            purge_task=stores.task_id,
            verify_task=checked.task_id,
            trigger_rule=TriggerRule.ALL_DONE,
        )

        @task(trigger_rule=TriggerRule.ALL_DONE, pool=WAREHOUSE_POOL)
        def report() -> str:
            """The regulator evidence pack after the purge, whether evidence and verification passed or not."""
            from airflow.sdk.exceptions import AirflowSkipException

            from synthgov_airflow import tasks

            if not get_current_context()["ti"].xcom_pull(task_ids=APPLY):
                raise AirflowSkipException("no plan was applied, so nothing changed: the nightly's pack still stands")
            return tasks.build_report()

        @task(trigger_rule=TriggerRule.ONE_FAILED, retries=0)
        def watcher() -> None:
            """Fails the run when any task failed: `evidence` runs after failures too, and a leaf that
            succeeds or skips would otherwise make a failed purge look like a successful run."""
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException("a task of this run failed; its log says why")

        planned >> branch >> [approve, applied]
        # Not approve >> evidence: a rejection skips approve's direct downstream, and evidence records it.
        approve >> applied
        applied >> stores >> checked >> written >> report()
        [planned, branch, approve, applied, stores, checked, written] >> watcher()
    return dag


ad_hoc_purge = retention_dag("synthgov_retention", schedule=None, ad_hoc=True)
scheduled_purge = retention_dag("synthgov_retention_scheduled", schedule=[RETENTION_CANDIDATES], ad_hoc=False)
