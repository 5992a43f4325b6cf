"""Training-data manifests: the format, its validation, and the nightly read of the training zone.

A manifest is one JSON file per training data set under ``manifests/`` in the training zone (see
``training_manifest.schema.json`` beside this module, version 1)::

    {
      "manifest_version": 1,
      "dataset": "lead-scoring-v4",
      "model": "LeadScorer v4",
      "purpose": "Rank inbound leads for the sales team",
      "created_at": "2026-10-23T09:00:00Z",
      "created_by": "ml-platform@example.com",
      "records": [
        {"object": "Lead", "id": "00Q5g000000001AAAQ", "declared_provenance": "authentic"},
        {"object": "Lead", "id": "00Q5g00000000ABEAY", "declared_provenance": "synthetic"}
      ]
    }

Validation reports every problem with the file, the entry and the field
(``manifests/x.json: records[3].declared_provenance: 'mixed' is not one of 'authentic', 'synthetic'``).
A manifest with problems is still read: its valid entries are checked like any other, so one typo
never hides a consent problem, and the manifest itself becomes a finding.

The nightly read (``read_training_manifests``) writes two snapshot tables to the lake's raw zone:
``Training_Manifests`` (one row per manifest file, with its problems) and
``Training_Manifest_Records`` (one row per valid entry; ids as 18 characters). dbt joins them to
the CRM (``finding_training_data_consent``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa

from synthgov import lake as lakes
from synthgov.salesforce.ids import is_valid_id, to18
from synthgov.training.zone import TrainingZone, write_snapshot

log = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).with_name("training_manifest.schema.json")
MANIFEST_FOLDER = "manifests/"
MANIFESTS_OBJECT = "Training_Manifests"
RECORDS_OBJECT = "Training_Manifest_Records"
PROVENANCE_VALUES = ("authentic", "synthetic")

# What a pattern means, for messages people act on (jsonschema would quote the regular expression).
_PATTERN_MEANING = {
    "id": "is not a Salesforce record id (15 or 18 letters and digits)",
    "object": "is not an sObject API name",
    "dataset": "is not a data set name (letters, digits, '.', '_' and '-', at most 128 characters)",
}

MANIFESTS_SCHEMA = pa.schema(
    [
        ("manifest_key", pa.string()),
        ("manifest_uri", pa.string()),
        ("sha256", pa.string()),
        ("size_bytes", pa.int64()),
        ("dataset", pa.string()),
        ("model", pa.string()),
        ("purpose", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("created_by", pa.string()),
        ("record_entries", pa.int64()),
        ("valid_records", pa.int64()),
        ("is_valid", pa.bool_()),
        ("problem_count", pa.int64()),
        ("problems", pa.string()),
        ("read_at", pa.timestamp("us", tz="UTC")),
    ]
)
RECORDS_SCHEMA = pa.schema(
    [
        ("manifest_key", pa.string()),
        ("dataset", pa.string()),
        ("entry_index", pa.int64()),
        ("object", pa.string()),
        ("record_id", pa.string()),
        ("declared_id", pa.string()),
        ("declared_provenance", pa.string()),
    ]
)


@dataclass(frozen=True)
class ManifestProblem:
    """One problem of a manifest: the file, where in it (``records[3].id``; empty for the whole file), what."""

    key: str
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.location or '(manifest)'}: {self.message}"


@dataclass(frozen=True)
class ManifestRecord:
    index: int
    object: str
    record_id: str
    declared_id: str
    declared_provenance: str


@dataclass
class Manifest:
    """A manifest as read: its header, its valid entries and every problem found."""

    key: str
    sha256: str
    size_bytes: int
    header: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    record_entries: int = 0
    records: list[ManifestRecord] = field(default_factory=list)
    problems: list[ManifestProblem] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.problems


@cache
def manifest_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return schema


def _location(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: Any) -> str:
    field_name = error.path[-1] if error.path else None
    if error.validator == "pattern" and field_name in _PATTERN_MEANING:
        return f"{error.instance!r} {_PATTERN_MEANING[field_name]}"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(repr(v) for v in error.validator_value)}"
    if error.validator == "const":
        return f"{error.instance!r} is not supported; this reader knows version {error.validator_value!r}"
    message: str = error.message
    return message


def _error_order(error: Any) -> list[tuple[int, str]]:
    """Problems in document order: records[2] before records[10]."""
    return [(p, "") if isinstance(p, int) else (-1, str(p)) for p in error.path]


def parse_manifest(key: str, data: bytes) -> Manifest:
    """Validate one manifest file against the schema and the rules it cannot state; never raises on bad input."""
    from jsonschema import Draft202012Validator

    manifest = Manifest(key=key, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        manifest.problems.append(ManifestProblem(key, "", f"not valid JSON: {exc}"))
        return manifest
    validator = Draft202012Validator(manifest_schema())
    bad_entries: set[int] = set()
    for error in sorted(validator.iter_errors(document), key=_error_order):
        path = list(error.path)
        manifest.problems.append(ManifestProblem(key, _location(path), _message(error)))
        if len(path) >= 2 and path[0] == "records" and isinstance(path[1], int):
            bad_entries.add(path[1])
    if not isinstance(document, dict):
        return manifest
    manifest.header = {k: document.get(k) for k in ("dataset", "model", "purpose", "created_by")}
    manifest.header = {k: v if isinstance(v, str) else None for k, v in manifest.header.items()}
    created = document.get("created_at")
    if isinstance(created, str):
        try:
            parsed = datetime.fromisoformat(created)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            manifest.problems.append(
                ManifestProblem(key, "created_at", f"{created!r} is not an ISO 8601 date-time with a UTC offset")
            )
        else:
            manifest.created_at = parsed.astimezone(UTC)
    entries = document.get("records")
    if not isinstance(entries, list):
        return manifest
    manifest.record_entries = len(entries)
    seen: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(entries):
        if index in bad_entries or not isinstance(entry, dict):
            continue
        declared_id = str(entry["id"])
        if not is_valid_id(declared_id):
            manifest.problems.append(
                ManifestProblem(
                    key, f"records[{index}].id", f"{declared_id!r} has a wrong checksum (its last 3 characters)"
                )
            )
            continue
        record_id = to18(declared_id)
        # Ids are unique case-insensitively only in their 18-character form.
        first = seen.setdefault((str(entry["object"]).lower(), record_id.lower()), index)
        if first != index:
            duplicate = f"duplicate of records[{first}] ({entry['object']} {record_id})"
            manifest.problems.append(ManifestProblem(key, f"records[{index}]", duplicate))
            continue
        manifest.records.append(
            ManifestRecord(index, str(entry["object"]), record_id, declared_id, str(entry["declared_provenance"]))
        )
    return manifest


@dataclass
class ManifestsResult:
    """What one read of the training zone found; ``manifests`` are the lake runs the load task takes."""

    zone: str
    run_id: str
    read: int = 0
    invalid: int = 0
    records: int = 0
    problems: list[str] = field(default_factory=list)
    manifests: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_training_manifests(
    lake: lakes.Lake,
    zone: TrainingZone,
    *,
    run_id: str,
    now: datetime | None = None,
    report: Callable[[str], None] = log.info,
) -> ManifestsResult:
    """Read every manifest in the zone and write both snapshot tables to ``lake``'s raw zone.

    A zone that cannot be listed or read raises LakeError: writing an empty snapshot then would make
    every finding of the last run disappear.
    """
    now = now or datetime.now(UTC)
    result = ManifestsResult(zone=zone.uri, run_id=run_id)
    try:
        keys = [k for k in zone.lake.list(MANIFEST_FOLDER) if k.endswith(".json")]
        parsed = [parse_manifest(k, zone.lake.get_bytes(k)) for k in keys]
    except lakes.LakeError as exc:
        raise lakes.LakeError(f"cannot read the training zone {zone.uri}: {exc}") from exc
    manifest_rows: list[dict[str, Any]] = []
    record_rows: list[dict[str, Any]] = []
    for m in parsed:
        manifest_rows.append(
            {
                "manifest_key": m.key,
                "manifest_uri": zone.lake.uri(m.key),
                "sha256": m.sha256,
                "size_bytes": m.size_bytes,
                **m.header,
                "created_at": m.created_at,
                "record_entries": m.record_entries,
                "valid_records": len(m.records),
                "is_valid": m.is_valid,
                "problem_count": len(m.problems),
                "problems": "\n".join(f"{p.location or '(manifest)'}: {p.message}" for p in m.problems) or None,
                "read_at": now,
            }
        )
        record_rows += [
            {
                "manifest_key": m.key,
                "dataset": m.header.get("dataset"),
                "entry_index": r.index,
                "object": r.object,
                "record_id": r.record_id,
                "declared_id": r.declared_id,
                "declared_provenance": r.declared_provenance,
            }
            for r in m.records
        ]
        result.problems += [str(p) for p in m.problems]
        report(f"{zone.lake.uri(m.key)}: {len(m.records)} records, {len(m.problems)} problems")
    run_date = now.date()
    result.manifests = [
        write_snapshot(lake, MANIFESTS_OBJECT, run_date, run_id, manifest_rows, MANIFESTS_SCHEMA).to_json(),
        write_snapshot(lake, RECORDS_OBJECT, run_date, run_id, record_rows, RECORDS_SCHEMA).to_json(),
    ]
    result.read = len(parsed)
    result.invalid = sum(not m.is_valid for m in parsed)
    result.records = len(record_rows)
    return result
