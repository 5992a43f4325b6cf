"""Inspect the media files of extracted ContentVersion runs: findings in the lake, never the bytes."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from synthgov import lake as lakes
from synthgov.lake.runs import RunManifest, write_one_part_run
from synthgov.provenance.c2pa_inspect import MediaFinding, inspect_media, mime_for, oversized_finding
from synthgov.salesforce.connection import SalesforceConnection

log = logging.getLogger(__name__)
FINDINGS_OBJECT = "ContentVersion_Media"
_COLUMNS = ["Id", "FileType", "FileExtension", "ContentSize", "IsDeleted", "Checksum", "Title"]


@dataclass
class MediaResult:
    runs: list[str]
    inspected: int
    with_manifest: int
    ai_generated: int
    skipped: int
    manifests: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def pending_runs(lake: lakes.Lake) -> list[RunManifest]:
    """ContentVersion run manifests whose files have not been inspected yet, oldest first."""
    out = []
    for key in lake.list(lakes.object_prefix(lakes.MEDIA_SOURCE_OBJECT)):
        if not key.endswith(lakes.MANIFEST_NAME):
            continue
        manifest = RunManifest.from_bytes(lake.get_bytes(key), lake.uri(key))
        if not lake.exists(lakes.findings_manifest_key(manifest.run_date, manifest.run_id)):
            out.append(manifest)
    return sorted(out, key=lambda m: m.run_id)


def inspect_pending(
    conn: SalesforceConnection, lake: lakes.Lake, *, max_bytes: int, report: Callable[[str], None] = log.info
) -> MediaResult:
    result = MediaResult([], 0, 0, 0, 0, [])
    for manifest in pending_runs(lake):
        findings = _inspect_run(conn, lake, manifest, max_bytes, report)
        written = _write_findings(lake, manifest, findings)
        result.runs.append(manifest.run_id)
        result.manifests.append(written.to_json())
        result.inspected += sum(f.status in ("manifest", "no_manifest") for f in findings)
        result.with_manifest += sum(f.has_manifest for f in findings)
        result.ai_generated += sum(f.ai_generated for f in findings)
        result.skipped += sum(f.status not in ("manifest", "no_manifest") for f in findings)
    return result


def _inspect_run(
    conn: SalesforceConnection,
    lake: lakes.Lake,
    manifest: RunManifest,
    max_bytes: int,
    report: Callable[[str], None],
) -> list[MediaFinding]:
    findings: list[MediaFinding] = []
    base = f"/services/data/v{conn.creds.api_version}/sobjects/ContentVersion"
    for part in manifest.files:
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "part.parquet"
            lake.download(part.key, local)
            table = pq.read_table(local, columns=[c for c in _COLUMNS if c in pq.read_schema(local).names])
        for row in table.to_pylist():
            if row.get("IsDeleted"):
                continue
            mime = mime_for(row.get("FileType"), row.get("FileExtension"))
            if mime is None:
                continue
            # Skip oversized files from their recorded size, before spending a download on them.
            skipped = oversized_finding(row["Id"], mime, int(row.get("ContentSize") or 0), max_bytes=max_bytes)
            if skipped is not None:
                findings.append(skipped)
                continue
            data = conn.get_bytes(f"{base}/{row['Id']}/VersionData")
            findings.append(inspect_media(row["Id"], data, mime, max_bytes=max_bytes))
        report(f"ContentVersion run {manifest.run_id}: inspected {len(findings)} media files so far")
    return findings


def _write_findings(lake: lakes.Lake, source: RunManifest, findings: list[MediaFinding]) -> RunManifest:
    """The findings of one ContentVersion run, as a run of their own with the source run's date and id."""
    rows = [f.as_row() for f in findings]
    table = pa.Table.from_pylist(rows) if rows else pa.table({"record_id": pa.array([], pa.string())})
    folder = lakes.findings_prefix(source.run_date, source.run_id)
    return write_one_part_run(
        lake,
        folder,
        FINDINGS_OBJECT,
        source.run_date,
        source.run_id,
        table,
        part_name=lakes.FINDINGS_NAME,
        compression="snappy",  # what findings were always written with
    )
