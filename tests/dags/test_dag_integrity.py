"""Every DAG parses, says who owns it and how to triage it, retries, and parses cheaply and offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import CronTriggerTimetable, TriggerRule

from synthgov_airflow.dbt import window_end_of
from synthgov_airflow.operators.extract import SalesforceExtractOperator
from synthgov_airflow.operators.load import WarehouseLoadOperator
from synthgov_airflow.operators.training import TrainingLakePostureOperator, TrainingManifestsOperator
from synthgov_airflow.pools import WAREHOUSE_POOL

pytestmark = pytest.mark.unit

DAGS = Path(__file__).resolve().parents[2] / "dags"
DOC_SECTIONS = ("Description", "Owner", "Triage")
# What a DAG module must not import when parsed (ruff TID253 checks the source; this checks the result).
HEAVY_MODULES = ("pandas", "pyarrow", "boto3", "simple_salesforce", "duckdb", "c2pa")
# The pools a deployment creates (`make airflow` does); a task in any other pool would never be scheduled.
KNOWN_POOLS = {"default_pool", WAREHOUSE_POOL}
DAG_FILES = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=DAGS)


def test_every_dag_file_imports(dagbag: DagBag) -> None:
    assert not dagbag.import_errors
    assert dagbag.dags, f"no DAGs found in {DAGS}"


def test_every_dag_has_an_owner_tags_retries_and_triage_docs(dagbag: DagBag) -> None:
    problems = []
    for dag_id, dag in dagbag.dags.items():
        default_args: dict[str, Any] = dag.default_args or {}
        if default_args.get("owner") in (None, "", "airflow"):
            problems.append(f"{dag_id}: set default_args owner (the team to page)")
        if not dag.tags:
            problems.append(f"{dag_id}: give it tags")
        if int(default_args.get("retries", 0)) < 2:
            problems.append(f"{dag_id}: default_args retries must be at least 2")
        missing = [s for s in DOC_SECTIONS if s not in (dag.doc_md or "")]
        if missing:
            problems.append(f"{dag_id}: doc_md lacks the sections {missing}")
        pools = {task.pool for task in dag.tasks} - KNOWN_POOLS
        if pools:
            problems.append(f"{dag_id}: tasks use pools no deployment creates: {sorted(pools)}")
    assert not problems, "\n".join(problems)


def test_nightly_dag_shape(dagbag: DagBag) -> None:
    dag = dagbag.dags["synthgov_nightly"]
    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert (dag.timetable.expression, str(dag.timetable.timezone)) == ("0 2 * * *", "UTC")
    assert (dag.catchup, dag.max_active_runs) == (False, 1)
    assert dag.default_args["owner"] == "data-platform"
    assert set(dag.tags) == {"synthgov", "salesforce", "governance"}
    assert dag.task_dict["plan"].downstream_task_ids == {"extract"}
    readers = {"inspect_media", "read_training_manifests", "read_training_lake_posture"}
    assert dag.task_dict["extract"].downstream_task_ids == readers
    for task_id in readers:
        assert dag.task_dict[task_id].downstream_task_ids == {"load"}
        assert dag.task_dict[task_id].trigger_rule == TriggerRule.NONE_FAILED
    load = dag.task_dict["load"]
    assert isinstance(load, WarehouseLoadOperator)
    assert load.findings_task_ids == ["read_training_manifests", "read_training_lake_posture"]
    assert load.trigger_rule == TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    assert load.pool == WAREHOUSE_POOL
    assert [outlet.name for outlet in load.outlets] == ["synthgov_raw_salesforce"]
    # One dbt build (Cosmos's watcher producer) of every model and seed, then one task per model and seed
    # reporting its result, started by the build whether it failed or not, and the data tests after all.
    dbt_tasks = {task_id: task for task_id, task in dag.task_dict.items() if task_id.startswith("dbt.")}
    producer = dbt_tasks["dbt.dbt_producer_watcher"]
    assert producer.upstream_task_ids == {"export_policies"}
    assert producer.retries == 0 and producer.pool == WAREHOUSE_POOL
    models = {task_id: task for task_id, task in dbt_tasks.items() if getattr(task, "model_unique_id", None)}
    assert len(models) >= 40
    first = {task_id for task_id, task in models.items() if not task.upstream_task_ids & set(models)}
    for task_id, task in models.items():
        assert task.pool == WAREHOUSE_POOL, task_id
        if task_id in first:
            assert task.upstream_task_ids == {"export_policies", producer.task_id}, task_id
            assert task.trigger_rule == TriggerRule.ALL_DONE_MIN_ONE_SUCCESS, task_id
        else:
            assert task.upstream_task_ids <= set(models) and task.trigger_rule == TriggerRule.ALL_SUCCESS, task_id
    assert "dbt.stg_salesforce__leads_run" in first and "dbt.governance_summary_run" not in first
    tests = dbt_tasks["dbt.dbt_project_test"]
    # The project's tests wait for the models' leaves: the summary's history is the last of the governance chain.
    assert not tests.downstream_task_ids & set(models)
    assert "dbt.governance_summary_history_run" in tests.upstream_task_ids
    assert models["dbt.governance_summary_history_run"].upstream_task_ids == {"dbt.governance_summary_run"}
    # Every dbt command runs data tests only: unit tests are CI's (test_dbt_duckdb checks dbt honours it).
    commands = [producer, tests, *models.values()]
    assert all(getattr(task, "env", {}).get("DBT_EXCLUDE_RESOURCE_TYPES") == "unit_test" for task in commands)
    # The instant to judge at reaches dbt in the environment, never as a var: dbt parses the whole project
    # again whenever its vars change, and the window end changes every night.
    as_of = window_end_of("plan")
    assert all(
        getattr(task, "env", {}).get("SYNTHGOV_AS_OF") == as_of and not getattr(task, "vars", None) for task in commands
    )
    assert [t for t in dbt_tasks if t not in {*models, producer.task_id, tests.task_id}] == [
        "dbt.dbt_producer_watcher_done"
    ]


def test_nightly_schedule_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHGOV_NIGHTLY_CRON", "30 3 * * 1-5")
    # DagBag imports the file afresh, so the variable is read again.
    dag = DagBag(dag_folder=DAGS / "synthgov_nightly.py").dags["synthgov_nightly"]
    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert dag.timetable.expression == "30 3 * * 1-5"


# What a DAG processor pays for one DAG file beyond `import airflow`, in a fresh interpreter: Cosmos
# and everything else the file imports included (tests/bench/bench_parse.py reports its median).
# `--storage` first opens an object-storage path, as Cosmos does when it reads the manifest through one
# (registering every provider's filesystem, which imports boto3): the benchmark's baseline.
PARSE_PROBE = """
import importlib.util, json, sys, time
started = time.perf_counter()
import airflow
airflow_done = time.perf_counter()
if "--storage" in sys.argv:
    from airflow.sdk import ObjectStoragePath
    ObjectStoragePath("/tmp").fs
already = set(sys.modules)
spec = importlib.util.spec_from_file_location("dag_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
done = time.perf_counter()
heavy = json.loads(sys.argv[2])
print(json.dumps({"airflow": airflow_done - started, "dag": done - airflow_done,
                  "heavy": [m for m in heavy if m in sys.modules and m not in already]}))
"""


def probe_parse(dag_file: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run PARSE_PROBE on `dag_file` in a fresh interpreter; its timings (s) and the heavy modules loaded."""
    result = subprocess.run(
        [sys.executable, "-c", PARSE_PROBE, str(dag_file), json.dumps(HEAVY_MODULES), *extra],
        capture_output=True,
        text=True,
        env=os.environ.copy() if env is None else env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    probe: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return probe


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=[p.name for p in DAG_FILES])
def test_parsing_imports_no_heavy_library(dag_file: Path) -> None:
    """A fresh interpreter per file, so nothing imported by other tests hides an import."""
    probe = probe_parse(dag_file)
    print(f"{dag_file.name}: import airflow {probe['airflow']:.2f} s, then the DAG module {probe['dag']:.2f} s")
    assert probe["heavy"] == [], f"{dag_file.name} imports {probe['heavy']} at parse time; import them inside tasks"


def test_operators_validate_their_arguments_without_io() -> None:
    with pytest.raises(ValueError, match="not a Salesforce object API name"):
        SalesforceExtractOperator(task_id="bad", object_name="Lead; DROP")
    with pytest.raises(ValueError, match="lake_url must not be empty"):
        SalesforceExtractOperator(task_id="bad", object_name="Lead", lake_url=" ")
    templated = SalesforceExtractOperator(task_id="templated", object_name="{{ params.object }}")
    assert templated.template_fields == ("object_name", "run_id", "window_end")
    with pytest.raises(ValueError, match="run_share must be in"):
        SalesforceExtractOperator(task_id="bad", object_name="Lead", run_share=2.0)
    with pytest.raises(ValueError, match="objects must be a non-empty list"):
        WarehouseLoadOperator(task_id="bad", objects=[])
    assert WarehouseLoadOperator(task_id="load").pool == WAREHOUSE_POOL
    with pytest.raises(ValueError, match="findings_task_ids must be a list of task ids"):
        WarehouseLoadOperator(task_id="bad", findings_task_ids=[""])
    with pytest.raises(ValueError, match="training_lake_url must not be empty"):
        TrainingManifestsOperator(task_id="bad", training_lake_url="")
    with pytest.raises(ValueError, match="lake_url must not be empty"):
        TrainingLakePostureOperator(task_id="bad", lake_url=" ")
