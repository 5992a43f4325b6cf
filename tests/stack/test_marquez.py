"""synthgov's lineage in a real Marquez (0.50.0, run from Maven's jars by tests/marquez.py), read back
only through Marquez's public API.

Once per module: Marquez on a PostgreSQL cluster of the session's, then a nightly and an ad-hoc purge
through dag.test() with OPENLINEAGE_URL pointing at it (the file log kept too). Then:

- every event reached Marquez and was accepted: its raw event count matches the log, every run has
  the state its terminal event says, and posting the whole log again is answered 2xx throughout and
  changes no run, job version or dataset version;
- ``GET /api/v1/lineage`` draws Salesforce object -> lake run -> raw table -> staging -> mart;
- the purge's DROP datasets are deleted with their lifecycleStateChange facet, the receipt facet is on
  the evidence run, and dbt models are jobs whose runs have their Airflow task run as parent;
- Marquez down for a whole run: the run succeeds, the events are in the file log, and
  ``synthgov lineage replay`` gives Marquez the run later; a second replay adds nothing.

Skips, saying how to enable it, when Marquez was not fetched (``make marquez``) or Java is missing.
"""

from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from airflow.sdk import DagRunState

from synthgov.cli import main
from synthgov.lineage import facets, read_events, transport_config
from synthgov.lineage.replay import replay
from synthgov_sandbox.process import SandboxProcess
from tests.lineage_support import Pipeline, nightly_and_purge, retention_dry_run
from tests.marquez import MarquezServer, MarquezUnavailable, java, marquez_server, require_lib

pytestmark = [pytest.mark.integration, pytest.mark.stack]

JOB_NAMESPACE = "synthgov"
_EVERYTHING = 100_000  # Marquez's list endpoints page; one page of this size holds a test's runs
# Run states Marquez records for an event type (OpenLineageDao.getRunState).
STATE_OF = {"COMPLETE": "COMPLETED", "FAIL": "FAILED", "ABORT": "ABORTED"}


@pytest.fixture(scope="module")
def marquez(request: pytest.FixtureRequest) -> Iterator[MarquezServer]:
    try:
        require_lib()
        java()
    except MarquezUnavailable as exc:
        pytest.skip(str(exc))
    postgres = request.getfixturevalue("postgres")  # only once Marquez can run: no cluster for a skip
    with (
        tempfile.TemporaryDirectory(prefix="synthgov-marquez-") as directory,
        marquez_server(Path(directory), postgres) as server,
    ):
        yield server


@pytest.fixture(scope="module")
def pipeline(
    marquez: MarquezServer, demo_org: SandboxProcess, tmp_path_factory: pytest.TempPathFactory, airflow_db: None
) -> Iterator[Pipeline]:
    home = tmp_path_factory.mktemp("marquez") / "synthgov"
    transport = transport_config(home / "lineage" / "events.jsonl", marquez.url)
    with nightly_and_purge(demo_org, home, transport) as pipeline:
        yield pipeline


def _path(*parts: str) -> str:
    return "/".join(quote(p, safe="") for p in parts)


def snapshot(marquez: MarquezServer) -> dict[str, Any]:
    """What a replay must not change: every job's runs (id, state) and versions, every dataset's version."""
    jobs: dict[str, Any] = {}
    datasets: dict[str, Any] = {}
    for namespace in marquez.get("/api/v1/namespaces", limit=_EVERYTHING)["namespaces"]:
        ns = namespace["name"]
        for job in marquez.get(f"/api/v1/namespaces/{_path(ns)}/jobs", limit=_EVERYTHING)["jobs"]:
            base = f"/api/v1/namespaces/{_path(ns)}/jobs/{_path(job['name'])}"
            runs = marquez.get(f"{base}/runs", limit=_EVERYTHING)["runs"]
            versions = marquez.get(f"{base}/versions", limit=_EVERYTHING)["versions"]
            jobs[f"{ns}:{job['name']}"] = (
                sorted((r["id"], r["state"]) for r in runs),
                sorted(v["version"] for v in versions),
            )
        for dataset in marquez.get(f"/api/v1/namespaces/{_path(ns)}/datasets", limit=_EVERYTHING)["datasets"]:
            datasets[f"{ns}:{dataset['name']}"] = (dataset.get("currentVersion"), dataset.get("deleted"))
    return {"jobs": jobs, "datasets": datasets}


def test_every_event_was_accepted(pipeline: Pipeline, marquez: MarquezServer) -> None:
    runs = {e["run"]["runId"] for e in pipeline.events}
    raw = marquez.get(
        "/api/v1/events/lineage",
        after="1970-01-01T00:00:00+00:00",
        before="2999-01-01T00:00:00+00:00",
        limit=_EVERYTHING,
    )["events"]
    assert len([e for e in raw if e["run"]["runId"] in runs]) == len(pipeline.events)
    terminal = {e["run"]["runId"]: e["eventType"] for e in pipeline.events if e["eventType"] in STATE_OF}
    assert len(terminal) == len(runs)  # every run ended
    for run_id, event_type in terminal.items():
        assert marquez.get(f"/api/v1/jobs/runs/{run_id}")["state"] == STATE_OF[event_type], run_id
    # Posting the log again: Marquez answers the same events the same way, so 2xx here means the live
    # posts were accepted too; and it must change nothing.
    before = snapshot(marquez)
    result = replay(pipeline.home / "lineage" / "events.jsonl", marquez.url)
    assert result.ok, result.refused[:10]
    assert result.sent == len(pipeline.events)
    assert snapshot(marquez) == before


def _builds_the_warehouse(job: str) -> bool:
    """Extract, load and dbt: the chain under test. Media inspection also reads an object and writes the
    lake, and the purge writes objects and raw tables; neither is the path a record takes to a mart."""
    return job in ("synthgov_nightly.extract", "synthgov_nightly.load") or job.startswith("synthgov_nightly.dbt.")


def _upstream_path(graph: dict[str, dict[str, Any]], start: str) -> list[dict[str, Any]] | None:
    """The shortest chain of nodes from a ``salesforce://`` dataset down to ``start``, over the build's jobs."""
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node_id = queue.popleft()
        node = graph[node_id]
        if node["type"] == "DATASET" and node["data"]["namespace"].startswith("salesforce://"):
            chain = [node]
            while (parent := came_from[chain[-1]["id"]]) is not None:
                chain.append(graph[parent])
            return chain
        for edge in node["inEdges"]:
            origin = graph.get(edge["origin"])
            if origin is None or origin["id"] in came_from:
                continue
            if origin["type"] == "JOB" and not _builds_the_warehouse(origin["data"]["name"]):
                continue
            came_from[origin["id"]] = node_id
            queue.append(origin["id"])
    return None


def test_lineage_api_draws_salesforce_to_lake_to_warehouse_to_marts(pipeline: Pipeline, marquez: MarquezServer) -> None:
    warehouse = f"duckdb://{pipeline.home / 'warehouse.duckdb'}"
    marts = sorted({d["name"] for e in pipeline.events for d in e.get("outputs") or [] if ".marts." in d["name"]})
    assert marts
    # Marquez draws a mapped task's edges from its latest run: only the last extracted object's chain
    # reaches Salesforce, so some mart (not necessarily the first) is downstream of it.
    for mart in marts:
        graph = {
            n["id"]: n for n in marquez.get("/api/v1/lineage", nodeId=f"dataset:{warehouse}:{mart}", depth=50)["graph"]
        }
        chain = _upstream_path(graph, f"dataset:{warehouse}:{mart}")
        if chain is not None:
            break
    assert chain is not None, f"no mart of {marts} is drawn downstream of a Salesforce object"
    datasets = [(n["data"]["namespace"], n["data"]["name"]) for n in chain if n["type"] == "DATASET"]
    jobs = [n["data"]["name"] for n in chain if n["type"] == "JOB"]

    def first(predicate: Any) -> int:
        return next(i for i, d in enumerate(datasets) if predicate(*d))

    org = first(lambda ns, name: ns == f"salesforce://{urlsplit(pipeline.org.instance_url).netloc}")
    lake_run = first(lambda ns, name: ns == "file" and "/raw/salesforce/" in name)
    raw_table = first(lambda ns, name: ns == warehouse and name.startswith("warehouse.raw_salesforce."))
    staging = first(lambda ns, name: ns == warehouse and ".staging." in name)
    assert org < lake_run < raw_table < staging < len(datasets) - 1, datasets
    assert datasets[-1] == (warehouse, mart)
    assert jobs[:2] == ["synthgov_nightly.extract", "synthgov_nightly.load"], jobs


def _purge_plan_id(pipeline: Pipeline) -> str:
    (plan_folder,) = pipeline.complete("synthgov_retention.plan")["outputs"]
    return str(plan_folder["name"]).rsplit("/", 1)[-1]


def test_the_purge_drop_datasets_are_deleted_with_their_lifecycle_facet(
    pipeline: Pipeline, marquez: MarquezServer
) -> None:
    plan_id = _purge_plan_id(pipeline)
    org = f"salesforce://{urlsplit(pipeline.org.instance_url).netloc}"
    lake_drop = f"{pipeline.home / 'lake' / 'raw' / 'salesforce' / 'Task'}/purges/{plan_id}"
    for namespace, name in ((org, f"Task/purges/{plan_id}"), ("file", lake_drop)):
        dataset = marquez.get(f"/api/v1/namespaces/{_path(namespace)}/datasets/{_path(name)}")
        assert dataset["deleted"] is True and dataset["lastLifecycleState"] == "DROP", dataset
        assert dataset["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "DROP"
    # The object itself stays: the purge took records out of it, it did not drop it.
    assert marquez.get(f"/api/v1/namespaces/{_path(org)}/datasets/Task")["deleted"] is False


def test_the_receipt_facet_is_on_the_evidence_run(pipeline: Pipeline, marquez: MarquezServer) -> None:
    evidence = pipeline.complete("synthgov_retention.evidence")
    logged = evidence["run"]["facets"][facets.PURGE_RECEIPT_KEY]
    stored = marquez.get(f"/api/v1/jobs/runs/{evidence['run']['runId']}/facets", type="RUN")["facets"]
    receipt = stored[facets.PURGE_RECEIPT_KEY]
    assert receipt["planId"] == _purge_plan_id(pipeline)
    assert receipt["ledgerEntry"] == logged["ledgerEntry"] and receipt["outcomes"] == logged["outcomes"]
    assert receipt["verification"]["ok"] is True


def test_dbt_models_are_jobs_with_their_airflow_task_as_parent(pipeline: Pipeline, marquez: MarquezServer) -> None:
    task_runs = {
        e["run"]["runId"]: e["job"]["name"]
        for e in pipeline.events
        if e["job"]["name"].startswith("synthgov_nightly.dbt.")
    }
    model_runs = {
        e["run"]["runId"]: e["job"]["name"]
        for e in pipeline.events
        if e["job"]["facets"].get("jobType", {}).get("integration") == "DBT"
    }
    assert len(set(model_runs.values())) >= 30
    jobs = {j["name"]: j for j in marquez.get(f"/api/v1/namespaces/{JOB_NAMESPACE}/jobs", limit=_EVERYTHING)["jobs"]}
    for run_id, model in model_runs.items():
        parent = marquez.get(f"/api/v1/jobs/runs/{run_id}/facets", type="RUN")["facets"]["parent"]
        task = task_runs[parent["run"]["runId"]]
        assert parent["job"]["name"] == task
        # Marquez files a child job under its parent: "<parent job>.<child job>" (docs/reference/marquez.md 2.4).
        job = jobs[f"{task}.{model}"]
        assert job["parentJobName"] == task, job
        assert marquez.get(f"/api/v1/jobs/runs/{parent['run']['runId']}")["state"] == "COMPLETED"


def test_marquez_down_for_a_run_then_replayed_twice(
    pipeline: Pipeline, marquez: MarquezServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "lineage" / "events.jsonl"
    down = f"http://127.0.0.1:{_closed_port()}"
    run, took = retention_dry_run(down, log)
    assert run.state == DagRunState.SUCCESS
    events = read_events(log)
    (dag_run,) = [
        e["run"]["runId"] for e in events if e["job"]["name"] == "synthgov_retention" and e["eventType"] == "COMPLETE"
    ]
    with pytest.raises(requests.HTTPError, match="404"):
        marquez.get(f"/api/v1/jobs/runs/{dag_run}")
    print(f"dry run with Marquez down: {took:.1f} s, {len(events)} events in the log")

    assert main(["lineage", "replay", "--url", marquez.url, "--log", str(log)]) == 0
    assert f"{len(events)} events sent to {marquez.url}/api/v1/lineage, 0 refused" in capsys.readouterr().err
    assert marquez.get(f"/api/v1/jobs/runs/{dag_run}")["state"] == "COMPLETED"
    for event in events:
        if event["eventType"] in STATE_OF:
            assert marquez.get(f"/api/v1/jobs/runs/{event['run']['runId']}")["state"] == STATE_OF[event["eventType"]]
    after_first = snapshot(marquez)
    assert main(["lineage", "replay", "--url", marquez.url, "--log", str(log)]) == 0
    assert snapshot(marquez) == after_first


def _closed_port() -> int:
    """A loopback port nothing listens on (just bound and released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
