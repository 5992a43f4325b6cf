"""The dbt step of the nightly DAG: a Cosmos DbtTaskGroup over dbt_project/, rendered from its manifest.

Rendering reads `dbt_project/target/manifest.json` (made by `make`, which exports the policies and
runs `dbt parse`), so parsing the DAG runs no dbt. Tasks run dbt in-process (ExecutionMode.LOCAL
with dbtRunner, in this venv); each model and seed is one task, and the data tests run once after all
of them (a per-model build would run relationship tests before the models they point at exist). Every
task writes the warehouse, so all share the warehouse pool (one slot on DuckDB: one writer). dbt's
profile comes from the warehouse connection when a task runs (``synthgov_airflow.dbt_profile``), else
from profiles.yml and the environment. After each
dbt command, ``synthgov_airflow.lineage.emit_dbt_model_events`` emits the models' OpenLineage runs
with the task run as their parent.
"""

from __future__ import annotations

from typing import Any

from synthgov import settings
from synthgov_airflow.pools import WAREHOUSE_POOL

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


def governance_task_group(*, as_of: str, group_id: str = "dbt", **kwargs: Any) -> Any:
    """Staging, intermediate and marts (provenance, retention, findings) as one Airflow task group.

    `as_of`: the dbt var the retention models judge by, usually a template (see `window_end_of`).
    """
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
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT,
            manifest_path=MANIFEST,
            project_name="synthgov",
            install_dbt_deps=False,
            env_vars=dbt_env(),
        ),
        profile_config=ProfileConfig(
            profile_name="synthgov",
            target_name=settings.dbt_target(),
            # Reads the connection when a dbt task runs, not here: parsing stays off the metadata database.
            profile_mapping=WarehouseProfileMapping(
                settings.warehouse_conn_id(), DBT_PROJECT / "profiles.yml", settings.dbt_target()
            ),
        ),
        execution_config=ExecutionConfig(execution_mode=ExecutionMode.LOCAL, invocation_mode=InvocationMode.DBT_RUNNER),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_ALL, emit_datasets=False
        ),
        operator_args={
            "vars": {"as_of": as_of},
            "append_env": True,
            "pool": WAREHOUSE_POOL,
            # Each model's OpenLineage run, with this task run as its parent (an import path: parsing
            # the DAG imports nothing for it).
            "callback": DBT_LINEAGE_CALLBACK,
        },
        **kwargs,
    )
