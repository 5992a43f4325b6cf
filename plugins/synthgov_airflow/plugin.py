"""The Airflow plugin of synthgov.

Airflow lists synthgov among its plugins once the package is registered under the ``airflow.plugins``
entry point, the way providers register theirs. It carries one listener: ``DagTestRunStart``, which
gives ``dag.test()`` runs the OpenLineage START event the scheduler would have sent.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from synthgov_airflow.listeners import DagTestRunStart


class SynthgovPlugin(AirflowPlugin):
    name = "synthgov"
    listeners = [DagTestRunStart()]  # noqa: RUF012 - AirflowPlugin declares its hooks as plain class lists
