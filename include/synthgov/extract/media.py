"""Inspect the media files of extracted ContentVersion runs: findings in the lake, never the bytes."""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from synthgov import lake as lakes
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


def findings_manifest_key(run_date: date, run_id: str) -> str:
    return lakes.findings_key(run_date, run_id).rsplit("/", 1)[0] + "/" + lakes.MANIFEST_NAME


def pending_runs(lake: lakes.Lake) -> list[dict[str, Any]]:
    """ContentVersion run manifests whose files have not been inspected yet, oldest first."""
    out = []
    for key in lake.list(lakes.object_prefix("ContentVersion")):
        if not key.endswith(lakes.MANIFEST_NAME):
            continue
        manifest = json.loads(lake.get_bytes(key))
        done = findings_manifest_key(date.fromisoformat(manifest["run_date"]), manifest["run_id"])
        if not lake.exists(done):
            out.append(manifest)
    return sorted(out, key=lambda m: str(m["run_id"]))


def inspect_pending(
    conn: SalesforceConnection, lake: lakes.Lake, *, max_bytes: int, report: Callable[[str], None] = log.info
) -> MediaResult:
    result = MediaResult([], 0, 0, 0, 0, [])
    for manifest in pending_runs(lake):
        findings = _inspect_run(conn, lake, manifest, max_bytes, report)
        run_date, run_id = date.fromisoformat(manifest["run_date"]), str(manifest["run_id"])
        written = _write_findings(lake, run_date, run_id, findings)
        result.runs.append(run_id)
        result.manifests.append(written)
        result.inspected += sum(f.status in ("manifest", "no_manifest") for f in findings)
        result.with_manifest += sum(f.has_manifest for f in findings)
        result.ai_generated += sum(f.ai_generated for f in findings)
        result.skipped += sum(f.status not in ("manifest", "no_manifest") for f in findings)
    return result


def _inspect_run(
    conn: SalesforceConnection,
    lake: lakes.Lake,
    manifest: dict[str, Any],
    max_bytes: int,
    report: Callable[[str], None],
) -> list[MediaFinding]:
    findings: list[MediaFinding] = []
    base = f"/services/data/v{conn.creds.api_version}/sobjects/ContentVersion"
    for part in manifest["files"]:
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "part.parquet"
            lake.download(part["key"], local)
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
        report(f"ContentVersion run {manifest['run_id']}: inspected {len(findings)} media files so far")
    return findings


def _write_findings(lake: lakes.Lake, run_date: date, run_id: str, findings: list[MediaFinding]) -> dict[str, Any]:
    import hashlib

    rows = [f.as_row() for f in findings]
    table = pa.Table.from_pylist(rows) if rows else pa.table({"record_id": pa.array([], pa.string())})
    key = lakes.findings_key(run_date, run_id)
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "findings.parquet"
        pq.write_table(table, local)
        digest = hashlib.sha256(local.read_bytes()).hexdigest()
        lake.put_file(key, local)
    manifest = {
        "object": FINDINGS_OBJECT,
        "run_id": run_id,
        "run_date": run_date.isoformat(),
        "rows": len(rows),
        "files": [{"key": key, "rows": len(rows), "sha256": digest}],
    }
    lake.put_bytes(findings_manifest_key(run_date, run_id), json.dumps(manifest, indent=2).encode())
    return manifest
