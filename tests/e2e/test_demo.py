"""The demo path as a user runs it: `synthgov demo` (what `make demo` runs) twice on one fresh SYNTHGOV_HOME."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from synthgov.extract.config import load_config

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]

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
# The account a newcomer reads: short (about 75 lines on the demo org, where it printed about 2,900 lines of
# task logs before); the Airflow, Cosmos and dbt logs go to the file it names.
MAX_LINES = 80
DEMO_ORG_FILES = 39  # ContentVersions the demo org's seed makes (include/synthgov_sandbox/demo/seed.py)


def run_demo(home: Path) -> str:
    # As a user's shell would have it: not the OpenLineage settings tests/conftest.py made for its own home.
    env = {k: v for k, v in os.environ.items() if "OPENLINEAGE" not in k}
    env["SYNTHGOV_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-m", "synthgov.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def log_file_of(out: str) -> Path:
    return Path(out.splitlines()[0].split(" logs go to ", 1)[1].strip())


def _model_count() -> int:
    manifest = json.loads((REPO / "dbt_project" / "target" / "manifest.json").read_text())
    return sum(1 for node in manifest["nodes"].values() if node["resource_type"] == "model")


def check_account(out: str, home: Path) -> None:
    """What every run's account holds, checked against the log file, the pack folder and the warehouse."""
    assert len(out.splitlines()) <= MAX_LINES, out
    models = f"Found {_model_count()} models"  # what dbt logs when it starts, from the project's own manifest
    assert "[DAG TEST]" not in out and models not in out, "task logs leaked to the terminal"
    log = log_file_of(out)
    assert log.is_file() and log.parent == home / "logs"
    logged = log.read_text()
    assert "[DAG TEST] starting task_id=extract" in logged and models in logged
    assert "building the governance models with dbt ..." in out
    assert re.search(r"dbt: (\d+) of \1 tasks done", out), "progress reaches the last dbt task"
    # One pack per run, written after the purge.
    assert out.count("Regulator evidence pack (opens offline): ") == 1
    warehouse = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        tables = warehouse.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema NOT IN ('information_schema', 'pg_catalog')"
        ).fetchone()
        found = warehouse.execute(
            "SELECT ai_tool, ai_model, count(*) FROM marts.provenance_ledger "
            "WHERE ai_tool IS NOT NULL OR ai_model IS NOT NULL GROUP BY 1, 2"
        ).fetchall()
    finally:
        warehouse.close()
    assert tables is not None
    assert f": {tables[0]} tables and views (" in out
    assert f"AI tools and models found (marts.provenance_ledger): {len(found)}" in out
    assert len(found) >= 3
    lines = out.splitlines()
    for tool, model, n in found:
        assert any(
            (tool or "(no tool)") in line and (model or "(no model)") in line and line.endswith(f"{n} records")
            for line in lines
        ), (tool, model, n)


def test_demo_runs_the_nightly_purges_and_says_when_nothing_was_due(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = run_demo(home)
    check_account(out, home)
    assert "Sandbox org: https://127.0.0.1:" in out and "Planted cases" not in out.split("Nightly DAG run")[1]
    planted = out.split("planted cases with ground-truth labels:")[1].split("Nightly DAG run")[0]
    for label in LABELS:
        assert re.search(rf"\b{label} \d+", planted), label
    state = home / "sandbox"
    assert (state / "org.sqlite").exists() and (state / "tls" / "ca.pem").exists()
    # Every file of the demo org was inspected: those the lake still holds plus those the purge took.
    media = re.search(r"C2PA inspection \(files the lake holds after the purge\): (\d+) media files", out)
    assert media, out
    receipt_text = out.split("Retention receipt, plan ")[1]
    purged_files = sum(int(n) for n in re.findall(r"policy \S+: (\d+) ContentVersion records", receipt_text))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        loaded = con.execute("SELECT count(*) FROM raw_synthgov.contentversion_media").fetchone()
    assert loaded is not None and int(media.group(1)) == loaded[0]
    assert int(media.group(1)) + purged_files == DEMO_ORG_FILES
    # The dbt step ran: the governance summary's findings match the org's planted cases.
    summary = out.split("Governance summary (marts.governance_summary):")[1]
    undisclosed = next(line for line in summary.splitlines() if "undisclosed_ai_communications" in line)
    planted_undisclosed = int(re.findall(r"undisclosed_ai_communication (\d+)", planted)[0])
    assert int(undisclosed.split()[-4]) == planted_undisclosed
    # The gzip'd export c2pa does not read (low) and the PNG cut off mid-upload (medium): reported, not skipped.
    not_inspected = next(line for line in summary.splitlines() if "media_not_inspected" in line)
    assert not_inspected.split()[-4:] == ["2", "0", "1", "1"]
    assert (home / "lake" / "raw" / "salesforce" / "Lead").is_dir()
    # The scheduled purge ran after the nightly build and printed its receipt; the ledger checks out.
    receipt = out.split("Retention receipt, plan ")[1]
    assert "outcomes: {'purged': " in receipt
    assert "evidence ledger verification: intact" in receipt
    env = {k: v for k, v in os.environ.items() if "OPENLINEAGE" not in k} | {"SYNTHGOV_HOME": str(home)}
    verified = subprocess.run(
        [sys.executable, "-m", "synthgov.cli", "evidence", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # The pack holds the purge's ledger entry, every file matches SHA256SUMS; the event log is named.
    index = Path(out.split("Regulator evidence pack (opens offline): ")[1].splitlines()[0].strip())
    entry_hash = receipt.split("SHA-256 ", 2)[2].split()[0]  # "evidence: ledger entry #N, SHA-256 <hash>"
    assert entry_hash in index.read_text(), "the pack shows the purge's ledger entry"
    sums = subprocess.run(
        ["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=index.parent, capture_output=True, text=True, check=False
    )
    assert sums.returncode == 0, sums.stdout + sums.stderr
    assert "OpenLineage event log: " in out and "OPENLINEAGE_URL=" in out
    events = Path(out.split("OpenLineage event log: ")[1].splitlines()[0].strip())
    assert events.is_file() and events.stat().st_size > 0
    packs = {p.name for p in (home / "report").iterdir() if p.name != "latest"}
    assert packs == {index.parent.name}, "one pack per run"

    # A second run with nothing new: the purge of the first left nothing due, and says so (no "dry run").
    again = run_demo(home)
    check_account(again, home)
    assert log_file_of(again) != log_file_of(out)
    second_receipt = again.split("Retention receipt, plan ")[1].split("\n\n")[0]
    assert "run: scheduled" in second_receipt and "nothing was due" in second_receipt
    assert "dry run" not in second_receipt.split("ad-hoc purges")[0]
    assert f"  extracted {len(load_config().objects)} objects (" in again
    assert len({p.name for p in (home / "report").iterdir() if p.name != "latest"}) == 2
