"""Inspect the media files of extracted ContentVersion runs: findings in the lake, never the bytes."""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import requests
from simple_salesforce.exceptions import SalesforceError

from synthgov import lake as lakes
from synthgov.lake.runs import RunManifest, write_one_part_run
from synthgov.provenance.c2pa_inspect import (
    NOT_INSPECTED_STATUSES,
    MediaFinding,
    download_failed_finding,
    inspect_media,
    oversized_finding,
)
from synthgov.provenance.formats import hint_mime
from synthgov.provenance.trust import C2paTrust
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
    # Files whose C2PA data could not be looked at, per status (not_inspectable, download_failed, ...).
    not_inspected: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def not_inspected_summary(self) -> str:
        """ "2 not_inspectable, 1 download_failed", or "none"."""
        return ", ".join(f"{n} {status}" for status, n in sorted(self.not_inspected.items())) or "none"


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
    conn: SalesforceConnection,
    lake: lakes.Lake,
    *,
    max_bytes: int,
    trust: C2paTrust | None = None,
    report: Callable[[str], None] = log.info,
) -> MediaResult:
    """Inspect every file of the pending ContentVersion runs, whatever its declared type.

    The format comes from the bytes, so every live file is downloaded (up to `max_bytes`, judged from its
    ContentSize first). A file that cannot be inspected gets a finding saying why; the report line and
    `MediaResult.not_inspected` count them per reason.
    """
    result = MediaResult([], 0, 0, 0, 0, [])
    counts: Counter[str] = Counter()
    for manifest in pending_runs(lake):
        findings = _inspect_run(conn, lake, manifest, max_bytes, trust or C2paTrust(), report)
        written = _write_findings(lake, manifest, findings)
        result.runs.append(manifest.run_id)
        result.manifests.append(written.to_json())
        result.inspected += sum(f.status not in NOT_INSPECTED_STATUSES for f in findings)
        result.with_manifest += sum(f.has_manifest for f in findings)
        result.ai_generated += sum(f.ai_generated for f in findings)
        result.skipped += sum(f.status in NOT_INSPECTED_STATUSES for f in findings)
        counts.update(f.status for f in findings if f.status in NOT_INSPECTED_STATUSES)
    result.not_inspected = dict(counts)
    report(f"media files not inspected: {result.not_inspected_summary()}")
    return result


def _inspect_run(
    conn: SalesforceConnection,
    lake: lakes.Lake,
    manifest: RunManifest,
    max_bytes: int,
    trust: C2paTrust,
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
            # A hint only: the bytes say what the file is, so an odd name cannot hide it.
            hint = hint_mime(row.get("FileType"), row.get("FileExtension"))
            size = int(row.get("ContentSize") or 0)
            # Skip oversized files from their recorded size, before spending a download on them.
            skipped = oversized_finding(row["Id"], hint, size, max_bytes=max_bytes)
            if skipped is not None:
                findings.append(skipped)
                continue
            try:
                data = conn.get_bytes(f"{base}/{row['Id']}/VersionData")
            except (SalesforceError, requests.Timeout) as exc:
                # One file the org will not hand over (gone since extraction, a server error) is that file's
                # finding; an org that cannot be reached at all still fails the task.
                findings.append(download_failed_finding(row["Id"], hint, size, _download_reason(exc)))
                continue
            findings.append(
                inspect_media(
                    row["Id"],
                    data,
                    hint,
                    max_bytes=max_bytes,
                    trust_anchors_pem=trust.anchors_pem,
                    trust_config=trust.trust_config,
                )
            )
        report(f"ContentVersion run {manifest.run_id}: looked at {len(findings)} files so far")
    return findings


def _download_reason(exc: Exception) -> str:
    if isinstance(exc, SalesforceError):
        return f"the org answered HTTP {exc.status}"
    return f"{type(exc).__name__}: {exc}"


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
