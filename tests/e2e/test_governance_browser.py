"""The Governance page in a real browser: Playwright driving Debian's Chromium against `airflow standalone`.

The demo org's built world (dbt's marts in DuckDB, the lake as a folder) after a scheduled purge, with
a regulator pack, is served by `airflow standalone` in a home of its own, the simple auth manager holding
two users from its configuration: ``admin`` and ``outsider`` (no role, so no right to read DAGs). The
test logs in through the UI's form, opens Governance from the navigation, checks the page's numbers
against the marts, runs "Verify ledger", and sees the outsider refused. Screenshots go to
tests/e2e/artifacts/ (git-ignored). Chromium is never downloaded: the test skips without Debian's.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from synthgov.report import build_report
from synthgov.retention.run import run_scheduled
from synthgov_stack.airflow import BIN, airflow_env, setup, sizing, wait_api_healthy
from synthgov_stack.processes import Managed, spawn, stop_processes
from synthgov_stack.services import free_port
from tests.retention_world import World

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HOW_TO_ENABLE = "install Debian's chromium package (apt-get install chromium) to run this test"
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("chromium") is None, reason=HOW_TO_ENABLE)]
USERS = {"admin": ("admin", "admin-pass"), "outsider": ("", "outsider-pass")}  # name: (role, password)
# A busy two-core machine: the first start of the API server imports Airflow, the providers and Cosmos.
START_TIMEOUT_S = 600.0
STEP_TIMEOUT_MS = 120_000
# Loopback only: every other host name resolves to nothing, and Chromium's background services are off.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


@dataclass
class Served:
    url: str
    expected: list[tuple[str, str, int]]  # (control, status, findings) from marts.governance_summary
    receipts: int


@pytest.fixture
def standalone(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    run = run_scheduled(world.conn, world.lake, world.warehouse, world.policies.retention, world.policies.mapping)
    assert run.appended is not None, run.receipt
    home = tmp_path / "synthgov"
    home.mkdir()
    expected = [
        (str(c), str(s), int(n))
        for c, s, n in world.warehouse.query(
            "SELECT control, status, findings FROM marts.governance_summary ORDER BY control"
        )
    ]
    port = free_port()
    env = airflow_env(os.environ, airflow_home=tmp_path / "airflow", synthgov_home=home, port=port, size=sizing())
    env.update(
        {
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, (r, _) in USERS.items()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW_CONN_SALESFORCE_DEFAULT": world.org.airflow_connection(),
            "SYNTHGOV_DUCKDB_PATH": str(world.warehouse.path),
            "SYNTHGOV_LAKE_URL": str(tmp_path / "lake"),
        }
    )
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    (tmp_path / "airflow" / "passwords.json").write_text(json.dumps({u: p for u, (_, p) in USERS.items()}))
    monkeypatch.setenv("SYNTHGOV_HOME", str(home))  # the pack goes where the page looks for it
    build_report(warehouse=world.warehouse, lake=world.lake, events_file=tmp_path / "no-events.jsonl")
    setup(env, {})
    managed: Managed = spawn(
        "airflow standalone",
        [str(BIN / "airflow"), "standalone"],
        env=env,
        cwd=tmp_path / "airflow",
        log=tmp_path / "airflow" / "standalone.log",
    )
    try:
        url = env["AIRFLOW__API__BASE_URL"]
        wait_api_healthy(url, [managed], components=(), timeout=START_TIMEOUT_S)
        yield Served(url, expected, run.appended.seq + 1)
    finally:
        stop_processes([managed.pid], under=tmp_path / "airflow", children=[managed.process])


def _login(page: Any, url: str, user: str) -> None:
    page.goto(f"{url}/auth/login/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", USERS[user][1])
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/auth/login" not in u, timeout=STEP_TIMEOUT_MS)


def test_governance_page_in_chromium(standalone: Served) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    chromium = shutil.which("chromium")
    assert chromium is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(STEP_TIMEOUT_MS)
            _login(page, standalone.url, "admin")
            page.get_by_role("link", name="Governance").first.click()
            page.wait_for_url("**/plugin/governance", timeout=STEP_TIMEOUT_MS)
            frame = page.frame_locator("iframe").first
            frame.locator("table#controls").wait_for()
            page.screenshot(path=str(ARTIFACTS / "governance-overview.png"), full_page=True)
            shown = [
                (
                    row.get_attribute("data-control"),
                    row.get_attribute("data-status"),
                    int(row.locator("[data-field=findings]").inner_text()),
                )
                for row in frame.locator("tr[data-control]").all()
            ]
            assert shown == standalone.expected
            assert frame.locator("table#receipts tr").count() == standalone.receipts + 1  # the header row
            assert frame.locator("#trend-chart polyline").count() == len(standalone.expected)

            frame.locator("button#verify").click()
            result = frame.locator("#verify-result")
            result.wait_for()
            assert result.get_attribute("class") == "ok", result.inner_text()
            assert result.inner_text().startswith("Intact: evidence ledger")
            page.screenshot(path=str(ARTIFACTS / "governance-verify.png"), full_page=True)

            outsider = browser.new_page()
            outsider.set_default_timeout(STEP_TIMEOUT_MS)
            _login(outsider, standalone.url, "outsider")
            refused = outsider.goto(f"{standalone.url}/governance/")
            assert refused is not None and refused.status == 403
            assert 'id="controls"' not in outsider.content()
            outsider.screenshot(path=str(ARTIFACTS / "governance-outsider.png"))
            anonymous = browser.new_page().request.get(f"{standalone.url}/governance/api/summary")
            assert anonymous.status == 401
        finally:
            browser.close()
