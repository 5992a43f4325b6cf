"""OpenLineage end to end: a nightly run and an ad-hoc purge through Airflow, every event checked.

The module runs the nightly DAG and then the retention DAG (ad hoc, not a dry run, with a reason) once,
with the file transport into a folder of its own, and reads the event log back:

- every event validates against the OpenLineage spec (``tests/fixtures/openlineage-spec``), each
  facet against the schema its ``_schemaURL`` names (synthgov's own in ``synthgov.lineage``), and has
  what Marquez requires; every run has one START and one terminal event;
- the datasets join up (Salesforce object -> lake run -> raw table -> dbt models), dbt model runs have
  their Airflow task run as parent, and synthgov's facets carry the right numbers;
- the HTTP transport: a strict receiver on loopback gets valid events; with the receiver answering
  5xx, and with nothing listening, the tasks still succeed and the file log still gets every event;
  replaying the log (``synthgov lineage replay``) gives the receiver every event, each accepted.

A real Marquez gets the same runs in tests/stack/test_marquez.py.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import openlineage.common.schema as openlineage_common_schema
import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import DagRunState

from synthgov import lake as lakes
from synthgov.extract.config import load_config
from synthgov.lineage import facets, read_events, transport_config
from synthgov.lineage.replay import replay
from synthgov.lineage.validation import EventValidator, marquez_problems
from synthgov.retention.evidence import EvidenceLedger
from synthgov_sandbox.process import SandboxProcess
from tests.lineage_support import PURGE, Pipeline, nightly_and_purge, openlineage_transport, retention_dry_run

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
# The official OpenLineage JSON Schemas, vendored so a clone anywhere validates (see its README.md).
SPEC = REPO / "tests" / "fixtures" / "openlineage-spec"
# Schemas other producers ship with their packages (the dbt integration names GitHub URLs for them).
THIRD_PARTY_SCHEMAS = [Path(openlineage_common_schema.__path__[0])]
# Facet schemas that are named but not shipped anywhere we can read offline: checked against the
# spec's base facet instead. The dbt integration's dbt_model facet has no schema file in the package.
UNSHIPPED = {
    "https://github.com/OpenLineage/OpenLineage/tree/main/integration/common/openlineage/schema/dbt-model-dataset-facet.json"
}


@pytest.fixture(scope="module")
def pipeline(
    demo_org: SandboxProcess, tmp_path_factory: pytest.TempPathFactory, airflow_db: None
) -> Iterator[Pipeline]:
    home = tmp_path_factory.mktemp("lineage") / "synthgov"
    with nightly_and_purge(demo_org, home, transport_config(home / "lineage" / "events.jsonl")) as pipeline:
        yield pipeline


@pytest.fixture(scope="module")
def validator() -> EventValidator:
    if not SPEC.is_dir():
        pytest.skip(f"the vendored OpenLineage spec schemas are missing from {SPEC}")
    return EventValidator(SPEC, THIRD_PARTY_SCHEMAS)


def test_every_event_is_valid_and_every_run_starts_and_ends_once(pipeline: Pipeline, validator: EventValidator) -> None:
    report = validator.validate(pipeline.events)
    assert report.ok, "\n".join(report.problems[:40])
    assert set(report.unresolved) <= UNSHIPPED, report.unresolved
    # synthgov's own facets were among those checked, against their schemas in the repo.
    assert {
        facets.PROVENANCE_SUMMARY_KEY,
        facets.RETENTION_POLICY_KEY,
        facets.PURGE_RECEIPT_KEY,
        facets.REGULATORY_CONTROLS_KEY,
        "schema",
        "outputStatistics",
        "lifecycleStateChange",
        "parent",
    } <= set(report.facets_checked)
    print(f"{report.events} events, facets checked: {dict(report.facets_checked)}")


def test_both_dag_runs_start_and_end(pipeline: Pipeline) -> None:
    for dag_id in ("synthgov_nightly", "synthgov_retention"):
        assert [e["eventType"] for e in pipeline.of(dag_id)] in (["START", "COMPLETE"], ["COMPLETE", "START"])
        for event in pipeline.of(dag_id):
            assert event["job"]["namespace"] == "synthgov"


def test_datasets_join_from_salesforce_to_the_marts(pipeline: Pipeline) -> None:
    org_namespace = f"salesforce://{urlsplit(pipeline.org.instance_url).netloc}"
    extracts = pipeline.of("synthgov_nightly.extract", "COMPLETE")
    assert len(extracts) == len(load_config().objects)
    lake_runs = set()
    for event in extracts:
        (source,) = event["inputs"]
        assert source["namespace"] == org_namespace
        assert "Id" in {f["name"] for f in source["facets"]["schema"]["fields"]}
        (written,) = event["outputs"]
        assert written["namespace"] == "file" and "/raw/salesforce/" in written["name"]
        assert written["outputFacets"]["outputStatistics"]["rowCount"] >= 0
        lake_runs.add(written["name"])
    load = pipeline.complete("synthgov_nightly.load")
    assert lake_runs <= {d["name"] for d in load["inputs"]}
    duckdb_namespace = f"duckdb://{pipeline.home / 'warehouse.duckdb'}"
    raw = {d["name"]: d for d in load["outputs"]}
    assert {d["namespace"] for d in load["outputs"]} == {duckdb_namespace}
    assert raw["warehouse.raw_salesforce.lead"]["outputFacets"]["outputStatistics"]["rowCount"] > 0
    assert "AI_Generated__c" in {f["name"] for f in raw["warehouse.raw_salesforce.lead"]["facets"]["schema"]["fields"]}
    # The dbt staging model reads exactly the dataset the load wrote: one node in Marquez, not two.
    (lead_model,) = [
        e
        for e in pipeline.events
        if e["job"]["name"].endswith(".stg_salesforce__leads") and e["eventType"] == "COMPLETE"
    ]
    assert (duckdb_namespace, "warehouse.raw_salesforce.lead") in {
        (d["namespace"], d["name"]) for d in lead_model["inputs"]
    }


def test_dbt_model_runs_have_their_airflow_task_as_parent(pipeline: Pipeline) -> None:
    task_runs = {
        e["job"]["name"]: e["run"]["runId"]
        for e in pipeline.events
        if e["job"]["name"].startswith("synthgov_nightly.dbt.")
    }
    (dag_start,) = pipeline.of("synthgov_nightly", "START")
    models = [e for e in pipeline.events if e["job"]["facets"].get("jobType", {}).get("integration") == "DBT"]
    assert len({e["job"]["name"] for e in models}) >= 30
    for event in models:
        parent = event["run"]["facets"]["parent"]
        assert parent["job"]["namespace"] == "synthgov"
        assert task_runs[parent["job"]["name"]] == parent["run"]["runId"], parent
        assert parent["root"]["run"]["runId"] == dag_start["run"]["runId"]
        assert parent["root"]["job"]["name"] == "synthgov_nightly"
        assert event["run"]["runId"] not in task_runs.values()
    (ledger_model,) = [
        e for e in models if e["job"]["name"].endswith(".provenance_ledger") and e["eventType"] == "COMPLETE"
    ]
    assert ledger_model["job"]["facets"]["jobType"]["jobType"] == "MODEL"
    parent_task = ledger_model["run"]["facets"]["parent"]["job"]["name"]
    assert parent_task == "synthgov_nightly.dbt.provenance_ledger_run"
    # The Airflow task's own events describe the task; its model's datasets are on the model's run.
    task_complete = pipeline.complete(parent_task)
    assert not task_complete.get("inputs") and not task_complete.get("outputs")
    assert "dbt_run" not in task_complete["run"]["facets"]


def test_provenance_summary_matches_the_ledger(pipeline: Pipeline) -> None:
    (ledger,) = [
        d
        for e in pipeline.events
        if e["eventType"] == "COMPLETE"
        for d in e.get("outputs") or []
        if d["name"] == "warehouse.marts.provenance_ledger"
    ]
    summary = ledger["facets"][facets.PROVENANCE_SUMMARY_KEY]
    # Not read-only: dbt-duckdb keeps a read-write handle open in this process after the in-process build.
    # The purge changed the raw tables, not the marts: the ledger is as the nightly built it.
    with duckdb.connect(str(pipeline.home / "warehouse.duckdb")) as con:
        ((records, heuristic, held),) = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE is_heuristic), count(*) FILTER (WHERE legal_hold) "
            "FROM marts.provenance_ledger"
        ).fetchall()
        by_class = dict(
            con.execute("SELECT provenance_class, count(*) FROM marts.provenance_ledger GROUP BY 1").fetchall()
        )
        by_evidence = dict(con.execute("SELECT evidence, count(*) FROM marts.provenance_ledger GROUP BY 1").fetchall())
    assert records > 0
    assert (summary["records"], summary["heuristicRecords"], summary["legalHold"]) == (records, heuristic, held)
    assert {c["provenanceClass"]: c["records"] for c in summary["byProvenanceClass"]} == by_class
    assert {c["evidence"]: c["records"] for c in summary["byEvidence"]} == by_evidence
    (governance,) = [
        e for e in pipeline.events if e["job"]["name"].endswith(".governance_summary") and e["eventType"] == "COMPLETE"
    ]
    controls = governance["job"]["facets"][facets.REGULATORY_CONTROLS_KEY]["controls"]
    assert len(controls) == 10
    assert {"GDPR Art. 22"} in [set(c["regulations"]) for c in controls]


def test_the_purge_is_on_record(pipeline: Pipeline) -> None:
    org_namespace = f"salesforce://{urlsplit(pipeline.org.instance_url).netloc}"
    plan = pipeline.complete("synthgov_retention.plan")
    policies = plan["job"]["facets"][facets.RETENTION_POLICY_KEY]
    assert {p["id"] for p in policies["policies"]} >= {"ai-task-90d", "ai-email-180d"}
    assert len(policies["policyFileSha256"]) == 64
    controls = {
        c["control"]: c["regulations"] for c in plan["job"]["facets"][facets.REGULATORY_CONTROLS_KEY]["controls"]
    }
    assert controls["retention.plan"] == ["GDPR Art. 5(1)(e)", "GDPR Art. 5(2)"]
    assert controls["retention.policy.ai-media-365d"] == ["GDPR Art. 5(1)(e)", "EU AI Act Art. 50(4)"]
    (plan_folder,) = plan["outputs"]
    plan_id = plan_folder["name"].rsplit("/", 1)[-1]

    apply = pipeline.complete("synthgov_retention.apply")
    dropped = {d["name"]: d for d in apply["outputs"] if "lifecycleStateChange" in d.get("facets", {})}
    assert set(dropped) == {f"Task/purges/{plan_id}"}
    (task_set,) = dropped.values()
    assert task_set["namespace"] == org_namespace
    assert task_set["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "DROP"
    assert (org_namespace, "Task") in {(d["namespace"], d["name"]) for d in apply["outputs"]}
    assert {d["name"] for d in apply["inputs"]} == {plan_folder["name"]}
    applied = {
        c["control"]: c["regulations"] for c in apply["job"]["facets"][facets.REGULATORY_CONTROLS_KEY]["controls"]
    }
    assert applied["retention.erasure"] == ["GDPR Art. 17", "GDPR Art. 5(1)(e)"]

    stores = pipeline.complete("synthgov_retention.purge_stores")

    def change(dataset: dict[str, Any]) -> str | None:
        return str(dataset.get("facets", {}).get("lifecycleStateChange", {}).get("lifecycleStateChange") or "") or None

    changes = Counter(change(d) for d in stores["outputs"])
    assert changes["DROP"] == 1 and changes["OVERWRITE"] >= 1
    (lake_drop,) = [d for d in stores["outputs"] if change(d) == "DROP"]
    assert lake_drop["name"] == f"{pipeline.home / 'lake' / 'raw' / 'salesforce' / 'Task'}/purges/{plan_id}"
    assert all("/raw/salesforce/Task/run_date=" in d["name"] for d in stores["outputs"] if change(d) == "OVERWRITE")
    assert "warehouse.raw_salesforce.task" in {d["name"] for d in stores["outputs"]}

    evidence = pipeline.complete("synthgov_retention.evidence")
    receipt = evidence["run"]["facets"][facets.PURGE_RECEIPT_KEY]
    lake = lakes.LocalLake(pipeline.home / "lake")
    (entry,) = EvidenceLedger(lake).entries()
    assert receipt["ledgerEntry"]["sha256"] == entry["entry_sha256"] and receipt["ledgerEntry"]["seq"] == entry["seq"]
    assert receipt["planSha256"] == entry["plan_sha256"] and receipt["planId"] == plan_id
    assert receipt["reason"] == PURGE["reason"] and receipt["runKind"] == "ad_hoc"
    assert receipt["outcomes"]["purged"] == entry["counts"]["outcome_purged"] > 0
    assert receipt["verification"]["ok"] is True
    assert "approver" not in receipt  # under the threshold: nobody had to approve


def test_a_run_that_waits_for_approval_still_pairs_every_run(
    pipeline: Pipeline, validator: EventValidator, tmp_path: Path
) -> None:
    """The approval task defers and resumes; its events are off (synthgov's emission policy), the rest pair up."""
    from tests.integration.test_retention_dag import _respond

    log = tmp_path / "events.jsonl"
    # Not read-only: dbt-duckdb keeps a read-write handle open in this process after the in-process build.
    with duckdb.connect(str(pipeline.home / "warehouse.duckdb")) as con:
        ((tool,),) = con.execute(
            "SELECT ai_tool FROM marts.provenance_ledger WHERE NOT is_heuristic AND ai_tool IS NOT NULL "
            "GROUP BY ai_tool ORDER BY count(*) DESC, ai_tool LIMIT 1"
        ).fetchall()
    conf = {"dry_run": False, "reason": "INC-9: lineage", "scope": "all_ai", "tools": [tool]}
    answered: list[str] = []
    thread = threading.Thread(
        target=lambda: answered.extend(_respond("synthgov_retention", "approve", "dpo", "Approve"))
    )
    dag = DagBag(dag_folder=REPO / "dags" / "synthgov_retention.py").dags["synthgov_retention"]
    with openlineage_transport(transport_config(log)):
        thread.start()
        run = dag.test(run_conf=conf)
        thread.join()
    assert answered and run.state == DagRunState.SUCCESS
    events = read_events(log)
    report = validator.validate(events)
    assert report.ok, report.problems[:20]
    assert "synthgov_retention.approve" not in {e["job"]["name"] for e in events}
    receipt = pipeline_receipt(events)
    assert receipt["approver"] == "dpo" and receipt["approvalRequired"] is True


def pipeline_receipt(events: list[dict[str, Any]]) -> dict[str, Any]:
    (evidence,) = [
        e for e in events if e["job"]["name"] == "synthgov_retention.evidence" and e["eventType"] == "COMPLETE"
    ]
    receipt: dict[str, Any] = evidence["run"]["facets"][facets.PURGE_RECEIPT_KEY]
    return receipt


# ---------------------------------------------------------------------------------------------------
# HTTP transport: a strict receiver on loopback
# ---------------------------------------------------------------------------------------------------


@dataclass
class Receiver:
    """A stand-in for Marquez's ``POST /api/v1/lineage`` that refuses anything Marquez or the spec would."""

    validator: EventValidator
    answer: int = 201
    events: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    posts: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.posts += 1
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                problems = []
                if self.path != "/api/v1/lineage":
                    problems.append(f"POST to {self.path!r}")
                if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                    problems.append(f"Content-Type {self.headers.get('Content-Type')}")
                try:
                    event = json.loads(body)
                except ValueError:
                    problems.append("body is not JSON")
                    event = None
                if isinstance(event, dict):
                    report = receiver.validator.validate([event])
                    problems += [p for p in report.problems if "START and" not in p]
                    problems += marquez_problems(event)
                if problems:
                    receiver.problems += problems
                    self.send_response(422)
                else:
                    if receiver.answer < 300:
                        receiver.events.append(event)
                    self.send_response(receiver.answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> Receiver:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


def test_http_transport_posts_valid_events(pipeline: Pipeline, validator: EventValidator, tmp_path: Path) -> None:
    with Receiver(validator) as receiver:
        run, _ = retention_dry_run(receiver.url, tmp_path / "lineage" / "events.jsonl")
    assert run.state == DagRunState.SUCCESS
    assert not receiver.problems, receiver.problems[:10]
    got = Counter((e["job"]["name"], e["eventType"]) for e in receiver.events)
    assert got[("synthgov_retention", "START")] == got[("synthgov_retention", "COMPLETE")] == 1
    assert got[("synthgov_retention.plan", "START")] == got[("synthgov_retention.plan", "COMPLETE")] == 1
    # Every event also went to the file: the pack never depends on the backend.
    logged = read_events(tmp_path / "lineage" / "events.jsonl")
    assert sorted(e["run"]["runId"] + e["eventType"] for e in logged) == sorted(
        e["run"]["runId"] + e["eventType"] for e in receiver.events
    )
    assert all(uuid.UUID(e["run"]["runId"]) for e in receiver.events)


def test_tasks_succeed_while_the_receiver_answers_5xx(
    pipeline: Pipeline, validator: EventValidator, tmp_path: Path
) -> None:
    with Receiver(validator, answer=503) as receiver:
        run, took = retention_dry_run(receiver.url, tmp_path / "lineage" / "events.jsonl")
    assert run.state == DagRunState.SUCCESS
    assert receiver.posts > 0 and not receiver.problems
    logged = read_events(tmp_path / "lineage" / "events.jsonl")
    assert {("synthgov_retention", "COMPLETE"), ("synthgov_retention.plan", "COMPLETE")} <= {
        (e["job"]["name"], e["eventType"]) for e in logged
    }
    print(f"dry run with a failing receiver: {took:.1f} s, {receiver.posts} posts")


def test_tasks_succeed_while_the_receiver_is_down(
    pipeline: Pipeline, validator: EventValidator, tmp_path: Path
) -> None:
    with Receiver(validator) as receiver:
        url = receiver.url  # a port that was just ours and now refuses connections
    run, took = retention_dry_run(url, tmp_path / "lineage" / "events.jsonl")
    assert run.state == DagRunState.SUCCESS
    logged = read_events(tmp_path / "lineage" / "events.jsonl")
    assert {("synthgov_retention", "COMPLETE"), ("synthgov_retention.plan", "COMPLETE")} <= {
        (e["job"]["name"], e["eventType"]) for e in logged
    }
    print(f"dry run with the receiver down: {took:.1f} s")


def test_replaying_the_log_sends_every_event_and_the_strict_receiver_takes_them(
    pipeline: Pipeline, validator: EventValidator
) -> None:
    """`synthgov lineage replay` on a whole nightly and purge: what Marquez would get after an outage."""
    with Receiver(validator) as receiver:
        result = replay(pipeline.home / "lineage" / "events.jsonl", receiver.url)
    assert result.ok and result.sent == len(pipeline.events)
    assert not receiver.problems, receiver.problems[:10]
    assert receiver.events == pipeline.events


_WORKER_EMITS = """
import sys, uuid
from datetime import datetime, timezone
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

event = RunEvent(
    eventType=RunState.START,
    eventTime=datetime.now(timezone.utc).isoformat(),
    run=Run(runId=sys.argv[1]),
    job=Job(namespace="synthgov", name="synthgov_nightly.load"),
    producer="https://github.com/apache/airflow/tree/providers-openlineage",
)
get_openlineage_listener().adapter.emit(event)
"""


def test_a_process_given_only_the_printed_settings_sends_to_the_file_and_marquez(
    validator: EventValidator, tmp_path: Path
) -> None:
    """A distributed Airflow's worker has nothing but its environment: the exports of
    ``python -m synthgov_airflow.lineage`` make its provider send to the file log and over HTTP."""
    import os
    import shlex
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__OPENLINEAGE__", "OPENLINEAGE_"))}
    home = tmp_path / "synthgov"
    with Receiver(validator) as receiver:
        printed = subprocess.run(
            [sys.executable, "-m", "synthgov_airflow.lineage"],
            env={**clean, "SYNTHGOV_HOME": str(home), "OPENLINEAGE_URL": receiver.url},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        exported = dict(
            shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in printed.splitlines() if line
        )
        transport = json.loads(exported["AIRFLOW__OPENLINEAGE__TRANSPORT"])
        assert transport["type"] == "composite"
        assert sorted(t["type"] for t in transport["transports"]) == ["file", "http"]
        run_id = str(uuid.uuid4())
        # The worker: its own process, no SYNTHGOV_HOME or OPENLINEAGE_URL, only the exported settings.
        subprocess.run(
            [sys.executable, "-c", _WORKER_EMITS, run_id], env={**clean, **exported}, check=True, timeout=120
        )
    assert not receiver.problems, receiver.problems
    assert [e["run"]["runId"] for e in receiver.events] == [run_id]
    assert [e["run"]["runId"] for e in read_events(home / "lineage" / "events.jsonl")] == [run_id]
