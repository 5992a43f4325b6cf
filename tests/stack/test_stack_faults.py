"""Faults on the running stack: a worker killed mid-extract, lineage down, PostgreSQL and the scheduler restarted.

One stack for the module (fresh lake, warehouse and metadata), the tests in file order: the first
nightly is the worker-kill one, so its run holds every record of the org. Everything is observed
through public interfaces: Airflow's REST API, the org's REST API, S3 and SQL on the warehouse.

The stack is started with shorter fault settings (never by editing a DAG): Airflow finds a task whose
worker died by its heartbeat timeout (300 s by default), and the nightly waits
``SYNTHGOV_RETRY_DELAY_SECONDS`` (300 by default) before a retry. Lineage goes to the file log and,
over HTTP, to a loopback port nothing listens on: the OpenLineage endpoint is down for every run.
(A second replay into a real Marquez adding nothing needs the marquez-api artifact, which this
machine cannot fetch; the replay's half of it is checked here against a recording receiver.)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import requests
import yaml

from synthgov.lake.runs import RunManifest
from synthgov.lineage.replay import replay
from synthgov_stack.postgres import find_bindir
from synthgov_stack.rest import AirflowAPIError, AirflowREST, TaskInstance
from synthgov_stack.services import free_port, s3_client
from synthgov_stack.stack import Stack, StackInfo
from tests.integration.test_lineage_replay import Recorder

# Each test waits for whole DAG runs on a loaded machine (the first also for the stack to start).
# `faults`: not part of `make test` yet (`make test-faults` runs them): see the module's note in README.
pytestmark = [pytest.mark.stack, pytest.mark.faults, pytest.mark.timeout(3600)]
REPO = Path(__file__).resolve().parents[2]
NIGHTLY, RETENTION = "synthgov_nightly", "synthgov_retention"
HEARTBEAT_TIMEOUT_S = 30
RETRY_DELAY_S = 5
# Generous: two busy cores run the whole stack, and a nightly on it takes minutes.
RUN_TIMEOUT_S = 2400
WAIT_S = 900
TOOL = "faultbot"
TIMINGS: dict[str, dict[str, float]] = {}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server: apt-get install redis-server")
    if find_bindir() is None:
        pytest.skip("no PostgreSQL server: apt-get install postgresql")
    home = Path(tempfile.mkdtemp(prefix="synthgov-faults-"))
    home.chmod(0o755)  # as root, PostgreSQL runs as its own OS user and must get in
    settings = {
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
        "SYNTHGOV_RETRY_DELAY_SECONDS": str(RETRY_DELAY_S),
        # Records the tests add are extracted by the next nightly, not the one after it.
        "SYNTHGOV_WINDOW_LAG_SECONDS": "1",
        "OPENLINEAGE_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
    }
    # As `make stack` starts it: without the test session's Airflow and synthgov settings.
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("AIRFLOW", "SYNTHGOV_", "OPENLINEAGE")):
                mp.delenv(name)
        running = Stack(home / "stack", marquez=False, settings=settings)
        running.start()
    try:
        yield running
    finally:
        running.stop()
        assert running.leftovers() == []
        shutil.rmtree(home, ignore_errors=True)
        print(f"\nfault timings (s): {json.dumps(TIMINGS)}")


@pytest.fixture(scope="module")
def info(stack: Stack) -> StackInfo:
    assert stack.info is not None
    return stack.info


@pytest.fixture(scope="module")
def api(info: StackInfo) -> AirflowREST:
    client = AirflowREST(info.airflow_url)
    for dag_id in (NIGHTLY, RETENTION):
        client.wait_for_dag(dag_id)
    client.unpause(NIGHTLY)
    return client


@pytest.fixture(scope="module")
def org(info: StackInfo) -> Org:
    return Org(info.salesforce)


class Org:
    """The sandbox org through its REST API, as the integration user (and its fault controls)."""

    def __init__(self, salesforce: dict[str, str]) -> None:
        from synthgov_sandbox.engine.schema import API_VERSION

        self.base, self.verify = salesforce["instance_url"], salesforce["ca_bundle"]
        self.data = f"{self.base}/services/data/v{API_VERSION}"
        token = requests.post(
            f"{self.base}/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": salesforce["client_id"],
                "client_secret": salesforce["client_secret"],
            },
            verify=self.verify,
            timeout=60,
        )
        token.raise_for_status()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        # verify per request: a session's own is overridden by REQUESTS_CA_BUNDLE in the environment.
        response = self.session.request(method, url, timeout=120, verify=self.verify, **kwargs)
        assert response.status_code < 300, f"{method} {url}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        """Every row, deleted ones included (as the extractor's queryAll reads them)."""
        page = self.call("GET", f"{self.data}/queryAll", params={"q": soql})
        rows = list(page["records"])
        while not page["done"]:
            page = self.call("GET", f"{self.base}{page['nextRecordsUrl']}")
            rows += page["records"]
        return rows

    def fault(self, body: dict[str, Any]) -> None:
        self.call("POST", f"{self.base}/__sandbox__/faults", json=body)

    def clear_faults(self) -> None:
        self.call("DELETE", f"{self.base}/__sandbox__/faults")


def _incremental_objects() -> list[str]:
    config = yaml.safe_load((REPO / "include" / "config" / "extraction.yml").read_text())
    return [o["name"] for o in config["objects"] if o.get("mode", "incremental") == "incremental"]


def _warehouse(info: StackInfo, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    pg = info.postgres
    con = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"], dbname=pg["databases"]["warehouse"])
    try:
        with con.cursor() as cur:
            cur.execute(sql, args)
            return [tuple(row) for row in cur.fetchall()]
    finally:
        con.close()


def _xcom(api: AirflowREST, run_id: str, task_id: str, key: str) -> Any:
    return api.call("GET", f"/dags/{NIGHTLY}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}")["value"]


def _wait(what: str, check: Any, timeout_s: float = WAIT_S, poll_s: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:.0f} s"
        time.sleep(poll_s)


def _nightly(api: AirflowREST) -> tuple[str, float]:
    begin = time.monotonic()
    run_id = api.trigger(NIGHTLY)
    state = api.wait_for_run(NIGHTLY, run_id, RUN_TIMEOUT_S)
    failed = [t for t in api.task_instances(NIGHTLY, run_id) if t.state not in ("success", "skipped")]
    assert state == "success", f"{run_id}: {state}; {failed}"
    return run_id, time.monotonic() - begin


def test_a_worker_killed_mid_extract_is_retried_on_the_other_and_leaves_no_gap_or_duplicate(
    stack: Stack, info: StackInfo, api: AirflowREST, org: Org
) -> None:
    # Slow every query a little, so an extract is still running when its worker dies.
    org.fault({"kind": "latency", "ms": 3000, "path": "/query", "count": 40})
    begin = time.monotonic()
    run_id = api.trigger(NIGHTLY)

    def running_extract() -> TaskInstance | None:
        for ti in api.task_instances(NIGHTLY, run_id):
            if ti.task_id == "extract" and ti.state == "running" and ti.hostname in info.worker_hostnames:
                return ti
        return None

    victim: TaskInstance = _wait("an extract running on a worker", running_extract)
    worker = f"worker{info.worker_hostnames.index(str(victim.hostname)) + 1}"
    killed_at = time.monotonic()
    assert stack.kill(worker), f"nothing of {worker} was killed"
    other = next(h for h in info.worker_hostnames if h != victim.hostname)

    def victim_now() -> TaskInstance:
        return next(
            t for t in api.task_instances(NIGHTLY, run_id) if t.task_id == "extract" and t.map_index == victim.map_index
        )

    _wait("the dead try noticed", lambda: victim_now().state != "running" or victim_now().try_number > 1, poll_s=1)
    detected_at = time.monotonic()
    _wait("the retry started", lambda: victim_now().try_number > victim.try_number, poll_s=1)
    retried_at = time.monotonic()
    state = api.wait_for_run(NIGHTLY, run_id, RUN_TIMEOUT_S)
    total = time.monotonic() - begin
    org.clear_faults()
    stack.start_again(worker)  # later tests have two workers again
    TIMINGS["worker_kill"] = {
        "detect": round(detected_at - killed_at, 1),
        "retry": round(retried_at - killed_at, 1),
        "total": round(total, 1),
    }
    assert state == "success", [t for t in api.task_instances(NIGHTLY, run_id) if t.state != "success"]

    tries = api.task_tries(NIGHTLY, run_id, "extract", victim.map_index)
    assert [t["hostname"] for t in tries][:1] == [victim.hostname], tries
    assert tries[-1]["hostname"] == other and tries[-1]["state"] == "success", tries

    # No gap, no duplicate: every record of each incremental object exactly once in the night's raw
    # rows, and the lake's manifest names exactly the parts in the run's folder, with their rows and hashes.
    night = _xcom(api, run_id, "plan", "run_id")
    s3 = s3_client(info.s3["endpoint_url"])
    bucket, prefix = info.s3["lake_url"].removeprefix("s3://").split("/", 1)
    for obj in _incremental_objects():
        in_org = sorted(r["Id"] for r in org.query_all(f"SELECT Id FROM {obj}"))
        raw = [
            row[0]
            for row in _warehouse(
                info, f'SELECT "Id" FROM raw_salesforce.{obj.lower()} WHERE _sg_run_id = %s', (night,)
            )
        ]
        assert sorted(raw) == in_org, f"{obj}: {len(raw)} raw rows ({len(set(raw))} ids), {len(in_org)} in the org"
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/raw/salesforce/{obj}/")
        keys = sorted(
            o["Key"].removeprefix(f"{prefix}/") for o in listing.get("Contents", []) if f"/run_id={night}/" in o["Key"]
        )
        (manifest_key,) = [k for k in keys if k.endswith("manifest.json")]
        manifest = RunManifest.from_bytes(
            s3.get_object(Bucket=bucket, Key=f"{prefix}/{manifest_key}")["Body"].read(), manifest_key
        )
        assert sorted(p.key for p in manifest.files) == [k for k in keys if k != manifest_key], obj
        assert manifest.rows == len(raw), obj
        for part in manifest.files:
            body = s3.get_object(Bucket=bucket, Key=f"{prefix}/{part.key}")["Body"].read()
            assert hashlib.sha256(body).hexdigest() == part.sha256, part.key


@pytest.fixture(scope="module")
def built(api: AirflowREST) -> str:
    """A successful nightly's run id: the last one so far (the tests before made it), else a new one."""
    done = api.call("GET", f"/dags/{NIGHTLY}/dagRuns", params={"state": "success", "order_by": "-end_date"})
    if done["dag_runs"]:
        return str(done["dag_runs"][0]["dag_run_id"])
    return _nightly(api)[0]


def test_a_run_with_the_lineage_endpoint_down_succeeds_and_replay_sends_its_events_later(
    info: StackInfo, api: AirflowREST, built: str
) -> None:
    assert api.run(NIGHTLY, built)["state"] == "success"
    log = Path(info.lineage_log)
    events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    jobs = {e["job"]["name"] for e in events}
    # The run's task events are in the file log although the HTTP endpoint never answered.
    for task in ("synthgov_nightly.plan", "synthgov_nightly.load", "synthgov_nightly.report"):
        assert task in jobs, f"{task} not in {log}"
    of_run = [e for e in events if json.dumps(e.get("run", {}).get("facets", {})).find(built) >= 0]
    assert of_run, f"no event of {built} in {log}"

    def sent(recorder: Recorder) -> list[tuple[str, str, str]]:
        return [(b["run"]["runId"], b["eventType"], b["eventTime"]) for _, _, b in recorder.posts]

    first, second = Recorder([]), Recorder([])
    for server in (first, second):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        begin = time.monotonic()
        once = replay(log, first.url)
        replayed_s = time.monotonic() - begin
        again = replay(log, second.url)
    finally:
        for server in (first, second):
            server.shutdown()
            server.server_close()
    assert once.ok and once.sent >= len(events), once.refused[:5]
    assert {(e["run"]["runId"], e["eventType"], e["eventTime"]) for e in events} <= set(sent(first))
    # The replay module's idempotence: the same events under the same run ids and event times, so a
    # backend keyed by run id (Marquez) has nothing new from the second replay.
    assert again.ok and set(sent(second)) == set(sent(first))
    assert len(sent(first)) == len(set(sent(first))), "the log holds an event twice"
    TIMINGS["lineage_down"] = {"events": float(len(events)), "replay": round(replayed_s, 1)}


def test_postgresql_restarted_between_nightlies_the_next_one_catches_up(
    stack: Stack, info: StackInfo, api: AirflowREST, org: Org, built: str
) -> None:
    begin = time.monotonic()
    stack.stop_postgres()
    stopped_s = time.monotonic() - begin
    # The org changes while the database is down: one new AI-made lead, one lead edited to be AI-made.
    created = org.call(
        "POST",
        f"{org.data}/sobjects/Lead",
        json={"LastName": "Fault", "Company": "Restart Ltd", "AI_Generated__c": True, "AI_Tool__c": TOOL},
    )["id"]
    (plain,) = org.query_all("SELECT Id FROM Lead WHERE AI_Generated__c = false AND IsDeleted = false LIMIT 1")
    org.call("PATCH", f"{org.data}/sobjects/Lead/{plain['Id']}", json={"AI_Generated__c": True, "AI_Tool__c": TOOL})
    restart = time.monotonic()
    stack.start_postgres()
    started_s = time.monotonic() - restart
    time.sleep(2)  # past the extraction window's lag (SYNTHGOV_WINDOW_LAG_SECONDS=1)

    _, nightly_s = _nightly(api)
    ledger = _warehouse(
        info,
        "SELECT record_id FROM marts.provenance_ledger WHERE object_name = 'Lead' AND ai_tool = %s",
        (TOOL,),
    )
    assert {row[0] for row in ledger} >= {created, plain["Id"]}, ledger
    TIMINGS["postgres_restart"] = {
        "stop": round(stopped_s, 1),
        "start": round(started_s, 1),
        "next_nightly": round(nightly_s, 1),
    }


def test_the_scheduler_restarted_while_retention_waits_for_approval_the_approval_still_works(
    stack: Stack, api: AirflowREST, built: str
) -> None:
    # Only the run this test triggers: the nightlies' asset events would queue scheduled runs too.
    try:
        api.call("DELETE", f"/dags/{RETENTION}/assets/queuedEvents")
    except AirflowAPIError as none_queued:  # 404: nothing was queued
        assert "HTTP 404" in str(none_queued), none_queued
    api.unpause(RETENTION)
    conf = {"dry_run": False, "reason": "FAULT-4: scheduler restart", "scope": "all_ai", "tools": [TOOL]}
    begin = time.monotonic()
    run_id = api.trigger(RETENTION, conf)
    approval = api.wait_for_approval(RETENTION, run_id, WAIT_S)
    waiting_s = time.monotonic() - begin

    restart = time.monotonic()
    stack.restart("scheduler")
    restarted_s = time.monotonic() - restart
    answered = api.respond(RETENTION, run_id, approval["task_instance"]["task_id"], "Approve")
    assert answered["chosen_options"] == ["Approve"], answered
    state = api.wait_for_run(RETENTION, run_id, RUN_TIMEOUT_S)
    tasks = {t.task_id: t.state for t in api.task_instances(RETENTION, run_id)}
    assert state == "success", tasks
    assert tasks["approve"] == "success" and tasks["apply"] == "success" and tasks["evidence"] == "success", tasks
    TIMINGS["scheduler_restart"] = {
        "until_approval": round(waiting_s, 1),
        "restart": round(restarted_s, 1),
        "total": round(time.monotonic() - begin, 1),
    }
