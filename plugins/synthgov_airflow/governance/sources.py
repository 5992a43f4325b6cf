"""Where the Governance page reads from, as the tasks do: the Airflow connections, read per request.

The org's address is the ``salesforce_default`` connection's instance URL only (never its secrets);
the pending approvals are Airflow's own human-in-the-loop requests not yet answered.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from synthgov.lake import Lake
from synthgov.warehouse import Warehouse
from synthgov_airflow.hooks.lake import open_airflow_lake
from synthgov_airflow.hooks.warehouse import open_airflow_warehouse


def warehouse() -> Warehouse:
    return open_airflow_warehouse()


def lake() -> Lake:
    return open_airflow_lake()


def org_url() -> str | None:
    """The org's My Domain URL from ``salesforce_default``, None when the connection is missing or incomplete."""
    from airflow.sdk.exceptions import AirflowException

    from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook

    try:
        return SynthgovSalesforceHook().get_credentials().instance_url.rstrip("/")
    except (AirflowException, ValueError, OSError):
        return None


def marquez_url() -> str | None:
    """Marquez's API as the lineage transport is configured (``OPENLINEAGE_URL``), None when it is not."""
    url = os.environ.get("OPENLINEAGE_URL", "").strip().rstrip("/")
    return url or None


def marquez_link(base: str, namespace: str, name: str) -> str:
    """Marquez's lineage graph of one dataset (its ``/api/v1/lineage`` for the dataset's node id)."""
    return f"{base}/api/v1/lineage?nodeId={quote(f'dataset:{namespace}:{name}', safe='')}"


def pending_approvals() -> list[dict[str, Any]]:
    """Human-in-the-loop requests not yet answered, oldest first, with their Required actions page in the UI."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(
                HITLDetail.subject,
                HITLDetail.created_at,
                TaskInstance.dag_id,
                TaskInstance.run_id,
                TaskInstance.task_id,
            )
            .join(TaskInstance, TaskInstance.id == HITLDetail.ti_id)
            .where(HITLDetail.responded_at.is_(None))
            .order_by(HITLDetail.created_at)
            .limit(100)
        ).all()
    return [
        {
            "subject": subject,
            "created_at": created_at.isoformat() if created_at else None,
            "dag_id": dag_id,
            "run_id": run_id,
            "task_id": task_id,
            "href": f"/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}/tasks/{quote(task_id, safe='')}"
            "/required_actions",
        }
        for subject, created_at, dag_id, run_id, task_id in rows
    ]
