"""What the extractor leaves in the lake, built by hand: small Lead parts and the manifests that commit runs.

Shared by the warehouse tests of every backend, so each loads exactly the same runs.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from synthgov.lake import Lake, manifest_key, raw_part_key

DAY = date(2026, 11, 2)
RUN_1 = "20261102T090000Z-aaaa"
RUN_2 = "20261103T090000Z-bbbb"
RUN_3 = "20261104T090000Z-cccc"


def leads(ids: list[str], **extra: list[Any]) -> pa.Table:
    created = [datetime(2026, 11, 1, 8, i % 60, tzinfo=UTC) for i in range(len(ids))]
    columns: dict[str, Any] = {
        "Id": pa.array(ids, pa.string()),
        "CreatedDate": pa.array(created, pa.timestamp("us", tz="UTC")),
        "AI_Generated__c": pa.array([i % 2 == 0 for i in range(len(ids))]),
        "Lead_Score__c": pa.array([Decimal("50.25")] * len(ids), pa.decimal128(18, 2)),
    }
    columns.update({name: pa.array(values) for name, values in extra.items()})
    return pa.table(columns)


def write_run(
    lake: Lake, run_id: str, parts: list[pa.Table], obj: str = "Lead", run_date: date = DAY
) -> dict[str, Any]:
    """What the extractor leaves: parquet parts, then the manifest that commits the run."""
    files = []
    for n, table in enumerate(parts):
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        data = buffer.getvalue()
        key = raw_part_key(obj, run_date, run_id, n)
        lake.put_bytes(key, data)
        files.append({"key": key, "rows": table.num_rows, "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {"object": obj, "run_id": run_id, "run_date": run_date.isoformat(), "files": files}
    lake.put_bytes(manifest_key(obj, run_date, run_id), json.dumps(manifest).encode())
    return manifest
