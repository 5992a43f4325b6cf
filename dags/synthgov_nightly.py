"""
#### Description

Nightly extraction of the Salesforce org into synthgov's lake and warehouse.

- `plan` reads the object list from the extraction config (`include/config/extraction.yml`, or
  `SYNTHGOV_EXTRACT_CONFIG`) at run time, and fixes one window end (the org's clock) and run id
  for every object.
- `extract` runs once per object (incremental objects from their watermark, snapshot objects
  whole) and writes parquet parts and a manifest per run to the lake.
- `inspect_media` reads the C2PA provenance of the new ContentVersion files.
- `load` appends every run the warehouse lacks to DuckDB's `raw_salesforce` schema and updates
  the asset `synthgov_raw_salesforce`.

Schedule: `SYNTHGOV_NIGHTLY_CRON` (default `0 2 * * *`, UTC). Secrets come from the Airflow
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
- **`load` fails**: a run whose parts changed after extraction (SHA-256 mismatch) or a column whose
  type changed; the message says which. Nothing of that run was loaded; loading is idempotent by run
  id, so clearing the task after the fix is safe. A lock error means another process holds the
  DuckDB file (warehouse tasks share the one-slot pool `synthgov_warehouse`).
- A failed run leaves no partial data behind: a run is visible only with its manifest, and the
  warehouse loads whole runs.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, CronTriggerTimetable, TriggerRule, task

from synthgov_airflow.assets import RAW_SALESFORCE
from synthgov_airflow.operators.extract import SalesforceExtractOperator
from synthgov_airflow.operators.load import WAREHOUSE_POOL, WarehouseLoadOperator
from synthgov_airflow.operators.media import MediaInspectOperator

with DAG(
    dag_id="synthgov_nightly",
    schedule=CronTriggerTimetable(os.environ.get("SYNTHGOV_NIGHTLY_CRON") or "0 2 * * *", timezone="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-platform", "retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["synthgov", "salesforce", "governance"],
    doc_md=__doc__,
):

    @task
    def plan() -> list[dict[str, Any]]:
        """The run: one run id and window end for every configured object, and each one's API share.

        Read when the run starts (parsing the DAG reads no files and calls no org).
        """
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from synthgov.extract.config import ConfigError, load_config
        from synthgov.extract.extractor import new_run_id
        from synthgov.salesforce.connection import ApiLimitReached, window_end
        from synthgov.settings import Settings
        from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook

        try:
            names = [spec.name for spec in load_config().objects]
        except ConfigError as exc:
            raise AirflowFailException(f"{exc}; fix the extraction config") from None
        settings = Settings.from_env()
        try:
            end = window_end(SynthgovSalesforceHook().get_conn().org_now(), settings.window_lag_seconds)
        except ApiLimitReached as exc:
            raise AirflowSkipException(f"no extraction tonight: {exc}; the next run catches up") from None
        run_id = new_run_id(end)
        # The run's share of the daily API budget is split across its objects, which run as separate tasks.
        share = settings.api_run_share / len(names)
        return [{"object_name": n, "run_id": run_id, "window_end": end.isoformat(), "run_share": share} for n in names]

    extract = SalesforceExtractOperator.partial(task_id="extract").expand_kwargs(plan())
    inspect_media = MediaInspectOperator(task_id="inspect_media", trigger_rule=TriggerRule.NONE_FAILED)
    load = WarehouseLoadOperator(
        task_id="load",
        media_task_id=inspect_media.task_id,
        trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
        pool=WAREHOUSE_POOL,
        outlets=[RAW_SALESFORCE],
    )
    extract >> inspect_media >> load
