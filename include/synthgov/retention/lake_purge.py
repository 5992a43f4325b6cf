"""Remove purged records from the lake: raw parts rewritten without them, and no S3 version left behind.

Where a purged record can be, and what the purge does there:
- raw parts ``raw/salesforce/<Object>/.../part-*.parquet`` (column ``Id``): rewritten without its rows;
- per-file zones ``raw/salesforce_files/<Object>/...`` (media findings, column ``record_id``): the
  same; an object named after a purged id (a stored binary) is erased;
- earlier versions on a versioned bucket, including objects hidden behind a delete marker (a delete
  marker hides bytes, it does not remove them): every version holding a purged id is deleted;
- run manifests: their per-file rows, sha256 and bytes, and the run's totals, are recomputed from the
  parts as rewritten, and written after the parts.

Crash safety: a part is replaced whole (temp file and rename, or one S3 put) before its old versions
are deleted, so readers meet the old part or the new one, never part of either. A run folder carries
``_purge_pending.json`` from its first rewritten part until its manifest is rewritten; a purge that
dies in between is finished by the next call (``purge_lake`` is idempotent), which recomputes that
manifest from the parts as they are and removes any old version still holding a purged id.

The purge registry (``synthgov.lake.purged``) keeps the hashes of deleted ids so that extraction
leaves them out. Registering is the caller's step (``record_purged``), separate from ``purge_lake``:
a masked record loses its old rows but must come back, masked, with the next extraction. Register as
soon as the org has deleted the records, before purging the lake, so an extraction in between cannot
bring them back.

Purges and extractions of the same object must not run at the same time: a part written by a run
that started before the registry entry may still hold a purged id (``find_in_lake`` would report it).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from synthgov import lake as lakes
from synthgov.lake.purged import RAW_ID_COLUMN
from synthgov.lake.runs import sha256_file
from synthgov.salesforce.ids import canonical_record_id, hash_record_id

log = logging.getLogger(__name__)

FILES_ID_COLUMN = "record_id"


class LakePurgeError(lakes.LakeError):
    """The purge cannot tell whether an object holds purged records, or cannot keep the lake consistent."""


@dataclass(frozen=True)
class Leftover:
    """A purged record still in the lake: as a row of a parquet file, or as an object named after it."""

    object: str
    id_sha256: str
    key: str
    version_id: str | None  # None on a lake without versions
    is_latest: bool  # False: only an earlier version (or one behind a delete marker) holds it
    where: Literal["row", "key"]
    safe_key: str  # the key with the id in it (where == "key") replaced by its hash: for logs and evidence

    def __str__(self) -> str:
        version = "current version" if self.is_latest else f"non-current version {self.version_id}"
        return f"{self.object} record sha256 {self.id_sha256[:16]}... in {self.safe_key} ({version}, as a {self.where})"


@dataclass
class LakePurgeReport:
    run_id: str
    rows_removed: dict[str, int] = field(default_factory=dict)  # per object
    files_rewritten: list[str] = field(default_factory=list)
    manifests_updated: list[str] = field(default_factory=list)
    versions_deleted: int = 0  # stored versions and delete markers removed for good (beyond plain overwrites)
    # Objects named after a purged id, the id replaced by its hash (this report goes into the evidence).
    objects_erased: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class _PartStats:
    rows: int
    sha256: str
    size: int
    deleted: int | None  # IsDeleted rows, when the part has the column
    min_modstamp: datetime | None
    max_modstamp: datetime | None


def purge_lake(lake: lakes.Lake, ids_by_object: Mapping[str, Iterable[str]], *, run_id: str) -> LakePurgeReport:
    """Remove every row, file and version of these records from the lake; safe to call again.

    ``ids_by_object`` maps an sObject name to record ids (15 or 18 characters; a malformed id raises
    ValueError before anything changes). This does not register the ids: call ``record_purged`` for
    the deleted ones, or the next extraction brings their rows back.
    """
    wanted = _normalize(ids_by_object)
    report = LakePurgeReport(run_id)
    for obj, ids in wanted.items():
        report.rows_removed[obj] = 0
        for prefix, column in _zones(obj):
            _purge_zone(lake, obj, prefix, column, ids, report)
        log.info("lake purge %s: %s: %d rows removed", run_id, obj, report.rows_removed[obj])
    return report


def find_in_lake(lake: lakes.Lake, ids_by_object: Mapping[str, Iterable[str]]) -> list[Leftover]:
    """Every place these records still are: rows of current files and of every stored version, and object names.

    An empty list is the lake half of a purge's verification.
    """
    found: list[Leftover] = []
    for obj, ids in _normalize(ids_by_object).items():
        for prefix, column in _zones(obj):
            for version in lake.list_versions(prefix):
                if version.is_delete_marker:
                    continue
                named = _named_id(version.key, ids)
                if named is not None:
                    found.append(_leftover(obj, named, version, "key"))
                if version.key.endswith(".parquet"):
                    with lake.open_version(version.key, version.version_id) as handle:
                        hits = _ids_in(handle, column, ids, version.key)
                    found += [_leftover(obj, record_id, version, "row") for record_id in sorted(hits)]
    return found


def referencing_ids(lake: lakes.Lake, obj: str, column: str, parents: Iterable[str]) -> set[str]:
    """Ids of ``obj``'s rows, in any current file or stored version, whose ``column`` names one of ``parents``.

    How a purge finds every version and link of a purged file (``lake.purged.DESCRIBING``), also
    those no plan listed, and how verification finds one planted back.
    """
    wanted = _normalize({obj: parents}).get(obj, frozenset())
    found: set[str] = set()
    for version in lake.list_versions(lakes.object_prefix(obj)) if wanted else ():
        if version.is_delete_marker or not version.key.endswith(".parquet"):
            continue
        with lake.open_version(version.key, version.version_id) as handle:
            found |= _ids_referencing(handle, column, wanted, version.key)
    return found


# -- internals -------------------------------------------------------------------------------------


def _normalize(ids_by_object: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    wanted: dict[str, frozenset[str]] = {}
    for obj, ids in ids_by_object.items():
        lakes.object_prefix(obj)  # refuses a name that is not an sObject API name
        if isinstance(ids, str):
            raise TypeError(f"ids of {obj} must be a collection of ids, not the string {ids!r}")
        canonical = frozenset(canonical_record_id(record_id) for record_id in ids)
        if canonical:
            wanted[obj] = canonical
    return wanted


def _zones(obj: str) -> list[tuple[str, str]]:
    """Where an object's records can be, with the column that holds their id."""
    return [(lakes.object_prefix(obj), RAW_ID_COLUMN), (lakes.files_prefix(obj), FILES_ID_COLUMN)]


def _purge_zone(
    lake: lakes.Lake, obj: str, prefix: str, column: str, ids: frozenset[str], report: LakePurgeReport
) -> None:
    versions = lake.list_versions(prefix)
    named = {v.key: record_id for v in versions if (record_id := _named_id(v.key, ids)) is not None}
    for key, record_id in sorted(named.items()):
        report.versions_deleted += lake.erase(key)
        report.objects_erased.append(_safe_key(key, record_id))
    current = [v.key for v in versions if v.is_latest and not v.is_delete_marker and v.key not in named]
    folders: dict[str, list[str]] = {}
    pending: set[str] = set()
    for key in current:
        folder = key.rsplit("/", 1)[0] + "/"
        if key.endswith(".parquet"):
            folders.setdefault(folder, []).append(key)
        elif key.endswith("/" + lakes.PURGE_PENDING_NAME):
            folders.setdefault(folder, [])
            pending.add(folder)
    for folder, parts in sorted(folders.items()):
        _purge_folder(lake, obj, folder, parts, folder in pending, column, ids, report)
    # Only now: rewriting removed the old versions of the parts it replaced, and what is left are
    # versions from before (earlier purges that died, parts deleted as orphans, overwrites).
    _purge_old_versions(lake, prefix, column, ids, report)


def _purge_folder(
    lake: lakes.Lake,
    obj: str,
    folder: str,
    parts: list[str],
    pending: bool,
    column: str,
    ids: frozenset[str],
    report: LakePurgeReport,
) -> None:
    """Rewrite the run folder's parts that hold purged rows, then its manifest; one part on disk at a time.

    ``pending``: an earlier purge died in this folder, so its manifest is rewritten even if no part is.
    """
    marker = lakes.purge_pending_key(folder)
    stats: dict[str, _PartStats] = {}
    removed = 0
    with tempfile.TemporaryDirectory(prefix="synthgov-purge-") as tmp:
        for key in parts:
            local = Path(tmp) / "part.parquet"
            lake.download(key, local)
            with local.open("rb") as handle:
                hit = bool(_ids_in(handle, column, ids, key))
            if hit:
                if not pending:
                    # Before the first replaced part: a crash from here on leaves the flag for the next purge.
                    marker_body = {"purge_run_id": report.run_id, "started_at": _now()}
                    lake.put_bytes(marker, json.dumps(marker_body).encode())
                    pending = True
                table = _read_parquet(local, key)
                kept = _without(table, column, ids)
                removed += table.num_rows - kept.num_rows
                rewritten = Path(tmp) / "rewritten.parquet"
                _write_like(kept, local, rewritten)
                report.versions_deleted += lake.put_file_erasing_history(key, rewritten)
                report.files_rewritten.append(key)
                local = rewritten
            if pending:  # parts before the first hit are read again by the manifest rewrite
                stats[key] = _stats(local)
            for path in Path(tmp).iterdir():
                path.unlink()
        if not pending:
            return
        manifest = folder + lakes.MANIFEST_NAME
        if lake.exists(manifest):
            _rewrite_manifest(lake, manifest, stats, removed, report.run_id, Path(tmp))
            report.manifests_updated.append(manifest)
    lake.erase(marker)
    report.rows_removed[obj] = report.rows_removed.get(obj, 0) + removed


def _purge_old_versions(
    lake: lakes.Lake, prefix: str, column: str, ids: frozenset[str], report: LakePurgeReport
) -> None:
    by_key: dict[str, list[lakes.ObjectVersion]] = {}
    for version in lake.list_versions(prefix):
        if version.version_id is not None:
            by_key.setdefault(version.key, []).append(version)
    for key, versions in by_key.items():
        gone: set[str | None] = set()
        for version in versions:
            if version.is_latest or version.is_delete_marker or not key.endswith(".parquet"):
                continue
            with lake.open_version(key, version.version_id) as handle:
                if _ids_in(handle, column, ids, f"{key} (version {version.version_id})"):
                    lake.delete_version(key, version.version_id)
                    gone.add(version.version_id)
        left = [v for v in versions if v.version_id not in gone]
        if gone and all(v.is_delete_marker for v in left):
            # Nothing is left under the markers: remove them too, so the key is gone, not hidden.
            for marker in left:
                lake.delete_version(key, marker.version_id)
                gone.add(marker.version_id)
        report.versions_deleted += len(gone)


def _rewrite_manifest(
    lake: lakes.Lake,
    key: str,
    stats: dict[str, _PartStats],
    removed: int,
    run_id: str,
    tmp: Path,
) -> None:
    """Make the run's manifest describe its parts as they now are; written after every part."""
    try:
        manifest = json.loads(lake.get_bytes(key))
        files = manifest["files"]
        listed = [f["key"] for f in files]
    except (ValueError, KeyError, TypeError) as exc:
        raise LakePurgeError(f"manifest {lake.uri(key)} cannot be read ({exc}); the purge cannot update it") from exc
    for part in listed:
        if part not in stats:  # not read since the folder turned pending (or kept elsewhere)
            local = tmp / "listed.parquet"
            try:
                lake.download(part, local)
            except lakes.LakeNotFound:
                raise LakePurgeError(f"manifest {lake.uri(key)} lists {part!r}, which is not in the lake") from None
            stats[part] = _stats(local)
            local.unlink()
    for entry in files:
        part_stats = stats[entry["key"]]
        entry["rows"], entry["sha256"] = part_stats.rows, part_stats.sha256
        if "bytes" in entry:
            entry["bytes"] = part_stats.size
    runs = [stats[part] for part in listed]
    if "rows" in manifest:
        manifest["rows"] = sum(s.rows for s in runs)
    if "rows_deleted" in manifest:
        manifest["rows_deleted"] = sum(s.deleted or 0 for s in runs)
    lows = [s.min_modstamp for s in runs if s.min_modstamp is not None]
    highs = [s.max_modstamp for s in runs if s.max_modstamp is not None]
    if "min_system_modstamp" in manifest:
        manifest["min_system_modstamp"] = min(lows).isoformat() if lows else None
    if "max_system_modstamp" in manifest:
        manifest["max_system_modstamp"] = max(highs).isoformat() if highs else None
    manifest.setdefault("purges", []).append({"purge_run_id": run_id, "rows_removed": removed, "at": _now()})
    lake.put_bytes(key, json.dumps(manifest, indent=2).encode())


def _read_parquet(source: Path, where: str) -> pa.Table:
    try:
        return pq.read_table(source)
    except (pa.ArrowException, OSError) as exc:
        raise LakePurgeError(
            f"{where} cannot be read as parquet ({exc}); the purge cannot tell whether it holds purged records"
        ) from exc


def _hit_mask(values: pa.ChunkedArray, ids: frozenset[str]) -> pa.ChunkedArray | None:
    """True where the value is a purged id; None when there is none."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)) or len(values) == 0:
        return None
    mask = pc.fill_null(pc.is_in(values, value_set=pa.array(sorted(ids), values.type)), False)
    return mask if pc.any(mask).as_py() else None


def _ids_in(source: IO[bytes], column: str, ids: frozenset[str], where: str) -> set[str]:
    try:
        schema = pq.read_schema(source)
        if column not in schema.names:
            return set()
        source.seek(0)
        values = pq.read_table(source, columns=[column])[column]
    except (pa.ArrowException, OSError) as exc:
        raise LakePurgeError(
            f"{where} cannot be read as parquet ({exc}); the purge cannot tell whether it holds purged records"
        ) from exc
    mask = _hit_mask(values, ids)
    return set() if mask is None else {str(v) for v in pc.filter(values, mask).to_pylist()}


def _ids_referencing(source: IO[bytes], column: str, parents: frozenset[str], where: str) -> set[str]:
    try:
        names = pq.read_schema(source).names
        if column not in names or RAW_ID_COLUMN not in names:
            return set()
        source.seek(0)
        table = pq.read_table(source, columns=[RAW_ID_COLUMN, column])
    except (pa.ArrowException, OSError) as exc:
        raise LakePurgeError(
            f"{where} cannot be read as parquet ({exc}); the purge cannot tell whether it holds rows of purged files"
        ) from exc
    mask = _hit_mask(table[column], parents)
    return set() if mask is None else {str(v) for v in pc.filter(table[RAW_ID_COLUMN], mask).to_pylist()}


def _without(table: pa.Table, column: str, ids: frozenset[str]) -> pa.Table:
    mask = _hit_mask(table[column], ids)
    return table if mask is None else table.filter(pc.invert(mask))


def _write_like(table: pa.Table, original: Path, dest: Path) -> None:
    """Write ``table`` with the original file's compression, so a rewritten part looks like its siblings."""
    metadata = pq.ParquetFile(original).metadata
    codec = "zstd"
    if metadata.num_row_groups and metadata.num_columns:
        codec = str(metadata.row_group(0).column(0).compression).lower()
    pq.write_table(table, dest, compression="none" if codec == "uncompressed" else codec)


def _stats(path: Path) -> _PartStats:
    names = pq.read_schema(path).names
    wanted = [c for c in ("IsDeleted", "SystemModstamp") if c in names]
    table = pq.read_table(path, columns=wanted)
    deleted = None
    low = high = None
    if "IsDeleted" in wanted:
        deleted = int(pc.sum(table["IsDeleted"].cast(pa.int64())).as_py() or 0)
    if "SystemModstamp" in wanted and table.num_rows:
        low, high = (v.as_py() for v in pc.min_max(table["SystemModstamp"]).values())
    return _PartStats(
        pq.ParquetFile(path).metadata.num_rows, sha256_file(path), path.stat().st_size, deleted, low, high
    )


def _named_id(key: str, ids: frozenset[str]) -> str | None:
    """The purged id an object is named after (``.../<id>.png``, ``.../Id=<id>/...``), if any."""
    short = {record_id[:15]: record_id for record_id in ids}
    for part in key.split("/"):
        stem = part.partition("=")[2] if "=" in part else part.split(".", 1)[0]
        if stem in ids:
            return stem
        if stem in short:
            return short[stem]
    return None


def _safe_key(key: str, record_id: str) -> str:
    hashed = f"sha256-{hash_record_id(record_id)[:16]}"
    return key.replace(record_id, hashed).replace(record_id[:15], hashed)


def _leftover(obj: str, record_id: str, version: lakes.ObjectVersion, where: Literal["row", "key"]) -> Leftover:
    safe = _safe_key(version.key, record_id) if where == "key" else version.key
    return Leftover(obj, hash_record_id(record_id), version.key, version.version_id, version.is_latest, where, safe)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


__all__ = [
    "LakePurgeError",
    "LakePurgeReport",
    "Leftover",
    "find_in_lake",
    "purge_lake",
    "referencing_ids",
]
