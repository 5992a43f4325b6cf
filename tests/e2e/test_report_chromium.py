"""The evidence pack as an auditor opens it: Debian's Chromium, headless and cut off from the network.

The pack of the governed demo org after a scheduled purge is rendered twice: once to a screenshot
(kept under tests/e2e/artifacts/, which git ignores) and once to the DOM, which must show every
control, its counts, the receipt's ledger hash and the lineage graph; then printed to PDF, whose text
(poppler's pdftotext) must hold the finding rows that sit in collapsed sections on screen. Chromium is Debian's package
(`.ci/run` installs it); the test never downloads a browser and skips without one.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from synthgov.report import Pack, build_report
from synthgov.report.build import FINDINGS_SHOWN
from synthgov.retention.run import run_scheduled
from tests.retention_world import Built, World
from tests.unit.test_report_pack import write_events

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HOW_TO_ENABLE = "install Debian's chromium package (apt-get install chromium) to run this test"
# Decided before any fixture starts the sandbox org or builds the warehouse.
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("chromium") is None, reason=HOW_TO_ENABLE)]
# Headless, no profile of the user's, and no network: every host name resolves to nothing, and the
# background services (updates, sync, safe browsing, metrics) that would call home are off.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--hide-scrollbars",
)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    assert path is not None
    return path


@pytest.fixture
def pack(world: World, built: Built, tmp_path: Path) -> Pack:
    run = run_scheduled(world.conn, world.lake, world.warehouse, world.policies.retention, world.policies.mapping)
    assert run.appended is not None, run.receipt
    events = tmp_path / "events.jsonl"
    write_events(events)
    return build_report(
        tmp_path / "pack",
        warehouse=world.warehouse,
        lake=world.lake,
        events_file=events,
        dbt_project=built.root / "dbt_project",
    )


def _run(chromium: str, profile: Path, *args: str) -> str:
    """Chromium in its own process group, so a hung renderer is ended with the browser."""
    with subprocess.Popen(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            out, err = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    assert process.returncode == 0, err[-3000:]
    return out


def test_chromium_renders_the_pack_offline(chromium: str, pack: Pack, tmp_path: Path) -> None:
    url = pack.index.as_uri()
    screenshot = tmp_path / "report.png"
    _run(chromium, tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1400,2000", url)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000, "a blank page makes a tiny PNG"
    ARTIFACTS.mkdir(exist_ok=True)
    kept = ARTIFACTS / "report.png"
    shutil.copyfile(screenshot, kept)
    print(f"screenshot of the pack: {kept}")

    dom = _run(chromium, tmp_path / "profile-dom", "--dump-dom", "--virtual-time-budget=5000", url)
    bundle = pack.bundle
    for control in bundle["governance"]["controls"]:
        row = re.search(rf'<tr data-control="{control["control"]}">(.*?)</tr>', dom, re.S)
        assert row is not None, control["control"]
        cells = re.findall(r'<td class="n">(\d+)</td>', row.group(1))
        assert cells[0] == str(control["findings"]), control["control"]
        assert control["regulation"] in row.group(1)
    totals = bundle["governance"]["totals"]
    assert f'id="findings-total">{totals["findings"]}<' in dom
    assert f'id="provenance-records">{bundle["provenance"]["records"]}<' in dom
    assert f'id="retention-candidates">{bundle["retention"]["candidates"]}<' in dom
    head = bundle["evidence"]["verification"]["head_sha256"]
    assert head and head in dom and "Evidence ledger verified intact" in dom
    graph = re.search(r'<svg[^>]*id="lineage-graph".*?</svg>', dom, re.S)
    assert graph is not None, "the lineage graph is drawn"
    assert graph.group(0).count('class="node job') >= 3 and 'class="edge"' in graph.group(0)
    assert "dropped" in graph.group(0), "the purge's DROP shows on the Salesforce object"


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="install Debian's poppler-utils to read the PDF")
def test_the_printed_pack_holds_every_finding_row(chromium: str, pack: Pack, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    _run(chromium, tmp_path / "profile-pdf", f"--print-to-pdf={pdf}", "--no-pdf-header-footer", pack.index.as_uri())
    assert pdf.read_bytes()[:5] == b"%PDF-"
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(pdf, ARTIFACTS / "report.pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    shown = [
        row
        for control in pack.bundle["governance"]["controls"]
        for row in (control["rows"] or [])[:FINDINGS_SHOWN]
        if row.get("entity_id")
    ]
    assert shown, "the demo org has findings"
    missing = [row["entity_id"] for row in shown if str(row["entity_id"]) not in text]
    # Every row of every control's (on screen collapsed) table is on paper.
    assert not missing, f"{len(missing)} of {len(shown)} finding rows are not in the PDF, e.g. {missing[:5]}"
