"""The C2PA inspector over every file of the demo org, scored against the org's planted ground truth."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from synthgov.provenance.c2pa_inspect import NOT_INSPECTED_STATUSES, MediaFinding, inspect_media
from synthgov.provenance.formats import hint_mime
from synthgov_sandbox.demo.media import load_or_create_identity
from synthgov_sandbox.process import SandboxProcess

pytestmark = pytest.mark.integration

API = "/services/data/v59.0"


def _get(org: SandboxProcess, path: str, **kwargs: Any) -> requests.Response:
    response = requests.get(
        f"{org.instance_url}{path}",
        headers={"Authorization": f"Bearer {org.token()}"},
        verify=org.ca_bundle,
        timeout=60,
        **kwargs,
    )
    response.raise_for_status()
    return response


def content_versions(org: SandboxProcess) -> list[dict[str, Any]]:
    page = _get(
        org,
        f"{API}/query",
        params={"q": "SELECT Id, Title, PathOnClient, FileType, FileExtension, ContentSize FROM ContentVersion"},
    )
    body = page.json()
    records = list(body["records"])
    while not body["done"]:
        body = _get(org, body["nextRecordsUrl"]).json()
        records += body["records"]
    return records


def inspect_all(org: SandboxProcess, *, trust_anchors_pem: bytes | None = None) -> dict[str, MediaFinding]:
    """Every ContentVersion, downloaded and inspected. (Speed is measured in tests/bench, not asserted here.)"""
    findings: dict[str, MediaFinding] = {}
    for version in content_versions(org):
        data = _get(org, f"{API}/sobjects/ContentVersion/{version['Id']}/VersionData").content
        assert len(data) == version["ContentSize"]
        findings[version["Id"]] = inspect_media(
            version["Id"],
            data,
            hint_mime(version["FileType"], version["FileExtension"]),
            trust_anchors_pem=trust_anchors_pem,
        )
    return findings


def labelled(truth: dict[str, Any], label: str) -> set[str]:
    return {c["id"] for c in truth["cases"] if c["object"] == "ContentVersion" and label in c["labels"]}


def precision_recall(predicted: set[str], actual: set[str]) -> tuple[float, float]:
    hits = len(predicted & actual)
    return hits / len(predicted) if predicted else 1.0, hits / len(actual) if actual else 1.0


def test_inspector_finds_exactly_the_planted_ai_and_deepfake_files(org: SandboxProcess) -> None:
    truth = org.control("GET", "ground-truth")
    findings = inspect_all(org)
    labels_by_id: dict[str, set[str]] = {}
    for case in truth["cases"]:
        if case["object"] == "ContentVersion":
            labels_by_id.setdefault(case["id"], set()).update(case["labels"])

    deepfakes = labelled(truth, "deepfake_media")
    ai_generated = labelled(truth, "ai_generated")
    untagged = labelled(truth, "untagged_ai")
    assert deepfakes and ai_generated and untagged  # the demo org plants all three
    assert {f.status for f in findings.values()} == {"manifest", "no_manifest", "not_inspectable", "unreadable"}

    predicted_deepfakes = {i for i, f in findings.items() if f.provenance_class == "trainedAlgorithmicMedia"}
    predicted_ai = {i for i, f in findings.items() if f.ai_generated}
    assert precision_recall(predicted_deepfakes, deepfakes) == (1.0, 1.0)
    assert precision_recall(predicted_ai, ai_generated) == (1.0, 1.0)
    assert predicted_deepfakes == deepfakes
    assert predicted_ai == ai_generated

    assert all(findings[i].has_manifest for i in untagged)
    for record_id, finding in findings.items():
        if not labels_by_id.get(record_id):
            assert not finding.has_manifest or finding.provenance_class == "digitalCapture", finding
        if finding.has_manifest:
            assert finding.validation_state == "Valid"
            assert "signingCredential.untrusted" in finding.validation_errors
            assert finding.software_agents and finding.signer
    assert any(f.provenance_class == "digitalCapture" for f in findings.values())
    assert any(not f.has_manifest for f in findings.values())


def test_sandbox_ca_as_anchor_makes_every_manifest_trusted(org: SandboxProcess) -> None:
    ca = load_or_create_identity(org.state_dir).ca_cert_pem
    findings = inspect_all(org, trust_anchors_pem=ca)
    signed = [f for f in findings.values() if f.has_manifest]
    assert signed
    assert {f.validation_state for f in signed} == {"Trusted"}
    assert all(f.validation_errors == () for f in signed)


def test_an_ai_image_whose_name_says_nothing_is_found_from_its_bytes(org: SandboxProcess) -> None:
    truth = org.control("GET", "ground-truth")
    (version,) = [v for v in content_versions(org) if v["Title"] == "IMG_0042"]
    # As Salesforce derives them for a name without an extension: nothing to go on.
    assert (version["PathOnClient"], version["FileType"], version["FileExtension"]) == ("IMG_0042", "UNKNOWN", None)
    assert hint_mime(version["FileType"], version["FileExtension"]) is None
    labels = {c["id"]: set(c["labels"]) for c in truth["cases"] if c["object"] == "ContentVersion"}
    assert labels[version["Id"]] == {"ai_generated", "untagged_ai", "deepfake_media"}
    findings = inspect_all(org)
    finding = findings[version["Id"]]
    assert (finding.status, finding.mime, finding.declared_mime) == ("manifest", "image/jpeg", None)
    assert (finding.provenance_class, finding.ai_generated, finding.synthetic_kind) == (
        "trainedAlgorithmicMedia",
        True,
        "generative_ai",
    )


def test_files_inspection_cannot_look_into_are_reported_with_their_reason(org: SandboxProcess) -> None:
    truth = org.control("GET", "ground-truth")
    planted = {
        c["id"]: c["evidence"]["media_not_inspected"]
        for c in truth["cases"]
        if c["object"] == "ContentVersion" and "media_not_inspected" in c["labels"]
    }
    findings = inspect_all(org)
    reported = {i: f for i, f in findings.items() if f.status in NOT_INSPECTED_STATUSES}
    assert precision_recall(set(reported), set(planted)) == (1.0, 1.0)
    assert sorted(planted.values()) == ["not_inspectable:application/x-gzip", "unreadable:image/png"]
    for record_id, evidence in planted.items():
        finding = reported[record_id]
        assert f"{finding.status}:{finding.mime}" == evidence
        assert not finding.has_manifest and not finding.ai_generated
        assert finding.detail, "a file not inspected says why"
    gzipped = next(f for f in reported.values() if f.status == "not_inspectable")
    assert gzipped.detail == "the bytes are application/x-gzip, which c2pa does not read"
