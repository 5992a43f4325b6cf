"""The lake's storage contract: what every backend (``local``, ``s3``) keeps, and the errors it raises.

The lake is an object store for immutable raw extracts, run manifests, watermarks and evidence. One
interface, two backends: a local folder (the embedded default) and S3 (production; moto in tests).
Both share one contract, so the extractor, the warehouse loader and the evidence ledger never ask
which one they write to:

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
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Literal

# Local writes go to a hidden sibling first; list() and exists() never report these names.
TEMP_PREFIX = ".synthgov-tmp-"
PROBE_PREFIX = "_synthgov_probe/"


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


def check_key(key: str, *, prefix: bool = False) -> str:
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
    if any(p.startswith(TEMP_PREFIX) for p in parts):
        raise LakeError(f"invalid lake key {key!r}: names starting with {TEMP_PREFIX!r} are reserved")
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
