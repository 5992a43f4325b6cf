"""Purging records from a local lake: rewritten parts, consistent manifests, crashes, the purge registry."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from synthgov import lake as lakes
from synthgov.lake import Lake, LakeError, LocalLake
from synthgov.lake.layout import PURGE_PENDING_NAME
from synthgov.lake.purged import (
    PurgeRegistryError,
    drop_purged,
    drop_purged_rows,
    purged_filters,
    purged_id_hashes,
    record_purged,
)
from synthgov.retention.lake_purge import LakePurgeError, find_in_lake, purge_lake
from synthgov.salesforce.ids import canonical_record_id, hash_record_id

pytestmark = pytest.mark.unit

DAY = date(2026, 11, 2)
RUNS = ("20261102T090000Z-aaaa", "20261103T090000Z-bbbb", "20261104T090000Z-cccc")
PURGE_RUN = "retention-20261105T010000Z-dddd"


def sfid(prefix: str, n: int) -> str:
    return canonical_record_id(f"{prefix}5g{n:010d}")


def lead(n: int) -> str:
    return sfid("00Q", n)


def cv(n: int) -> str:
    return sfid("068", n)


def records(ids: list[str], *, deleted: tuple[str, ...] = ()) -> pa.Table:
    stamps = [datetime(2026, 11, 1, 8, tzinfo=UTC) + timedelta(minutes=i) for i in range(len(ids))]
    return pa.table(
        {
            "Id": pa.array(ids, pa.string()),
            "SystemModstamp": pa.array(stamps, pa.timestamp("ms", tz="UTC")),
            "IsDeleted": pa.array([i in deleted for i in ids]),
            "Name": pa.array([f"name of {i}" for i in ids]),
            "AI_Generated__c": pa.array([n % 2 == 0 for n in range(len(ids))]),
        }
    )


def parquet_bytes(table: pa.Table, compression: str = "zstd") -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression=compression)
    return buffer.getvalue()


def write_extracted_run(lake: Lake, obj: str, run_id: str, parts: list[pa.Table]) -> str:
    """What extract_object leaves: zstd parts, then the manifest with the fields a purge must keep true."""
    files = []
    for n, table in enumerate(parts):
        data = parquet_bytes(table)
        key = lakes.raw_part_key(obj, DAY, run_id, n)
        lake.put_bytes(key, data)
        files.append(
            {"key": key, "rows": table.num_rows, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        )
    stamps = pa.chunked_array([t["SystemModstamp"] for t in parts])
    low, high = (v.as_py() for v in pc.min_max(stamps).values())
    manifest = {
        "object": obj,
        "run_id": run_id,
        "run_date": DAY.isoformat(),
        "rows": sum(t.num_rows for t in parts),
        "rows_deleted": sum(pc.sum(t["IsDeleted"].cast(pa.int64())).as_py() or 0 for t in parts),
        "min_system_modstamp": low.isoformat(),
        "max_system_modstamp": high.isoformat(),
        "files": files,
    }
    key = lakes.manifest_key(obj, DAY, run_id)
    lake.put_bytes(key, json.dumps(manifest, indent=2).encode())
    return key


def write_findings(lake: Lake, run_id: str, ids: list[str]) -> str:
    """What media inspection leaves for a ContentVersion run: findings keyed by record_id, and their manifest."""
    table = pa.table({"record_id": ids, "ai_generated": [True] * len(ids), "status": ["manifest"] * len(ids)})
    data = parquet_bytes(table, compression="snappy")
    key = lakes.findings_key(DAY, run_id)
    lake.put_bytes(key, data)
    manifest = {
        "object": "ContentVersion_Media",
        "run_id": run_id,
        "run_date": DAY.isoformat(),
        "rows": len(ids),
        "files": [{"key": key, "rows": len(ids), "sha256": hashlib.sha256(data).hexdigest()}],
    }
    manifest_key = key.rsplit("/", 1)[0] + "/" + lakes.MANIFEST_NAME
    lake.put_bytes(manifest_key, json.dumps(manifest, indent=2).encode())
    return manifest_key


BINARY = f"raw/salesforce_files/ContentVersion/binaries/{cv(2)}.png"
PURGED = {"Lead": {lead(3), lead(8)}, "ContentVersion": {cv(2)}}


def build(lake: Lake) -> None:
    write_extracted_run(
        lake,
        "Lead",
        RUNS[0],
        [records([lead(n) for n in range(1, 7)]), records([lead(n) for n in range(7, 11)], deleted=(lead(8),))],
    )
    write_extracted_run(lake, "Lead", RUNS[1], [records([lead(11), lead(3), lead(12)])])
    write_extracted_run(lake, "Lead", RUNS[2], [records([lead(20), lead(21)])])
    write_extracted_run(lake, "ContentVersion", RUNS[0], [records([cv(1), cv(2), cv(3)])])
    write_findings(lake, RUNS[0], [cv(1), cv(2), cv(3)])
    lake.put_bytes(BINARY, b"\x89PNG not really")


def snapshot(lake: Lake) -> dict[str, bytes]:
    return {key: lake.get_bytes(key) for key in lake.list()}


def table_of(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


def manifests(lake: Lake) -> list[str]:
    return [k for k in lake.list("raw/") if k.endswith(lakes.MANIFEST_NAME)]


def assert_manifest_matches_parts(lake: Lake, key: str) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(lake.get_bytes(key))
    total = deleted = 0
    for entry in manifest["files"]:
        data = lake.get_bytes(entry["key"])
        table = table_of(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), entry["key"]
        assert entry["rows"] == table.num_rows
        if "bytes" in entry:
            assert entry["bytes"] == len(data)
        total += table.num_rows
        if "IsDeleted" in table.column_names:
            deleted += pc.sum(table["IsDeleted"].cast(pa.int64())).as_py() or 0
    assert manifest["rows"] == total
    if "rows_deleted" in manifest:
        assert manifest["rows_deleted"] == deleted
    return manifest


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    local = LocalLake(tmp_path / "lake")
    build(local)
    return local


def test_purge_removes_the_records_and_keeps_every_other_row(lake: LocalLake) -> None:
    before = snapshot(lake)
    leftovers = find_in_lake(lake, PURGED)
    assert {(x.object, x.id_sha256, x.key, x.where) for x in leftovers} == {
        ("Lead", hash_record_id(lead(3)), lakes.raw_part_key("Lead", DAY, RUNS[0], 0), "row"),
        ("Lead", hash_record_id(lead(3)), lakes.raw_part_key("Lead", DAY, RUNS[1], 0), "row"),
        ("Lead", hash_record_id(lead(8)), lakes.raw_part_key("Lead", DAY, RUNS[0], 1), "row"),
        ("ContentVersion", hash_record_id(cv(2)), lakes.raw_part_key("ContentVersion", DAY, RUNS[0], 0), "row"),
        ("ContentVersion", hash_record_id(cv(2)), lakes.findings_key(DAY, RUNS[0]), "row"),
        ("ContentVersion", hash_record_id(cv(2)), BINARY, "key"),
    }
    assert all(x.is_latest and x.version_id is None for x in leftovers)
    # What a log line or the evidence shows is the hash, even for an object named after the record.
    assert not [x for x in leftovers for i in (lead(3), lead(8), cv(2)) if i in str(x) or i[:15] in str(x)]

    report = purge_lake(lake, PURGED, run_id=PURGE_RUN)

    assert find_in_lake(lake, PURGED) == []
    assert report.rows_removed == {"Lead": 3, "ContentVersion": 2}
    assert report.objects_erased == [BINARY.replace(cv(2), f"sha256-{hash_record_id(cv(2))[:16]}")]
    assert report.versions_deleted == 1  # the binary; a local rewrite replaces a file, it keeps no versions
    assert sorted(report.files_rewritten) == sorted({x.key for x in leftovers if x.where == "row"})
    after = snapshot(lake)
    gone = set().union(*PURGED.values())
    for key, data in before.items():
        if not key.endswith(".parquet"):
            continue
        old = table_of(data)
        column = "Id" if "Id" in old.column_names else "record_id"
        expected = old.filter(pc.invert(pc.is_in(old[column], pa.array(sorted(gone)))))
        assert table_of(after[key]).equals(expected), key  # every other row, value for value, schema too
        if key not in report.files_rewritten:
            assert after[key] == data, key  # untouched files keep their bytes
    assert BINARY not in after
    untouched = lakes.manifest_key("Lead", DAY, RUNS[2])
    assert after[untouched] == before[untouched]
    # No purged id in any file but parquet, in any form: registry and manifests hold hashes and counts.
    for key, data in after.items():
        for record_id in gone:
            assert record_id.encode() not in data and record_id[:15].encode() not in data, key


def test_manifests_describe_the_rewritten_parts(lake: LocalLake) -> None:
    report = purge_lake(lake, PURGED, run_id=PURGE_RUN)
    assert sorted(report.manifests_updated) == sorted(
        [
            lakes.manifest_key("Lead", DAY, RUNS[0]),
            lakes.manifest_key("Lead", DAY, RUNS[1]),
            lakes.manifest_key("ContentVersion", DAY, RUNS[0]),
            lakes.findings_key(DAY, RUNS[0]).rsplit("/", 1)[0] + "/" + lakes.MANIFEST_NAME,
        ]
    )
    for key in manifests(lake):
        manifest = assert_manifest_matches_parts(lake, key)
        if key in report.manifests_updated:
            (purge,) = manifest["purges"]
            assert purge["purge_run_id"] == PURGE_RUN and purge["rows_removed"] >= 1
        else:
            assert "purges" not in manifest
    run_1 = json.loads(lake.get_bytes(lakes.manifest_key("Lead", DAY, RUNS[0])))
    assert (run_1["rows"], run_1["rows_deleted"]) == (8, 0)  # lead 8 was the run's one deleted row
    assert run_1["min_system_modstamp"] == "2026-11-01T08:00:00+00:00"
    assert not [k for k in lake.list() if k.endswith(PURGE_PENDING_NAME)]


def test_a_second_purge_finds_nothing_to_do(lake: LocalLake) -> None:
    purge_lake(lake, PURGED, run_id=PURGE_RUN)
    before = snapshot(lake)
    again = purge_lake(lake, PURGED, run_id=PURGE_RUN)
    assert again.files_rewritten == [] and again.manifests_updated == [] and again.objects_erased == []
    assert again.rows_removed == {"Lead": 0, "ContentVersion": 0}
    assert snapshot(lake) == before


def test_purging_every_row_of_a_part_leaves_an_empty_part_with_its_schema(lake: LocalLake) -> None:
    everyone = {"Lead": {lead(11), lead(3), lead(12)}}
    key = lakes.raw_part_key("Lead", DAY, RUNS[1], 0)
    schema = table_of(lake.get_bytes(key)).schema
    purge_lake(lake, everyone, run_id=PURGE_RUN)
    table = table_of(lake.get_bytes(key))
    assert table.num_rows == 0 and table.schema.equals(schema)
    assert assert_manifest_matches_parts(lake, lakes.manifest_key("Lead", DAY, RUNS[1]))["rows"] == 0


def test_parts_are_written_before_their_manifest(lake: LocalLake, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[tuple[str, str]] = []
    for name in ("put_bytes", "put_file_erasing_history", "erase"):
        method = getattr(lake, name)

        def record(key: str, *args: Any, _name: str = name, _method: Any = method) -> Any:
            writes.append((_name, key))
            return _method(key, *args)

        monkeypatch.setattr(lake, name, record)
    purge_lake(lake, {"Lead": {lead(3), lead(8)}}, run_id=PURGE_RUN)
    folder = lakes.run_prefix("Lead", DAY, RUNS[0])
    in_run = [(name, key.removeprefix(folder)) for name, key in writes if key.startswith(folder)]
    assert in_run == [
        ("put_bytes", PURGE_PENDING_NAME),  # the flag goes up before the first part changes
        ("put_file_erasing_history", "part-00000.parquet"),
        ("put_file_erasing_history", "part-00001.parquet"),
        ("put_bytes", lakes.MANIFEST_NAME),  # the manifest after every part
        ("erase", PURGE_PENDING_NAME),
    ]
    assert not [key for _, key in writes if key.startswith("state/")]  # registering is the caller's step


def test_a_crash_while_a_part_is_written_leaves_the_old_file(lake: LocalLake, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lake writes a temp file and renames it: a crash half way leaves the old part, whole."""
    import shutil

    key = lakes.raw_part_key("Lead", DAY, RUNS[0], 1)
    before = lake.get_bytes(key)
    copy = shutil.copyfileobj

    uploads: list[str] = []

    def second_upload_dies_half_written(source: Any, dest: Any, length: int = 0) -> None:
        if str(getattr(source, "name", "")).endswith("rewritten.parquet"):
            uploads.append(source.name)
            if len(uploads) == 2:
                dest.write(source.read(100))
                raise KeyboardInterrupt("killed mid-write")
        copy(source, dest, length)

    monkeypatch.setattr("synthgov.lake.local.shutil.copyfileobj", second_upload_dies_half_written)
    with pytest.raises(KeyboardInterrupt):
        purge_lake(lake, {"Lead": {lead(3), lead(8)}}, run_id=PURGE_RUN)
    assert lake.get_bytes(key) == before
    assert not any(".synthgov-tmp-" in p.name for p in lake.root.rglob("*"))
    first = table_of(lake.get_bytes(lakes.raw_part_key("Lead", DAY, RUNS[0], 0)))  # the new part, whole
    assert lead(3) not in first["Id"].to_pylist() and first.num_rows == 5
    assert lake.exists(lakes.run_prefix("Lead", DAY, RUNS[0]) + PURGE_PENDING_NAME)

    monkeypatch.undo()
    purge_lake(lake, {"Lead": {lead(3), lead(8)}}, run_id=PURGE_RUN)
    assert find_in_lake(lake, {"Lead": {lead(3), lead(8)}}) == []
    assert_manifest_matches_parts(lake, lakes.manifest_key("Lead", DAY, RUNS[0]))
    assert not lake.exists(lakes.run_prefix("Lead", DAY, RUNS[0]) + PURGE_PENDING_NAME)


def test_a_crash_before_the_manifest_is_finished_by_the_next_purge(
    lake: LocalLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_bytes = lake.put_bytes

    def no_manifests(key: str, data: bytes) -> None:
        if key.endswith(lakes.MANIFEST_NAME):
            raise OSError("disk full")
        put_bytes(key, data)

    monkeypatch.setattr(lake, "put_bytes", no_manifests)
    with pytest.raises(OSError, match="disk full"):
        purge_lake(lake, PURGED, run_id=PURGE_RUN)
    monkeypatch.undo()
    folder = lakes.run_prefix("Lead", DAY, RUNS[0])
    assert lake.exists(folder + PURGE_PENDING_NAME)
    manifest = json.loads(lake.get_bytes(folder + lakes.MANIFEST_NAME))
    assert manifest["files"][0]["sha256"] != hashlib.sha256(lake.get_bytes(manifest["files"][0]["key"])).hexdigest()

    # Nothing holds a purged row any more, yet the next purge finishes the manifest it left stale.
    report = purge_lake(lake, PURGED, run_id="retention-retry")
    assert report.files_rewritten != [] or report.manifests_updated != []
    assert folder + lakes.MANIFEST_NAME in report.manifests_updated
    for key in manifests(lake):
        assert_manifest_matches_parts(lake, key)
    assert not [k for k in lake.list() if k.endswith(PURGE_PENDING_NAME)]
    assert find_in_lake(lake, PURGED) == []


# -- the purge registry and extraction -----------------------------------------------------------


def test_the_registry_keeps_hashes_per_run_and_adds_on_repeat(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    key = record_purged(lake, "Lead", [lead(1), lead(2)[:15]], "run-1")
    assert key == "state/purged/Lead/run-1.sha256"
    record_purged(lake, "Lead", [lead(3)], "run-1")  # a resumed run adds, never forgets
    record_purged(lake, "Lead", [lead(4)], "run-2")
    record_purged(lake, "Contact", [sfid("003", 1)], "run-2")
    assert purged_id_hashes(lake, "Lead") == {hash_record_id(lead(n)) for n in (1, 2, 3, 4)}
    assert purged_id_hashes(lake, "Task") == frozenset()
    text = lake.get_bytes(key).decode()
    assert text.splitlines() == sorted(hash_record_id(lead(n)) for n in (1, 2, 3))
    assert lead(1) not in text


def test_a_damaged_registry_stops_rather_than_let_records_back(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    record_purged(lake, "Lead", [lead(1)], "run-1")
    lake.put_bytes("state/purged/Lead/run-2.sha256", lead(2).encode() + b"\n")  # a plain id, by hand
    with pytest.raises(PurgeRegistryError, match=r"run-2\.sha256 line 1 is not a SHA-256 hash"):
        purged_id_hashes(lake, "Lead")


def test_drop_purged_leaves_out_exactly_the_purged_rows() -> None:
    table = records([lead(n) for n in range(1, 6)])
    hashes = frozenset({hash_record_id(lead(2)), hash_record_id(lead(5))})
    kept = drop_purged(table, hashes)
    assert kept["Id"].to_pylist() == [lead(1), lead(3), lead(4)]
    assert kept.schema.equals(table.schema)
    assert drop_purged(table, frozenset()) is table
    assert drop_purged(table, frozenset({hash_record_id(lead(9))})) is table
    with_null = pa.table({"Id": pa.array([None, lead(2)], pa.string())})
    assert drop_purged(with_null, hashes)["Id"].to_pylist() == [None]


# -- bad input and what cannot be read -----------------------------------------------------------


def test_bad_input_changes_nothing(lake: LocalLake) -> None:
    before = snapshot(lake)
    with pytest.raises(ValueError, match="malformed Salesforce record id 'not-an-id'"):
        purge_lake(lake, {"Lead": {lead(3), "not-an-id"}}, run_id=PURGE_RUN)
    with pytest.raises(LakeError, match="invalid Salesforce object name"):
        purge_lake(lake, {"Lead; DROP": {lead(3)}}, run_id=PURGE_RUN)
    with pytest.raises(TypeError, match="collection of ids"):
        purge_lake(lake, {"Lead": lead(3)}, run_id=PURGE_RUN)
    with pytest.raises(LakeError, match="invalid run id"):
        record_purged(lake, "Lead", [lead(3)], "../escape")
    assert purge_lake(lake, {"Lead": set()}, run_id=PURGE_RUN).rows_removed == {}
    assert snapshot(lake) == before


def test_an_unreadable_part_fails_the_purge_loudly(lake: LocalLake) -> None:
    key = lakes.raw_part_key("Lead", DAY, RUNS[2], 0)
    lake.put_bytes(key, b"PAR1 not parquet at all")
    with pytest.raises(LakePurgeError, match=r"cannot be read as parquet .* cannot tell whether it holds purged"):
        purge_lake(lake, PURGED, run_id=PURGE_RUN)
    with pytest.raises(LakePurgeError, match="cannot be read as parquet"):
        find_in_lake(lake, PURGED)


# -- the version primitives on a lake without versions --------------------------------------------


def test_a_local_lake_has_one_version_per_key(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    lake.put_bytes("raw/a.parquet", b"1")
    assert not lake.versioning_enabled() and not lake.object_lock_enabled()
    (version,) = lake.list_versions("raw/")
    assert (version.key, version.version_id, version.is_latest, version.is_delete_marker) == (
        "raw/a.parquet",
        None,
        True,
        False,
    )
    with lake.open_version("raw/a.parquet", None) as f:
        assert f.read() == b"1"
    with pytest.raises(lakes.LakeNotFound, match="keeps no versions"):
        lake.open_version("raw/a.parquet", "v1")
    source = tmp_path / "new"
    source.write_bytes(b"2")
    lake.put_file_erasing_history("raw/a.parquet", source)
    assert lake.get_bytes("raw/a.parquet") == b"2"
    lake.erase("raw/a.parquet")
    lake.erase("raw/a.parquet")
    assert lake.list() == []


def test_extraction_filters_leave_out_the_versions_and_links_of_a_purged_file(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    doc, other = sfid("069", 1), sfid("069", 2)
    record_purged(lake, "ContentDocument", [doc], "run-1")
    record_purged(lake, "ContentVersion", [cv(1)], "run-1")
    filters = purged_filters(lake, "ContentVersion")
    assert set(filters) == {"Id", "ContentDocumentId"}
    versions = pa.table({"Id": [cv(1), cv(2), cv(3)], "ContentDocumentId": [other, doc, other]})
    # cv(1) by its own id, cv(2) because it names the purged document (a version the lake never saw).
    assert drop_purged_rows(versions, filters)["Id"].to_pylist() == [cv(3)]
    links = pa.table({"Id": [sfid("06A", 1), sfid("06A", 2)], "ContentDocumentId": [doc, other]})
    assert drop_purged_rows(links, purged_filters(lake, "ContentDocumentLink"))["Id"].to_pylist() == [sfid("06A", 2)]
    assert purged_filters(lake, "Lead") == {}
