"""The Airflow plugin of synthgov.

Airflow lists synthgov among its plugins once the package is registered under the ``airflow.plugins``
entry point, the way providers register theirs. It carries

- one listener: ``DagTestRunStart``, which gives ``dag.test()`` runs the OpenLineage START event the
  scheduler would have sent;
- the Governance page (``synthgov_airflow.governance.app``): a FastAPI app the API server mounts under
  ``/governance``, and a "Governance" entry in the UI's navigation that shows it inside the UI.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from synthgov_airflow.listeners import DagTestRunStart

GOVERNANCE_PREFIX = "/governance"


class SynthgovPlugin(AirflowPlugin):
    name = "synthgov"
    listeners = [DagTestRunStart()]  # noqa: RUF012 - AirflowPlugin declares its hooks as plain class lists
    # url_route set: the UI embeds the page (at /plugin/governance) instead of leaving for it.
    external_views = [  # noqa: RUF012
        {
            "name": "Governance",
            "href": f"{GOVERNANCE_PREFIX}/",
            "destination": "nav",
            "url_route": "governance",
        }
    ]

    @property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]  # built on first use, see below
        """Built when the API server asks: the scheduler, DAG processor and workers load this plugin for
        its listener and never import FastAPI, pyarrow or the page's templates for it."""
        from synthgov_airflow.governance.app import create_app

        return [{"app": create_app(), "url_prefix": GOVERNANCE_PREFIX, "name": "synthgov governance"}]
