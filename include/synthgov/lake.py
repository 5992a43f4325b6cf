"""The lake: an object store for immutable raw extracts, run manifests, watermarks and evidence.

One interface, two backends: a local folder (the embedded default) and S3 (production; moto in
tests). Both share one contract, so the extractor, the warehouse loader and the evidence ledger
never ask which one they write to:

- keys are relative, ``/``-separated paths without ``.`` or ``..`` parts;
- an object becomes visible only when it is complete (readers never see half a parquet file);
- ``list`` is recursive, sorted and never shows temporary files;
- ``delete`` of a missing key is not an error (as on S3);
- ``create_bytes`` writes only where nothing is stored, in one step, so racing writers cannot both win.

Versions: a local folder keeps one version per key. A versioned S3 bucket keeps every overwritten or
deleted object as a non-current version (a plain delete only adds a delete marker), so removing data
for good means removing versions: ``list_versions``, ``delete_version``, ``erase`` and
``put_file_erasing_history`` do that on both backends (on a local folder they are plain deletes).
"""

from __future__ import annotations

import builtins
import io
import os
import re
import shutil
import tempfile
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Literal
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


class LakeConflict(LakeError):
    """``create_bytes`` found an object already stored under the key."""


@dataclass(frozen=True)
class ObjectVersion:
    """One stored version (or delete marker) of a key; ``version_id`` is None on a lake without versions."""

    key: str
    version_id: str | None
    is_latest: bool
    is_delete_marker: bool


@dataclass(frozen=True)
class Retention:
    """Write-once storage for one object until ``retain_until`` (S3 Object Lock).

    COMPLIANCE: nobody, not even the account root, can delete or overwrite the version before the
    date. GOVERNANCE: users with s3:BypassGovernanceRetention can.
    """

    mode: Literal["COMPLIANCE", "GOVERNANCE"]
    retain_until: datetime


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
    def create_bytes(self, key: str, data: bytes, *, retention: Retention | None = None) -> None:
        """Store ``data`` under ``key`` only if no object is there, else raise LakeConflict.

        Checking and writing are one step on both backends, so of two writers racing for the same key
        exactly one succeeds. ``retention`` locks the object (S3 Object Lock); a lake that cannot lock
        refuses it rather than store the object unlocked.
        """

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

    # Versions. These defaults describe a store that keeps one version per key (a local folder);
    # S3Lake overrides the primitives and inherits erase and put_file_erasing_history.

    def versioning_enabled(self) -> bool:
        """Whether overwrites and deletes keep the earlier bytes as non-current versions."""
        return False

    def object_lock_enabled(self) -> bool:
        """Whether ``create_bytes`` can lock objects (``retention=...``): S3 Object Lock on the bucket."""
        return False

    def list_versions(self, prefix: str = "") -> builtins.list[ObjectVersion]:
        """Every stored version and delete marker of the keys starting with ``prefix``: by key, newest first."""
        return [ObjectVersion(key, None, is_latest=True, is_delete_marker=False) for key in self.list(prefix)]

    def open_version(self, key: str, version_id: str | None) -> IO[bytes]:
        """Like ``open_read``, for one version of the key (None: the current one)."""
        if version_id is not None:
            raise LakeNotFound(f"lake {self.url} keeps no versions: there is no version {version_id!r} of {key!r}")
        return self.open_read(key)

    def delete_version(self, key: str, version_id: str | None) -> None:
        """Remove one version or delete marker for good (None: the current object); a missing one is not an error."""
        if version_id is None:
            self.delete(key)

    def erase(self, key: str) -> int:
        """Remove the object with every version and delete marker of it; returns how many were removed."""
        versions = [v for v in self.list_versions(key) if v.key == key]
        for version in versions:
            self.delete_version(key, version.version_id)
        return len(versions)

    def put_file_erasing_history(self, key: str, local_path: Path) -> int:
        """Replace the object with the file, then remove every earlier version of the key; returns how many.

        The new object is visible whole before any old version goes, so a reader (or a crash) meets
        the old bytes or the new ones, never a mix; a crash in between leaves old versions behind,
        which calling this again removes. Assumes nobody else writes the key meanwhile (lake objects
        are written once by their run; only a purge rewrites them), so the latest version is ours.
        """
        self.put_file(key, local_path)
        earlier = [v for v in self.list_versions(key) if v.key == key and not v.is_latest]
        for version in earlier:
            self.delete_version(key, version.version_id)
        return len(earlier)

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

    def create_bytes(self, key: str, data: bytes, *, retention: Retention | None = None) -> None:
        if retention is not None:
            raise LakeError(
                f"lake {self.url} cannot lock {key!r}: a local folder has no write-once storage "
                "(use an S3 bucket with Object Lock)"
            )
        dest = self._path(key)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=dest.parent)
            tmp = Path(tmp_name)
            try:
                with os.fdopen(fd, "wb") as out:
                    # Read-only: a create-only object is meant never to change.
                    os.fchmod(out.fileno(), 0o444)
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                # link() fails if the name exists, where rename() would replace it: create-if-absent
                # and atomic visibility of the whole file in one call.
                os.link(tmp, dest)
            finally:
                tmp.unlink(missing_ok=True)
        except FileExistsError as exc:
            raise LakeConflict(f"lake {self.url} already has an object {key!r}; it is never overwritten") from exc
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
_MISSING_VERSION_CODES = _MISSING_CODES | {"NoSuchVersion"}
# 412: the key has an object (If-None-Match); 409: a concurrent conditional write to the key won.
_CONFLICT_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
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
        self._object_lock: bool | None = None  # a bucket's Object Lock can be enabled, never disabled
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

    def create_bytes(self, key: str, data: bytes, *, retention: Retention | None = None) -> None:
        full = self._full(key)
        # If-None-Match makes S3 refuse the put when the key has a current object (412), in the same
        # step as the write. S3 needs a checksum on puts with Object Lock; SHA-256 also keeps one.
        args: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": full,
            "Body": data,
            "IfNoneMatch": "*",
            "ChecksumAlgorithm": "SHA256",
        }
        if retention is not None:
            args["ObjectLockMode"] = retention.mode
            args["ObjectLockRetainUntilDate"] = retention.retain_until
        try:
            self.client.put_object(**args)
        except (ClientError, BotoCoreError) as exc:
            if _error_code(exc) in _CONFLICT_CODES:
                raise LakeConflict(f"lake {self.url} already has an object {key!r}; it is never overwritten") from exc
            raise self._fail("write", key, exc) from exc

    def versioning_enabled(self) -> bool:
        try:
            status = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except (ClientError, BotoCoreError) as exc:
            raise LakeError(
                f"lake {self.url}: cannot read the bucket's versioning: {_describe_s3_error(exc, self)}"
            ) from exc
        return bool(status == "Enabled")

    def object_lock_enabled(self) -> bool:
        if self._object_lock is None:
            try:
                config = self.client.get_object_lock_configuration(Bucket=self.bucket)["ObjectLockConfiguration"]
            except (ClientError, BotoCoreError) as exc:
                if _error_code(exc) != "ObjectLockConfigurationNotFoundError":
                    # Guessing "no lock" here would quietly write evidence unlocked.
                    raise LakeError(
                        f"lake {self.url}: cannot read the bucket's Object Lock configuration "
                        f"(s3:GetBucketObjectLockConfiguration): {_describe_s3_error(exc, self)}"
                    ) from exc
                config = {}
            self._object_lock = bool(config.get("ObjectLockEnabled") == "Enabled")
        return self._object_lock

    def list_versions(self, prefix: str = "") -> builtins.list[ObjectVersion]:
        _check_key(prefix, prefix=True)
        base = f"{self.prefix}/" if self.prefix else ""
        found: builtins.list[tuple[str, bool, datetime, ObjectVersion]] = []
        try:
            pages = self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=base + prefix)
            for page in pages:
                for kind, marker in (("Versions", False), ("DeleteMarkers", True)):
                    for item in page.get(kind, ()):
                        key = item["Key"][len(base) :]
                        version = ObjectVersion(key, item["VersionId"], item["IsLatest"], marker)
                        found.append((key, not item["IsLatest"], item["LastModified"], version))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("list the versions of", prefix or "/", exc) from exc
        # Versions and delete markers come in two lists; merge them back to key order, newest first.
        found.sort(key=lambda f: (f[0], f[1], -f[2].timestamp()))
        return [f[3] for f in found]

    def open_version(self, key: str, version_id: str | None) -> IO[bytes]:
        if version_id is None:
            return self.open_read(key)
        full = self._full(key)
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 (the caller closes it)
        try:
            self.client.download_fileobj(self.bucket, full, spool, ExtraArgs={"VersionId": version_id})
            spool.seek(0)
        except (ClientError, BotoCoreError) as exc:
            spool.close()
            if _error_code(exc) in _MISSING_VERSION_CODES:
                raise LakeNotFound(f"lake {self.url} has no version {version_id!r} of {key!r}") from exc
            raise self._fail("read", key, exc) from exc
        return spool

    def delete_version(self, key: str, version_id: str | None) -> None:
        if version_id is None:
            self.delete(key)
            return
        full = self._full(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=full, VersionId=version_id)
        except (ClientError, BotoCoreError) as exc:
            if _error_code(exc) in _MISSING_VERSION_CODES:
                return
            if _error_code(exc) == "AccessDenied":
                raise LakeError(
                    f"lake {self.url}: cannot delete version {version_id!r} of {key!r}: access denied; the version "
                    "may be under Object Lock retention or legal hold, or the credentials lack s3:DeleteObjectVersion"
                ) from exc
            raise self._fail("delete a version of", key, exc) from exc

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


def purge_registry_prefix(obj: str) -> str:
    """``state/purged/<Object>/``: hashes of the object's purged ids, which extraction leaves out."""
    return f"state/purged/{_object(obj)}/"


def purge_registry_key(obj: str, run_id: str) -> str:
    """The ids one retention run purged from the object, as SHA-256 hashes one per line."""
    return f"{purge_registry_prefix(obj)}{_run(run_id)}.sha256"


def files_prefix(obj: str) -> str:
    """``raw/salesforce_files/<Object>/``: what is kept per file of the object (media findings)."""
    return f"{FILES_PREFIX}/{_object(obj)}/"


def findings_key(run_date: date, run_id: str) -> str:
    """The media inspection findings of one run (C2PA and friends, one row per ContentVersion)."""
    return f"{FILES_PREFIX}/ContentVersion/run_date={run_date.isoformat()}/run_id={_run(run_id)}/findings.parquet"


def run_id_from_key(key: str) -> str | None:
    """The ``run_id=`` partition value in a key, if it has one."""
    for part in key.split("/"):
        if part.startswith("run_id="):
            return part.removeprefix("run_id=")
    return None
