"""
#### Description

Nightly extraction of the Salesforce org into synthgov's lake and warehouse.

- `plan` reads the object list from the extraction config (`include/config/extraction.yml`, or
  `SYNTHGOV_EXTRACT_CONFIG`) at run time, and fixes one window end (the org's clock) and run id
  for every object.
- `extract` runs once per object (incremental objects from their watermark, snapshot objects
  whole) and writes parquet parts and a manifest per run to the lake.
- `inspect_media` reads the C2PA provenance of the new ContentVersion files.
- `read_training_manifests` reads the training-data manifests in the lake's training zone
  (`training/`, or `SYNTHGOV_TRAINING_LAKE_URL`); `read_training_lake_posture` reads the zone's
  bucket controls with boto3 (not applicable on a local lake). Both write their snapshots under
  the plan's run id.
- `load` appends every run the warehouse lacks to its `raw_salesforce` schema (the findings and
  snapshots to `raw_synthgov`; DuckDB, or PostgreSQL
  with `SYNTHGOV_WAREHOUSE=postgres`; dbt builds on the same one) and updates
  the asset `synthgov_raw_salesforce`.
- `export_policies` validates `include/policies` against the warehouse and hands them to dbt.
- `dbt` (Cosmos, one `dbt build` in `dbt.dbt_producer_watcher`, then one task per model and seed
  reporting its result, the data tests after all) builds staging, provenance, retention and the
  governance findings; `retention_candidates_ready` updates the asset the retention DAG follows.
- `report` writes the regulator evidence pack (`synthgov report`) to `$SYNTHGOV_HOME/report/<time>/`
  (`report/latest` points at the newest) and returns its folder.

Schedule: `SYNTHGOV_NIGHTLY_CRON` (default `0 2 * * *`, UTC). A failed task retries twice, after
`SYNTHGOV_RETRY_DELAY_SECONDS` (default 300). Secrets come from the Airflow
connection `salesforce_default`.

#### Owner

data-platform (synthgov maintainers)

#### Triage

- **`plan` is skipped**: the org's daily API budget was already past synthgov's limit when the run
  started; nothing was read. The next run catches up.
- **An `extract` task is skipped** (`REQUEST_LIMIT_EXCEEDED`, or the run's share of the org's daily
  API budget is spent): nothing to do. The object's watermark did not move, so the next run reads the
  whole window. If it happens every night, raise `SYNTHGOV_API_RUN_SHARE` or move the schedule.
- **`plan` or an `extract` task fails at once with "fix the extraction config"**: the config is not
  valid or does not list the object. Fix `include/config/extraction.yml` (the message gives the file
  and entry) and clear the failed tasks; these failures do not retry, because a retry cannot fix them.
- **`extract` fails with "does not exist" or "has no object"**: a configured field or object is not in
  the org (renamed, or missing permissions). Fix the config or the integration user's access.
- **`extract` fails with "login ... failed" or "cannot reach"**: check the `salesforce_default`
  connection (`instance_url`, `client_id`, `client_secret`, `ca_bundle`) with *Test* in the UI.
- **`read_training_manifests` fails** ("cannot read the training zone"): the zone's bucket or folder
  cannot be listed or read; check `SYNTHGOV_TRAINING_LAKE_URL` and the credentials (s3:ListBucket,
  s3:GetObject). Manifests with problems never fail the task: they are findings
  (`finding_training_data_consent`), and the log lists each problem with file, entry and field.
- **`read_training_lake_posture` reports `error` controls**: synthgov's credentials may not read a
  bucket setting (s3:GetBucketLogging, s3:GetBucketPublicAccessBlock, s3:GetEncryptionConfiguration,
  s3:GetBucketVersioning); the finding says which.
- **`load` fails**: a run whose parts changed after extraction (SHA-256 mismatch) or a column whose
  type changed; the message says which. Nothing of that run was loaded; loading is idempotent by run
  id, so clearing the task after the fix is safe. A lock error means another process holds the
  DuckDB file (warehouse tasks share the one-slot pool `synthgov_warehouse`).
- **`export_policies` fails**: a policy file is invalid or names a field the org lacks; the message
  gives file, entry and problem. Fix `include/policies/*.yml` and clear the task; no model ran.
- **A `dbt` task fails**: a dbt test found bad data (its log names the test and the failing rows) or
  a model failed (its task fails, the models after it are `upstream_failed`, and
  `dbt.dbt_producer_watcher`, the build, fails too; its log has dbt's whole output). Fix and clear the
  failed tasks: a cleared or retried model task runs its one model again. A missing manifest at
  parse time means `make dbt-manifest` was not run where the DAGs are deployed.
- **`report` fails**: the message names the source it could not read (warehouse, lake, policy files,
  dbt manifest) or the folder it could not write. The data is built; clear `report` after the fix, or
  run `synthgov report` by hand.
- A failed run leaves no partial data behind: a run is visible only with its manifest, and the
  warehouse loads whole runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, CronTriggerTimetable, TriggerRule, task

from synthgov import settings
from synthgov_airflow.assets import RAW_SALESFORCE, RETENTION_CANDIDATES
from synthgov_airflow.dbt import governance_task_group, window_end_of
from synthgov_airflow.notifiers import failure_notifiers
from synthgov_airflow.operators.extract import SalesforceExtractOperator
from synthgov_airflow.operators.load import WarehouseLoadOperator
from synthgov_airflow.operators.media import MediaInspectOperator
from synthgov_airflow.operators.training import TrainingLakePostureOperator, TrainingManifestsOperator
from synthgov_airflow.pools import WAREHOUSE_POOL

with DAG(
    dag_id="synthgov_nightly",
    schedule=CronTriggerTimetable(settings.nightly_cron(), timezone="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": timedelta(seconds=settings.retry_delay_seconds()),
    },
    on_failure_callback=failure_notifiers(),
    tags=["synthgov", "salesforce", "governance"],
    doc_md=__doc__,
):

    @task
    def plan() -> list[dict[str, Any]]:
        """One run id and window end for every object (read at run time: parsing reads no files)."""
        from airflow.sdk import get_current_context

        from synthgov_airflow.tasks import plan_run

        return plan_run(get_current_context()["ti"])

    @task
    def export_policies() -> list[str]:
        """Validate include/policies and hand them to dbt (seeds and the field-mapping macro)."""
        from synthgov_airflow import tasks

        return tasks.export_policies()

    @task(outlets=[RETENTION_CANDIDATES])
    def retention_candidates_ready() -> None:
        """Marks the asset the retention DAG is scheduled on."""

    @task(pool=WAREHOUSE_POOL)
    def report() -> str:
        """The regulator evidence pack of the marts just built; returns its folder."""
        from synthgov_airflow import tasks

        return tasks.build_report()

    extract = SalesforceExtractOperator.partial(task_id="extract").expand_kwargs(plan())
    inspect_media = MediaInspectOperator(task_id="inspect_media", trigger_rule=TriggerRule.NONE_FAILED)
    # The training reads write runs of their own, under the night's run id (empty when plan skipped).
    night_run_id = "{{ ti.xcom_pull(task_ids='plan', key='run_id') or '' }}"
    training = [
        TrainingManifestsOperator(
            task_id="read_training_manifests", run_id=night_run_id, trigger_rule=TriggerRule.NONE_FAILED
        ),
        TrainingLakePostureOperator(
            task_id="read_training_lake_posture", run_id=night_run_id, trigger_rule=TriggerRule.NONE_FAILED
        ),
    ]
    load = WarehouseLoadOperator(
        task_id="load",
        media_task_id=inspect_media.task_id,
        findings_task_ids=[t.task_id for t in training],
        trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
        pool=WAREHOUSE_POOL,
        outlets=[RAW_SALESFORCE],
    )
    policies = export_policies()
    extract >> [inspect_media, *training] >> load
    # `plan` fixes the run's window end on the org's clock; dbt judges retention as of it.
    dbt = governance_task_group(as_of=window_end_of("plan"), after=policies)
    load >> policies
    dbt >> retention_candidates_ready() >> report()
