"""Airflow listeners of synthgov, registered by its plugin."""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)


class DagTestRunStart:
    """Announces the start of DAG runs made by ``dag.test()`` (and ``airflow dags test``).

    The scheduler tells listeners when a run starts; ``dag.test()`` creates its run already running and
    tells them only how it ended. The OpenLineage DAG run would have a COMPLETE or FAIL but no START,
    which the spec (one START and one terminal event per run) and Marquez expect. When such a run ends,
    this hands it to the provider's ``on_dag_run_running`` first, which emits the START with the run's
    real start time. Runs the scheduler started are left alone.
    """

    @hookimpl
    def on_dag_run_success(self, dag_run: Any, msg: str) -> None:
        self._announce(dag_run)

    @hookimpl
    def on_dag_run_failed(self, dag_run: Any, msg: str) -> None:
        self._announce(dag_run)

    @staticmethod
    def _announce(dag_run: Any) -> None:
        try:
            from airflow.utils.types import DagRunTriggeredByType

            if getattr(dag_run, "triggered_by", None) != DagRunTriggeredByType.TEST:
                return
            from airflow.providers.openlineage import conf

            if conf.is_disabled():
                return
            from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

            get_openlineage_listener().on_dag_run_running(dag_run, msg="started by dag.test()")
        except Exception:
            log.warning("OpenLineage: could not announce the start of %s", dag_run, exc_info=True)
