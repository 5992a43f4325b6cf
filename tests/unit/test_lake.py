"""LocalLake, open_lake and the key layout; the backend-independent contract is in tests/integration/test_lake_s3.py."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from synthgov.lake import (
    LakeError,
    LakeNotFound,
    LocalLake,
    S3Lake,
    findings_key,
    manifest_key,
    open_lake,
    raw_part_key,
    run_id_from_key,
    watermark_key,
)

pytestmark = pytest.mark.unit

RUN = "20261102T090000Z-ab12"


def _all_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_put_get_list_exists_delete(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    source = tmp_path / "part.parquet"
    source.write_bytes(b"PAR1 data")
    lake.put_file("raw/a/part-00000.parquet", source)
    lake.put_bytes("raw/a/_manifest.json", b"{}")
    lake.put_bytes("state/watermarks/Lead.json", b"1")

    assert lake.get_bytes("raw/a/part-00000.parquet") == b"PAR1 data"
    assert lake.exists("raw/a/_manifest.json")
    assert not lake.exists("raw/a/missing.json")
    assert not lake.exists("raw/a")  # a folder is not an object
    assert lake.list("") == ["raw/a/_manifest.json", "raw/a/part-00000.parquet", "state/watermarks/Lead.json"]
    assert lake.list("raw/") == ["raw/a/_manifest.json", "raw/a/part-00000.parquet"]
    assert lake.list("raw/a/_") == ["raw/a/_manifest.json"]
    assert lake.list("nothing/here/") == []

    lake.delete("raw/a/_manifest.json")
    lake.delete("raw/a/_manifest.json")  # deleting twice is not an error, as on S3
    assert lake.list("raw/") == ["raw/a/part-00000.parquet"]
    with pytest.raises(LakeNotFound, match=r"raw/a/_manifest\.json"):
        lake.get_bytes("raw/a/_manifest.json")


def test_put_replaces_and_objects_are_world_readable(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    lake.put_bytes("k.json", b"old")
    lake.put_bytes("k.json", b"new")
    assert lake.get_bytes("k.json") == b"new"
    assert (tmp_path / "k.json").stat().st_mode & 0o777 == 0o644


def test_open_read_and_download(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    lake.put_bytes("a/b.bin", b"0123456789")
    with lake.open_read("a/b.bin") as f:
        f.seek(5)
        assert f.read() == b"56789"
    lake.download("a/b.bin", tmp_path / "out" / "b.bin")
    assert (tmp_path / "out" / "b.bin").read_bytes() == b"0123456789"
    with pytest.raises(LakeNotFound):
        lake.open_read("a/none.bin")


def test_uri_and_openlineage_names(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    root = (tmp_path / "lake").resolve()
    assert lake.url == root.as_uri()
    assert lake.uri("raw/x.parquet") == f"file://{root}/raw/x.parquet"
    assert lake.namespace == "file"
    assert lake.dataset_name("raw/x.parquet") == f"{root}/raw/x.parquet"


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "./a", "a/", "a\\b", "a/.synthgov-tmp-x"])
def test_keys_that_could_escape_or_collide_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(LakeError, match="key"):
        LocalLake(tmp_path).put_bytes(key, b"x")


def test_temp_files_never_listed(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    lake.put_bytes("raw/done.json", b"1")
    # What a writer that is still copying (or was killed while copying) leaves behind.
    (tmp_path / "raw" / ".synthgov-tmp-abc").write_bytes(b"half")
    (tmp_path / ".synthgov-tmp-dir").mkdir()
    (tmp_path / ".synthgov-tmp-dir" / "x").write_bytes(b"half")
    assert lake.list("") == ["raw/done.json"]


def test_failure_mid_copy_leaves_no_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = LocalLake(tmp_path / "lake")
    lake.put_bytes("raw/part.parquet", b"previous complete version")
    source = tmp_path / "big.parquet"
    source.write_bytes(b"x" * 10_000)

    def copy_half_then_fail(src: Any, dst: Any, length: int = 0) -> None:
        dst.write(src.read(5_000))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", copy_half_then_fail)
    with pytest.raises(LakeError, match=r"cannot write 'raw/new\.parquet'.*No space left"):
        lake.put_file("raw/new.parquet", source)
    with pytest.raises(LakeError, match="No space left"):
        lake.put_file("raw/part.parquet", source)

    assert lake.list("") == ["raw/part.parquet"]
    assert lake.get_bytes("raw/part.parquet") == b"previous complete version"
    assert _all_files(tmp_path / "lake") == ["raw/part.parquet"]  # the temp file was removed too


def test_unreadable_source_leaves_no_object(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    with pytest.raises(LakeError, match=r"missing\.parquet"):
        lake.put_file("raw/x.parquet", tmp_path / "missing.parquet")
    assert lake.list("") == []


def test_check_writable_creates_missing_root_and_leaves_nothing(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "new" / "lake")
    lake.check_writable()
    assert (tmp_path / "new" / "lake").is_dir()
    assert list((tmp_path / "new" / "lake").iterdir()) == []


def test_check_writable_when_root_is_a_file(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    root.write_text("not a folder")
    with pytest.raises(LakeError, match=rf"cannot be written: {root} is a file.*SYNTHGOV_LAKE_URL"):
        LocalLake(root).check_writable()


def test_check_writable_below_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(LakeError, match=rf"cannot be written: .*{tmp_path / 'file'}"):
        LocalLake(tmp_path / "file" / "lake").check_writable()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_check_writable_on_a_read_only_folder(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    root.mkdir()
    root.chmod(0o555)
    try:
        with pytest.raises(LakeError, match=rf"lake {root.as_uri()} cannot be written: Permission denied"):
            LocalLake(root).check_writable()
    finally:
        root.chmod(0o755)


def test_check_writable_when_permission_is_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same message path as the read-only folder test, for runs as root (where chmod does not bind)."""

    def denied(*args: Any, **kwargs: Any) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(LakeError, match=rf"cannot be written: Permission denied \({tmp_path}\); check"):
        LocalLake(tmp_path).check_writable()


# open_lake


def test_open_lake_default_is_home_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHGOV_LAKE_URL", raising=False)
    monkeypatch.setenv("SYNTHGOV_HOME", str(tmp_path / "home"))
    lake = open_lake()
    assert isinstance(lake, LocalLake)
    assert lake.root == tmp_path / "home" / "lake"
    explicit = open_lake(home=tmp_path / "other")
    assert isinstance(explicit, LocalLake)
    assert explicit.root == tmp_path / "other" / "lake"


def test_open_lake_relative_default_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHGOV_LAKE_URL", raising=False)
    monkeypatch.delenv("SYNTHGOV_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    lake = open_lake()
    assert isinstance(lake, LocalLake)
    assert lake.root == tmp_path.resolve() / ".synthgov" / "lake"


def test_open_lake_from_env_path_and_file_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHGOV_LAKE_URL", str(tmp_path / "env-lake"))
    lake = open_lake()
    assert isinstance(lake, LocalLake)
    assert lake.root == tmp_path / "env-lake"
    by_url = open_lake((tmp_path / "with space").as_uri())
    assert isinstance(by_url, LocalLake)
    assert by_url.root == tmp_path / "with space"
    assert isinstance(open_lake("file://localhost/tmp/x"), LocalLake)


def test_open_lake_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHGOV_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    lake = open_lake("s3://my-bucket/some/prefix/")
    assert isinstance(lake, S3Lake)
    assert (lake.bucket, lake.prefix, lake.endpoint_url) == ("my-bucket", "some/prefix", "http://127.0.0.1:9")
    assert lake.url == "s3://my-bucket/some/prefix"
    assert lake.uri("raw/x.parquet") == "s3://my-bucket/some/prefix/raw/x.parquet"
    assert lake.namespace == "s3://my-bucket"
    assert lake.dataset_name("raw/x.parquet") == "some/prefix/raw/x.parquet"

    monkeypatch.delenv("SYNTHGOV_S3_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8")
    bare = open_lake("s3://my-bucket")
    assert isinstance(bare, S3Lake)
    assert (bare.prefix, bare.endpoint_url, bare.url) == ("", "http://127.0.0.1:8", "s3://my-bucket")
    assert bare.dataset_name("raw/x.parquet") == "raw/x.parquet"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://x/y", "unsupported scheme 'ftp'"),
        ("s3://", "names no bucket"),
        ("s3:///prefix", "names no bucket"),
        ("s3://Bad_Bucket/x", "invalid S3 bucket name"),
        ("s3://bucket/a/../b", "invalid lake key"),
        ("file://somehost/x", "name no host"),
        ("   ", "empty"),
    ],
)
def test_open_lake_bad_urls(url: str, reason: str) -> None:
    with pytest.raises(LakeError, match=reason) as caught:
        open_lake(url)
    assert "SYNTHGOV_LAKE_URL" in str(caught.value)
    assert "s3://bucket[/prefix]" in str(caught.value)


def test_open_lake_bad_env_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHGOV_LAKE_URL", "gs://bucket")
    with pytest.raises(LakeError, match=r"'gs://bucket' \(SYNTHGOV_LAKE_URL\)"):
        open_lake()


# key layout


def test_key_layout() -> None:
    day = date(2026, 11, 2)
    prefix = f"raw/salesforce/Lead/run_date=2026-11-02/run_id={RUN}/"
    assert raw_part_key("Lead", day, RUN, 0) == prefix + "part-00000.parquet"
    assert raw_part_key("Lead", day, RUN, 12) == prefix + "part-00012.parquet"
    assert manifest_key("Lead", day, RUN) == prefix + "_manifest.json"
    assert watermark_key("AI_Content_Provenance__c") == "state/watermarks/AI_Content_Provenance__c.json"
    assert findings_key(day, RUN) == (
        f"raw/salesforce_files/ContentVersion/run_date=2026-11-02/run_id={RUN}/findings.parquet"
    )
    assert run_id_from_key(manifest_key("Lead", day, RUN)) == RUN
    assert run_id_from_key("state/watermarks/Lead.json") is None


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: raw_part_key("Lead/..", date(2026, 1, 1), RUN, 0), "object name"),
        (lambda: watermark_key("1Lead"), "object name"),
        (lambda: manifest_key("Lead", date(2026, 1, 1), "a/b"), "run id"),
        (lambda: findings_key(date(2026, 1, 1), ""), "run id"),
        (lambda: raw_part_key("Lead", date(2026, 1, 1), RUN, -1), "negative"),
    ],
)
def test_key_layout_refuses_bad_parts(call: Any, match: str) -> None:
    with pytest.raises(LakeError, match=match):
        call()
