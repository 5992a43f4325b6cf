"""Runs: how a writer names a run and commits it to the lake, and how a reader checks what it finds.

A run is one folder of parquet parts and a manifest (``_manifest.json``) written after the last
part: readers take only runs with a manifest. Every writer (the extractor, the media findings, the
training-zone snapshots) writes its manifest as a ``RunManifest``; the warehouse loader parses it
back with ``RunManifest.from_json``, which refuses a malformed manifest before any row moves.

The JSON form::

    {"object": "Lead", "run_id": "20261102T020000Z-1a2b3c", "run_date": "2026-11-02",
     ...writer details (the extractor's query, window and counts; a purge's history)...,
     "rows": 1200, "files": [{"key": "raw/...", "rows": 1200, "sha256": "<64 hex>", "bytes": 53412}]}
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from synthgov.lake.layout import MANIFEST_NAME, check_object, check_run_id
from synthgov.lake.storage import Lake, LakeError

_CORE_FIELDS = frozenset({"object", "run_id", "run_date", "rows", "files"})
_SHA256 = re.compile(r"[0-9a-f]{64}")


class RunManifestError(LakeError):
    """A run manifest that does not say what a reader relies on; the message names the field."""


def new_run_id(now: datetime | None = None) -> str:
    """Run ids sort chronologically: a UTC timestamp, then a random suffix."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def sha256_file(path: Path) -> str:
    """The SHA-256 (hex) of a file, read in blocks so a large part never sits in memory whole."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class RunPart:
    """One parquet part of a run: its key, its rows, and the SHA-256 the loader checks it against."""

    key: str
    rows: int
    sha256: str
    bytes: int | None = None  # None in manifests written before parts recorded their size

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"key": self.key, "rows": self.rows, "sha256": self.sha256}
        if self.bytes is not None:
            entry["bytes"] = self.bytes
        return entry


@dataclass(frozen=True)
class RunManifest:
    """What a run wrote: its object, id, date and parts, and whatever else its writer records."""

    object: str
    run_id: str
    run_date: date
    files: tuple[RunPart, ...]
    #: Writer-specific fields, kept as they are (the extractor's query and window, a purge's history).
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"manifest of {self.object!r} run {self.run_id!r}"
        try:
            check_object(self.object)
            check_run_id(self.run_id)
        except LakeError as exc:
            raise RunManifestError(f"{where}: {exc}") from None
        clash = sorted(_CORE_FIELDS & set(self.details))
        if clash:
            raise RunManifestError(f"{where}: details must not set {', '.join(clash)}: they are the manifest's own")

    @property
    def rows(self) -> int:
        return sum(part.rows for part in self.files)

    def to_json(self) -> dict[str, Any]:
        return {
            "object": self.object,
            "run_id": self.run_id,
            "run_date": self.run_date.isoformat(),
            **self.details,
            "rows": self.rows,
            "files": [part.to_json() for part in self.files],
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json(), indent=2).encode()

    @classmethod
    def from_json(cls, document: Any) -> RunManifest:
        """Check the fields readers rely on; raises RunManifestError naming the first one that is wrong."""
        if not isinstance(document, dict):
            raise RunManifestError(f"a run manifest must be a JSON object, not {type(document).__name__}")
        obj, run_id = document.get("object"), document.get("run_id")
        where = f"manifest of {obj!r} run {run_id!r}"
        if not isinstance(obj, str) or not _is_valid(check_object, obj):
            raise RunManifestError(f"{where}: 'object' must be a Salesforce object name")
        if not isinstance(run_id, str) or not _is_valid(check_run_id, run_id):
            raise RunManifestError(f"{where}: 'run_id' must be a run id (letters, digits, '.', '_' and '-')")
        files = document.get("files")
        if not isinstance(files, list):
            raise RunManifestError(f"{where}: 'files' must be a list")
        parts = tuple(_part(where, i, entry) for i, entry in enumerate(files))
        run_date = document.get("run_date")
        try:
            parsed_date = date.fromisoformat(run_date) if isinstance(run_date, str) else None
        except ValueError:
            parsed_date = None
        if parsed_date is None:
            raise RunManifestError(f"{where}: 'run_date' must be a date (YYYY-MM-DD)")
        details = {k: v for k, v in document.items() if k not in _CORE_FIELDS}
        return cls(obj, run_id, parsed_date, parts, details)

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> RunManifest:
        """Parse a stored manifest; ``where`` (its URI) starts every message, so a reader knows which file."""
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, ValueError) as exc:
            raise RunManifestError(f"{where} is not valid JSON: {exc}") from None
        try:
            return cls.from_json(document)
        except RunManifestError as exc:
            raise RunManifestError(f"{where}: {exc}") from None


def _is_valid(check: Callable[[str], str], value: str) -> bool:
    try:
        check(value)
    except LakeError:
        return False
    return True


def _part(where: str, i: int, entry: Any) -> RunPart:
    if not isinstance(entry, dict):
        raise RunManifestError(f"{where}: files[{i}] must be an object with key, rows and sha256")
    key, rows, sha, size = entry.get("key"), entry.get("rows"), entry.get("sha256"), entry.get("bytes")
    if not isinstance(key, str) or not key:
        raise RunManifestError(f"{where}: files[{i}].key must be a lake key")
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise RunManifestError(f"{where}: files[{i}].rows must be a whole number of at least 0")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha.lower()):
        raise RunManifestError(f"{where}: files[{i}].sha256 must be 64 hex digits")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise RunManifestError(f"{where}: files[{i}].bytes must be a whole number of at least 0")
    return RunPart(key, rows, sha.lower(), size)


def write_one_part_run(
    lake: Lake,
    folder: str,
    obj: str,
    run_date: date,
    run_id: str,
    table: pa.Table,
    *,
    part_name: str,
    compression: str = "zstd",
) -> RunManifest:
    """Write a run of one parquet part (``folder`` + ``part_name``), then its manifest; returns the manifest.

    For the runs synthgov makes of its own findings (media findings, training-zone snapshots): an
    empty table is written too, as it says there was nothing at this run.
    """
    key = f"{folder}{part_name}"
    with tempfile.TemporaryDirectory(prefix="synthgov-run-") as tmp:
        local = Path(tmp) / part_name
        pq.write_table(table, local, compression=compression)
        part = RunPart(key, table.num_rows, sha256_file(local), local.stat().st_size)
        lake.put_file(key, local)
    manifest = RunManifest(obj, run_id, run_date, (part,))
    lake.put_bytes(f"{folder}{MANIFEST_NAME}", manifest.to_bytes())
    return manifest
