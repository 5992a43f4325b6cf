"""End to end on the stack: the nightly and an approved purge on CeleryExecutor, PostgreSQL and S3.

On the stack tests/stack shares (tests/stack/running.py), started as `make stack` starts it
(``python -m synthgov_stack up``) with neither the test session's nor any AWS_* / SYNTHGOV_PG_* /
SYNTHGOV_WAREHOUSE variable: its tasks can reach S3 and the warehouse only through the Airflow
connections ``aws_default`` and ``synthgov_warehouse``. This module's runs are the stack's first (the
fault module's come after them, test_stack_faults.py). Everything is then checked from outside, as an
operator or an auditor would: Airflow's REST API (runs, task instances and their hostnames, the
approval), SQL on the warehouse, the S3 API (every object version, Object Lock), the org's REST API and
the sandbox's ground truth, and the ``synthgov`` CLI.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from synthgov.salesforce.ids import hash_record_id
from synthgov_airflow.pools import POSTGRES_SLOTS, WAREHOUSE_POOL
from synthgov_stack.postgres import find_bindir
from tests.integration.test_dbt_duckdb import RULE_BASED, precision_recall, truth_keys
from tests.integration.test_nightly_dag import expected_rows
from tests.stack.running import NIGHTLY, RETENTION, RUN_TIMEOUT_S, FinishedRun, RunningStack, run_dag, states

TEST_TIMEOUT_S = 7200
pytestmark = [
    pytest.mark.stack,
    # The first test waits for the stack and a whole nightly; pytest-timeout's default would cut it short.
    pytest.mark.timeout(TEST_TIMEOUT_S),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server: apt-get install redis-server"),
    pytest.mark.skipif(find_bindir() is None, reason="no PostgreSQL server: apt-get install postgresql"),
]
APPROVAL_TIMEOUT_S = 900
# The purge's object: incremental, so the lake holds more than one version of its runs' files.
PURGED_OBJECT = "Task"
# Plans never cap below 100 records of an object, so a tool with at most this many is purged whole.
UNCAPPED = 100


@pytest.fixture(scope="module")
def nightly(stack: RunningStack) -> FinishedRun:
    """The nightly, triggered through the REST API, after the org's training manifests are in the lake."""
    for manifest in stack.org.control("GET", "training-manifests")["manifests"]:
        key = f"{stack.lake_prefix}/training/{manifest['key']}"
        stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=json.dumps(manifest["document"]).encode())
    run = run_dag(stack, NIGHTLY)
    print(f"{NIGHTLY} on the stack: {run.state} in {run.seconds:.0f} s")
    return run


def test_the_nightly_runs_on_both_workers_and_its_marts_match_the_ground_truth(
    stack: RunningStack, nightly: FinishedRun
) -> None:
    assert nightly.state == "success", states(nightly)

    extracts = [t for t in nightly.tasks if t.task_id == "extract"]
    assert len(extracts) > 1 and all(t.map_index >= 0 and t.state == "success" for t in extracts), states(nightly)
    ran_on = {t.hostname for t in extracts}
    assert ran_on == set(stack.state["worker_hostnames"]), f"the mapped extracts ran on {ran_on}"

    # Sized from the warehouse connection (nothing in the environment names the warehouse any more).
    pool = stack.rest.call("GET", f"/pools/{WAREHOUSE_POOL}")
    assert pool["slots"] == POSTGRES_SLOTS, pool

    expected = expected_rows(stack.org)
    loaded = {name: stack.warehouse(f'select count(*) from raw_salesforce."{name.lower()}"')[0][0] for name in expected}
    assert loaded == expected

    truth = stack.org.control("GET", "ground-truth")
    for label, sql in sorted(RULE_BASED.items()):
        predicted = {(str(a), str(b)) for a, b in stack.warehouse(sql)}
        assert precision_recall(predicted, truth_keys(truth, label, heuristic=False)) == (1.0, 1.0), label


def _tool_to_purge(stack: RunningStack) -> tuple[str, set[str]]:
    """The generating tool with the most rule-based AI Tasks that one run purges whole, and those Tasks."""
    rows = stack.warehouse(
        "select ai_tool, count(*) from marts.provenance_ledger where not is_heuristic and ai_tool is not null "
        "and object_name = %s group by 1 having count(*) <= %s order by 2 desc, 1 limit 1",
        (PURGED_OBJECT, UNCAPPED),
    )
    assert rows, f"no tool made between 1 and {UNCAPPED} rule-based AI {PURGED_OBJECT} records"
    tool = str(rows[0][0])
    made = stack.warehouse(
        "select record_id from marts.provenance_ledger where not is_heuristic and ai_tool = %s and object_name = %s",
        (tool, PURGED_OBJECT),
    )
    return tool, {str(r) for (r,) in made}


def _ids_in_versions(stack: RunningStack, versions: list[dict[str, Any]]) -> tuple[set[str], int]:
    """Every Id in every parquet version of the object's lake files, read back; and how many rows that was."""
    ids: set[str] = set()
    rows = 0
    for version in versions:
        if not version["Key"].endswith(".parquet"):
            continue
        body = stack.s3.get_object(Bucket=stack.bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"]
        table = pq.read_table(io.BytesIO(body.read()), columns=["Id"])
        rows += table.num_rows
        ids.update(str(v) for v in table.column("Id").to_pylist())
    return ids, rows


def test_an_approved_purge_removes_the_records_everywhere_and_is_evidenced_in_the_locked_ledger(
    stack: RunningStack, nightly: FinishedRun
) -> None:
    assert nightly.state == "success", "the purge plans from the nightly's marts"
    tool, made = _tool_to_purge(stack)
    truth = stack.org.control("GET", "ground-truth")
    held = {rid for obj, rid in truth_keys(truth, "legal_hold", heuristic=False) if obj == PURGED_OBJECT} & made
    lake_ids_before, _ = _ids_in_versions(stack, stack.versions(f"raw/salesforce/{PURGED_OBJECT}/"))
    assert made <= lake_ids_before, "every record of the tool was extracted into the lake"

    conf = {
        "dry_run": False,
        "reason": "INC-13: generation tool compromised, purge what it made",
        "scope": "all_ai",
        "tools": [tool],
        "objects": [PURGED_OBJECT],
    }
    stack.rest.wait_for_dag(RETENTION)
    stack.rest.unpause(RETENTION)
    begin = time.monotonic()
    run_id = stack.rest.trigger(RETENTION, conf)
    approval = stack.rest.wait_for_approval(RETENTION, run_id, APPROVAL_TIMEOUT_S)
    assert approval["subject"].startswith("Approve retention plan"), approval
    assert stack.rest.run(RETENTION, run_id)["state"] == "running"
    assert stack.warehouse(f'select count(*) from raw_salesforce."{PURGED_OBJECT.lower()}"')[0][0] > 0
    option = next(o for o in approval["options"] if o.lower() == "approve")
    task = approval["task_instance"]
    answer = stack.rest.respond(RETENTION, run_id, task["task_id"], option, map_index=task["map_index"])
    assert answer["chosen_options"] == [option]
    state = stack.rest.wait_for_run(RETENTION, run_id, RUN_TIMEOUT_S)
    run = FinishedRun(run_id, state, time.monotonic() - begin, stack.rest.task_instances(RETENTION, run_id))
    print(f"{RETENTION} (all_ai, {tool}, approved) on the stack: {run.state} in {run.seconds:.0f} s")
    assert run.state == "success", states(run)

    # What synthgov says it purged, in the warehouse's register: the tool's records but those on hold.
    purged = {
        str(r)
        for (r,) in stack.warehouse(
            "select record_id from raw_salesforce._sg_purged where object_name = %s", (PURGED_OBJECT,)
        )
    }
    assert purged and purged <= made - held, (len(purged), len(made), len(held))

    # The org: no longer live; in the Recycle Bin (so they did exist and were deleted, not never found).
    ids = ",".join(f"'{rid}'" for rid in sorted(purged))
    live = stack.org.rest("GET", "query", params={"q": f"SELECT Id FROM {PURGED_OBJECT} WHERE Id IN ({ids})"})
    assert live["totalSize"] == 0, live["records"][:3]
    binned = stack.org.rest(
        "GET", "queryAll", params={"q": f"SELECT Id, IsDeleted FROM {PURGED_OBJECT} WHERE Id IN ({ids})"}
    )
    assert {r["Id"] for r in binned["records"] if r["IsDeleted"]} == purged
    if held:
        kept = stack.org.rest(
            "GET",
            "query",
            params={"q": "SELECT Id FROM Task WHERE Id IN (" + ",".join(f"'{rid}'" for rid in sorted(held)) + ")"},
        )
        assert {r["Id"] for r in kept["records"]} == held, "a record on legal hold was purged"

    # S3: no version of any of the object's lake files holds a purged record, and the rest is still there.
    versions = stack.versions(f"raw/salesforce/{PURGED_OBJECT}/")
    lake_ids, rows_read = _ids_in_versions(stack, versions)
    assert rows_read > 0 and lake_ids, "the object's lake files were read"
    assert not lake_ids & purged, sorted(lake_ids & purged)[:5]
    assert (lake_ids_before - purged) <= lake_ids

    # The warehouse: its raw rows are gone.
    left = stack.warehouse(
        f'select "Id" from raw_salesforce."{PURGED_OBJECT.lower()}" where "Id" = any(%s)', (sorted(purged),)
    )
    assert left == []

    # The receipt: the ledger's entry, each segment under Object Lock, and the CLI verifies the S3 ledger.
    segments = [v for v in stack.versions("evidence/retention/ledger/") if v["Key"].endswith(".jsonl")]
    assert segments, "no ledger segment in the lake"
    now = datetime.now(UTC)
    for segment in segments:
        # The version's lock as HEAD reports it (moto's server answers GetObjectRetention with a 500 here).
        head = stack.s3.head_object(Bucket=stack.bucket, Key=segment["Key"], VersionId=segment["VersionId"])
        assert head.get("ObjectLockMode") in {"GOVERNANCE", "COMPLIANCE"}, (segment["Key"], head)
        assert head["ObjectLockRetainUntilDate"] > now, segment["Key"]
        with pytest.raises(ClientError):
            stack.s3.delete_object(Bucket=stack.bucket, Key=segment["Key"], VersionId=segment["VersionId"])
    newest = max(segments, key=lambda v: str(v["Key"]))
    body = stack.s3.get_object(Bucket=stack.bucket, Key=newest["Key"])["Body"].read()
    entry = json.loads(body)
    assert entry["approval_required"] is True and entry["approver"] == stack.rest.user
    assert entry["counts"]["outcome_purged"] == len(purged)
    assert {o["id_sha256"] for o in entry["outcomes"] if o["outcome"] == "purged"} == {
        hash_record_id(rid) for rid in purged
    }
    assert not any(rid.encode() in body for rid in purged), "the ledger holds ids only as hashes"

    verified = subprocess.run(
        [str(Path(sys.executable).parent / "synthgov"), "evidence", "verify", "--lake", stack.state["s3"]["lake_url"]],
        env=_cli_env(stack),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert entry["entry_sha256"] in verified.stdout, verified.stdout


def _cli_env(stack: RunningStack) -> dict[str, str]:
    """The CLI outside Airflow reaches the S3 lake as any boto3 program does (no Airflow connection there)."""
    s3 = stack.state["s3"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SYNTHGOV_", "AWS_"))}
    return env | {
        "SYNTHGOV_S3_ENDPOINT_URL": s3["endpoint_url"],
        "AWS_ACCESS_KEY_ID": s3["access_key"],
        "AWS_SECRET_ACCESS_KEY": s3["secret_key"],
        "AWS_DEFAULT_REGION": s3["region"],
    }
