"""The demo path as a user runs it: `synthgov demo` (what `make demo` runs) on a fresh SYNTHGOV_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

LABELS = (
    "ai_generated",
    "untagged_ai",
    "deepfake_media",
    "undisclosed_ai_communication",
    "synthetic_persona_in_pipeline",
    "automated_decision_without_review",
    "unapproved_ai_tool_access",
    "unapproved_ai_package",
    "legal_hold",
    "retention_due",
    "media_not_inspected",
)


def test_demo_starts_the_sandbox_and_reports_what_it_holds(tmp_path: Path) -> None:
    # As a user's shell would have it: not the OpenLineage settings tests/conftest.py made for its own home.
    env = {k: v for k, v in os.environ.items() if "OPENLINEAGE" not in k}
    env["SYNTHGOV_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-m", "synthgov.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Sandbox org: https://127.0.0.1:" in out
    assert "Planted cases:" in out
    for label in LABELS:
        assert label in out
    lead_line = next(line for line in out.splitlines() if line.startswith("Lead "))
    assert int(lead_line.split()[1]) > 600
    state = tmp_path / "home" / "sandbox"
    assert (state / "org.sqlite").exists()
    assert (state / "tls" / "ca.pem").exists()
    # The nightly run: every object extracted, media inspected, the warehouse loaded.
    lead_run = next(line for line in out.splitlines() if line.startswith("Lead ") and "incremental" in line)
    assert int(lead_run.split()[3]) == int(lead_line.split()[1]) + int(lead_line.split()[2])
    assert "C2PA inspection: 39 media files" in out
    assert "raw_salesforce.lead" in out
    # The dbt step ran: the governance summary lists every control with its findings.
    summary = out.split("Governance summary (marts.governance_summary):")[1]
    undisclosed = next(line for line in summary.splitlines() if "undisclosed_ai_communications" in line)
    assert int(undisclosed.split()[-4]) == 54
    # The gzip'd export c2pa does not read (low) and the PNG cut off mid-upload (medium): reported, not skipped.
    not_inspected = next(line for line in summary.splitlines() if "media_not_inspected" in line)
    assert not_inspected.split()[-4:] == ["2", "0", "1", "1"]
    assert (tmp_path / "home" / "warehouse.duckdb").exists()
    assert (tmp_path / "home" / "lake" / "raw" / "salesforce" / "Lead").is_dir()
    # The scheduled purge ran after the nightly build and printed its receipt; the ledger checks out.
    receipt = out.split("Retention receipt, plan ")[1]
    assert "outcomes: {'purged': " in receipt
    assert "evidence ledger verification: intact" in receipt
    verified = subprocess.run(
        [sys.executable, "-m", "synthgov.cli", "evidence", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # The regulator evidence pack after the purge: it exists, every file matches SHA256SUMS, and the
    # demo says where the event log is and how to reach Marquez.
    index = Path(out.split("Regulator evidence pack (opens offline): ")[1].splitlines()[0].strip())
    assert index.is_file()
    entry_hash = receipt.split("SHA-256 ", 2)[2].split()[0]  # "evidence: ledger entry #N, SHA-256 <hash>"
    assert entry_hash in index.read_text(), "the pack shows the purge's ledger entry"
    sums = subprocess.run(
        ["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=index.parent, capture_output=True, text=True, check=False
    )
    assert sums.returncode == 0, sums.stdout + sums.stderr
    assert "OpenLineage event log: " in out and "OPENLINEAGE_URL=" in out
    log = Path(out.split("OpenLineage event log: ")[1].splitlines()[0].strip())
    assert log.is_file() and log.stat().st_size > 0
