"""Run ids and the run manifest every writer writes and the loader reads."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthgov import lake as lakes
from synthgov.lake.runs import RunManifest, RunManifestError, RunPart, new_run_id, write_one_part_run

pytestmark = pytest.mark.unit

DAY = date(2026, 11, 2)
RUN = "20261102T020000Z-1a2b3c"
SHA = "ab" * 32


def _manifest(**details: Any) -> RunManifest:
    parts = (
        RunPart(lakes.raw_part_key("Lead", DAY, RUN, 0), 3, SHA, 1200),
        RunPart(lakes.raw_part_key("Lead", DAY, RUN, 1), 2, SHA),
    )
    return RunManifest("Lead", RUN, DAY, parts, details)


def test_a_manifest_survives_json_and_keeps_its_writer_details() -> None:
    manifest = _manifest(mode="incremental", window={"start": None, "end": "2026-11-02T02:00:00+00:00"})
    document = json.loads(manifest.to_bytes())
    assert document["rows"] == 5
    assert document["files"][0] == {"key": manifest.files[0].key, "rows": 3, "sha256": SHA, "bytes": 1200}
    assert "bytes" not in document["files"][1]
    assert document["mode"] == "incremental"
    assert RunManifest.from_json(document) == manifest
    assert RunManifest.from_bytes(manifest.to_bytes(), "here") == manifest


def test_the_loader_fields_of_an_older_manifest_still_parse() -> None:
    # What media findings and training snapshots wrote before the typed manifest: no bytes per part.
    document = {
        "object": "ContentVersion_Media",
        "run_id": RUN,
        "run_date": DAY.isoformat(),
        "rows": 1,
        "files": [{"key": lakes.findings_key(DAY, RUN), "rows": 1, "sha256": SHA.upper()}],
    }
    parsed = RunManifest.from_json(document)
    assert (parsed.object, parsed.rows, parsed.files[0].sha256, parsed.details) == ("ContentVersion_Media", 1, SHA, {})


@pytest.mark.parametrize(
    ("document", "match"),
    [
        ([], "must be a JSON object"),
        ({"object": "Lead; DROP", "run_id": RUN, "run_date": "2026-11-02", "files": []}, "'object' must be"),
        ({"object": "Lead", "run_date": "2026-11-02", "files": []}, "'run_id' must be"),
        ({"object": "Lead", "run_id": "../x", "run_date": "2026-11-02", "files": []}, "'run_id' must be"),
        ({"object": "Lead", "run_id": RUN, "run_date": "2026-11-02"}, "'files' must be a list"),
        ({"object": "Lead", "run_id": RUN, "run_date": "2026-11-02", "files": ["k"]}, r"files\[0\] must be"),
        ({"object": "Lead", "run_id": RUN, "files": [{"key": "", "rows": 1, "sha256": SHA}]}, r"files\[0\]\.key"),
        ({"object": "Lead", "run_id": RUN, "files": [{"key": "k", "rows": -1, "sha256": SHA}]}, r"\.rows"),
        ({"object": "Lead", "run_id": RUN, "files": [{"key": "k", "rows": True, "sha256": SHA}]}, r"\.rows"),
        ({"object": "Lead", "run_id": RUN, "files": [{"key": "k", "rows": 1, "sha256": "x"}]}, r"\.sha256"),
        ({"object": "Lead", "run_id": RUN, "files": [{"key": "k", "rows": 1, "sha256": SHA, "bytes": -1}]}, "bytes"),
        ({"object": "Lead", "run_id": RUN, "files": []}, "'run_date' must be a date"),
        ({"object": "Lead", "run_id": RUN, "run_date": "02/11/2026", "files": []}, "'run_date' must be a date"),
    ],
)
def test_a_malformed_manifest_names_its_first_wrong_field(document: Any, match: str) -> None:
    with pytest.raises(RunManifestError, match=match):
        RunManifest.from_json(document)


def test_stored_bytes_that_are_not_json_name_where_they_are() -> None:
    with pytest.raises(RunManifestError, match=r"file:///x/_manifest.json is not valid JSON"):
        RunManifest.from_bytes(b"{", "file:///x/_manifest.json")


def test_a_writer_cannot_build_a_manifest_that_would_not_parse() -> None:
    with pytest.raises(RunManifestError, match="invalid run id"):
        RunManifest("Lead", "a/b", DAY, ())
    with pytest.raises(RunManifestError, match="invalid Salesforce object name"):
        RunManifest("Lead.Id", RUN, DAY, ())
    with pytest.raises(RunManifestError, match="details must not set files, rows"):
        RunManifest("Lead", RUN, DAY, (), {"rows": 3, "files": []})


def test_run_ids_sort_by_time_on_the_utc_clock() -> None:
    noon = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    assert new_run_id(noon).startswith("20261102T120000Z-")
    # The org's clock may carry an offset; the id is still UTC, so ids of different offsets sort.
    assert new_run_id(noon.astimezone(timezone(timedelta(hours=2)))).startswith("20261102T120000Z-")
    assert new_run_id(noon) < new_run_id(noon + timedelta(seconds=1))
    assert new_run_id(noon) != new_run_id(noon)
    lakes.check_run_id(new_run_id())


def test_a_one_part_run_is_its_part_then_its_manifest(tmp_path: Path) -> None:
    lake = lakes.LocalLake(tmp_path / "lake")
    folder = lakes.training_run_prefix("Training_Manifests", DAY, RUN)
    table = pa.table({"dataset": ["a", "b"]})
    manifest = write_one_part_run(lake, folder, "Training_Manifests", DAY, RUN, table, part_name=lakes.part_name(0))
    (part,) = manifest.files
    data = lake.get_bytes(part.key)
    assert part == RunPart(f"{folder}part-00000.parquet", 2, hashlib.sha256(data).hexdigest(), len(data))
    with lake.open_read(part.key) as handle:
        assert pq.read_table(handle).to_pylist() == [{"dataset": "a"}, {"dataset": "b"}]
    stored = RunManifest.from_bytes(lake.get_bytes(f"{folder}{lakes.MANIFEST_NAME}"), "manifest")
    assert stored == manifest
    assert set(lake.list()) == {part.key, f"{folder}{lakes.MANIFEST_NAME}"}
