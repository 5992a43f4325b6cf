"""synthgov's OpenLineage pieces without servers: settings, names, facets and their schemas, the validator."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.serde import Serde

from synthgov.lineage import (
    EventLogError,
    controls,
    datasets,
    event_log_path,
    facets,
    read_events,
    summaries,
    transport_config,
    transport_from_env,
)
from synthgov.lineage.validation import EventValidator, run_pairing_problems
from synthgov.policies import load_policies
from synthgov.warehouse import DuckDBWarehouse
from synthgov_airflow.lineage import (
    HITL_POLICY,
    IN_THREAD_ENV,
    NAMESPACE_ENV,
    POLICY_ENV,
    TRANSPORT_ENV,
    configure_openlineage_env,
    emit,
    emit_dbt_model_events,
    openlineage_env,
)
from tests.lineage_support import openlineage_transport

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
# The official OpenLineage JSON Schemas, vendored so a clone anywhere validates (see its README.md).
SPEC = REPO / "tests" / "fixtures" / "openlineage-spec"
LEDGER_ENTRY: dict[str, Any] = {
    "kind": "retention.purge",
    "plan_id": "20261102T090112Z-a048b6",
    "plan_sha256": "a" * 64,
    "run_kind": "ad_hoc",
    "reason": "TICKET-1",
    "requested_by": "dag_test",
    "approver": "compliance.officer",
    "approval_required": True,
    "policies": {"ai-task-90d": {"object": "Task"}},
    "counts": {
        "planned": 3,
        "skipped_at_plan": {"legal_hold": 1},
        "deferred": 0,
        "outcome_purged": 2,
        "outcome_failed": 1,
    },
    "api_calls": 4,
    "outcomes": [{"id_sha256": "b" * 64, "object": "Task", "outcome": "purged"}] * 3,
    "verification": {"ok": False, "salesforce_alive": 1, "lake_leftovers": 0, "failed_records": 1},
    "seq": 7,
    "entry_sha256": "c" * 64,
}


@pytest.fixture(scope="module")
def validator() -> EventValidator:
    if not SPEC.is_dir():
        pytest.skip(f"the vendored OpenLineage spec schemas are missing from {SPEC}")
    return EventValidator(SPEC)


def _event(run_facets: dict[str, Any] | None = None, job_facets: dict[str, Any] | None = None) -> RunEvent:
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime="2026-11-02T09:00:00+00:00",
        run=Run(runId=str(uuid.uuid4()), facets=run_facets or {}),
        job=Job(namespace="synthgov", name="unit.test", facets=job_facets or {}),
        producer=facets.PRODUCER,
    )


# -- where events go --------------------------------------------------------------------------------


def test_events_go_to_a_json_lines_file_under_synthgov_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SYNTHGOV_HOME", str(tmp_path))
    assert event_log_path() == tmp_path / "lineage" / "events.jsonl"
    assert transport_config(event_log_path()) == {
        "type": "file",
        "log_file_path": str(tmp_path / "lineage" / "events.jsonl"),
        "append": True,
    }


def test_with_a_url_events_also_go_to_http_with_few_retries(tmp_path: Path) -> None:
    config = transport_from_env(
        tmp_path, {"OPENLINEAGE_URL": "http://localhost:5000", "OPENLINEAGE_API_KEY": "k", "OPENLINEAGE_ENDPOINT": "x"}
    )
    assert config["type"] == "composite" and config["continue_on_failure"] is True
    file, http = config["transports"]
    assert file["log_file_path"] == str(tmp_path / "lineage" / "events.jsonl")
    assert (http["url"], http["endpoint"], http["auth"]) == (
        "http://localhost:5000",
        "x",
        {"type": "api_key", "apiKey": "k"},
    )
    assert http["retry"]["total"] <= 2 and http["timeout"] <= 5


def test_airflow_settings_are_defaults_the_deployment_can_override(tmp_path: Path) -> None:
    env = openlineage_env(tmp_path, {})
    assert env[NAMESPACE_ENV] == "synthgov" and env[IN_THREAD_ENV] == "True"
    assert json.loads(env[TRANSPORT_ENV])["log_file_path"] == str(tmp_path / "lineage" / "events.jsonl")
    assert openlineage_env(tmp_path, {"OPENLINEAGE_NAMESPACE": "acme-prod"})[NAMESPACE_ENV] == "acme-prod"
    # A transport of the deployment's own (in any of the provider's places) is left alone.
    for own in (
        TRANSPORT_ENV,
        "AIRFLOW__OPENLINEAGE__CONFIG_PATH",
        "OPENLINEAGE_CONFIG",
        "OPENLINEAGE__TRANSPORT__TYPE",
    ):
        assert TRANSPORT_ENV not in openlineage_env(tmp_path, {own: "x"}), own
    assert openlineage_env(tmp_path, {NAMESPACE_ENV: "mine"}).get(NAMESPACE_ENV) is None
    assert openlineage_env(tmp_path, {"AIRFLOW__OPENLINEAGE__DISABLED": "true"}) == {}
    assert json.loads(env[POLICY_ENV]) == HITL_POLICY


def test_approval_tasks_send_no_task_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deferred ApprovalOperator resumes under the same run id, so its run would get a second START."""
    from airflow.providers.openlineage.utils.emission_policy import resolve_task_emission_policy
    from airflow.providers.standard.operators.hitl import ApprovalOperator
    from airflow.sdk import BaseOperator

    monkeypatch.setenv(POLICY_ENV, json.dumps(HITL_POLICY))
    from synthgov_airflow.operators.retention.steps import RetentionApprovalOperator

    approve = ApprovalOperator(task_id="approve", subject="s")
    assert resolve_task_emission_policy(approve, "d", "approve").emit is False
    # The retention DAG's own, which keeps the answer for the ledger, defers the same way.
    retention_approve = RetentionApprovalOperator(task_id="retention_approve", subject="s")
    assert resolve_task_emission_policy(retention_approve, "d", "retention_approve").emit is False
    assert resolve_task_emission_policy(BaseOperator(task_id="other"), "d", "other").emit is True


def test_configure_sets_only_what_is_missing_and_makes_the_log_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (TRANSPORT_ENV, NAMESPACE_ENV, IN_THREAD_ENV, POLICY_ENV, "OPENLINEAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(NAMESPACE_ENV, "kept")
    added = configure_openlineage_env(tmp_path / "home")
    assert set(added) == {TRANSPORT_ENV, IN_THREAD_ENV, POLICY_ENV}
    assert (tmp_path / "home" / "lineage").is_dir()
    assert configure_openlineage_env(tmp_path / "home") == {}


def test_the_event_log_reads_back_and_names_a_damaged_line(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    assert read_events(log) == []
    log.write_text('{"eventType": "START"}\n\n{"eventType": "COMPLETE"}\n')
    assert [e["eventType"] for e in read_events(log)] == ["START", "COMPLETE"]
    log.write_text('{"eventType": "START"}\n{"eventTy')
    with pytest.raises(EventLogError, match=r"events.jsonl:2: not JSON"):
        read_events(log)


# -- dataset names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "namespace"),
    [
        ("https://Acme.my.salesforce.com", "salesforce://acme.my.salesforce.com"),
        ("https://acme.my.salesforce.com:443/", "salesforce://acme.my.salesforce.com"),
        ("https://127.0.0.1:45023", "salesforce://127.0.0.1:45023"),
        ("acme--uat.sandbox.my.salesforce.com", "salesforce://acme--uat.sandbox.my.salesforce.com"),
    ],
)
def test_salesforce_objects_are_named_by_the_org_my_domain(url: str, namespace: str) -> None:
    assert datasets.salesforce_namespace(url) == namespace


def test_warehouse_tables_are_named_as_dbt_names_them(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    namespace, name = warehouse.lineage_namespace, warehouse.dataset_name("raw_salesforce.lead")
    assert (namespace, name) == (f"duckdb://{tmp_path / 'warehouse.duckdb'}", "warehouse.raw_salesforce.lead")
    assert datasets.purged_set_name("Task", "p1") == "Task/purges/p1"


# -- synthgov's facets ------------------------------------------------------------------------------


def test_each_facet_has_a_schema_in_the_repo_that_its_url_points_at() -> None:
    for key, cls in facets.FACET_CLASSES.items():
        url = cls._get_schema()  # type: ignore[attr-defined]
        path = facets.schema_file(url)
        assert path is not None and path.name == f"{cls.__name__}.json", url
        schema = json.loads(path.read_text())
        assert schema["$id"] == url.split("#")[0] == facets.schema_id(cls.__name__)
        assert schema["properties"] == {key: {"$ref": f"#/$defs/{cls.__name__}"}}
    assert facets.schema_file("https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json") is None


def test_facets_serialize_like_openlineage_ones_and_validate(validator: EventValidator, tmp_path: Path) -> None:
    policies = load_policies()
    retention = summaries.retention_policy_facet(policies.retention, policies.directory / "retention.yml")
    receipt = summaries.purge_receipt(LEDGER_ENTRY, key="evidence/retention/ledger/0000000007.jsonl")
    regulatory = controls.controls_facet("retention_apply", controls.retention_policy_controls(policies.retention))
    provenance = facets.ProvenanceSummaryDatasetFacet(
        records=3,
        heuristicRecords=1,
        syntheticPersonas=0,
        humanReviewed=1,
        disclosed=2,
        legalHold=0,
        byProvenanceClass=[facets.ProvenanceClassCount("trainedAlgorithmicMedia", 3)],
        byEvidence=[facets.EvidenceCount("c2pa", 2), facets.EvidenceCount("text_marker", 1)],
        byObject=[facets.ObjectCount("EmailMessage", 3)],
        asOf="2026-11-02T09:00:00+00:00",
    )
    event = _event(
        {facets.PURGE_RECEIPT_KEY: receipt},
        {facets.RETENTION_POLICY_KEY: retention, facets.REGULATORY_CONTROLS_KEY: regulatory},
    )
    from openlineage.client.event_v2 import OutputDataset

    event.outputs = [
        OutputDataset(
            namespace="duckdb:///w.duckdb",
            name="w.marts.provenance_ledger",
            facets={facets.PROVENANCE_SUMMARY_KEY: provenance},
        )
    ]
    data = json.loads(Serde.to_json(event))
    report = validator.validate([data, {**data, "eventType": "START"}])
    assert report.ok, report.problems
    assert set(report.facets_checked) == set(facets.FACET_CLASSES)
    written = data["run"]["facets"][facets.PURGE_RECEIPT_KEY]
    assert written["_producer"] == facets.PRODUCER and written["_schemaURL"].startswith("urn:synthgov:lineage:facets:")
    assert written["outcomes"] == {"purged": 2, "failed": 1} and written["plannedByObject"] == {"Task": 3}
    assert written["verification"] == {"ok": False, "salesforceAlive": 1, "lakeLeftovers": 0, "failedRecords": 1}
    assert written["ledgerEntry"] == {"seq": 7, "sha256": "c" * 64, "key": "evidence/retention/ledger/0000000007.jsonl"}
    policy = next(p for p in data["job"]["facets"][facets.RETENTION_POLICY_KEY]["policies"] if p["id"] == "ai-task-90d")
    assert policy == {
        "id": "ai-task-90d",
        "object": "Task",
        "appliesTo": "ai_generated",
        "days": 90,
        "clock": "generated_at",
        "action": "soft_delete",
        "regulation": "GDPR Art. 5(1)(e)",
        "approvalThreshold": 500,
        "exempt": ["legal_hold", "human_reviewed"],
        "maskFields": [],
        "maxRecords": 5000,
        "maxFraction": 0.2,
    }


def test_a_facet_that_breaks_its_schema_is_reported(validator: EventValidator) -> None:
    receipt = json.loads(Serde.to_json(summaries.purge_receipt(LEDGER_ENTRY, key="k")))
    receipt["planSha256"] = "not a hash"
    data = json.loads(Serde.to_json(_event()))
    data["run"]["facets"] = {facets.PURGE_RECEIPT_KEY: receipt}
    report = validator.validate([data, {**data, "eventType": "START"}])
    assert any("planSha256" in p and "does not match" in p for p in report.problems), report.problems


def test_marquez_requirements_and_run_pairing_are_checked(validator: EventValidator) -> None:
    data = json.loads(Serde.to_json(_event()))
    broken = {**data, "eventTime": "2026-11-02T09:00:00", "run": {"runId": "run-1"}, "producer": ""}
    problems = validator.validate([broken]).problems
    assert any("no time zone" in p for p in problems)
    assert any("not a UUID" in p for p in problems) and any("no producer" in p for p in problems)
    assert run_pairing_problems([data]) and not run_pairing_problems([data, {**data, "eventType": "START"}])
    assert run_pairing_problems([data, data, {**data, "eventType": "START"}])


# -- emission never fails a task --------------------------------------------------------------------


def test_emission_to_an_unwritable_log_neither_raises_nor_blocks(airflow_db: None, tmp_path: Path) -> None:
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    with openlineage_transport(transport_config(blocked / "events.jsonl")):
        emit([_event()])  # synthgov's own emission
        get_openlineage_listener().adapter.emit(_event())  # the provider's, as the listener calls it
    assert blocked.read_text() == ""


def test_the_dbt_callback_never_raises(tmp_path: Path) -> None:
    emit_dbt_model_events(str(tmp_path))  # Cosmos without a context
    emit_dbt_model_events(str(tmp_path), context={"ti": None, "task": object()})  # no artifacts there
