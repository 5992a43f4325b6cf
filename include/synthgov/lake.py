"""The lake: an object store for immutable raw extracts, run manifests, watermarks and evidence.

One interface, two backends: a local folder (the embedded default) and S3 (production; moto in
tests). Both share one contract, so the extractor, the warehouse loader and the evidence ledger
never ask which one they write to:

- keys are relative, ``/``-separated paths without ``.`` or ``..`` parts;
- an object becomes visible only when it is complete (readers never see half a parquet file);
- ``list`` is recursive, sorted and never shows temporary files;
- ``delete`` of a missing key is not an error (as on S3).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import uuid
from abc import ABC, abstractmethod
from datetime import date
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlparse

from botocore.exceptions import BotoCoreError, ClientError

from synthgov import settings

LAKE_URL_ENV = "SYNTHGOV_LAKE_URL"
S3_ENDPOINT_ENV = "SYNTHGOV_S3_ENDPOINT_URL"
_ACCEPTED_URLS = "a local path, file:///absolute/path or s3://bucket[/prefix]"

# Local writes go to a hidden sibling first; list() and exists() never report these names.
_TEMP_PREFIX = ".synthgov-tmp-"
_PROBE_PREFIX = "_synthgov_probe/"
# Above this an S3 object read for pyarrow spills from memory to a temporary file.
_SPOOL_BYTES = 32 * 1024 * 1024
_COPY_CHUNK = 1024 * 1024

_OBJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class LakeError(Exception):
    """The lake cannot be reached, read or written; the message names the lake and what to do."""


class LakeNotFound(LakeError):
    """The key names no object in the lake."""


def _check_key(key: str, *, prefix: bool = False) -> str:
    """Refuse keys that would escape the lake root or mean different things on the two backends."""
    if not key:
        if prefix:
            return key
        raise LakeError("lake key must not be empty")
    parts = key.split("/")
    if prefix and parts[-1] == "":
        parts.pop()  # "raw/" is a folder-style prefix
    if "\\" in key or any(p in {"", ".", ".."} for p in parts):
        raise LakeError(f"invalid lake key {key!r}: use a relative path with '/' separators and no '.' or '..' parts")
    if any(p.startswith(_TEMP_PREFIX) for p in parts):
        raise LakeError(f"invalid lake key {key!r}: names starting with {_TEMP_PREFIX!r} are reserved")
    return key


class Lake(ABC):
    """An object store addressed by relative keys; see the module docstring for the contract."""

    url: str

    @abstractmethod
    def put_file(self, key: str, local_path: Path) -> None:
        """Store a local file under ``key``, replacing any object there; visible only once complete."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing any object there; visible only once complete."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The whole object; raises LakeNotFound if there is none."""

    @abstractmethod
    def open_read(self, key: str) -> IO[bytes]:
        """A seekable binary file for the object (pyarrow reads parquet footers first); close it after use."""

    @abstractmethod
    def download(self, key: str, local_path: Path) -> None:
        """Copy the object to a local file, which appears only once complete."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Keys that start with ``prefix`` (a plain string prefix, as on S3), recursive and sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """Where the object lives, for people and logs: ``file:///...`` or ``s3://bucket/...``."""

    @abstractmethod
    def check_writable(self) -> None:
        """Write and delete a probe object; raises LakeError saying why the lake cannot be written."""

    @property
    @abstractmethod
    def namespace(self) -> str:
        """The OpenLineage dataset namespace of this lake's objects."""

    @abstractmethod
    def dataset_name(self, key: str) -> str:
        """The OpenLineage dataset name of the object under ``key``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


class LocalLake(Lake):
    """A lake in a local folder: temp file in the destination folder, then ``os.replace``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.url = self.root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def _fail(self, action: str, key: str, exc: OSError) -> LakeError:
        reason = exc.strerror or str(exc)
        return LakeError(f"lake {self.url}: cannot {action} {key!r}: {reason} ({exc.filename or self.root})")

    def _write_atomically(self, dest: Path, source: IO[bytes]) -> None:
        """Copy ``source`` to a hidden temp file beside ``dest`` and rename it into place.

        The rename is atomic within one file system, so readers see the old object or the whole
        new one; on any failure the temp file is removed and nothing new becomes visible.
        """
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                # mkstemp makes 0600 files; lake objects are meant to be read by other processes and users.
                os.fchmod(out.fileno(), 0o644)
                shutil.copyfileobj(source, out, _COPY_CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def put_file(self, key: str, local_path: Path) -> None:
        dest = self._path(key)
        try:
            with open(local_path, "rb") as source:
                self._write_atomically(dest, source)
        except OSError as exc:
            raise self._fail("write", key, exc) from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        dest = self._path(key)
        try:
            self._write_atomically(dest, io.BytesIO(data))
        except OSError as exc:
            raise self._fail("write", key, exc) from exc

    def get_bytes(self, key: str) -> bytes:
        with self.open_read(key) as f:
            return f.read()

    def open_read(self, key: str) -> IO[bytes]:
        path = self._path(key)
        try:
            return open(path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise LakeNotFound(f"lake {self.url} has no object {key!r}") from exc
        except OSError as exc:
            raise self._fail("read", key, exc) from exc

    def download(self, key: str, local_path: Path) -> None:
        with self.open_read(key) as source:
            try:
                self._write_atomically(Path(local_path), source)
            except OSError as exc:
                raise LakeError(f"lake {self.url}: cannot copy {key!r} to {local_path}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        _check_key(prefix, prefix=True)
        # Walk only the folder the prefix is certainly inside, then filter by the string prefix.
        base = self.root / prefix.rpartition("/")[0]
        keys: list[str] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(_TEMP_PREFIX)]
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                if name.startswith(_TEMP_PREFIX):
                    continue
                key = name if rel_dir == "." else f"{rel_dir}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise self._fail("delete", key, exc) from exc

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def check_writable(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise LakeError(
                f"lake {self.url} cannot be written: {self.root} is a file, not a folder; "
                f"check {LAKE_URL_ENV} (or SYNTHGOV_HOME) points to a folder"
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            # A temp-named probe: list() never shows it, even to a reader running at the same moment.
            fd, probe = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=self.root)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise LakeError(
                f"lake {self.url} cannot be written: {exc.strerror or exc} ({exc.filename or self.root}); "
                f"check that the folder exists and that this user may create files in it, or set {LAKE_URL_ENV}"
            ) from exc

    @property
    def namespace(self) -> str:
        return "file"

    def dataset_name(self, key: str) -> str:
        return str(self._path(key))


_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired"}
)


class S3Lake(Lake):
    """A lake in an S3 bucket (or an S3-compatible store at ``endpoint_url``), under an optional prefix.

    S3 makes an object visible only when its single PUT or multipart upload completes, which gives
    the same atomicity as the local rename. The client is made on first use so that building a lake
    (for example while Airflow parses a DAG) costs nothing and needs no credentials.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        client: Any = None,
    ) -> None:
        if not _BUCKET.fullmatch(bucket):
            raise LakeError(f"invalid S3 bucket name {bucket!r} for the lake; check {LAKE_URL_ENV}")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            _check_key(self.prefix)
        self.endpoint_url = endpoint_url
        self._client = client
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            # Path-style addressing is what S3-compatible stores (MinIO, moto) serve at a custom endpoint.
            config = Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=10,
                s3={"addressing_style": "path"} if self.endpoint_url else {},
            )
            # A session per lake: boto3's default session is not safe to share between threads.
            session = boto3.session.Session()
            self._client = session.client("s3", endpoint_url=self.endpoint_url, region_name=region, config=config)
        return self._client

    def _full(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, action: str, key: str, exc: ClientError | BotoCoreError) -> LakeError:
        code = _error_code(exc)
        if code in _MISSING_CODES:
            return LakeNotFound(f"lake {self.url} has no object {key!r}")
        return LakeError(f"lake {self.url}: cannot {action} {key!r}: {_describe_s3_error(exc, self)}")

    def put_file(self, key: str, local_path: Path) -> None:
        full = self._full(key)
        try:
            # upload_file switches to a multipart upload for large files; either way the object
            # appears only when the upload completes.
            self.client.upload_file(str(local_path), self.bucket, full)
        except OSError as exc:
            raise LakeError(f"lake {self.url}: cannot read {local_path} to store as {key!r}: {exc}") from exc
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("write", key, exc) from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        full = self._full(key)
        try:
            self.client.put_object(Bucket=self.bucket, Key=full, Body=data)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("write", key, exc) from exc

    def get_bytes(self, key: str) -> bytes:
        full = self._full(key)
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=full)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("read", key, exc) from exc
        return body

    def open_read(self, key: str) -> IO[bytes]:
        full = self._full(key)
        # pyarrow needs to seek (a parquet footer comes first), which an HTTP body cannot do; a
        # spooled file keeps small parts in memory and puts large ones on disk.
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 (the caller closes it)
        try:
            self.client.download_fileobj(self.bucket, full, spool)
            spool.seek(0)
        except (ClientError, BotoCoreError) as exc:
            spool.close()
            raise self._fail("read", key, exc) from exc
        return spool

    def download(self, key: str, local_path: Path) -> None:
        full = self._full(key)
        try:
            Path(local_path).parent.mkdir(parents=True, exist_ok=True)
            # download_file writes to a temporary name and renames it when complete.
            self.client.download_file(self.bucket, full, str(local_path))
        except OSError as exc:
            raise LakeError(f"lake {self.url}: cannot copy {key!r} to {local_path}: {exc}") from exc
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("read", key, exc) from exc

    def exists(self, key: str) -> bool:
        full = self._full(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=full)
        except (ClientError, BotoCoreError) as exc:
            if _error_code(exc) in _MISSING_CODES:
                return False
            raise self._fail("look up", key, exc) from exc
        return True

    def list(self, prefix: str = "") -> list[str]:
        _check_key(prefix, prefix=True)
        base = f"{self.prefix}/" if self.prefix else ""
        keys: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base + prefix):
                keys.extend(item["Key"][len(base) :] for item in page.get("Contents", ()))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("list", prefix or "/", exc) from exc
        return sorted(keys)

    def delete(self, key: str) -> None:
        full = self._full(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=full)
        except (ClientError, BotoCoreError) as exc:
            if _error_code(exc) in _MISSING_CODES:
                return
            raise self._fail("delete", key, exc) from exc

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"

    def check_writable(self) -> None:
        full = self._full(f"{_PROBE_PREFIX}{uuid.uuid4().hex}")
        try:
            self.client.put_object(Bucket=self.bucket, Key=full, Body=b"probe")
            self.client.delete_object(Bucket=self.bucket, Key=full)
        except (ClientError, BotoCoreError) as exc:
            raise LakeError(f"lake {self.url} cannot be written: {_describe_s3_error(exc, self)}") from exc

    @property
    def namespace(self) -> str:
        return f"s3://{self.bucket}"

    def dataset_name(self, key: str) -> str:
        return self._full(key)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _describe_s3_error(exc: Exception, lake: S3Lake) -> str:
    """Say what went wrong with an S3 call and what to check, in terms a deployer acts on."""
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, PartialCredentialsError

    code = _error_code(exc)
    if code == "NoSuchBucket":
        return f"bucket {lake.bucket!r} does not exist; check {LAKE_URL_ENV} or create the bucket"
    if code in {"AccessDenied", "AllAccessDisabled", "403"}:
        return (
            f"access denied ({code}) to bucket {lake.bucket!r}; check that the AWS credentials "
            "(or the aws_default connection) may put, get, list and delete objects there"
        )
    if code in _CREDENTIAL_CODES:
        return (
            f"the AWS credentials were refused ({code}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
        )
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            "no AWS credentials found; set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE or an instance role"
        )
    if isinstance(exc, EndpointConnectionError):
        endpoint = lake.endpoint_url or "the AWS S3 endpoint"
        return f"cannot connect to {endpoint}; check {S3_ENDPOINT_ENV} and the network"
    return f"{type(exc).__name__}: {exc}"


def open_lake(url: str | None = None, *, home: Path | None = None) -> Lake:
    """The lake at ``url``, else ``$SYNTHGOV_LAKE_URL``, else ``<SYNTHGOV_HOME or .synthgov>/lake``.

    ``s3://bucket[/prefix]`` opens an S3Lake whose endpoint comes from SYNTHGOV_S3_ENDPOINT_URL or
    AWS_ENDPOINT_URL (for S3-compatible stores); a bare path or a ``file://`` URL opens a LocalLake.
    """
    if url is None:
        url = os.environ.get(LAKE_URL_ENV) or None
    if url is None:
        return LocalLake((home if home is not None else settings.home()) / "lake")
    if not url.strip():
        raise _bad_url(url, "it is empty")
    if "://" not in url:
        return LocalLake(Path(url))
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc not in {"", "localhost"}:
            raise _bad_url(url, f"file URLs name no host (got {parsed.netloc!r}); use three slashes")
        if not parsed.path:
            raise _bad_url(url, "it has no path")
        return LocalLake(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise _bad_url(url, "it names no bucket")
        if parsed.query or parsed.fragment:
            raise _bad_url(url, "S3 lake URLs take no query or fragment")
        endpoint = os.environ.get(S3_ENDPOINT_ENV) or os.environ.get("AWS_ENDPOINT_URL") or None
        try:
            return S3Lake(parsed.netloc, unquote(parsed.path), endpoint_url=endpoint)
        except LakeError as exc:
            raise _bad_url(url, str(exc)) from exc
    raise _bad_url(url, f"unsupported scheme {parsed.scheme!r}")


def _bad_url(url: str, reason: str) -> LakeError:
    return LakeError(f"lake URL {url!r} ({LAKE_URL_ENV}) is not usable: {reason}; use {_ACCEPTED_URLS}")


# Key layout. Partition folders use Hive naming (key=value) so engines can prune by run date.

RAW_PREFIX = "raw/salesforce"
FILES_PREFIX = "raw/salesforce_files"
MANIFEST_NAME = "_manifest.json"


def _object(obj: str) -> str:
    if not _OBJECT_NAME.fullmatch(obj):
        raise LakeError(f"invalid Salesforce object name {obj!r} for a lake key")
    return obj


def _run(run_id: str) -> str:
    if not _RUN_ID.fullmatch(run_id):
        raise LakeError(f"invalid run id {run_id!r} for a lake key: use letters, digits, '.', '_' and '-'")
    return run_id


def object_prefix(obj: str) -> str:
    """Where every run of one object lives: ``raw/salesforce/<Object>/``."""
    return f"{RAW_PREFIX}/{_object(obj)}/"


def run_prefix(obj: str, run_date: date, run_id: str) -> str:
    """The folder of one run of one object."""
    return f"{object_prefix(obj)}run_date={run_date.isoformat()}/run_id={_run(run_id)}/"


def raw_part_key(obj: str, run_date: date, run_id: str, n: int) -> str:
    """``raw/salesforce/<Object>/run_date=YYYY-MM-DD/run_id=<id>/part-00000.parquet``."""
    if n < 0:
        raise LakeError(f"part number must not be negative, got {n}")
    return f"{run_prefix(obj, run_date, run_id)}part-{n:05d}.parquet"


def manifest_key(obj: str, run_date: date, run_id: str) -> str:
    """The run's manifest, written last: its presence says the run's parts are complete."""
    return f"{run_prefix(obj, run_date, run_id)}{MANIFEST_NAME}"


def watermark_key(obj: str) -> str:
    """``state/watermarks/<Object>.json``: where the next incremental extraction of the object starts."""
    return f"state/watermarks/{_object(obj)}.json"


def findings_key(run_date: date, run_id: str) -> str:
    """The media inspection findings of one run (C2PA and friends, one row per ContentVersion)."""
    return f"{FILES_PREFIX}/ContentVersion/run_date={run_date.isoformat()}/run_id={_run(run_id)}/findings.parquet"


def run_id_from_key(key: str) -> str | None:
    """The ``run_id=`` partition value in a key, if it has one."""
    for part in key.split("/"):
        if part.startswith("run_id="):
            return part.removeprefix("run_id=")
    return None
