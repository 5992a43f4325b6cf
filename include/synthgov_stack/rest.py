"""Airflow's public REST API (v2) as a person's script would use it: trigger, wait, read tasks, answer approvals.

The stack's tests and benchmarks go through this only, never through Airflow's ORM or CLI, so what they
prove is what an operator or a compliance officer sees. It speaks to any Airflow 3 API server (the stack's,
`make airflow`'s) with the simple auth manager's token.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from synthgov_stack.airflow import ADMIN_PASSWORD, ADMIN_USER, api_token

# A dag run ends in one of these; anything else (queued, running) is still going.
FINISHED_RUN_STATES = frozenset({"success", "failed"})
_PAGE = 100
_POLL_S = 2.0


class AirflowAPIError(RuntimeError):
    """A REST call answered with an error; the message carries the method, path, status and Airflow's detail."""


@dataclass(frozen=True)
class TaskInstance:
    task_id: str
    map_index: int
    state: str | None
    try_number: int
    hostname: str | None
    start_date: str | None
    end_date: str | None

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> TaskInstance:
        return cls(
            task_id=str(row["task_id"]),
            map_index=int(row.get("map_index", -1)),
            state=row.get("state"),
            try_number=int(row.get("try_number") or 0),
            hostname=row.get("hostname") or None,
            start_date=row.get("start_date"),
            end_date=row.get("end_date"),
        )


class AirflowREST:
    """One logged-in user of an Airflow API server at ``url`` (for example ``http://127.0.0.1:8080``)."""

    def __init__(self, url: str, user: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> None:
        self.url = url.rstrip("/")
        self.user = user
        self._password = password
        self._session = requests.Session()
        self._login()

    def _login(self) -> None:
        self._session.headers["Authorization"] = f"Bearer {api_token(self.url, self.user, self._password)}"

    def call(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """``method`` on ``/api/v2{path}``; JSON back (None for an empty answer). Logs in again once on 401."""
        for attempt in range(2):
            response = self._session.request(method, f"{self.url}/api/v2{path}", json=json, params=params, timeout=60)
            if response.status_code == 401 and attempt == 0:
                self._login()  # tokens expire; a long wait for a run must not end in a 401
                continue
            break
        if response.status_code >= 400:
            raise AirflowAPIError(f"{method} {path}: HTTP {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    # -- DAGs and runs ------------------------------------------------------------------------------

    def wait_for_dag(self, dag_id: str, timeout_s: float = 300) -> dict[str, Any]:
        """The DAG once the DAG processor has parsed it (a fresh stack has not yet)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return dict(self.call("GET", f"/dags/{dag_id}"))
            except AirflowAPIError as error:
                if "HTTP 404" not in str(error) or time.monotonic() > deadline:
                    raise
            time.sleep(_POLL_S)

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None, *, run_id: str | None = None) -> str:
        """Start a manual run (as the trigger form does) and return its run id."""
        body: dict[str, Any] = {"logical_date": None, "conf": dict(conf or {})}
        if run_id:
            body["dag_run_id"] = run_id
        return str(self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"])

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}"))

    def wait_for_run(
        self, dag_id: str, run_id: str, timeout_s: float, *, until: frozenset[str] = FINISHED_RUN_STATES
    ) -> str:
        """Poll the run until its state is in ``until``; its state then. Raises TimeoutError naming the tasks."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = str(self.run(dag_id, run_id)["state"])
            if state in until:
                return state
            if time.monotonic() > deadline:
                pending = [f"{t.task_id}[{t.map_index}]={t.state}" for t in self.task_instances(dag_id, run_id)]
                raise TimeoutError(f"{dag_id} {run_id} still {state} after {timeout_s:.0f} s: {pending}")
            time.sleep(_POLL_S)

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        """Every task instance of the run, mapped ones included (paged through)."""
        return [TaskInstance.from_api(row) for row in self._pages(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")]

    def task_tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict[str, Any]]:
        """Every try of one task instance (hostname, state, try number), earliest first."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/tries"
        return list(self.call("GET", path)["task_instances"])

    # -- Human-in-the-loop approvals ----------------------------------------------------------------

    def pending_approvals(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The run's HITL details nobody has answered yet (the Required actions page's rows)."""
        details = self._pages(f"/dags/{dag_id}/dagRuns/{run_id}/hitlDetails", key="hitl_details")
        return [d for d in details if not d.get("response_received")]

    def wait_for_approval(self, dag_id: str, run_id: str, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            pending = self.pending_approvals(dag_id, run_id)
            if pending:
                return pending[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} {run_id}: no approval requested after {timeout_s:.0f} s")
            time.sleep(_POLL_S)

    def respond(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        option: str,
        *,
        map_index: int = -1,
        params_input: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Answer an approval as a person would in the UI: one chosen option and the form's fields."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails"
        body = {"chosen_options": [option], "params_input": dict(params_input or {})}
        return dict(self.call("PATCH", path, json=body))

    # -- paging -------------------------------------------------------------------------------------

    def _pages(self, path: str, key: str | None = None) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = self.call("GET", path, params={"limit": _PAGE, "offset": offset})
            rows = page[key] if key else next(v for k, v in page.items() if isinstance(v, list))
            yield from rows
            offset += len(rows)
            if not rows or offset >= int(page.get("total_entries", offset)):
                return
