"""Purging a versioned S3 lake (moto): no purged id in any object or version; extraction keeps them out."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from synthgov import lake as lakes
from synthgov.extract.config import ExtractionConfig, ObjectSpec
from synthgov.extract.run import extract_all
from synthgov.lake import LakeConflict, S3Lake
from synthgov.lake.layout import PURGE_PENDING_NAME
from synthgov.lake.purged import purged_id_hashes, record_purged
from synthgov.retention.lake_purge import find_in_lake, purge_lake
from synthgov.salesforce.ids import hash_record_id
from synthgov.settings import Settings
from synthgov_sandbox.process import SandboxProcess
from tests.integration.test_extract import client, connect
from tests.unit.test_lake_purge import (
    BINARY,
    DAY,
    PURGE_RUN,
    PURGED,
    RUNS,
    assert_manifest_matches_parts,
    build,
    lead,
    manifests,
    parquet_bytes,
    records,
)

pytestmark = pytest.mark.integration

ORPHAN = lakes.raw_part_key("Lead", date(2026, 11, 1), "20261101T090000Z-dead", 0)


def bucket_versions(lake: S3Lake) -> list[dict[str, Any]]:
    """Every version and delete marker in the lake's part of the bucket, straight from S3."""
    out: list[dict[str, Any]] = []
    for page in lake.client.get_paginator("list_object_versions").paginate(Bucket=lake.bucket, Prefix=lake.prefix):
        out += [{**v, "marker": False} for v in page.get("Versions", ())]
        out += [{**v, "marker": True} for v in page.get("DeleteMarkers", ())]
    return out


def ids_in_every_version(lake: S3Lake) -> set[str]:
    """The record ids in every stored version of every parquet object, current or not."""
    found: set[str] = set()
    for version in bucket_versions(lake):
        if version["marker"] or not version["Key"].endswith(".parquet"):
            continue
        body = lake.client.get_object(Bucket=lake.bucket, Key=version["Key"], VersionId=version["VersionId"])
        table = pq.read_table(io.BytesIO(body["Body"].read()))
        for column in ("Id", "record_id"):
            if column in table.column_names:
                found |= set(table[column].to_pylist())
    return found


def add_history(lake: S3Lake) -> str:
    """Purged ids where a plain listing does not look: an overwritten version, and a deleted orphan part."""
    key = lakes.raw_part_key("Lead", DAY, RUNS[2], 0)
    current = lake.get_bytes(key)
    lake.put_bytes(key, parquet_bytes(records([lead(20), lead(3)])))
    lake.put_bytes(key, current)  # the version holding lead 3 is now non-current
    lake.put_bytes(ORPHAN, parquet_bytes(records([lead(8)])))
    lake.delete(ORPHAN)  # clean_orphans' delete: a marker hides the part, its bytes stay
    return key


def test_s3_version_primitives(s3_lake: S3Lake, tmp_path: Path) -> None:
    assert s3_lake.versioning_enabled() and not s3_lake.object_lock_enabled()
    s3_lake.put_bytes("raw/k.parquet", b"1")
    s3_lake.put_bytes("raw/k.parquet", b"2")
    s3_lake.put_bytes("raw/gone.parquet", b"g")
    s3_lake.delete("raw/gone.parquet")
    versions = s3_lake.list_versions("raw/")
    assert [(v.key, v.is_latest, v.is_delete_marker) for v in versions] == [
        ("raw/gone.parquet", True, True),
        ("raw/gone.parquet", False, False),
        ("raw/k.parquet", True, False),
        ("raw/k.parquet", False, False),
    ]
    with s3_lake.open_version("raw/k.parquet", versions[3].version_id) as f:
        assert f.read() == b"1"
    with s3_lake.open_version("raw/gone.parquet", versions[1].version_id) as f:
        assert f.read() == b"g"  # "deleted", yet readable: a delete marker is not deletion
    with pytest.raises(lakes.LakeNotFound):
        s3_lake.open_version("raw/k.parquet", "no-such-version")

    source = tmp_path / "new"
    source.write_bytes(b"3")
    s3_lake.put_file_erasing_history("raw/k.parquet", source)
    (only,) = s3_lake.list_versions("raw/k.parquet")
    assert only.is_latest and s3_lake.get_bytes("raw/k.parquet") == b"3"

    s3_lake.erase("raw/gone.parquet")
    assert s3_lake.list_versions("raw/gone") == []
    s3_lake.delete_version("raw/k.parquet", "no-such-version")  # missing: not an error

    s3_lake.create_bytes("evidence/one.jsonl", b"1\n")
    with pytest.raises(LakeConflict, match="never overwritten"):
        s3_lake.create_bytes("evidence/one.jsonl", b"2\n")
    assert s3_lake.get_bytes("evidence/one.jsonl") == b"1\n"


def test_purge_removes_every_version_holding_a_purged_id(s3_lake: S3Lake) -> None:
    build(s3_lake)
    history_key = add_history(s3_lake)
    gone = set().union(*PURGED.values())
    assert ids_in_every_version(s3_lake) & gone == gone

    leftovers = find_in_lake(s3_lake, PURGED)
    hidden = {(x.key, x.id_sha256) for x in leftovers if not x.is_latest}
    assert hidden == {(history_key, hash_record_id(lead(3))), (ORPHAN, hash_record_id(lead(8)))}
    assert all(x.version_id for x in leftovers)

    report = purge_lake(s3_lake, PURGED, run_id=PURGE_RUN)

    assert find_in_lake(s3_lake, PURGED) == []
    assert ids_in_every_version(s3_lake) & gone == set()
    versions = bucket_versions(s3_lake)
    keys = {v["Key"].removeprefix("synthgov/") for v in versions}
    assert ORPHAN not in keys and BINARY not in keys  # gone, not hidden behind a marker
    for key in report.files_rewritten:
        assert [v["IsLatest"] for v in versions if v["Key"] == f"synthgov/{key}"] == [True], key
    # Only the version holding a purged id went; the current part and its clean first version stay.
    assert [v["IsLatest"] for v in versions if v["Key"] == f"synthgov/{history_key}"] == [True, False]
    # 5 rewritten parts' old versions, lead 3's old version, the orphan's version and marker, the binary.
    assert report.versions_deleted == 5 + 1 + 2 + 1
    for key in manifests(s3_lake):
        assert_manifest_matches_parts(s3_lake, key)
    assert not [k for k in s3_lake.list() if k.endswith(PURGE_PENDING_NAME)]


def test_a_crash_before_old_versions_are_deleted_is_finished_by_the_next_purge(
    s3_lake: S3Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(s3_lake)
    delete_version = s3_lake.delete_version

    def crash(key: str, version_id: str | None) -> None:
        raise KeyboardInterrupt("killed after the put, before the old version went")

    monkeypatch.setattr(s3_lake, "delete_version", crash)
    with pytest.raises(KeyboardInterrupt):
        purge_lake(s3_lake, PURGED, run_id=PURGE_RUN)
    monkeypatch.setattr(s3_lake, "delete_version", delete_version)

    (left,) = find_in_lake(s3_lake, PURGED)[:1]
    assert not left.is_latest  # the new part is current; the old bytes wait in a non-current version
    purge_lake(s3_lake, PURGED, run_id=PURGE_RUN)
    assert find_in_lake(s3_lake, PURGED) == []
    assert ids_in_every_version(s3_lake) & set().union(*PURGED.values()) == set()
    for key in manifests(s3_lake):
        assert_manifest_matches_parts(s3_lake, key)


# -- extraction after a purge --------------------------------------------------------------------


@pytest.fixture(params=["local", "s3"])
def any_lake(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[lakes.Lake]:
    if request.param == "local":
        yield lakes.LocalLake(tmp_path / "lake")
    else:
        yield request.getfixturevalue("s3_lake")


def test_an_extraction_after_a_purge_leaves_the_purged_records_out(
    org: SandboxProcess, any_lake: lakes.Lake, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path, window_lag_seconds=0, bulk_poll_seconds=0)
    config = ExtractionConfig(Path("test"), (ObjectSpec("Lead"),))
    extract_all(connect(org), any_lake, config, settings)
    sf = client(org)
    leads = [r["Id"] for r in sf.query("SELECT Id FROM Lead WHERE IsDeleted = false ORDER BY Id LIMIT 4")["records"]]
    purged, kept = set(leads[:3]), leads[3]

    record_purged(any_lake, "Lead", purged, "retention-test")
    purge_lake(any_lake, {"Lead": purged}, run_id="retention-test")
    assert find_in_lake(any_lake, {"Lead": purged}) == []
    assert purged_id_hashes(any_lake, "Lead") == {hash_record_id(i) for i in purged}

    # What the retention run does in the org: a soft delete changes SystemModstamp, and queryAll
    # keeps returning the record (IsDeleted = true) from the Recycle Bin.
    org.control("POST", "clock", {"advance_days": 1})
    for record_id in purged:
        sf.Lead.delete(record_id)
    sf.Lead.update(kept, {"Company": "Still here GmbH"})
    org.control("POST", "clock", {"advance_days": 1})
    second = extract_all(connect(org), any_lake, config, settings)

    (result,) = second.objects
    manifest = json.loads(any_lake.get_bytes(result.manifest_key))
    assert manifest["rows_left_out_purged"] == 3
    ids = [
        row["Id"]
        for f in manifest["files"]
        for row in pq.read_table(io.BytesIO(any_lake.get_bytes(f["key"]))).to_pylist()
    ]
    assert ids == [kept]
    assert find_in_lake(any_lake, {"Lead": purged}) == []
