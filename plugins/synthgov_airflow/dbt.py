"""The dbt step of the nightly DAG: a Cosmos DbtTaskGroup over dbt_project/, rendered from its manifest.

Rendering reads `dbt_project/target/manifest.json` (made by `make`, which exports the policies and
runs `dbt parse`), so parsing the DAG runs no dbt. The group runs in Cosmos's ExecutionMode.WATCHER:
one task (`dbt_producer_watcher`) runs ONE `dbt build` of every model and seed in-process (dbtRunner,
dbt's threads), and each model and seed keeps a task of its own that reports that node's result from
the build (its state, its log lines, its retry: a retry or a clear runs that one model again). The
data tests run once after all of them (`TestBehavior.AFTER_ALL`: a relationship test needs both its
models). Every task may write the warehouse, so all share the warehouse pool (one slot on DuckDB: one
writer). dbt's profile comes from the warehouse connection when a task runs
(``synthgov_airflow.dbt_profile``), else from profiles.yml and the environment. After each dbt
command, ``synthgov_airflow.lineage.emit_dbt_model_events`` emits the models' OpenLineage runs, each
with its model's task run as parent.
"""

from __future__ import annotations

from typing import Any

from synthgov import settings
from synthgov_airflow.pools import WAREHOUSE_POOL

# Cosmos's name for the task that runs the build (cosmos.constants.PRODUCER_WATCHER_TASK_ID).
PRODUCER_TASK_ID = "dbt_producer_watcher"

DBT_PROJECT = settings.dbt_project()
MANIFEST = DBT_PROJECT / "target" / "manifest.json"
DBT_LINEAGE_CALLBACK = "synthgov_airflow.lineage.emit_dbt_model_events"


def dbt_env() -> dict[str, str]:
    """What dbt reads: the DuckDB file's absolute path (the project is copied to a temp dir; on PostgreSQL
    the profile reads SYNTHGOV_PG_* itself), and the production flags (data tests only; unit tests are
    CI's: synthgov.settings.DBT_PRODUCTION_FLAGS)."""
    return {settings.DUCKDB_PATH.name: str(settings.duckdb_path()), **settings.DBT_PRODUCTION_FLAGS}


def window_end_of(task_id: str) -> str:
    """The `as_of` template for a DAG whose task `task_id` pushes the run's window end (XCom `window_end`).

    The org's clock, as that task fixed it: retention is due as of the org's time, not the worker's.
    """
    return "{{ ti.xcom_pull(task_ids='" + task_id + "', key='window_end') or '' }}"


def governance_task_group(*, as_of: str, after: Any, group_id: str = "dbt", **kwargs: Any) -> Any:
    """Staging, intermediate and marts (provenance, retention, findings) as one Airflow task group.

    `as_of`: the instant the retention models judge at, usually a template (see `window_end_of`). It
    reaches dbt as SYNTHGOV_AS_OF, not as a var: a var that changes every night would make dbt parse the
    whole project again each night (its partial parsing starts over when the vars change).
    `after`: the task the dbt step follows (the first model tasks need it as a direct upstream, see
    `_start_models_after_the_build`).
    """
    from airflow.sdk import TriggerRule
    from cosmos import (
        DbtTaskGroup,
        ExecutionConfig,
        ExecutionMode,
        InvocationMode,
        LoadMode,
        ProfileConfig,
        ProjectConfig,
        RenderConfig,
        TestBehavior,
    )

    from synthgov_airflow.dbt_profile import WarehouseProfileMapping

    if not MANIFEST.exists():
        raise FileNotFoundError(
            f"{MANIFEST} is missing: run `make dbt-manifest` (exports the policies and runs dbt parse)"
        )
    project_config = ProjectConfig(
        dbt_project_path=DBT_PROJECT,
        manifest_path=MANIFEST,
        project_name="synthgov",
        install_dbt_deps=False,
        # The instant to judge at, as the `as_of` macro reads it (a template: rendered when a task runs).
        env_vars={**dbt_env(), settings.AS_OF.name: as_of},
    )
    # Cosmos wraps the manifest in an ObjectStoragePath, whose first open registers every provider's
    # filesystem (the Amazon one imports boto3): most of the DAG file's parse time. The manifest is a
    # local file; Cosmos reads it only with open() and exists(), which a Path has too.
    project_config.manifest_path = MANIFEST
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=project_config,
        profile_config=ProfileConfig(
            profile_name="synthgov",
            target_name=settings.dbt_target(),
            # Reads the connection when a dbt task runs, not here: parsing stays off the metadata database.
            profile_mapping=WarehouseProfileMapping(
                settings.warehouse_conn_id(), DBT_PROJECT / "profiles.yml", settings.dbt_target()
            ),
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=InvocationMode.DBT_RUNNER,
            # Cosmos's producer never builds twice (a second try only skips), so a retry would only
            # hold the model tasks back by the retry delay: the model tasks retry their own models.
            setup_operator_args={"retries": 0},
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_ALL, emit_datasets=False
        ),
        operator_args={
            "append_env": True,
            "pool": WAREHOUSE_POOL,
            # Each model's OpenLineage run, with this task run as its parent (an import path: parsing
            # the DAG imports nothing for it).
            "callback": DBT_LINEAGE_CALLBACK,
        },
        **kwargs,
    )
    after >> group
    _start_models_after_the_build(group, f"{group_id}.{PRODUCER_TASK_ID}", TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
    return group


def _start_models_after_the_build(group: Any, producer_id: str, trigger_rule: Any) -> None:
    """Put the build upstream of the first model tasks; they start once it ended, failed or not.

    Cosmos leaves the model tasks of a DbtTaskGroup beside the build, to wait for their results
    deferred (in the triggerer). dag.test() runs one task at a time and runs a trigger inline, so a
    model task scheduled before the build would wait for ever; and on DuckDB the build holds the
    warehouse pool's one slot, so no model task could start before it ended anyway. A failed build
    (some model failed) still lets every model task report its own model, and one the build never
    reached (`after` failed) is upstream_failed, not waiting for ever.
    """
    producer = group.children[producer_id]
    for task in group.children.values():
        if task is producer or not hasattr(task, "model_unique_id"):
            continue
        if not task.upstream_task_ids & set(group.children):
            producer >> task
            task.trigger_rule = trigger_rule
