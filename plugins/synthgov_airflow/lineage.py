"""OpenLineage in synthgov's Airflow: settings for the provider, the dbt model runs, and dag.test()'s gap.

- ``configure_openlineage_env(home)``: Airflow's OpenLineage provider reads ``[openlineage]`` when it
  is imported, so whatever starts Airflow (``make airflow``, the demo, the tests) calls this first.
  Unless the deployment configured a transport of its own, events go to the file transport
  (``synthgov.lineage.event_log_path``), plus HTTP to ``OPENLINEAGE_URL`` when that is set.
  ``python -m synthgov_airflow.lineage`` prints the same settings as shell ``export`` lines.
- ``emit_dbt_model_events``: a Cosmos callback; see its docstring.
- ``synthgov_airflow.listeners.DagTestRunStart`` (registered by the plugin) fills a gap of ``dag.test()``.

Importing this module does not import Airflow, so it can run before Airflow reads its configuration.

The provider catches every emission error, so a lineage backend that is down never fails a task;
what synthgov emits itself (``emit``) is held to the same rule and to the provider's time limit.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunEvent

log = logging.getLogger(__name__)

TRANSPORT_ENV = "AIRFLOW__OPENLINEAGE__TRANSPORT"
NAMESPACE_ENV = "AIRFLOW__OPENLINEAGE__NAMESPACE"
IN_THREAD_ENV = "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD"
POLICY_ENV = "AIRFLOW__OPENLINEAGE__EMISSION_POLICY"
# Human-in-the-loop operators (Airflow's, and the retention DAG's RetentionApprovalOperator built on its
# ApprovalOperator) defer while they wait and resume under the same try, so the provider would send their
# run a second START: their task events are off. They read and write no data; the approver is on the
# purge receipt (and a rejection in the ledger).
HITL_POLICY = [
    {
        "scope": {
            "operator": r"airflow\.providers\.standard\.operators\.hitl\..*"
            r"|synthgov_airflow\.operators\.retention\.steps\.RetentionApprovalOperator"
        },
        "match_mode": "regex",
        "controls": {"emit_task_events": False},
    }
]
# Any of these means the deployment chose its own transport: synthgov then leaves the transport alone.
_OWN_TRANSPORT_ENVS = (
    TRANSPORT_ENV,
    "AIRFLOW__OPENLINEAGE__CONFIG_PATH",
    "AIRFLOW__OPENLINEAGE__CONFIG_CONN_ID",
    "OPENLINEAGE_CONFIG",
)
_DISABLED_ENVS = ("AIRFLOW__OPENLINEAGE__DISABLED", "OPENLINEAGE_DISABLED")


def openlineage_env(home: Path | None = None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``[openlineage]`` settings synthgov adds to ``environ`` (nothing that is already set there).

    - the transport: the event log under ``home`` (default SYNTHGOV_HOME), and Marquez if OPENLINEAGE_URL;
    - the job namespace: OPENLINEAGE_NAMESPACE, else ``synthgov``;
    - no task events from human-in-the-loop operators (``HITL_POLICY``);
    - emission in a thread of the task process, bounded by ``[openlineage] execution_timeout``: the
      provider's default forks the task process for every event, which in ``dag.test()`` forks the
      whole test or demo process, threads and open database files included.
    """
    from synthgov import lineage

    env = os.environ if environ is None else environ
    if any(env.get(name, "").strip().lower() in ("true", "1", "t") for name in _DISABLED_ENVS):
        return {}
    wanted: dict[str, str] = {
        NAMESPACE_ENV: lineage.job_namespace(env),
        IN_THREAD_ENV: "True",
        POLICY_ENV: json.dumps(HITL_POLICY),
    }
    own = any(env.get(name) for name in _OWN_TRANSPORT_ENVS) or any(
        k.startswith("OPENLINEAGE__TRANSPORT") and v for k, v in env.items()
    )
    if not own:
        wanted[TRANSPORT_ENV] = json.dumps(lineage.transport_from_env(home, env))
    return {k: v for k, v in wanted.items() if not env.get(k)}


def configure_openlineage_env(home: Path | None = None) -> dict[str, str]:
    """Set ``openlineage_env(home)`` in ``os.environ`` before Airflow is imported; returns what it set.

    Creates the event log's folder: the file transport appends but does not create folders, and an
    event it cannot write is only a warning in a task log.
    """
    from synthgov import lineage

    added = openlineage_env(home)
    os.environ.update(added)
    if TRANSPORT_ENV in added:
        lineage.event_log_path(home).parent.mkdir(parents=True, exist_ok=True)
    return added


def main() -> int:
    """Print the settings as ``export`` lines, for shells: ``eval "$(python -m synthgov_airflow.lineage)"``."""
    from synthgov import lineage

    added = openlineage_env()
    if TRANSPORT_ENV in added:
        lineage.event_log_path().parent.mkdir(parents=True, exist_ok=True)
    for name, value in added.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


# -- emitting events of synthgov's own --------------------------------------------------------------


def emit(events: Iterable[RunEvent]) -> None:
    """Send events through the provider's client (same transport, same secret redaction); best effort.

    Never raises, and waits at most ``[openlineage] execution_timeout`` seconds, as the provider's own
    emission does: what has not been sent by then is abandoned, and the task goes on.
    """
    batch = list(events)
    if not batch:
        return
    try:
        from airflow.providers.openlineage import conf

        if conf.is_disabled():
            return
        from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

        adapter = get_openlineage_listener().adapter
        timeout = conf.execution_timeout()
    except Exception:
        log.warning("OpenLineage is not available; %d events not emitted", len(batch), exc_info=True)
        return

    def send() -> None:
        for event in batch:
            adapter.emit(event)  # logs and swallows every transport error

    thread = threading.Thread(target=send, name="synthgov-openlineage", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        log.warning("OpenLineage: %d events not all sent within %s s; the task goes on", len(batch), timeout)


def wait_for_openlineage() -> None:
    """Let the provider's DAG-level events (sent from a process pool) reach the transport.

    The scheduler does this when it stops; a process that ran ``dag.test()`` and then reads the event
    log (the demo's report, the tests) calls it first.
    """
    try:
        from airflow.providers.openlineage import conf

        if conf.is_disabled():
            return
        from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

        get_openlineage_listener().before_stopping(None)
    except Exception:
        log.warning("OpenLineage: could not wait for pending DAG events", exc_info=True)


# -- dbt models: their own runs, with the Airflow task as parent ---------------------------------------


def emit_dbt_model_events(project_dir: str, context: Any = None, **_: Any) -> None:
    """Cosmos ``callback``: emit the dbt command's model and test runs, each with this task run as parent.

    Cosmos (ExecutionMode.LOCAL) turns dbt's artifacts into OpenLineage events with
    openlineage-integration-common but never emits them: it folds their datasets and facets into the
    Airflow task's own COMPLETE event, whose parent is the DAG run. So no dbt model run exists in the
    lineage, and the dbt job facets ride on the Airflow job. Here the same processor runs on the same
    artifacts, with ``ParentRunFacet`` = this task run (root = the DAG run), as ``dbt-ol`` does under
    Airflow; the model runs carry the datasets, and Cosmos's copy is dropped so the task's events
    describe the task. The provenance ledger's output gets the provenance summary facet, and the
    governance summary's job the regulatory controls its findings cite.

    Runs after every dbt command of a Cosmos local task, failed ones included (Cosmos calls back
    before it raises), and never raises itself.
    """
    if context is None:
        return
    try:
        events = _dbt_model_events(Path(project_dir), context)
    except Exception:
        log.warning("OpenLineage: could not read the dbt run's artifacts; no model events", exc_info=True)
        return
    emit(events)
    task = context["task"]
    if hasattr(task, "openlineage_events_completes"):
        task.openlineage_events_completes = []


def _dbt_model_events(project_dir: Path, context: Any) -> list[RunEvent]:
    from airflow.providers.openlineage import conf

    if conf.is_disabled():
        return []
    from airflow.providers.openlineage.plugins.macros import (
        lineage_job_name,
        lineage_root_job_name,
        lineage_root_job_namespace,
        lineage_root_run_id,
        lineage_run_id,
    )
    from cosmos.constants import OPENLINEAGE_PRODUCER
    from openlineage.common.provider.dbt.facets import ParentRunMetadata
    from openlineage.common.provider.dbt.local import DbtLocalArtifactProcessor

    ti, task = context["ti"], context["task"]
    processor = DbtLocalArtifactProcessor(
        producer=OPENLINEAGE_PRODUCER,
        job_namespace=conf.namespace(),
        project_dir=str(project_dir),
        profile_name=task.profile_config.profile_name,
        target=task.profile_config.target_name,
    )
    processor.should_raise_on_unsupported_command = False
    processor.dbt_run_metadata = ParentRunMetadata(
        run_id=lineage_run_id(ti),
        job_name=lineage_job_name(ti),
        job_namespace=conf.namespace(),
        root_parent_run_id=lineage_root_run_id(ti),
        root_parent_job_name=lineage_root_job_name(ti),
        root_parent_job_namespace=lineage_root_job_namespace(ti),
    )
    parsed = processor.parse()
    events = [*parsed.starts, *parsed.completes, *parsed.fails]
    if hasattr(task, "tests_per_model"):  # Cosmos's watcher producer: the build of every model
        _parent_to_model_tasks(events, context)
    _add_governance_facets([*parsed.completes, *parsed.fails])
    return events


def _parent_to_model_tasks(events: list[RunEvent], context: Any) -> None:
    """Give each model run of the one `dbt build` its model's task run as parent, and its usual name.

    The model's task (same DAG run, same try as the build: Cosmos's producer builds only on its first
    try, and a model task that runs again runs its model itself and emits it then) reports what the
    build did, so it is the Airflow run the model run belongs to. dbt-ol names a model run of a build
    `<model>.build.run`; a model keeps the job name it had when each task ran `dbt run`.
    """
    from airflow.providers.openlineage import conf
    from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter
    from openlineage.client.facet_v2 import parent_run

    ti, producer, dag_run = context["ti"], context["task"], context["dag_run"]
    model_tasks = {
        task.model_unique_id: task.task_id
        for task in producer.dag.tasks
        if getattr(task, "model_unique_id", None) and getattr(task, "producer_task_id", None) == producer.task_id
    }
    # As the provider's `lineage_run_id` macro dates a task run: by the logical date, else run_after.
    logical_date = dag_run.logical_date or dag_run.run_after
    for event in events:
        node = (event.job.facets or {}).get("dbt_node")
        task_id = model_tasks.get(getattr(node, "unique_id", None))
        if task_id is None:
            continue
        event.job.name = event.job.name.removesuffix(".build.run")
        facets = event.run.facets if event.run.facets is not None else {}
        own: Any = facets["parent"]  # the processor's: this task run, root = the DAG run
        event.run.facets = facets
        facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(
                runId=OpenLineageAdapter.build_task_instance_run_id(
                    dag_id=ti.dag_id,
                    task_id=task_id,
                    try_number=ti.try_number,
                    logical_date=logical_date,
                    map_index=ti.map_index,
                )
            ),
            job=parent_run.Job(namespace=conf.namespace(), name=f"{ti.dag_id}.{task_id}"),
            root=own.root,
        )


def _add_governance_facets(events: list[RunEvent]) -> None:
    """The provenance summary on the provenance ledger's output, the controls on the governance summary's job."""
    import attr

    from synthgov.lineage import controls, facets, summaries
    from synthgov_airflow.hooks.warehouse import open_airflow_warehouse

    for event in events:
        for i, output in enumerate(event.outputs or []):
            if output.name.endswith("." + summaries.PROVENANCE_LEDGER):
                summary = summaries.provenance_summary(open_airflow_warehouse())
                if summary is not None and event.outputs is not None:
                    # A copy: the START event holds the same dataset object, and the summary is an outcome.
                    event.outputs[i] = attr.evolve(
                        output, facets={**(output.facets or {}), facets.PROVENANCE_SUMMARY_KEY: summary}
                    )
            if output.name.endswith("." + summaries.GOVERNANCE_SUMMARY):
                found = controls.governance_controls(summaries.governance_regulations(open_airflow_warehouse()))
                if found:
                    facet = facets.RegulatoryControlsJobFacet(controls=found)
                    event.job.facets = {**(event.job.facets or {}), facets.REGULATORY_CONTROLS_KEY: facet}


if __name__ == "__main__":
    sys.exit(main())
