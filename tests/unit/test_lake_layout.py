"""The map of the lake: every key synthgov writes is built by ``synthgov.lake.layout``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from synthgov import lake as lakes
from synthgov.lake import layout
from synthgov.lake.purged import record_purged
from synthgov.lake.runs import write_one_part_run
from synthgov.retention.evidence import EvidenceLedger
from synthgov.training.manifest import MANIFESTS_OBJECT, MANIFESTS_SCHEMA
from synthgov.training.zone import write_snapshot

pytestmark = pytest.mark.unit

DAY = date(2026, 11, 2)
RUN = "20261102T020000Z-1a2b3c"
LEAD_ID = "00Q5g0000000001EAA"


def test_each_helper_builds_a_key_under_one_mapped_prefix() -> None:
    keys = {
        layout.raw_part_key("Lead", DAY, RUN, 3): "raw/salesforce/Lead/run_date=2026-11-02/run_id=" + RUN,
        layout.manifest_key("Lead", DAY, RUN): "raw/salesforce/Lead/run_date=2026-11-02/run_id=" + RUN,
        layout.findings_key(DAY, RUN): "raw/salesforce_files/ContentVersion/run_date=2026-11-02/run_id=" + RUN,
        layout.findings_manifest_key(DAY, RUN): "raw/salesforce_files/ContentVersion/run_date=2026-11-02/run_id=" + RUN,
        layout.training_run_prefix("Training_Manifests", DAY, RUN) + layout.part_name(0): (
            "raw/training/Training_Manifests/run_date=2026-11-02/run_id=" + RUN
        ),
        layout.watermark_key("Lead"): "state/watermarks",
        layout.purge_registry_key("Lead", RUN): "state/purged/Lead",
        layout.plan_journal_prefix(RUN) + "/outcomes.json": f"retention/plans/{RUN}/journal",
    }
    for key, folder in keys.items():
        assert layout.run_folder(key).rstrip("/") == folder, key
        assert key.startswith(layout.PRODUCT_PREFIXES), key
    assert layout.raw_part_key("Lead", DAY, RUN, 3).endswith("/part-00003.parquet")
    assert layout.purge_pending_key(layout.run_prefix("Lead", DAY, RUN)).endswith(f"/run_id={RUN}/_purge_pending.json")
    assert layout.run_id_from_key(layout.findings_key(DAY, RUN)) == RUN
    assert {"raw", "state"} == layout.RAW_DATA_FOLDERS
    # The storage and the layout names are one namespace for callers of ``synthgov.lake``.
    assert lakes.manifest_key is layout.manifest_key


@pytest.mark.parametrize("bad", ["", "Lead/x", "../Lead", "Lead.Id"])
def test_object_names_that_would_escape_their_folder_are_refused(bad: str) -> None:
    with pytest.raises(lakes.LakeError, match="invalid Salesforce object name"):
        layout.object_prefix(bad)


@pytest.mark.parametrize("bad", ["", "a/b", "..", "-x"])
def test_run_ids_that_would_escape_their_folder_are_refused(bad: str) -> None:
    with pytest.raises(lakes.LakeError, match="invalid run id"):
        layout.run_prefix("Lead", DAY, bad)


def test_what_the_writers_store_lies_under_the_mapped_prefixes(tmp_path: Path) -> None:
    lake = lakes.LocalLake(tmp_path / "lake")
    write_snapshot(lake, MANIFESTS_OBJECT, DAY, RUN, [], MANIFESTS_SCHEMA)
    findings = pa.table({"record_id": pa.array([], pa.string())})
    folder = layout.findings_prefix(DAY, RUN)
    write_one_part_run(lake, folder, "ContentVersion_Media", DAY, RUN, findings, part_name=layout.FINDINGS_NAME)
    record_purged(lake, "Lead", [LEAD_ID], RUN)
    EvidenceLedger(lake).append({"kind": "retention.apply", "plan_id": RUN})
    keys = lake.list()
    assert len(keys) == 6
    assert [k for k in keys if not k.startswith(layout.PRODUCT_PREFIXES)] == []
