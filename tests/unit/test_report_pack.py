"""The regulator evidence pack from a small hand-made warehouse: files, numbers, escaping, nothing external.

The warehouse here holds only the marts the pack reads, with the columns dbt gives them; the
integration test builds the real ones from the demo org and compares the pack with SQL on them.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest

from synthgov.cli import main
from synthgov.lake import LocalLake
from synthgov.report import ReportError, build_report, remediation
from synthgov.report.lineage import latest_generation, layout, read_events, section, short_label
from synthgov.report.lineage_groups import grouped
from synthgov.retention.evidence import EvidenceLedger
from synthgov.salesforce.ids import hash_record_id
from synthgov.warehouse import DuckDBWarehouse

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
AS_OF = "2026-11-02 09:00:00+00"
HOSTILE = '<script>alert("x")</script><img src=https://evil.example/x.png onerror=alert(1)>'
FORMULA = '=HYPERLINK("https://evil.example","click")'
SF = "salesforce://demo.my.salesforce.com"
UNJUDGED = "synthetic group of 3 leads below min_group_size 20 (model LeadScorer v3)"
WH = "duckdb:///srv/synthgov/warehouse.duckdb"

_MARTS = f"""
CREATE SCHEMA marts;
CREATE TABLE marts.governance_summary AS SELECT * FROM (VALUES
  ('untagged_ai_content', 'finding_untagged_ai_content', 'EU AI Act Art. 50(2); NIST AI 100-4', 'Untagged AI content',
   3, 1, 1, 1, 1, 0, 'findings', NULL, TIMESTAMPTZ '{AS_OF}'),
  ('automated_decisions_without_review', 'finding_automated_decisions_without_review', 'GDPR Art. 22',
   'No human review', 0, 0, 0, 0, 0, 0, 'no_findings', NULL, TIMESTAMPTZ '{AS_OF}'),
  ('training_lake_posture', 'finding_training_lake_posture', 'GDPR Art. 32', 'Bucket controls',
   0, 0, 0, 0, 0, 2, 'not_applicable', NULL, TIMESTAMPTZ '{AS_OF}'),
  ('lead_scoring_bias', 'finding_lead_scoring_bias', 'NIST AI RMF MEASURE 2.11', 'Score gap',
   0, 0, 0, 0, 0, 0, 'insufficient_data', '{UNJUDGED}', TIMESTAMPTZ '{AS_OF}')
) t(control, finding_table, regulation, description, findings, high_findings, medium_findings, low_findings,
    heuristic_findings, info_findings, status, insufficient_data_reason, as_of);
CREATE TABLE marts.finding_lead_scoring_bias (finding_id VARCHAR, entity_id VARCHAR, object_name VARCHAR,
  finding VARCHAR, severity VARCHAR, regulation VARCHAR, evidence VARCHAR, detected_at TIMESTAMPTZ);
CREATE TABLE marts.finding_untagged_ai_content AS SELECT * FROM (VALUES
  ('untagged_ai_content:02s1', '02s1', 'EmailMessage', 'Made by an AI integration user', 'medium',
   'EU AI Act Art. 50(2); NIST AI 100-4', 'integration_user:genai@demo', TIMESTAMPTZ '{AS_OF}'),
  ('untagged_ai_content:068a', '068a', 'ContentVersion', $h${HOSTILE}$h$, 'high',
   'EU AI Act Art. 50(2); NIST AI 100-4', 'c2pa:trainedAlgorithmicMedia', TIMESTAMPTZ '{AS_OF}'),
  ('untagged_ai_content:02s2', '02s2', 'EmailMessage', $f${FORMULA}$f$, 'low',
   'EU AI Act Art. 50(2); NIST AI 100-4', 'text_marker:as an ai language model', TIMESTAMPTZ '{AS_OF}')
) t(finding_id, entity_id, object_name, finding, severity, regulation, evidence, detected_at);
CREATE TABLE marts.finding_automated_decisions_without_review (finding_id VARCHAR, entity_id VARCHAR,
  object_name VARCHAR, finding VARCHAR, severity VARCHAR, regulation VARCHAR, evidence VARCHAR,
  detected_at TIMESTAMPTZ);
CREATE TABLE marts.finding_training_lake_posture AS SELECT * FROM (VALUES
  ('training_lake_posture:logging', 'logging', 'TrainingZone', 'not applicable on a local folder', 'info',
   'GDPR Art. 32', 'check:logging', TIMESTAMPTZ '{AS_OF}'),
  ('training_lake_posture:versioning', 'versioning', 'TrainingZone', 'not applicable on a local folder', 'info',
   'GDPR Art. 32', 'check:versioning', TIMESTAMPTZ '{AS_OF}')
) t(finding_id, entity_id, object_name, finding, severity, regulation, evidence, detected_at);
CREATE TABLE marts.provenance_ledger AS SELECT * FROM (VALUES
  ('EmailMessage:02s1', 'EmailMessage', '02s1', 'trainedAlgorithmicMedia', 'integration_user', 'medium', false,
   false, NULL, false, false, false),
  ('EmailMessage:02s3', 'EmailMessage', '02s3', 'trainedAlgorithmicMedia', 'explicit_field', 'high', false,
   false, 'Einstein GPT', true, true, false),
  ('Lead:00Q1', 'Lead', '00Q1', 'trainedAlgorithmicData', 'explicit_field', 'high', false, true,
   'SynthPersona Studio', false, false, true),
  ('EmailMessage:02s2', 'EmailMessage', '02s2', 'trainedAlgorithmicMedia', 'text_marker', 'low', true, false,
   NULL, false, false, false)
) t(ledger_id, object_name, record_id, provenance_class, evidence, confidence, is_heuristic,
    is_synthetic_persona, ai_tool, human_reviewed, disclosed, legal_hold);
CREATE TABLE marts.retention_candidates AS SELECT * FROM (VALUES
  ('ai-email-180d:EmailMessage:02s3', 'ai-email-180d', 'EmailMessage', '02s3', 'ai_generated', 'explicit_field',
   'generated_at', TIMESTAMPTZ '2026-01-01 00:00:00+00', 180, TIMESTAMPTZ '2026-06-30 00:00:00+00', 'soft_delete',
   'GDPR Art. 5(1)(e)')
) t(candidate_id, policy_id, object_name, record_id, applies_to, evidence, clock, clock_at, retention_days, due_at,
    action, regulation);
"""


def write_events(path: Path) -> dict[str, str]:
    """A small OpenLineage log in the shape Airflow's provider and Cosmos write: two nightly runs (the
    older must not be drawn), mapped extracts, a load, a dbt model, and a purge that drops a Salesforce
    object (closing a cycle: the object is extracted, then purged). Returns the run ids used."""
    ids = {name: str(uuid.uuid4()) for name in ("old_dag", "dag", "retention", "purge")}
    job_facets = {
        "synthgov_retention.apply": {
            "synthgov_regulatoryControls": {
                "_producer": "synthgov-tests",
                "_schemaURL": "urn:synthgov:lineage:facets:1-0-0:RegulatoryControlsJobFacet.json",
                "controls": [{"control": "retention.erasure", "regulations": ["GDPR Art. 17", "GDPR Art. 5(1)(e)"]}],
            }
        }
    }
    events: list[dict[str, Any]] = []

    def event(
        kind: str,
        job: str,
        run: str,
        parent: str | None,
        at: str,
        inputs: Sequence[tuple[str, str]] = (),
        outputs: Sequence[tuple[str, str]] = (),
        drop: bool = False,
    ) -> None:
        facets: dict[str, Any] = {}
        if parent:
            parent_job = job.split(".", maxsplit=1)[0]
            facets["parent"] = {"run": {"runId": parent}, "job": {"namespace": "synthgov", "name": parent_job}}
        out_facets = {"lifecycleStateChange": {"lifecycleStateChange": "DROP"}} if drop else {}
        events.append(
            {
                "eventType": kind,
                "eventTime": at,
                "producer": "synthgov-tests",
                "run": {"runId": run, "facets": facets},
                "job": {"namespace": "synthgov", "name": job, "facets": job_facets.get(job, {})},
                "inputs": [{"namespace": n, "name": d, "facets": {}} for n, d in inputs],
                "outputs": [{"namespace": n, "name": d, "facets": dict(out_facets)} for n, d in outputs],
            }
        )

    old_folder = "/lake/raw/salesforce/Lead/run_date=2026-11-01/run_id=20261101T020000Z-aaaaaa"
    event("START", "synthgov_nightly.extract", "old-extract", ids["old_dag"], "2026-11-01T02:00:00Z")
    event("COMPLETE", "synthgov_nightly.extract", "old-extract", ids["old_dag"], "2026-11-01T02:01:00Z",
          [(SF, "Lead")], [("file", old_folder)])  # fmt: skip
    event("START", "synthgov_nightly", ids["dag"], None, "2026-11-02T02:00:00Z")
    folders = []
    for n, obj in enumerate(("Lead", "EmailMessage")):
        folder = f"/lake/raw/salesforce/{obj}/run_date=2026-11-02/run_id=20261102T020000Z-bbbbbb"
        folders.append(("file", folder))
        run = f"extract-{n}"
        event("START", "synthgov_nightly.extract", run, ids["dag"], "2026-11-02T02:00:10Z")
        event("COMPLETE", "synthgov_nightly.extract", run, ids["dag"], "2026-11-02T02:01:00Z",
              [(SF, obj)], [("file", folder)])  # fmt: skip
    raw = [(WH, "raw_salesforce.lead"), (WH, "raw_salesforce.emailmessage")]
    event("COMPLETE", "synthgov_nightly.load", "load", ids["dag"], "2026-11-02T02:02:00Z", folders, raw)
    event("COMPLETE", "synthgov.marts.retention_candidates", "dbt-1", "load", "2026-11-02T02:03:00Z",
          raw, [(WH, "marts.retention_candidates")])  # fmt: skip
    event("COMPLETE", "synthgov_retention.apply", ids["purge"], ids["retention"], "2026-11-02T03:00:00Z",
          [(WH, "marts.retention_candidates")], [(SF, "EmailMessage")], drop=True)  # fmt: skip
    event("FAIL", "synthgov_retention.verify", "verify", ids["retention"], "2026-11-02T03:01:00Z",
          [(SF, "EmailMessage")])  # fmt: skip
    dataset_event = {"eventTime": "2026-11-02T02:05:00Z", "dataset": {"namespace": WH, "name": "marts.x"}}
    text = "".join(json.dumps(e) + "\n" for e in [*events, dataset_event])
    path.write_text(text + "{not json\n\n[1, 2]\n")
    return ids


def write_manifest(project: Path) -> None:
    (project / "target").mkdir(parents=True)
    manifest = {
        "metadata": {"dbt_version": "1.11.0", "generated_at": "2026-11-02T01:00:00Z"},
        "nodes": {
            "model.synthgov.governance_summary": {
                "resource_type": "model",
                "unique_id": "model.synthgov.governance_summary",
                "name": "governance_summary",
                "schema": "marts",
                "alias": "governance_summary",
                "fqn": ["synthgov", "marts", "governance", "governance_summary"],
                "description": "One row per governance control.",
                "columns": {"control": {"name": "control", "description": f"The control. {HOSTILE}"}},
            },
            "test.synthgov.unique_x": {"resource_type": "test", "name": "unique_x"},
        },
        "sources": {},
    }
    (project / "target" / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("SYNTHGOV_HOME", str(tmp_path / "home"))
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute(_MARTS)
    lake = LocalLake(tmp_path / "lake")
    appended = EvidenceLedger(lake).append(
        {
            "kind": "retention.purge",
            "plan_id": "20261102T030000Z-abc123",
            "plan_sha256": "ab" * 32,
            "run_kind": "scheduled",
            "reason": HOSTILE,
            "approver": None,
            "approval_required": False,
            "counts": {"planned": 2, "outcome_purged": 1, "outcome_skipped": 1},
            "outcomes": [
                {"id_sha256": hash_record_id("02s5g000000001nAAA"), "object": "EmailMessage", "outcome": "purged"},
                {"id_sha256": "cd" * 32, "object": "EmailMessage", "outcome": "skipped", "code": "ENTITY_IS_DELETED"},
            ],
            "verification": {"ok": True, "salesforce_alive": 0},
        }
    )
    events = tmp_path / "events.jsonl"
    ids = write_events(events)
    project = tmp_path / "dbt_project"
    write_manifest(project)
    yield {
        "warehouse": warehouse,
        "lake": lake,
        "events": events,
        "project": project,
        "entry_sha256": appended.sha256,
        "ids": ids,
        "tmp": tmp_path,
    }


def pack_of(world: dict[str, Any], out: Path | None, **overrides: Any) -> Any:
    kwargs: dict[str, Any] = {
        "warehouse": world["warehouse"],
        "lake": world["lake"],
        "events_file": world["events"],
        "dbt_project": world["project"],
        "now": NOW,
    }
    return build_report(out, **(kwargs | overrides))


def test_the_pack_holds_every_file_with_its_sha256(world: dict[str, Any]) -> None:
    pack = pack_of(world, world["tmp"] / "pack")
    on_disk = sorted(str(p.relative_to(pack.folder)) for p in pack.folder.rglob("*") if p.is_file())
    assert on_disk == sorted(pack.files)
    assert {"index.html", "bundle.json", "SHA256SUMS", "data/findings.csv"} <= set(pack.files)
    listed = {}
    for line in (pack.folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    assert set(listed) == set(pack.files) - {"SHA256SUMS"}
    for name, digest in listed.items():
        assert hashlib.sha256((pack.folder / name).read_bytes()).hexdigest() == digest, name


def test_the_bundle_says_what_the_marts_and_the_ledger_hold(world: dict[str, Any]) -> None:
    bundle = json.loads((pack_of(world, world["tmp"] / "pack").folder / "bundle.json").read_text())
    assert bundle["pack"]["format"] == "synthgov-evidence-pack"
    governance = bundle["governance"]
    controls = {c["control"]: c for c in governance["controls"]}
    assert set(controls) == {
        "untagged_ai_content",
        "automated_decisions_without_review",
        "training_lake_posture",
        "lead_scoring_bias",
    }
    untagged = controls["untagged_ai_content"]
    assert (untagged["findings"], untagged["high_findings"], untagged["regulation"]) == (
        3,
        1,
        "EU AI Act Art. 50(2); NIST AI 100-4",
    )
    assert [r["severity"] for r in untagged["rows"]] == ["high", "medium", "low"]  # worst first
    assert controls["automated_decisions_without_review"]["rows"] == []
    assert (governance["totals"]["findings"], governance["totals"]["info_findings"]) == (3, 2)
    assert governance["totals"]["controls_with_findings"] == 1
    assert governance["totals"]["controls_insufficient_data"] == 1
    assert (controls["lead_scoring_bias"]["status"], controls["lead_scoring_bias"]["insufficient_data_reason"]) == (
        "insufficient_data",
        UNJUDGED,
    )
    assert governance["as_of"].startswith("2026-11-02T09:00:00")

    provenance = bundle["provenance"]
    assert (provenance["records"], provenance["is_heuristic"], provenance["is_synthetic_persona"]) == (4, 1, 1)
    assert {i["value"]: i["records"] for i in provenance["by"]["provenance_class"]} == {
        "trainedAlgorithmicMedia": 3,
        "trainedAlgorithmicData": 1,
    }
    assert {i["value"]: i["records"] for i in provenance["by"]["ai_tool"]} == {
        None: 2,
        "Einstein GPT": 1,
        "SynthPersona Studio": 1,
    }
    assert bundle["retention"]["candidates"] == 1
    assert bundle["retention"]["by_policy"][0]["policy_id"] == "ai-email-180d"

    evidence = bundle["evidence"]
    assert evidence["verification"]["ok"] is True
    assert evidence["verification"]["head_sha256"] == world["entry_sha256"]
    (receipt,) = evidence["receipts"]
    assert receipt["entry_sha256"] == world["entry_sha256"]
    assert receipt["outcome_counts"] == {"purged": 1, "skipped": 1}
    assert "outcomes" not in receipt and len(evidence["outcomes"]) == 2

    assert {"retention", "ai_tools", "mapping"} <= set(bundle["policies"])
    assert set(bundle["policies"]["files_sha256"]) >= {"retention.yml", "ai_tools.yml", "provenance_mapping.yml"}
    (dataset,) = bundle["docs"]["datasets"]
    assert dataset["relation"] == "marts.governance_summary"
    columns = {c["name"]: c for c in dataset["columns"]}
    assert columns["control"]["documented"] and columns["control"]["type"] == "VARCHAR"
    assert not columns["as_of"]["documented"]  # a column dbt does not describe is still listed, with its type


def test_the_page_references_nothing_outside_itself(world: dict[str, Any]) -> None:
    html = (pack_of(world, world["tmp"] / "pack").folder / "index.html").read_text()
    found = _Elements()
    found.feed(html)
    assert found.tags["svg"] >= 2, "the charts and the lineage graph are inline SVG"
    for tag in ("script", "link", "img", "iframe", "object", "embed", "base", "form", "audio", "video", "source"):
        assert found.tags[tag] == 0, f"<{tag}> in the page"
    for tag, name, value in found.attributes:
        if name in ("src", "srcset", "href", "xlink:href", "action", "formaction", "poster", "data", "background"):
            assert value.startswith("#"), f"<{tag} {name}={value!r}> points outside the page"
        assert not name.startswith("on"), f"<{tag} {name}=...>: an event handler"
        assert "://" not in value or name in ("title", "aria-label"), f"<{tag} {name}={value!r}>"
        if name in {"style", "marker-end"}:
            assert all(ref.startswith("#") for ref in re.findall(r"url\(\s*['\"]?([^'\")]*)", value)), value
    style = "".join(found.styles)
    assert "@import" not in style and "@font-face" not in style
    assert all(ref.startswith("#") for ref in re.findall(r"url\(\s*['\"]?([^'\")]*)", style))


def test_record_text_is_escaped_in_the_page_and_defused_in_the_csv(world: dict[str, Any]) -> None:
    folder = pack_of(world, world["tmp"] / "pack").folder
    html = (folder / "index.html").read_text()
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(" in html  # the text is there, as text
    findings = (folder / "data" / "findings.csv").read_text()
    assert "'" + FORMULA.replace('"', '""') in findings  # a spreadsheet shows it, does not run it
    bundle = json.loads((folder / "bundle.json").read_text())
    (untagged,) = [c for c in bundle["governance"]["controls"] if c["control"] == "untagged_ai_content"]
    rows = untagged["rows"]
    assert FORMULA in {r["finding"] for r in rows}  # the bundle keeps the value as the mart has it


def test_the_page_shows_controls_receipts_and_the_lineage_graph(world: dict[str, Any]) -> None:
    html = (pack_of(world, world["tmp"] / "pack").folder / "index.html").read_text()
    for text in (
        "untagged_ai_content",
        "GDPR Art. 22",
        "Evidence ledger verified intact",
        world["entry_sha256"],
        'id="lineage-graph"',
        "synthgov_nightly.extract",
        "salesforce/Lead",  # a lake run folder, named by its object
        "ai-email-180d",
        "Einstein GPT",
    ):
        assert text in html, text


def test_the_jobs_are_a_csv_and_a_short_summary_and_every_section_opens_in_print(world: dict[str, Any]) -> None:
    import csv

    pack = pack_of(world, world["tmp"] / "jobs-pack")
    html = (pack.folder / "index.html").read_text()
    with (pack.folder / "data" / "lineage_jobs.csv").open() as handle:
        jobs = list(csv.DictReader(handle))
    assert "data/lineage_jobs.csv" in pack.files
    assert {j["name"] for j in jobs} == {j["name"] for j in pack.bundle["lineage"]["jobs"]}
    (verify,) = [j for j in jobs if j["name"] == "synthgov_retention.verify"]
    assert verify["latest_state"] == "FAIL"
    summary = html.split('id="jobs-summary">', 1)[1].split("</p>", 1)[0]
    assert f"{len(jobs)} jobs ran {len(pack.bundle['lineage']['runs'])} times" in summary
    assert "Latest run failed: <code>synthgov_retention.verify</code>" in summary
    # No table row per job or per run on the page any more.
    assert "<th>Latest event</th>" not in html and "<th>Run id</th>" not in html
    # Printed, a closed <details> shows its summary line only: the print style sheet opens them all.
    print_css = html.split("@media print {", 1)[1].split("</style>", 1)[0]
    assert "details::details-content { content-visibility: visible; display: block; }" in print_css


def test_purges_after_the_build_are_named_and_their_effect_shown(world: dict[str, Any]) -> None:
    # The ledger's entry was written after the marts' build (as_of 09:00): the pack must say so.
    pack = pack_of(world, world["tmp"] / "stale-pack")
    later = pack.bundle["governance"]["since_build"]
    assert later["stale"] is True and later["entries"] == [0] and later["purges"] == 1
    assert later["removed_by_object"] == {"EmailMessage": 1} and later["removed"] == 1
    html = pack.index.read_text()
    banner = html.split('id="since-build">', 1)[1].split("</p>", 1)[0]
    assert '<a href="#receipt-0">#0</a>' in banner and "removed 1 records (1 EmailMessage)" in banner
    assert "after that build: 1 ledger entries (1 purges, 0 rejections) removed 1 EmailMessage" in pack.summary()


def test_purges_before_the_build_leave_the_pack_as_it_was() -> None:
    receipts = [{"seq": 0, "kind": "retention.purge", "timestamp": "2026-11-02T08:00:00.000Z"}]
    outcomes = [{"seq": 0, "object": "Task", "outcome": "purged"}]
    assert remediation.since_build("2026-11-02 09:00:00+00", receipts, outcomes)["stale"] is False
    after = remediation.since_build("2026-11-02 07:00:00+00", receipts, outcomes)
    assert after["stale"] and after["removed_by_object"] == {"Task": 1}


def test_finding_rows_carry_a_remediation_hint_and_a_link_to_the_record(world: dict[str, Any]) -> None:
    pack = pack_of(world, world["tmp"] / "hint-pack", org_url="https://demo.my.salesforce.com/")
    html = pack.index.read_text()
    for control in pack.bundle["governance"]["controls"]:
        assert control["remediation"] == remediation.HINTS[control["control"]]
        assert f"<strong>What to do:</strong> {escape(control['remediation']).replace('&#x27;', '&#39;')}" in html
    assert pack.bundle["sources"]["org"] == "https://demo.my.salesforce.com/"
    # The fixture's entities are not Salesforce ids: no link is made up for them.
    rows = [r for c in pack.bundle["governance"]["controls"] for r in c["rows"] or []]
    assert rows and all(r["record_url"] is None for r in rows)
    assert remediation.record_url("https://demo.my.salesforce.com/", "02s5g000000001nAAA") == (
        "https://demo.my.salesforce.com/02s5g000000001nAAA"
    )
    assert remediation.record_url(None, "02s5g000000001nAAA") is None


def test_finding_rows_about_a_record_name_its_owner(world: dict[str, Any]) -> None:
    with duckdb.connect(str(world["warehouse"].path)) as con:
        con.execute("ALTER TABLE marts.provenance_ledger ADD COLUMN owner_id VARCHAR")
        con.execute("UPDATE marts.provenance_ledger SET owner_id = '0055g00000000AbAAI' WHERE record_id = '02s1'")
    pack = pack_of(world, world["tmp"] / "owner-pack")
    (control,) = [c for c in pack.bundle["governance"]["controls"] if c["control"] == "untagged_ai_content"]
    owners = {r["entity_id"]: r["owner_id"] for r in control["rows"]}
    assert owners == {"02s1": "0055g00000000AbAAI", "068a": None, "02s2": None}
    assert '<code class="id">0055g00000000AbAAI</code>' in pack.index.read_text()
    with (pack.folder / "data" / "findings.csv").open() as handle:
        assert "0055g00000000AbAAI" in handle.read()


def test_a_control_that_could_not_judge_shows_its_reason_never_no_findings(world: dict[str, Any]) -> None:
    pack = pack_of(world, world["tmp"] / "pack")
    html = (pack.folder / "index.html").read_text()
    row = re.search(r'<tr data-control="lead_scoring_bias">.*?</tr>', html, re.S)
    assert row is not None
    assert f'<td class="status-insufficient_data">insufficient data: {UNJUDGED}</td>' in row.group(0)
    assert "no findings" not in row.group(0) and "status-no_findings" not in row.group(0)
    section = html.split('<section id="control-lead_scoring_bias">')[1].split("</section>")[0]
    assert f'<span class="status-insufficient_data">insufficient data: {UNJUDGED}</span>' in section
    assert 'id="controls-insufficient-data">1 could not judge' in html
    # A control that judged and found nothing still reads as such.
    judged = re.search(r'<tr data-control="automated_decisions_without_review">.*?</tr>', html, re.S)
    assert judged is not None and '<td class="status-no_findings">no findings</td>' in judged.group(0)
    assert f"  lead_scoring_bias: insufficient data: {UNJUDGED}" in pack.summary().splitlines()
    summary_csv = (pack.folder / "data" / "governance_summary.csv").read_text()
    assert f"insufficient_data,{UNJUDGED}," in summary_csv


def test_a_broken_ledger_is_reported_in_the_pack_not_hidden(world: dict[str, Any]) -> None:
    segment = world["tmp"] / "lake" / "evidence" / "retention" / "ledger" / "0000000000.jsonl"
    segment.write_bytes(segment.read_bytes().replace(b'"scheduled"', b'"ad_hoc"'))
    pack = pack_of(world, world["tmp"] / "pack")
    verification = pack.bundle["evidence"]["verification"]
    assert verification["ok"] is False and verification["problems"]
    assert "Evidence ledger verification FAILED" in pack.index.read_text()
    assert "FAILED" in pack.summary()


def test_without_lineage_events_or_dbt_manifest_the_pack_says_so(world: dict[str, Any]) -> None:
    pack = pack_of(world, world["tmp"] / "pack", events_file=world["tmp"] / "none.jsonl", dbt_project=world["tmp"])
    assert pack.bundle["lineage"]["events_file_present"] is False and pack.bundle["lineage"]["runs"] == []
    html = pack.index.read_text()
    assert "No lineage has been recorded yet" in html and 'id="lineage-graph"' not in html
    assert "make dbt-manifest" in pack.bundle["docs"]["note"]
    assert any(d["relation"] == "marts.provenance_ledger" for d in pack.bundle["docs"]["datasets"])


def test_dated_packs_and_the_latest_link(world: dict[str, Any]) -> None:
    first = pack_of(world, None)
    second = pack_of(world, None)
    root = world["tmp"] / "home" / "report"
    assert first.folder == root / "20261102T093000Z" and second.folder == root / "20261102T093000Z-2"
    assert second.latest == root / "latest" and (root / "latest").resolve() == second.folder
    assert sorted(p.name for p in root.iterdir()) == ["20261102T093000Z", "20261102T093000Z-2", "latest"]


def test_out_must_be_new_or_empty(world: dict[str, Any]) -> None:
    taken = world["tmp"] / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    with pytest.raises(ReportError, match="not an empty folder"):
        pack_of(world, taken)
    (world["tmp"] / "empty").mkdir()
    assert pack_of(world, world["tmp"] / "empty").index.is_file()


def test_no_warehouse_or_no_marts_says_what_to_run(world: dict[str, Any]) -> None:
    missing = DuckDBWarehouse(world["tmp"] / "missing.duckdb")
    with pytest.raises(ReportError, match=r"no warehouse at .*missing.duckdb yet: run `make demo`"):
        pack_of(world, world["tmp"] / "pack", warehouse=missing)
    assert not missing.path.exists(), "asking must not create an empty warehouse"
    empty = DuckDBWarehouse(world["tmp"] / "empty.duckdb")
    duckdb.connect(str(empty.path)).close()
    with pytest.raises(ReportError, match=r"has no marts yet .*run `make demo` or the nightly DAG"):
        pack_of(world, world["tmp"] / "pack", warehouse=empty)
    with duckdb.connect(str(world["warehouse"].path)) as con:
        con.execute("ALTER TABLE marts.provenance_ledger DROP COLUMN confidence")
    with pytest.raises(ReportError, match=r"(?s)cannot read the marts in duckdb .*rebuild them"):
        pack_of(world, world["tmp"] / "pack")


def test_the_cli_writes_the_pack_and_fails_clearly(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--help"])
    assert exit_info.value.code == 0
    assert "--out" in capsys.readouterr().out
    monkeypatch.setenv("SYNTHGOV_DUCKDB_PATH", str(world["tmp"] / "nothing-here.duckdb"))
    assert main(["report"]) == 1
    assert "run `make demo`" in capsys.readouterr().err
    monkeypatch.setenv("SYNTHGOV_DUCKDB_PATH", str(world["warehouse"].path))
    monkeypatch.setenv("SYNTHGOV_DBT_PROJECT", str(world["project"]))
    out = world["tmp"] / "cli-pack"
    args = ["report", "--out", str(out), "--lake", str(world["tmp"] / "lake"), "--lineage-file", str(world["events"])]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"evidence pack: {out / 'index.html'}" in printed and "1 of 4 controls with findings" in printed
    assert f"lead_scoring_bias: insufficient data: {UNJUDGED}" in printed


def test_lineage_shows_each_jobs_latest_generation(world: dict[str, Any]) -> None:
    log = read_events(world["events"])
    assert (log.events, log.unreadable_lines, log.other_events) == (12, 2, 1)
    shown = latest_generation(log.runs.values())
    extracts = [r for r in shown if r.job[1] == "synthgov_nightly.extract"]
    assert sorted(r.run_id for r in extracts) == ["extract-0", "extract-1"]  # both mapped runs, not the old one
    assert log.runs["verify"].state == "FAIL"
    assert log.facets["synthgov_regulatoryControls"] == 1 and log.facets["lifecycleStateChange"] == 1
    lineage = section(world["events"])
    (apply,) = [j for j in lineage["jobs"] if j["name"] == "synthgov_retention.apply"]
    assert apply["controls"] == ["retention.erasure (GDPR Art. 17; GDPR Art. 5(1)(e))"]
    nodes = {n["id"]: n for n in lineage["graph"]["nodes"]}
    assert nodes[f"dataset:{SF}/EmailMessage"]["dropped"] is True
    assert not any("2026-11-01" in node for node in nodes), "the older nightly run is not drawn"
    assert "job:synthgov/synthgov_nightly" not in nodes, "a run without datasets is listed, not drawn"
    drawing = lineage["_drawing"]
    assert drawing is not None and len(drawing["nodes"]) == len(nodes)
    assert len(drawing["edges"]) == len(lineage["graph"]["edges"])
    by_id = {n["id"]: n for n in drawing["nodes"]}
    # The cycle (extracted, then purged) is cut at the purge: the pipeline still runs left to right.
    assert by_id[f"dataset:{SF}/Lead"]["x"] < by_id["job:synthgov/synthgov_nightly.extract"]["x"]
    assert by_id["job:synthgov/synthgov_nightly.load"]["x"] < by_id["job:synthgov/synthgov_retention.apply"]["x"]


def test_the_lineage_view_groups_datasets_by_stage_with_whole_labels(world: dict[str, Any]) -> None:
    lineage = section(world["events"])
    groups = {g["group"]: {d["label"]: d for d in g["datasets"]} for g in lineage["groups"]}
    assert list(groups) == ["Salesforce objects", "Lake", "Raw", "Marts"]
    assert groups["Salesforce objects"]["EmailMessage"]["dropped"] is True
    assert groups["Salesforce objects"]["EmailMessage"]["written_by"] == ["synthgov_retention.apply"]
    # The whole folder, not its last two parts or a cut label, and no partition folders.
    assert "lake/raw/salesforce/Lead" in groups["Lake"]
    assert "raw_salesforce.lead" in groups["Raw"]
    html = pack_of(world, world["tmp"] / "groups-pack").index.read_text()
    assert 'id="lineage-groups"' in html and "<h4>Lake (2)</h4>" in html


def test_dbt_tests_fold_into_their_models() -> None:
    wh = "duckdb:///w.duckdb"
    model, test, failed = "job:synthgov/w.staging.stg_leads", "job:synthgov/w.staging.stg_leads.build.test", "x"
    data = {
        "nodes": [
            {"id": model, "kind": "job", "namespace": "synthgov", "name": "w.staging.stg_leads", "state": "COMPLETE"},
            {
                "id": test,
                "kind": "job",
                "namespace": "synthgov",
                "name": "w.staging.stg_leads.build.test",
                "state": "COMPLETE",
            },
            {"id": failed, "kind": "job", "namespace": "synthgov", "name": "w.staging.stg_leads.test", "state": "FAIL"},
            {"id": "dataset:t", "kind": "dataset", "namespace": wh, "name": "w.staging.stg_leads", "dropped": False},
        ],
        "edges": [{"source": model, "target": "dataset:t"}, {"source": "dataset:t", "target": test}],
    }
    ((only,),) = [g["datasets"] for g in grouped(data)]
    assert only["label"] == "staging.stg_leads" and (only["tests"], only["tests_failed"]) == (2, 1)
    assert only["written_by"] == ["w.staging.stg_leads"], "a test reads the model; it writes nothing"
    assert [g["group"] for g in grouped(data)] == ["Staging"]


def test_layout_of_nothing_and_labels() -> None:
    assert layout({"nodes": [], "edges": []}) is None
    folder = ("file", "/lake/raw/salesforce/Lead/run_date=2026-11-02/run_id=20261102T020000Z-bbbbbb")
    assert short_label("dataset", folder) == "salesforce/Lead"
    assert short_label("job", ("ns", "x" * 80)).count("…") == 1


def test_the_default_event_log_is_where_the_file_transport_writes(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = world["tmp"] / "home" / "lineage" / "events.jsonl"
    log.parent.mkdir(parents=True)
    log.write_bytes(world["events"].read_bytes())
    pack = build_report(world["tmp"] / "pack", warehouse=world["warehouse"], lake=world["lake"], now=NOW)
    assert pack.bundle["lineage"]["events_file"] == str(log) and pack.bundle["lineage"]["runs"]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        from collections import Counter

        self.tags: Counter[str] = Counter()
        self.attributes: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self._in_style = tag == "style"
        self.attributes += [(tag, name.lower(), value or "") for name, value in attrs]

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)
