"""The training zone's security posture, read with boto3: one outcome per control, every night.

Controls (GDPR Art. 32 security of processing, Art. 5(1)(f) integrity and confidentiality; NIST AI
RMF MANAGE), each ``pass``, ``fail``, ``error`` (could not be read: the detail says why) or
``not_applicable``:

- ``separation``: the zone is its own bucket, or a dedicated prefix outside the folders synthgov
  writes its raw extracts and watermarks to;
- ``access_logging``: S3 server access logging is on for the bucket;
- ``public_access_block``: all four settings of the bucket's public access block are on;
- ``default_encryption``: the bucket has a default server-side encryption rule;
- ``versioning``: versioning is enabled.

Bucket settings apply to a prefix zone too: S3 has them per bucket only. A local-folder zone has
none of these controls: every control is ``not_applicable`` (an informational finding, never a
pass). The account-level public access block is not read (it needs s3control and the account id).

The outcomes go to the lake's raw zone as the snapshot table ``Training_Lake_Posture``; dbt turns
failures, errors and not-applicable controls into ``finding_training_lake_posture``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from botocore.exceptions import BotoCoreError, ClientError

from synthgov import lake as lakes
from synthgov import settings
from synthgov.training.zone import TrainingZone, write_snapshot

log = logging.getLogger(__name__)

POSTURE_OBJECT = "Training_Lake_Posture"
CONTROLS = ("separation", "access_logging", "public_access_block", "default_encryption", "versioning")
STATUSES = ("pass", "fail", "error", "not_applicable")
PUBLIC_ACCESS_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")

POSTURE_SCHEMA = pa.schema(
    [
        ("zone_uri", pa.string()),
        ("zone_kind", pa.string()),
        ("bucket", pa.string()),
        ("control", pa.string()),
        ("status", pa.string()),
        ("detail", pa.string()),
        ("read_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class ControlOutcome:
    control: str
    status: str
    detail: str


def zone_kind(zone: TrainingZone) -> str:
    """``local``, ``s3_bucket`` (a whole bucket) or ``s3_prefix`` (a prefix of a bucket)."""
    if isinstance(zone.lake, lakes.S3Lake):
        return "s3_prefix" if zone.lake.prefix else "s3_bucket"
    return "local"


def read_posture(zone: TrainingZone) -> list[ControlOutcome]:
    """One outcome per control in CONTROLS, in that order; S3 errors become ``error`` outcomes."""
    if not isinstance(zone.lake, lakes.S3Lake):
        why = "the training zone is a local folder, which has no bucket controls; use S3 in production"
        return [ControlOutcome(c, "not_applicable", why) for c in CONTROLS]
    s3 = zone.lake
    client = s3.client
    readers: dict[str, Callable[[Any, str], ControlOutcome]] = {
        "access_logging": _access_logging,
        "public_access_block": _public_access_block,
        "default_encryption": _default_encryption,
        "versioning": _versioning,
    }
    outcomes = [_separation(zone)]
    for control, read in readers.items():
        try:
            outcomes.append(read(client, s3.bucket))
        except (ClientError, BotoCoreError) as exc:
            outcomes.append(ControlOutcome(control, "error", _explain(exc, s3)))
    return outcomes


def _separation(zone: TrainingZone) -> ControlOutcome:
    z = zone.lake
    assert isinstance(z, lakes.S3Lake)
    main = zone.main
    if not isinstance(main, lakes.S3Lake) or main.bucket != z.bucket:
        return ControlOutcome("separation", "pass", f"own_bucket:{z.bucket}")
    zone_prefix = f"{z.prefix}/" if z.prefix else ""
    lake_prefix = f"{main.prefix}/" if main.prefix else ""
    if lake_prefix.startswith(zone_prefix):
        return ControlOutcome(
            "separation", "fail", f"zone:s3://{z.bucket}/{zone_prefix} holds the lake s3://{z.bucket}/{lake_prefix}"
        )
    folder = zone_prefix.removeprefix(lake_prefix).split("/")[0] if zone_prefix.startswith(lake_prefix) else None
    if folder in lakes.RAW_DATA_FOLDERS:
        where = f"zone:s3://{z.bucket}/{zone_prefix}"
        return ControlOutcome("separation", "fail", f"{where} is inside the lake's {folder}/ folder")
    how = "configured" if zone.configured else "default"
    return ControlOutcome("separation", "pass", f"dedicated_prefix:s3://{z.bucket}/{zone_prefix} ({how})")


def _access_logging(client: Any, bucket: str) -> ControlOutcome:
    enabled = client.get_bucket_logging(Bucket=bucket).get("LoggingEnabled")
    if not enabled:
        return ControlOutcome("access_logging", "fail", "server_access_logging:off")
    target = f"{enabled.get('TargetBucket', '')}/{enabled.get('TargetPrefix', '')}"
    return ControlOutcome("access_logging", "pass", f"server_access_logging:on target:s3://{target}")


def _public_access_block(client: Any, bucket: str) -> ControlOutcome:
    try:
        config = client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except ClientError as exc:
        if lakes.s3_error_code(exc) == "NoSuchPublicAccessBlockConfiguration":
            return ControlOutcome("public_access_block", "fail", "public_access_block:none")
        raise
    off = [name for name in PUBLIC_ACCESS_SETTINGS if not config.get(name)]
    if off:
        return ControlOutcome("public_access_block", "fail", f"off:{','.join(off)}")
    return ControlOutcome("public_access_block", "pass", "on:" + ",".join(PUBLIC_ACCESS_SETTINGS))


def _default_encryption(client: Any, bucket: str) -> ControlOutcome:
    try:
        rules = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as exc:
        if lakes.s3_error_code(exc) == "ServerSideEncryptionConfigurationNotFoundError":
            return ControlOutcome("default_encryption", "fail", "default_encryption:none")
        raise
    algorithms = [
        str(rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"])
        for rule in rules
        if rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
    ]
    if not algorithms:
        return ControlOutcome("default_encryption", "fail", "default_encryption:no_algorithm")
    return ControlOutcome("default_encryption", "pass", f"sse:{','.join(algorithms)}")


def _versioning(client: Any, bucket: str) -> ControlOutcome:
    status = client.get_bucket_versioning(Bucket=bucket).get("Status")
    if status != "Enabled":
        return ControlOutcome("versioning", "fail", f"versioning:{(status or 'never_enabled').lower()}")
    return ControlOutcome("versioning", "pass", "versioning:enabled")


def _explain(exc: ClientError | BotoCoreError, zone: lakes.S3Lake) -> str:
    return lakes.describe_s3_error(
        exc,
        zone.bucket,
        endpoint_url=zone.endpoint_url,
        access=zone.access,
        url_setting=f"{settings.TRAINING_LAKE_URL.name} (or the lake's URL)",
        needs="have s3:GetBucketLogging, s3:GetBucketPublicAccessBlock, s3:GetEncryptionConfiguration and "
        "s3:GetBucketVersioning",
    )


@dataclass
class PostureResult:
    """What one read of the zone's posture found; ``manifests`` are the lake runs the load task takes."""

    zone: str
    zone_kind: str
    run_id: str
    outcomes: dict[str, str] = field(default_factory=dict)
    manifests: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_training_lake_posture(
    lake: lakes.Lake,
    zone: TrainingZone,
    *,
    run_id: str,
    now: datetime | None = None,
    report: Callable[[str], None] = log.info,
) -> PostureResult:
    """Read the zone's controls and write them to ``lake``'s raw zone as one snapshot run."""
    now = now or datetime.now(UTC)
    kind = zone_kind(zone)
    bucket = zone.lake.bucket if isinstance(zone.lake, lakes.S3Lake) else None
    outcomes = read_posture(zone)
    rows = [
        {
            "zone_uri": zone.uri,
            "zone_kind": kind,
            "bucket": bucket,
            "control": o.control,
            "status": o.status,
            "detail": o.detail,
            "read_at": now,
        }
        for o in outcomes
    ]
    for o in outcomes:
        report(f"training zone {zone.uri}: {o.control} {o.status} ({o.detail})")
    manifest = write_snapshot(lake, POSTURE_OBJECT, now.date(), run_id, rows, POSTURE_SCHEMA).to_json()
    return PostureResult(
        zone=zone.uri,
        zone_kind=kind,
        run_id=run_id,
        outcomes={o.control: o.status for o in outcomes},
        manifests=[manifest],
    )
