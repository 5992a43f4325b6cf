"""A purged file leaves nothing behind: its document, versions, links and findings, in every lake version and the
warehouse.

The demo org's AI media due for deletion is purged through the retention functions, on the local
lake and on a versioned S3 bucket (moto). Before the purge, the lake also gets what a real lake
accumulates: an older version of a purged file that no plan lists, a link sharing the file, that
version's media finding, a non-current S3 version and a part hidden behind a delete marker.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthgov import lake as lakes
from synthgov.extract.config import ExtractionConfig, ObjectSpec
from synthgov.extract.media import FINDINGS_OBJECT
from synthgov.extract.run import extract_all, load_all
from synthgov.lake import Lake, LocalLake
from synthgov.lake.runs import write_one_part_run
from synthgov.retention.apply import ApplyResult
from synthgov.retention.plan import Plan, PlanRequest
from synthgov.retention.run import evidence_entry, purge_stores, receipt, verify_purge
from synthgov.salesforce.ids import canonical_record_id
from synthgov.settings import Settings
from synthgov.warehouse.raw_loader import load_run
from tests.integration.test_retention import apply, make_plan
from tests.retention_world import World

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 2)
PLANTED_RUN = "20261102T080000Z-older"
HIDDEN_RUN = "20261102T070000Z-gone"
OLD_VERSION = canonical_record_id("0685g0000000OLD")
LINK = canonical_record_id("06A5g0000000LNK")
KEPT_LINK = canonical_record_id("06A5g000000KEEP")


def parquet(lake: Lake, key: str, version_id: str | None = None) -> pa.Table:
    with lake.open_version(key, version_id) as handle:
        return pq.read_table(io.BytesIO(handle.read()))


def current_rows(lake: Lake, obj: str) -> list[dict[str, Any]]:
    prefix = lakes.object_prefix(obj)
    return [row for key in lake.list(prefix) if key.endswith(".parquet") for row in parquet(lake, key).to_pylist()]


def rows_describing(lake: Lake, docs: set[str], versions: set[str]) -> list[str]:
    """Every row, in every stored version of every parquet object, that names a purged file or version."""
    found = []
    for version in lake.list_versions("raw/"):
        if version.is_delete_marker or not version.key.endswith(".parquet"):
            continue
        table = parquet(lake, version.key, version.version_id)
        for column, wanted in (("Id", docs | versions), ("ContentDocumentId", docs), ("record_id", versions)):
            if column in table.column_names:
                hits = set(table[column].to_pylist()) & wanted
                found += [f"{version.key} ({version.version_id}): {column} {hit}" for hit in sorted(hits)]
    return found


def write_run(lake: Lake, obj: str, run_id: str, rows: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    folder = lakes.run_prefix(obj, DAY, run_id)
    manifest = write_one_part_run(
        lake, folder, obj, DAY, run_id, pa.Table.from_pylist(rows), part_name="part-00000.parquet"
    )
    return manifest.to_json(), folder + lakes.MANIFEST_NAME


def warehouse_count(world: World, table: str, column: str, ids: Iterable[str]) -> int:
    wanted = sorted(ids)
    marks = ", ".join("?" for _ in wanted)
    ((count,),) = world.warehouse.query(f'SELECT count(*) FROM {table} WHERE "{column}" IN ({marks})', wanted)
    return int(count)


def on_lake(world: World, lake: Lake) -> None:
    """The world's lake copied to ``lake`` (the S3 backend); the local backend is the world's own folder."""
    if isinstance(lake, LocalLake) and isinstance(world.lake, LocalLake) and lake.root == world.lake.root:
        return
    for key in world.lake.list():
        lake.put_bytes(key, world.lake.get_bytes(key))
    world.lake = lake


def plant_history(world: World, doc: str, version_row: dict[str, Any]) -> None:
    """What a plan does not list: an older version of the file, its finding, links; on S3 hidden versions too."""
    old = {**version_row, "Id": OLD_VERSION, "IsLatest": False}
    write_run(world.lake, "ContentVersion", PLANTED_RUN, [old])
    links = [
        {"Id": LINK, "ContentDocumentId": doc, "LinkedEntityId": "005000000000001AAA", "ShareType": "V"},
        {
            "Id": KEPT_LINK,
            "ContentDocumentId": "069000000000001AAA",
            "LinkedEntityId": "005000000000001AAA",
            "ShareType": "V",
        },
    ]
    write_run(world.lake, "ContentDocumentLink", PLANTED_RUN, links)
    finding = pa.table({"record_id": [OLD_VERSION], "status": ["inspected"], "ai_generated": [True]})
    folder = lakes.findings_prefix(DAY, PLANTED_RUN)
    media = write_one_part_run(
        world.lake, folder, FINDINGS_OBJECT, DAY, PLANTED_RUN, finding, part_name=lakes.FINDINGS_NAME
    )
    load_all(world.lake, world.warehouse, ["ContentVersion", "ContentDocumentLink"])
    load_run(world.warehouse, world.lake, media.to_json(), folder + lakes.MANIFEST_NAME)
    if world.lake.versioning_enabled():
        # An overwritten part keeps its old bytes as a non-current version; a deleted one behind a marker.
        key = next(k for k in world.lake.list(lakes.object_prefix("ContentDocument")) if k.endswith(".parquet"))
        world.lake.put_bytes(key, world.lake.get_bytes(key))
        hidden = lakes.raw_part_key("ContentDocument", DAY, HIDDEN_RUN, 0)
        world.lake.put_bytes(hidden, world.lake.get_bytes(key))
        world.lake.delete(hidden)


def purge_files(world: World) -> tuple[Plan, ApplyResult, set[str], set[str]]:
    plan = make_plan(
        world, PlanRequest(run_kind="ad_hoc", reason="TICKET-9: old AI media", objects=("ContentVersion",))
    )
    docs = {str(r["target_id"]) for r in plan.planned}
    versions = {str(r["record_id"]) for r in plan.planned}
    assert docs and all(r["target_object"] == "ContentDocument" for r in plan.planned), plan.planned
    return plan, apply(world, plan), docs, versions


def test_a_purged_file_leaves_no_row_in_any_lake_version_nor_the_warehouse(world: World, lake: Lake) -> None:
    on_lake(world, lake)
    plan = make_plan(
        world, PlanRequest(run_kind="ad_hoc", reason="TICKET-9: old AI media", objects=("ContentVersion",))
    )
    docs = {str(r["target_id"]) for r in plan.planned}
    versions = {str(r["record_id"]) for r in plan.planned}
    assert docs, "the demo org plants AI media due for deletion"
    doc = sorted(docs)[0]
    version_row = next(r for r in current_rows(world.lake, "ContentVersion") if r["ContentDocumentId"] == doc)
    plant_history(world, doc, version_row)
    titles = {
        str(r["Title"]) for r in current_rows(world.lake, "ContentDocument") if r["Id"] in docs and r.get("Title")
    }
    # The defect as a user met it: the documents are in the lake and in the warehouse, titles and all.
    assert rows_describing(world.lake, docs, versions | {OLD_VERSION})
    assert warehouse_count(world, "raw_salesforce.contentdocument", "Id", docs) >= len(docs)
    purged_doc_rows = warehouse_count(world, "raw_salesforce.contentdocument", "Id", docs)
    all_doc_rows = int(world.warehouse.query("SELECT count(*) FROM raw_salesforce.contentdocument")[0][0])

    result = apply(world, plan)
    assert set(result.counts) == {"purged"}, result.counts
    stores = purge_stores(world.lake, world.warehouse, plan, result, run_id=plan.plan_id)
    check = verify_purge(world.conn, world.lake, plan, result, {}, world.warehouse)
    assert check.ok, check

    assert rows_describing(world.lake, docs, versions | {OLD_VERSION}) == []
    assert [r["Id"] for r in current_rows(world.lake, "ContentDocumentLink")] == [KEPT_LINK]
    assert warehouse_count(world, "raw_salesforce.contentdocument", "Id", docs) == 0
    assert warehouse_count(world, "raw_salesforce.contentversion", "ContentDocumentId", docs) == 0
    assert warehouse_count(world, "raw_salesforce.contentversion", "Id", versions | {OLD_VERSION}) == 0
    assert warehouse_count(world, "raw_salesforce.contentdocumentlink", "ContentDocumentId", docs) == 0
    assert warehouse_count(world, "raw_synthgov.contentversion_media", "record_id", versions | {OLD_VERSION}) == 0
    assert warehouse_count(world, "raw_salesforce.contentdocumentlink", "Id", [KEPT_LINK]) == 1
    # Only the purged files went: every other document's rows stay.
    left = int(world.warehouse.query("SELECT count(*) FROM raw_salesforce.contentdocument")[0][0])
    assert 0 < left == all_doc_rows - purged_doc_rows
    purged_list = {str(r[0]) for r in world.warehouse.query("SELECT record_id FROM raw_salesforce._sg_purged")}
    assert docs | versions | {OLD_VERSION, LINK} <= purged_list

    # The receipt counts what went with the files, per object; neither ids nor titles reach the evidence.
    assert stores["removed_with_files"] == {"ContentDocument": len(docs), "ContentDocumentLink": 1, "ContentVersion": 1}
    by_table = stores["warehouse_rows_removed_by_table"]
    assert (
        by_table["raw_salesforce.contentdocument"] >= len(docs) and by_table["raw_salesforce.contentdocumentlink"] == 1
    )
    entry = evidence_entry(plan, result, approver=None, stores=stores, verification=check.as_dict())
    text = json.dumps(entry) + receipt(plan, result, None, None, stores=stores)
    assert "removed with the purged files" in receipt(plan, result, None, None, stores=stores)
    assert not [secret for secret in (*docs, *versions, OLD_VERSION, LINK, *titles) if secret in text]


def test_a_re_extraction_does_not_bring_a_purged_file_back(world: World, lake: Lake, tmp_path: Path) -> None:
    on_lake(world, lake)
    plan, result, docs, versions = purge_files(world)
    purge_stores(world.lake, world.warehouse, plan, result, run_id=plan.plan_id)
    # The org still returns the files: queryAll reads the Recycle Bin, the delete moved SystemModstamp.
    world.org.control("POST", "clock", {"advance_days": 1})
    config = ExtractionConfig(
        Path("test"), (ObjectSpec("ContentDocument"), ObjectSpec("ContentVersion", inspect_media=True))
    )
    settings = Settings(home=tmp_path, window_lag_seconds=0, bulk_poll_seconds=0)
    run = extract_all(world.conn, world.lake, config, settings)
    left_out = {o.obj: json.loads(world.lake.get_bytes(o.manifest_key))["rows_left_out_purged"] for o in run.objects}
    assert left_out["ContentDocument"] >= len(docs) and left_out["ContentVersion"] >= len(versions), left_out
    load_all(
        world.lake, world.warehouse, ["ContentDocument", "ContentVersion"], run.media.manifests if run.media else []
    )

    assert rows_describing(world.lake, docs, versions) == []
    assert warehouse_count(world, "raw_salesforce.contentdocument", "Id", docs) == 0
    assert warehouse_count(world, "raw_salesforce.contentversion", "ContentDocumentId", docs) == 0
    assert warehouse_count(world, "raw_synthgov.contentversion_media", "record_id", versions) == 0
    assert verify_purge(world.conn, world.lake, plan, result, {}, world.warehouse).ok


def test_verify_fails_when_a_row_of_a_purged_file_is_planted_back(world: World, lake: Lake) -> None:
    on_lake(world, lake)
    plan, result, docs, _ = purge_files(world)
    purge_stores(world.lake, world.warehouse, plan, result, run_id=plan.plan_id)
    assert verify_purge(world.conn, world.lake, plan, result, {}, world.warehouse).ok
    doc = sorted(docs)[0]

    # A version no journal knows, naming a purged document: found by its reference.
    stray = {"Id": canonical_record_id("0685g000000STRY"), "ContentDocumentId": doc, "Title": "back again"}
    manifest, key = write_run(world.lake, "ContentVersion", PLANTED_RUN, [stray])
    check = verify_purge(world.conn, world.lake, plan, result, {}, world.warehouse)
    assert not check.ok and check.lake_leftovers and not check.warehouse_leftovers
    assert all("ContentVersion" in leftover for leftover in check.lake_leftovers)
    assert doc not in " ".join(check.lake_leftovers)  # hashed, as in the evidence

    # Loaded into the warehouse, the lake's copy erased: the warehouse half fails on its own.
    load_run(world.warehouse, world.lake, manifest, key)
    for part in world.lake.list(lakes.run_prefix("ContentVersion", DAY, PLANTED_RUN)):
        world.lake.erase(part)
    check = verify_purge(world.conn, world.lake, plan, result, {}, world.warehouse)
    assert not check.ok and not check.lake_leftovers
    assert check.warehouse_leftovers == ["raw_salesforce.contentversion: 1 rows of purged records"]
    assert check.as_dict()["warehouse_leftovers"] == 1

    # The document's own row, title and all, back in a lake run.
    doc_row = {"Id": doc, "Title": "a purged file's title", "SystemModstamp": datetime(2026, 11, 2, tzinfo=UTC)}
    write_run(world.lake, "ContentDocument", PLANTED_RUN, [doc_row])
    check = verify_purge(world.conn, world.lake, plan, result, {}, world.warehouse)
    assert any(leftover.startswith("ContentDocument record") for leftover in check.lake_leftovers)
    assert not check.ok
