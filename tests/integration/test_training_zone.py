"""The training zone on S3 (moto's real server on loopback): its posture read with boto3, and its
manifests carried through the lake into the warehouse's raw tables."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest

from synthgov.extract.run import load_all
from synthgov.lake import LocalLake, S3Lake
from synthgov.settings import TRAINING_LAKE_URL
from synthgov.training.manifest import MANIFESTS_OBJECT, RECORDS_OBJECT, read_training_manifests
from synthgov.training.posture import POSTURE_OBJECT, PUBLIC_ACCESS_SETTINGS, read_posture
from synthgov.training.zone import open_training_zone
from synthgov.warehouse import DuckDBWarehouse
from synthgov_airflow.operators.training import TrainingLakePostureOperator

pytestmark = pytest.mark.integration

LOG_DELIVERY = 'uri="http://acs.amazonaws.com/groups/s3/LogDelivery"'
ALL_BLOCKED = dict.fromkeys(PUBLIC_ACCESS_SETTINGS, True)


@pytest.fixture
def aws(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Fake credentials and moto's endpoint, where the lake (and so the training zone) takes them from."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SYNTHGOV_S3_ENDPOINT_URL": s3_server,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL", TRAINING_LAKE_URL.name):
        monkeypatch.delenv(name, raising=False)
    return s3_server


def _bucket(admin: Any, name: str) -> str:
    bucket = f"{name}-{uuid.uuid4().hex[:10]}"
    admin.create_bucket(Bucket=bucket)
    return bucket


def _outcomes(zone_lake_url: str, main: Any) -> list[tuple[str, str, str]]:
    return [(o.control, o.status, o.detail) for o in read_posture(open_training_zone(main, zone_lake_url))]


def test_a_bucket_with_every_control_on_passes_them_all(aws: str, _s3_admin: Any, tmp_path: Path) -> None:
    logs = _bucket(_s3_admin, "tz-logs")
    _s3_admin.put_bucket_acl(Bucket=logs, GrantWrite=LOG_DELIVERY, GrantReadACP=LOG_DELIVERY)
    bucket = _bucket(_s3_admin, "tz-secure")
    _s3_admin.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=ALL_BLOCKED)
    _s3_admin.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/t"}}]
        },
    )
    _s3_admin.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    _s3_admin.put_bucket_logging(
        Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": logs, "TargetPrefix": "training/"}}
    )

    assert _outcomes(f"s3://{bucket}", LocalLake(tmp_path / "lake")) == [
        ("separation", "pass", f"own_bucket:{bucket}"),
        ("access_logging", "pass", f"server_access_logging:on target:s3://{logs}/training/"),
        ("public_access_block", "pass", "on:BlockPublicAcls,IgnorePublicAcls,BlockPublicPolicy,RestrictPublicBuckets"),
        ("default_encryption", "pass", "sse:aws:kms"),
        ("versioning", "pass", "versioning:enabled"),
    ]


def test_a_bucket_with_gaps_reports_exactly_them(
    aws: str, _s3_admin: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = _bucket(_s3_admin, "tz-gappy")
    blocked = {**ALL_BLOCKED, "BlockPublicPolicy": False, "RestrictPublicBuckets": False}
    _s3_admin.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=blocked)
    _s3_admin.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    _s3_admin.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    # The lake in the bucket, the zone its default training/ prefix: the operator finds both as the lake does.
    monkeypatch.setenv("SYNTHGOV_LAKE_URL", f"s3://{bucket}/synthgov")

    summary = TrainingLakePostureOperator(task_id="read_training_lake_posture").execute({})

    assert summary["zone"] == f"s3://{bucket}/synthgov/training"
    assert summary["zone_kind"] == "s3_prefix"
    assert summary["outcomes"] == {
        "separation": "pass",
        "access_logging": "fail",
        "public_access_block": "fail",
        "default_encryption": "fail",
        "versioning": "fail",
    }
    lake = S3Lake(bucket, "synthgov", endpoint_url=aws)
    assert _outcomes(None, lake) == [  # type: ignore[arg-type]
        ("separation", "pass", f"dedicated_prefix:s3://{bucket}/synthgov/training/ (default)"),
        ("access_logging", "fail", "server_access_logging:off"),
        ("public_access_block", "fail", "off:BlockPublicPolicy,RestrictPublicBuckets"),
        ("default_encryption", "fail", "default_encryption:none"),
        ("versioning", "fail", "versioning:suspended"),
    ]
    (manifest,) = summary["manifests"]
    assert manifest["object"] == POSTURE_OBJECT and manifest["rows"] == 5
    assert lake.exists(manifest["files"][0]["key"])


def test_separation_fails_when_the_zone_is_not_apart_from_the_raw_zone(aws: str, _s3_admin: Any) -> None:
    bucket = _bucket(_s3_admin, "tz-shared")
    lake = S3Lake(bucket, "synthgov", endpoint_url=aws)
    cases = {
        f"s3://{bucket}/synthgov": f"zone:s3://{bucket}/synthgov/ holds the lake s3://{bucket}/synthgov/",
        f"s3://{bucket}": f"zone:s3://{bucket}/ holds the lake s3://{bucket}/synthgov/",
        f"s3://{bucket}/synthgov/raw/ml": f"zone:s3://{bucket}/synthgov/raw/ml/ is inside the lake's raw/ folder",
    }
    for url, detail in cases.items():
        assert _outcomes(url, lake)[0] == ("separation", "fail", detail), url
    configured = _outcomes(f"s3://{bucket}/ml-training", lake)[0]
    assert configured == ("separation", "pass", f"dedicated_prefix:s3://{bucket}/ml-training/ (configured)")


def test_a_missing_bucket_is_an_error_per_control_not_a_crash(aws: str, tmp_path: Path) -> None:
    missing = f"tz-missing-{uuid.uuid4().hex[:10]}"
    outcomes = _outcomes(f"s3://{missing}", LocalLake(tmp_path / "lake"))
    assert [(c, s) for c, s, _ in outcomes] == [
        ("separation", "pass"),
        ("access_logging", "error"),
        ("public_access_block", "error"),
        ("default_encryption", "error"),
        ("versioning", "error"),
    ]
    assert all(f"bucket {missing!r} does not exist" in detail for _, _, detail in outcomes[1:])


def _manifest(dataset: str, ids: list[str]) -> bytes:
    records = [{"object": "Lead", "id": i, "declared_provenance": "authentic"} for i in ids]
    document = {
        "manifest_version": 1,
        "dataset": dataset,
        "model": "m",
        "purpose": "p",
        "created_at": "2026-10-01T00:00:00+02:00",
        "records": records,
    }
    return json.dumps(document).encode()


def test_manifests_in_an_s3_zone_reach_the_warehouse_and_an_emptied_zone_empties_the_snapshot(
    aws: str, _s3_admin: Any, tmp_path: Path
) -> None:
    zone_bucket = _bucket(_s3_admin, "tz-data")
    lake = LocalLake(tmp_path / "lake")
    zone = open_training_zone(lake, f"s3://{zone_bucket}/sets")
    zone.lake.put_bytes("manifests/a.json", _manifest("a", ["00Q5g0000000001EAA", "00Q5g0000000002"]))
    zone.lake.put_bytes("manifests/b.json", b"{}")
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")

    first = read_training_manifests(lake, zone, run_id="20261101T000000Z-aaaaaa")
    load_all(lake, warehouse, [], first.manifests)
    zone.lake.delete("manifests/a.json")
    zone.lake.delete("manifests/b.json")
    second = read_training_manifests(lake, zone, run_id="20261102T000000Z-bbbbbb")
    loaded = load_all(lake, warehouse, [], second.manifests + first.manifests)  # a repeated run is not reloaded

    assert [(r.object, r.run_id, r.rows) for r in loaded] == [
        (MANIFESTS_OBJECT, "20261102T000000Z-bbbbbb", 0),
        (RECORDS_OBJECT, "20261102T000000Z-bbbbbb", 0),
    ]
    with duckdb.connect(str(warehouse.path)) as con:
        records = con.execute(
            "select record_id, declared_id, _sg_run_id from raw_synthgov.training_manifest_records order by 1"
        ).fetchall()
        manifests = con.execute(
            "select manifest_key, manifest_uri, is_valid, problem_count, created_at at time zone 'UTC' "
            "from raw_synthgov.training_manifests order by 1"
        ).fetchall()
    assert records == [
        ("00Q5g0000000001EAA", "00Q5g0000000001EAA", "20261101T000000Z-aaaaaa"),
        ("00Q5g0000000002EAA", "00Q5g0000000002", "20261101T000000Z-aaaaaa"),
    ]
    assert [m[:4] for m in manifests] == [
        ("manifests/a.json", f"s3://{zone_bucket}/sets/manifests/a.json", True, 0),
        ("manifests/b.json", f"s3://{zone_bucket}/sets/manifests/b.json", False, 6),
    ]
    assert str(manifests[0][4]) == "2026-09-30 22:00:00"
