"""The evidence ledger on S3 (moto): conditional puts, versions as tamper evidence, Object Lock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from synthgov.cli import main
from synthgov.lake import LakeError, S3Lake
from synthgov.retention.evidence import EvidenceLedger
from tests.unit.test_evidence import apply_entry

pytestmark = pytest.mark.integration


def bucket(admin: Any, *, versioned: bool = False, locked: bool = False) -> str:
    name = f"synthgov-evidence-{uuid.uuid4().hex[:12]}"
    if locked:
        admin.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)  # turns versioning on, for good
    else:
        admin.create_bucket(Bucket=name)
    if versioned:
        admin.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def plain_lake(s3_lake: S3Lake, _s3_admin: Any) -> S3Lake:
    """An S3 lake in a bucket without versioning (the s3_lake fixture also sets fake credentials)."""
    return S3Lake(bucket(_s3_admin), prefix="synthgov", endpoint_url=s3_lake.endpoint_url)


@pytest.fixture
def locked_lake(s3_lake: S3Lake, _s3_admin: Any) -> S3Lake:
    return S3Lake(bucket(_s3_admin, locked=True), prefix="synthgov", endpoint_url=s3_lake.endpoint_url)


def raw_put(lake: S3Lake, key: str, data: bytes) -> None:
    lake.client.put_object(Bucket=lake.bucket, Key=f"{lake.prefix}/{key}", Body=data)


def test_round_trip_on_s3(s3_lake: S3Lake) -> None:
    ledger = EvidenceLedger(s3_lake)
    appended = [ledger.append(apply_entry(n)) for n in range(3)]
    report = ledger.verify()
    assert report.ok, report.problems
    assert (report.entries, report.head_sha256) == (3, appended[-1].sha256)
    assert report.versioned and not report.worm and "not WORM" in report.summary()
    assert [e["prev_sha256"] for e in ledger.entries()[1:]] == [a.sha256 for a in appended[:2]]


def test_one_byte_edits_fail_on_a_bucket_without_versions(plain_lake: S3Lake) -> None:
    ledger = EvidenceLedger(plain_lake)
    for n in range(3):
        ledger.append(apply_entry(n))
    key = ledger.segment_key(1)
    original = plain_lake.get_bytes(key)
    # Where a bucket keeps no versions, only the content can tell: structural bytes and a spread of others.
    positions = sorted({0, 1, len(original) - 2, len(original) - 1, *range(2, len(original) - 2, 7)})
    for position in positions:
        edited = bytearray(original)
        edited[position] ^= 0x01
        raw_put(plain_lake, key, bytes(edited))
        report = ledger.verify()
        assert not report.ok and not report.versioned, position
        assert all(p.key == key or p.key == ledger.segment_key(2) for p in report.problems)
    raw_put(plain_lake, key, original)
    assert ledger.verify().ok


def test_a_rewritten_segment_shows_on_a_versioned_bucket_even_with_the_same_bytes(s3_lake: S3Lake) -> None:
    ledger = EvidenceLedger(s3_lake)
    for n in range(2):
        ledger.append(apply_entry(n))
    key = ledger.segment_key(0)
    raw_put(s3_lake, key, s3_lake.get_bytes(key))
    (problem,) = ledger.verify().problems
    assert problem.key == key and "segment was rewritten: 2 versions" in problem.message


def test_a_segment_cut_from_the_end_shows_on_a_versioned_bucket(s3_lake: S3Lake) -> None:
    ledger = EvidenceLedger(s3_lake)
    for n in range(3):
        ledger.append(apply_entry(n))
    s3_lake.delete(ledger.segment_key(2))
    (problem,) = ledger.verify().problems
    assert problem.key == ledger.segment_key(2) and "segment was deleted" in problem.message


def test_a_racing_appender_is_refused_by_s3_and_retries(s3_lake: S3Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger, rival = EvidenceLedger(s3_lake), EvidenceLedger(S3Lake(s3_lake.bucket, "synthgov", s3_lake.endpoint_url))
    ledger.append(apply_entry(0))
    create = s3_lake.create_bytes
    tries: list[str] = []

    def rival_first(key: str, data: bytes, **kwargs: Any) -> None:
        tries.append(key)
        if len(tries) == 1:
            rival.append(apply_entry(99))  # takes #1 between our head read and our put
        create(key, data, **kwargs)  # S3 answers 412 to our first put (If-None-Match: *)

    monkeypatch.setattr(s3_lake, "create_bytes", rival_first)
    ours = ledger.append(apply_entry(1))
    assert tries == [ledger.segment_key(1), ledger.segment_key(2)] and ours.seq == 2
    report = ledger.verify()
    assert report.ok and report.entries == 3
    # The loser overwrote nothing: the segment it lost has a single version.
    assert len(s3_lake.list_versions(ledger.segment_key(1))) == 1


def test_segments_are_locked_where_the_bucket_has_object_lock(
    locked_lake: S3Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTHGOV_EVIDENCE_RETENTION_DAYS", "3")
    ledger = EvidenceLedger(locked_lake)
    first = ledger.append(apply_entry(0))
    ledger.append(apply_entry(1))
    assert first.worm
    head = locked_lake.client.head_object(Bucket=locked_lake.bucket, Key=f"synthgov/{first.key}")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    expected = datetime.now(UTC) + timedelta(days=3)
    assert abs(head["ObjectLockRetainUntilDate"] - expected) < timedelta(minutes=5)
    entry = ledger.entries()[0]
    assert entry["storage"]["worm"] is True and entry["storage"]["mode"] == "COMPLIANCE"
    assert entry["storage"]["retain_until"].startswith(head["ObjectLockRetainUntilDate"].strftime("%Y-%m-%dT%H:%M"))

    report = ledger.verify()
    assert report.ok and report.worm and report.locked_entries == 2
    assert "WORM (S3 Object Lock; 2 of 2 entries locked)" in report.summary()
    (version,) = locked_lake.list_versions(first.key)
    with pytest.raises(LakeError, match="Object Lock retention"):
        locked_lake.delete_version(first.key, version.version_id)
    assert ledger.verify().ok


def test_governance_mode_can_be_chosen(locked_lake: S3Lake) -> None:
    appended = EvidenceLedger(locked_lake, retention_days=1, lock_mode="GOVERNANCE").append(apply_entry(0))
    head = locked_lake.client.head_object(Bucket=locked_lake.bucket, Key=f"synthgov/{appended.key}")
    assert head["ObjectLockMode"] == "GOVERNANCE"


def test_cli_verify_on_s3(s3_lake: S3Lake, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    EvidenceLedger(s3_lake).append(apply_entry(0))
    monkeypatch.setenv("SYNTHGOV_S3_ENDPOINT_URL", str(s3_lake.endpoint_url))
    assert main(["evidence", "verify", "--lake", f"s3://{s3_lake.bucket}/synthgov"]) == 0
    assert "intact, 1 entries" in capsys.readouterr().out
    assert main(["evidence", "verify", "--lake", "s3://synthgov-no-such-bucket/x"]) == 2
    assert "does not exist" in capsys.readouterr().err
