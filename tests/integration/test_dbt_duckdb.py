"""dbt build on DuckDB against the sandbox demo org: every rule-based planted case lands in its mart.

The warehouse is built once for the module: the demo org is reseeded and extracted, then changed
(a soft delete, a legal hold, a removed permission set assignment, an edit) and extracted again, so
staging must pick the latest version of every record, drop deleted ones and read snapshot objects
from the latest run only. The demo org's training-data manifests are put in the lake's training zone
and read, and the posture of a training bucket with gaps (on moto's S3 server) is read. The ground
truth is read after the changes (it is computed live), and dbt runs in-process on a copy of
dbt_project/ so the repository's project is never written to.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from synthgov.extract.config import load_config
from synthgov.extract.run import extract_all, load_all
from synthgov.lake import LocalLake
from synthgov.policies import export_for_dbt, load_policies
from synthgov.salesforce.connection import Credentials, SalesforceConnection
from synthgov.settings import Settings
from synthgov.training.manifest import read_training_manifests
from synthgov.training.posture import PUBLIC_ACCESS_SETTINGS, read_training_lake_posture
from synthgov.training.zone import open_training_zone
from synthgov.warehouse import RAW_SCHEMA, DuckDBWarehouse
from synthgov_sandbox.process import SandboxProcess
from tests.conftest import REPO

pytestmark = pytest.mark.integration

# Evidence the ground truth marks as heuristic; everything else is rule-based and must match exactly.
HEURISTIC = "text_marker"
# Written by `synthgov policies export` or by dbt itself: never copied from the repository.
_GENERATED = {Path("seeds/policy"), Path("macros/generated"), Path("target"), Path("logs"), Path("dbt_packages")}

Keys = set[tuple[str, str]]


@dataclass(frozen=True)
class Changes:
    """What the fixture did to the org between the two extraction runs."""

    deleted_email: str
    held_task: str
    deleted_persona: str
    deleted_assignment: str
    edited_lead: str


@dataclass(frozen=True)
class Built:
    project: Path
    warehouse: Path
    truth: dict[str, Any]
    as_of: str
    changes: Changes
    training_bucket: str

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        # dbt-duckdb keeps its database open in this process after dbt returns, and DuckDB refuses a
        # second handle on the file with other options (read_only): open it exactly as plainly.
        with duckdb.connect(str(self.warehouse)) as con:
            return con.execute(sql, list(params)).fetchall()

    def keys(self, sql: str) -> Keys:
        return {(str(obj), str(rid)) for obj, rid in self.query(sql)}


def connect(org: SandboxProcess) -> SalesforceConnection:
    creds = Credentials(
        instance_url=org.instance_url,
        client_id=org.ready["client_id"],
        client_secret=org.ready["client_secret"],
        ca_bundle=org.ca_bundle,
    )
    return SalesforceConnection(creds)


def dbt(project: Path, *args: str) -> Any:
    """Run dbt in-process on the project copy; returns dbt's result after asserting success."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [*args, "--project-dir", str(project), "--profiles-dir", str(project), "--target", "duckdb"]
    )
    assert result.success, f"dbt {' '.join(args)} failed: {result.exception or result.result}"
    return result


def _case(truth: dict[str, Any], obj: str, wanted: Callable[[dict[str, str]], bool]) -> str:
    return next(str(c["id"]) for c in truth["cases"] if c["object"] == obj and wanted(c["evidence"]))


def _change_the_org(org: SandboxProcess) -> Changes:
    """Edits a nightly run must follow; each one moves a ground-truth label."""
    before = org.control("GET", "ground-truth")
    changes = Changes(
        deleted_email=_case(
            before,
            "EmailMessage",
            lambda e: (
                e.get("ai_generated") == "explicit_field"
                and "retention_due" in e
                and "undisclosed_ai_communication" in e
            ),
        ),
        held_task=_case(before, "Task", lambda e: e.get("ai_generated") == "explicit_field" and "retention_due" in e),
        deleted_persona=_case(before, "Contact", lambda e: "synthetic_persona_in_pipeline" in e),
        deleted_assignment=_case(before, "PermissionSetAssignment", lambda e: "unapproved_ai_tool_access" in e),
        edited_lead=_case(before, "Lead", lambda e: "automated_decision_without_review" in e),
    )
    org.control("POST", "clock", {"advance_days": 0.01})
    org.rest("DELETE", f"sobjects/EmailMessage/{changes.deleted_email}")
    org.rest("DELETE", f"sobjects/Contact/{changes.deleted_persona}")
    org.rest("DELETE", f"sobjects/PermissionSetAssignment/{changes.deleted_assignment}")
    org.rest("PATCH", f"sobjects/Task/{changes.held_task}", json={"Legal_Hold__c": True})
    org.rest("PATCH", f"sobjects/Lead/{changes.edited_lead}", json={"Company": "Renamed AG"})
    org.control("POST", "clock", {"advance_days": 0.01})
    return changes


def _copy_project(tmp: Path) -> Path:
    source = REPO / "dbt_project"

    def generated(directory: str, names: list[str]) -> list[str]:
        here = Path(directory).relative_to(source)
        return [name for name in names if here / name in _GENERATED]

    project = tmp / "dbt_project"
    shutil.copytree(source, project, ignore=generated)
    return project


def _warehouse_columns(path: Path) -> dict[str, set[str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ?", [RAW_SCHEMA]
        ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(str(table), set()).add(str(column))
    return columns


def _org_time(value: str) -> str:
    """The ground truth's clock (``2026-11-02T09:00:02.001+0000``) as ISO 8601 for the dbt var."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").isoformat()


def _training_zone(org: SandboxProcess, lake: LocalLake, s3_admin: Any, s3_server: str) -> tuple[list[Any], str]:
    """The demo manifests in the lake's training zone, and a training bucket with gaps; both read as a nightly does."""
    zone = open_training_zone(lake, None)
    for manifest in org.control("GET", "training-manifests")["manifests"]:
        zone.lake.put_bytes(manifest["key"], json.dumps(manifest["document"]).encode())
    manifests = read_training_manifests(lake, zone, run_id="20261102T090000Z-traina").manifests
    bucket = f"training-gaps-{uuid.uuid4().hex[:10]}"
    s3_admin.create_bucket(Bucket=bucket)
    blocked = dict.fromkeys(PUBLIC_ACCESS_SETTINGS, True) | {"BlockPublicPolicy": False}
    s3_admin.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=blocked)
    s3_zone = open_training_zone(lake, f"s3://{bucket}/sets")
    posture = read_training_lake_posture(lake, s3_zone, run_id="20261102T090000Z-trainb").manifests
    return manifests + posture, bucket


@pytest.fixture(scope="module")
def built(
    demo_org: SandboxProcess, tmp_path_factory: pytest.TempPathFactory, s3_server: str, _s3_admin: Any
) -> Iterator[Built]:
    tmp = tmp_path_factory.mktemp("dbt-duckdb")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", demo_org.ca_bundle)
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "SYNTHGOV_S3_ENDPOINT_URL": s3_server,
        }.items():
            mp.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL", "SYNTHGOV_TRAINING_LAKE_URL"):
            mp.delenv(name, raising=False)
        demo_org.control("DELETE", "faults")
        demo_org.control("POST", "seed", {"profile": "demo", "scale": 1, "seed": 42})
        demo_org.token(fresh=True)  # a reseed ends every session

        config = load_config()
        objects = [spec.name for spec in config.objects]
        lake = LocalLake(tmp / "lake")
        warehouse = DuckDBWarehouse(tmp / "w.duckdb")
        settings = Settings(home=tmp, window_lag_seconds=0, bulk_poll_seconds=0)
        first = extract_all(connect(demo_org), lake, config, settings)
        load_all(lake, warehouse, objects, first.media.manifests if first.media else [])
        changes = _change_the_org(demo_org)
        second = extract_all(connect(demo_org), lake, config, settings)
        load_all(lake, warehouse, objects, second.media.manifests if second.media else [])
        training, training_bucket = _training_zone(demo_org, lake, _s3_admin, s3_server)
        load_all(lake, warehouse, [], training)
        truth = demo_org.control("GET", "ground-truth")

        project = _copy_project(tmp)
        policies = load_policies(known_objects=set(objects), known_columns=_warehouse_columns(warehouse.path))
        export_for_dbt(policies, project)
        mp.setenv("SYNTHGOV_DUCKDB_PATH", str(warehouse.path))
        as_of = _org_time(truth["now"])
        started = time.monotonic()
        result = dbt(project, "build", "--vars", json.dumps({"as_of": as_of}))
        build_seconds = time.monotonic() - started
        kinds: dict[str, int] = {}
        for node_result in result.result.results:
            kind = str(node_result.node.resource_type)
            kinds[kind] = kinds.get(kind, 0) + 1
        print(f"dbt build: {build_seconds:.1f} s, {kinds}")
        yield Built(project, warehouse.path, truth, as_of, changes, training_bucket)


def truth_keys(truth: dict[str, Any], label: str, *, heuristic: bool) -> Keys:
    """(object, id) of the cases carrying the label with heuristic (text-marker) or rule-based evidence."""
    return {
        (str(c["object"]), str(c["id"]))
        for c in truth["cases"]
        if label in c["evidence"] and (c["evidence"][label].split(":")[0] == HEURISTIC) == heuristic
    }


def precision_recall(predicted: Keys, expected: Keys) -> tuple[float, float]:
    hits = len(predicted & expected)
    return (hits / len(predicted) if predicted else 1.0, hits / len(expected) if expected else 1.0)


# Every rule-based label of the ground truth and the mart rows that must be exactly its cases.
RULE_BASED = {
    "ai_generated": "select object_name, record_id from marts.provenance_ledger where not is_heuristic",
    "untagged_ai": "select object_name, entity_id from marts.finding_untagged_ai_content "
    "where evidence not like 'text_marker:%'",
    "deepfake_media": "select object_name, record_id from marts.provenance_ledger "
    "where object_name = 'ContentVersion' and provenance_class = 'trainedAlgorithmicMedia'",
    "undisclosed_ai_communication": "select object_name, entity_id from marts.finding_undisclosed_ai_communications",
    "synthetic_persona_in_pipeline": "select object_name, entity_id from marts.finding_synthetic_personas_in_pipeline",
    "automated_decision_without_review": "select object_name, entity_id "
    "from marts.finding_automated_decisions_without_review",
    "unapproved_ai_tool_access": "select object_name, entity_id from marts.finding_ai_tool_access",
    "unapproved_ai_package": "select object_name, entity_id from marts.finding_ai_capable_packages",
    "legal_hold": "select object_name, record_id from marts.provenance_ledger where not is_heuristic and legal_hold",
    "retention_due": "select object_name, record_id from marts.retention_candidates",
    "media_not_inspected": "select object_name, entity_id from marts.finding_media_not_inspected",
    # A consent finding is addressed to its manifest entry, a provenance finding to the entry's declaration.
    "training_no_consent": "select f.object_name, r.record_id from marts.finding_training_data_consent as f "
    "join staging.stg_training__manifest_records as r on f.entity_id = r.manifest_entry_id",
    "training_provenance_mismatch": "select f.object_name, r.record_id from marts.finding_training_data_consent as f "
    "join staging.stg_training__manifest_records as r on f.entity_id = r.manifest_entry_id || '/declared_provenance'",
}
HEURISTIC_SQL = {
    "ai_generated": "select object_name, record_id from marts.provenance_ledger where is_heuristic",
    "untagged_ai": "select object_name, entity_id from marts.finding_untagged_ai_content "
    "where evidence like 'text_marker:%'",
}


@pytest.mark.parametrize("label", sorted(RULE_BASED))
def test_rule_based_labels_match_the_ground_truth_exactly(built: Built, label: str) -> None:
    expected = truth_keys(built.truth, label, heuristic=False)
    predicted = built.keys(RULE_BASED[label])
    precision, recall = precision_recall(predicted, expected)
    print(f"{label}: {len(expected)} planted, precision {precision:.3f}, recall {recall:.3f}")
    assert expected, f"the demo org plants no {label} case; the test would prove nothing"
    assert (precision, recall) == (1.0, 1.0), (
        f"{label}: not found {sorted(expected - predicted)[:5]}, wrongly found {sorted(predicted - expected)[:5]}"
    )


def test_ledger_evidence_is_the_strongest_the_ground_truth_names(built: Built) -> None:
    planted = {
        (str(c["object"]), str(c["id"])): c["evidence"]["ai_generated"].split(":")[0]
        for c in built.truth["cases"]
        if "ai_generated" in c["evidence"]
    }
    ledger = {
        (str(o), str(r)): str(e)
        for o, r, e in built.query("select object_name, record_id, evidence from marts.provenance_ledger")
    }
    assert ledger == planted


def test_heuristic_text_markers_are_reported_not_acted_on(built: Built) -> None:
    for label, sql in HEURISTIC_SQL.items():
        expected = truth_keys(built.truth, label, heuristic=True)
        precision, recall = precision_recall(built.keys(sql), expected)
        print(
            f"heuristic {label} (text markers): {len(expected)} planted, precision {precision:.3f}, recall {recall:.3f}"
        )
        assert expected, f"the demo org plants no text-marker {label} case"
    heuristic = built.keys(HEURISTIC_SQL["ai_generated"])
    assert heuristic.isdisjoint(built.keys(RULE_BASED["retention_due"]))
    assert heuristic.isdisjoint(built.keys(RULE_BASED["undisclosed_ai_communication"]))
    confidence = built.query("select distinct confidence from marts.provenance_ledger where is_heuristic")
    assert confidence == [("low",)]


def test_an_ai_image_whose_name_says_nothing_is_in_the_ai_ledger(built: Built) -> None:
    rows = built.query(
        'select distinct l.provenance_class, l.synthetic_kind, l.evidence, l.is_heuristic, v."FileType", '
        'v."FileExtension" from marts.provenance_ledger as l join raw_salesforce.contentversion as v '
        "on v.\"Id\" = l.record_id where l.object_name = 'ContentVersion' and v.\"Title\" = 'IMG_0042'"
    )
    # FileType UNKNOWN and no extension: only the bytes can say it is an image, and they say AI.
    assert rows == [("trainedAlgorithmicMedia", "generative_ai", "c2pa", False, "UNKNOWN", None)]


def test_files_not_inspected_are_counted_with_their_reason(built: Built) -> None:
    planted = truth_keys(built.truth, "media_not_inspected", heuristic=False)
    reasons = dict(built.query("select severity, split_part(evidence, ':', 1) from marts.finding_media_not_inspected"))
    # A format c2pa cannot read is low (it cannot carry credentials c2pa would see); a damaged file medium.
    assert reasons == {"low": "not_inspectable", "medium": "unreadable"}
    summary = built.query(
        "select findings, medium_findings, low_findings, status from marts.governance_summary "
        "where control = 'media_not_inspected'"
    )
    assert summary == [(len(planted), 1, 1, "findings")] and len(planted) == 2


def test_staging_follows_the_latest_version_deletes_and_snapshots(built: Built) -> None:
    changes, query = built.changes, built.query
    # The deleted e-mail was loaded twice (as made, then as deleted) and is gone from every mart.
    assert query('select count(*) from raw_salesforce.emailmessage where "Id" = ?', changes.deleted_email) == [(2,)]
    for sql in (
        "select count(*) from marts.provenance_ledger where record_id = ?",
        "select count(*) from marts.retention_candidates where record_id = ?",
        "select count(*) from marts.finding_undisclosed_ai_communications where entity_id = ?",
        "select count(*) from marts.provenance_lineage where from_id = ?",
    ):
        assert query(sql, changes.deleted_email) == [(0,)], sql
    # The task put on hold stays in the ledger with its hold, and is no longer due.
    assert query("select legal_hold from marts.provenance_ledger where record_id = ?", changes.held_task) == [(True,)]
    assert query("select count(*) from marts.retention_candidates where record_id = ?", changes.held_task) == [(0,)]
    # The persona and the assignment (a snapshot object: absent from the latest run) are gone.
    persona = "select count(*) from marts.finding_synthetic_personas_in_pipeline where entity_id = ?"
    assert query(persona, changes.deleted_persona) == [(0,)]
    assignment = changes.deleted_assignment
    assert query('select count(*) from raw_salesforce.permissionsetassignment where "Id" = ?', assignment) == [(1,)]
    assert query("select count(*) from marts.finding_ai_tool_access where entity_id = ?", assignment) == [(0,)]
    # The edited lead is read in its new version and is still one finding.
    lead = changes.edited_lead
    assert query("select company from staging.stg_salesforce__leads where lead_id = ?", lead) == [("Renamed AG",)]
    art22 = "select count(*) from marts.finding_automated_decisions_without_review where entity_id = ?"
    assert query(art22, lead) == [(1,)]


def test_lead_scoring_bias_finds_the_planted_gap(built: Built) -> None:
    planted = built.truth["aggregates"]["lead_score_gap"]
    rows = built.query("select entity_id, severity, regulation, evidence from marts.finding_lead_scoring_bias")
    assert [(r[0], r[1], r[2]) for r in rows] == [(planted["model"], "high", "NIST AI RMF MEASURE 2.11")]
    measured = dict(part.split(":", 1) for part in rows[0][3].split())
    assert int(measured["synthetic_n"]) == planted["synthetic_n"]
    assert int(measured["other_n"]) == planted["authentic_n"]
    assert float(measured["synthetic_mean"]) == pytest.approx(planted["synthetic_mean"], abs=0.011)
    assert float(measured["other_mean"]) == pytest.approx(planted["authentic_mean"], abs=0.011)
    assert float(measured["mean_gap"]) == pytest.approx(planted["gap"], abs=0.011)


def test_governance_summary_counts_every_control(built: Built) -> None:
    rows = built.query(
        "select control, findings, high_findings, medium_findings, low_findings, info_findings, status, "
        "insufficient_data_reason from marts.governance_summary"
    )
    summary = {str(r[0]): (int(r[1]), int(r[2]) + int(r[3]) + int(r[4]), int(r[5]), str(r[6])) for r in rows}
    assert len(summary) == 10
    # The demo org gives every control enough to judge: no control may hide behind insufficient_data.
    assert {str(r[0]): r[7] for r in rows} == dict.fromkeys(summary)
    for control, (findings, by_severity, info, status) in summary.items():
        assert findings == by_severity
        table = f"marts.finding_{control}"
        assert built.query(f"select count(*) from {table} where severity <> 'info'") == [(findings,)]
        assert built.query(f"select count(*) from {table} where severity = 'info'") == [(info,)]
        assert status == ("findings" if findings else "not_applicable" if info else "no_findings")
    consent = built.query("select count(*) from marts.finding_training_data_consent")[0][0]
    assert summary["training_data_consent"] == (consent, consent, 0, "findings")
    assert summary["training_lake_posture"] == (4, 4, 0, "findings")
    # Every finding table has the same columns, in the same order.
    columns = {
        control: built.query(
            "select column_name, data_type from information_schema.columns "
            f"where table_schema = 'marts' and table_name = 'finding_{control}' order by ordinal_position"
        )
        for control in summary
    }
    assert len({tuple(c) for c in columns.values()}) == 1
    assert [name for name, _ in next(iter(columns.values()))] == [
        "finding_id",
        "entity_id",
        "object_name",
        "finding",
        "severity",
        "regulation",
        "evidence",
        "detected_at",
    ]


def test_dbt_docs_generate_documents_every_model_and_column(built: Built) -> None:
    dbt(built.project, "docs", "generate", "--vars", json.dumps({"as_of": built.as_of}))
    manifest = json.loads((built.project / "target" / "manifest.json").read_text())
    catalog = json.loads((built.project / "target" / "catalog.json").read_text())
    models = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    assert models and set(models) <= set(catalog["nodes"])
    undocumented = [
        f"{node['name']}.{column}"
        for uid, node in models.items()
        for column in catalog["nodes"][uid]["columns"]
        if not node["columns"].get(column, {}).get("description")
    ]
    assert not [node["name"] for node in models.values() if not node["description"]]
    assert not undocumented


def test_training_findings_besides_the_labelled_ones(built: Built) -> None:
    """The draft manifest's schema problems, nothing about records the CRM lacks, and the bucket's gaps exactly."""
    checks = built.query(
        "select split_part(evidence, ' ', 1), count(*) from marts.finding_training_data_consent group by 1 order by 1"
    )
    labelled = {label: truth_keys(built.truth, label, heuristic=False) for label in RULE_BASED if "training" in label}
    assert checks == [
        ("check:consent", len(labelled["training_no_consent"])),
        ("check:manifest", 1),
        ("check:provenance", len(labelled["training_provenance_mismatch"])),
    ]
    (manifest,) = built.query(
        "select entity_id, object_name, severity, evidence from marts.finding_training_data_consent "
        "where evidence like 'check:manifest %'"
    )
    assert manifest == (
        "manifests/churn-forecast-draft.json",
        "TrainingManifest",
        "medium",
        "check:manifest problems:3 first:(manifest): 'purpose' is a required property",
    )
    # The draft's one valid entry is still checked (it is a consent case only if its person refused).
    assert built.query(
        "select count(*) from staging.stg_training__manifest_records where manifest_key = ?",
        "manifests/churn-forecast-draft.json",
    ) == [(1,)]
    zone = f"s3://{built.training_bucket}/sets"
    assert built.query(
        "select entity_id, severity, evidence from marts.finding_training_lake_posture order by entity_id"
    ) == [
        (f"{zone}#access_logging", "high", "control:access_logging status:fail server_access_logging:off"),
        (f"{zone}#default_encryption", "medium", "control:default_encryption status:fail default_encryption:none"),
        (f"{zone}#public_access_block", "high", "control:public_access_block status:fail off:BlockPublicPolicy"),
        (f"{zone}#versioning", "medium", "control:versioning status:fail versioning:never_enabled"),
    ]


def test_the_nightly_runs_data_tests_and_leaves_unit_tests_to_ci(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment the nightly's Cosmos tasks give dbt (synthgov_airflow.dbt.dbt_env) keeps unit tests out.

    The build above ran them all (CI); `dbt test` as the nightly's test task runs it runs every data
    test and no unit test.
    """
    from synthgov_airflow.dbt import dbt_env

    env = dbt_env()
    for name, value in env.items():
        if name.startswith("DBT_"):
            monkeypatch.setenv(name, value)
    result = dbt(built.project, "test", "--vars", json.dumps({"as_of": built.as_of}))
    kinds: dict[str, int] = {}
    for node_result in result.result.results:
        kind = str(node_result.node.resource_type)
        kinds[kind] = kinds.get(kind, 0) + 1
    manifest = json.loads((built.project / "target" / "manifest.json").read_text())
    data_tests = sum(1 for node in manifest["nodes"].values() if node["resource_type"] == "test")
    assert manifest["unit_tests"], "the project has unit tests (they run in make test)"
    assert kinds == {"test": data_tests}, kinds
