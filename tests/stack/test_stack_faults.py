"""Faults on the running stack: PostgreSQL restarted, lineage down, a worker killed, the scheduler restarted.

On the stack tests/stack shares (tests/stack/running.py), after test_stack_e2e.py's nightly and purge.
To keep `make test` within its budget, three faults are combined into ONE nightly (``fault_night``):
before it, PostgreSQL is stopped and started again (the same cluster, on the same port) while the org
changes; during all of it, the OpenLineage HTTP endpoint is down (the receiver the stack's transport
posts to is stopped: a closed port); in the middle of an extract, the worker running it is SIGKILLed.
The fourth fault needs no nightly: the scheduler is restarted while a retention run waits for approval.
The stack runs with shorter fault settings (running.FAULT_SETTINGS: heartbeat timeout, retry delay).

Everything is observed through public interfaces: Airflow's REST API, the org's REST API, S3, SQL on
the warehouse and the ``synthgov`` CLI. Run alone, the module starts with a plain nightly of its own.
(That a second replay adds nothing in a real Marquez needs the marquez-api artifact, which this
machine cannot fetch; the replay's half is checked against a recording receiver.)
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pyarrow.parquet as pq
import pytest
import yaml

from synthgov.lake.runs import RunManifest
from synthgov_stack.postgres import find_bindir
from synthgov_stack.rest import AirflowAPIError, TaskInstance
from tests.integration.test_dbt_duckdb import truth_keys
from tests.integration.test_lineage_replay import Recorder
from tests.stack.running import NIGHTLY, REPO, RETENTION, RUN_TIMEOUT_S, FinishedRun, RunningStack, run_dag, states

pytestmark = [
    pytest.mark.stack,
    pytest.mark.timeout(7200),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server: apt-get install redis-server"),
    pytest.mark.skipif(find_bindir() is None, reason="no PostgreSQL server: apt-get install postgresql"),
]
WAIT_S = 900
TOOL = "faultbot"
# Every query slowed (the sandbox's latency fault), so an extract still runs when its worker dies.
QUERY_LATENCY_MS, SLOWED_QUERIES = 3000, 40
T = TypeVar("T")


@dataclass
class FaultNight:
    run: FinishedRun
    victim: TaskInstance  # the extract whose worker was killed, as it was then
    other: str  # the hostname of the worker that was not killed
    created: str  # a Task made while PostgreSQL was down
    edited: str  # a Task made AI-generated while PostgreSQL was down
    lineage_posts_before: int
    lineage_posts_after: int
    timings: dict[str, float] = field(default_factory=dict)


def _wait(what: str, check: Callable[[], T | None], timeout_s: float = WAIT_S, poll_s: float = 1.0) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:.0f} s"
        time.sleep(poll_s)


def _query_all(stack: RunningStack, soql: str) -> list[dict[str, Any]]:
    """Every row, deleted ones included (as the extractor's queryAll reads them)."""
    page = stack.org.rest("GET", "queryAll", params={"q": soql})
    rows = list(page["records"])
    while not page["done"]:
        page = stack.org.rest("GET", page["nextRecordsUrl"].split("/services/data/", 1)[1].split("/", 1)[1])
        rows += page["records"]
    return rows


@pytest.fixture(scope="module")
def fault_night(stack: RunningStack) -> Iterator[FaultNight]:
    """The one nightly with three faults (see the module's docstring); its timings printed at the end."""
    rest = stack.rest
    done = rest.call("GET", f"/dags/{NIGHTLY}/dagRuns", params={"state": "success"})["dag_runs"]
    if not done:  # this module alone: the fault nightly is an incremental one after a first, plain nightly
        assert run_dag(stack, NIGHTLY).state == "success"
    # Retention runs only when a test triggers one: the nightly's asset events would start it too.
    rest.call("PATCH", f"/dags/{RETENTION}", json={"is_paused": True})

    # Lineage down for the whole run: the transport's endpoint is a closed port from here on.
    before = len(stack.lineage.posts)
    stack.lineage.shutdown()
    stack.lineage.server_close()

    # PostgreSQL stopped; the org changes meanwhile; the same cluster started again.
    begin = time.monotonic()
    stack.fault("stop_postgres")
    pg_stopped = time.monotonic() - begin
    # Tasks: the AI-made object a retention policy covers (ai-task-90d); not one on legal hold.
    created = str(
        stack.org.rest(
            "POST",
            "sobjects/Task",
            json={"Subject": "Fault: restart follow-up", "AI_Generated__c": True, "AI_Tool__c": TOOL},
        )["id"]
    )
    truth = stack.org.control("GET", "ground-truth")
    held = {rid for obj, rid in truth_keys(truth, "legal_hold", heuristic=False) if obj == "Task"}
    plain = next(
        r
        for r in stack.org.rest(
            "GET", "query", params={"q": "SELECT Id FROM Task WHERE AI_Generated__c = false LIMIT 50"}
        )["records"]
        if r["Id"] not in held
    )
    stack.org.rest("PATCH", f"sobjects/Task/{plain['Id']}", json={"AI_Generated__c": True, "AI_Tool__c": TOOL})
    restart = time.monotonic()
    stack.fault("start_postgres")
    pg_started = time.monotonic() - restart
    time.sleep(2)  # past the extraction window's lag (SYNTHGOV_WINDOW_LAG_SECONDS=1)

    stack.org.control(
        "POST", "faults", {"kind": "latency", "ms": QUERY_LATENCY_MS, "path": "/query"} | {"count": SLOWED_QUERIES}
    )
    hostnames = list(stack.state["worker_hostnames"])
    begin = time.monotonic()
    run_id = rest.trigger(NIGHTLY)

    def running_extract() -> TaskInstance | None:
        for ti in rest.task_instances(NIGHTLY, run_id):
            if ti.task_id == "extract" and ti.state == "running" and ti.hostname in hostnames:
                return ti
        return None

    victim = _wait("an extract running on a worker", running_extract, poll_s=0.5)
    worker = f"worker{hostnames.index(str(victim.hostname)) + 1}"
    killed_at = time.monotonic()
    assert stack.fault("kill", worker), f"nothing of {worker} was killed"

    def victim_now() -> TaskInstance:
        return next(
            t
            for t in rest.task_instances(NIGHTLY, run_id)
            if t.task_id == "extract" and t.map_index == victim.map_index
        )

    _wait("the dead try noticed", lambda: victim_now().state != "running" or victim_now().try_number > 1)
    detected_at = time.monotonic()
    _wait(
        "the retry running",
        lambda: (now := victim_now()).try_number > victim.try_number and now.state in ("running", "success"),
    )
    retried_at = time.monotonic()
    # As a process supervisor (systemd, Kubernetes) would: the dead worker comes back, after its
    # task's retry went to the other one.
    stack.fault("start_again", worker)
    state = rest.wait_for_run(NIGHTLY, run_id, RUN_TIMEOUT_S)
    total = time.monotonic() - begin
    stack.org.control("DELETE", "faults")
    night = FaultNight(
        run=FinishedRun(run_id, state, total, rest.task_instances(NIGHTLY, run_id)),
        victim=victim,
        other=next(h for h in hostnames if h != victim.hostname),
        created=created,
        edited=str(plain["Id"]),
        lineage_posts_before=before,
        lineage_posts_after=len(stack.lineage.posts),
        timings={
            "postgres_stop": round(pg_stopped, 1),
            "postgres_start": round(pg_started, 1),
            "kill_detected": round(detected_at - killed_at, 1),
            "kill_retry_running": round(retried_at - killed_at, 1),
            "fault_nightly_total": round(total, 1),
        },
    )
    yield night
    print(f"\nfault timings (s): {json.dumps(night.timings)}")


def test_the_fault_nightly_succeeds_and_the_killed_extract_succeeded_on_the_other_worker(
    stack: RunningStack, fault_night: FaultNight
) -> None:
    """Worker SIGKILLed mid-extract (combined with the other faults into one nightly, for make test's budget)."""
    assert fault_night.run.state == "success", states(fault_night.run)
    tries = stack.rest.task_tries(NIGHTLY, fault_night.run.run_id, "extract", fault_night.victim.map_index)
    assert [t["hostname"] for t in tries][:1] == [fault_night.victim.hostname], tries
    assert tries[-1]["hostname"] == fault_night.other and tries[-1]["state"] == "success", tries
    assert {t["hostname"] for t in tries} == set(stack.state["worker_hostnames"]), tries


def _incremental_objects() -> list[str]:
    config = yaml.safe_load((REPO / "include" / "config" / "extraction.yml").read_text())
    return [o["name"] for o in config["objects"] if o.get("mode", "incremental") == "incremental"]


def _night(stack: RunningStack, run_id: str) -> str:
    """synthgov's run id of an Airflow nightly (the plan task's XCom)."""
    path = f"/dags/{NIGHTLY}/dagRuns/{run_id}/taskInstances/plan/xcomEntries/run_id"
    return str(stack.rest.call("GET", path)["value"])


def test_the_fault_nightly_leaves_no_gap_and_no_duplicate_in_the_lake_and_the_warehouse(
    stack: RunningStack, fault_night: FaultNight
) -> None:
    """Worker SIGKILLed mid-extract: the night's raw rows and lake parts, each record once, none missing."""
    assert fault_night.run.state == "success", states(fault_night.run)
    night = _night(stack, fault_night.run.run_id)
    purged = {str(r) for (r,) in stack.warehouse("select record_id from raw_salesforce._sg_purged")}
    for obj in _incremental_objects():
        table = f'raw_salesforce."{obj.lower()}"'
        of_night = [str(r) for (r,) in stack.warehouse(f'select "Id" from {table} where _sg_run_id = %s', (night,))]
        assert len(of_night) == len(set(of_night)), f"{obj}: a record twice in the night {night}"
        loaded = {str(r) for (r,) in stack.warehouse(f'select distinct "Id" from {table}')}
        in_org = {str(r["Id"]) for r in _query_all(stack, f"SELECT Id FROM {obj}")}
        assert in_org - purged <= loaded, f"{obj}: {sorted(in_org - purged - loaded)[:5]} never loaded"

        # The lake: the run's manifest names exactly the parts in its folder, their rows and hashes, and
        # those parts hold exactly the night's raw rows.
        prefix = f"{stack.lake_prefix}/raw/salesforce/{obj}/"
        listing = stack.s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix=prefix)
        keys = sorted(
            o["Key"].removeprefix(f"{stack.lake_prefix}/")
            for page in listing
            for o in page.get("Contents", [])
            if f"/run_id={night}/" in o["Key"]
        )
        (manifest_key,) = [k for k in keys if k.endswith("manifest.json")]
        body = stack.s3.get_object(Bucket=stack.bucket, Key=f"{stack.lake_prefix}/{manifest_key}")["Body"].read()
        manifest = RunManifest.from_bytes(body, manifest_key)
        assert sorted(p.key for p in manifest.files) == [k for k in keys if k != manifest_key], obj
        assert manifest.rows == len(of_night), obj
        in_parts: list[str] = []
        for part in manifest.files:
            data = stack.s3.get_object(Bucket=stack.bucket, Key=f"{stack.lake_prefix}/{part.key}")["Body"].read()
            assert hashlib.sha256(data).hexdigest() == part.sha256, part.key
            in_parts += [str(v) for v in pq.read_table(io.BytesIO(data), columns=["Id"]).column("Id").to_pylist()]
        assert sorted(in_parts) == sorted(of_night), obj


def test_org_changes_made_while_postgresql_was_down_are_in_the_marts(
    stack: RunningStack, fault_night: FaultNight
) -> None:
    """PostgreSQL restarted before the nightly (combined with the other faults into one run): it catches up."""
    assert fault_night.run.state == "success", states(fault_night.run)
    # The dag-processor exits when the metadata database goes away; the stack started it again.
    health = stack.rest.call("GET", "/monitor/health")
    assert all(health[part]["status"] == "healthy" for part in ("scheduler", "triggerer", "dag_processor")), health
    ledger = stack.warehouse(
        "select record_id from marts.provenance_ledger where object_name = 'Task' and ai_tool = %s", (TOOL,)
    )
    assert {str(r) for (r,) in ledger} == {fault_night.created, fault_night.edited}, ledger


def _run_events(log: Path, run_id: str) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [e for e in events if run_id in json.dumps(e.get("run", {}).get("facets", {}))]


def _replay(stack: RunningStack, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "synthgov"), "lineage", "replay", "--url", url]
        + ["--log", stack.state["lineage_log"]],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_lineage_down_for_the_run_the_events_are_in_the_file_log_and_a_replay_sends_them_once(
    stack: RunningStack, fault_night: FaultNight
) -> None:
    """The lineage endpoint down for the whole fault nightly (combined with the other faults into one run)."""
    assert fault_night.run.state == "success", states(fault_night.run)
    assert fault_night.lineage_posts_before > 0, "the endpoint received the earlier runs' events while it was up"
    assert fault_night.lineage_posts_after == fault_night.lineage_posts_before, "an event reached a stopped endpoint"
    log = Path(stack.state["lineage_log"])
    of_run = _run_events(log, fault_night.run.run_id)
    jobs = {e["job"]["name"] for e in of_run}
    for task in ("synthgov_nightly.plan", "synthgov_nightly.extract", "synthgov_nightly.load"):
        assert task in jobs, f"{task} of {fault_night.run.run_id} not in {log}: {sorted(jobs)}"

    def key(event: dict[str, Any]) -> tuple[str, str, str]:
        return (event["run"]["runId"], event["eventType"], event["eventTime"])

    first, second = Recorder([]), Recorder([])
    for server in (first, second):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        begin = time.monotonic()
        once = _replay(stack, first.url)
        fault_night.timings["lineage_replay"] = round(time.monotonic() - begin, 1)
        again = _replay(stack, second.url)
    finally:
        for server in (first, second):
            server.shutdown()
            server.server_close()
    assert once.returncode == 0, once.stderr[-2000:]
    sent = [key(body) for _, _, body in first.posts]
    assert {key(e) for e in of_run} <= set(sent), "the run's events were not all replayed"
    assert len(sent) == len(set(sent)), "the log holds an event twice"
    # Idempotent: the second replay sends the same events under the same run ids and event times, so
    # a backend keyed by run id (Marquez) gets nothing new from it.
    assert again.returncode == 0, again.stderr[-2000:]
    assert [key(body) for _, _, body in second.posts] == sent


def test_the_scheduler_restarted_while_retention_waits_for_approval_the_approval_still_works(
    stack: RunningStack, fault_night: FaultNight
) -> None:
    """A retention run (no nightly): the scheduler restarted while it waits for a person's approval."""
    rest = stack.rest
    try:  # only the run this test triggers: the nightlies' asset events queued scheduled ones
        rest.call("DELETE", f"/dags/{RETENTION}/assets/queuedEvents")
    except AirflowAPIError as none_queued:
        assert "HTTP 404" in str(none_queued), none_queued
    rest.unpause(RETENTION)
    conf = {"dry_run": False, "reason": "FAULT-4: scheduler restart", "scope": "all_ai", "tools": [TOOL]}
    begin = time.monotonic()
    run_id = rest.trigger(RETENTION, conf)
    approval = rest.wait_for_approval(RETENTION, run_id, WAIT_S)
    waiting_s = time.monotonic() - begin

    restart = time.monotonic()
    stack.fault("restart", "scheduler")
    restarted_s = time.monotonic() - restart
    assert rest.run(RETENTION, run_id)["state"] == "running"
    task = approval["task_instance"]
    option = next(o for o in approval["options"] if o.lower() == "approve")
    answered = rest.respond(RETENTION, run_id, task["task_id"], option, map_index=task["map_index"])
    assert answered["chosen_options"] == [option], answered
    state = rest.wait_for_run(RETENTION, run_id, RUN_TIMEOUT_S)
    tasks = {t.task_id: t.state for t in rest.task_instances(RETENTION, run_id)}
    assert state == "success", tasks
    assert tasks["approve"] == "success" and tasks["apply"] == "success" and tasks["evidence"] == "success", tasks
    purged = {
        str(r) for (r,) in stack.warehouse("select record_id from raw_salesforce._sg_purged where object_name = 'Task'")
    }
    assert {fault_night.created, fault_night.edited} <= purged, "the approved plan's records were not purged"
    fault_night.timings |= {
        "retention_until_approval": round(waiting_s, 1),
        "scheduler_restart": round(restarted_s, 1),
        "retention_total": round(time.monotonic() - begin, 1),
    }
