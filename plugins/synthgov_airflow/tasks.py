"""The bodies of the nightly DAG's small Python tasks, kept here so the DAG file only declares."""

from __future__ import annotations

from typing import Any


def plan_run(ti: Any) -> list[dict[str, Any]]:
    """One run id and window end for every configured object, and each one's share of the API budget.

    The window end (the org's clock) is also pushed as XCom `window_end`: dbt computes what is due
    as of the org's time. The run id is also pushed as XCom `run_id`, for the tasks that write runs
    of their own (the training-zone reads), so every run of the night carries the same id.
    """
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from synthgov.extract.config import ConfigError, load_config
    from synthgov.lake.runs import new_run_id
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
    ti.xcom_push(key="window_end", value=end.isoformat())
    ti.xcom_push(key="run_id", value=run_id)
    # The run's share of the daily API budget is split across its objects, which run as separate tasks.
    share = settings.api_run_share / len(names)
    return [{"object_name": n, "run_id": run_id, "window_end": end.isoformat(), "run_share": share} for n in names]


def export_policies() -> list[str]:
    """Validate the policy files against the extraction config and the warehouse, then hand them to dbt.

    A bad policy fails here, naming the file, the entry and the problem, before any model runs.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from synthgov.extract.config import load_config
    from synthgov.policies import PolicyError, export_for_dbt, load_policies
    from synthgov_airflow.dbt import DBT_PROJECT
    from synthgov_airflow.hooks.warehouse import open_airflow_warehouse

    objects = [s.name for s in load_config().objects]
    # Read-write on DuckDB (as every warehouse opens): dbt-duckdb keeps its read-write handle open in this
    # process after an in-process build, and DuckDB refuses a second handle to one file with a different mode.
    known = open_airflow_warehouse().raw_columns(objects)
    # Findings tables (the training zone's snapshots) can be there before any Salesforce object is.
    if not known:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("the warehouse has no Salesforce data yet: nothing for dbt to build")
    try:
        policies = load_policies(known_objects=set(objects), known_columns=known)
    except PolicyError as exc:
        raise AirflowFailException(str(exc)) from None
    return [str(p) for p in export_for_dbt(policies, DBT_PROJECT)]


def build_report() -> str:
    """The evidence pack of the warehouse and lake the connections name; prints its summary, returns its folder."""
    from synthgov.report import build_report as build
    from synthgov_airflow.hooks.lake import open_airflow_lake
    from synthgov_airflow.hooks.warehouse import open_airflow_warehouse

    pack = build(warehouse=open_airflow_warehouse(), lake=open_airflow_lake())
    print(pack.summary())
    return str(pack.folder)
