"""Training-data manifests: the format, validation messages (file, entry, field), the nightly read on a
local lake, the local zone's posture (not applicable), and the sandbox's demo manifests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from jsonschema import Draft202012Validator

from synthgov.cli import main as cli_main
from synthgov.lake import LocalLake
from synthgov.training.manifest import (
    MANIFESTS_OBJECT,
    RECORDS_OBJECT,
    manifest_schema,
    parse_manifest,
    read_training_manifests,
)
from synthgov.training.posture import CONTROLS, read_posture, read_training_lake_posture
from synthgov.training.zone import open_training_zone

pytestmark = pytest.mark.unit

LEAD = "00Q5g0000000001EAA"  # 15 characters and their checksum (the Q sets a bit of the first)
LEAD_15 = "00Q5g0000000002"
CONTACT = "0035g0000000001AAA"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "manifest_version": 1,
        "dataset": "lead-scoring-v4",
        "model": "LeadScorer v4",
        "purpose": "Rank inbound leads",
        "created_at": "2026-10-23T09:00:00Z",
        "records": [
            {"object": "Lead", "id": LEAD, "declared_provenance": "authentic"},
            {"object": "Lead", "id": LEAD_15, "declared_provenance": "synthetic"},
            {"object": "Contact", "id": CONTACT, "declared_provenance": "authentic"},
        ],
    }
    document.update(changes)
    return document


def _problems(document: Any) -> list[str]:
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return [str(p) for p in parse_manifest("manifests/x.json", data).problems]


def test_the_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(manifest_schema())


def test_a_valid_manifest_is_read_whole_with_18_character_ids() -> None:
    manifest = parse_manifest("manifests/x.json", json.dumps(_document()).encode())
    assert manifest.is_valid, manifest.problems
    assert manifest.header["dataset"] == "lead-scoring-v4"
    assert manifest.created_at == datetime(2026, 10, 23, 9, 0, tzinfo=UTC)
    assert [(r.index, r.object, r.record_id, r.declared_provenance) for r in manifest.records] == [
        (0, "Lead", LEAD, "authentic"),
        (1, "Lead", "00Q5g0000000002EAA", "synthetic"),
        (2, "Contact", CONTACT, "authentic"),
    ]


def test_problems_name_the_file_the_entry_and_the_field() -> None:
    records = [
        {"object": "Lead", "id": LEAD, "declared_provenance": "authentic"},
        {"object": "Lead", "id": CONTACT, "declared_provenance": "mixed"},
        {"object": "Lead", "declared_provenance": "authentic"},
        {"object": "Lead", "id": "not-an-id", "declared_provenance": "authentic"},
        {"object": "Lead", "id": CONTACT, "declared_provenance": "authentic", "consent": True},
        {"object": "Lead", "id": "00Q5g0000000001AAA", "declared_provenance": "authentic"},
        {"object": "lead", "id": "00Q5g0000000001", "declared_provenance": "synthetic"},
    ]
    document = _document(records=records, created_at="2026-10-23T09:00:00", manifest_version=2)
    del document["purpose"]
    assert _problems(document) == [
        "manifests/x.json: (manifest): 'purpose' is a required property",
        "manifests/x.json: manifest_version: 2 is not supported; this reader knows version 1",
        "manifests/x.json: records[1].declared_provenance: 'mixed' is not one of 'authentic', 'synthetic'",
        "manifests/x.json: records[2]: 'id' is a required property",
        "manifests/x.json: records[3].id: 'not-an-id' is not a Salesforce record id (15 or 18 letters and digits)",
        "manifests/x.json: records[4]: Additional properties are not allowed ('consent' was unexpected)",
        "manifests/x.json: created_at: '2026-10-23T09:00:00' is not an ISO 8601 date-time with a UTC offset",
        "manifests/x.json: records[5].id: '00Q5g0000000001AAA' has a wrong checksum (its last 3 characters)",
        "manifests/x.json: records[6]: duplicate of records[0] (lead 00Q5g0000000001EAA)",
    ]


def test_valid_entries_of_a_manifest_with_problems_are_kept() -> None:
    records = [
        {"object": "Lead", "id": LEAD, "declared_provenance": "authentic"},
        {"object": "Lead", "id": CONTACT, "declared_provenance": "mixed"},
    ]
    document = _document(records=records)
    del document["model"]
    manifest = parse_manifest("manifests/x.json", json.dumps(document).encode())
    assert not manifest.is_valid
    assert [r.index for r in manifest.records] == [0]
    assert manifest.record_entries == 2


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"{not json", "manifests/x.json: (manifest): not valid JSON: "),
        (b"[1, 2]", "manifests/x.json: (manifest): [1, 2] is not of type 'object'"),
        (json.dumps(_document(records=[])).encode(), "manifests/x.json: records: [] should be non-empty"),
    ],
)
def test_unreadable_manifests_are_one_problem(data: bytes, expected: str) -> None:
    (problem,) = _problems(data)
    assert problem.startswith(expected)


def test_nightly_read_writes_both_snapshots_for_the_loader(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    zone = open_training_zone(lake, None)
    assert zone.lake.url == (tmp_path / "lake" / "training").as_uri()
    zone.lake.put_bytes("manifests/good.json", json.dumps(_document()).encode())
    bad = _document(dataset="bad set", records=[{"object": "Lead", "id": LEAD, "declared_provenance": "synthetic"}])
    zone.lake.put_bytes("manifests/bad.json", json.dumps(bad).encode())
    zone.lake.put_bytes("datasets/good/part-0.parquet", b"training data, not a manifest")

    result = read_training_manifests(lake, zone, run_id="20261102T090000Z-abc123", now=NOW)

    assert (result.read, result.invalid, result.records) == (2, 1, 4)
    assert result.problems == [
        "manifests/bad.json: dataset: 'bad set' is not a data set name (letters, digits, '.', '_' and '-', "
        "at most 128 characters)"
    ]
    assert [m["object"] for m in result.manifests] == [MANIFESTS_OBJECT, RECORDS_OBJECT]
    for manifest in result.manifests:
        (part,) = manifest["files"]
        assert part["key"].startswith(f"raw/training/{manifest['object']}/run_date=2026-11-02/run_id=")
        assert lake.exists(part["key"].rsplit("/", 1)[0] + "/_manifest.json")
        with lake.open_read(part["key"]) as f:
            assert pq.read_table(f).num_rows == part["rows"] == manifest["rows"]
    with lake.open_read(result.manifests[0]["files"][0]["key"]) as f:
        rows = {r["manifest_key"]: r for r in pq.read_table(f).to_pylist()}
    assert rows["manifests/bad.json"]["is_valid"] is False
    assert rows["manifests/bad.json"]["problems"].startswith("dataset: 'bad set' is not a data set name")
    assert rows["manifests/good.json"]["valid_records"] == 3


def test_an_empty_zone_writes_empty_snapshots(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    result = read_training_manifests(lake, open_training_zone(lake, None), run_id="r1", now=NOW)
    assert [m["rows"] for m in result.manifests] == [0, 0]


def test_a_local_zone_reports_every_control_not_applicable(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    zone = open_training_zone(lake, str(tmp_path / "elsewhere"))
    assert zone.configured
    outcomes = read_posture(zone)
    assert [(o.control, o.status) for o in outcomes] == [(c, "not_applicable") for c in CONTROLS]
    result = read_training_lake_posture(lake, zone, run_id="r1", now=NOW)
    assert result.zone_kind == "local"
    assert result.manifests[0]["rows"] == len(CONTROLS)


def test_training_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(_document()))
    bad.write_text(json.dumps(_document(records=[{"object": "Lead", "id": LEAD}])))
    assert cli_main(["training", "check", str(good)]) == 0
    assert "good.json: valid, 3 records" in capsys.readouterr().out
    assert cli_main(["training", "check", str(good), str(bad)]) == 1
    assert f"{bad}: records[0]: 'declared_provenance' is a required property" in capsys.readouterr().err


def test_the_sandbox_demo_manifests_follow_the_format() -> None:
    """The sandbox builds its manifests without the product code; they must still be what the product reads."""
    from synthgov_sandbox.demo.training import CONSENT_FIELD, plant_training_data
    from synthgov_sandbox.engine import ids

    leads = [{"Id": ids.make_id("00Q", n), "Synthetic_Persona__c": int(n > 200)} for n in range(1, 221)]
    contacts = [{"Id": ids.make_id("003", n), "Synthetic_Persona__c": int(n > 80)} for n in range(1, 91)]
    manifests = plant_training_data(contacts, leads, NOW)
    parsed = {m["key"]: parse_manifest(m["key"], json.dumps(m["document"]).encode()) for m in manifests}
    assert [k for k, m in parsed.items() if m.is_valid] == [
        "manifests/lead-scoring-v4.json",
        "manifests/contact-enrichment-2026.json",
    ]
    assert [str(p) for p in parsed["manifests/churn-forecast-draft.json"].problems] == [
        "manifests/churn-forecast-draft.json: (manifest): 'purpose' is a required property",
        "manifests/churn-forecast-draft.json: records[1].declared_provenance: 'mixed' is not one of 'authentic', "
        "'synthetic'",
        "manifests/churn-forecast-draft.json: records[2]: 'id' is a required property",
    ]
    consented = [bool(row[CONSENT_FIELD]) for row in leads + contacts if not row["Synthetic_Persona__c"]]
    assert 0.6 < sum(consented) / len(consented) < 0.9
    assert not any(row[CONSENT_FIELD] for row in leads + contacts if row["Synthetic_Persona__c"])


def test_an_org_seeded_before_the_consent_field_gets_its_column(tmp_path: Path) -> None:
    from synthgov_sandbox.engine.store import Store

    path = tmp_path / "org.sqlite"
    Store(path).conn().execute('ALTER TABLE "Lead" DROP COLUMN "AI_Training_Consent__c"')
    store = Store(path)
    columns = {row[1]: row[4] for row in store.conn().execute('PRAGMA table_info("Lead")')}
    assert columns["AI_Training_Consent__c"] == "0"
