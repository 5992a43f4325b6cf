"""Bulk API 2.0 ingest jobs against the sandbox org: how the benchmarks change the org in bulk (setup, not measured)."""

from __future__ import annotations

import csv
import io
import time

import requests

from synthgov_sandbox.engine.schema import API_VERSION
from synthgov_sandbox.process import SandboxProcess


def http_session(org: SandboxProcess) -> requests.Session:
    """A session trusting the org's CA and nothing from the environment (REQUESTS_CA_BUNDLE may name another)."""
    session = requests.Session()
    session.verify = org.ca_bundle
    session.trust_env = False
    return session


def ingest(
    org: SandboxProcess,
    obj: str,
    operation: str,
    rows: list[dict[str, str]],
    *,
    http: requests.Session | None = None,
    want_ids: bool = False,
) -> tuple[int, list[str]]:
    """One ingest job over `rows` (CSV, columns in name order); returns the records processed and, with
    `want_ids`, the ids of the successful ones in the rows' order. Raises on any failed record."""
    if not rows:
        return 0, []
    http = http or http_session(org)
    base = f"{org.instance_url}/services/data/v{API_VERSION}/jobs/ingest"
    auth = {"Authorization": f"Bearer {org.token()}"}
    body = {"object": obj, "operation": operation, "contentType": "CSV", "lineEnding": "LF"}
    job = http.post(base, json=body, headers=auth, timeout=60)
    job.raise_for_status()
    job_id = job.json()["id"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=sorted({name for row in rows for name in row}), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    upload = http.put(
        f"{base}/{job_id}/batches",
        data=buffer.getvalue().encode(),
        headers={**auth, "Content-Type": "text/csv"},
        timeout=600,
    )
    upload.raise_for_status()
    state = http.patch(f"{base}/{job_id}", json={"state": "UploadComplete"}, headers=auth, timeout=3600)
    state.raise_for_status()
    info = state.json()
    while info["state"] not in ("JobComplete", "Failed", "Aborted"):
        time.sleep(0.2)
        info = http.get(f"{base}/{job_id}", headers=auth, timeout=60).json()
    if info["state"] != "JobComplete" or info["numberRecordsFailed"]:
        failed = http.get(f"{base}/{job_id}/failedResults", headers=auth, timeout=60).text
        raise RuntimeError(f"{operation} {obj}: {info['state']}, failed records:\n{failed[:2000]}")
    ids: list[str] = []
    if want_ids:
        ok = http.get(f"{base}/{job_id}/successfulResults", headers=auth, timeout=600)
        ok.raise_for_status()
        ids = [row["sf__Id"] for row in csv.DictReader(io.StringIO(ok.text))]
    return int(info["numberRecordsProcessed"]), ids
