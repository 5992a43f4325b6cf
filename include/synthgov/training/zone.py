"""The training zone: where training data sets and their manifests live, apart from the raw zone.

By default it is the prefix ``training/`` of the lake (a folder of a local lake, a prefix of the
lake's bucket). ``SYNTHGOV_TRAINING_LAKE_URL`` makes it a lake of its own (any URL the lake
accepts, typically a dedicated, access-logged bucket: ``s3://acme-training[/prefix]``), reached
with the same credentials and S3 endpoint as the lake.

What synthgov reads there lands in the lake's raw zone as snapshot runs, one object per table:
``raw/training/<Object>/run_date=YYYY-MM-DD/run_id=<id>/part-00000.parquet`` and ``_manifest.json``,
which the warehouse loader appends to ``raw_synthgov.<object lower-case>`` like any findings run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from synthgov import lake as lakes
from synthgov import settings
from synthgov.lake.runs import RunManifest, write_one_part_run


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
        url = settings.training_lake_url()
    if url is not None:
        try:
            # The zone's bucket is reached the way the lake is (the same connection's session, in Airflow).
            access = main.access if isinstance(main, lakes.S3Lake) else None
            return TrainingZone(lakes.open_lake(url, s3_access=access), main, configured=True)
        except lakes.LakeError as exc:
            raise lakes.LakeError(
                f"the training zone ({settings.TRAINING_LAKE_URL.name}) is not usable: {exc}"
            ) from exc
    if isinstance(main, lakes.S3Lake):
        prefix = f"{main.prefix}/{lakes.TRAINING_ZONE_PREFIX}" if main.prefix else lakes.TRAINING_ZONE_PREFIX
        return TrainingZone(
            lakes.S3Lake(main.bucket, prefix, endpoint_url=main.endpoint_url, access=main.access),
            main,
            configured=False,
        )
    if isinstance(main, lakes.LocalLake):
        return TrainingZone(lakes.LocalLake(main.root / lakes.TRAINING_ZONE_PREFIX), main, configured=False)
    raise lakes.LakeError(f"no training zone for a {type(main).__name__}; set {settings.TRAINING_LAKE_URL.name}")


def write_snapshot(
    lake: lakes.Lake, obj: str, run_date: date, run_id: str, rows: list[dict[str, Any]], schema: pa.Schema
) -> RunManifest:
    """Write one snapshot run of a training-zone table (one parquet part, then its manifest).

    An empty snapshot is written too: it says the zone held nothing at this run.
    """
    table = pa.Table.from_pylist(rows, schema=schema)
    folder = lakes.training_run_prefix(obj, run_date, run_id)
    return write_one_part_run(lake, folder, obj, run_date, run_id, table, part_name=lakes.part_name(0))
