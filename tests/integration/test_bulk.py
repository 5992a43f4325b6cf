"""The one Bulk API 2.0 query-job client, as extraction and retention use it: a cut page is never taken whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgov import lake as lakes
from synthgov.extract.config import ObjectSpec
from synthgov.extract.extractor import extract_object, read_watermark
from synthgov.lake.runs import new_run_id
from synthgov.retention.salesforce_ops import fetch_rows, query_rows
from synthgov.salesforce.bulk import BulkQueryError
from synthgov_sandbox.process import SandboxProcess
from tests.integration.test_extract import connect

pytestmark = pytest.mark.integration

CUT_RESULTS = {"kind": "truncate_page", "path": "/jobs/query/[^/]+/results"}


def test_extraction_refuses_a_cut_bulk_page_and_writes_nothing(org: SandboxProcess, tmp_path: Path) -> None:
    lake = lakes.LocalLake(tmp_path / "lake")
    conn = connect(org)
    now = conn.org_now()
    org.control("POST", "faults", CUT_RESULTS)
    with pytest.raises(BulkQueryError, match="page of job"):
        extract_object(
            conn, lake, ObjectSpec("Lead"), run_id=new_run_id(now), run_start=now, bulk_threshold=1, bulk_poll_seconds=0
        )
    assert read_watermark(lake, "Lead") is None
    assert not [k for k in lake.list(lakes.object_prefix("Lead")) if k.endswith(lakes.MANIFEST_NAME)]


def test_retention_read_back_refuses_a_cut_bulk_page(org: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHGOV_BULK_POLL_SECONDS", "0")
    conn = connect(org)
    whole = query_rows(conn, "SELECT Id FROM Lead", bulk=True)
    assert whole, "the demo org has leads"
    org.control("POST", "faults", CUT_RESULTS)
    with pytest.raises(BulkQueryError, match="the header says"):
        query_rows(conn, "SELECT Id FROM Lead", bulk=True)
    # The fault is used up: the same read is whole again, and matches the REST answer.
    again = fetch_rows(conn, "Lead", [r["Id"] for r in whole], ["Id"])
    assert {r["Id"] for r in again} == {r["Id"] for r in whole}
