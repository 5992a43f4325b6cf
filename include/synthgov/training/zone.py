"""The training zone: where training data sets and their manifests live, apart from the raw zone.

By default it is the prefix ``training/`` of the lake (a folder of a local lake, a prefix of the
lake's bucket). ``SYNTHGOV_TRAINING_LAKE_URL`` makes it a lake of its own (any URL the lake
accepts, typically a dedicated, access-logged bucket: ``s3://acme-training[/prefix]``), reached
with the same credentials and S3 endpoint as the lake.

What synthgov reads there lands in the lake's raw zone as snapshot runs, one object per table:
``raw/training/<Object>/run_date=YYYY-MM-DD/run_id=<id>/part-00000.parquet`` and ``_manifest.json``,
which the warehouse loader appends to ``raw_salesforce.<object lower-case>`` like any findings run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from synthgov import lake as lakes

TRAINING_LAKE_URL_ENV = "SYNTHGOV_TRAINING_LAKE_URL"
TRAINING_PREFIX = "training"
RAW_TRAINING_PREFIX = "raw/training"
# Top-level folders of the lake that synthgov itself writes (raw extracts, watermarks): a training
# zone inside one of them is not apart from the raw data.
LAKE_OWN_FOLDERS = frozenset({"raw", "state"})

_OBJECT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class TrainingZone:
    """The zone as a lake of its own (keys relative to the zone) and the lake synthgov writes to."""

    lake: lakes.Lake
    main: lakes.Lake
    #: True when SYNTHGOV_TRAINING_LAKE_URL (or an explicit URL) names the zone; False for ``training/``.
    configured: bool

    @property
    def uri(self) -> str:
        return self.lake.url


def open_training_zone(main: lakes.Lake, url: str | None = None) -> TrainingZone:
    """The zone at ``url``, else ``$SYNTHGOV_TRAINING_LAKE_URL``, else the ``training/`` prefix of ``main``."""
    if url is None:
        url = os.environ.get(TRAINING_LAKE_URL_ENV) or None
    if url is not None:
        try:
            return TrainingZone(lakes.open_lake(url), main, configured=True)
        except lakes.LakeError as exc:
            raise lakes.LakeError(f"the training zone ({TRAINING_LAKE_URL_ENV}) is not usable: {exc}") from exc
    if isinstance(main, lakes.S3Lake):
        prefix = f"{main.prefix}/{TRAINING_PREFIX}" if main.prefix else TRAINING_PREFIX
        return TrainingZone(lakes.S3Lake(main.bucket, prefix, endpoint_url=main.endpoint_url), main, configured=False)
    if isinstance(main, lakes.LocalLake):
        return TrainingZone(lakes.LocalLake(main.root / TRAINING_PREFIX), main, configured=False)
    raise lakes.LakeError(f"no training zone for a {type(main).__name__}; set {TRAINING_LAKE_URL_ENV}")


def snapshot_prefix(obj: str, run_date: date, run_id: str) -> str:
    """The folder of one snapshot run of a training-zone table in the lake's raw zone."""
    if not _OBJECT.fullmatch(obj):
        raise lakes.LakeError(f"invalid table name {obj!r} for a lake key")
    if not _RUN_ID.fullmatch(run_id):
        raise lakes.LakeError(f"invalid run id {run_id!r} for a lake key: use letters, digits, '.', '_' and '-'")
    return f"{RAW_TRAINING_PREFIX}/{obj}/run_date={run_date.isoformat()}/run_id={run_id}/"


def write_snapshot(
    lake: lakes.Lake, obj: str, run_date: date, run_id: str, rows: list[dict[str, Any]], schema: pa.Schema
) -> dict[str, Any]:
    """Write one snapshot run (one parquet part, then its manifest) and return the manifest.

    The manifest has the shape the warehouse loader takes (object, run_id, files with rows and
    SHA-256). An empty snapshot is written too: it says the zone held nothing at this run.
    """
    prefix = snapshot_prefix(obj, run_date, run_id)
    key = f"{prefix}part-00000.parquet"
    table = pa.Table.from_pylist(rows, schema=schema)
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "part.parquet"
        pq.write_table(table, local, compression="zstd")
        digest = hashlib.sha256(local.read_bytes()).hexdigest()
        lake.put_file(key, local)
    manifest = {
        "object": obj,
        "run_id": run_id,
        "run_date": run_date.isoformat(),
        "rows": len(rows),
        "files": [{"key": key, "rows": len(rows), "sha256": digest}],
    }
    lake.put_bytes(f"{prefix}{lakes.MANIFEST_NAME}", json.dumps(manifest, indent=2).encode())
    return manifest
