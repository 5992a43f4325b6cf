"""Incremental extraction from the sandbox org into the lake: exactness, resumption, faults, S3."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from simple_salesforce.api import Salesforce

from synthgov import lake as lakes
from synthgov.extract.config import ExtractionConfig, ObjectSpec, load_config
from synthgov.extract.extractor import ExtractionError, extract_object, read_watermark
from synthgov.extract.run import extract_all
from synthgov.lake.runs import new_run_id
from synthgov.salesforce.connection import ApiBudget, Credentials, SalesforceConnection, SalesforceConnectionError
from synthgov.settings import Settings
from synthgov_sandbox.process import SandboxProcess

pytestmark = pytest.mark.integration

SNAPSHOT = {
    "Organization",
    "PermissionSetAssignment",
    "PackageLicense",
    "SetupAuditTrail",
    "InstalledSubscriberPackage",
}


def connect(org: SandboxProcess, **kwargs: Any) -> SalesforceConnection:
    creds = Credentials(
        instance_url=org.instance_url,
        client_id=org.ready["client_id"],
        client_secret=org.ready["client_secret"],
        ca_bundle=org.ca_bundle,
    )
    return SalesforceConnection(creds, **kwargs)


def client(org: SandboxProcess) -> Any:
    return Salesforce(instance_url=org.instance_url, session_id=org.token(), version="59.0")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # No lag: the tests move the org clock themselves.
    return Settings(home=tmp_path, window_lag_seconds=0, bulk_poll_seconds=0)


def manifests(lake: lakes.Lake, obj: str) -> list[dict[str, Any]]:
    keys = [k for k in lake.list(lakes.object_prefix(obj)) if k.endswith(lakes.MANIFEST_NAME)]
    return sorted((json.loads(lake.get_bytes(k)) for k in keys), key=lambda m: str(m["run_id"]))


def rows(lake: lakes.Lake, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in manifest["files"]:
        with lake.open_read(f["key"]) as handle:
            out += pq.read_table(handle).to_pylist()
    return out


def latest_per_id(lake: lakes.Lake, obj: str) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for manifest in manifests(lake, obj):
        for row in rows(lake, manifest):
            current = latest.get(row["Id"])
            if current is None or row["SystemModstamp"] >= current["SystemModstamp"]:
                latest[row["Id"]] = row
    return latest


def org_counts(org: SandboxProcess) -> dict[str, int]:
    objects = org.control("GET", "stats")["objects"]
    return {name: c["records"] + c["recycle_bin"] for name, c in objects.items()}


def test_first_run_extracts_every_record_exactly_once(
    org: SandboxProcess, lake: lakes.Lake, settings: Settings
) -> None:
    config = load_config()
    report = extract_all(connect(org), lake, config, settings)
    assert report.stopped is None and not report.not_done
    counts = org_counts(org)
    for spec in config.objects:
        (manifest,) = manifests(lake, spec.name)
        ids = [r["Id"] for r in rows(lake, manifest)]
        assert len(ids) == len(set(ids)), spec.name
        assert len(ids) == manifest["rows"] == counts[spec.name], spec.name
        sha = {f["sha256"] for f in manifest["files"]}
        assert all(len(s) == 64 for s in sha)
        if spec.mode == "incremental":
            assert read_watermark(lake, spec.name) is not None
        else:
            assert read_watermark(lake, spec.name) is None
    lead = manifests(lake, "Lead")[0]
    assert lead["rows_deleted"] == 5 and lead["query_all"] is True
    assert lead["api_calls"] >= 3
    # The C2PA findings of every seeded file match the sandbox's ground truth.
    # 39 files: 37 inspected, a gzip'd export c2pa does not read and a PNG cut off mid-upload reported.
    assert report.media is not None and report.media.inspected == 37
    assert report.media.not_inspected == {"not_inspectable": 1, "unreadable": 1}
    findings = {r["record_id"]: r for m in report.media.manifests for r in _findings(lake, m)}
    truth = org.control("GET", "ground-truth")["cases"]
    deepfakes = {c["id"] for c in truth if c["object"] == "ContentVersion" and "deepfake_media" in c["labels"]}
    ai = {c["id"] for c in truth if c["object"] == "ContentVersion" and "ai_generated" in c["labels"]}
    assert {i for i, f in findings.items() if f["provenance_class"] == "trainedAlgorithmicMedia"} == deepfakes
    assert {i for i, f in findings.items() if f["ai_generated"]} == ai


def _findings(lake: lakes.Lake, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return rows(lake, manifest)


def test_second_run_reads_only_changes_and_the_lake_matches_the_org(
    org: SandboxProcess, lake: lakes.Lake, settings: Settings
) -> None:
    config = ExtractionConfig(Path("test"), (ObjectSpec("Lead"), ObjectSpec("Contact")))
    extract_all(connect(org), lake, config, settings)
    sf = client(org)
    org.control("POST", "clock", {"advance_days": 1})
    created = [sf.Lead.create({"LastName": f"New{i}", "Company": "Delta"})["id"] for i in range(3)]
    leads = [r["Id"] for r in sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 4")["records"]]
    sf.Lead.update(leads[0], {"Company": "Updated GmbH"})
    sf.Lead.update(leads[1], {"AI_Generated__c": True})
    sf.Lead.delete(leads[2])
    sf.Lead.delete(created[0])
    org.control("POST", "clock", {"advance_days": 1})
    second = extract_all(connect(org), lake, config, settings)
    lead_result = next(o for o in second.objects if o.obj == "Lead")
    assert lead_result.rows == 3 + 3  # 3 created (one of them deleted since) and 3 changed
    assert lead_result.rows_deleted == 2
    contact_result = next(o for o in second.objects if o.obj == "Contact")
    assert contact_result.rows == 0
    # The lake's latest version of every id equals the org, deleted rows included.
    latest = latest_per_id(lake, "Lead")
    org_rows = sf.query_all("SELECT Id, IsDeleted, Company, AI_Generated__c FROM Lead", include_deleted=True)["records"]
    assert set(latest) == {r["Id"] for r in org_rows}
    for r in org_rows:
        got = latest[r["Id"]]
        assert (got["IsDeleted"], got["Company"], got["AI_Generated__c"]) == (
            r["IsDeleted"],
            r["Company"],
            r["AI_Generated__c"],
        )


def test_api_limit_ends_the_run_cleanly_and_the_next_run_catches_up(
    org: SandboxProcess, lake: lakes.Lake, settings: Settings
) -> None:
    config = ExtractionConfig(Path("test"), (ObjectSpec("Account"), ObjectSpec("Lead"), ObjectSpec("Task")))
    small_pages = replace(settings, page_size=200)
    conn = connect(org)
    # The org refuses Lead's second page (another integration spent the budget in between).
    org.control(
        "POST",
        "faults",
        {
            "kind": "http_error",
            "status": 403,
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
            "path": "/queryAll/01g",
            "count": 1,
        },
    )
    report = extract_all(conn, lake, config, small_pages)
    assert report.stopped is not None and "REQUEST_LIMIT_EXCEEDED" in report.stopped
    assert report.not_done == ["Lead", "Task"]
    assert len(manifests(lake, "Account")) == 1
    assert lake.list(lakes.object_prefix("Lead")) == []  # no visible partial file
    assert read_watermark(lake, "Lead") is None
    org.control("DELETE", "faults")
    extract_all(connect(org), lake, config, small_pages)
    counts = org_counts(org)
    for obj in ("Account", "Lead", "Task"):
        all_rows = [r["Id"] for m in manifests(lake, obj) for r in rows(lake, m)]
        assert len(all_rows) == len(set(all_rows)) == counts[obj], obj


def test_budget_guard_stops_before_the_share_is_spent(
    org: SandboxProcess, lake: lakes.Lake, settings: Settings
) -> None:
    config = ExtractionConfig(Path("test"), (ObjectSpec("Lead"),))
    # 0.0005% of the org's 1,000,000 daily calls: this run may make 5 (Lead needs 8 in pages of 200).
    conn = connect(org, budget=ApiBudget(run_share=0.000005))
    report = extract_all(conn, lake, config, replace(settings, page_size=200))
    assert report.stopped is not None and "its cap is 5" in report.stopped
    assert report.api["used_by_run"] == 5
    assert lake.list(lakes.object_prefix("Lead")) == []
    # Near the org's total: the guard stops at 80% before the org would refuse.
    org.control("POST", "faults", {"kind": "api_limit", "remaining": 150_000})
    report = extract_all(connect(org), lake, config, settings)
    assert report.stopped is not None and "stops at 80%" in report.stopped


def test_a_killed_run_leaves_no_visible_partial_file_and_no_gap(
    org: SandboxProcess, tmp_path: Path, settings: Settings
) -> None:
    lake_dir = tmp_path / "lake"
    script = f"""
import sys, time
from pathlib import Path
from synthgov.extract.config import ObjectSpec
from synthgov.extract.extractor import extract_object
from synthgov.lake import LocalLake
from synthgov.lake.runs import new_run_id
from synthgov.salesforce.connection import Credentials, SalesforceConnection
creds = Credentials(instance_url={org.instance_url!r}, client_id={org.ready["client_id"]!r},
                    client_secret={org.ready["client_secret"]!r}, ca_bundle={org.ca_bundle!r})
conn = SalesforceConnection(creds)
now = conn.org_now()
def report(line):
    print(line, flush=True)
    if "page 2," in line:
        time.sleep(60)
extract_object(conn, LocalLake(Path({str(lake_dir)!r})), ObjectSpec("Lead", api="rest"), run_id=new_run_id(now),
               run_start=now, part_rows=200, page_size=200, bulk_threshold=10**9, report=report)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    assert proc.stdout is not None
    for line in proc.stdout:
        if "page 2," in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    lake = lakes.LocalLake(lake_dir)
    leftovers = lake.list(lakes.object_prefix("Lead"))
    assert leftovers and not any(k.endswith(lakes.MANIFEST_NAME) for k in leftovers)  # parts, but no run
    assert read_watermark(lake, "Lead") is None
    conn = connect(org)
    now = conn.org_now()
    result = extract_object(
        conn, lake, ObjectSpec("Lead"), run_id=new_run_id(now), run_start=now, part_rows=200, page_size=200
    )
    assert not (set(leftovers) & set(lake.list(lakes.object_prefix("Lead"))))  # the orphans are gone
    ids = [r["Id"] for m in manifests(lake, "Lead") for r in rows(lake, m)]
    assert len(ids) == len(set(ids)) == result.rows == org_counts(org)["Lead"]


def test_transient_503s_and_expired_sessions_are_survived(
    org: SandboxProcess, lake: lakes.Lake, settings: Settings
) -> None:
    conn = connect(org, retries=4, backoff=0.05)
    now = conn.org_now()
    org.control("POST", "faults", {"kind": "http_error", "status": 503, "path": "/query", "count": 3})

    def report(line: str) -> None:
        if "page 1," in line:
            org.control("POST", "faults", {"kind": "expire_sessions"})

    result = extract_object(
        conn, lake, ObjectSpec("Lead", api="rest"), run_id=new_run_id(now), run_start=now, page_size=200, report=report
    )
    assert result.rows == org_counts(org)["Lead"]
    assert conn.logins == 2  # the first login and one after the sessions expired
    assert org.control("GET", "faults")["faults"] == []  # every injected 503 was used up (and retried)


def test_bulk_api_is_chosen_above_the_threshold(org: SandboxProcess, lake: lakes.Lake, settings: Settings) -> None:
    conn = connect(org)
    now = conn.org_now()
    result = extract_object(conn, lake, ObjectSpec("Lead"), run_id=new_run_id(now), run_start=now, bulk_threshold=100)
    assert result.api == "bulk2"
    assert result.rows == org_counts(org)["Lead"]
    assert result.api_calls <= 7  # describe, count, create, poll, one results page (+ token)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ObjectSpec("Nope__c"), "no object 'Nope__c'"),
        (ObjectSpec("Lead", fields=("Id", "Foo__c")), "field 'Foo__c' does not exist on Lead"),
        (ObjectSpec("Lead", fields=("Id", "Owner.Nope")), "does not exist on User"),
        (ObjectSpec("PermissionSetAssignment"), "needs SystemModstamp"),
    ],
)
def test_bad_config_names_the_object_and_field(
    org: SandboxProcess, tmp_path: Path, spec: ObjectSpec, message: str
) -> None:
    lake = lakes.LocalLake(tmp_path / "lake")
    conn = connect(org)
    now = conn.org_now()
    if spec.name == "PermissionSetAssignment":
        spec = replace(spec, fields=("Id", "AssigneeId"))
    with pytest.raises(ExtractionError, match=message):
        extract_object(conn, lake, spec, run_id=new_run_id(now), run_start=now)
    assert lake.list("") == []  # nothing written, no watermark moved


def test_bad_credentials_and_unreachable_instances_are_clear(org: SandboxProcess) -> None:
    bad = Credentials(instance_url=org.instance_url, client_id="x", client_secret="y", ca_bundle=org.ca_bundle)
    with pytest.raises(SalesforceConnectionError, match=r"login to .* failed .*invalid_client"):
        SalesforceConnection(bad).org_now()
    nowhere = Credentials(instance_url="https://127.0.0.1:9", client_id="x", client_secret="y")
    with pytest.raises(SalesforceConnectionError, match=re.escape("cannot reach https://127.0.0.1:9")):
        SalesforceConnection(nowhere, retries=1, backoff=0.01).org_now()
    with pytest.raises(SalesforceConnectionError, match="https:// My Domain URL"):
        Credentials(instance_url="http://example.invalid", session_id="x")


def test_unwritable_lake_fails_before_any_call(org: SandboxProcess, tmp_path: Path, settings: Settings) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    conn = connect(org, budget=ApiBudget())
    config = ExtractionConfig(Path("test"), (ObjectSpec("Lead"),))
    with pytest.raises(lakes.LakeError, match=str(blocker)):
        extract_all(conn, lakes.LocalLake(blocker), config, settings)
    assert conn.budget.calls == 0


def test_jwt_bearer_login(org: SandboxProcess) -> None:
    key = Path(org.ready["jwt_private_key_file"]).read_text()
    creds = Credentials(
        instance_url=org.instance_url,
        client_id=org.ready["client_id"],
        jwt_private_key=key,
        username="synthgov-integration@demo-org.sandbox",
        ca_bundle=org.ca_bundle,
    )
    conn = SalesforceConnection(creds)
    assert conn.org_now().year == 2026
    assert conn.logins == 1
    stranger = replace(creds, username="nobody@demo-org.sandbox")
    with pytest.raises(SalesforceConnectionError, match="invalid_grant"):
        SalesforceConnection(stranger).org_now()
