"""The lake contract, run against both backends: a local folder and S3 on moto's real server."""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import pytest

from synthgov.lake import Lake, LakeError, LakeNotFound, S3Lake

pytestmark = pytest.mark.integration


def test_round_trip(lake: Lake, tmp_path: Path) -> None:
    source = tmp_path / "part.parquet"
    source.write_bytes(b"PAR1" + bytes(range(256)) * 64)
    lake.put_file("raw/salesforce/Lead/part-00000.parquet", source)
    lake.put_bytes("raw/salesforce/Lead/_manifest.json", b'{"object": "Lead"}')

    assert lake.get_bytes("raw/salesforce/Lead/part-00000.parquet") == source.read_bytes()
    with lake.open_read("raw/salesforce/Lead/part-00000.parquet") as f:
        f.seek(-4, 2)  # pyarrow reads the footer first
        assert f.read() == source.read_bytes()[-4:]
        f.seek(0)
        assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(source.read_bytes()).hexdigest()
    lake.download("raw/salesforce/Lead/_manifest.json", tmp_path / "copy" / "m.json")
    assert (tmp_path / "copy" / "m.json").read_bytes() == b'{"object": "Lead"}'


def test_list_is_recursive_sorted_and_prefix_based(lake: Lake) -> None:
    for key in ["state/watermarks/Lead.json", "raw/b/2.json", "raw/a/1.json", "raw/a/10.json", "raw/ab.json"]:
        lake.put_bytes(key, b"x")
    assert lake.list() == [
        "raw/a/1.json",
        "raw/a/10.json",
        "raw/ab.json",
        "raw/b/2.json",
        "state/watermarks/Lead.json",
    ]
    assert lake.list("raw/a/") == ["raw/a/1.json", "raw/a/10.json"]
    assert lake.list("raw/a") == ["raw/a/1.json", "raw/a/10.json", "raw/ab.json"]
    assert lake.list("raw/a/1") == ["raw/a/1.json", "raw/a/10.json"]
    assert lake.list("missing/") == []


def test_exists_replace_delete(lake: Lake) -> None:
    assert not lake.exists("state/watermarks/Lead.json")
    lake.put_bytes("state/watermarks/Lead.json", b"1")
    lake.put_bytes("state/watermarks/Lead.json", b"2")
    assert lake.exists("state/watermarks/Lead.json")
    assert lake.get_bytes("state/watermarks/Lead.json") == b"2"
    lake.delete("state/watermarks/Lead.json")
    lake.delete("state/watermarks/Lead.json")
    assert not lake.exists("state/watermarks/Lead.json")
    assert lake.list() == []


def test_missing_objects(lake: Lake, tmp_path: Path) -> None:
    with pytest.raises(LakeNotFound, match=r"nope\.json"):
        lake.get_bytes("nope.json")
    with pytest.raises(LakeNotFound, match=r"nope\.json"):
        lake.open_read("nope.json")
    with pytest.raises(LakeNotFound, match=r"nope\.json"):
        lake.download("nope.json", tmp_path / "nope.json")
    assert not (tmp_path / "nope.json").exists()


def test_bad_keys_refused(lake: Lake) -> None:
    with pytest.raises(LakeError, match="invalid lake key"):
        lake.put_bytes("../escape", b"x")
    with pytest.raises(LakeError, match="invalid lake key"):
        lake.list("/abs")


def test_check_writable_leaves_nothing_behind(lake: Lake) -> None:
    lake.check_writable()
    assert lake.list() == []


def test_uri_names_the_backend(lake: Lake) -> None:
    uri = lake.uri("raw/x.parquet")
    assert uri.startswith(lake.url + "/")
    assert uri.endswith("/raw/x.parquet")
    assert lake.dataset_name("raw/x.parquet").endswith("raw/x.parquet")


# S3 only


def test_s3_objects_live_under_the_prefix(s3_lake: S3Lake, s3_server: str) -> None:
    s3_lake.put_bytes("raw/x.json", b"x")
    raw = boto3.session.Session().client("s3", endpoint_url=s3_server, region_name="us-east-1")
    keys = [item["Key"] for item in raw.list_objects_v2(Bucket=s3_lake.bucket)["Contents"]]
    assert keys == ["synthgov/raw/x.json"]
    # A sibling prefix that merely starts with the lake prefix is not part of the lake.
    raw.put_object(Bucket=s3_lake.bucket, Key="synthgov2/raw/y.json", Body=b"y")
    assert s3_lake.list() == ["raw/x.json"]
    assert s3_lake.uri("raw/x.json") == f"s3://{s3_lake.bucket}/synthgov/raw/x.json"
    assert s3_lake.namespace == f"s3://{s3_lake.bucket}"
    assert s3_lake.dataset_name("raw/x.json") == "synthgov/raw/x.json"


def test_s3_multipart_upload(s3_lake: S3Lake, tmp_path: Path) -> None:
    big = tmp_path / "big.parquet"
    big.write_bytes(bytes(range(256)) * 40_000)  # about 10 MB: two parts at boto3's 8 MB threshold
    s3_lake.put_file("raw/big.parquet", big)
    head = s3_lake.client.head_object(Bucket=s3_lake.bucket, Key="synthgov/raw/big.parquet")
    assert head["ETag"].strip('"').endswith("-2")  # a multipart ETag counts its parts
    assert s3_lake.get_bytes("raw/big.parquet") == big.read_bytes()
    with s3_lake.open_read("raw/big.parquet") as f:
        assert f.read() == big.read_bytes()


def test_s3_lake_without_prefix(s3_lake: S3Lake) -> None:
    bare = S3Lake(s3_lake.bucket, endpoint_url=s3_lake.endpoint_url)
    bare.put_bytes("raw/x.json", b"x")
    assert bare.list() == ["raw/x.json"]
    assert bare.uri("raw/x.json") == f"s3://{s3_lake.bucket}/raw/x.json"


def test_s3_check_writable_missing_bucket(s3_lake: S3Lake) -> None:
    missing = S3Lake("synthgov-no-such-bucket", endpoint_url=s3_lake.endpoint_url)
    expected = r"s3://synthgov-no-such-bucket cannot be written: bucket 'synthgov-no-such-bucket' does not exist"
    with pytest.raises(LakeError, match=expected):
        missing.check_writable()


def test_s3_without_credentials(s3_lake: S3Lake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    # No shared config or instance metadata either, so the credential chain ends quickly and empty.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    fresh = S3Lake(s3_lake.bucket, endpoint_url=s3_lake.endpoint_url)
    with pytest.raises(LakeError, match="no AWS credentials found"):
        fresh.check_writable()


def test_s3_unreachable_endpoint(s3_lake: S3Lake) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = S3Lake(s3_lake.bucket, endpoint_url=f"http://127.0.0.1:{port}")
    with pytest.raises(LakeError, match=rf"cannot connect to http://127.0.0.1:{port}; check SYNTHGOV_S3_ENDPOINT_URL"):
        dead.check_writable()


def test_s3_delete_on_versioned_bucket_hides_the_object(s3_lake: S3Lake) -> None:
    s3_lake.put_bytes("raw/x.json", b"x")
    s3_lake.delete("raw/x.json")
    assert not s3_lake.exists("raw/x.json")
    versions = s3_lake.client.list_object_versions(Bucket=s3_lake.bucket, Prefix="synthgov/raw/x.json")
    assert len(versions["Versions"]) == 1  # the bytes stay recoverable; deletion left a marker
    assert len(versions["DeleteMarkers"]) == 1
