"""The retention DAGs with dag.test(): an ad-hoc purge end to end, the scheduled purge without params,
the trigger form's required reason, and a plan that waits for a person who approves or rejects it.

The approval is given the way the UI gives it: the task parks in AWAITING_INPUT; the test records a
response on its Human-in-the-loop row and resumes it, as Airflow's HITL API does, from another thread
while dag.test() keeps the run alive.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import DagRunState

from synthgov.retention.evidence import EvidenceLedger
from synthgov_sandbox.process import SandboxProcess
from tests.retention_world import World

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(
    world: World, salesforce_default: SandboxProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_db: None
) -> World:
    """The shared world as the DAG's tasks find it: its lake and warehouse are the environment's."""
    monkeypatch.setenv("SYNTHGOV_LAKE_URL", str(tmp_path / "lake"))
    monkeypatch.setenv("SYNTHGOV_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("SYNTHGOV_WAREHOUSE", "duckdb")
    return world


def _parse(dag_id: str = "synthgov_retention") -> Any:
    # A fresh parse per test: dag.test() merges a run's conf into the DAG object's params.
    bag = DagBag(dag_folder=REPO / "dags" / "synthgov_retention.py")
    assert not bag.import_errors
    return bag.dags[dag_id]


@pytest.fixture
def dag() -> Any:
    return _parse()


def _states(run: Any) -> dict[str, str]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: str(ti.state) for ti in run.get_task_instances(session=session)}


def test_an_ad_hoc_purge_under_the_threshold_runs_through_and_leaves_a_receipt(world: World, dag: Any) -> None:
    tasks = {rid for obj, rid in world.labelled("retention_due") if obj == "Task"}
    before = world.deleted()
    run = dag.test(
        run_conf={"dry_run": False, "reason": "TICKET-42: purge old AI tasks", "policy_ids": ["ai-task-90d"]}
    )
    assert run.state == DagRunState.SUCCESS, _states(run)
    states = _states(run)
    assert states["approve"] == "skipped" and states["evidence"] == "success"
    assert {rid for _, rid in world.deleted() - before} == tasks
    ledger = EvidenceLedger(world.lake)
    assert ledger.verify().ok
    (entry,) = ledger.entries()
    assert entry["reason"] == "TICKET-42: purge old AI tasks" and entry["run_kind"] == "ad_hoc"
    assert entry["approver"] is None and entry["counts"]["outcome_purged"] == len(tasks)


def test_an_ad_hoc_dry_run_through_the_dag_changes_nothing(world: World, dag: Any) -> None:
    before = world.deleted()
    run = dag.test(run_conf={"reason": "what would go?"})  # dry_run defaults to true
    assert run.state == DagRunState.SUCCESS
    states = _states(run)
    assert states["plan"] == "skipped" and states["apply"] == "skipped"
    assert world.deleted() == before
    assert world.lake.list("retention/plans/"), "the dry run's plan is kept"
    assert EvidenceLedger(world.lake).entries() == []


@pytest.mark.parametrize("conf", [{"dry_run": False}, {"dry_run": False, "reason": ""}])
def test_the_form_refuses_an_ad_hoc_purge_without_a_reason_before_a_run_starts(
    world: World, dag: Any, conf: dict[str, Any]
) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.sdk.exceptions import ParamValidationError
    from airflow.utils.session import create_session

    def runs() -> int:
        with create_session() as session:
            return int(session.query(DagRun).filter(DagRun.dag_id == "synthgov_retention").count())

    before, runs_before = world.deleted(), runs()
    with pytest.raises(ParamValidationError, match="reason"):
        dag.test(run_conf=conf)
    assert runs() == runs_before, "no run was created"
    assert world.deleted() == before
    # The form marks it required: Airflow's UI requires a field whose type does not admit null.
    schema = dag.params.get_param("reason").schema
    assert (schema["type"], schema["minLength"]) == ("string", 1)


def test_a_reason_of_blanks_passes_the_form_and_the_plan_refuses_it(world: World, dag: Any) -> None:
    before = world.deleted()
    run = dag.test(run_conf={"dry_run": False, "reason": "   "})
    assert run.state == DagRunState.FAILED
    assert _states(run)["plan"] == "failed"
    assert world.deleted() == before


def test_scheduled_runs_need_no_reason(world: World) -> None:
    """Airflow validates a DAG's params whenever it creates a run, asset-triggered ones included: the
    scheduled purge has none to fail, and its runs take every due record."""
    from airflow.serialization.serialized_objects import DagSerialization

    scheduled = _parse("synthgov_retention_scheduled")
    assert [a.name for a in scheduled.timetable.asset_condition.objects] == ["synthgov_retention_candidates"]
    # What the scheduler's create_dagrun checks for an asset-triggered run (no conf), for both DAGs.
    as_scheduler = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(scheduled))
    assert as_scheduler.params.deep_merge(None).validate() == {}
    ad_hoc = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(_parse()))
    with pytest.raises(Exception, match="reason"):
        ad_hoc.params.deep_merge(None).validate()
    due = {rid for _, rid in world.labelled("retention_due")}
    before = world.deleted()
    run = scheduled.test()
    assert run.state == DagRunState.SUCCESS, _states(run)
    assert {rid for _, rid in world.deleted() - before} == due
    (entry,) = EvidenceLedger(world.lake).entries()
    assert entry["run_kind"] == "scheduled" and entry["reason"] is None


class _Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_failed_run_is_reported_to_the_alert_connection(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Webhook.received.clear()
    try:
        monkeypatch.setenv("SYNTHGOV_ALERT_CONN_ID", "synthgov_alerts")
        monkeypatch.setenv(
            "AIRFLOW_CONN_SYNTHGOV_ALERTS",
            json.dumps(
                {
                    "conn_type": "http",
                    "host": "127.0.0.1",
                    "port": server.server_address[1],
                    "schema": "http",
                    "password": "alert-token-not-for-the-message",
                    "extra": {"endpoint": "hooks/synthgov"},
                }
            ),
        )
        # The scheduled purge, with no policy files to plan by: dag.test() builds the DAG callback's context
        # from the serialized tasks, which cannot resolve the ad-hoc DAG's required reason.
        (tmp_path / "no-policies").mkdir()
        monkeypatch.setenv("SYNTHGOV_POLICY_DIR", str(tmp_path / "no-policies"))
        bag = DagBag(dag_folder=REPO / "dags" / "synthgov_retention.py")
        run = bag.dags["synthgov_retention_scheduled"].test()
        assert run.state == DagRunState.FAILED
    finally:
        server.shutdown()
    assert len(_Webhook.received) == 1, "one message per failed run"
    headers, message = _Webhook.received[0]
    assert headers["Authorization"] == "Bearer alert-token-not-for-the-message"
    assert message["dag_id"] == "synthgov_retention_scheduled" and message["run_id"] == run.run_id
    # Airflow names the failed task that decided the run: the plan, or the watcher that fails the run for it.
    assert message["failed_task"] in {"plan", "watcher"}
    assert message["reason"] == "task_failure"
    assert "synthgov_retention_scheduled" in message["text"] and run.run_id in message["text"]
    assert "alert-token" not in json.dumps(message)


def test_no_failure_notifier_without_an_alert_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHGOV_ALERT_CONN_ID", raising=False)
    bag = DagBag(dag_folder=REPO / "dags")
    assert not bag.import_errors
    assert {dag_id: dag.on_failure_callback for dag_id, dag in bag.dags.items()} == {
        "synthgov_nightly": None,
        "synthgov_retention": None,
        "synthgov_retention_scheduled": None,
    }


def _respond(
    dag_id: str, task_id: str, user: str, option: str, timeout: float = 120, params_input: dict[str, Any] | None = None
) -> list[str]:
    """Wait for the task to park in AWAITING_INPUT, then answer for `user` as the HITL API does.

    Returns the task's state, the subject and the body the person read."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import handle_event_submit
    from airflow.sdk import timezone
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with create_session() as session:
            ti = (
                session.query(TaskInstance)
                .filter(TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id)
                .filter(TaskInstance.state == TaskInstanceState.AWAITING_INPUT)
                .one_or_none()
            )
            if ti is not None:
                seen.append(str(ti.state))
                detail = session.query(HITLDetail).filter(HITLDetail.ti_id == ti.id).one()
                seen += [detail.subject, detail.body or ""]
                detail.responded_by = {"id": user, "name": user}
                detail.responded_at = timezone.utcnow()
                detail.chosen_options = [option]
                detail.params_input = dict(params_input or {})
                session.add(detail)
                event = TriggerEvent(detail.as_resume_event_payload())  # type: ignore[no-untyped-call]
                handle_event_submit(event, task_instance=ti, session=session)
                return seen
        time.sleep(0.5)
    raise AssertionError(f"{task_id} never waited for input")


@pytest.mark.parametrize("answer", ["Approve", "Reject"])
def test_a_plan_over_the_threshold_waits_for_a_person(world: World, dag: Any, answer: str) -> None:
    before = world.deleted()
    ((tool,),) = world.warehouse.query(
        "SELECT ai_tool FROM marts.provenance_ledger WHERE NOT is_heuristic AND ai_tool IS NOT NULL "
        "GROUP BY ai_tool ORDER BY count(*) DESC, ai_tool LIMIT 1"
    )
    conf = {"dry_run": False, "reason": "INC-9: compromised tool", "scope": "all_ai", "tools": [tool]}
    seen: list[str] = []
    deleted_while_waiting: list[set[tuple[str, str]]] = []

    why = {"comment": "INC-9 is a false alarm: the tool was not compromised"} if answer == "Reject" else {}

    def approver() -> None:
        seen.extend(_respond("synthgov_retention", "approve", "compliance.officer", answer, params_input=why))

    thread = threading.Thread(target=approver)
    thread.start()
    run = dag.test(run_conf=conf)
    thread.join()
    assert seen and seen[0] == "awaiting_input", f"the plan must wait for a person: {_states(run)}"
    assert "Approve retention plan" in seen[1]
    del deleted_while_waiting
    body = seen[2]
    plan = next(p for p in world.lake.list("retention/plans/") if p.endswith("/manifest.json"))
    manifest = json.loads(world.lake.get_bytes(plan))
    # The card the person read: counts in words, what stays and why, a sample, the plan's page.
    assert body.startswith(f"**{manifest['counts']['planned']} records** would be purged: ")
    assert f"made by {tool}" in body and "{'" not in body and "file://" not in body
    assert all(f"{group['meaning']} (" in body for group in manifest["skip_groups"])
    sample = [line for line in body.splitlines() if line.startswith("| ") and tool in line]
    assert sample and len(sample) == len(manifest["sample"])
    assert f"(/governance/plans/{manifest['plan_id']})" in body
    gone = world.deleted() - before
    if answer == "Reject":
        assert gone == set()
        states = _states(run)
        assert states["apply"] == "skipped" and states["evidence"] == "success"
        assert run.state == DagRunState.SUCCESS, states
        ledger = EvidenceLedger(world.lake)
        assert ledger.verify().ok
        (rejected,) = ledger.entries()
        assert rejected["kind"] == "retention.rejected" and rejected["plan_id"] == manifest["plan_id"]
        assert rejected["rejected_by"] == "compliance.officer"
        assert rejected["rejection_reason"] == why["comment"]
        assert rejected["plan_sha256"] == manifest["file"]["sha256"] and rejected["outcomes"] == []
        return
    assert run.state == DagRunState.SUCCESS, _states(run)
    assert gone, "approved: the tool's content is purged"
    (entry,) = EvidenceLedger(world.lake).entries()
    assert entry["approver"] == "compliance.officer"
    assert entry["approval_required"] is True
