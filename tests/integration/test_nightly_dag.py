"""The nightly DAG end to end with dag.test(): sandbox org → lake → DuckDB, and the lineage it reports."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.listeners import hookimpl
from airflow.sdk import DagRunState, TaskInstanceState
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from airflow.sdk.listener import get_listener_manager

from synthgov import lake as lakes
from synthgov.extract.config import load_config
from synthgov.training.zone import open_training_zone
from synthgov_airflow.hooks.salesforce import SynthgovSalesforceHook
from synthgov_airflow.operators.extract import SalesforceExtractOperator
from synthgov_sandbox.process import SandboxProcess

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
MEDIA_FILES = 39  # ContentVersion files the demo org seeds, each with a finding


class _FinishedTasks:
    """An Airflow listener that keeps each successful task instance: dag.test() runs copies of the
    DAG's operators, and only these copies hold what `execute` learnt for the lineage facets."""

    def __init__(self) -> None:
        self.instances: list[Any] = []

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        self.instances.append(task_instance)

    def of(self, task_id: str) -> list[Any]:
        return [ti for ti in self.instances if ti.task_id == task_id]


@pytest.fixture
def home(org: SandboxProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """synthgov's state in a temp folder and the org as the `salesforce_default` connection."""
    home = tmp_path / "synthgov"
    monkeypatch.setenv("SYNTHGOV_HOME", str(home))
    monkeypatch.setenv("SYNTHGOV_LAKE_URL", str(home / "lake"))
    monkeypatch.setenv("SYNTHGOV_DUCKDB_PATH", str(home / "warehouse.duckdb"))
    monkeypatch.delenv("SYNTHGOV_EXTRACT_CONFIG", raising=False)
    # No lag, as in the extractor's tests: the sandbox's clock does not move on its own.
    monkeypatch.setenv("SYNTHGOV_WINDOW_LAG_SECONDS", "0")
    monkeypatch.setenv("SYNTHGOV_BULK_POLL_SECONDS", "0")
    monkeypatch.setenv("AIRFLOW_CONN_SALESFORCE_DEFAULT", org.airflow_connection())
    return home


@pytest.fixture
def finished() -> Iterator[_FinishedTasks]:
    listener = _FinishedTasks()
    manager = get_listener_manager()
    manager.add_listener(listener)  # type: ignore[no-untyped-call]
    try:
        yield listener
    finally:
        manager.pm.unregister(listener)


def expected_rows(org: SandboxProcess) -> dict[str, int]:
    """Live records, plus the Recycle Bin for incremental objects (read with queryAll)."""
    counts = org.control("GET", "stats")["objects"]
    expected = {}
    for spec in load_config().objects:
        count = counts[spec.name]
        expected[spec.name] = count["records"] + (count["recycle_bin"] if spec.mode == "incremental" else 0)
    return expected


def test_nightly_dag_extracts_loads_and_reports_lineage(
    org: SandboxProcess, home: Path, airflow_db: None, finished: _FinishedTasks
) -> None:
    bag = DagBag(dag_folder=REPO / "dags")
    assert not bag.import_errors
    dag = bag.dags["synthgov_nightly"]
    zone = open_training_zone(lakes.open_lake())
    for manifest in org.control("GET", "training-manifests")["manifests"]:
        zone.lake.put_bytes(manifest["key"], json.dumps(manifest["document"]).encode())

    started = time.monotonic()
    run = dag.test()
    print(f"dag.test() of synthgov_nightly took {time.monotonic() - started:.1f} s")

    assert run.state == DagRunState.SUCCESS
    expected = expected_rows(org)
    lake = lakes.open_lake()
    for name in expected:
        manifests = [k for k in lake.list(lakes.object_prefix(name)) if k.endswith(lakes.MANIFEST_NAME)]
        assert len(manifests) == 1, name
    # One run id for the night: the plan's, on every extracted run and on the training snapshots too.
    keys = lake.list()
    night = {lakes.run_id_from_key(k) for k in keys if k.startswith(f"{lakes.RAW_PREFIX}/")}
    snapshots = {lakes.run_id_from_key(k) for k in keys if k.startswith(f"{lakes.RAW_TRAINING_PREFIX}/")}
    assert len(night) == 1 and snapshots == night
    # Every key is on the lake's map.
    assert [k for k in keys if not k.startswith(lakes.MAPPED_PREFIXES)] == []
    # Not read-only: dbt-duckdb keeps a read-write handle open in this process after the in-process build.
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        loaded = {
            name: con.execute(f'SELECT count(*) FROM raw_salesforce."{name.lower()}"').fetchone() for name in expected
        }
        media = con.execute("SELECT count(*) FROM raw_synthgov.contentversion_media").fetchone()
        due = {r[0] for r in con.execute("SELECT record_id FROM marts.retention_candidates").fetchall()}
        controls = con.execute("SELECT count(*) FROM marts.governance_summary").fetchone()
        training = dict(
            con.execute(
                "SELECT control, status || ' ' || findings || ' ' || info_findings FROM marts.governance_summary "
                "WHERE control LIKE 'training%'"
            ).fetchall()
        )
        consent_findings = con.execute(
            "SELECT count(*) FROM marts.finding_training_data_consent WHERE evidence NOT LIKE 'check:manifest %'"
        ).fetchone()
    assert {name: row[0] if row else None for name, row in loaded.items()} == expected
    assert media == (MEDIA_FILES,)
    # The Cosmos task group built the marts as of the org's clock (the run's window end).
    truth = org.control("GET", "ground-truth")["cases"]
    assert due == {c["id"] for c in truth if "retention_due" in c["labels"]}
    assert controls == (10,)
    # The training zone: the demo manifests checked; on a local lake, every bucket control not applicable.
    labelled = sum(len({"training_no_consent", "training_provenance_mismatch"} & set(c["labels"])) for c in truth)
    assert consent_findings == (labelled,)
    assert training["training_data_consent"] == f"findings {labelled + 1} 0"
    assert training["training_lake_posture"] == "not_applicable 0 5"
    succeeded = {ti.task_id for ti in finished.instances}
    assert {"export_policies", "retention_candidates_ready"} <= succeeded
    assert any(t.startswith("dbt.") and t.endswith("_test") for t in succeeded)  # the tests after all models

    # Lineage: each extract names its Salesforce object (with the extracted columns) and its lake run
    # folder; the load reads those same folders and writes the raw tables.
    extracts = {ti.task.object_name: ti for ti in finished.of("extract")}
    assert set(extracts) == set(expected)
    org_namespace = f"salesforce://{urlsplit(org.instance_url).netloc}"
    folders = {}
    for name, ti in extracts.items():
        lineage = ti.task.get_openlineage_facets_on_complete(ti)
        (source,) = lineage.inputs
        assert (source.namespace, source.name) == (org_namespace, name)
        columns = {f.name for f in source.facets["schema"].fields}
        assert "Id" in columns, name
        (output,) = lineage.outputs
        assert output.namespace == "file"
        assert output.name.startswith(str(home / "lake" / "raw" / "salesforce" / name / "run_date=")), output.name
        folders[name] = output.name
    lead_schema = extracts["Lead"].task.get_openlineage_facets_on_complete(extracts["Lead"]).inputs[0].facets["schema"]
    assert {"IsDeleted", "SystemModstamp", "AI_Generated__c"} <= {f.name for f in lead_schema.fields}

    (media_ti,) = finished.of("inspect_media")
    media_lineage = media_ti.task.get_openlineage_facets_on_complete(media_ti)
    assert (org_namespace, "ContentVersion") in {(d.namespace, d.name) for d in media_lineage.inputs}
    assert folders["ContentVersion"] in {d.name for d in media_lineage.inputs}
    (findings,) = media_lineage.outputs
    assert "/raw/salesforce_files/ContentVersion/" in findings.name

    training_runs = set()
    zone_folder = home / "lake" / "training"
    for task_id, read in (
        ("read_training_manifests", zone_folder / "manifests"),
        ("read_training_lake_posture", zone_folder),
    ):
        (ti,) = finished.of(task_id)
        lineage = ti.task.get_openlineage_facets_on_complete(ti)
        assert [(d.namespace, d.name) for d in lineage.inputs] == [("file", str(read))]
        training_runs |= {d.name for d in lineage.outputs}
    assert len(training_runs) == 3 and all("/raw/training/Training_" in name for name in training_runs)

    (load_ti,) = finished.of("load")
    load_lineage = load_ti.task.get_openlineage_facets_on_complete(load_ti)
    assert {d.name for d in load_lineage.inputs} == set(folders.values()) | {findings.name} | training_runs
    duckdb_namespace = f"duckdb://{home / 'warehouse.duckdb'}"
    synthgov_tables = [
        "ContentVersion_Media",
        "Training_Manifests",
        "Training_Manifest_Records",
        "Training_Lake_Posture",
    ]
    raw_tables = [f"raw_salesforce.{name}" for name in expected] + [f"raw_synthgov.{name}" for name in synthgov_tables]
    assert {(d.namespace, d.name) for d in load_lineage.outputs} == {
        # <catalog>.<schema>.<table>, the catalog being the file's stem: the name dbt's lineage gives the sources.
        (duckdb_namespace, f"warehouse.{name.lower()}")
        for name in raw_tables
    }


def test_spent_api_budget_skips_the_extraction_and_the_run_ends_cleanly(
    org: SandboxProcess, home: Path, airflow_db: None
) -> None:
    org.control("POST", "faults", {"kind": "api_limit", "remaining": 0})
    dag = DagBag(dag_folder=REPO / "dags").dags["synthgov_nightly"]

    run = dag.test()

    assert run.state == DagRunState.SUCCESS
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    extracts = {state for (task_id, _), state in states.items() if task_id == "extract"}
    assert states[("plan", -1)] == TaskInstanceState.SKIPPED
    assert extracts == {TaskInstanceState.SKIPPED}
    assert states[("inspect_media", -1)] == states[("load", -1)] == TaskInstanceState.SUCCESS
    assert not lakes.open_lake().list(lakes.RAW_PREFIX)


def test_unconfigured_object_fails_without_retry(org: SandboxProcess, home: Path) -> None:
    operator = SalesforceExtractOperator(task_id="extract_case", object_name="Case")
    with pytest.raises(AirflowFailException, match="no object 'Case' is configured"):
        operator.execute({})


def test_hook_reaches_the_org_and_names_what_is_missing(
    org: SandboxProcess, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok, message = SynthgovSalesforceHook().test_connection()
    assert ok, message
    assert org.instance_url in message

    monkeypatch.setenv(
        "AIRFLOW_CONN_SALESFORCE_BROKEN",
        json.dumps({"conn_type": "salesforce", "extra": {"instance_url": org.instance_url, "client_id": "x"}}),
    )
    with pytest.raises(
        AirflowException, match=r"'salesforce_broken' has no credentials: set the extra 'client_secret'"
    ):
        SynthgovSalesforceHook("salesforce_broken").get_credentials()
    ok, message = SynthgovSalesforceHook("salesforce_broken").test_connection()
    assert not ok and "client_secret" in message


class _Faults:
    """Hides raw tables once `load` has written them, so the dbt build fails on the models reading them.

    `broken` stays hidden (its model fails on every try); `flaky` comes back when its model's task first
    fails, so its retry (Cosmos then runs that one model itself) finds it.
    """

    def __init__(self, warehouse: Path, *, broken: str, flaky: str, flaky_task_id: str) -> None:
        self.warehouse, self.broken, self.flaky, self.flaky_task_id = warehouse, broken, flaky, flaky_task_id

    def _rename(self, table: str, new: str) -> None:
        schema, name = table.split(".")
        with duckdb.connect(str(self.warehouse)) as con:
            con.execute(f'ALTER TABLE {schema}."{name}" RENAME TO "{new}"')

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        if task_instance.task_id == "load":
            self._rename(self.broken, "hidden_broken")
            self._rename(self.flaky, "hidden_flaky")

    @hookimpl
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
        if task_instance.task_id == self.flaky_task_id and task_instance.try_number == 1:
            self._rename(f"{self.flaky.split('.')[0]}.hidden_flaky", self.flaky.split(".")[1])


def test_a_failing_model_fails_its_task_and_those_after_it_and_a_retried_model_recovers(
    org: SandboxProcess, home: Path, airflow_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from synthgov import lineage
    from tests.conftest import LINEAGE_HOME

    monkeypatch.setenv("SYNTHGOV_RETRY_DELAY_SECONDS", "0")  # read when dag.test() parses the file again
    dag = DagBag(dag_folder=REPO / "dags").dags["synthgov_nightly"]
    broken, flaky = "dbt.stg_salesforce__permission_sets_run", "dbt.stg_salesforce__installed_packages_run"
    faults = _Faults(
        home / "warehouse.duckdb",
        broken="raw_salesforce.permissionset",
        flaky="raw_salesforce.installedsubscriberpackage",
        flaky_task_id=flaky,
    )
    events_log = lineage.event_log_path(LINEAGE_HOME)
    seen = events_log.stat().st_size if events_log.exists() else 0
    manager = get_listener_manager()
    manager.add_listener(faults)  # type: ignore[no-untyped-call]
    try:
        run = dag.test()
    finally:
        manager.pm.unregister(faults)

    assert run.state == DagRunState.FAILED
    tis = {ti.task_id: ti for ti in run.get_task_instances() if ti.task_id.startswith("dbt.")}
    states = {task_id: ti.state for task_id, ti in tis.items()}
    # The one build ran every model it could and failed; the broken model's task failed on every try
    # (its retries ran the model again), everything after it never ran.
    assert states["dbt.dbt_producer_watcher"] == TaskInstanceState.FAILED
    assert (states[broken], tis[broken].try_number) == (TaskInstanceState.FAILED, 3)
    for after in ("dbt.finding_ai_tool_access_run", "dbt.governance_summary_run", "dbt.dbt_project_test"):
        assert states[after] == TaskInstanceState.UPSTREAM_FAILED, after
    others = {"retention_candidates_ready", "report"}
    assert {ti.task_id: ti.state for ti in run.get_task_instances() if ti.task_id in others} == dict.fromkeys(
        others, TaskInstanceState.UPSTREAM_FAILED
    )
    # The flaky model failed in the build, its retry ran it alone, and the model after it (which the
    # build skipped) retried and ran too.
    assert (states[flaky], tis[flaky].try_number) == (TaskInstanceState.SUCCESS, 2)
    assert states["dbt.finding_ai_capable_packages_run"] == TaskInstanceState.SUCCESS
    # The rest is visible as built by the one build: first try, success.
    for task_id in ("dbt.stg_salesforce__leads_run", "dbt.provenance_ledger_run", "dbt.policy_retention_seed"):
        assert (states[task_id], tis[task_id].try_number) == (TaskInstanceState.SUCCESS, 1), task_id
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        packages = con.execute("SELECT count(*) FROM marts.finding_ai_capable_packages").fetchone()
        ledger = con.execute("SELECT count(*) FROM marts.provenance_ledger").fetchone()
    assert packages is not None and ledger is not None and ledger[0] > 0

    # Lineage: one model run per model and run of it, each with its model's task run as parent.
    with events_log.open("rb") as f:
        f.seek(seen)
        events = [json.loads(line) for line in f.read().splitlines() if line.strip()]
    task_runs = {
        (e["job"]["name"], e["run"]["runId"]) for e in events if e["job"]["name"].startswith("synthgov_nightly.dbt.")
    }
    models: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        parent = e["run"]["facets"].get("parent")
        if parent and parent["job"]["name"].startswith("synthgov_nightly.dbt.") and e["eventType"] != "START":
            models.setdefault(e["job"]["name"].rsplit(".", 1)[-1], []).append(e)
    for e in (event for runs in models.values() for event in runs):
        parent = e["run"]["facets"]["parent"]
        assert (parent["job"]["name"], parent["run"]["runId"]) in task_runs, parent
    assert [e["eventType"] for e in models["stg_salesforce__leads"]] == ["COMPLETE"]
    assert models["stg_salesforce__leads"][0]["run"]["facets"]["parent"]["job"]["name"] == (
        "synthgov_nightly.dbt.stg_salesforce__leads_run"
    )
    # The flaky model: its failed build, then its retry, each under its own task run.
    flaky_runs = models["stg_salesforce__installed_packages"]
    assert [e["eventType"] for e in flaky_runs] == ["FAIL", "COMPLETE"]
    assert len({e["run"]["facets"]["parent"]["run"]["runId"] for e in flaky_runs}) == 2
    assert {e["eventType"] for e in models["stg_salesforce__permission_sets"]} == {"FAIL"}
