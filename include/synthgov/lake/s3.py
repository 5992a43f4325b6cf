"""A lake in an S3 bucket (or an S3-compatible store), and the one explanation of S3 errors.

``describe_s3_error`` turns a botocore error into what a deployer checks (bucket, credentials,
endpoint); the lake and the training zone's posture read both use it.
"""

from __future__ import annotations

import builtins
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from synthgov import settings
from synthgov.lake.storage import (
    PROBE_PREFIX,
    Lake,
    LakeConflict,
    LakeError,
    LakeNotFound,
    ObjectVersion,
    Retention,
    check_key,
)

# Above this an S3 object read for pyarrow spills from memory to a temporary file.
_SPOOL_BYTES = 32 * 1024 * 1024
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_MISSING_VERSION_CODES = _MISSING_CODES | {"NoSuchVersion"}
# 412: the key has an object (If-None-Match); 409: a concurrent conditional write to the key won.
_CONFLICT_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
_CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired"}
)


ENV_CREDENTIALS = "the AWS credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE or an instance role)"


@dataclass(frozen=True)
class S3Access:
    """How to reach S3 when not from the environment: a boto3 session (e.g. from an Airflow connection).

    ``credentials`` says where the session's credentials come from and ``endpoint_from`` what names the
    endpoint, so that errors point at what to fix (the connection rather than AWS_* variables).
    """

    session: Any
    endpoint_url: str | None
    credentials: str
    endpoint_from: str


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
        *,
        access: S3Access | None = None,
    ) -> None:
        """``access``: a session and its endpoint (an Airflow connection's); by default boto3's chain and
        ``endpoint_url``."""
        if not _BUCKET.fullmatch(bucket):
            raise LakeError(f"invalid S3 bucket name {bucket!r} for the lake; check {settings.LAKE_URL.name}")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_key(self.prefix)
        self.access = access
        self.endpoint_url = access.endpoint_url if access is not None and access.endpoint_url else endpoint_url
        self._client = client
        self._object_lock: bool | None = None  # a bucket's Object Lock can be enabled, never disabled
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            region = (
                (self.access.session.region_name if self.access is not None else None)
                or os.environ.get("AWS_REGION")
                or os.environ.get("AWS_DEFAULT_REGION")
                or "us-east-1"
            )
            # Path-style addressing is what S3-compatible stores (MinIO, moto) serve at a custom endpoint.
            config = Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=10,
                s3={"addressing_style": "path"} if self.endpoint_url else {},
            )
            # A session per lake (unless given one): boto3's default session is not safe to share between threads.
            session = self.access.session if self.access is not None else boto3.session.Session()
            self._client = session.client("s3", endpoint_url=self.endpoint_url, region_name=region, config=config)
        return self._client

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, action: str, key: str, exc: ClientError | BotoCoreError) -> LakeError:
        code = s3_error_code(exc)
        if code in _MISSING_CODES:
            return LakeNotFound(f"lake {self.url} has no object {key!r}")
        return LakeError(f"lake {self.url}: cannot {action} {key!r}: {self.explain(exc)}")

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
            if s3_error_code(exc) in _MISSING_CODES:
                return False
            raise self._fail("look up", key, exc) from exc
        return True

    def list(self, prefix: str = "") -> list[str]:
        check_key(prefix, prefix=True)
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
            if s3_error_code(exc) in _MISSING_CODES:
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
            if s3_error_code(exc) in _CONFLICT_CODES:
                raise LakeConflict(f"lake {self.url} already has an object {key!r}; it is never overwritten") from exc
            raise self._fail("write", key, exc) from exc

    def versioning_enabled(self) -> bool:
        try:
            status = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except (ClientError, BotoCoreError) as exc:
            raise LakeError(f"lake {self.url}: cannot read the bucket's versioning: {self.explain(exc)}") from exc
        return bool(status == "Enabled")

    def object_lock_enabled(self) -> bool:
        if self._object_lock is None:
            try:
                config = self.client.get_object_lock_configuration(Bucket=self.bucket)["ObjectLockConfiguration"]
            except (ClientError, BotoCoreError) as exc:
                if s3_error_code(exc) != "ObjectLockConfigurationNotFoundError":
                    # Guessing "no lock" here would quietly write evidence unlocked.
                    raise LakeError(
                        f"lake {self.url}: cannot read the bucket's Object Lock configuration "
                        f"(s3:GetBucketObjectLockConfiguration): {self.explain(exc)}"
                    ) from exc
                config = {}
            self._object_lock = bool(config.get("ObjectLockEnabled") == "Enabled")
        return self._object_lock

    def list_versions(self, prefix: str = "") -> builtins.list[ObjectVersion]:
        check_key(prefix, prefix=True)
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
            if s3_error_code(exc) in _MISSING_VERSION_CODES:
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
            if s3_error_code(exc) in _MISSING_VERSION_CODES:
                return
            if s3_error_code(exc) == "AccessDenied":
                raise LakeError(
                    f"lake {self.url}: cannot delete version {version_id!r} of {key!r}: access denied; the version "
                    "may be under Object Lock retention or legal hold, or the credentials lack s3:DeleteObjectVersion"
                ) from exc
            raise self._fail("delete a version of", key, exc) from exc

    def explain(self, exc: Exception) -> str:
        """What went wrong with an S3 call on this lake's bucket, and what to check."""
        return describe_s3_error(exc, self.bucket, endpoint_url=self.endpoint_url, access=self.access)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"

    def check_writable(self) -> None:
        full = self._full(f"{PROBE_PREFIX}{uuid.uuid4().hex}")
        try:
            self.client.put_object(Bucket=self.bucket, Key=full, Body=b"probe")
            self.client.delete_object(Bucket=self.bucket, Key=full)
        except (ClientError, BotoCoreError) as exc:
            raise LakeError(f"lake {self.url} cannot be written: {self.explain(exc)}") from exc

    @property
    def namespace(self) -> str:
        return f"s3://{self.bucket}"

    def dataset_name(self, key: str) -> str:
        return self._full(key)


def s3_error_code(exc: Exception) -> str:
    """The S3 error code of a botocore error (``NoSuchBucket``, ``AccessDenied``...), or ``""``."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def describe_s3_error(
    exc: Exception,
    bucket: str,
    *,
    endpoint_url: str | None = None,
    url_setting: str = settings.LAKE_URL.name,
    needs: str = "may put, get, list and delete objects there",
    access: S3Access | None = None,
) -> str:
    """Say what went wrong with an S3 call and what to check, in terms a deployer acts on.

    ``url_setting`` is the setting that names the bucket; ``needs`` what the credentials must be
    allowed to do there (the lake writes objects, the posture read only reads bucket settings);
    ``access`` where the credentials and endpoint came from, when not from the environment.
    """
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, PartialCredentialsError

    code = s3_error_code(exc)
    if code == "NoSuchBucket":
        return f"bucket {bucket!r} does not exist; check {url_setting} or create the bucket"
    credentials = access.credentials if access is not None else ENV_CREDENTIALS
    if code in {"AccessDenied", "AllAccessDisabled", "403"}:
        return f"access denied ({code}) to bucket {bucket!r}; check that {credentials} {needs}"
    if code in _CREDENTIAL_CODES:
        return f"the AWS credentials were refused ({code}); check {credentials}"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return f"no AWS credentials found; set {credentials}"
    if isinstance(exc, EndpointConnectionError):
        endpoint = endpoint_url or "the AWS S3 endpoint"
        endpoint_from = access.endpoint_from if access is not None else settings.S3_ENDPOINT_URL.name
        return f"cannot connect to {endpoint}; check {endpoint_from} and the network"
    return f"{type(exc).__name__}: {exc}"
